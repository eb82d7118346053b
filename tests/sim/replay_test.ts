/**
 * `krakked sim --replay <store> --speed N`: trades a simulator sent on its
 * WS `trade` channel are written to a `krakked record` store by the
 * recorder's bulk path, read back read-only by the command's loader, and
 * played by a second simulator at 4× speed. A client must see the same
 * trades (ids, prices, quantities, sides, order types, order) on the WS
 * `trade` channel and in REST `Trades`, and OHLC and the ticker must follow
 * them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RecordStore } from "../../server/record/store.ts";
import { bronzeFromRestTrades } from "../../core/record/bronze.ts";
import { toSilver } from "../../core/record/silver.ts";
import type { TradeRow } from "../../core/rest/types.ts";
import { loadRecording, parseSimFlags } from "../../server/cli/sim_cmd.ts";
import { startSimulatorWithWs } from "../../server/sim/server.ts";
import { Market } from "../../server/sim/exchange/market.ts";
import { placeTrades } from "../../server/sim/exchange/replay.ts";
import { resolvePair } from "../../server/sim/exchange/pairs.ts";
import { emptyDemand, WsFeed } from "../../server/sim/ws/feed.ts";
import { publicCall, units } from "./_client.ts";
import { CliHarness } from "../server/cli/_harness.ts";
import { startSimCli } from "./_sim_cli.ts";

interface WireTrade {
  symbol: string;
  "trade_id": number;
  price: number;
  qty: number;
  side: string;
  "ord_type": string;
}

const PAIRS = [["BTC/USD", "XXBTZUSD"], ["ETH/USD", "XETHZUSD"]] as const;

/** Record five minutes of BTC/USD and ETH/USD trade frames from a simulator's WS feed. */
function recordFrames(): {
  frames: { text: string; receivedUs: number }[];
  trades: Map<string, WireTrade[]>;
} {
  let t = Date.UTC(2025, 5, 15, 12);
  const market = new Market({ seed: 41, now: () => t });
  const feed = new WsFeed(market);
  const demand = emptyDemand();
  demand.trade = true;
  const wants = new Map(PAIRS.map(([, key]) => [key, demand]));
  feed.advance(t, wants);
  const frames: { text: string; receivedUs: number }[] = [];
  const trades = new Map<string, WireTrade[]>(PAIRS.map(([s]) => [s, []]));
  for (let i = 0; i < 1200; i++) {
    t += 250;
    const step = feed.advance(t, wants);
    for (const [symbol, key] of PAIRS) {
      for (const text of step.pair(key)?.tradeUpdates() ?? []) {
        frames.push({ text, receivedUs: t * 1000 });
        const rows = JSON.parse(text).data as WireTrade[];
        trades.get(symbol)!.push(...rows);
      }
    }
  }
  return { frames, trades };
}

function same(got: WireTrade[], want: WireTrade[], what: string): void {
  assert.equal(got.length, want.length, `${what}: count`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    assert.deepEqual(
      [g.trade_id, g.price, g.qty, g.side, g.ord_type],
      [w.trade_id, w.price, w.qty, w.side, w.ord_type],
      `${what} #${i}`,
    );
  }
}

Deno.test({
  name:
    "replay: recorded trades play back on WS trade and REST Trades with the same ids, prices, quantities and order",
  sanitizeResources: false,
  fn: async () => {
    const { frames, trades } = recordFrames();
    const total = [...trades.values()].reduce((n, l) => n + l.length, 0);
    assert.ok(total >= 300, `a few hundred trades recorded (${total})`);
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_test_" });
    try {
      const path = join(dir, "market.duckdb");
      {
        await using store = await RecordStore.open(path);
        const nowUs = frames.at(-1)!.receivedUs + 86_400e6;
        const written = await store.writeFrames(frames, nowUs);
        assert.deepEqual(written.fallback, []);
        assert.equal(written.bronzeInserted, total);
      }
      const { trades: source, books } = await loadRecording(path);
      assert.deepEqual([...source.symbols].sort(), ["BTC/USD", "ETH/USD"]);
      assert.deepEqual(books.symbols, [], "recorded without books");

      let now = Date.UTC(2026, 0, 5, 9, 0, 0);
      const startMs = now;
      await using sim = await startSimulatorWithWs({
        seed: 3,
        now: () => now,
        replay: { source, speed: 4 },
        ws: { tickMs: 0 },
      });

      // A WS client subscribed before the first trade plays.
      const got = new Map<string, WireTrade[]>(PAIRS.map(([s]) => [s, []]));
      let pongs = 0;
      let wake: (() => void) | undefined;
      const socket = new WebSocket(sim.wsPublicUrl);
      socket.onmessage = (e) => {
        const msg = JSON.parse(e.data as string);
        if (msg.channel === "trade" && msg.type === "update") {
          for (const row of msg.data as WireTrade[]) {
            got.get(row.symbol)!.push(row);
          }
        }
        if (msg.method === "pong") pongs++;
        if (msg.method === "subscribe") pongs++;
        wake?.();
      };
      await new Promise((resolve) => (socket.onopen = resolve));
      const closed = new Promise((resolve) => (socket.onclose = resolve));
      const barrier = async (message: unknown) => {
        const want = pongs + 1;
        socket.send(JSON.stringify(message));
        while (pongs < want) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 100);
          });
        }
      };
      try {
        await barrier({
          method: "subscribe",
          params: {
            channel: "trade",
            symbol: PAIRS.map(([s]) => s),
            snapshot: false,
          },
        });
        // Five recorded minutes at 4×: 75 s of simulator time from 1 s after
        // start-up, in 100 ms steps.
        for (let i = 0; i < 800; i++) {
          now += 100;
          sim.ws.tick();
        }
        await barrier({ method: "ping", req_id: 7 });
      } finally {
        socket.close();
        await closed;
      }

      for (const [symbol, key] of PAIRS) {
        const want = trades.get(symbol)!;
        same(got.get(symbol)!, want, `WS trade ${symbol}`);

        // REST Trades: every recorded trade, in order, with its id.
        const answer = await publicCall(sim.url, "Trades", {
          pair: key,
          since: String(startMs / 1000 - 1),
        });
        assert.deepEqual(answer.error, []);
        const rows = answer.result[key] as [
          string,
          string,
          number,
          string,
          string,
          string,
          number,
        ][];
        const pair = resolvePair(symbol)!;
        same(
          rows.map((r) => ({
            symbol,
            trade_id: r[6],
            price: Number(r[0]),
            qty: Number(r[1]),
            side: r[3] === "b" ? "buy" : "sell",
            ord_type: r[4] === "l" ? "limit" : "market",
          })),
          want,
          `REST Trades ${symbol}`,
        );
        // The prices are exact: the REST text is the recorded price.
        for (let i = 0; i < rows.length; i++) {
          assert.equal(
            units(rows[i]![0], pair.pairDecimals),
            units(want[i]!.price.toFixed(pair.pairDecimals), pair.pairDecimals),
          );
        }

        // The ticker and OHLC follow the replayed tape.
        const ticker = (await publicCall(sim.url, "Ticker", {
          pair: key,
        })).result[key];
        assert.equal(Number(ticker.c[0]), want.at(-1)!.price);
        assert.equal(ticker.t[1], want.length, "24 h trade count");
        const candles = (await publicCall(sim.url, "OHLC", {
          pair: key,
          interval: "1",
        })).result[key] as unknown[][];
        const counted = candles.reduce((n, c) => n + Number(c[7]), 0);
        assert.equal(counted, want.length, "OHLC counts every replayed trade");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("replay placement: speed divides the gaps, same-µs trades keep their order, bad input is refused", () => {
  const pair = resolvePair("XBTUSD")!;
  const trade = (tradeId: number, timeUs: number, price = "97000.1") => ({
    tradeId,
    price,
    qty: "0.01",
    side: "buy" as const,
    ordType: "market" as const,
    timeUs,
  });
  const placed = placeTrades(
    pair,
    [trade(1, 1_000_000), trade(2, 1_000_000), trade(3, 9_000_000)],
    { originUs: 1_000_000, startMs: 5_000, speed: 8 },
  );
  assert.deepEqual(
    placed.map((t) => [t.tradeId, t.timeUs, t.subNs]),
    [[1, 5_000_000, 0], [2, 5_000_000, 1], [3, 6_000_000, 0]],
  );
  assert.equal(placed[0]!.priceUnits, 970_001);
  assert.throws(
    () =>
      placeTrades(pair, [trade(1, 1)], { originUs: 0, startMs: 0, speed: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      placeTrades(pair, [trade(2, 5), trade(1, 4)], {
        originUs: 0,
        startMs: 0,
        speed: 1,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      placeTrades(pair, [trade(1, 1, "-3")], {
        originUs: 0,
        startMs: 0,
        speed: 1,
      }),
    RangeError,
  );
});

Deno.test("sim flags: --replay and --speed", () => {
  assert.deepEqual(parseSimFlags(["--replay", "m.duckdb", "--speed", "60"]), {
    kind: "sim",
    control: true,
    replay: "m.duckdb",
    speed: 60,
  });
  for (
    const bad of [
      ["--speed", "2"],
      ["--replay", "m.duckdb", "--speed", "0"],
      ["--replay", "m.duckdb", "--speed", "fast"],
      ["--replay", "m.duckdb", "--report"],
    ]
  ) {
    assert.equal(parseSimFlags(bad).kind, "usage_error", bad.join(" "));
  }
});

Deno.test({
  name:
    "krakked sim --replay STORE --speed N serves the recorded trades, read from the store",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { frames, trades } = recordFrames();
    // No simulator behind the harness: the command starts its own.
    await using h = await CliHarness.start({ restUrl: "http://127.0.0.1:9" });
    const path = join(h.dir, "market.duckdb");
    {
      await using store = await RecordStore.open(path);
      await store.writeFrames(frames, frames.at(-1)!.receivedUs + 86_400e6);
    }
    await using sim = await startSimCli(h, [
      "--port",
      "0",
      "--replay",
      path,
      "--speed",
      "1000",
    ]);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const url = sim.url;
    assert.match(
      sim.output(),
      /Replay: +\d+ recorded trades of 2 pairs at 1000×/,
    );
    // Five recorded minutes at 1000× play within 0.3 s, 1 s after start.
    for (const [symbol, key] of PAIRS) {
      const want = trades.get(symbol)!;
      let rows: [string, string, number, string, string, string, number][] = [];
      for (let i = 0; i < 10 && rows.length < want.length; i++) {
        await pause(400);
        const answer = await publicCall(url, "Trades", { pair: key });
        assert.deepEqual(answer.error, []);
        rows = answer.result[key];
      }
      assert.deepEqual(
        rows.map((r) => [r[6], Number(r[0]), Number(r[1])]),
        want.map((w) => [w.trade_id, w.price, w.qty]),
        symbol,
      );
    }
  },
});

Deno.test("replay loader: REST backfill rows (b/s, m/l, float seconds) load like WS rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_replay_rest_" });
  try {
    const path = join(dir, "market.duckdb");
    const t0 = Date.UTC(2025, 5, 15, 12) / 1000;
    const rows: TradeRow[] = Array.from({ length: 10 }, (_, i) => [
      `97000.${i}0000`,
      "0.01000000",
      t0 + i * 1.5 + 0.000123,
      i % 2 === 0 ? "b" : "s",
      i % 3 === 0 ? "l" : "m",
      "",
      500 + i,
    ]);
    const bronze = bronzeFromRestTrades("BTC/USD", { pair: "XBTUSD", rows }, 1)
      .rows;
    {
      await using store = await RecordStore.open(path);
      await store.write(
        { bronze, silver: bronze.map(toSilver) },
        t0 * 1e6 + 86_400e6,
      );
    }
    const { trades } = await loadRecording(path);
    assert.deepEqual(
      trades.trades("BTC/USD").map((t) => [
        t.tradeId,
        t.side,
        t.ordType,
        t.price,
        t.timeUs,
      ]),
      rows.map((r) => [
        r[6],
        r[3] === "b" ? "buy" : "sell",
        r[4] === "l" ? "limit" : "market",
        r[0],
        Math.round((r[2] as number) * 1e6),
      ]),
    );
    // And they play: the placement takes REST's 5-decimal prices exactly.
    const placed = placeTrades(
      resolvePair("XBTUSD")!,
      trades.trades("BTC/USD"),
      {
        originUs: t0 * 1e6,
        startMs: 0,
        speed: 1,
      },
    );
    assert.deepEqual(
      placed.map((p) => p.priceUnits),
      rows.map((_, i) => 970_000 + i),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
