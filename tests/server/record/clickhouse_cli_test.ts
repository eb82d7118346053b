/**
 * The scale-out path end to end through the CLI, against the simulator:
 * `krakked record --log nats://…` publishes, `krakked load --from nats://…
 * --to chdb:///…` loads into ClickHouse (chDB, in this process) at the same
 * time, and `krakked load validate` passes the checks of `record validate`,
 * gold = the simulator's REST OHLC included.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { parseLoadArgs } from "../../../server/cli/load_cmd.ts";
import { statusPath } from "../../../server/cli/record_cmd.ts";
import { DEFAULT_STREAM, TradeLog } from "../../../server/record/log.ts";
import { CliHarness } from "../cli/_harness.ts";
import { CHDB_PLATFORM } from "./_clickhouse.ts";
import { NatsServer } from "./_nats.ts";
import { fastClock } from "./_session.ts";

async function waitFor(
  ok: () => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("parseLoadArgs() reads run, validate and status; bad URLs are usage errors", () => {
  assert.deepEqual(
    parseLoadArgs([
      "--from",
      "nats://127.0.0.1:4222",
      "--to",
      "clickhouse://u:p@ch:8123/md",
      "--batch",
      "100",
    ]),
    {
      kind: "load",
      action: "run",
      from: "nats://127.0.0.1:4222",
      to: "clickhouse://u:p@ch:8123/md",
      stream: undefined,
      durable: undefined,
      batch: 100,
      maxWaitMs: 200,
      ackWaitMs: 30_000,
    },
  );
  assert.deepEqual(parseLoadArgs(["validate", "--to", "chdb:///d", "--json"]), {
    kind: "load",
    action: "validate",
    to: "chdb:///d",
    json: true,
    maxLatencyMs: 1_000,
  });
  for (
    const bad of [
      ["--to", "chdb:///d"],
      ["--from", "http://x:1", "--to", "chdb:///d"],
      ["--from", "nats://x:1", "--to", "ftp://x:1"],
      ["--from", "nats://x:1"],
      ["--from", "nats://x:1", "--to", "chdb:///d", "--batch", "0"],
      ["status"],
      ["validate", "--to", "clickhouse://h/bad-name"],
    ]
  ) assert.equal(parseLoadArgs(bad).kind, "usage_error", bad.join(" "));
});

Deno.test({
  name:
    "record --log and load --to chdb:// against the simulator: load validate passes, gold = REST OHLC, books rebuild",
  // chDB ships for linux-x64 only (the lock installs it there).
  ignore: !CHDB_PLATFORM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const now = fastClock();
    await using nats = await NatsServer.start();
    await using h = await CliHarness.start({ sim: { now }, ws: true });
    const store = join(h.dir, "market.duckdb");
    const ch = `chdb://${join(h.dir, "ch")}?database=md`;
    const stopRecord = new AbortController();
    const stopLoad = new AbortController();
    const record = h.run(
      [
        "record",
        "XBTUSD",
        "ETHUSD",
        "XDGUSD",
        "--store",
        store,
        "--log",
        nats.url,
        "--channels",
        "trade,book",
      ],
      { io: { now, stop: stopRecord.signal } },
    );
    // The stream exists before the loader binds its consumer to it.
    await (await TradeLog.connect(nats.url)).close();
    const load = h.run(
      [
        "load",
        "--from",
        nats.url,
        "--to",
        ch,
        "--batch",
        "500",
        "--max-wait-ms",
        "100",
      ],
      { io: { now, stop: stopLoad.signal } },
    );
    // Three market minutes close.
    const until = now() + 200_000;
    await waitFor(async () => {
      try {
        const s = JSON.parse(await Deno.readTextFile(statusPath(store)));
        return s.commits >= 3 && now() >= until;
      } catch {
        return false;
      }
    }, "three minutes of recording");
    stopRecord.abort();
    const recorded = await record;
    assert.equal(recorded.code, 0, recorded.stderr);

    // The loader has everything when its consumer has nothing pending.
    const nc = await connect({ servers: nats.url.slice("nats://".length) });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => {
        const c = await jsm.consumers.info(DEFAULT_STREAM, "krakked_load");
        return c.num_pending === 0 && c.num_ack_pending === 0;
      }, "the loader to catch up");
    } finally {
      await nc.close();
    }
    stopLoad.abort();
    const loaded = await load;
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stderr, /load: stopped; \d+ messages/);

    const validate = await h.run(
      ["load", "validate", "--to", ch, "--json"],
      { io: { now } },
    );
    const result = JSON.parse(validate.stdout) as {
      ok: boolean;
      checks: {
        name: string;
        ok: boolean;
        summary: string;
        counts: Record<string, number>;
        examples: string[];
      }[];
    };
    const byName = new Map(result.checks.map((c) => [c.name, c]));
    // Latency is not judged here: the first trades wait for the loader to
    // start, and CI shares two cores (the bench measures it).
    for (const c of result.checks) {
      if (c.name === "latency") continue;
      assert.ok(c.ok, `${c.summary}\n${c.examples.join("\n")}`);
    }
    assert.equal(byName.get("no_gaps")!.counts.symbols, 3);
    // The books went the same way, and rebuild in ClickHouse.
    const books = byName.get("book_rebuild")!;
    assert.equal(books.counts.symbols, 3, books.summary);
    assert.ok(books.counts.instants! > 0, books.summary);
    assert.ok(byName.get("gold_matches_rest_ohlc")!.counts.compared! >= 3);

    await using log = await TradeLog.connect(nats.url);
    const status = await h.run(["load", "status", "--to", ch, "--json"], {
      io: { now },
    });
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.ok(s.tables.book_frames > 0);
    assert.equal(
      s.tables.silver + s.tables.book_frames + s.tables.book_snapshots,
      await log.count(),
    );
    assert.equal(s.tables.bronze, s.tables.silver);
    assert.equal(s.symbols.length, 3);
  },
});
