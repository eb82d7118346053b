/**
 * The live recorder: core's WS v2 client (reconnects, resubscribes) with a
 * tap that hands each raw frame to core's {@linkcode TradeRecorder}, a
 * writer that commits batches to the {@linkcode RecordStore} every
 * `flushMs`, and a backfill worker that fills trade-id gaps from REST
 * `Trades`, one gap at a time, marked `rest_backfill`.
 *
 * With the `book` channel, each symbol's L2 book is subscribed too, and a
 * core `BookRecorder` (the WS client's `BookSet`, checksum verified per
 * frame) turns every book frame into a bronze row; every `bookSnapshotMs`
 * (wall clock) each verified book is copied into `book_snapshots`, so a
 * rebuild at any instant starts near it (server/record/book.ts).
 *
 * Two clocks: `now` decides which buckets are closed (the market's clock;
 * a simulator can run it fast), `wallNow` stamps receive and silver times,
 * so receive-to-silver latency is real whatever the market clock does. In
 * production both are `Date.now`.
 *
 * @module
 */

import { backfillCursor, type TradeGap } from "@krakked/core/record/gaps";
import {
  BookRecorder,
  type BookSnapshotRow,
  type BronzeBookRow,
} from "@krakked/core/record/mod";
import type { BookDepth } from "@krakked/core/ws/book";
import { type RecordBatch, TradeRecorder } from "@krakked/core/record/recorder";
import { tapWebSocket } from "@krakked/core/record/tap";
import type { TradesResult } from "@krakked/core/rest/types";
import {
  type WebSocketConstructor,
  WsConnection,
} from "@krakked/core/ws/connection";
import { currentAllocator } from "../deno/allocator.ts";
import type { TradeLog } from "./log.ts";
import type { RecordStore, SymbolInfo } from "./store.ts";

/** What the recorder needs from REST. */
export interface TradesSource {
  /** REST `Trades` of one pair from a `since` cursor. */
  trades(
    pair: string,
    options: { since?: string | number; count?: number },
  ): Promise<TradesResult>;
}

/** Options of {@linkcode runRecorder}. */
export interface RecorderOptions {
  /** The open store (symbols registered). */
  store: RecordStore;
  /** REST `Trades` for backfills. */
  rest: TradesSource;
  /** WS v2 public URL. */
  wsUrl: string;
  /** Symbols to record. */
  symbols: readonly SymbolInfo[];
  /** Stops the recorder. */
  signal: AbortSignal;
  /** Market clock, ms (closes buckets). */
  now: () => number;
  /** Wall clock, ms (receive and silver times). Default `Date.now`. */
  wallNow?: () => number;
  /** Commit period, ms (default 100). */
  flushMs?: number;
  /** WebSocket constructor (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
  /**
   * A JetStream log: each batch is published (and acknowledged) before it
   * is committed to the store (see server/record/log.ts).
   */
  tradeLog?: TradeLog;
  /** Channels recorded (default `["trade"]`). */
  channels?: readonly RecordChannel[];
  /** Book depth subscribed with the `book` channel (default 10). */
  bookDepth?: BookDepth;
  /** How often each verified book is copied to `book_snapshots`, wall ms (default 60,000). */
  bookSnapshotMs?: number;
  /** Progress and event lines. */
  log?: (line: string) => void;
  /** Called after every commit with the running figures. */
  onStatus?: (status: RecorderStatus) => void;
  /**
   * How often the process's and DuckDB's memory is sampled into
   * {@linkcode RecorderStatus.memory}, wall ms (default 10,000). The DuckDB
   * figure is a query, run between two commits.
   */
  memorySampleMs?: number;
  /**
   * CHECKPOINT once the write-ahead log holds this many bytes, between two
   * commits and while no gold build runs (default 2 MB; 0 leaves it to
   * DuckDB's own 16 MB). Rows committed but not checkpointed live in
   * memory uncompressed (≈ 18× their WAL size here), and a restart replays
   * the WAL.
   */
  checkpointWalBytes?: number;
  /**
   * At a checkpoint at least this long (wall ms) after DuckDB was opened,
   * reopen it instead ({@linkcode RecordStore.recycle}: checkpoint, close,
   * open, state kept). Default 10 minutes; 0 reopens at every checkpoint;
   * `Infinity` never. A reopen hands back native memory the instance held
   * (≈ 23 MiB an hour less RSS growth at `--activity busy`, 20 pairs, in
   * side-by-side soaks; the rest of the growth is not the instance's, see
   * docs/recorder.md, Memory) and costs a pause that grows with the file
   * (≈ 0.1 s at 120 MB, 0.3 s at 620 MB here), hence a period rather than
   * every checkpoint.
   */
  recycleEveryMs?: number;
}

/**
 * Receive → COMMIT acknowledged latency of WS trades: for each trade of a
 * committed batch, the wall time `store.write` resolved (the batch's
 * COMMIT, and its JetStream publish before it, done) minus the trade's
 * receive time. `silver_at` (and `record validate`'s `latency`) is stamped
 * when the write starts, so it leaves the COMMIT out; this one does not.
 */
export interface CommitLatency {
  /** WS trades measured since the recorder started. */
  trades: number;
  /** Trades the percentiles cover: the latest, at most {@linkcode LATENCY_WINDOW}. */
  window: number;
  /** Median over the window, ms (nearest rank). */
  p50Ms: number;
  /** 90th percentile over the window, ms. */
  p90Ms: number;
  /** 99th percentile over the window, ms. */
  p99Ms: number;
  /** Worst in the window, ms. */
  maxMs: number;
  /** Worst since the recorder started, ms. */
  maxEverMs: number;
}

/** Memory of the recording process, sampled every `memorySampleMs`. */
export interface RecorderMemory {
  /** When sampled, ms (wall). */
  sampledAtMs: number;
  /** Resident set of the whole process (V8 + DuckDB + Deno), bytes. */
  rssBytes: number;
  /** V8 heap in use, bytes. */
  heapUsedBytes: number;
  /** V8 heap reserved, bytes. */
  heapTotalBytes: number;
  /** Memory outside the V8 heap that JS objects hold (buffers), bytes. */
  externalBytes: number;
  /**
   * What DuckDB's buffer manager holds (`sum(memory_usage_bytes)` of
   * `duckdb_memory()`), bytes; `null` when the query failed.
   */
  duckdbBytes: number | null;
  /**
   * The same by `duckdb_memory()` tag, tags holding memory only:
   * `IN_MEMORY_TABLE` (committed rows not yet checkpointed), `BASE_TABLE`
   * (cached blocks of the file), `ART_INDEX`, `CSV_READER`, …
   */
  duckdbByTag: Record<string, number>;
  /** DuckDB's `memory_limit` setting as it prints it (`256.0 MiB`). */
  duckdbLimit: string | null;
  /**
   * The malloc the process runs under (server/deno/allocator.ts: `krakked
   * record` re-executes itself under jemalloc when it is installed).
   * Absent in status files written before it was recorded.
   */
  allocator?: "jemalloc" | "system" | "unknown";
}

/** How many unfilled gaps the status lists (the latest). */
export const UNFILLED_GAPS_KEPT = 50;

/** How many of the latest WS trades the latency percentiles cover. */
export const LATENCY_WINDOW = 8192;

/**
 * The latest `capacity` latencies in a ring (bounded memory whatever the
 * run's length) and percentiles over them.
 */
export class LatencyWindow {
  readonly capacity: number;
  #ring: Float64Array;
  #next = 0;
  #size = 0;
  #total = 0;
  #maxEver = 0;

  /** @param capacity Samples kept (the latest). */
  constructor(capacity: number = LATENCY_WINDOW) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer: ${capacity}`);
    }
    this.capacity = capacity;
    this.#ring = new Float64Array(capacity);
  }

  /** Samples added since construction. */
  get total(): number {
    return this.#total;
  }

  /**
   * Add one latency.
   *
   * @param ms Latency, ms (negative clock steps count as 0).
   */
  add(ms: number): void {
    const v = ms > 0 ? ms : 0;
    this.#ring[this.#next] = v;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
    this.#total++;
    if (v > this.#maxEver) this.#maxEver = v;
  }

  /**
   * Percentiles (nearest rank: the ⌈q·n⌉-th smallest) over the window.
   *
   * @returns The figures, or `undefined` before the first sample.
   */
  summary(): CommitLatency | undefined {
    if (this.#size === 0) return undefined;
    const sorted = this.#ring.slice(0, this.#size).sort();
    const at = (q: number) =>
      Math.round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!);
    return {
      trades: this.#total,
      window: this.#size,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: Math.round(sorted[sorted.length - 1]!),
      maxEverMs: Math.round(this.#maxEver),
    };
  }
}

/** A recorded WS channel. */
export type RecordChannel = "trade" | "book";

/** Running figures of a recorder. */
export interface RecorderStatus {
  /** When it started, ms (wall). */
  startedAtMs: number;
  /** WS state. */
  wsState: string;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Trade frames seen. */
  tradeFrames: number;
  /** Bronze rows committed as new. */
  bronzeRows: number;
  /** Silver rows committed as new. */
  silverRows: number;
  /** Gold rows built. */
  goldRows: number;
  /** Trades the JetStream log stored (new message ids). */
  logged: number;
  /** Book frame rows and snapshots the JetStream log stored (new ids). */
  bookLogged: number;
  /** Commits. */
  commits: number;
  /** Gaps found. */
  gapsFound: number;
  /** Gaps filled completely. */
  gapsFilled: number;
  /**
   * The latest gaps REST could not fill (yet), at most
   * {@linkcode UNFILLED_GAPS_KEPT}: the status file stays small (the ops
   * view reads at most 64 KB of it) however many there are.
   */
  gapsUnfilled: TradeGap[];
  /** Gaps REST could not fill, all of them. */
  gapsUnfilledTotal: number;
  /** Trades fetched by backfills. */
  backfilledTrades: number;
  /** The gap being filled and how far, if any. */
  backfill: { gap: TradeGap; fetched: number; pages: number } | undefined;
  /** Rows silver rejected. */
  rejectedRows: number;
  /** Last commit, ms (wall). */
  lastCommitAtMs: number | undefined;
  /** Book frame rows committed (with the `book` channel). */
  bookRows: number;
  /** Book snapshots committed. */
  bookSnapshots: number;
  /** Book frames whose checksum failed (each resubscribes its symbol). */
  bookMismatches: number;
  /**
   * Receive → COMMIT acknowledged latency of WS trades over the latest
   * {@linkcode LATENCY_WINDOW} (undefined before the first trade commit).
   */
  commitLatency: CommitLatency | undefined;
  /** The latest memory sample (undefined before the first). */
  memory: RecorderMemory | undefined;
  /**
   * CHECKPOINTs the recorder ran (see `checkpointWalBytes`), reopens of
   * DuckDB included.
   */
  checkpoints: number;
  /** How long the last one took, ms. */
  lastCheckpointMs: number | undefined;
  /** Reopens of DuckDB (see `recycleEveryMs`). */
  reopens: number;
  /** How long the last reopen took (its checkpoint included), ms. */
  lastReopenMs: number | undefined;
}

/**
 * Record until `signal` aborts; then commit what is pending, finish the
 * backfill in progress and close the socket.
 *
 * @param options Store, sources, symbols, clocks.
 * @returns The final figures.
 */
export async function runRecorder(
  options: RecorderOptions,
): Promise<RecorderStatus> {
  const { store, rest } = options;
  // Stops on the caller's signal or on a store failure.
  const stop = new AbortController();
  const signal = stop.signal;
  if (options.signal.aborted) stop.abort();
  options.signal.addEventListener("abort", () => stop.abort(), { once: true });
  const wallNow = options.wallNow ?? Date.now;
  const log = options.log ?? (() => {});
  const flushMs = options.flushMs ?? 100;
  const bySymbol = new Map(options.symbols.map((s) => [s.exchangeSymbol, s]));
  const recorder = new TradeRecorder(
    (await store.tracked()).filter((t) => bySymbol.has(t.symbol)),
  );
  const status: RecorderStatus = {
    startedAtMs: wallNow(),
    wsState: "idle",
    reconnects: 0,
    tradeFrames: 0,
    bronzeRows: 0,
    silverRows: 0,
    goldRows: 0,
    logged: 0,
    bookLogged: 0,
    commits: 0,
    gapsFound: 0,
    gapsFilled: 0,
    gapsUnfilled: [],
    gapsUnfilledTotal: 0,
    backfilledTrades: 0,
    backfill: undefined,
    rejectedRows: 0,
    lastCommitAtMs: undefined,
    bookRows: 0,
    bookSnapshots: 0,
    bookMismatches: 0,
    commitLatency: undefined,
    memory: undefined,
    checkpoints: 0,
    lastCheckpointMs: undefined,
    reopens: 0,
    lastReopenMs: undefined,
  };
  const latencies = new LatencyWindow();
  let latencySummarizedAt = -Infinity;
  const memorySampleMs = options.memorySampleMs ?? 10_000;
  let memorySampledAt = -Infinity;
  const checkpointWalBytes = options.checkpointWalBytes ?? 2_000_000;
  const walPath = `${store.path}.wal`;
  const recycleEveryMs = options.recycleEveryMs ?? 600_000;
  let openedAt = wallNow();
  let checkpointing = false;
  // Runs between two commits (the writer's chain) while no gold build
  // runs (a CHECKPOINT refuses to run beside another write transaction):
  // committed rows then leave memory for compressed blocks of the file,
  // which the buffer manager may evict under memory_limit.
  const checkpointIfDue = async () => {
    if (checkpointWalBytes <= 0 || gold !== undefined) return;
    // Claimed before the first await: the flush timer must not start a
    // gold build on the connection a recycle is about to close.
    checkpointing = true;
    try {
      let size: number;
      try {
        size = (await Deno.stat(walPath)).size;
      } catch {
        return; // no WAL (an in-memory store, or just checkpointed)
      }
      if (size < checkpointWalBytes) return;
      const t0 = performance.now();
      const reopen = wallNow() - openedAt >= recycleEveryMs;
      if (reopen) await store.recycle();
      else await store.checkpoint();
      const ms = Math.round(performance.now() - t0);
      status.checkpoints++;
      status.lastCheckpointMs = ms;
      if (reopen) {
        openedAt = wallNow();
        status.reopens++;
        status.lastReopenMs = ms;
      }
    } catch (error) {
      // Not fatal while DuckDB is open: it checkpoints by itself at 16 MB
      // of WAL. A reopen that failed leaves no connection: the next write
      // fails and the recorder stops; the next run backfills the rest.
      log(`checkpoint skipped: ${String(error)}`);
    } finally {
      checkpointing = false;
    }
  };
  // Runs between two commits (the writer's chain): the DuckDB figure is a
  // query on the writer's connection.
  // Fixed for the process's life: read once.
  const allocator = currentAllocator();
  const sampleMemory = async () => {
    const wall = wallNow();
    if (wall - memorySampledAt < memorySampleMs) return;
    memorySampledAt = wall;
    const m = Deno.memoryUsage();
    let duckdbBytes: number | null = null;
    let duckdbLimit: string | null = null;
    const duckdbByTag: Record<string, number> = {};
    try {
      // One query: every tag's bytes, and the limit on each row.
      const rows = await store.query(
        `SELECT tag, memory_usage_bytes::BIGINT AS used,
           current_setting('memory_limit') AS lim
         FROM duckdb_memory()`,
      );
      duckdbBytes = 0;
      for (const row of rows) {
        const used = Number(row.used ?? 0);
        duckdbBytes += used;
        if (used > 0) duckdbByTag[String(row.tag)] = used;
        duckdbLimit = row.lim === null ? null : String(row.lim);
      }
    } catch (error) {
      log(`memory sample: ${String(error)}`);
    }
    status.memory = {
      sampledAtMs: wall,
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      externalBytes: m.external,
      duckdbBytes,
      duckdbByTag,
      duckdbLimit,
      allocator,
    };
  };
  const channels = new Set(options.channels ?? ["trade"]);
  const bookDepth = options.bookDepth ?? 10;
  const bookSnapshotMs = options.bookSnapshotMs ?? 60_000;
  const books = channels.has("book")
    ? new BookRecorder({
      symbols: options.symbols.map((s) => ({
        symbol: s.exchangeSymbol,
        priceDecimals: s.priceDecimals,
        qtyDecimals: s.volumeDecimals,
      })),
      depth: bookDepth,
      nextSeq: await store.nextBookSeq(),
    })
    : undefined;
  // Streams are `<run>:<socket>`: a book never continues across them.
  const runId = crypto.randomUUID().slice(0, 8);
  let pendingBook: BronzeBookRow[] = [];
  const lastSnapshotAt = new Map<string, number>();
  let pending: RecordBatch = { bronze: [], silver: [], gaps: [], rejected: [] };
  const gaps: TradeGap[] = [];
  // Wakes the backfill worker when a gap arrives.
  let wake: () => void = () => {};
  // Set below: starts a commit now when none is running or waiting.
  let flushSoon: () => void = () => {};
  const take = (batch: RecordBatch) => {
    for (const r of batch.bronze) pending.bronze.push(r);
    for (const s of batch.silver) pending.silver.push(s);
    if (batch.bronze.length > 0) flushSoon();
    for (const r of batch.rejected) {
      log(
        `rejected ${r.row.symbol} trade ${r.row.tradeId}: ${r.error.message}`,
      );
    }
  };

  const ws = new WsConnection(options.wsUrl, {
    WebSocket: tapWebSocket(
      options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor),
      (text, socket) => {
        const receivedUs = wallNow() * 1000;
        const batch = recorder.onFrame(text, socket, receivedUs);
        if (books !== undefined) {
          const rows = books.onFrame(text, {
            stream: `${runId}:${socket}`,
            receivedUs,
            connectionId: recorder.connectionId(socket),
          });
          for (const row of rows) {
            pendingBook.push(row);
            if (row.status === "mismatch") {
              status.bookMismatches++;
              log(
                `book ${row.symbol} checksum mismatch at seq ${row.seq}: resubscribing`,
              );
            }
          }
        }
        if (batch.bronze.length === 0 && batch.gaps.length === 0) return;
        take(batch);
        for (const gap of batch.gaps) {
          status.gapsFound++;
          log(
            `gap ${gap.symbol} trade ids ${gap.fromId}..${gap.toId} (${
              gap.toId - gap.fromId + 1
            }): backfilling from REST Trades`,
          );
          gaps.push(gap);
        }
        if (gaps.length > 0) wake();
      },
    ),
    onListenerError: (error) => log(`listener error: ${String(error)}`),
  });
  ws.on("open", ({ reconnect }) => {
    status.wsState = "open";
    if (reconnect) {
      status.reconnects++;
      log("reconnected; resubscribing");
    }
  });
  ws.on("closed", ({ reason, willReconnect }) => {
    status.wsState = willReconnect ? "reconnecting" : "closed";
    log(`socket closed (${reason || "no reason"})`);
  });
  ws.on("stalled", ({ silentMs }) => log(`socket silent for ${silentMs} ms`));
  ws.on(
    "subscription_error",
    (e) => log(`subscription error ${e.symbol ?? ""}: ${e.error}`),
  );
  const subscriptions = [];
  if (channels.has("trade")) {
    subscriptions.push(ws.subscribe({
      channel: "trade",
      symbol: options.symbols.map((s) => s.exchangeSymbol),
      snapshot: true,
    }));
  }
  if (books !== undefined) {
    for (const s of options.symbols) {
      subscriptions.push(ws.subscribe({
        channel: "book",
        symbol: s.exchangeSymbol,
        depth: bookDepth,
        snapshot: true,
        priceDecimals: s.priceDecimals,
        qtyDecimals: s.volumeDecimals,
      }));
    }
  }
  ws.connect();

  // Writer: one commit at a time, and at most one waiting behind it. Trades
  // are committed as soon as the writer is free (the timer only covers
  // books and quiet spells): waiting for a tick added half a period to
  // every trade's latency, and ticks queued behind a slow commit added
  // more.
  let writing: Promise<void> = Promise.resolve();
  let waiting = 0;
  let failure: unknown;
  const flush = () => {
    waiting++;
    writing = writing.then(async () => {
      waiting--;
      const batch = pending;
      pending = { bronze: [], silver: [], gaps: [], rejected: [] };
      const nowUs = options.now() * 1000;
      if (books !== undefined) {
        const rows = pendingBook;
        pendingBook = [];
        const snapshots: BookSnapshotRow[] = [];
        const wall = wallNow();
        for (const symbol of books.symbols) {
          if (
            wall - (lastSnapshotAt.get(symbol) ?? -Infinity) < bookSnapshotMs
          ) {
            continue;
          }
          const snapshot = books.snapshot(symbol);
          if (snapshot === undefined) continue;
          snapshots.push(snapshot);
          lastSnapshotAt.set(symbol, wall);
        }
        // Published before the commit, as trades are (see log.ts).
        if (options.tradeLog !== undefined) {
          status.bookLogged +=
            (await options.tradeLog.publishBook(rows, snapshots)).stored;
        }
        const written = await store.writeBook(rows, snapshots);
        status.bookRows += written.rows;
        status.bookSnapshots += written.snapshots;
        if (rows.length > 0 && batch.bronze.length === 0) {
          await sampleMemory();
          status.commits++;
          status.lastCommitAtMs = wallNow();
          options.onStatus?.({ ...status });
        }
      }
      if (batch.bronze.length === 0) return;
      if (options.tradeLog !== undefined) {
        status.logged += (await options.tradeLog.publish(batch)).stored;
      }
      // Gold is built beside the writes (buildGold), not inside them.
      const result = await store.write(batch, nowUs, {
        silverUs: wallNow() * 1000,
        gold: false,
      });
      // The COMMIT is acknowledged: each WS trade's latency ends here.
      const ackUs = wallNow() * 1000;
      for (const s of batch.silver) {
        if (s.source === "ws") latencies.add((ackUs - s.receivedUs) / 1000);
      }
      // Sorting the window costs ≈ 0.5 ms: once a second is enough for a
      // status file written once a second (and once more at the end).
      if (ackUs / 1000 - latencySummarizedAt >= 1000) {
        latencySummarizedAt = ackUs / 1000;
        status.commitLatency = latencies.summary();
      }
      await sampleMemory();
      await checkpointIfDue();
      status.bronzeRows += result.bronzeInserted;
      status.silverRows += result.silverInserted;
      status.goldRows += result.goldBuilt;
      status.commits++;
      status.lastCommitAtMs = wallNow();
      status.rejectedRows = recorder.counts.rejectedRows;
      status.tradeFrames = recorder.counts.tradeFrames;
      options.onStatus?.({ ...status });
    }).catch((error) => {
      failure ??= error;
      log(`write failed, stopping: ${String(error)}`);
      stop.abort();
    });
    return writing;
  };
  // Gold: built on the store's own gold connection beside the trade
  // writes, one build at a time, so a closing minute never holds a commit
  // (or the flushes queued behind it) back. The store marks buckets dirty
  // after each trade commit, so a build that missed a trade redoes it.
  let gold: Promise<void> | undefined;
  const buildGold = () => {
    if (gold !== undefined || failure !== undefined || checkpointing) return;
    gold = store.flushGold(options.now() * 1000).then((built) => {
      status.goldRows += built;
    }).catch((error) => {
      failure ??= error;
      log(`gold build failed, stopping: ${String(error)}`);
      stop.abort();
    }).finally(() => {
      gold = undefined;
    });
  };
  // Set once the final flush is called: a frame or backfill page taken
  // after it must not start a write beside the stop's own statements on
  // the same connection (a CHECKPOINT inside a write's transaction fails).
  let closing = false;
  flushSoon = () => {
    if (waiting === 0 && failure === undefined && !closing) void flush();
  };
  const timer = setInterval(() => {
    if (waiting === 0) void flush();
    buildGold();
  }, flushMs);

  // Backfill worker: gaps in order, page by page.
  const backfills = (async () => {
    while (!signal.aborted || gaps.length > 0) {
      const gap = gaps.shift();
      if (gap === undefined) {
        if (signal.aborted) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
        continue;
      }
      const info = bySymbol.get(gap.symbol);
      if (info === undefined) continue;
      let cursor = backfillCursor(gap);
      status.backfill = { gap, fetched: 0, pages: 0 };
      let state: "more" | "done" | "exhausted" = "more";
      try {
        while (state === "more") {
          const page = await rest.trades(info.restPair, { since: cursor });
          const step = recorder.onBackfillPage(gap, page, {
            cursor,
            receivedUs: wallNow() * 1000,
          });
          take(step);
          status.backfill.fetched += step.silver.length;
          status.backfill.pages++;
          status.backfilledTrades += step.silver.length;
          state = step.state;
          cursor = step.next;
        }
      } catch (error) {
        log(`backfill ${gap.symbol} failed: ${String(error)}`);
        state = "exhausted";
      }
      if (state === "done") {
        status.gapsFilled++;
        log(
          `backfilled ${gap.symbol} ${gap.fromId}..${gap.toId} in ${status.backfill.pages} page(s)`,
        );
      } else {
        status.gapsUnfilledTotal++;
        status.gapsUnfilled.push(gap);
        if (status.gapsUnfilled.length > UNFILLED_GAPS_KEPT) {
          status.gapsUnfilled.shift();
        }
      }
      status.backfill = undefined;
    }
  })();

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  for (const sub of subscriptions) sub.release();
  ws.close();
  status.wsState = "closed";
  wake();
  await backfills;
  clearInterval(timer);
  closing = true;
  await flush();
  await gold;
  status.commitLatency = latencies.summary();
  if (failure !== undefined) {
    // Not a clean stop: no final gold, no recorded-until mark. What was
    // not committed is a gap the next run finds and backfills.
    options.onStatus?.({ ...status });
    throw failure;
  }
  const untilUs = options.now() * 1000;
  await store.flushGold(untilUs);
  await store.setRecordedUntil(untilUs);
  memorySampledAt = -Infinity;
  await sampleMemory();
  return status;
}
