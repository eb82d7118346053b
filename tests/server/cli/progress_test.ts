import assert from "node:assert/strict";
import {
  formatDuration,
  formatProgress,
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
