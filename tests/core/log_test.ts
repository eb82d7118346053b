import assert from "node:assert/strict";
import { LineBuffer, Logger } from "../../core/log.ts";

const SECRET = "LOG-TEST-SECRET-VALUE-1234567890";

function logger(options: { successSample?: number; level?: "debug" } = {}) {
  const lines: string[] = [];
  const log = new Logger({
    sink: (l) => lines.push(l),
    now: () => 1_700_000_000_123,
    ...options,
  });
  log.redactor.register(SECRET);
  return { log, lines };
}

Deno.test("request() writes the same JSON shape as info('request', fields)", () => {
  const { log, lines } = logger();
  const fields = {
    method: "GET",
    path: "/api/public/Ticker",
    status: 200,
    durationMs: 1.2,
  };
  log.request("GET", "/api/public/Ticker", 200, 1.234);
  log.info("request", fields);
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]!), JSON.parse(lines[1]!));
});

Deno.test("request() removes registered secrets from any path and stays valid JSON", () => {
  const { log, lines } = logger();
  const paths = [
    `/api/public/${SECRET}`,
    `/x/${SECRET}/${SECRET}`,
    '/quote"and\\backslash\n/newline',
    "/ünïcode/\u2028/\u0000",
  ];
  for (const path of paths) log.request("GET", path, 404, 0);
  for (const [i, line] of lines.entries()) {
    assert.ok(!line.includes(SECRET), line);
    assert.ok(!line.includes("\n"), "one line per request");
    const parsed = JSON.parse(line);
    assert.equal(parsed.msg, "request");
    assert.equal(
      parsed.path,
      paths[i]!.replaceAll(SECRET, "[redacted]"),
    );
  }
});

Deno.test("request() levels: 5xx is an error line; info lines follow the level", () => {
  const { log, lines } = logger();
  log.request("GET", "/a", 200, 0);
  log.request("GET", "/b", 503, 0);
  assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["info", "error"]);
  const quiet = new Logger({ sink: (l) => lines.push(l), level: "warn" });
  quiet.request("GET", "/c", 200, 0);
  quiet.request("GET", "/d", 404, 0);
  assert.equal(lines.length, 2, "info request lines are below warn");
  quiet.request("GET", "/e", 500, 0);
  assert.equal(lines.length, 3);
});

Deno.test("successSample keeps 1 in N successes and every error answer", () => {
  for (const sample of [1, 3, 10]) {
    const { log, lines } = logger({ successSample: sample });
    for (let i = 0; i < 30; i++) log.request("GET", "/ok", 200, 0);
    for (let i = 0; i < 7; i++) log.request("GET", "/bad", 400, 0);
    const ok = lines.filter((l) => JSON.parse(l).status === 200).length;
    const bad = lines.filter((l) => JSON.parse(l).status === 400).length;
    assert.equal(ok, 30 / sample);
    assert.equal(bad, 7);
  }
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => new Logger({ sink: () => {}, successSample: bad }),
      RangeError,
    );
  }
});

Deno.test("LineBuffer: every line arrives once, in order, in few writes", async () => {
  const writes: string[] = [];
  const buffer = new LineBuffer({ write: (t) => void writes.push(t) });
  for (let i = 0; i < 1000; i++) buffer.push(`line ${i}`);
  assert.equal(writes.length, 0, "nothing is written synchronously");
  await buffer.flush();
  const lines = writes.join("").split("\n");
  assert.equal(lines.pop(), "", "every line ends with a newline");
  assert.deepEqual(lines, Array.from({ length: 1000 }, (_, i) => `line ${i}`));
  assert.ok(writes.length <= 2, `${writes.length} writes`);
});

Deno.test("LineBuffer: a slow async writer gets batches, never overlapping writes", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const writes: string[] = [];
  const buffer = new LineBuffer({
    write: async (t) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      writes.push(t);
      inFlight--;
    },
  });
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 20; i++) buffer.push(`r${round} ${i}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  await buffer.flush();
  assert.equal(maxInFlight, 1);
  const lines = writes.join("").trimEnd().split("\n");
  assert.equal(lines.length, 100);
  assert.ok(writes.length < 100 / 2, `${writes.length} writes for 100 lines`);
});

Deno.test("LineBuffer: a stuck writer costs bounded memory; drops are counted and reported", async () => {
  let release!: () => void;
  const stuck = new Promise<void>((r) => release = r);
  const writes: string[] = [];
  const buffer = new LineBuffer({
    write: (t) => {
      writes.push(t);
      return writes.length === 1 ? stuck : undefined;
    },
    maxPendingChars: 1_000,
  });
  buffer.push("first");
  await Promise.resolve();
  for (let i = 0; i < 500; i++) buffer.push(`line ${String(i).padStart(4)}`);
  assert.ok(buffer.dropped > 0);
  const dropped = buffer.dropped;
  release();
  await buffer.flush();
  const text = writes.join("");
  assert.ok(text.length < 1_000 + 200, "no more than the cap was kept");
  const report = text.trimEnd().split("\n").at(-1)!;
  assert.deepEqual(JSON.parse(report), {
    level: "warn",
    msg: "log lines dropped",
    dropped,
  });
});

Deno.test("LineBuffer: a failing writer reports the error and keeps working", async () => {
  const errors: unknown[] = [];
  const writes: string[] = [];
  let fail = true;
  const buffer = new LineBuffer({
    write: (t) => {
      if (fail) {
        fail = false;
        throw new Error("EPIPE");
      }
      writes.push(t);
    },
    onError: (e) => errors.push(e),
  });
  buffer.push("lost");
  await buffer.flush();
  buffer.push("kept");
  await buffer.flush();
  assert.equal(errors.length, 1);
  assert.deepEqual(writes, ["kept\n"]);
});

Deno.test("LineBuffer with a timer waits delayMs for company, then writes once", async () => {
  const writes: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const buffer = new LineBuffer({
    write: (t) => void writes.push(t),
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return () => {};
    },
    delayMs: 10,
  });
  buffer.push("a");
  buffer.push("b");
  await Promise.resolve();
  assert.equal(writes.length, 0);
  assert.equal(timers.length, 1);
  assert.equal(timers[0]!.ms, 10);
  timers[0]!.fn();
  assert.deepEqual(writes, ["a\nb\n"]);
});
