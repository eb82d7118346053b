/**
 * The scale-out log: the recorder publishes each bronze trade to NATS
 * JetStream (`nats-server -js`), one message per trade on
 * `bronze.kraken.<BASE>_<QUOTE>`, with the deterministic silver trade id
 * (`kraken:BTC/USD:81234567`) as the JetStream message id, so the stream
 * itself drops a replayed or re-backfilled trade within its duplicate
 * window (default one hour here; a loader downstream still dedupes by key
 * beyond it).
 *
 * Ordering with the embedded store: a batch is published (and acknowledged
 * by JetStream) before it is committed to DuckDB. A crash in between leaves
 * the store without the batch; the restart finds it as a gap, backfills it
 * and publishes the same ids again, which the stream drops. So the log gets
 * every stored trade at least once and, within the window, exactly once.
 *
 * @module
 */

import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { BronzeTrade } from "@krakked/core/record/bronze";
import type { SilverTrade } from "@krakked/core/record/silver";

/** Default stream name. */
export const DEFAULT_STREAM = "KRAKKED_BRONZE";

/** Options of {@linkcode TradeLog.connect}. */
export interface TradeLogOptions {
  /** Stream name (default {@linkcode DEFAULT_STREAM}). */
  stream?: string;
  /** JetStream duplicate window, ms (default one hour). */
  duplicateWindowMs?: number;
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
  return `bronze.${exchange}.${symbol.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** A JetStream stream of bronze trades. */
export class TradeLog implements AsyncDisposable {
  readonly stream: string;
  #nc: NatsConnection;
  #js: JetStreamClient;

  private constructor(stream: string, nc: NatsConnection) {
    this.stream = stream;
    this.#nc = nc;
    this.#js = jetstream(nc);
  }

  /**
   * Connect and make sure the stream exists.
   *
   * @param url `nats://host:port`.
   * @param options Stream name and duplicate window.
   * @returns The log; close it.
   * @throws {Error} When the server cannot be reached or has no JetStream.
   */
  static async connect(
    url: string,
    options: TradeLogOptions = {},
  ): Promise<TradeLog> {
    const parsed = new URL(url);
    if (parsed.protocol !== "nats:") {
      throw new TypeError(`Cannot use log URL "${url}": expected nats://`);
    }
    const nc = await connect({ servers: parsed.host });
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
        });
      }
    } catch (error) {
      await nc.close();
      throw error;
    }
    return new TradeLog(stream, nc);
  }

  /**
   * Publish a batch's trades (those silver could read), awaiting every
   * acknowledgement.
   *
   * @param batch Bronze rows and their silver rows.
   * @returns Stored and duplicate counts.
   * @throws {Error} When JetStream does not acknowledge a message.
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
      return this.#js.publish(bronzeSubject(s.exchange, s.symbol), body, {
        msgID: s.tradeId,
      });
    });
    let stored = 0;
    let duplicates = 0;
    for (const ack of await Promise.all(acks)) {
      if (ack.duplicate) duplicates++;
      else stored++;
    }
    return { stored, duplicates };
  }

  /**
   * Messages in the stream.
   *
   * @returns The stream's message count.
   */
  async count(): Promise<number> {
    const jsm = await jetstreamManager(this.#nc);
    return (await jsm.streams.info(this.stream)).state.messages;
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
