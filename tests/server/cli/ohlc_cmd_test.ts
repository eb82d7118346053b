import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, parseConfig } from "../../../core/config/config.ts";
import { usageMessage } from "./_parsed.ts";
import {
  ohlcRoot,
  olderHistoryNote,
  parseOhlcArgs,
} from "../../../server/cli/ohlc_cmd.ts";
import { OHLC_CSV_HEADER } from "../../../server/deno/ohlc_file_store.ts";
import { CliHarness } from "./_harness.ts";

Deno.test("parseOhlcArgs() reads backfill and export", async (t) => {
  await t.step("backfill", () => {
    assert.deepEqual(
      parseOhlcArgs([
        "backfill",
        "XBTUSD",
        "1h",
        "--since",
        "2025-01-01",
        "--from-trades",
      ]),
      {
        kind: "ohlc",
        action: "backfill",
        pair: "XBTUSD",
        timeframe: "1h",
        sinceSec: 1735689600,
        fromTrades: true,
        json: false,
      },
    );
  });
  await t.step("export", () => {
    assert.deepEqual(
      parseOhlcArgs(["export", "btc/usd", "1d", "--format=json"]),
      {
        kind: "ohlc",
        action: "export",
        pair: "btc/usd",
        timeframe: "1d",
        format: "json",
        sinceSec: undefined,
      },
    );
    assert.equal(
      (parseOhlcArgs(["export", "XBTUSD", "1h"]) as { format: string }).format,
      "csv",
    );
  });
  await t.step("help", () => {
    assert.deepEqual(parseOhlcArgs(["--help"]), { kind: "help" });
    assert.deepEqual(parseOhlcArgs(["backfill", "--help"]), { kind: "help" });
  });
  await t.step("usage errors", () => {
    for (
      const [args, message] of [
        [[], /Missing action/],
        [["frob"], /Unknown ohlc action "frob"/],
        [["backfill", "XBTUSD"], /Missing <timeframe>/],
        [["backfill", "XBTUSD", "2h"], /2h/],
        [
          ["backfill", "XBTUSD", "1h", "--since", "yesterday"],
          /Invalid date "yesterday"/,
        ],
        [
          ["backfill", "XBTUSD", "1h", "--format", "csv"],
          /Unknown flag "--format"/,
        ],
        [
          ["export", "XBTUSD", "1h", "--format", "xml"],
          /--format must be csv or json, got "xml"/,
        ],
        [["export", "XBTUSD", "1h", "--from-trades"], /Unknown flag/],
      ] as const
    ) {
      assert.match(
        usageMessage(parseOhlcArgs(args), JSON.stringify(args)),
        message,
      );
    }
  });
});

Deno.test("olderHistoryNote() speaks only when the store starts after --since", () => {
  const hour = 3600;
  const since = Date.UTC(2025, 0, 1) / 1000;
  assert.equal(olderHistoryNote(since, since, "1h"), undefined);
  assert.equal(olderHistoryNote(since + 1800, since + hour, "1h"), undefined);
  assert.equal(
    olderHistoryNote(since, since + 30 * 24 * hour, "1h"),
    "note: Kraken's OHLC endpoint serves only the latest 720 candles: nothing is stored from 2025-01-01 00:00 to 2025-01-31 00:00 UTC; add --from-trades to rebuild that range from public trades (slow: paced requests)",
  );
  assert.match(olderHistoryNote(since, undefined, "1d")!, /to now;/);
});

Deno.test("ohlcRoot() defaults under the config dir and expands ~", () => {
  assert.equal(ohlcRoot(DEFAULT_CONFIG, "/cfg", () => undefined), "/cfg/ohlc");
  const { config } = parseConfig(
    "market_data:\n  ohlc_store:\n    root_dir: ~/candles\n",
  );
  assert.equal(
    ohlcRoot(config, "/cfg", (n) => (n === "HOME" ? "/home/me" : undefined)),
    "/home/me/candles",
  );
});

Deno.test("ohlc backfill then export round-trips the simulator's closed candles", async (t) => {
  await using h = await CliHarness.start();
  const file = join(h.dir, "ohlc", "1h", "XBTUSD.csv");
  let added = 0;

  await t.step("first backfill fills the OHLC window", async () => {
    const run = await h.run(["ohlc", "backfill", "xbt/usd", "1h", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.pair, "XBTUSD");
    assert.equal(report.timeframe, "1h");
    assert.equal(report.file, file);
    assert.ok(report.added >= 700, String(report.added));
    assert.equal(report.changed, 0);
    added = report.added;
    // Plain progress lines on a non-terminal: no carriage returns.
    assert.match(run.stderr, /^progress: ohlc +100% +\d+\/\d+\n/m);
    assert.ok(!run.stderr.includes("\r"));
  });

  await t.step("a second backfill adds and changes nothing", async () => {
    const run = await h.run(["ohlc", "backfill", "XBTUSD", "1h"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^BTC\/USD 1h: 0 new, 0 changed candles .* in .*XBTUSD\.csv\n$/,
    );
  });

  await t.step("on a terminal that no-op run ends on a full bar", async () => {
    const run = await h.run(["ohlc", "backfill", "XBTUSD", "1h"], {
      io: { stderrIsTerminal: true },
    });
    assert.equal(run.code, 0, run.stderr);
    const frames = run.stderr.split("\r").filter((f) => f !== "");
    // deno-lint-ignore no-control-regex -- the bar ends with the ESC[K erase code
    assert.match(frames.at(-1)!, /^ohlc +\[#+\] 100% +0\/0\x1b\[K\n$/);
  });

  await t.step(
    "--since older than the OHLC window says it needs --from-trades",
    async () => {
      const run = await h.run([
        "ohlc",
        "backfill",
        "XBTUSD",
        "1h",
        "--since",
        "2020-01-01",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /\nnote: Kraken's OHLC endpoint serves only the latest 720 candles: nothing is stored from 2020-01-01 00:00 to \d{4}-\d\d-\d\d \d\d:00 UTC; add --from-trades/,
      );
      // The last progress line is what was stored, not 719 of 47 000.
      assert.match(run.stderr, /progress: ohlc +100% +719\/719\n/);
    },
  );

  await t.step("export --format json gives every stored candle", async () => {
    const run = await h.run([
      "ohlc",
      "export",
      "XBTUSD",
      "1h",
      "--format",
      "json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(out), ["pair", "timeframe", "candles"]);
    assert.equal(out.candles.length, added);
    const [first, second] = out.candles;
    assert.deepEqual(Object.keys(first), [
      "openTimeSec",
      "open",
      "high",
      "low",
      "close",
      "vwap",
      "volume",
      "count",
    ]);
    assert.equal(second.openTimeSec - first.openTimeSec, 3600);
    const lastOpen = out.candles.at(-1).openTimeSec;
    assert.ok(lastOpen + 3600 <= h.now() / 1000, "closed candles only");
  });

  await t.step("export as CSV equals the store file", async () => {
    const run = await h.run(["ohlc", "export", "BTC/USD", "1h"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.startsWith(`${OHLC_CSV_HEADER}\n`));
    assert.equal(run.stdout, await Deno.readTextFile(file));
  });

  await t.step("export --since keeps the newer candles", async () => {
    const all = JSON.parse(
      (await h.run(["ohlc", "export", "XBTUSD", "1h", "--format", "json"]))
        .stdout,
    ).candles;
    const since = all.at(-10).openTimeSec;
    const run = await h.run([
      "ohlc",
      "export",
      "XBTUSD",
      "1h",
      "--format",
      "json",
      "--since",
      String(since),
    ]);
    assert.equal(JSON.parse(run.stdout).candles.length, 10);
  });
});

Deno.test("ohlc backfill draws a progress bar on a terminal", async () => {
  await using h = await CliHarness.start({
    extraConfig: "market_data:\n  ohlc_store:\n    root_dir: ~/candles\n",
  });
  const run = await h.run(["ohlc", "backfill", "ETHUSD", "4h"], {
    io: { stderrIsTerminal: true },
  });
  assert.equal(run.code, 0, run.stderr);
  // deno-lint-ignore no-control-regex -- the bar ends with the ESC[K erase code
  assert.match(run.stderr, /^\rohlc +\[#+\] 100% +\d+\/\d+\x1b\[K\n$/);
  // root_dir "~/candles" with HOME pointing at the temp dir.
  await Deno.stat(join(h.dir, "candles", "4h", "ETHUSD.csv"));
});

Deno.test("ohlc backfill --from-trades rebuilds candles older than the OHLC window", async () => {
  await using h = await CliHarness.start();
  // The 15m window is 720 × 15 min = 7.5 days; ask for 2 hours more.
  const sinceSec = Math.floor(h.now() / 1000) - 7.5 * 86400 - 2 * 3600;
  const run = await h.run([
    "ohlc",
    "backfill",
    "SOLUSD",
    "15m",
    "--since",
    String(sinceSec),
    "--from-trades",
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.ok(report.tradePages >= 1, JSON.stringify(report));
  assert.ok(report.candlesFromTrades >= 1, JSON.stringify(report));
  assert.ok(report.firstOpenTimeSec <= sinceSec + 15 * 60 * 4);
});

Deno.test("ohlc export of a series never backfilled fails with a hint", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["ohlc", "export", "XBTUSD", "1d"]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(
    run.stderr,
    /^krakked ohlc: No 1d candles stored for "XBTUSD": run a backfill first \(id ohlc-[0-9a-f]{12}\)\n$/,
  );
});
