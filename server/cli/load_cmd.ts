/**
 * `krakked load`: the recorder's JetStream log into ClickHouse (the
 * scale-out path, docs/record/CLICKHOUSE.md), plus `load validate` and
 * `load status` on the ClickHouse side.
 *
 * @module
 */

import { loadMarketMetadata } from "@krakked/core/market/metadata";
import { canonicalSymbol, KRAKEN_EXCHANGE } from "@krakked/core/record/silver";
import type { Redactor } from "@krakked/core/secrets/redact";
import type { ClickHouseSink } from "../record/clickhouse.ts";
import { parseSinkUrl, SinkUrlError } from "../record/clickhouse.ts";
import type { SymbolInfo } from "../record/store.ts";
import {
  integerFlag,
  isUsageError,
  type Parsed,
  parseFlags,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { reportChecks } from "./check_report.ts";
import { untilStopped } from "./stop_signal.ts";

/** Help text of `krakked load`. */
export const LOAD_HELP =
  `Usage: krakked load --from nats://HOST:PORT --to URL [--stream NAME] [--durable NAME]
                    [--batch N] [--max-wait-ms N] [--ack-wait-ms N]
       krakked load validate --to URL [--max-latency-ms N] [--json]
       krakked load status --to URL [--json]

Loads the bronze trades that 'krakked record --log nats://…' publishes to NATS
JetStream into ClickHouse, exactly once: a durable consumer, batches inserted
with an insert_deduplication_token and acknowledged only after the insert,
rows already present skipped. ClickHouse's materialized views make silver and
gold (docs/record/CLICKHOUSE.md). Runs until Ctrl+C.

  --from URL         NATS server(s) with JetStream, comma-separated for a cluster
  --to URL           clickhouse://[user[:password]@]host[:8123][/database]
                     clickhouses://… (HTTPS, port 8443), http(s)://…, or
                     chdb:///absolute/dir[?database=name] (ClickHouse in-process)
  --stream NAME      the recorder's stream (default KRAKKED_BRONZE)
  --durable NAME     the durable consumer (default krakked_load)
  --batch N          most trades per insert (default 5000)
  --max-wait-ms N    longest a batch waits to fill after its first trade (default 200)
  --ack-wait-ms N    redelivery after this without an ack (default 30000)

validate: the checks of 'record validate' on ClickHouse (exit 1 when one fails)
  --max-latency-ms N receive-to-silver p99 limit (default 1000)
status: rows per layer and per symbol.`;

/** Parsed `load` flags. */
export type LoadFlags =
  | {
    kind: "load";
    action: "run";
    from: string;
    to: string;
    stream: string | undefined;
    durable: string | undefined;
    batch: number;
    maxWaitMs: number;
    ackWaitMs: number;
  }
  | {
    kind: "load";
    action: "validate";
    to: string;
    json: boolean;
    maxLatencyMs: number;
  }
  | { kind: "load"; action: "status"; to: string; json: boolean };

function checkTo(to: string | undefined): string | { problem: string } {
  if (to === undefined) {
    return { problem: "Missing --to clickhouse://… or chdb:///…" };
  }
  try {
    parseSinkUrl(to);
    return to;
  } catch (error) {
    if (error instanceof SinkUrlError) return { problem: error.message };
    throw error;
  }
}

/**
 * Parse `load` arguments. Pure.
 *
 * @param args Arguments after `load`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseLoadArgs } from "./load_cmd.ts";
 * parseLoadArgs(["--from", "nats://127.0.0.1:4222", "--to", "clickhouse://ch:8123/md"]);
 * ```
 */
export function parseLoadArgs(args: readonly string[]): Parsed<LoadFlags> {
  const action = args[0] === "validate" || args[0] === "status"
    ? args[0]
    : "run";
  if (action !== "run") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json"],
      values: action === "validate" ? ["to", "max-latency-ms"] : ["to"],
    });
    if (parsed.kind !== "flags") return parsed;
    const to = checkTo(parsed.values.get("to"));
    if (typeof to !== "string") return usageError(to.problem);
    if (action === "status") {
      return { kind: "load", action, to, json: parsed.booleans.has("json") };
    }
    const max = integerFlag(parsed, "max-latency-ms", {
      min: 1,
      max: 86_400_000,
    });
    if (isUsageError(max)) return max;
    return {
      kind: "load",
      action,
      to,
      json: parsed.booleans.has("json"),
      maxLatencyMs: max ?? 1_000,
    };
  }
  const parsed = parseFlags(args, {
    booleans: [],
    values: [
      "from",
      "to",
      "stream",
      "durable",
      "batch",
      "max-wait-ms",
      "ack-wait-ms",
    ],
  });
  if (parsed.kind !== "flags") return parsed;
  if (parsed.positionals.length > 0) {
    return usageError(`Unexpected argument "${parsed.positionals[0]}"`);
  }
  const from = parsed.values.get("from");
  if (
    from === undefined || !/^nats:\/\/[^,\s]+(,nats:\/\/[^,\s]+)*$/.test(from)
  ) {
    return usageError("Missing or bad --from: expected nats://HOST:PORT");
  }
  const to = checkTo(parsed.values.get("to"));
  if (typeof to !== "string") return usageError(to.problem);
  const batch = integerFlag(parsed, "batch", { min: 1, max: 500_000 });
  if (isUsageError(batch)) return batch;
  const maxWait = integerFlag(parsed, "max-wait-ms", { min: 0, max: 60_000 });
  if (isUsageError(maxWait)) return maxWait;
  const ackWait = integerFlag(parsed, "ack-wait-ms", {
    min: 1_000,
    max: 3_600_000,
  });
  if (isUsageError(ackWait)) return ackWait;
  return {
    kind: "load",
    action,
    from,
    to,
    stream: parsed.values.get("stream"),
    durable: parsed.values.get("durable"),
    batch: batch ?? 5_000,
    maxWaitMs: maxWait ?? 200,
    ackWaitMs: ackWait ?? 30_000,
  };
}

/**
 * Open the sink a URL names. Imported on first use: the ClickHouse client
 * and chDB load only for `load`.
 */
async function openSinkFor(
  to: string,
  redactor: Redactor | undefined,
): Promise<ClickHouseSink> {
  const target = parseSinkUrl(to);
  if (target.kind === "http" && target.password !== "") {
    redactor?.register(target.password);
  }
  const { openSink } = await import("../record/clickhouse.ts");
  return await openSink(to);
}

/**
 * Run `krakked load`, `load validate` or `load status`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O (`io.stop` ends a load as Ctrl+C does).
 * @param redactor Output redactor (the ClickHouse password is registered).
 * @returns 0, or 1 when validation fails.
 */
export async function runLoad(
  flags: LoadFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  if (flags.action === "validate") {
    const { validateClickhouse } = await import(
      "../record/clickhouse_validate.ts"
    );
    const ctx = await loadCommandContext(io, { redactor });
    try {
      await using sink = await openSinkFor(flags.to, redactor);
      const checks = await validateClickhouse(sink, {
        now: io.now,
        rest: ctx.rest,
        maxLatencyMs: flags.maxLatencyMs,
      });
      return reportChecks(checks, flags.json, io);
    } finally {
      ctx.rest.close();
    }
  }
  if (flags.action === "status") {
    await using sink = await openSinkFor(flags.to, redactor);
    return await status(sink, flags.json, io);
  }
  const { runLoader } = await import("../record/load.ts");
  const { describeTarget } = await import("../record/clickhouse.ts");
  // Pair precisions for gold's vwap, from Kraken's AssetPairs (or the
  // simulator the config points at). Without them vwap is rounded to 8.
  const symbols = await pairSymbols(io, redactor);
  await using sink = await openSinkFor(flags.to, redactor);
  writeLine(
    io.stderr,
    `load: ${flags.from} → ${
      describeTarget(parseSinkUrl(flags.to))
    } (Ctrl+C to stop)`,
  );
  const stop = new AbortController();
  const stopped = untilStopped(io.stop).then(() => stop.abort());
  let lastLine = 0;
  const line = (s: import("../record/load.ts").LoadStatus) =>
    `${s.messages} messages, ${s.inserted} inserted, ${s.present} already present, ${s.rejected} rejected, ${s.batches} batches, last seq ${s.lastSeq}, ${s.pending} pending, last insert ${s.lastInsertMs} ms`;
  try {
    const final = await runLoader({
      natsUrl: flags.from,
      sink,
      ...(flags.stream !== undefined ? { stream: flags.stream } : {}),
      ...(flags.durable !== undefined ? { durable: flags.durable } : {}),
      batchSize: flags.batch,
      maxWaitMs: flags.maxWaitMs,
      ackWaitMs: flags.ackWaitMs,
      ...(symbols !== undefined ? { symbolInfo: symbols } : {}),
      signal: stop.signal,
      log: (text) => writeLine(io.stderr, `load: ${text}`),
      onStatus: (s) => {
        const wall = Date.now();
        if (wall - lastLine < 1_000) return;
        lastLine = wall;
        writeLine(io.stderr, `load: ${line(s)}`);
      },
    });
    writeLine(io.stderr, `load: stopped; ${line(final)}`);
    return 0;
  } finally {
    stop.abort();
    await stopped;
  }
}

async function pairSymbols(
  io: CliIo,
  redactor: Redactor | undefined,
): Promise<((s: string) => SymbolInfo | undefined) | undefined> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const meta = await loadMarketMetadata(ctx.rest, {
      supportsMargin: ctx.config.region.supports_margin,
    });
    return (exchangeSymbol) => {
      try {
        const pair = meta.resolver.get(meta.resolver.resolve(exchangeSymbol));
        return {
          exchange: KRAKEN_EXCHANGE,
          symbol: canonicalSymbol(pair.wsV2),
          exchangeSymbol,
          restPair: pair.restKey,
          priceDecimals: pair.priceDecimals,
          volumeDecimals: pair.volumeDecimals,
        };
      } catch {
        return undefined;
      }
    };
  } catch (error) {
    writeLine(
      io.stderr,
      `load: warning: pair precisions unavailable (${
        error instanceof Error ? error.message : String(error)
      }); gold vwap is rounded to 8 decimals until a later run registers them`,
    );
    return undefined;
  } finally {
    ctx.rest.close();
  }
}

async function status(
  sink: ClickHouseSink,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const db = sink.database;
  const [t] = await sink.query(
    `SELECT (SELECT count() FROM ${db}.bronze_trades_kraken) AS bronze,
       (SELECT count() FROM ${db}.silver_trades) AS silver,
       (SELECT count() FROM ${db}.ohlcv_1m) AS gold_1m,
       (SELECT count() FROM ${db}.ohlcv_1d) AS gold_1d,
       (SELECT max(stream_seq) FROM ${db}.bronze_trades_kraken) AS last_seq,
       (SELECT count() FROM ${db}.bronze_book_kraken) AS book_frames,
       (SELECT count() FROM ${db}.book_snapshots) AS book_snapshots`,
  );
  const tables = Object.fromEntries(
    Object.entries(t ?? {}).map(([k, v]) => [k, Number(v)]),
  );
  const symbols = (await sink.query(
    `SELECT symbol, count() AS trades, max(exchange_trade_id) AS last_trade_id,
       toString(max(ts)) AS last_trade_at
     FROM ${db}.silver_trades GROUP BY symbol ORDER BY symbol`,
  )).map((r) => ({
    symbol: String(r.symbol),
    trades: Number(r.trades),
    lastTradeId: Number(r.last_trade_id),
    lastTradeAt: `${String(r.last_trade_at).replace(" ", "T")}Z`,
  }));
  if (json) {
    writeJson(io, { database: db, tables, symbols });
    return 0;
  }
  writeLine(
    io.stdout,
    `${db}: bronze ${tables.bronze} rows (last stream seq ${tables.last_seq}), silver ${tables.silver}, gold 1m ${tables.gold_1m}, 1d ${tables.gold_1d}; books ${tables.book_frames} frames, ${tables.book_snapshots} snapshots`,
  );
  for (const s of symbols) {
    writeLine(
      io.stdout,
      `  ${s.symbol}: ${s.trades} trades, last id ${s.lastTradeId} at ${s.lastTradeAt}`,
    );
  }
  return 0;
}

/** `krakked load`, for the command table. */
export const loadCommand: Command<LoadFlags> = {
  name: "load",
  summary:
    "Load the recorder's JetStream log into ClickHouse (exactly once); validate, status",
  help: LOAD_HELP,
  parse: parseLoadArgs,
  run: runLoad,
};
