/**
 * Coalesces market updates into batches for the page: latest value per key,
 * at most one batch per tick (~16 ms, one animation frame), and at most one
 * batch in flight until the page acknowledges it. A busy market therefore
 * costs the main thread one small message per frame whatever the frame rate
 * of the exchange, and a page that stops drawing (hidden tab) stops the flow
 * without losing the newest values.
 *
 * Values may be given as thunks, evaluated once at flush time, so expensive
 * views (a 25-level book) are built once per frame, not once per update.
 *
 * @module
 */

import {
  type CancelTimer,
  type SetTimer,
  systemClock,
} from "@krakked/core/clock";
import type {
  AccountUpdate,
  BookView,
  HistoryChunk,
  LiveCandleView,
  Notice,
  ProgressView,
  StatusView,
  TickerView,
  TradeView,
  WorkerBatch,
} from "./protocol.ts";

/** A value, or a function computing it at flush time. */
export type Lazy<T> = T | (() => T | undefined);

/** Options of {@linkcode BatchCoalescer}. */
export interface BatchCoalescerOptions {
  /** Timer; defaults to `systemClock.setTimer`. */
  setTimer?: SetTimer;
  /** Delay between a change and its flush (default 16 ms: one frame at 60 Hz). */
  tickMs?: number;
  /** Most trades kept per batch, newest win (default 100). */
  maxTrades?: number;
  /** Most notices kept per batch (default 20). */
  maxNotices?: number;
}

function resolve<T>(value: Lazy<T>): T | undefined {
  return typeof value === "function" ? (value as () => T | undefined)() : value;
}

/**
 * Collects updates and sends one {@linkcode WorkerBatch} per tick.
 *
 * @example Two ticker updates, one batch
 * ```ts
 * import { BatchCoalescer } from "./batch_coalescer.ts";
 * const sent: unknown[] = [];
 * const c = new BatchCoalescer((b) => sent.push(b));
 * c.ticker("BTC/USD", { symbol: "BTC/USD", last: 1, updatedAtMs: 0 });
 * c.ticker("BTC/USD", { symbol: "BTC/USD", last: 2, updatedAtMs: 1 });
 * c.flush(); // one batch with last = 2
 * c.close();
 * ```
 */
export class BatchCoalescer {
  #send: (batch: WorkerBatch) => void;
  #setTimer: SetTimer;
  #tickMs: number;
  #maxTrades: number;
  #maxNotices: number;

  #tickers = new Map<string, Lazy<TickerView>>();
  #book: Lazy<BookView> | undefined;
  #trades: TradeView[] = [];
  #history: HistoryChunk[] = [];
  #liveCandle: Lazy<LiveCandleView> | undefined;
  #progress: ProgressView | undefined;
  #status: Lazy<StatusView> | undefined;
  #account: Lazy<AccountUpdate> | undefined;
  #notices: Notice[] = [];

  #seq = 0;
  #awaitingAck: number | undefined;
  #cancelTimer: CancelTimer | undefined;
  #closed = false;
  #sent = 0;

  /**
   * Create a coalescer.
   *
   * @param send Posts a batch to the page.
   * @param options Timer, tick length and caps.
   */
  constructor(
    send: (batch: WorkerBatch) => void,
    options: BatchCoalescerOptions = {},
  ) {
    this.#send = send;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#tickMs = options.tickMs ?? 16;
    this.#maxTrades = options.maxTrades ?? 100;
    this.#maxNotices = options.maxNotices ?? 20;
  }

  /** Batches sent so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Whether a batch waits for the page's acknowledgement. */
  get awaitingAck(): boolean {
    return this.#awaitingAck !== undefined;
  }

  /**
   * Set the latest ticker of a symbol.
   *
   * @param symbol WS v2 symbol (the key).
   * @param view The row, or a thunk building it at flush time.
   */
  ticker(symbol: string, view: Lazy<TickerView>): void {
    this.#tickers.set(symbol, view);
    this.#dirty();
  }

  /**
   * Set the latest book.
   *
   * @param view The book, or a thunk building it at flush time.
   */
  book(view: Lazy<BookView>): void {
    this.#book = view;
    this.#dirty();
  }

  /**
   * Append trades (oldest first); only the newest `maxTrades` are kept.
   *
   * @param trades New trades.
   */
  trades(trades: readonly TradeView[]): void {
    if (trades.length === 0) return;
    this.#trades.push(...trades);
    if (this.#trades.length > this.#maxTrades) {
      this.#trades.splice(0, this.#trades.length - this.#maxTrades);
    }
    this.#dirty();
  }

  /**
   * Append a history replacement. A later chunk for the same series
   * supersedes an earlier one still waiting.
   *
   * @param chunk The chunk.
   */
  history(chunk: HistoryChunk): void {
    this.#history = this.#history.filter((h) =>
      h.pair !== chunk.pair || h.timeframe !== chunk.timeframe
    );
    this.#history.push(chunk);
    this.#dirty();
  }

  /**
   * Set the latest forming candle.
   *
   * @param view The candle, or a thunk building it at flush time.
   */
  liveCandle(view: Lazy<LiveCandleView>): void {
    this.#liveCandle = view;
    this.#dirty();
  }

  /**
   * Set the latest backfill progress.
   *
   * @param view The progress.
   */
  progress(view: ProgressView): void {
    this.#progress = view;
    this.#dirty();
  }

  /**
   * Set the latest status.
   *
   * @param view The status, or a thunk building it at flush time.
   */
  status(view: Lazy<StatusView>): void {
    this.#status = view;
    this.#dirty();
  }

  /**
   * Set the latest account state.
   *
   * @param view The account, or a thunk building it at flush time.
   */
  account(view: Lazy<AccountUpdate>): void {
    this.#account = view;
    this.#dirty();
  }

  /**
   * Append a notice (capped).
   *
   * @param notice The notice.
   */
  notice(notice: Notice): void {
    if (this.#notices.length < this.#maxNotices) this.#notices.push(notice);
    this.#dirty();
  }

  /**
   * The page applied batch `seq`: the next one may go.
   *
   * @param seq The acknowledged batch number.
   */
  ack(seq: number): void {
    if (this.#awaitingAck === undefined || seq < this.#awaitingAck) return;
    this.#awaitingAck = undefined;
    if (this.#hasData()) this.#arm();
  }

  /**
   * Forget a pending acknowledgement (e.g. the page reloaded its side).
   */
  resetAck(): void {
    this.#awaitingAck = undefined;
    if (this.#hasData()) this.#arm();
  }

  /**
   * Send what is pending now, unless a batch awaits its acknowledgement.
   *
   * @returns Whether a batch was sent.
   */
  flush(): boolean {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#closed || this.#awaitingAck !== undefined || !this.#hasData()) {
      return false;
    }
    const tickers: TickerView[] = [];
    for (const value of this.#tickers.values()) {
      const view = resolve(value);
      if (view !== undefined) tickers.push(view);
    }
    const batch: WorkerBatch = {
      kind: "batch",
      seq: ++this.#seq,
      tickers,
      trades: this.#trades,
      history: this.#history,
      notices: this.#notices,
    };
    const book = this.#book === undefined ? undefined : resolve(this.#book);
    if (book !== undefined) batch.book = book;
    const live = this.#liveCandle === undefined
      ? undefined
      : resolve(this.#liveCandle);
    if (live !== undefined) batch.liveCandle = live;
    if (this.#progress !== undefined) batch.progress = this.#progress;
    const status = this.#status === undefined
      ? undefined
      : resolve(this.#status);
    if (status !== undefined) batch.status = status;
    const account = this.#account === undefined
      ? undefined
      : resolve(this.#account);
    if (account !== undefined) batch.account = account;
    this.#tickers = new Map();
    this.#book = undefined;
    this.#trades = [];
    this.#history = [];
    this.#liveCandle = undefined;
    this.#progress = undefined;
    this.#status = undefined;
    this.#account = undefined;
    this.#notices = [];
    this.#awaitingAck = batch.seq;
    this.#sent++;
    this.#send(batch);
    return true;
  }

  /** Stop: cancel the timer and send nothing more. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #hasData(): boolean {
    return this.#tickers.size > 0 || this.#book !== undefined ||
      this.#trades.length > 0 || this.#history.length > 0 ||
      this.#liveCandle !== undefined || this.#progress !== undefined ||
      this.#status !== undefined || this.#account !== undefined ||
      this.#notices.length > 0;
  }

  #dirty(): void {
    if (this.#awaitingAck === undefined) this.#arm();
  }

  #arm(): void {
    if (this.#closed || this.#cancelTimer !== undefined) return;
    this.#cancelTimer = this.#setTimer(() => {
      this.#cancelTimer = undefined;
      this.flush();
    }, this.#tickMs);
  }
}
