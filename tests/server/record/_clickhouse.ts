/**
 * Helpers of the ClickHouse tests: a chDB session on a throwaway directory,
 * and generated trades as the recorder publishes them (WS rows, and some as
 * REST backfill rows in REST's own spellings).
 */
import {
  bronzeFromRestTrades,
  bronzeFromWsText,
  type BronzeTrade,
} from "../../../core/record/bronze.ts";
import { type SilverTrade, toSilver } from "../../../core/record/silver.ts";
import type { TradeRow } from "../../../core/rest/types.ts";
import { ChdbSink } from "../../../server/record/clickhouse.ts";
import { applyClickhouseSchema } from "../../../server/record/load.ts";
import type { SymbolInfo } from "../../../server/record/store.ts";
import { GEN_SYMBOLS, type GenTrade, tradeFrameText } from "./_trades.ts";

/** Whether chDB's native package exists for this machine (linux-x64). */
export const CHDB_PLATFORM = Deno.build.os === "linux" &&
  Deno.build.arch === "x86_64";

/** A chDB sink on a temp directory, schema applied; removes the directory. */
export async function tempChdb(
  database = "krakked",
): Promise<ChdbSink & { [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "krakked_chdb_" });
  const sink = await ChdbSink.open({ kind: "chdb", path, database });
  await applyClickhouseSchema(sink);
  const close = sink.close.bind(sink);
  sink.close = async () => {
    await close();
    await Deno.remove(path, { recursive: true }).catch(() => {});
  };
  return sink;
}

/** Pair precisions of the generated symbols (as the loader registers them). */
export function genSymbolInfo(exchangeSymbol: string): SymbolInfo | undefined {
  const g = GEN_SYMBOLS.find((x) => x.symbol === exchangeSymbol);
  if (g === undefined) return undefined;
  const symbol = toSilver({
    symbol: exchangeSymbol,
    side: "buy",
    price: "1",
    qty: "1",
    ordType: "",
    tradeId: 1,
    timestamp: "1",
    receivedUs: 0,
    connectionId: "",
    source: "ws",
    raw: "",
  }).symbol;
  return {
    exchange: "kraken",
    symbol,
    exchangeSymbol,
    restPair: exchangeSymbol.replace("/", ""),
    priceDecimals: g.priceDecimals,
    volumeDecimals: 8,
  };
}

/**
 * Bronze and silver rows of generated trades, as the recorder hands them to
 * the log: every `restEvery`-th trade as a REST backfill row (price printed
 * with 5 decimals, float seconds, `b`/`s`), the rest as WS frames of up to
 * 7 trades.
 */
export function recordedBatches(
  trades: readonly GenTrade[],
  receivedUs: (i: number) => number,
  restEvery = 9,
): { bronze: BronzeTrade[]; silver: SilverTrade[] }[] {
  const out: { bronze: BronzeTrade[]; silver: SilverTrade[] }[] = [];
  let ws: GenTrade[] = [];
  const flush = (i: number) => {
    if (ws.length === 0) return;
    const bronze = bronzeFromWsText(tradeFrameText(ws), {
      receivedUs: receivedUs(i),
      connectionId: "7",
    }).rows;
    out.push({ bronze, silver: bronze.map(toSilver) });
    ws = [];
  };
  trades.forEach((t, i) => {
    if (i % restEvery === restEvery - 1) {
      flush(i);
      const [whole, frac = ""] = t.price.split(".");
      const row: TradeRow = [
        `${whole}.${frac.padEnd(5, "0")}`,
        t.qty,
        t.tsUs / 1e6,
        t.side === "buy" ? "b" : "s",
        "l",
        "",
        t.id,
      ];
      const bronze = bronzeFromRestTrades(t.symbol, {
        pair: t.symbol.replace("/", ""),
        rows: [row],
      }, receivedUs(i)).rows;
      out.push({ bronze, silver: bronze.map(toSilver) });
      return;
    }
    ws.push(t);
    if (ws.length === 7) flush(i);
  });
  flush(trades.length);
  return out;
}
