/**
 * Deterministic Kraken-shaped trade streams for recorder tests and the
 * bench: WS v2 trade frames (numbers at full precision, trailing zeros
 * kept) over contiguous ids per symbol.
 */
import { formatScaled } from "../../../core/decimal.ts";
import {
  canonicalSymbol,
  formatTimestampUs,
} from "../../../core/record/silver.ts";
import type { SymbolInfo } from "../../../server/record/store.ts";
import { prng } from "../../fakes/prng.ts";

/** One generated trade. */
export interface GenTrade {
  symbol: string;
  id: number;
  tsUs: number;
  price: string;
  qty: string;
  side: "buy" | "sell";
}

/** Symbols with their price decimals. */
export const GEN_SYMBOLS: readonly { symbol: string; priceDecimals: number }[] =
  [
    { symbol: "BTC/USD", priceDecimals: 1 },
    { symbol: "ETH/USD", priceDecimals: 2 },
    { symbol: "DOGE/USD", priceDecimals: 7 },
    { symbol: "XBT/EUR", priceDecimals: 1 },
  ];

/** {@linkcode GEN_SYMBOLS} as a store registers them (Kraken, 8 volume decimals). */
export function genSymbolInfos(): SymbolInfo[] {
  return GEN_SYMBOLS.map((s) => ({
    exchange: "kraken",
    symbol: canonicalSymbol(s.symbol),
    exchangeSymbol: s.symbol,
    restPair: s.symbol.replace("/", ""),
    priceDecimals: s.priceDecimals,
    volumeDecimals: 8,
  }));
}

/**
 * `perSymbol` trades per symbol from `startUs`, time-ordered across symbols.
 */
export function generateTrades(
  seed: number,
  perSymbol: number,
  startUs = Date.UTC(2026, 0, 1) * 1000,
  symbols = GEN_SYMBOLS,
): GenTrade[] {
  const random = prng(seed);
  const out: GenTrade[] = [];
  for (const { symbol, priceDecimals } of symbols) {
    let id = 1000 + Math.floor(random() * 1e6);
    let ts = startUs;
    let units = BigInt(1e6 + Math.floor(random() * 1e6));
    for (let i = 0; i < perSymbol; i++) {
      ts += random() < 0.2 ? 0 : Math.floor(random() * 4e6);
      units += BigInt(Math.floor(random() * 21) - 10);
      out.push({
        symbol,
        id: id++,
        tsUs: ts,
        price: formatScaled(units, priceDecimals),
        qty: formatScaled(BigInt(1 + Math.floor(random() * 1e9)), 8),
        side: random() < 0.5 ? "buy" : "sell",
      });
    }
  }
  return out.sort((a, b) => a.tsUs - b.tsUs || a.id - b.id);
}

/** A WS v2 trade frame of some trades. */
export function tradeFrameText(trades: readonly GenTrade[]): string {
  return `{"channel":"trade","type":"update","data":[${
    trades.map((t) =>
      `{"symbol":"${t.symbol}","side":"${t.side}","price":${t.price},"qty":${t.qty},"ord_type":"limit","trade_id":${t.id},"timestamp":"${
        formatTimestampUs(t.tsUs)
      }"}`
    ).join(",")
  }]}`;
}
