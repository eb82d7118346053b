import assert from "node:assert/strict";
import type { TickerInfo } from "../../../core/rest/types.ts";
import { usageMessage } from "./_parsed.ts";
import {
  formatPct,
  parseTickerArgs,
  tickerRow,
} from "../../../server/cli/ticker_cmd.ts";
import { CliHarness } from "./_harness.ts";

const TICKER: TickerInfo = {
  a: ["101.50", "1", "1.000"],
  b: ["101.40", "2", "2.000"],
  c: ["101.45", "0.5"],
  v: ["10.0", "25.5"],
  p: ["100.9", "100.7"],
  t: [10, 30],
  l: ["99.0", "98.0"],
  h: ["102.0", "103.0"],
  o: "100.00",
};

Deno.test("parseTickerArgs() needs at least one pair", () => {
  assert.deepEqual(parseTickerArgs(["XBTUSD", "eth/usd", "--json"]), {
    kind: "ticker",
    pairs: ["XBTUSD", "eth/usd"],
    json: true,
  });
  assert.deepEqual(parseTickerArgs(["XBTUSD", "--help"]), { kind: "help" });
  assert.match(usageMessage(parseTickerArgs([])), /Missing <pair>/);
  assert.match(usageMessage(parseTickerArgs(["--json"])), /Missing <pair>/);
  assert.match(
    usageMessage(parseTickerArgs(["XBTUSD", "--since", "1"])),
    /Unknown flag "--since"/,
  );
});

Deno.test("tickerRow() takes last, bid, ask, the 24 h change and today's", async (t) => {
  const pair = { id: "XUSD", restKey: "XXZUSD", wsV2: "X/USD" };
  await t.step("change", () => {
    assert.deepEqual(tickerRow("x", pair, TICKER, "99.00"), {
      input: "x",
      symbol: "X/USD",
      id: "XUSD",
      restKey: "XXZUSD",
      wsV2: "X/USD",
      last: "101.45",
      bid: "101.40",
      ask: "101.50",
      price24hAgo: "99.00",
      change24hPct: 2.47,
      open: "100.00",
      changeTodayPct: 1.45,
      changePct: 1.45,
      volume24h: "25.5",
      vwap24h: "100.7",
    });
  });
  await t.step("no reference price has no change", () => {
    const row = tickerRow("x", pair, { ...TICKER, o: "0" }, null);
    assert.equal(row.changeTodayPct, null);
    assert.equal(row.change24hPct, null);
  });
});

Deno.test("formatPct() signs and rounds", () => {
  assert.equal(formatPct(1.456), "+1.46%");
  assert.equal(formatPct(-0.5), "-0.50%");
  assert.equal(formatPct(0), "0.00%");
  assert.equal(formatPct(null), "-");
});

Deno.test("ticker XBTUSD btc/usd --json resolves both spellings to one pair", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["ticker", "XBTUSD", "btc/usd", "ETH-USD", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(out), ["tickers"]);
  assert.deepEqual(
    out.tickers.map((r: { input: string; id: string; wsV2: string }) => [
      r.input,
      r.id,
      r.wsV2,
    ]),
    [
      ["XBTUSD", "XBTUSD", "BTC/USD"],
      ["btc/usd", "XBTUSD", "BTC/USD"],
      ["ETH-USD", "ETHUSD", "ETH/USD"],
    ],
  );
  const [a, b] = out.tickers;
  assert.deepEqual({ ...a, input: "" }, { ...b, input: "" });
  // The values are the simulator's Ticker answer, unchanged.
  const wire = await (await fetch(`${h.restUrl}/0/public/Ticker?pair=XXBTZUSD`))
    .json();
  const info: TickerInfo = wire.result.XXBTZUSD;
  assert.ok(Number(a.bid) <= Number(a.ask));
  assert.match(a.last, /^\d+\.\d+$/);
  assert.equal(
    a.volume24h.split(".")[1]?.length,
    info.v[1].split(".")[1]?.length,
  );
  assert.equal(typeof a.changePct, "number");
  assert.equal(a.symbol, "BTC/USD");
  assert.equal(a.restKey, "XXBTZUSD");
  assert.equal(typeof a.change24hPct, "number");
});

Deno.test("ticker's 24h % is the page's measure: the WS v2 ticker's change_pct", async () => {
  await using h = await CliHarness.start({ ws: true });
  // What the page reads: the simulator's WS v2 ticker snapshot.
  const ws = new WebSocket(h.sim!.wsPublicUrl);
  const changePct = await new Promise<number>((resolve, reject) => {
    ws.onopen = () =>
      ws.send(JSON.stringify({
        method: "subscribe",
        params: { channel: "ticker", symbol: ["BTC/USD"] },
      }));
    ws.onerror = () => reject(new Error("WebSocket failed"));
    ws.onmessage = (m) => {
      const frame = JSON.parse(String(m.data));
      if (frame.channel === "ticker") resolve(frame.data[0].change_pct);
    };
  });
  const closed = new Promise((resolve) => (ws.onclose = resolve));
  ws.close();
  await closed;
  const run = await h.run(["ticker", "BTC/USD", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const [row] = JSON.parse(run.stdout).tickers;
  // Both round to 2 decimals; a trade between the two reads may move it.
  assert.ok(
    Math.abs(row.change24hPct - changePct) <= 0.011,
    `CLI ${row.change24hPct} vs WS change_pct ${changePct}`,
  );
});

Deno.test("ticker prints a table and colours the change only on a terminal", async () => {
  await using h = await CliHarness.start();
  const plain = await h.run(["ticker", "XBTUSD", "ETHUSD"]);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^pair +last +bid +ask +24h % +24h volume$/);
  assert.match(
    lines[2]!,
    /^BTC\/USD +[\d.]+ +[\d.]+ +[\d.]+ +[+-]?\d+\.\d\d% +[\d.]+$/,
  );
  assert.match(lines[3]!, /^ETH\/USD /);
  assert.ok(!plain.stdout.includes("\x1b["));
  const tty = await h.run(["ticker", "XBTUSD", "ETHUSD", "SOLUSD"], {
    io: { stdoutIsTerminal: true },
  });
  // deno-lint-ignore no-control-regex -- matching ANSI colour codes
  assert.match(tty.stdout, /\x1b\[3[12]m[+-]\d+\.\d\d%\x1b\[0m/);
});

Deno.test("ticker with an unknown pair is a usage error with a suggestion", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["ticker", "XBTUSDX"]);
  assert.equal(run.code, 2);
  // The suggestion is spelled as every output spells pairs.
  assert.match(
    run.stderr,
    /^krakked ticker: Unknown pair "XBTUSDX"; did you mean BTC\/USD[,?]/,
  );
  assert.match(run.stderr, /Usage: krakked ticker <pair>\.\.\./);
});
