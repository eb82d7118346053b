/**
 * Loading years of 1m candles: 500,000 bars (≈ 347 days) from one CSV file.
 *
 * Run: deno bench --allow-read --allow-write --allow-env tests/server/deno/ohlc_file_store_bench.ts
 */

import type { Candle } from "../../../core/market/ohlc.ts";
import { FileOhlcStore } from "../../../server/deno/ohlc_file_store.ts";

const BARS = 500_000;
const dir = await Deno.makeTempDir({ prefix: "krakked_ohlc_bench_" });

function bars(): Candle[] {
  const out: Candle[] = [];
  let price = 3_000_000; // 30000.00 in cents
  for (let i = 0; i < BARS; i++) {
    price += ((i * 7919) % 201) - 100;
    const text = (price / 100).toFixed(2);
    out.push({
      openTimeSec: 1_600_000_000 + i * 60,
      open: text,
      high: ((price + 55) / 100).toFixed(2),
      low: ((price - 45) / 100).toFixed(2),
      close: text,
      vwap: ((price + 3) / 100).toFixed(2),
      volume: ((i % 997) / 7).toFixed(8),
      count: i % 113,
    });
  }
  return out;
}

const seeded = new FileOhlcStore(dir);
await seeded.upsert("XBTUSD", "1m", bars());
const { size } = await Deno.stat(seeded.pathFor("XBTUSD", "1m"));

Deno.bench(
  `FileOhlcStore loads ${BARS} 1m bars (${(size / 1e6).toFixed(1)} MB)`,
  async () => {
    const store = new FileOhlcStore(dir);
    const last = await store.last("XBTUSD", "1m", 720);
    if (last.length !== 720) throw new Error("Short read");
  },
);

Deno.bench(
  `FileOhlcStore loads and returns all ${BARS} bars as candles`,
  async () => {
    const store = new FileOhlcStore(dir);
    const all = await store.since("XBTUSD", "1m", 0);
    if (all.length < BARS) throw new Error("Short read");
  },
);

Deno.bench(
  "FileOhlcStore appends 1 bar to a 500,000-bar series (warm)",
  async (b) => {
    const store = new FileOhlcStore(dir);
    await store.latestOpenTime("XBTUSD", "1m");
    const next = (await store.last("XBTUSD", "1m", 1))[0]!;
    b.start();
    await store.upsert("XBTUSD", "1m", [{
      ...next,
      openTimeSec: next.openTimeSec + 60,
    }]);
    b.end();
  },
);

globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});
