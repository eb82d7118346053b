/**
 * The realism report (issue 15, "done when"): for a seed, BTC/USD and
 * ETH/USD trade counts and volumes within 2× of the documented live
 * figures, median spreads of at most 2 ticks, books updating several times
 * a second; quiet and busy scale the trade rate. And the CLI flags that
 * select it.
 */

import assert from "node:assert/strict";
import { LIVE_TARGETS, realismReport } from "@krakked/sim";
import { parseSimFlags } from "../../server/cli/sim_cmd.ts";

const AT = Date.UTC(2025, 5, 15, 12);

Deno.test("the majors trade within 2x of the live figures with 1-2 tick spreads", () => {
  for (const seed of [1, 9]) {
    const rows = realismReport({
      seed,
      atMs: AT,
      pairs: ["BTC/USD", "ETH/USD"],
      samples: 300,
    });
    for (const row of rows) {
      const live = LIVE_TARGETS[row.symbol]!;
      for (
        const [got, want] of [
          [row.trades, live.trades.value!],
          [row.volume, live.volume.value!],
        ] as const
      ) {
        assert.ok(
          got >= want / 2 && got <= want * 2,
          `${row.symbol} seed ${seed}: ${got} vs ${want}`,
        );
      }
      assert.ok(row.spreadMedianTicks <= 2, `${row.symbol} spread`);
      assert.ok(row.spreadMedianTicks >= 1);
      assert.ok(row.bookMessagesPerSecond >= 4, `${row.symbol} book rate`);
      assert.ok(row.levelChangesPerSecond >= 10, `${row.symbol} level rate`);
      assert.ok(row.emptyCandleShare < 0.02, `${row.symbol} empty candles`);
    }
  }
});

Deno.test("activity scales the trade rate and the report is a function of the seed", () => {
  const at = (activity: "quiet" | "normal" | "busy") =>
    realismReport({
      seed: 3,
      atMs: AT,
      pairs: ["XTZ/USD"],
      activity,
      samples: 50,
    })[0]!;
  const quiet = at("quiet");
  const normal = at("normal");
  const busy = at("busy");
  assert.ok(quiet.trades < normal.trades / 10);
  assert.ok(busy.trades > normal.trades * 2);
  assert.deepEqual(at("normal"), normal);
});

Deno.test("sim flags: --activity and --report", () => {
  assert.deepEqual(parseSimFlags(["--activity", "quiet", "--report"]), {
    kind: "sim",
    activity: "quiet",
    control: true,
    report: true,
  });
  const bad = parseSimFlags(["--activity", "frantic"]);
  assert.equal(bad.kind, "usage_error");
});
