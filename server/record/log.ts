/**
 * The scale-out log: the recorder publishes each bronze trade to NATS
 * JetStream (`nats-server -js`), one message per trade on
 * `bronze.kraken.<BASE>_<QUOTE>`, with the deterministic silver trade id
 * (`kraken:BTC/USD:81234567`) as the JetStream message id, so the stream
 * itself drops a replayed or re-backfilled trade within its duplicate
 * window (default one hour here; a loader downstream still dedupes by key
 * beyond it). With the `book` channel, each book frame entry goes on
 * `bronze.kraken.book.<SYMBOL>` (id `book:<stream>:<seq>`) and each
 * verified snapshot on `bronze.kraken.book_snapshot.<SYMBOL>`.
 *
 * Ordering with the embedded store: a batch is published (and acknowledged
 * by JetStream) before it is committed to DuckDB. A crash in between leaves
 * the store without the batch; the restart finds it as a gap, backfills it
 * and publishes the same ids again, which the stream drops. So the log gets
 * every stored trade at least once and, within the window, exactly once.
 *
 * A cluster: give every node's URL (`nats://a:4222,nats://b:4222`) and
 * `replicas: 3`. JetStream acknowledges a message once a quorum of the
 * stream's replicas has it, so a node's loss loses nothing acknowledged.
 * While a new stream leader is elected (a few seconds), publishes time out
 * or find no responder; each is retried with the same message id until its
 * ack arrives or `retryMs` runs out, so a message the dead leader stored but
 * never acknowledged is dropped as a duplicate rather than stored twice
 * (tests/server/record/cluster_test.ts kills the leader mid-publish).
 *
 * @module
 */

import {
  jetstream,
  JetStreamApiError,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import type { BronzeTrade } from "@krakked/core/record/bronze";
import type { BookSnapshotRow, BronzeBookRow } from "@krakked/core/record/book";
import type { SilverTrade } from "@krakked/core/record/silver";

/** Default stream name. */
export const DEFAULT_STREAM = "KRAKKED_BRONZE";

/** Options of {@linkcode TradeLog.connect}. */
export interface TradeLogOptions {
  /** Stream name (default {@linkcode DEFAULT_STREAM}). */
  stream?: string;
  /** JetStream duplicate window, ms (default one hour). */
  duplicateWindowMs?: number;
  /**
   * Replicas of a stream this creates (default 1; 3 on a three-node
   * cluster). An existing stream keeps its own.
   */
  replicas?: number;
  /** How long one publish attempt waits for its ack, ms (default 2,000). */
  ackTimeoutMs?: number;
  /**
   * How long a message is retried (same message id) after timeouts, no
   * responders or a lost connection before its publish fails, ms (default
   * 30,000: a leader election takes seconds).
   */
  retryMs?: number;
}

/** What one publish did. */
export interface PublishResult {
  /** Messages the stream stored. */
  stored: number;
  /** Messages the stream dropped as duplicates of an earlier message id. */
  duplicates: number;
}

/**
 * The subject of a symbol's bronze trades.
 *
 * @param exchange Exchange name.
 * @param symbol Canonical symbol (`BTC/USD`).
 * @returns e.g. `bronze.kraken.BTC_USD`.
 */
export function bronzeSubject(exchange: string, symbol: string): string {
  return `bronze.${exchange}.${subjectToken(symbol)}`;
}

function subjectToken(symbol: string): string {
  return symbol.replace(/[^A-Za-z0-9]/g, "_");
}

/** What a bronze subject carries (four tokens for books, three for trades). */
export type BronzeKind = "trade" | "book" | "book_snapshot";

/**
 * The subject of a symbol's book frames or book snapshots.
 *
 * @param exchange Exchange name.
 * @param kind `book` (frame entries) or `book_snapshot`.
 * @param symbol WS v2 symbol (`BTC/USD`).
 * @returns e.g. `bronze.kraken.book.BTC_USD`.
 */
export function bookSubject(
  exchange: string,
  kind: "book" | "book_snapshot",
  symbol: string,
): string {
  return `bronze.${exchange}.${kind}.${subjectToken(symbol)}`;
}

/**
 * What a message on a bronze subject is: trades are
 * `bronze.<exchange>.<SYMBOL>`, books `bronze.<exchange>.book.<SYMBOL>`
 * and `bronze.<exchange>.book_snapshot.<SYMBOL>`.
 *
 * @param subject The subject.
 * @returns The kind, or `undefined` for a subject of neither shape.
 */
export function bronzeKind(subject: string): BronzeKind | undefined {
  const tokens = subject.split(".");
  if (tokens[0] !== "bronze") return undefined;
  if (tokens.length === 3) return "trade";
  if (tokens.length === 4) {
    if (tokens[2] === "book") return "book";
    if (tokens[2] === "book_snapshot") return "book_snapshot";
  }
  return undefined;
}

/** A JetStream stream of bronze trades. */
export class TradeLog implements AsyncDisposable {
  readonly stream: string;
  #nc: NatsConnection;
  #js: JetStreamClient;
  #ackTimeoutMs: number;
  #retryMs: number;
  #retries = 0;

  private constructor(
    stream: string,
    nc: NatsConnection,
    options: TradeLogOptions,
  ) {
    this.stream = stream;
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 2_000;
    this.#retryMs = options.retryMs ?? 30_000;
  }

  /** Publish attempts repeated after a transient failure, since connect. */
  get retries(): number {
    return this.#retries;
  }

  /**
   * Connect and make sure the stream exists.
   *
   * @param url `nats://host:port`, or a cluster's nodes comma-separated
   *   (`nats://a:4222,nats://b:4222`); the client fails over between them
   *   (and to nodes the cluster announces) and reconnects without limit.
   * @param options Stream name, duplicate window, replicas, retry budget.
   * @returns The log; close it.
   * @throws {TypeError} When a URL is not `nats://`.
   * @throws {Error} When no server can be reached or has no JetStream.
   */
  static async connect(
    url: string,
    options: TradeLogOptions = {},
  ): Promise<TradeLog> {
    const servers = url.split(",").map((u) => {
      const parsed = new URL(u.trim());
      if (parsed.protocol !== "nats:" || parsed.host === "") {
        throw new TypeError(`Cannot use log URL "${url}": expected nats://`);
      }
      return parsed.host;
    });
    const nc = await connect({
      servers,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const stream = options.stream ?? DEFAULT_STREAM;
    try {
      const jsm = await jetstreamManager(nc);
      const window = (options.duplicateWindowMs ?? 3_600_000) * 1_000_000;
      try {
        await jsm.streams.info(stream);
      } catch {
        await jsm.streams.add({
          name: stream,
          subjects: ["bronze.>"],
          duplicate_window: window,
          num_replicas: options.replicas ?? 1,
        });
      }
    } catch (error) {
      await nc.close();
      throw error;
    }
    return new TradeLog(stream, nc, options);
  }

  /**
   * Publish a batch's trades (those silver could read), awaiting every
   * acknowledgement.
   *
   * @param batch Bronze rows and their silver rows.
   * @returns Stored and duplicate counts.
   * @throws {Error} When JetStream refuses a message, or does not
   *   acknowledge it within the retry budget.
   */
  async publish(
    batch: { bronze: readonly BronzeTrade[]; silver: readonly SilverTrade[] },
  ): Promise<PublishResult> {
    const bronzeOf = new Map<string, BronzeTrade>();
    for (const b of batch.bronze) {
      bronzeOf.set(`${b.symbol}\u0000${b.tradeId}\u0000${b.source}`, b);
    }
    const acks = batch.silver.map((s) => {
      const b = bronzeOf.get(
        `${s.original.symbol}\u0000${s.exchangeTradeId}\u0000${s.source}`,
      );
      const body = JSON.stringify({
        id: s.tradeId,
        symbol: b?.symbol ?? s.original.symbol,
        side: b?.side ?? s.original.side,
        price: b?.price ?? s.original.price,
        qty: b?.qty ?? s.original.qty,
        "ord_type": b?.ordType ?? s.original.ord_type,
        "trade_id": s.exchangeTradeId,
        timestamp: b?.timestamp ?? s.original.timestamp,
        "received_us": s.receivedUs,
        "connection_id": b?.connectionId ?? "",
        source: s.source,
        raw: b?.raw ?? "",
      });
      return this.#publishOne(
        bronzeSubject(s.exchange, s.symbol),
        body,
        s.tradeId,
      );
    });
    return tally(await Promise.all(acks));
  }

  /**
   * Publish book frame rows and snapshots (core's `BookRecorder`), awaiting
   * every acknowledgement: each frame entry as one message, message id
   * `book:<stream>:<seq>`, and each snapshot as one, message id
   * `book_snapshot:<symbol>:<stream>:<seq>`, so a republished row is
   * dropped by the stream like a trade.
   *
   * @param rows Bronze book rows.
   * @param snapshots Verified books copied at a sequence number.
   * @returns Stored and duplicate counts.
   * @throws {Error} When JetStream refuses a message, or does not
   *   acknowledge it within the retry budget.
   */
  async publishBook(
    rows: readonly BronzeBookRow[],
    snapshots: readonly BookSnapshotRow[] = [],
  ): Promise<PublishResult> {
    const acks = [
      ...rows.map((r) =>
        this.#publishOne(
          bookSubject("kraken", "book", r.symbol),
          JSON.stringify({
            seq: r.seq,
            symbol: r.symbol,
            type: r.type,
            checksum: r.checksum,
            timestamp: r.timestamp,
            "bid_levels": r.bidLevels,
            "ask_levels": r.askLevels,
            status: r.status,
            depth: r.depth,
            "received_us": r.receivedUs,
            "connection_id": r.connectionId,
            stream: r.stream,
            raw: r.raw,
          }),
          `book:${r.stream}:${r.seq}`,
        )
      ),
      ...snapshots.map((b) =>
        this.#publishOne(
          bookSubject("kraken", "book_snapshot", b.symbol),
          JSON.stringify({
            symbol: b.symbol,
            seq: b.seq,
            stream: b.stream,
            "taken_us": b.takenUs,
            depth: b.depth,
            checksum: b.checksum,
            bids: b.bids,
            asks: b.asks,
          }),
          `book_snapshot:${b.symbol}:${b.stream}:${b.seq}`,
        )
      ),
    ];
    return tally(await Promise.all(acks));
  }

  /**
   * Publish one message until acknowledged: a timeout, no responders (no
   * stream leader yet), a 5xx from JetStream or a lost connection is
   * retried with the same message id, so at most one copy is stored.
   */
  #publishOne(subject: string, body: string, msgID: string): Promise<PubAck> {
    return this.#retrying(
      () =>
        this.#js.publish(subject, body, {
          msgID,
          timeout: this.#ackTimeoutMs,
        }),
      `JetStream did not acknowledge ${msgID}`,
    );
  }

  /** Run a JetStream request, retrying transient failures within `retryMs`. */
  async #retrying<T>(request: () => Promise<T>, what: string): Promise<T> {
    const deadline = Date.now() + this.#retryMs;
    for (let attempt = 0;; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!isTransient(error) || this.#nc.isClosed()) throw error;
        if (Date.now() >= deadline) {
          throw new Error(`${what} within ${this.#retryMs} ms`, {
            cause: error,
          });
        }
        this.#retries++;
        await new Promise((r) =>
          setTimeout(r, Math.min(1_000, 50 * 2 ** Math.min(attempt, 5)))
        );
      }
    }
  }

  /**
   * Messages in the stream (retried like a publish while a leader is
   * elected).
   *
   * @returns The stream's message count.
   * @throws {Error} When JetStream does not answer within the retry budget.
   */
  async count(): Promise<number> {
    return await this.#retrying(async () => {
      const jsm = await jetstreamManager(this.#nc, {
        checkAPI: false,
        timeout: this.#ackTimeoutMs,
      });
      return (await jsm.streams.info(this.stream)).state.messages;
    }, `JetStream did not report stream ${this.stream}`);
  }

  /** Close the connection. */
  async close(): Promise<void> {
    await this.#nc.close();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Stored and duplicate counts of a publish's acknowledgements. */
function tally(acks: readonly PubAck[]): PublishResult {
  let duplicates = 0;
  for (const ack of acks) if (ack.duplicate) duplicates++;
  return { stored: acks.length - duplicates, duplicates };
}

/**
 * Whether a publish failure may pass: no ack in time, no responder (the
 * stream has no leader yet), JetStream's own 5xx (temporarily unavailable,
 * no quorum) or a connection lost mid-request. A 4xx (message too large, a
 * bad header) is the message's fault and is not retried.
 */
function isTransient(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code >= 500;
  return !(error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.InvalidArgumentError ||
    error instanceof errors.InvalidSubjectError ||
    error instanceof errors.PermissionViolationError ||
    error instanceof errors.AuthorizationError);
}
