/**
 * `krakked load`: the recorder's JetStream log (server/record/log.ts) into
 * ClickHouse, exactly once.
 *
 * A durable pull consumer (explicit acks) reads the bronze stream. The
 * messages are cut into batches of at most `batchSize` messages or
 * `maxWaitMs` after the first, in stream order, and each batch is inserted
 * into `bronze_trades_kraken` as one block with an
 * `insert_deduplication_token` made of the stream's identity and the batch's
 * stream sequences; the last message is acknowledged (which acknowledges
 * the batch) only after the insert returned. ClickHouse's materialized
 * views carry the block on to silver and gold.
 *
 * Replays cannot count twice:
 *
 * - a batch inserted but not acknowledged (a crash, a lost ack) comes back
 *   with the same sequences and token, and ClickHouse drops the block —
 *   in bronze and in every view fed from it;
 * - before inserting, the loader drops rows whose `(symbol, trade_id)` is
 *   already in bronze, so a redelivery cut into different batches, or a
 *   trade published again after JetStream's duplicate window, is skipped
 *   too (one loader per consumer; see docs/record/CLICKHOUSE.md).
 *
 * A message silver cannot read (core's `toSilver` rejects it) is
 * terminated and counted, never inserted: it would fail the silver view,
 * and with it every later batch.
 *
 * @module
 */

import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type BronzeSource } from "@krakked/core/record/bronze";
import { isBookFrameText } from "@krakked/core/record/book";
import { canonicalSymbol, toSilver } from "@krakked/core/record/silver";
import { type ClickHouseSink } from "./clickhouse.ts";
import { clickhouseSchemaSql, sqlString } from "./clickhouse_schema.ts";
import { bronzeKind, DEFAULT_STREAM, TradeLog } from "./log.ts";
import type { SymbolInfo } from "./store.ts";

/** Default durable consumer name. */
export const DEFAULT_DURABLE = "krakked_load";

/** Options of {@linkcode runLoader}. */
export interface LoadOptions {
  /** `nats://host:port` (or several, comma-separated). */
  natsUrl: string;
  /** The ClickHouse to write. */
  sink: ClickHouseSink;
  /** Stream (default {@linkcode DEFAULT_STREAM}). */
  stream?: string;
  /** Durable consumer name (default {@linkcode DEFAULT_DURABLE}). */
  durable?: string;
  /** Most messages in one insert (default 5,000). */
  batchSize?: number;
  /** Longest a batch waits for more messages after its first, ms (default 200). */
  maxWaitMs?: number;
  /** JetStream redelivers an unacknowledged message after this, ms (default 30,000). */
  ackWaitMs?: number;
  /** Pair precisions for gold's vwap, by exchange symbol (`BTC/USD`). */
  symbolInfo?: (exchangeSymbol: string) => SymbolInfo | undefined;
  /** Stops the loader after the batch in flight. */
  signal: AbortSignal;
  /** Status after every batch. */
  onStatus?: (status: LoadStatus) => void;
  /** A line for people (errors being retried, rejected messages). */
  log?: (line: string) => void;
  /**
   * Test hook: runs after a batch's insert and before its ack; throwing
   * here leaves the batch unacknowledged, as a crash there would.
   */
  beforeAck?: (batch: LoadBatch) => void | Promise<void>;
}

/** One batch as inserted. */
export interface LoadBatch {
  /** The deduplication token. */
  token: string;
  /** First and last stream sequence. */
  firstSeq: number;
  lastSeq: number;
  /** Messages in the batch. */
  messages: number;
  /** Rows inserted (messages minus already present and rejected). */
  inserted: number;
  /** Rows skipped: their key was already in bronze. */
  present: number;
  /** Messages terminated: silver cannot read them. */
  rejected: number;
  /** Bronze rows of the batch as inserted. */
  rows: BronzeRow[];
  /** Book frame rows of the batch as inserted. */
  bookRows: BookRow[];
  /** Book snapshots of the batch as inserted. */
  bookSnapshots: BookSnapshotLoadRow[];
}

/** The loader's figures. */
export interface LoadStatus {
  /** Batches inserted and acknowledged. */
  batches: number;
  /** Messages read. */
  messages: number;
  /** Rows inserted into bronze (trades, book frames and book snapshots). */
  inserted: number;
  /** Of those, book frame rows. */
  bookRows: number;
  /** Of those, book snapshots. */
  bookSnapshots: number;
  /** Rows skipped as already present. */
  present: number;
  /** Messages rejected. */
  rejected: number;
  /** Messages that were redeliveries. */
  redelivered: number;
  /** Inserts that failed and were retried. */
  retries: number;
  /** Last acknowledged stream sequence. */
  lastSeq: number;
  /** Messages the consumer still has to deliver (refreshed every few seconds). */
  pending: number;
  /** The last insert's duration, ms. */
  lastInsertMs: number;
}

/** A bronze row as `bronze_trades_kraken` takes it (JSONEachRow). */
export interface BronzeRow {
  symbol: string;
  side: string;
  price: string;
  qty: string;
  "ord_type": string;
  "trade_id": number;
  timestamp: string;
  /** µs since the epoch (DateTime64(6) ticks). */
  "received_at": number;
  "connection_id": string;
  source: string;
  raw: string;
  "stream_seq": number;
}

/** A book frame row as `bronze_book_kraken` takes it (JSONEachRow). */
export interface BookRow {
  seq: number;
  symbol: string;
  type: string;
  checksum: number;
  timestamp: string;
  "bid_levels": number;
  "ask_levels": number;
  status: string;
  depth: number;
  /** µs since the epoch. */
  "received_at": number;
  "connection_id": string;
  stream: string;
  raw: string;
  "stream_seq": number;
}

/** A book snapshot as `book_snapshots` takes it (JSONEachRow). */
export interface BookSnapshotLoadRow {
  symbol: string;
  seq: number;
  stream: string;
  /** µs since the epoch. */
  "taken_at": number;
  depth: number;
  checksum: number;
  bids: { price: string; qty: string }[];
  asks: { price: string; qty: string }[];
  "stream_seq": number;
}

const DEPTHS = new Set([10, 25, 100, 500, 1000]);

/** A message body as an object, or `undefined` when it is not one. */
function objectOf(data: string): Record<string, unknown> | undefined {
  try {
    const m = JSON.parse(data) as unknown;
    return typeof m === "object" && m !== null && !Array.isArray(m)
      ? m as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function isCount(value: unknown, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0 && value <= max;
}

function levelsOf(
  value: unknown,
): { price: string; qty: string }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: { price: string; qty: string }[] = [];
  for (const l of value) {
    if (
      typeof l !== "object" || l === null ||
      typeof (l as { price?: unknown }).price !== "string" ||
      typeof (l as { qty?: unknown }).qty !== "string"
    ) return undefined;
    out.push({
      price: (l as { price: string }).price,
      qty: (l as { qty: string }).qty,
    });
  }
  return out;
}

/**
 * A book frame row of one log message (`TradeLog.publishBook`), or why it
 * cannot be loaded. Pure.
 *
 * @param data The message body.
 * @param seq Its stream sequence.
 * @returns The row, or the reason it is rejected.
 */
export function bookRowOf(
  data: string,
  seq: number,
): { row: BookRow } | { reason: string } {
  const m = objectOf(data);
  if (m === undefined) return { reason: "not a JSON object" };
  const str = (k: string) => typeof m[k] === "string" ? m[k] as string : "";
  if (!isCount(m.seq) || m.seq === 0) return { reason: "no seq" };
  if (str("symbol") === "" || str("stream") === "") {
    return { reason: "no symbol or stream" };
  }
  if (m.type !== "snapshot" && m.type !== "update") {
    return { reason: "type is neither snapshot nor update" };
  }
  if (!isCount(m.checksum, 0xffffffff)) return { reason: "no checksum" };
  if (!DEPTHS.has(m.depth as number)) return { reason: "not a v2 depth" };
  if (!isCount(m.received_us)) return { reason: "no received_us" };
  if (!["applied", "mismatch", "ignored"].includes(str("status"))) {
    return { reason: "unknown status" };
  }
  if (!isCount(m.bid_levels) || !isCount(m.ask_levels)) {
    return { reason: "no level counts" };
  }
  if (!isBookFrameText(str("raw"))) return { reason: "no book frame" };
  return {
    row: {
      seq: m.seq as number,
      symbol: str("symbol"),
      type: m.type,
      checksum: m.checksum as number,
      timestamp: str("timestamp"),
      "bid_levels": m.bid_levels as number,
      "ask_levels": m.ask_levels as number,
      status: str("status"),
      depth: m.depth as number,
      "received_at": m.received_us as number,
      "connection_id": str("connection_id"),
      stream: str("stream"),
      raw: str("raw"),
      "stream_seq": seq,
    },
  };
}

/**
 * A book snapshot of one log message (`TradeLog.publishBook`), or why it
 * cannot be loaded. Pure.
 *
 * @param data The message body.
 * @param seq Its stream sequence.
 * @returns The row, or the reason it is rejected.
 */
export function bookSnapshotRowOf(
  data: string,
  seq: number,
): { row: BookSnapshotLoadRow } | { reason: string } {
  const m = objectOf(data);
  if (m === undefined) return { reason: "not a JSON object" };
  if (!isCount(m.seq) || m.seq === 0) return { reason: "no seq" };
  if (typeof m.symbol !== "string" || m.symbol === "") {
    return { reason: "no symbol" };
  }
  if (typeof m.stream !== "string") return { reason: "no stream" };
  if (!isCount(m.taken_us)) return { reason: "no taken_us" };
  if (!DEPTHS.has(m.depth as number)) return { reason: "not a v2 depth" };
  if (!isCount(m.checksum, 0xffffffff)) return { reason: "no checksum" };
  const bids = levelsOf(m.bids);
  const asks = levelsOf(m.asks);
  if (bids === undefined || asks === undefined) {
    return { reason: "levels are not {price, qty} text" };
  }
  return {
    row: {
      symbol: m.symbol,
      seq: m.seq as number,
      stream: m.stream,
      "taken_at": m.taken_us as number,
      depth: m.depth as number,
      checksum: m.checksum as number,
      bids,
      asks,
      "stream_seq": seq,
    },
  };
}

/**
 * A bronze row of one log message, or why it cannot be loaded. Pure.
 *
 * @param data The message body (server/record/log.ts's JSON).
 * @param seq Its stream sequence.
 * @returns The row, or the reason it is rejected.
 */
export function bronzeRowOf(
  data: string,
  seq: number,
): { row: BronzeRow } | { reason: string } {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return { reason: "not JSON" };
  }
  const str = (k: string) => typeof m[k] === "string" ? m[k] as string : "";
  const tradeId = m.trade_id;
  const receivedUs = m.received_us;
  if (typeof tradeId !== "number" || !Number.isSafeInteger(tradeId)) {
    return { reason: "no trade_id" };
  }
  if (typeof receivedUs !== "number" || !Number.isSafeInteger(receivedUs)) {
    return { reason: "no received_us" };
  }
  const source: BronzeSource = str("source") === "rest_backfill"
    ? "rest_backfill"
    : "ws";
  if (str("source") !== source) return { reason: "unknown source" };
  try {
    // The silver view normalizes as toSilver does; what toSilver rejects
    // would fail the view (and the whole insert).
    toSilver({
      symbol: str("symbol"),
      side: str("side"),
      price: str("price"),
      qty: str("qty"),
      ordType: str("ord_type"),
      tradeId,
      timestamp: str("timestamp"),
      receivedUs,
      connectionId: str("connection_id"),
      source,
      raw: "",
    });
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
  return {
    row: {
      symbol: str("symbol"),
      side: str("side"),
      price: str("price"),
      qty: str("qty"),
      "ord_type": str("ord_type"),
      "trade_id": tradeId,
      timestamp: str("timestamp"),
      "received_at": receivedUs,
      "connection_id": str("connection_id"),
      source,
      raw: str("raw"),
      "stream_seq": seq,
    },
  };
}

/**
 * The deduplication token of a batch: the stream's identity (name and
 * creation time, so a re-created stream's sequences never collide with
 * the old one's) and the batch's sequences (a range when contiguous, else
 * the range and a hash of the list). Pure.
 *
 * @param streamId `<name>@<created>`.
 * @param seqs The batch's stream sequences, in order.
 * @returns The token.
 */
export function batchToken(streamId: string, seqs: readonly number[]): string {
  const first = seqs[0] ?? 0;
  const last = seqs[seqs.length - 1] ?? 0;
  let contiguous = true;
  let h = 0x811c9dc5;
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== first + i) contiguous = false;
    const s = String(seqs[i]);
    for (let j = 0; j < s.length; j++) {
      h ^= s.charCodeAt(j);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h = Math.imul(h ^ 44, 0x01000193) >>> 0;
  }
  const range = `${streamId}:${first}-${last}`;
  return contiguous ? range : `${range}:${seqs.length}:${h.toString(16)}`;
}

/**
 * Create the tables and views when missing (idempotent).
 *
 * @param sink The ClickHouse.
 */
export async function applyClickhouseSchema(
  sink: ClickHouseSink,
): Promise<void> {
  for (const sql of clickhouseSchemaSql(sink.database)) await sink.exec(sql);
}

function natsServers(url: string): string[] {
  return url.split(",").map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u.trim());
    } catch {
      throw new TypeError(`Cannot use log URL "${url}": expected nats://`);
    }
    if (parsed.protocol !== "nats:" || parsed.host === "") {
      throw new TypeError(`Cannot use log URL "${url}": expected nats://`);
    }
    return parsed.host;
  });
}

const TIMEOUT = Symbol("timeout");
const decoder = new TextDecoder();

function later(
  ms: number,
): { promise: Promise<typeof TIMEOUT>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<typeof TIMEOUT>((resolve) => {
    id = setTimeout(() => resolve(TIMEOUT), Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(id) };
}

/**
 * Load until `signal` aborts: consume, insert, acknowledge.
 *
 * @param options Where from, where to, batching and callbacks.
 * @returns The final figures.
 * @throws {TypeError} For a bad NATS URL.
 * @throws {Error} When NATS cannot be reached, or a ClickHouse statement of
 *   the set-up fails (inserts are retried until stopped).
 */
export async function runLoader(options: LoadOptions): Promise<LoadStatus> {
  const servers = natsServers(options.natsUrl);
  const stream = options.stream ?? DEFAULT_STREAM;
  const durable = options.durable ?? DEFAULT_DURABLE;
  const batchSize = options.batchSize ?? 5_000;
  const maxWaitMs = options.maxWaitMs ?? 200;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const log = options.log ?? (() => {});
  const { sink, signal } = options;
  const db = sink.database;

  // The stream as the recorder creates it (subjects, duplicate window).
  await (await TradeLog.connect(options.natsUrl, { stream })).close();
  await applyClickhouseSchema(sink);

  const nc: NatsConnection = await connect({
    servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const status: LoadStatus = {
    batches: 0,
    messages: 0,
    inserted: 0,
    bookRows: 0,
    bookSnapshots: 0,
    present: 0,
    rejected: 0,
    redelivered: 0,
    retries: 0,
    lastSeq: 0,
    pending: 0,
    lastInsertMs: 0,
  };
  let streamIdValue = "";
  const registered = new Set<string>();
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    streamIdValue = `${stream}@${info.created}`;
    try {
      await jsm.consumers.info(stream, durable);
    } catch {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: ackWaitMs * 1_000_000,
        max_ack_pending: Math.max(10_000, batchSize * 4),
      });
    }
    const consumer = await jetstream(nc).consumers.get(stream, durable);
    status.pending = (await consumer.info()).num_pending;

    for (
      const r of await sink.query(
        `SELECT exchange_symbol FROM ${db}.record_symbols`,
      )
    ) registered.add(String(r.exchange_symbol));

    const messages = await consumer.consume({
      max_messages: Math.max(batchSize, 100),
    });
    const onAbort = () => messages.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    const iterator = messages[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<JsMsg>> | undefined;
    let lastPendingCheck = Date.now();
    try {
      while (!signal.aborted) {
        next ??= iterator.next();
        const first = await next;
        next = undefined;
        if (first.done) {
          if (signal.aborted) break;
          throw new Error(`JetStream consumer ${durable} stopped delivering`);
        }
        const batch: JsMsg[] = [first.value];
        const deadline = Date.now() + maxWaitMs;
        while (batch.length < batchSize && !signal.aborted) {
          const timer = later(deadline - Date.now());
          next ??= iterator.next();
          const r = await Promise.race([next, timer.promise]);
          timer.cancel();
          if (r === TIMEOUT) break;
          next = undefined;
          if (r.done) break;
          batch.push(r.value);
        }
        await loadBatch(batch);
        if (Date.now() - lastPendingCheck > 2_000) {
          lastPendingCheck = Date.now();
          try {
            status.pending = (await consumer.info(true)).num_pending;
          } catch { /* figures only */ }
        }
        options.onStatus?.({ ...status });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      messages.stop();
    }
  } finally {
    await nc.close();
  }
  return status;

  async function loadBatch(batch: JsMsg[]): Promise<void> {
    const seqs = batch.map((m) => m.seq);
    const token = batchToken(streamIdValue, seqs);
    const rows: BronzeRow[] = [];
    const books: BookRow[] = [];
    const snapshots: BookSnapshotLoadRow[] = [];
    let rejected = 0;
    const seen = new Set<string>();
    const reject = (m: JsMsg, reason: string) => {
      rejected++;
      log(`rejected stream seq ${m.seq}: ${reason}`);
    };
    for (const m of batch) {
      if (m.redelivered) status.redelivered++;
      const kind = bronzeKind(m.subject);
      const data = decoder.decode(m.data);
      if (kind === "book") {
        const r = bookRowOf(data, m.seq);
        if ("reason" in r) reject(m, r.reason);
        else if (!seen.has(bookKey(r.row))) {
          seen.add(bookKey(r.row));
          books.push(r.row);
        }
        continue;
      }
      if (kind === "book_snapshot") {
        const r = bookSnapshotRowOf(data, m.seq);
        if ("reason" in r) reject(m, r.reason);
        else if (!seen.has(snapshotKey(r.row))) {
          seen.add(snapshotKey(r.row));
          snapshots.push(r.row);
        }
        continue;
      }
      if (kind === undefined) {
        reject(m, `subject ${m.subject} is not a bronze subject`);
        continue;
      }
      const r = bronzeRowOf(data, m.seq);
      if ("reason" in r) {
        reject(m, r.reason);
        continue;
      }
      const key = `${r.row.symbol}\u0000${r.row.trade_id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push(r.row);
    }
    let delay = 500;
    for (;;) {
      try {
        const t0 = performance.now();
        await registerSymbols(rows);
        const fresh = await withoutPresent(rows);
        await sink.insert(`${db}.bronze_trades_kraken`, fresh, token);
        // Each table remembers its own tokens: a replayed batch is dropped
        // in each, whichever inserts had happened before a crash.
        const freshBooks = await withoutPresentBooks(
          "bronze_book_kraken",
          books,
          bookKey,
        );
        if (freshBooks.length > 0) {
          await sink.insert(`${db}.bronze_book_kraken`, freshBooks, token);
        }
        const freshSnapshots = await withoutPresentBooks(
          "book_snapshots",
          snapshots,
          snapshotKey,
        );
        if (freshSnapshots.length > 0) {
          await sink.insert(`${db}.book_snapshots`, freshSnapshots, token);
        }
        status.lastInsertMs = Math.round(performance.now() - t0);
        const inserted = fresh.length + freshBooks.length +
          freshSnapshots.length;
        const done: LoadBatch = {
          token,
          firstSeq: seqs[0]!,
          lastSeq: seqs[seqs.length - 1]!,
          messages: batch.length,
          inserted,
          present: batch.length - rejected - inserted,
          rejected,
          rows: fresh,
          bookRows: freshBooks,
          bookSnapshots: freshSnapshots,
        };
        await options.beforeAck?.(done);
        // Rejected messages are acknowledged too (they are counted). Acks
        // go out in order on one connection; the last one is confirmed.
        for (let i = 0; i < batch.length - 1; i++) batch[i]!.ack();
        await batch[batch.length - 1]!.ackAck();
        status.batches++;
        status.messages += batch.length;
        status.inserted += done.inserted;
        status.bookRows += freshBooks.length;
        status.bookSnapshots += freshSnapshots.length;
        status.present += done.present;
        status.rejected += rejected;
        status.lastSeq = Math.max(status.lastSeq, done.lastSeq);
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        status.retries++;
        log(
          `batch ${seqs[0]}..${
            seqs[seqs.length - 1]
          } not loaded, retrying in ${delay} ms: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
        try {
          // Hold the batch: no redelivery while it is being retried.
          for (const m of batch) m.working();
        } catch { /* the connection is down; redelivery is harmless */ }
        const timer = later(delay);
        await timer.promise;
        delay = Math.min(delay * 2, 15_000);
      }
    }
  }

  /** Book rows (or snapshots) whose key is not stored yet. */
  async function withoutPresentBooks<
    R extends { symbol: string; seq: number; stream: string },
  >(
    table: string,
    rows: R[],
    key: (row: R) => string,
  ): Promise<R[]> {
    if (rows.length === 0) return rows;
    const ranges = new Map<string, { min: number; max: number }>();
    for (const r of rows) {
      const range = ranges.get(r.symbol);
      if (range === undefined) {
        ranges.set(r.symbol, { min: r.seq, max: r.seq });
      } else {
        range.min = Math.min(range.min, r.seq);
        range.max = Math.max(range.max, r.seq);
      }
    }
    const where = [...ranges].map(([symbol, { min, max }]) =>
      `(symbol = ${sqlString(symbol)} AND seq BETWEEN ${min} AND ${max})`
    ).join(" OR ");
    const present = new Set<string>();
    for (
      const r of await sink.query(
        `SELECT DISTINCT symbol, seq, stream FROM ${db}.${table} WHERE ${where}`,
      )
    ) {
      present.add(
        key({
          symbol: String(r.symbol),
          seq: Number(r.seq),
          stream: String(r.stream),
        } as R),
      );
    }
    if (present.size === 0) return rows;
    return rows.filter((r) => !present.has(key(r)));
  }

  async function registerSymbols(rows: readonly BronzeRow[]): Promise<void> {
    if (options.symbolInfo === undefined) return;
    const fresh: SymbolInfo[] = [];
    for (const r of rows) {
      if (registered.has(r.symbol)) continue;
      registered.add(r.symbol);
      const info = options.symbolInfo(r.symbol);
      if (info !== undefined) fresh.push(info);
    }
    if (fresh.length === 0) return;
    await sink.insert(
      `${db}.record_symbols`,
      fresh.map((s) => ({
        exchange: s.exchange,
        symbol: canonicalSymbol(s.symbol),
        "exchange_symbol": s.exchangeSymbol,
        "rest_pair": s.restPair,
        "price_decimals": s.priceDecimals,
        "volume_decimals": s.volumeDecimals,
      })),
      `symbols:${fresh.map((s) => s.exchangeSymbol).join(",")}`,
    );
  }

  async function withoutPresent(rows: BronzeRow[]): Promise<BronzeRow[]> {
    if (rows.length === 0) return rows;
    const ranges = new Map<string, { min: number; max: number }>();
    for (const r of rows) {
      const range = ranges.get(r.symbol);
      if (range === undefined) {
        ranges.set(r.symbol, { min: r.trade_id, max: r.trade_id });
      } else {
        range.min = Math.min(range.min, r.trade_id);
        range.max = Math.max(range.max, r.trade_id);
      }
    }
    const where = [...ranges].map(([symbol, { min, max }]) =>
      `(symbol = ${sqlString(symbol)} AND trade_id BETWEEN ${min} AND ${max})`
    ).join(" OR ");
    const present = new Set<string>();
    for (
      const r of await sink.query(
        `SELECT DISTINCT symbol, trade_id FROM ${db}.bronze_trades_kraken WHERE ${where}`,
      )
    ) present.add(`${String(r.symbol)}\u0000${String(r.trade_id)}`);
    if (present.size === 0) return rows;
    return rows.filter((r) => !present.has(`${r.symbol}\u0000${r.trade_id}`));
  }
}

/** A book frame row's key (a recorder's seq, on one of its streams). */
function bookKey(r: { symbol: string; seq: number; stream: string }): string {
  return `${r.stream}\u0000${r.seq}`;
}

/** A book snapshot's key. */
function snapshotKey(
  r: { symbol: string; seq: number; stream: string },
): string {
  return `${r.symbol}\u0000${r.stream}\u0000${r.seq}`;
}
