/**
 * The recorder in the ops view: the status file a `krakked record` keeps
 * beside its store is read (bounded, every field checked), a silent one is
 * shown stale, never running, a malformed one is logged once and shown as
 * nothing, and each change is pushed with the ops snapshot.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Logger } from "../../../core/log.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { OpsMonitor, type OpsSnapshot } from "../../../server/trading/ops.ts";
import {
  defaultRecorderStore,
  parseRecorderStatus,
  recorderStatusPath,
  watchRecorder,
} from "../../../server/trading/ops_recorder.ts";
import { FakeClock } from "../../fakes/clock.ts";

const STORE = "/data/record/market.duckdb";
const T0 = Date.parse("2026-12-03T12:00:00Z");

function statusText(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    pid: 4242,
    running: true,
    writtenAt: new Date(T0).toISOString(),
    startedAtMs: T0 - 60_000,
    wsState: "open",
    reconnects: 1,
    tradeFrames: 10,
    bronzeRows: 120,
    silverRows: 120,
    goldRows: 7,
    logged: 0,
    commits: 5,
    gapsFound: 2,
    gapsFilled: 1,
    gapsUnfilled: [{ symbol: "BTC/USD", from: 1, to: 3 }],
    backfilledTrades: 3,
    rejectedRows: 0,
    lastCommitAtMs: T0 - 500,
    bookRows: 0,
    bookSnapshots: 0,
    bookMismatches: 0,
    ...overrides,
  });
}

Deno.test("parseRecorderStatus reads the recorder's file and judges freshness", async (t) => {
  await t.step("a fresh running recorder", () => {
    const r = parseRecorderStatus(statusText(), STORE, T0 + 1_000, 30_000);
    assert.deepEqual(r, {
      store: STORE,
      pid: 4242,
      running: true,
      stale: false,
      writtenAtMs: T0,
      wsState: "open",
      reconnects: 1,
      bronzeRows: 120,
      silverRows: 120,
      goldRows: 7,
      gapsFound: 2,
      gapsFilled: 1,
      gapsUnfilled: 1,
      bookMismatches: 0,
      lastCommitAtMs: T0 - 500,
    });
  });
  await t.step("silent past the window: stale, not running", () => {
    const r = parseRecorderStatus(statusText(), STORE, T0 + 30_001, 30_000);
    assert.equal(r.running, false);
    assert.equal(r.stale, true);
  });
  await t.step("a stopped recorder is neither running nor stale", () => {
    const r = parseRecorderStatus(
      statusText({ running: false }),
      STORE,
      T0 + 3_600_000,
      30_000,
    );
    assert.equal(r.running, false);
    assert.equal(r.stale, false);
  });
  await t.step("malformed files are SyntaxErrors naming the field", () => {
    const cases: [string, RegExp][] = [
      ["not json", /JSON/],
      ["[1,2]", /not a JSON object/],
      ["null", /not a JSON object/],
      [statusText({ pid: "4242" }), /"pid"/],
      [statusText({ writtenAt: "yesterday" }), /"writtenAt"/],
      [statusText({ running: "yes" }), /"running"/],
      [statusText({ silverRows: null }), /"silverRows"/],
      [statusText({ goldRows: Number.POSITIVE_INFINITY }), /"goldRows"/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseRecorderStatus(text, STORE, T0, 30_000),
        (e: unknown) => e instanceof SyntaxError && message.test(e.message),
        text,
      );
    }
  });
  await t.step("the status file sits beside the default store", () => {
    const store = defaultRecorderStore("/home/u/.config/krakked");
    assert.equal(
      store,
      join("/home/u/.config/krakked", "record", "market.duckdb"),
    );
    assert.equal(recorderStatusPath(store), `${store}.status.json`);
  });
});

Deno.test("watchRecorder feeds the ops snapshot: none, running, stale, malformed, stopped", async () => {
  const clock = new FakeClock(T0);
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({
    sink: (l) => lines.push(JSON.parse(l)),
    now: clock.now,
  });
  using limiter = new RateLimiter({ now: clock.now, setTimer: clock.setTimer });
  let tick: (() => void) | undefined;
  const ops = new OpsMonitor({
    limiter,
    logger,
    now: clock.now,
    setTimer: clock.setTimer,
    every: (fn) => {
      tick = fn;
      return () => (tick = undefined);
    },
  });
  const pushed: OpsSnapshot[] = [];
  const unsubscribe = ops.subscribe((s) => pushed.push(s));
  let file: string | undefined;
  const reads: string[] = [];
  let readTick: (() => void) | undefined;
  const stop = watchRecorder({
    store: STORE,
    ops,
    logger,
    now: clock.now,
    read: (path) => {
      reads.push(path);
      return Promise.resolve(file);
    },
    every: (fn) => {
      readTick = fn;
      return () => (readTick = undefined);
    },
  });
  // Reads are async; pushes are throttled to one per 250 ms.
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    clock.advance(300);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  await settle();
  assert.deepEqual(reads, [recorderStatusPath(STORE)]);
  assert.equal(ops.snapshot().recorder, null, "no file: no recorder");

  file = statusText();
  readTick!();
  await settle();
  assert.equal(ops.snapshot().recorder?.running, true);
  assert.equal(
    pushed.at(-1)?.recorder?.silverRows,
    120,
    "the change was pushed",
  );

  // The recorder falls silent (kill -9): stale once the window passes.
  clock.advance(30_000);
  readTick!();
  await settle();
  assert.equal(ops.snapshot().recorder?.stale, true);
  assert.equal(ops.snapshot().recorder?.running, false);

  // A half-written or hostile file: logged once, shown as nothing.
  file = '{"pid": ';
  readTick!();
  await settle();
  readTick!();
  await settle();
  assert.equal(ops.snapshot().recorder, null);
  assert.equal(
    lines.filter((l) => l.msg === "recorder status malformed").length,
    1,
  );

  // It comes back and stops cleanly.
  file = statusText({
    running: false,
    writtenAt: new Date(clock.now()).toISOString(),
  });
  readTick!();
  await settle();
  assert.equal(ops.snapshot().recorder?.running, false);
  assert.equal(ops.snapshot().recorder?.stale, false);

  stop();
  assert.equal(readTick, undefined, "stopping clears the timer");
  unsubscribe();
  ops.close();
  assert.ok(tick === undefined || typeof tick === "function");
});
