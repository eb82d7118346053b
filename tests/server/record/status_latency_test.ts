/**
 * The recorder's own receive → COMMIT acknowledged latency and its memory
 * sample: the percentile window is bounded and ordered, and on a real run
 * against the simulator `record status` publishes both (text and --json),
 * the latency covers the same WS trades as `record validate`'s
 * receive-to-silver figure and is never below it (silver_at is stamped
 * before the write, the acknowledgement comes after its COMMIT). No timing
 * assertions beyond that ordering.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { statusPath } from "../../../server/cli/record_cmd.ts";
import {
  type CommitLatency,
  LATENCY_WINDOW,
  LatencyWindow,
  type RecorderMemory,
  UNFILLED_GAPS_KEPT,
} from "../../../server/record/run.ts";
import { parseRecorderStatus } from "../../../server/trading/ops_recorder.ts";
import { CliHarness } from "../cli/_harness.ts";
import { validateStore } from "./_session.ts";

function ordered(c: CommitLatency): void {
  assert.ok(c.p50Ms >= 0);
  assert.ok(c.p50Ms <= c.p90Ms && c.p90Ms <= c.p99Ms && c.p99Ms <= c.maxMs);
  assert.ok(c.maxMs <= c.maxEverMs);
  assert.ok(c.window <= c.trades);
}

Deno.test("LatencyWindow keeps the latest samples only, and orders its percentiles", () => {
  assert.throws(() => new LatencyWindow(0), RangeError);
  assert.throws(() => new LatencyWindow(1.5), RangeError);
  const w = new LatencyWindow(100);
  assert.equal(w.summary(), undefined);
  // Deterministic pseudo-random latencies, one huge outlier first.
  w.add(5_000);
  let x = 7;
  for (let i = 1; i < 1_000; i++) {
    x = (x * 48271) % 2147483647;
    w.add(x % 300);
    const s = w.summary()!;
    ordered(s);
    assert.equal(s.trades, i + 1);
    assert.equal(s.window, Math.min(i + 1, 100));
  }
  const s = w.summary()!;
  // The outlier left the window but not the run's maximum.
  assert.equal(s.maxEverMs, 5_000);
  assert.ok(s.maxMs < 300);
  // Nearest rank: of 1..100 the 50th, 90th, 99th and 100th values.
  const r = new LatencyWindow(100);
  for (let i = 100; i >= 1; i--) r.add(i);
  const q = r.summary()!;
  assert.deepEqual(
    [q.p50Ms, q.p90Ms, q.p99Ms, q.maxMs],
    [50, 90, 99, 100],
  );
  // A wall clock stepping back never gives a negative latency.
  const b = new LatencyWindow(4);
  b.add(-3);
  assert.equal(b.summary()!.p50Ms, 0);
  assert.equal(new LatencyWindow().capacity, LATENCY_WINDOW);
});

Deno.test({
  name:
    "record status publishes receive → COMMIT latency (≥ receive-to-silver) and memory",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using h = await CliHarness.start({ sim: {}, ws: true });
    const store = join(h.dir, "market.duckdb");
    const stop = new AbortController();
    const run = h.run(
      [
        "record",
        "XBTUSD",
        "ETHUSD",
        "XDGUSD",
        "--store",
        store,
        "--memory-limit",
        "128MB",
      ],
      { io: { now: h.now, stop: stop.signal } },
    );
    let finished = false;
    run.finally(() => (finished = true));
    // Until a few commits have been acknowledged and published.
    for (let i = 0;; i++) {
      assert.ok(!finished, "the recorder stopped early");
      assert.ok(i < 600, "timed out waiting for commits");
      try {
        const s = JSON.parse(await Deno.readTextFile(statusPath(store)));
        if (s.commits >= 5 && s.commitLatency?.trades > 0) break;
      } catch {
        // Not written yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    stop.abort();
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /DuckDB memory limit 128MB/);

    const status = await h.run(
      ["record", "status", "--store", store, "--json"],
      { io: { now: h.now } },
    );
    assert.equal(status.code, 0, status.stderr);
    const recorder = JSON.parse(status.stdout).recorder as {
      running: boolean;
      commitLatency: CommitLatency;
      memory: RecorderMemory;
    };
    assert.equal(recorder.running, false);
    const c = recorder.commitLatency;
    ordered(c);
    assert.ok(c.window <= LATENCY_WINDOW);
    const m = recorder.memory;
    assert.ok(m.heapUsedBytes > 0 && m.heapUsedBytes <= m.heapTotalBytes);
    assert.ok(m.rssBytes > m.heapUsedBytes);
    assert.ok(m.duckdbBytes !== null && m.duckdbBytes >= 0);
    assert.equal(
      Object.values(m.duckdbByTag).reduce((a, b) => a + b, 0),
      m.duckdbBytes,
    );
    assert.equal(m.duckdbLimit, "122.0 MiB"); // 128 MB as DuckDB prints it

    const text = await h.run(["record", "status", "--store", store], {
      io: { now: h.now },
    });
    assert.match(
      text.stdout,
      new RegExp(
        `receive → COMMIT acknowledged, latest ${c.window} of ${c.trades} WS trades: p50 ${c.p50Ms} ms`,
      ),
    );
    assert.match(text.stdout, /memory at .*: RSS [\d.]+ MiB, V8 heap/);

    const latency = (await validateStore(h, store, { now: h.now })).byName
      .get("latency")!.counts;
    // One clean session (no reconnect, no backfill): the same WS trades.
    assert.equal(c.trades, latency.rows);
    assert.equal(c.window, c.trades, "a short run fits the window");
    // Per trade, acknowledged ≥ stamped; so is every order statistic.
    assert.ok(c.p50Ms >= latency.p50Ms!, `${c.p50Ms} < ${latency.p50Ms}`);
    assert.ok(c.p99Ms >= latency.p99Ms!, `${c.p99Ms} < ${latency.p99Ms}`);
    assert.ok(c.maxMs >= latency.maxMs!, `${c.maxMs} < ${latency.maxMs}`);
  },
});

Deno.test("the ops view counts every unfilled gap, though the status file lists the latest only", () => {
  const gaps = Array.from({ length: 50 }, (_, i) => ({
    symbol: "BTC/USD",
    fromId: 10 * i,
    toId: 10 * i + 3,
  }));
  const base = {
    pid: 1,
    running: true,
    writtenAt: "2026-01-01T00:00:00Z",
    wsState: "open",
    reconnects: 0,
    bronzeRows: 5,
    silverRows: 5,
    goldRows: 1,
    gapsFound: 130,
    gapsFilled: 10,
    gapsUnfilled: gaps,
  };
  const now = Date.parse("2026-01-01T00:00:01Z");
  const parse = (o: object) =>
    parseRecorderStatus(JSON.stringify(o), "m.duckdb", now, 30_000);
  assert.equal(parse({ ...base, gapsUnfilledTotal: 120 }).gapsUnfilled, 120);
  // A file from before the count: the list's length.
  assert.equal(parse(base).gapsUnfilled, 50);
  assert.equal(UNFILLED_GAPS_KEPT, 50);
});
