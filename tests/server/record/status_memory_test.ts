/**
 * The recorder when DuckDB runs out of memory: a session whose store's
 * `memory_limit` is too small for a write stops with DuckDB's error
 * (nothing acknowledged, no clean-stop mark), and the next session finds
 * what it missed as a gap, backfills it from REST, and `record validate`
 * passes with no gap and no duplicate.
 */
import assert from "node:assert/strict";
import { RestClient } from "@krakked/core/rest/client";
import { statusPath } from "../../../server/cli/record_cmd.ts";
import { runRecorder } from "../../../server/record/run.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { assertValid, busyMarket } from "./_session.ts";

const PAIRS = ["XBTUSD", "ETHUSD", "XDGUSD"];

async function waitFor(
  what: string,
  ok: () => Promise<boolean>,
  done: Promise<unknown>,
): Promise<void> {
  let finished = false;
  done.finally(() => (finished = true));
  for (let i = 0; i < 600; i++) {
    if (finished) throw new Error(`The recorder stopped before ${what}`);
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test({
  name:
    "record: a write DuckDB has no memory for stops the run; the next run backfills it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // A busy market on a 30× clock: trades go on while a session is down.
    const market = await busyMarket();
    await using h = market.h;
    const { sim, store, now } = market;
    const status = async () =>
      JSON.parse(await Deno.readTextFile(statusPath(store)));
    const session = async (minCommits: number, gaps: boolean) => {
      const stop = new AbortController();
      const run = h.run(["record", ...PAIRS, "--store", store], {
        io: { now, stop: stop.signal },
      });
      await waitFor("commits", async () => {
        const s = await status();
        return s.running && s.commits >= minCommits &&
          (!gaps || (s.gapsFound >= 1 && s.gapsFilled === s.gapsFound));
      }, run);
      stop.abort();
      const done = await run;
      assert.equal(done.code, 0, done.stderr);
      return done;
    };

    await session(3, false);

    // Too little memory for a write's staging read (a 32 MiB buffer).
    {
      await using db = await RecordStore.open(store);
      await db.query(`SET memory_limit = '40MB'`);
      using rest = new RestClient({ baseUrl: sim.url });
      const lines: string[] = [];
      const stop = new AbortController();
      const timeout = setTimeout(() => stop.abort(), 20_000);
      try {
        await assert.rejects(
          runRecorder({
            store: db,
            rest,
            wsUrl: sim.wsPublicUrl,
            symbols: db.symbols,
            signal: stop.signal,
            now,
            log: (line) => lines.push(line),
          }),
          /Out of Memory/,
        );
      } finally {
        clearTimeout(timeout);
      }
      assert.ok(!stop.signal.aborted, "it stopped by itself, not by timeout");
      assert.ok(
        lines.some((l) => /write failed, stopping/.test(l)) ||
          lines.some((l) => /gold build failed, stopping/.test(l)),
        lines.join("\n"),
      );
    }

    // Trades went on meanwhile; the restart finds and fills the gap.
    await new Promise((r) => setTimeout(r, 1000));
    const third = await session(3, true);
    assert.match(third.stderr, /backfilled/);

    await assertValid(h, store, { now });
  },
});
