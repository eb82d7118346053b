/**
 * The private `executions` and `balances` channels (WS_V2.md §4.1–§4.2) on
 * the authenticated session, with sequence checking and REST resync.
 *
 * Each subscription numbers its messages (`sequence`, +1 per message,
 * restarting with every subscription). A message older than expected is a
 * duplicate and dropped; a jump means messages were lost, so the stream
 * reports a `gap` and resyncs from REST (`OpenOrders`, `ClosedOrders`,
 * `Balance`). A reconnect (which fetches a fresh token and resubscribes)
 * resyncs too: orders that closed while the socket was down are absent from
 * the new snapshot.
 *
 * Reports are normalised for the lifecycle machine: numbers arrive as exact
 * decimal text (the WS parser keeps digits), and the integer fields
 * `order_userref` and `trade_id` become numbers again.
 *
 * @module
 */

import {
  callListeners,
  type ListenerErrorHandler,
  rethrowLater,
} from "../listeners.ts";
import { record } from "../_record.ts";
import { type Now, systemClock } from "../clock.ts";
import type { OrderInfo } from "../rest/types.ts";
import type { WsSubscription } from "../ws/connection.ts";
import type { ExecutionReport } from "./lifecycle.ts";
import type { PrivateCaller } from "./rest_transport.ts";
import type { PrivateWsSession } from "./ws_session.ts";

/** The private channels this stream handles. */
export type PrivateChannel = "executions" | "balances";

/** One `balances` row: a snapshot balance or an update's ledger entry. */
export interface BalanceRow {
  /** Asset symbol (`BTC`, `USD`). */
  asset: string;
  /** The balance after this row, decimal text. */
  balance: string;
  /** Signed change (updates only). */
  amount?: string;
  /** Ledger type (updates only), e.g. `trade`. */
  type?: string;
  /** Ledger id (updates only). */
  ledgerId?: string;
  /** Trade id behind a trade entry (updates only). */
  refId?: string;
  /**
   * Wallet of a ledger entry (updates only), `spot` or `earn`
   * (WS_V2.md §4.2): an earn entry does not move the spot total.
   */
  walletType?: string;
}

/** What a REST resync found. */
export interface ResyncResult {
  /** Why it ran. */
  reason: "gap" | "reconnect" | "manual";
  /** `OpenOrders().open`. */
  open: Record<string, OrderInfo>;
  /** `ClosedOrders().closed` (the newest page since the window start). */
  closed: Record<string, OrderInfo>;
  /** `Balance()` by asset key, when balances are followed. */
  balances: Record<string, string> | null;
  /** When it finished, ms. */
  atMs: number;
}

/** What the stream reports. */
export type PrivateStreamEvent =
  | {
    type: "executions";
    kind: "snapshot" | "update";
    reports: ExecutionReport[];
    sequence: number | undefined;
    atMs: number;
  }
  | {
    type: "balances";
    kind: "snapshot" | "update";
    rows: BalanceRow[];
    sequence: number | undefined;
    atMs: number;
  }
  | {
    type: "gap";
    channel: PrivateChannel;
    expected: number;
    received: number;
    atMs: number;
  }
  | { type: "duplicate"; channel: PrivateChannel; sequence: number }
  | { type: "resync"; result: ResyncResult }
  | { type: "resync_failed"; reason: ResyncResult["reason"]; message: string };

/** Options of {@linkcode PrivateStream}. */
export interface PrivateStreamOptions {
  /** REST reads for resyncs (a `RestClient`); without it gaps are only reported. */
  rest?: PrivateCaller;
  /** Follow `balances` too (default true). */
  balances?: boolean;
  /** Include the last 50 fills in the executions snapshot (default false). */
  snapTrades?: boolean;
  /** How far back a resync reads closed orders, seconds (default 3600). */
  closedWindowSec?: number;
  /** Clock, ms (default `systemClock.now`). */
  now?: Now;
  /**
   * Receives exceptions thrown by listeners (every listener still runs).
   * Default: rethrown from a microtask, which ends a Deno process; servers
   * pass a handler that logs.
   */
  onListenerError?: ListenerErrorHandler;
}

function integer(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : Number(value);
  return typeof value !== "boolean" && value !== "" && value !== null &&
      Number.isSafeInteger(n)
    ? n
    : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Turns one raw `executions` row into an {@linkcode ExecutionReport}: keeps
 * every field, turns `order_userref` and `trade_id` back into numbers, and
 * drops rows without an `exec_type`.
 *
 * @param row A row of `data`.
 * @returns The report, or `null` for an unusable row.
 * @example Normalise
 * ```ts
 * import { normalizeExecutionReport } from "./private_stream.ts";
 * normalizeExecutionReport({ exec_type: "new", order_userref: "42" })?.order_userref; // 42
 * ```
 */
export function normalizeExecutionReport(
  row: unknown,
): ExecutionReport | null {
  const raw = record(row);
  if (typeof raw.exec_type !== "string") return null;
  const report = { ...raw } as unknown as ExecutionReport & {
    [key: string]: unknown;
  };
  const userref = integer(raw.order_userref);
  if (userref === undefined) delete report.order_userref;
  else report.order_userref = userref;
  const tradeId = integer(raw.trade_id);
  if (tradeId === undefined) delete report.trade_id;
  else report.trade_id = tradeId;
  return report;
}

function balanceRows(data: unknown): BalanceRow[] {
  if (!Array.isArray(data)) return [];
  const rows: BalanceRow[] = [];
  for (const item of data) {
    const raw = record(item);
    const asset = text(raw.asset);
    const balance = text(raw.balance);
    if (asset === undefined || balance === undefined) continue;
    const row: BalanceRow = { asset, balance };
    const amount = text(raw.amount);
    if (amount !== undefined) row.amount = amount;
    const type = text(raw.type);
    if (type !== undefined) row.type = type;
    const ledgerId = text(raw.ledger_id);
    if (ledgerId !== undefined) row.ledgerId = ledgerId;
    const refId = text(raw.ref_id);
    if (refId !== undefined) row.refId = refId;
    const walletType = text(raw.wallet_type);
    if (walletType !== undefined) row.walletType = walletType;
    rows.push(row);
  }
  return rows;
}

/**
 * Follows `executions` and `balances` on a private session.
 *
 * @example Feed an order client
 * ```ts ignore
 * import { PrivateStream } from "./private_stream.ts";
 * const stream = new PrivateStream(session, { rest });
 * const off = stream.on((event) => console.log(event.type));
 * stream.start();
 * session.connect();
 * ```
 */
export class PrivateStream {
  #session: PrivateWsSession;
  #rest: PrivateCaller | undefined;
  #followBalances: boolean;
  #snapTrades: boolean;
  #closedWindowSec: number;
  #now: Now;
  #listeners = new Set<(event: PrivateStreamEvent) => void>();
  #onListenerError: ListenerErrorHandler;
  #subscriptions: WsSubscription[] = [];
  #offs: Array<() => void> = [];
  #expected = new Map<PrivateChannel, number>();
  #balances = new Map<string, string>();
  #gaps = 0;
  #duplicates = 0;
  #resyncing: Promise<void> | undefined;
  #resyncAgain: ResyncResult["reason"] | undefined;
  #started = false;

  /**
   * Creates the stream (nothing is subscribed until {@linkcode start}).
   *
   * @param session The authenticated session.
   * @param options REST reads for resyncs, channels and clock.
   */
  constructor(session: PrivateWsSession, options: PrivateStreamOptions = {}) {
    this.#session = session;
    this.#rest = options.rest;
    this.#followBalances = options.balances ?? true;
    this.#snapTrades = options.snapTrades ?? false;
    this.#closedWindowSec = options.closedWindowSec ?? 3600;
    this.#now = options.now ?? systemClock.now;
    this.#onListenerError = options.onListenerError ?? rethrowLater;
  }

  /** Sequence gaps seen. */
  get gaps(): number {
    return this.#gaps;
  }

  /** Duplicate (already seen) messages dropped. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * The latest balance per asset symbol from the `balances` channel.
   *
   * @returns Balances, decimal text.
   */
  balances(): Record<string, string> {
    return Object.fromEntries(this.#balances);
  }

  /**
   * Listens to the stream.
   *
   * @param listener Called with every event.
   * @returns A function that removes the listener.
   */
  on(listener: (event: PrivateStreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Subscribes (the session's connection sends when open). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const ws = this.#session.connection;
    this.#offs.push(ws.on("open", ({ reconnect }) => {
      // New subscriptions number their messages from scratch.
      this.#expected.clear();
      if (reconnect) void this.resync("reconnect");
    }));
    this.#offs.push(ws.on("frame", (frame) => {
      if (frame.kind !== "channel") return;
      if (frame.channel !== "executions" && frame.channel !== "balances") {
        return;
      }
      this.#onMessage(frame.channel, frame.type, frame.data, frame.sequence);
    }));
    this.#subscriptions.push(ws.subscribe({
      channel: "executions",
      extra: { "snap_orders": true, "snap_trades": this.#snapTrades },
    }));
    if (this.#followBalances) {
      this.#subscriptions.push(
        ws.subscribe({ channel: "balances", snapshot: true }),
      );
    }
  }

  /** Unsubscribes and stops listening (the session stays open). */
  stop(): void {
    for (const sub of this.#subscriptions.splice(0)) sub.release();
    for (const off of this.#offs.splice(0)) off();
    this.#started = false;
  }

  /** Same as {@linkcode stop}, for `using`. */
  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * Reads open orders, recent closed orders and balances from REST and
   * reports them as a `resync` event. Concurrent requests coalesce into at
   * most one more run.
   *
   * @param reason Why.
   * @returns Resolves when the resync (and any queued one) finished.
   */
  resync(reason: ResyncResult["reason"] = "manual"): Promise<void> {
    if (this.#rest === undefined) return Promise.resolve();
    if (this.#resyncing !== undefined) {
      this.#resyncAgain = reason;
      return this.#resyncing;
    }
    const run = async (first: ResyncResult["reason"]): Promise<void> => {
      let next: ResyncResult["reason"] | undefined = first;
      while (next !== undefined) {
        this.#resyncAgain = undefined;
        await this.#resyncOnce(next);
        next = this.#resyncAgain;
      }
    };
    this.#resyncing = run(reason).finally(() => {
      this.#resyncing = undefined;
    });
    return this.#resyncing;
  }

  async #resyncOnce(reason: ResyncResult["reason"]): Promise<void> {
    const rest = this.#rest!;
    try {
      const open = record(
        record((await rest.callPrivate("OpenOrders", {})).result).open,
      ) as Record<string, OrderInfo>;
      const start = Math.floor(this.#now() / 1000) - this.#closedWindowSec;
      const closed = record(
        record((await rest.callPrivate("ClosedOrders", { start })).result)
          .closed,
      ) as Record<string, OrderInfo>;
      let balances: Record<string, string> | null = null;
      if (this.#followBalances) {
        balances = {};
        const raw = record((await rest.callPrivate("Balance", {})).result);
        for (const [asset, value] of Object.entries(raw)) {
          const amount = text(value);
          if (amount !== undefined) balances[asset] = amount;
        }
      }
      this.#emit({
        type: "resync",
        result: { reason, open, closed, balances, atMs: this.#now() },
      });
    } catch (error) {
      this.#emit({
        type: "resync_failed",
        reason,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #onMessage(
    channel: PrivateChannel,
    kind: "snapshot" | "update",
    data: unknown,
    sequence: number | undefined,
  ): void {
    const atMs = this.#now();
    if (sequence !== undefined) {
      const expected = this.#expected.get(channel);
      if (kind === "update" && expected !== undefined) {
        if (sequence < expected) {
          this.#duplicates++;
          this.#emit({ type: "duplicate", channel, sequence });
          return;
        }
        if (sequence > expected) {
          this.#gaps++;
          this.#emit({
            type: "gap",
            channel,
            expected,
            received: sequence,
            atMs,
          });
          void this.resync("gap");
        }
      }
      this.#expected.set(channel, sequence + 1);
    }
    if (channel === "executions") {
      const reports = (Array.isArray(data) ? data : [])
        .map(normalizeExecutionReport)
        .filter((r): r is ExecutionReport => r !== null);
      this.#emit({ type: "executions", kind, reports, sequence, atMs });
      return;
    }
    const rows = balanceRows(data);
    if (kind === "snapshot") this.#balances.clear();
    for (const row of rows) this.#balances.set(row.asset, row.balance);
    this.#emit({ type: "balances", kind, rows, sequence, atMs });
  }

  #emit(event: PrivateStreamEvent): void {
    callListeners(
      this.#listeners,
      event,
      this.#onListenerError,
      `PrivateStream ${event.type}`,
    );
  }
}
