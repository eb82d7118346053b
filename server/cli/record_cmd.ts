/**
 * `krakked record`: capture Kraken WS v2 trades into an embedded DuckDB
 * store as bronze, silver and gold (docs/recorder.md), plus
 * `record validate` and `record status`.
 *
 * @module
 */

import { join } from "node:path";
import { loadMarketMetadata } from "@krakked/core/market/metadata";
import type { PairMetadata } from "@krakked/core/market/pairs";
import { PairUniverse, universeConfigOf } from "@krakked/core/market/universe";
import { canonicalSymbol, KRAKEN_EXCHANGE } from "@krakked/core/record/silver";
import type { Redactor } from "@krakked/core/secrets/redact";
import {
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportLayer,
  exportStore,
} from "../record/export.ts";
import type { TradeLog } from "../record/log.ts";
import {
  type RecordChannel,
  type RecorderStatus,
  runRecorder,
} from "../record/run.ts";
import type { BookDepth } from "@krakked/core/ws/book";
import type { RecordStore, SymbolInfo } from "../record/store.ts";
import { bookAt } from "../record/book.ts";
import { DEFAULT_BATCH_ROWS, importExport } from "../record/import.ts";
import { ProgressPrinter } from "./progress.ts";
import { EXIT, UsageError } from "./errors.ts";
import { validateStore } from "../record/validate.ts";
import {
  choiceFlag,
  integerFlag,
  isUsageError,
  type Parsed,
  type ParsedFlags,
  parseFlags,
  usageError,
  type UsageProblem,
} from "./args.ts";
import { type Command, ENV_RESTARTS } from "./command.ts";
import { commandWebSocket, loadCommandContext } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { reportChecks } from "./check_report.ts";
import { untilStopped } from "./stop_signal.ts";
import {
  defaultRecorderStore,
  recorderStatusPath,
} from "../trading/ops_recorder.ts";

/**
 * DuckDB's memory limit while recording. DuckDB's own default is 80% of
 * RAM, under which its buffer manager keeps every block it loaded. A live
 * recorder needs two 32 MiB staging buffers (main and gold connection),
 * the rows not yet checkpointed (≈ 40 MB at the recorder's 2 MB of WAL)
 * and the gold of the buckets that close; the rest is cache, evicted at
 * the limit, and larger work spills to `<store>.tmp`.
 */
export const DEFAULT_MEMORY_LIMIT = "256MB";

/**
 * The smallest `--memory-limit`: each staging read of a write (main and
 * gold connection) pins a 32 MiB CSV reader buffer, so below ≈ 110 MB a
 * write fails with DuckDB's "Out of Memory Error" (measured: 96MB fails,
 * 128MB records).
 */
const MIN_MEMORY_LIMIT_BYTES = 128e6;

const SIZE_UNITS: Record<string, number> = {
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/**
 * A `--memory-limit` size in bytes, in the units DuckDB's `memory_limit`
 * takes. Pure.
 *
 * @param text `256MB`, `1.5GB`, `512MiB` (case and spaces ignored).
 * @returns Bytes, or `undefined` when it is not a size of at least 128 MB.
 */
export function memoryLimitBytes(text: string): number | undefined {
  const m = /^(\d{1,9}(?:\.\d{1,6})?)([KMGT]I?B)$/.exec(
    text.replace(/\s+/g, "").toUpperCase(),
  );
  if (m === null) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!]!;
  return bytes >= MIN_MEMORY_LIMIT_BYTES ? bytes : undefined;
}

/**
 * `--memory-limit` (default {@linkcode DEFAULT_MEMORY_LIMIT}) as DuckDB
 * takes it, spaces dropped and upper-cased, or a usage error. Pure.
 */
function memoryLimitFlag(parsed: ParsedFlags): string | UsageProblem {
  const text = parsed.values.get("memory-limit") ?? DEFAULT_MEMORY_LIMIT;
  if (memoryLimitBytes(text) === undefined) {
    return usageError(
      `--memory-limit takes a size of at least 128MB (e.g. 256MB, 1GB), got "${text}"`,
    );
  }
  return text.replace(/\s+/g, "").toUpperCase();
}

/** Help text of `krakked record`. */
export const RECORD_HELP =
  `Usage: krakked record [<pair>...|--universe] [--channels trade,book] [--store PATH] [--log nats://HOST:PORT] [--memory-limit SIZE]
       krakked record validate [--store PATH] [--max-latency-ms N] [--json]
       krakked record status [--store PATH] [--json]
       krakked record book <symbol> [--at TIME] [--levels N] [--store PATH] [--json]
       krakked record export [--format parquet|csv] [--out DIR] [--layers LIST] [--store PATH] [--json]
       krakked record import <dir> [--store PATH] [--memory-limit SIZE] [--batch-rows N] [--no-books] [--json]

Records every Kraken trade of the pairs, exactly once, into one DuckDB file:
BRONZE bronze_trades_kraken (as Kraken sent it, with the raw frame),
SILVER silver_trades (BASE/QUOTE, id kraken:BTC/USD:<trade_id>, BUY/SELL,
exact decimals, µs UTC) and GOLD ohlcv_1m/5m/15m/1h/1d (closed buckets,
Kraken OHLC semantics). Gaps in Kraken's trade ids (a reconnect, a stall, a
restart) are backfilled from REST Trades. Runs until Ctrl+C. Query the file
with the DuckDB CLI (see docs/recorder.md).

  <pair>...          pairs in any spelling (XBTUSD, BTC/USD, eth-usd)
  --universe         the configured universe instead of a list
  --channels LIST    trade (default), book, or trade,book. book records every
                     L2 frame (bronze_book_kraken: raw, checksum, verdict)
                     and copies each verified book to book_snapshots, so a
                     book can be rebuilt and verified at any instant
  --book-depth N     10 (default), 25, 100, 500 or 1000
  --book-snapshot-s N  seconds between book_snapshots rows (default 60)
  --store PATH       the DuckDB file (default <config dir>/record/market.duckdb)
  --log URL          also publish bronze to NATS JetStream (nats-server -js),
                     one message per trade, message id = the silver trade id;
                     a cluster: every node, comma-separated
                     (nats://a:4222,nats://b:4222,nats://c:4222)
  --log-replicas N   replicas of the stream when this creates it (default 1;
                     3 on a three-node cluster: a node's loss loses nothing
                     acknowledged, publishes retry through the election)
  --restart-every-s N  stop cleanly every N seconds and start again in place
                     (same pid and arguments, fresh memory; the trades of
                     the pause are backfilled from REST); for recordings
                     that run for days, e.g. 86400. Default: never
  --memory-limit SIZE  DuckDB's memory limit (default ${DEFAULT_MEMORY_LIMIT}, at least 128MB;
                     e.g. 512MB, 1GB). DuckDB's own default is 80% of RAM,
                     and it caches the file's blocks up to the limit; larger
                     work spills to <store>.tmp

validate: checks each layer and data quality, one pass/fail line each
(exit 1 when one fails). The store must not be open by a recorder.
  --max-latency-ms N receive-to-silver p99 limit (default 250)
  --json             {"ok": bool, "checks": [{name, ok, summary, counts, examples}]}

status: what the store holds, and the running recorder's figures: commits,
gaps, receive → COMMIT latency of the latest WS trades (p50/p90/p99/max),
memory (process RSS, V8 heap, DuckDB buffers).

book: a recorded L2 book rebuilt as it was at an instant (every frame
received by then applied, from the nearest stored snapshot), verified
against Kraken's checksum of the last frame. Exit 1 when it does not verify.
  <symbol>           WS v2 symbol as recorded (BTC/USD)
  --at TIME          ISO date-time (µs allowed, UTC without a zone) or Unix
                     seconds; default the last recorded frame
  --levels N         levels per side to print (default 10)
  --json             {symbol, atUs, integrity, checksum, expectedChecksum, ...}

export: every table as files partitioned by exchange and trade date, e.g.
DIR/silver_trades/exchange=kraken/date=2026-01-01/data_0.parquet (hive
layout: DuckDB, Spark, Polars, pandas, ClickHouse read it). Each table's
directory is replaced. The store must not be open by a recorder.
  --format F         parquet (default, zstd) or csv (with a header)
  --out DIR          default <store dir>/export
  --layers LIST      bronze,silver,gold (default all three)
  --json             [{table, layer, rows, files, dir}]

import: loads a tree written by export (Parquet or CSV) into the store,
exactly once: trades, frames and book rows the store holds already are not
added again, so an import restores a store, moves a recording to another
machine, or folds one into another store, and importing twice changes
nothing. Bronze and silver come back as exported; gold is rebuilt for the
closed buckets the new trades touch. One transaction: a missing or
truncated file or a row the store refuses fails the import and leaves the
store as it was. Pairs the store does not know get their precisions from
the export's record_symbols (older exports: Kraken's AssetPairs). The store
must not be open by a recorder.
  <dir>              the export's --out directory
  --memory-limit SIZE  DuckDB's memory limit (default ${DEFAULT_MEMORY_LIMIT})
  --batch-rows N     rows per batch (default ${DEFAULT_BATCH_ROWS})
  --no-books         leave book frames and snapshots out (their sequence
                     numbers are the store's own: two recordings' books do
                     not merge, their trades do)
  --json             {format, tables: [{table, read, added, present}],
                     goldBuilt, batches, unregistered}`;

/** Parsed `record` flags. */
export type RecordFlags =
  | {
    kind: "record";
    action: "run";
    pairs: string[];
    universe: boolean;
    store: string | undefined;
    log: string | undefined;
    logReplicas: number | undefined;
    channels: RecordChannel[];
    bookDepth: BookDepth;
    bookSnapshotS: number;
    memoryLimit: string;
    /** Restart in place every this many seconds (undefined: never). */
    restartEveryS: number | undefined;
  }
  | {
    kind: "record";
    action: "validate";
    store: string | undefined;
    json: boolean;
    maxLatencyMs: number;
  }
  | {
    kind: "record";
    action: "status";
    store: string | undefined;
    json: boolean;
  }
  | {
    kind: "record";
    action: "book";
    store: string | undefined;
    symbol: string;
    atUs: number | undefined;
    levels: number;
    json: boolean;
  }
  | {
    kind: "record";
    action: "export";
    store: string | undefined;
    format: ExportFormat;
    out: string | undefined;
    layers: ExportLayer[];
    json: boolean;
  }
  | {
    kind: "record";
    action: "import";
    store: string | undefined;
    dir: string;
    memoryLimit: string;
    batchRows: number;
    books: boolean;
    json: boolean;
  };

/**
 * Parse `record` arguments. Pure.
 *
 * @param args Arguments after `record`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseRecordArgs } from "./record_cmd.ts";
 * parseRecordArgs(["BTC/USD", "ETH/USD", "--store", "m.duckdb"]);
 * parseRecordArgs(["validate", "--json"]);
 * ```
 */
export function parseRecordArgs(
  args: readonly string[],
): Parsed<RecordFlags> {
  const action = args[0] === "validate" || args[0] === "status" ||
      args[0] === "export" || args[0] === "book" || args[0] === "import"
    ? args[0]
    : "run";
  if (action === "book") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json"],
      values: ["store", "at", "levels"],
      positionals: ["symbol"],
      minPositionals: 1,
      maxPositionals: 1,
    });
    if (parsed.kind !== "flags") return parsed;
    const levels = integerFlag(parsed, "levels", { min: 1, max: 1000 });
    if (isUsageError(levels)) return levels;
    const at = parsed.values.get("at");
    let atUs: number | undefined;
    if (at !== undefined) {
      atUs = parseInstantUs(at);
      if (atUs === undefined) {
        return usageError(
          `--at needs an ISO date-time or Unix seconds, got ${
            JSON.stringify(at)
          }`,
        );
      }
    }
    return {
      kind: "record",
      action,
      store: parsed.values.get("store"),
      symbol: parsed.positionals[0]!.toUpperCase(),
      atUs,
      levels: levels ?? 10,
      json: parsed.booleans.has("json"),
    };
  }
  if (action === "export") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json"],
      values: ["store", "format", "out", "layers"],
    });
    if (parsed.kind !== "flags") return parsed;
    const format = choiceFlag(parsed, "format", EXPORT_FORMATS);
    if (isUsageError(format)) return format;
    const layers: ExportLayer[] = [];
    for (
      const l of (parsed.values.get("layers") ?? "bronze,silver,gold")
        .split(",").map((x) => x.trim()).filter((x) => x !== "")
    ) {
      if (l !== "bronze" && l !== "silver" && l !== "gold") {
        return usageError(
          `Unknown layer "${l}" for --layers (bronze, silver, gold)`,
        );
      }
      if (!layers.includes(l)) layers.push(l);
    }
    if (layers.length === 0) return usageError("--layers names no layer");
    return {
      kind: "record",
      action,
      store: parsed.values.get("store"),
      format: format ?? "parquet",
      out: parsed.values.get("out"),
      layers,
      json: parsed.booleans.has("json"),
    };
  }
  if (action === "import") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json", "no-books"],
      values: ["store", "memory-limit", "batch-rows"],
      positionals: ["dir"],
      minPositionals: 1,
      maxPositionals: 1,
    });
    if (parsed.kind !== "flags") return parsed;
    const memoryLimit = memoryLimitFlag(parsed);
    if (isUsageError(memoryLimit)) return memoryLimit;
    const batchRows = integerFlag(parsed, "batch-rows", {
      min: 100,
      max: 10_000_000,
    });
    if (isUsageError(batchRows)) return batchRows;
    return {
      kind: "record",
      action,
      store: parsed.values.get("store"),
      dir: parsed.positionals[0]!,
      memoryLimit,
      batchRows: batchRows ?? DEFAULT_BATCH_ROWS,
      books: !parsed.booleans.has("no-books"),
      json: parsed.booleans.has("json"),
    };
  }
  if (action === "validate") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json"],
      values: ["store", "max-latency-ms"],
    });
    if (parsed.kind !== "flags") return parsed;
    const max = integerFlag(parsed, "max-latency-ms", {
      min: 1,
      max: 86_400_000,
    });
    if (isUsageError(max)) return max;
    return {
      kind: "record",
      action,
      store: parsed.values.get("store"),
      json: parsed.booleans.has("json"),
      maxLatencyMs: max ?? 250,
    };
  }
  if (action === "status") {
    const parsed = parseFlags(args.slice(1), {
      booleans: ["json"],
      values: ["store"],
    });
    if (parsed.kind !== "flags") return parsed;
    return {
      kind: "record",
      action,
      store: parsed.values.get("store"),
      json: parsed.booleans.has("json"),
    };
  }
  const parsed = parseFlags(args, {
    booleans: ["universe"],
    values: [
      "channels",
      "store",
      "log",
      "log-replicas",
      "book-depth",
      "book-snapshot-s",
      "memory-limit",
      "restart-every-s",
    ],
    positionals: ["pair"],
    minPositionals: 0,
    maxPositionals: Infinity,
  });
  if (parsed.kind !== "flags") return parsed;
  const channels: RecordChannel[] = [];
  for (
    const c of (parsed.values.get("channels") ?? "trade").split(",")
      .map((c) => c.trim()).filter((c) => c !== "")
  ) {
    if (c !== "trade" && c !== "book") {
      return usageError(`Unknown channel "${c}" for --channels (trade, book)`);
    }
    if (!channels.includes(c)) channels.push(c);
  }
  if (channels.length === 0) return usageError("--channels names no channel");
  const depthText = choiceFlag(
    parsed,
    "book-depth",
    ["10", "25", "100", "500", "1000"] as const,
  );
  if (isUsageError(depthText)) return depthText;
  const snapshotS = integerFlag(parsed, "book-snapshot-s", {
    min: 1,
    max: 86_400,
  });
  if (isUsageError(snapshotS)) return snapshotS;
  if (
    !channels.includes("book") &&
    (depthText !== undefined || snapshotS !== undefined)
  ) {
    return usageError(
      "--book-depth and --book-snapshot-s need --channels book",
    );
  }
  const restartEveryS = integerFlag(parsed, "restart-every-s", {
    min: 2,
    max: 30 * 86_400,
  });
  if (isUsageError(restartEveryS)) return restartEveryS;
  const log = parsed.values.get("log");
  if (log !== undefined && !log.startsWith("nats://")) {
    return usageError(`--log takes a nats:// URL, got "${log}"`);
  }
  const logReplicas = integerFlag(parsed, "log-replicas", { min: 1, max: 5 });
  if (isUsageError(logReplicas)) return logReplicas;
  if (logReplicas !== undefined && log === undefined) {
    return usageError("--log-replicas needs --log");
  }
  const memoryLimit = memoryLimitFlag(parsed);
  if (isUsageError(memoryLimit)) return memoryLimit;
  const universe = parsed.booleans.has("universe");
  if (universe === (parsed.positionals.length > 0)) {
    return usageError("Give pairs or --universe (one of the two)");
  }
  return {
    kind: "record",
    action: "run",
    pairs: parsed.positionals,
    universe,
    store: parsed.values.get("store"),
    log,
    logReplicas,
    channels,
    bookDepth: Number(depthText ?? 10) as BookDepth,
    bookSnapshotS: snapshotS ?? 60,
    memoryLimit,
    restartEveryS,
  };
}

/**
 * An instant as µs since the Unix epoch: Unix seconds, or an ISO date-time
 * (UTC when it has no zone) with up to six fraction digits. Pure.
 *
 * @param text The text.
 * @returns µs, or `undefined` when it is neither.
 */
export function parseInstantUs(text: string): number | undefined {
  const t = text.trim();
  if (/^\d{1,12}$/.test(t)) return Number(t) * 1_000_000;
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/
      .exec(t);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2] ?? "00:00"}${m[4] ?? "Z"}`);
  if (!Number.isFinite(ms)) return undefined;
  return ms * 1000 + Number((m[3] ?? "").padEnd(6, "0"));
}

/**
 * The status file a running recorder keeps beside its store (read by the
 * server's ops view too).
 */
export const statusPath: (store: string) => string = recorderStatusPath;

function symbolInfo(pair: PairMetadata): SymbolInfo {
  return {
    exchange: KRAKEN_EXCHANGE,
    symbol: canonicalSymbol(pair.wsV2),
    exchangeSymbol: pair.wsV2,
    restPair: pair.restKey,
    priceDecimals: pair.priceDecimals,
    volumeDecimals: pair.volumeDecimals,
  };
}

/**
 * Run `krakked record`, `record validate` or `record status`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O (`io.stop` ends a recording as Ctrl+C does).
 * @param redactor Output redactor.
 * @returns 0, or 1 when validation fails.
 */
export async function runRecord(
  flags: RecordFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const store = flags.store ?? defaultRecorderStore(ctx.paths.dir);
    if (flags.action === "status") return await status(store, flags.json, io);
    if (flags.action === "validate") {
      await using db = await openStore(store);
      const checks = await validateStore(db, {
        now: io.now,
        rest: ctx.rest,
        maxLatencyMs: flags.maxLatencyMs,
      });
      return reportChecks(checks, flags.json, io);
    }
    if (flags.action === "book") {
      await using db = await openStore(store);
      return await printBook(db, flags, io);
    }
    if (flags.action === "export") {
      await using db = await openStore(store);
      const tables = await exportStore(db, {
        format: flags.format,
        out: flags.out ?? join(store, "..", "export"),
        layers: flags.layers,
      });
      if (flags.json) writeJson(io, tables);
      else {
        for (const t of tables) {
          writeLine(
            io.stdout,
            `${t.table}: ${t.rows} rows in ${t.files} ${flags.format} files under ${t.dir}`,
          );
        }
      }
      return 0;
    }
    if (flags.action === "import") {
      return await importTree(store, flags, io, async (symbols) => {
        const meta = await loadMarketMetadata(ctx.rest, {
          supportsMargin: ctx.config.region.supports_margin,
        });
        const out: SymbolInfo[] = [];
        for (const symbol of symbols) {
          try {
            out.push(
              symbolInfo(meta.resolver.get(meta.resolver.resolve(symbol))),
            );
          } catch {
            // Not a pair Kraken lists (any more): reported as unregistered.
          }
        }
        return out;
      });
    }
    const meta = await loadMarketMetadata(ctx.rest, {
      supportsMargin: ctx.config.region.supports_margin,
    });
    let pairs: readonly PairMetadata[];
    if (flags.universe) {
      const universe = new PairUniverse(ctx.rest, {
        config: universeConfigOf(ctx.config),
        now: io.now,
      });
      const refreshed = await universe.refresh();
      if (!refreshed.ok) throw refreshed.error;
      pairs = refreshed.snapshot.pairs;
    } else {
      pairs = [...new Set(flags.pairs.map((p) => meta.resolver.resolve(p)))]
        .map((id) => meta.resolver.get(id));
    }
    const symbols = pairs.map(symbolInfo);
    await Deno.mkdir(join(store, ".."), { recursive: true });
    await using db = await openStore(store);
    // A global setting of the DuckDB instance (both connections), kept
    // across the recorder's periodic reopens (recycleEveryMs). Bigger work
    // spills to DuckDB's temp directory (<store>.tmp) instead.
    await db.set("memory_limit", flags.memoryLimit);
    await db.registerSymbols(symbols);
    writeLine(
      io.stderr,
      `record: ${symbols.length} pairs into ${store}, DuckDB memory limit ${flags.memoryLimit} (Ctrl+C to stop)`,
    );
    // The NATS client loads only when a log is asked for.
    await using tradeLog: TradeLog | undefined = flags.log === undefined
      ? undefined
      : await (await import("../record/log.ts")).TradeLog.connect(flags.log, {
        ...(flags.logReplicas !== undefined
          ? { replicas: flags.logReplicas }
          : {}),
      });
    const stop = new AbortController();
    // A restart is a clean stop (final gold, checkpoint, status) whose exit
    // code asks main.ts to start the program again in place.
    let restartDue = false;
    let restartTimer: ReturnType<typeof setTimeout> | undefined;
    const restart = new Promise<void>((resolve) => {
      if (flags.restartEveryS === undefined) return;
      restartTimer = setTimeout(() => {
        restartDue = true;
        writeLine(
          io.stderr,
          `record: restarting in place after ${flags.restartEveryS} s (--restart-every-s)`,
        );
        resolve();
      }, flags.restartEveryS * 1000);
    });
    const stopped = Promise.race([untilStopped(io.stop), restart])
      .then(() => stop.abort());
    let lastStatusWrite = 0;
    // A heartbeat while no trade arrives: the ops view calls a recorder
    // silent for 30 s stale, so a quiet market must not look like a hang.
    let latest: RecorderStatus | undefined;
    const heartbeat = setInterval(() => {
      if (latest === undefined || Date.now() - lastStatusWrite < 10_000) {
        return;
      }
      lastStatusWrite = Date.now();
      void writeStatus(store, latest, false);
    }, 10_000);
    // The run's correlation id on the WebSocket handshake and in its log.
    const WebSocket = commandWebSocket();
    const final = await runRecorder({
      ...(WebSocket === undefined ? {} : { WebSocket }),
      store: db,
      rest: ctx.rest,
      wsUrl: ctx.config.connection.ws_public_url,
      symbols,
      ...(tradeLog !== undefined ? { tradeLog } : {}),
      channels: flags.channels,
      bookDepth: flags.bookDepth,
      bookSnapshotMs: flags.bookSnapshotS * 1000,
      signal: stop.signal,
      now: io.now,
      log: (line) => writeLine(io.stderr, `record: ${line}`),
      onStatus: (s) => {
        latest = s;
        const wall = Date.now();
        if (wall - lastStatusWrite < 1000) return;
        lastStatusWrite = wall;
        void writeStatus(store, s, false);
      },
    }).catch(async (error) => {
      // A failed write (DuckDB out of memory, disk full) stops the run:
      // say so in the status file rather than leave it "running" until
      // it goes stale.
      if (latest !== undefined) {
        await writeStatus(store, latest, true, String(error)).catch(() => {});
      }
      throw error;
    }).finally(() => {
      clearInterval(heartbeat);
      clearTimeout(restartTimer);
    });
    await stopped;
    await db.checkpoint();
    await writeStatus(store, final, true);
    writeLine(
      io.stderr,
      `record: stopped; ${final.silverRows} trades, ${final.goldRows} gold rows, ${final.gapsFilled}/${final.gapsFound} gaps backfilled, ${final.reconnects} reconnects${
        tradeLog === undefined
          ? ""
          : `, ${final.logged} new in ${tradeLog.stream}${
            final.bookLogged > 0
              ? ` (and ${final.bookLogged} book frames and snapshots)`
              : ""
          }`
      }`,
    );
    return restartDue ? EXIT.restart : 0;
  } finally {
    ctx.rest.close();
  }
}

async function writeStatus(
  store: string,
  s: RecorderStatus,
  stopped: boolean,
  error?: string,
): Promise<void> {
  const restarts = Number(Deno.env.get(ENV_RESTARTS) ?? 0);
  const text = JSON.stringify({
    pid: Deno.pid,
    // In-place restarts of this process (--restart-every-s).
    restarts: Number.isSafeInteger(restarts) ? restarts : 0,
    running: !stopped,
    writtenAt: new Date().toISOString(),
    ...s,
    ...(error === undefined ? {} : { error: error.slice(0, 2000) }),
  });
  // Write then rename, so a reader never sees half a file.
  const tmp = `${statusPath(store)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, statusPath(store));
}

async function status(
  store: string,
  json: boolean,
  io: CliIo,
): Promise<number> {
  let recorder: unknown;
  try {
    recorder = JSON.parse(await Deno.readTextFile(statusPath(store)));
  } catch {
    recorder = null;
  }
  let tables: Record<string, unknown> | null = null;
  let symbols: Record<string, unknown>[] = [];
  let storeError: string | null = null;
  try {
    await using db = await openStore(store);
    const [row] = await db.query(
      `SELECT (SELECT count(*) FROM bronze_trades_kraken)::BIGINT AS bronze,
         (SELECT count(*) FROM silver_trades)::BIGINT AS silver,
         (SELECT count(*) FROM ohlcv_1m)::BIGINT AS gold_1m,
         (SELECT count(*) FROM ohlcv_1d)::BIGINT AS gold_1d,
         (SELECT count(*) FROM bronze_trades_kraken WHERE source = 'rest_backfill')::BIGINT AS backfilled,
         (SELECT count(*) FROM bronze_book_kraken)::BIGINT AS book_frames,
         (SELECT count(*) FROM book_snapshots)::BIGINT AS book_snapshots`,
    );
    tables = Object.fromEntries(
      Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]),
    );
    symbols = (await db.query(
      `SELECT symbol, count(*)::BIGINT AS trades, max(exchange_trade_id) AS last_trade_id,
         strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%fZ') AS last_trade_at
       FROM silver_trades GROUP BY symbol ORDER BY symbol`,
    )).map((r) => ({
      symbol: String(r.symbol),
      trades: Number(r.trades),
      lastTradeId: Number(r.last_trade_id),
      lastTradeAt: String(r.last_trade_at),
    }));
  } catch (error) {
    // A running recorder holds the file; its status file still speaks.
    storeError = error instanceof Error ? error.message : String(error);
  }
  if (json) {
    writeJson(io, { store, tables, symbols, recorder, storeError });
    return 0;
  }
  writeLine(io.stdout, `store: ${store}`);
  if (tables !== null) {
    writeLine(
      io.stdout,
      `bronze ${tables.bronze} rows (${tables.backfilled} backfilled), silver ${tables.silver}, gold 1m ${tables.gold_1m}, 1d ${tables.gold_1d}, book ${tables.book_frames} frames and ${tables.book_snapshots} snapshots`,
    );
    for (const s of symbols) {
      writeLine(
        io.stdout,
        `  ${s.symbol}: ${s.trades} trades, last id ${s.lastTradeId} at ${s.lastTradeAt}`,
      );
    }
  } else writeLine(io.stdout, `store not readable now: ${storeError}`);
  if (recorder !== null && typeof recorder === "object") {
    const r = recorder as RecorderStatus & {
      running: boolean;
      pid: number;
      restarts?: number;
    };
    writeLine(
      io.stdout,
      `recorder ${
        r.running
          ? `running (pid ${r.pid}${
            r.restarts ? `, restarted in place ${r.restarts}×` : ""
          })`
          : "stopped"
      }: ws ${r.wsState}, ${r.reconnects} reconnects, ${r.commits} commits, gaps ${r.gapsFilled}/${r.gapsFound} filled${
        r.backfill
          ? `, backfilling ${r.backfill.gap.symbol} ${r.backfill.gap.fromId}..${r.backfill.gap.toId}: ${r.backfill.fetched} fetched in ${r.backfill.pages} pages`
          : ""
      }`,
    );
    const failed = (recorder as { error?: unknown }).error;
    if (typeof failed === "string") {
      writeLine(io.stdout, `  stopped by an error: ${failed.split("\n")[0]}`);
    }
    const c = r.commitLatency;
    if (c !== undefined && c !== null) {
      writeLine(
        io.stdout,
        `  receive → COMMIT acknowledged, latest ${c.window} of ${c.trades} WS trades: p50 ${c.p50Ms} ms, p90 ${c.p90Ms} ms, p99 ${c.p99Ms} ms, max ${c.maxMs} ms (max since start ${c.maxEverMs} ms)`,
      );
    }
    const m = r.memory;
    if (m !== undefined && m !== null) {
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      writeLine(
        io.stdout,
        `  memory at ${new Date(m.sampledAtMs).toISOString()}: RSS ${
          mib(m.rssBytes)
        }, V8 heap ${mib(m.heapUsedBytes)} used of ${
          mib(m.heapTotalBytes)
        }, DuckDB ${m.duckdbBytes === null ? "-" : mib(m.duckdbBytes)} (limit ${
          m.duckdbLimit ?? "-"
        })${m.allocator === undefined ? "" : `, allocator ${m.allocator}`}`,
      );
    }
  }
  return 0;
}

async function printBook(
  db: RecordStore,
  flags: Extract<RecordFlags, { action: "book" }>,
  io: CliIo,
): Promise<number> {
  const [last] = await db.query(
    `SELECT epoch_us(max(received_at)) AS last_us FROM bronze_book_kraken
     WHERE upper(symbol) = $1`,
    [flags.symbol],
  );
  if (last?.last_us === null || last?.last_us === undefined) {
    const known = (await db.query(
      `SELECT DISTINCT symbol FROM bronze_book_kraken ORDER BY symbol`,
    )).map((r) => String(r.symbol));
    throw new UsageError(
      `No book of ${flags.symbol} is recorded in this store${
        known.length > 0 ? ` (books: ${known.join(", ")})` : ""
      }; record one with --channels trade,book`,
    );
  }
  const book = await bookAt(
    db,
    flags.symbol,
    flags.atUs ?? Number(last.last_us),
  );
  const ok = book.integrity === "ok" && book.checksum === book.expectedChecksum;
  const at = new Date(book.atUs / 1000).toISOString();
  if (flags.json) {
    writeJson(io, {
      symbol: book.symbol,
      atUs: book.atUs,
      at,
      integrity: book.integrity,
      verified: ok,
      checksum: book.checksum ?? null,
      expectedChecksum: book.expectedChecksum ?? null,
      lastSeq: book.lastSeq ?? null,
      fromSnapshotSeq: book.fromSeq ?? null,
      framesApplied: book.applied,
      mismatches: book.mismatches,
      bids: book.bids.slice(0, flags.levels),
      asks: book.asks.slice(0, flags.levels),
    });
    return ok ? 0 : 1;
  }
  writeLine(
    io.stdout,
    `${book.symbol} at ${at}: ${book.integrity}${
      ok
        ? `, checksum ${book.checksum} verified`
        : book.integrity === "ok"
        ? `, checksum ${book.checksum} differs from the stored ${book.expectedChecksum}`
        : " (the live book was resyncing here: no verified book)"
    }; rebuilt from ${
      book.fromSeq === undefined
        ? "the first frame"
        : `snapshot seq ${book.fromSeq}`
    } + ${book.applied} frames to seq ${book.lastSeq ?? "-"}`,
  );
  const rows = Math.min(
    flags.levels,
    Math.max(book.bids.length, book.asks.length),
  );
  if (rows > 0) {
    writeLine(
      io.stdout,
      `${"bid qty".padStart(20)} ${"bid".padStart(14)} | ${
        "ask".padEnd(14)
      } ask qty`,
    );
  }
  for (let i = 0; i < rows; i++) {
    const b = book.bids[i];
    const a = book.asks[i];
    writeLine(
      io.stdout,
      `${(b?.qty ?? "").padStart(20)} ${(b?.price ?? "").padStart(14)} | ${
        (a?.price ?? "").padEnd(14)
      } ${a?.qty ?? ""}`,
    );
  }
  return ok ? 0 : 1;
}

/**
 * Open the DuckDB store. Imported on first use: DuckDB is a native module
 * that needs --allow-ffi, and only `record` may ask for it; every other
 * command (and `deno task sim`/`serve`, which load this table) runs without.
 */
/** `record import`: load an export tree into the store, with progress on stderr. */
async function importTree(
  store: string,
  flags: Extract<RecordFlags, { action: "import" }>,
  io: CliIo,
  resolve: (symbols: string[]) => Promise<SymbolInfo[]>,
): Promise<number> {
  await Deno.mkdir(join(store, ".."), { recursive: true });
  await using db = await openStore(store);
  await db.set("memory_limit", flags.memoryLimit);
  const progress = new ProgressPrinter(io);
  const started = Date.now();
  let warned = false;
  const result = await importExport(db, flags.dir, {
    nowUs: io.now() * 1000,
    batchRows: flags.batchRows,
    books: flags.books,
    resolveSymbols: async (symbols) => {
      try {
        return await resolve(symbols);
      } catch (error) {
        // Offline: gold's vwap falls back to 8 decimals for these pairs.
        warned = true;
        writeLine(
          io.stderr,
          `record import: cannot read pair precisions (${
            error instanceof Error ? error.message : String(error)
          }); ${symbols.join(", ")} stay unregistered`,
        );
        return [];
      }
    },
    onProgress: (p) => {
      const spent = Date.now() - started;
      progress.update({
        phase: "trades",
        done: p.done,
        total: p.total,
        etaMs: p.done > 0 ? (spent / p.done) * (p.total - p.done) : null,
      });
    },
  });
  progress.finish();
  await db.checkpoint();
  if (flags.json) writeJson(io, result);
  else {
    for (const t of result.tables) {
      writeLine(
        io.stdout,
        `${t.table}: ${t.read} read, ${t.added} added, ${t.present} already present`,
      );
    }
    writeLine(
      io.stdout,
      `gold: ${result.goldBuilt} rows rebuilt; ${result.batches} batches from ${result.format} in ${
        ((Date.now() - started) / 1000).toFixed(1)
      }s`,
    );
    if (result.unregistered.length > 0 && !warned) {
      writeLine(
        io.stderr,
        `record import: no precisions for ${
          result.unregistered.join(", ")
        } (gold vwap at 8 decimals)`,
      );
    }
  }
  return 0;
}

async function openStore(path: string): Promise<RecordStore> {
  const { RecordStore } = await import("../record/store.ts");
  return await RecordStore.open(path);
}

/** `krakked record`, for the command table. */
export const recordCommand: Command<RecordFlags> = {
  name: "record",
  summary:
    "Record Kraken trades into bronze/silver/gold (DuckDB); validate, status",
  help: RECORD_HELP,
  parse: parseRecordArgs,
  run: runRecord,
  // A recording runs for hours: under jemalloc when installed.
  longRunning: (flags) => flags.action === "run",
};
