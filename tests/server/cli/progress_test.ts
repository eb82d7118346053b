import assert from "node:assert/strict";
import {
  formatDuration,
  formatProgress,
  PacedEta,
  ProgressPrinter,
} from "../../../server/cli/progress.ts";

Deno.test("formatProgress() draws the bar, percent, counts and ETA", () => {
  assert.equal(
    formatProgress({ phase: "ohlc", done: 1, total: 2, etaMs: 1000 }, 4),
    "ohlc   [##--]  50%  1/2  ETA 1s",
  );
  assert.equal(
    formatProgress({ phase: "trades", done: 0, total: 10, etaMs: null }, 0),
    "trades   0%  0/10",
  );
  assert.equal(
    formatProgress({ phase: "ohlc", done: 5, total: 5, etaMs: 0 }, 2),
    "ohlc   [##] 100%  5/5",
  );
  assert.equal(
    formatProgress({ phase: "ohlc", done: 0, total: 0, etaMs: null }, 2),
    "ohlc   [##] 100%  0/0",
  );
});

Deno.test("formatDuration() picks a readable unit", () => {
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(12_400), "12s");
  assert.equal(formatDuration(185_000), "3m05s");
  assert.equal(formatDuration(7_800_000), "2h10m");
});

Deno.test("ProgressPrinter redraws on a terminal and prints 10 % steps otherwise", async (t) => {
  const reports = [0, 1, 4, 5, 9, 10].map((done) => ({
    phase: "ohlc" as const,
    done,
    total: 10,
    etaMs: null,
  }));
  await t.step("terminal", () => {
    let out = "";
    const printer = new ProgressPrinter({
      stderr: (s) => (out += s),
      stderrIsTerminal: true,
    });
    for (const r of reports) printer.update(r);
    printer.finish();
    printer.finish();
    assert.equal(out.split("\r").length - 1, reports.length);
    assert.ok(out.endsWith("\x1b[K\n"));
    assert.equal(out.split("\n").length - 1, 1);
  });
  await t.step("plain", () => {
    let out = "";
    const printer = new ProgressPrinter({
      stderr: (s) => (out += s),
      stderrIsTerminal: false,
    });
    for (const r of reports) printer.update(r);
    printer.update({ phase: "trades", done: 10, total: 10, etaMs: null });
    printer.finish();
    assert.ok(!out.includes("\r"));
    assert.deepEqual(out.trimEnd().split("\n"), [
      "progress: ohlc     0%  0/10",
      "progress: ohlc    10%  1/10",
      "progress: ohlc    40%  4/10",
      "progress: ohlc    50%  5/10",
      "progress: ohlc    90%  9/10",
      "progress: ohlc   100%  10/10",
      "progress: trades 100%  10/10",
    ]);
  });
});

Deno.test("ProgressPrinter.finish() ends on the outcome when the bar fell short", async (t) => {
  await t.step("terminal: a run with nothing new does not stay at 0/1", () => {
    let out = "";
    const printer = new ProgressPrinter({
      stderr: (s) => (out += s),
      stderrIsTerminal: true,
    });
    printer.update({ phase: "ohlc", done: 0, total: 1, etaMs: null });
    printer.finish({ phase: "ohlc", done: 0, total: 0, etaMs: 0 });
    const frames = out.split("\r").filter((f) => f !== "");
    assert.equal(frames.length, 2);
    // deno-lint-ignore no-control-regex -- the bar ends with the ESC[K erase code
    assert.match(frames.at(-1)!, /^ohlc +\[#+\] 100% +0\/0\x1b\[K\n$/);
  });
  await t.step("terminal: a finished bar is not drawn again", () => {
    let out = "";
    const printer = new ProgressPrinter({
      stderr: (s) => (out += s),
      stderrIsTerminal: true,
    });
    printer.update({ phase: "ohlc", done: 719, total: 719, etaMs: 0 });
    printer.finish({ phase: "ohlc", done: 719, total: 719, etaMs: 0 });
    assert.equal(out.split("\r").length - 1, 1);
  });
  await t.step("plain: the outcome line follows", () => {
    let out = "";
    const printer = new ProgressPrinter({
      stderr: (s) => (out += s),
      stderrIsTerminal: false,
    });
    printer.update({ phase: "ohlc", done: 719, total: 47820, etaMs: 5 });
    printer.finish({ phase: "ohlc", done: 719, total: 719, etaMs: 0 });
    assert.deepEqual(out.trimEnd().split("\n"), [
      "progress: ohlc     1%  719/47820  ETA 5ms",
      "progress: ohlc   100%  719/719",
    ]);
  });
});

Deno.test("PacedEta counts the paced Trades pages still to come", async (t) => {
  await t.step("the burst's fast pages do not make the ETA vanish", () => {
    const eta = new PacedEta(1000);
    // The OHLC window covered 719 of 1000 intervals; each Trades page then
    // covers 10, and core (timing the fast burst pages) says 50 ms.
    eta.adjust({ phase: "ohlc", done: 719, total: 1000, etaMs: 100 });
    const first = eta.adjust({
      phase: "trades",
      done: 729,
      total: 1000,
      etaMs: 50,
    });
    assert.equal(first.etaMs, 28_000);
    const second = eta.adjust({
      phase: "trades",
      done: 739,
      total: 1000,
      etaMs: 50,
    });
    assert.equal(second.etaMs, 27_000);
    assert.equal(formatProgress(second, 0), "trades  73%  739/1000  ETA 27s");
  });
  await t.step("a slower measurement than the pace is kept", () => {
    const eta = new PacedEta(1000);
    assert.equal(
      eta.adjust({ phase: "trades", done: 500, total: 1000, etaMs: 90_000 })
        .etaMs,
      90_000,
    );
  });
  await t.step("no estimate before a page covered an interval", () => {
    const eta = new PacedEta(1000);
    eta.adjust({ phase: "ohlc", done: 719, total: 1000, etaMs: 1 });
    assert.equal(
      eta.adjust({ phase: "trades", done: 719, total: 1000, etaMs: 1 }).etaMs,
      null,
    );
  });
  await t.step("OHLC reports pass through", () => {
    const report = { phase: "ohlc" as const, done: 1, total: 2, etaMs: 7 };
    assert.deepEqual(new PacedEta(1000).adjust(report), report);
  });
});
