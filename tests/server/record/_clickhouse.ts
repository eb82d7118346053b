/**
 * Helpers of the ClickHouse tests: a chDB session on a throwaway directory,
 * and generated trades as the recorder publishes them (WS rows, and some as
 * REST backfill rows in REST's own spellings).
 */
import assert from "node:assert/strict";
import {
  bronzeFromRestTrades,
  bronzeFromWsText,
  type BronzeTrade,
} from "../../../core/record/bronze.ts";
import { type SilverTrade, toSilver } from "../../../core/record/silver.ts";
import type { TradeRow } from "../../../core/rest/types.ts";
import { ChdbSink } from "../../../server/record/clickhouse.ts";
import {
  applyClickhouseSchema,
  type LoadBatch,
  type LoadOptions,
  type LoadStatus,
  runLoader,
} from "../../../server/record/load.ts";
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

/**
 * Run a loader until \`done\` says so (or it throws), then stop it; fails
 * the test when it stops before.
 *
 * @param options The loader's options but its signal and status callback.
 * @param done Whether the status shows enough.
 * @returns The loader's final figures.
 */
export async function loadUntil(
  options: Omit<LoadOptions, "signal" | "onStatus">,
  done: (s: LoadStatus) => boolean,
): Promise<LoadStatus> {
  const stop = new AbortController();
  let last: LoadStatus | undefined;
  const run = runLoader({
    ...options,
    signal: stop.signal,
    onStatus: (s) => {
      last = s;
      if (done(s)) stop.abort();
    },
  });
  const timer = setTimeout(() => stop.abort(), 60_000);
  try {
    const final = await run;
    assert.ok(last !== undefined && done(last), "loader stopped early");
    return final;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run a loader that crashes after the \`n\`-th batch's inserts and before
 * its ack, as a process killed there would.
 *
 * @param options The loader's options but its signal and hooks.
 * @param n Which batch crashes (1-based).
 * @returns The batch that was inserted and never acknowledged.
 */
export async function crashBeforeAck(
  options: Omit<LoadOptions, "signal" | "onStatus" | "beforeAck">,
  n: number,
): Promise<LoadBatch> {
  let seen = 0;
  let crashed: LoadBatch | undefined;
  const stop = new AbortController();
  await assert.rejects(
    runLoader({
      ...options,
      signal: stop.signal,
      beforeAck: (batch) => {
        if (++seen === n) {
          crashed = batch;
          stop.abort();
          throw new Error("crash before ack");
        }
      },
    }),
    /crash before ack/,
  );
  assert.ok(crashed !== undefined, "a batch crashed");
  return crashed;
}
