/**
 * The server's account truth (issue 17): at start, balances, open orders,
 * the trade history and the ledger are loaded through core/account and the
 * incremental history cache, then reconciled against the private stream;
 * until that is done the account is `loading` and orders are refused. The
 * private stream then keeps the view current (balances from its frames,
 * new fills re-read incrementally from the cache), and an
 * {@linkcode AccountReconciler} compares the stream with REST periodically
 * and on every reconnect — before the stream's own resync, which would
 * otherwise overwrite what it had wrong. Drift is logged and published.
 *
 * Marks (equity, unrealised P&L) are the mids of the server's public WS v2
 * book feed, REST `Ticker` only for pairs it does not cover
 * ({@linkcode AccountMarks}); a book change of a marked pair recomputes
 * (debounced), so equity follows the stream without REST polling.
 *
 * Equity over time (`equityHistory`) is reconstructed from the ledger:
 * every key's balance at each UTC day end valued at the account's own
 * latest USD fill then (core/account/equity_history.ts).
 *
 * In paper mode the view is the paper account's, in the same shape: its
 * fills go through core/account's FIFO (`computePnl`) like the live
 * account's trades, the opening balances counting as a deposit.
 *
 * @module
 */

import { equityOf, type EquityReport } from "@krakked/core/account/equity";
import { equityHistory, type EquityPoint } from "@krakked/core/account/mod";
import { tradeRates, usdPrice } from "@krakked/core/account/rates";
import { accountTradesFromFills } from "@krakked/core/account/trades";
import { computePnl } from "@krakked/core/account/pnl";
import { type CashFlow, netFlows } from "@krakked/core/account/ledger";
import { addDecimal, compareDecimal } from "@krakked/core/decimal";
import {
  type AccountSnapshot,
  balancesBySymbol,
  type OrderView,
} from "@krakked/core/account/reconcile";
import {
  AccountReconciler,
  type ReconcileReason,
  type ReconcileReport,
} from "@krakked/core/account/reconciler";
import type { Logger } from "@krakked/core/log";
import { AssetTable } from "@krakked/core/market/assets";
import { PairResolver, pairsFromAssetPairs } from "@krakked/core/market/pairs";
import type { RestClient } from "@krakked/core/rest/client";
import type { OrderInfo } from "@krakked/core/rest/types";
import type { ExecutionReport } from "@krakked/core/trade/lifecycle";
import type { PaperFill } from "@krakked/core/trade/paper";
import type {
  PrivateStream,
  PrivateStreamEvent,
} from "@krakked/core/trade/private_stream";
import type { PnlReport } from "@krakked/core/account/pnl";
import {
  type AccountData,
  loadAccountHistory,
  pnlDocument,
  type PnlInput,
  type PnlJson,
  pnlReport,
} from "./account_history.ts";
import { AccountMarks, type MarksInfo } from "./account_marks.ts";
import type { AccountRelay } from "./account_relay.ts";
import type { BookSource, PaperSummary } from "./orders.ts";

/** Where the account stands. */
export type AccountPhase = "loading" | "ready" | "failed";

/** The `/api/account` document (and the `account` SSE event's data). */
export interface AccountDocument {
  /** `live` (Kraken or the simulator, read only) or `paper`. */
  source: "live" | "paper";
  /** `loading` until hydrated and reconciled. */
  phase: AccountPhase;
  /** Why hydration failed, when it did. */
  error: string | null;
  /** When this view was computed, ms. */
  atMs: number;
  /** Equity in USD with per-asset lines and unpriced assets (null while loading). */
  equity: EquityReport | null;
  /**
   * P&L (the `krakked pnl --json` document; in paper mode the same over the
   * paper fills; null while loading).
   */
  pnl: AccountPnl | null;
  /** Where the marks came from: the stream, or REST for the pairs it lacks. */
  marks: MarksInfo | null;
  /**
   * Equity at each UTC day end from the ledger (live, once the history is
   * in; at most {@linkcode EQUITY_HISTORY_POINTS} points).
   */
  equityHistory: EquityPoint[] | null;
  /**
   * Deposits and withdrawals (external flows, USD at the time), kept apart
   * from performance (live only).
   */
  cash: CashSummary | null;
  /** Paper totals and positions (paper mode only). */
  paper: PaperSummary | null;
  /** Open orders loaded at hydration and kept from the stream. */
  openOrders: number;
  /** What loading the history did. */
  hydration: AccountData["hydration"] | null;
  /** How long hydration took until ready (loaded and reconciled), ms. */
  hydrationMs: number | null;
  /** Of which loading balances, open orders and the newest trades and ledger, ms. */
  loadMs: number | null;
  /** Rows in the newest page of trades and ledger read before orders were allowed. */
  recent: { trades: number; ledger: number } | null;
  /** Whether the whole history is in (P&L and cash flows need it). */
  historyComplete: boolean;
  /** Loading the whole history took, ms. */
  historyMs: number | null;
  /** Why the history could not be loaded yet (it is retried). */
  historyError: string | null;
  /** The latest reconciliation, drifts included. */
  reconcile: ReconcileReport | null;
  /** The newest reports that found drift (at most 20), newest last. */
  driftReports: ReconcileReport[];
  /** Equity samples since start, about one a minute (paper's chart). */
  history: { atMs: number; equity: string }[];
}

/** Most points of {@linkcode AccountDocument.equityHistory}. */
export const EQUITY_HISTORY_POINTS = 400;

/** The `krakked pnl --json` document without lots (counted instead). */
export type AccountPnl = Omit<PnlJson, "hydration" | "positions"> & {
  /** Open positions; `lots` is how many FIFO lots are open. */
  positions: (Omit<PnlJson["positions"][number], "lots"> & { lots: number })[];
};

/** Deposits and withdrawals, in USD when they happened. */
export interface CashSummary {
  /** Sum of incoming external flows. */
  deposits: string;
  /** Sum of outgoing external flows (negative or zero). */
  withdrawals: string;
  /** How many external flows. */
  count: number;
}

/** An event for the page's server-sent events. */
export interface AccountServiceEvent {
  /** `account` (the document) or `account_drift` (a report with drifts). */
  channel: "account" | "account_drift";
  /** Its data. */
  data: AccountDocument | ReconcileReport;
}

/** Options of {@linkcode AccountService}. */
export interface AccountServiceOptions {
  /** `live` follows the Kraken account; `paper` shows the paper account. */
  source: "live" | "paper";
  /** A REST client (with credentials for `live`). */
  rest: RestClient;
  /** The server's private stream (live). */
  stream?: PrivateStream;
  /** Finds (or makes) the history cache folder (`accountCacheDir`). */
  cacheDir?: () => Promise<string>;
  /** The paper account (paper). */
  paper?: () => Promise<PaperSummary>;
  /** The paper account's fills, oldest first (paper: its P&L). */
  paperFills?: () => Promise<PaperFill[]>;
  /** The server's WS v2 book feed: the marks (REST `Ticker` for the rest). */
  books?: BookSource;
  /** Reuse a REST mark this long, ms (default 15,000). */
  restMarksMs?: number;
  /** Logger (drift is a warning). */
  logger: Pick<Logger, "info" | "warn">;
  /** Reconciliation period, ms (default 60,000). */
  reconcileMs?: number;
  /**
   * How long an order placed while the account loads waits for it before
   * being refused, ms (default 10,000; 0 refuses at once).
   */
  orderWaitMs?: number;
  /** Wait after a stream event before recomputing, ms (default 1,000). */
  debounceMs?: number;
  /** Clock, ms. */
  now?: () => number;
  /** The private connection, for the reconnect check. */
  connection?: {
    on(
      event: "open",
      listener: (info: { reconnect: boolean }) => void,
    ): () => void;
  };
  /** The page's event relay: `account` and `account_drift` go out on it. */
  relay?: Pick<AccountRelay, "publish">;
}

const MAX_SAMPLES = 1_440;
/** Samples closer than this replace the newest one, ms. */
const SAMPLE_MS = 60_000;

/**
 * The account, hydrated once and kept current.
 *
 * @example Start and read
 * ```ts ignore
 * const account = new AccountService({ source: "live", rest, stream, logger });
 * account.start();
 * await account.ready;
 * account.document().equity?.total;
 * ```
 */
export class AccountService {
  #o: AccountServiceOptions;
  #now: () => number;
  #phase: AccountPhase = "loading";
  #error: string | null = null;
  #data: AccountData | undefined;
  #assets: AssetTable = AssetTable.fallback();
  #restBalances: Record<string, string> = {};
  #streamOrders = new Map<string, OrderView>();
  #restOrderCount = 0;
  #doc: AccountDocument;
  #samples: { atMs: number; equity: string }[] = [];
  #driftReports: ReconcileReport[] = [];
  #listeners = new Set<(event: AccountServiceEvent) => void>();
  #ends = new Map<(event: AccountServiceEvent) => void, () => void>();
  #offs: (() => void)[] = [];
  #reconciler: AccountReconciler | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshTrades = false;
  #refreshing: Promise<void> | undefined;
  #closed = false;
  #hydrationMs: number | null = null;
  #historyMs: number | null = null;
  #historyError: string | null = null;
  #recent: { trades: number; ledger: number } | null = null;
  #resolver: PairResolver | undefined;
  #loadMs: number | null = null;
  #loaded: AccountSnapshot | undefined;
  #fromLoad = false;
  #cacheDir: string | undefined;
  #marks: AccountMarks;
  /** Settles when the account is ready (or the service closed). */
  readonly ready: Promise<void>;
  #settle!: () => void;

  /**
   * Create the service; nothing is read until {@linkcode start}.
   *
   * @param options Source, clients, stream and timing.
   */
  constructor(options: AccountServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.ready = new Promise((r) => (this.#settle = r));
    this.#marks = new AccountMarks({
      ...(options.books === undefined ? {} : { books: options.books }),
      ticker: (keys) => options.rest.ticker(keys),
      ...(options.restMarksMs === undefined
        ? {}
        : { restEveryMs: options.restMarksMs }),
      now: this.#now,
    });
    // A marked book moved: recompute (debounced) so equity follows it.
    this.#offs.push(this.#marks.onUpdate(() => this.#schedule()));
    this.#doc = this.#build(null, null, null);
    const stream = options.stream;
    if (options.source === "live" && stream !== undefined) {
      // From construction on: the executions snapshot must not be missed.
      this.#offs.push(stream.on((event) => this.#onStream(event)));
    }
    if (options.connection !== undefined) {
      // The stream resyncs on the same event, after a REST round trip; the
      // check reads the stream's state now, before that resync replaces it.
      this.#offs.push(options.connection.on("open", ({ reconnect }) => {
        if (reconnect) void this.onReconnect();
      }));
    }
    const relay = options.relay;
    if (relay !== undefined) {
      this.#listeners.add((event) =>
        relay.publish(
          { channel: event.channel, data: event.data },
          event.channel === "account",
        )
      );
    }
  }

  /** `loading`, `ready` or `failed`. */
  get phase(): AccountPhase {
    return this.#phase;
  }

  /** Whether orders may go out (the account is hydrated and reconciled). */
  get ordersAllowed(): boolean {
    return this.#phase === "ready";
  }

  /**
   * Waits (up to `orderWaitMs`) for the account to be ready.
   *
   * @returns Whether orders may go out now.
   */
  async whenReady(): Promise<boolean> {
    if (this.ordersAllowed) return true;
    const waitMs = this.#o.orderWaitMs ?? 10_000;
    if (waitMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.ready,
        new Promise((r) => (timer = setTimeout(r, waitMs))),
      ]);
      clearTimeout(timer);
    }
    return this.ordersAllowed;
  }

  /** The current view. */
  document(): AccountDocument {
    return this.#doc;
  }

  /**
   * Listen to changes (the document after each recompute, drift reports).
   *
   * @param listener Called per event.
   * @param onEnd Called once when the service closes.
   * @returns Unsubscribe.
   */
  subscribe(
    listener: (event: AccountServiceEvent) => void,
    onEnd?: () => void,
  ): () => void {
    this.#listeners.add(listener);
    if (onEnd !== undefined) this.#ends.set(listener, onEnd);
    return () => {
      this.#listeners.delete(listener);
      this.#ends.delete(listener);
    };
  }

  /**
   * Hydrates, then keeps current. Call before the private stream starts,
   * so the reconnect check runs ahead of the stream's resync.
   */
  start(): void {
    void this.#hydrateUntilDone();
    if (this.#o.source === "paper") {
      // Paper fills happen in this process: look again every few seconds.
      const poll = setInterval(() => {
        if (this.#phase === "ready") void this.#refresh();
      }, this.#o.reconcileMs ?? 5_000);
      this.#offs.push(() => clearInterval(poll));
    }
  }

  /**
   * The private connection reopened: compare the stream's state with REST
   * now, before the resync replaces it.
   *
   * @returns The report.
   */
  onReconnect(): Promise<ReconcileReport> | undefined {
    return this.#reconciler?.check("reconnect");
  }

  /**
   * Reconcile now.
   *
   * @param reason Why.
   * @returns The report, or undefined before hydration.
   */
  check(
    reason: ReconcileReason = "manual",
  ): Promise<ReconcileReport> | undefined {
    return this.#reconciler?.check(reason);
  }

  /** Stop following; listeners are dropped. */
  close(): void {
    this.#closed = true;
    this.#reconciler?.stop();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const off of this.#offs.splice(0)) off();
    this.#listeners.clear();
    const ends = [...this.#ends.values()];
    this.#ends.clear();
    for (const end of ends) end();
    this.#settle();
  }

  /** Hydrates; a failure (Kraken down, a deadline) is shown and retried. */
  async #hydrateUntilDone(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      if (await this.#hydrate()) break;
      const waitMs = Math.min(30_000, 1_000 * 2 ** attempt);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#offs.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#settle();
  }

  async #hydrate(): Promise<boolean> {
    const t0 = performance.now();
    try {
      if (this.#o.source === "paper") {
        await this.#recompute();
      } else {
        const rest = this.#o.rest;
        if (this.#o.cacheDir === undefined) {
          throw new Error("no history cache folder");
        }
        this.#cacheDir = await this.#o.cacheDir();
        // What orders need: balances, open orders and the newest page of
        // trades and ledger (7 REST points with the token, under every
        // tier's burst). The whole history follows in the background.
        const [pairs, balances, open, trades, ledger] = await Promise.all([
          this.#pairs(),
          rest.balanceEx(),
          rest.openOrders(),
          rest.tradesHistory({}),
          rest.ledgers({}),
        ]);
        this.#resolver = new PairResolver(pairs, { assets: this.#assets });
        this.#recent = {
          trades: Object.keys(trades.trades).length,
          ledger: Object.keys(ledger.ledger).length,
        };
        // The first check compares the stream with what hydration just
        // read (REST's budget is spent on the history pages by now); only
        // a drift is confirmed with a fresh read before it is reported.
        this.#loaded = this.#snapshotOf(balances, open.open);
        this.#reconciler = new AccountReconciler({
          stream: () => this.#streamSnapshot(),
          rest: () => this.#restSnapshot(),
          onReport: (report) => this.#onReport(report),
          intervalMs: this.#o.reconcileMs ?? 60_000,
        });
        this.#loadMs = performance.now() - t0;
        await this.#recompute();
        // Reconciled before anything is shown or any order allowed: the
        // stream's snapshot may still be on its way, so wait for it briefly.
        await this.#waitForStream();
        const first = await this.#reconciler.check("start");
        if (first.drifts.length > 0) await this.#reconciler.check("start");
        // Then periodically (the reconciler's own start() would check again now).
        const every = setInterval(
          () => void this.#reconciler?.check("periodic"),
          this.#o.reconcileMs ?? 60_000,
        );
        this.#offs.push(() => clearInterval(every));
        void this.#loadHistory();
      }
      this.#hydrationMs = performance.now() - t0;
      this.#phase = "ready";
      this.#error = null;
      this.#o.logger.info("account hydrated", {
        source: this.#o.source,
        ms: Math.round(this.#hydrationMs),
        ...(this.#data
          ? {
            trades: this.#data.trades.length,
            ledger: this.#data.flows.length,
            tradesMode: this.#data.hydration.trades.mode,
          }
          : {}),
      });
    } catch (error) {
      this.#phase = "failed";
      this.#error = error instanceof Error ? error.message : String(error);
      this.#o.logger.warn("account hydration failed; retrying", {
        error: this.#error,
      });
    }
    this.#publishDoc();
    return this.#phase === "ready";
  }

  /** The whole trade and ledger history through the cache, retried. */
  async #loadHistory(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const t0 = performance.now();
        this.#data = await loadAccountHistory(this.#o.rest, this.#cacheDir!);
        this.#historyMs = performance.now() - t0;
        this.#historyError = null;
        await this.#recompute();
        this.#publishDoc();
        this.#o.logger.info("account history loaded", {
          ms: Math.round(this.#historyMs),
          trades: this.#data.trades.length,
          ledger: this.#data.flows.length,
          tradesMode: this.#data.hydration.trades.mode,
        });
        return;
      } catch (error) {
        this.#historyError = error instanceof Error
          ? error.message
          : String(error);
        this.#o.logger.warn("account history failed; retrying", {
          error: this.#historyError,
        });
        this.#publishDoc();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(30_000, 1_000 * 2 ** attempt),
        );
        this.#offs.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async #waitForStream(): Promise<void> {
    const stream = this.#o.stream;
    if (stream === undefined) return;
    for (let i = 0; i < 50 && !this.#closed; i++) {
      if (Object.keys(stream.balances()).length > 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  #streamSnapshot(): AccountSnapshot {
    return {
      balances: this.#o.stream?.balances() ?? this.#restBalances,
      // Pairs resolve now: the executions snapshot can come before the
      // pair table is loaded.
      openOrders: Object.fromEntries(
        [...this.#streamOrders].map((
          [id, o],
        ) => [id, { ...o, pair: this.#pairId(o.pair) }]),
      ),
    };
  }

  async #restSnapshot(): Promise<AccountSnapshot> {
    const loaded = this.#loaded;
    if (loaded !== undefined) {
      this.#loaded = undefined;
      this.#fromLoad = true;
      return loaded;
    }
    this.#fromLoad = false;
    const rest = this.#o.rest;
    const [balances, open] = await Promise.all([
      rest.balanceEx(),
      rest.openOrders(),
    ]);
    return this.#snapshotOf(balances, open.open);
  }

  #snapshotOf(
    balances: Parameters<typeof balancesBySymbol>[0],
    open: Record<string, OrderInfo>,
  ): AccountSnapshot {
    this.#restBalances = balancesBySymbol(balances, this.#assets);
    this.#restOrderCount = Object.keys(open).length;
    const orders: Record<string, OrderView> = {};
    for (const [id, info] of Object.entries(open)) {
      orders[id] = this.#restOrder(info);
    }
    return { balances: this.#restBalances, openOrders: orders };
  }

  #pairId(spelling: string | undefined): string {
    if (spelling === undefined) return "";
    try {
      return this.#resolver?.resolve(spelling) ?? spelling;
    } catch {
      return spelling;
    }
  }

  #restOrder(info: OrderInfo): OrderView {
    return {
      pair: this.#pairId(info.descr.pair),
      side: info.descr.type,
      qty: info.vol,
      filled: info.vol_exec,
    };
  }

  #onReport(report: ReconcileReport): void {
    if (this.#fromLoad && report.drifts.length > 0) {
      // Compared with hydration's read: confirmed by a fresh one first.
      this.#fromLoad = false;
      return;
    }
    if (report.drifts.length > 0) {
      this.#o.logger.warn("account drift", {
        reason: report.reason,
        drifts: report.drifts,
      });
      this.#driftReports = [...this.#driftReports, report].slice(-20);
      this.#emit({ channel: "account_drift", data: report });
    } else if (report.error !== undefined) {
      this.#o.logger.warn("account reconciliation failed", {
        reason: report.reason,
        error: report.error,
      });
    }
    this.#doc = {
      ...this.#doc,
      reconcile: report,
      driftReports: this.#driftReports,
    };
    this.#publishDoc();
  }

  #onStream(event: PrivateStreamEvent): void {
    if (event.type === "executions") {
      if (event.kind === "snapshot") this.#streamOrders.clear();
      for (const r of event.reports) this.#applyReport(r);
      if (event.reports.some((r) => r.exec_type === "trade")) {
        this.#refreshTrades = true;
      }
    } else if (event.type === "resync") {
      this.#streamOrders.clear();
      for (const [id, info] of Object.entries(event.result.open)) {
        this.#streamOrders.set(id, this.#restOrder(info));
      }
      this.#refreshTrades = true;
    } else if (event.type !== "balances") {
      return;
    }
    this.#schedule();
  }

  #applyReport(r: ExecutionReport): void {
    const id = r.order_id;
    if (id === undefined) return;
    const status = r.order_status ?? r.exec_type;
    if (
      ["filled", "canceled", "expired", "rejected"].includes(status) ||
      r.exec_type === "canceled" || r.exec_type === "expired"
    ) {
      this.#streamOrders.delete(id);
      return;
    }
    const prev = this.#streamOrders.get(id);
    this.#streamOrders.set(id, {
      pair: r.symbol ?? prev?.pair ?? "",
      side: r.side ?? prev?.side ?? "",
      qty: r.order_qty !== undefined ? String(r.order_qty) : prev?.qty ?? "0",
      filled: r.cum_qty !== undefined ? String(r.cum_qty) : prev?.filled ?? "0",
    });
  }

  #schedule(): void {
    if (this.#phase !== "ready" || this.#closed) return;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#refresh();
    }, this.#o.debounceMs ?? 1_000);
  }

  #refresh(): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    this.#refreshing = (async () => {
      try {
        // New fills: read incrementally once the whole history is in (the
        // background load, still running, picks them up itself).
        if (this.#refreshTrades && this.#data !== undefined) {
          this.#refreshTrades = false;
          try {
            // Incremental: the cache fetches only the rows it lacks.
            this.#data = await loadAccountHistory(
              this.#o.rest,
              this.#cacheDir!,
            );
          } catch (error) {
            // Not read (Kraken busy, a rate limit): the fills are still new.
            this.#refreshTrades = true;
            throw error;
          }
        }
        await this.#recompute();
        this.#publishDoc();
      } catch (error) {
        this.#o.logger.warn("account refresh failed", {
          error: error instanceof Error ? error.message : String(error),
        });
        // Try again shortly (a book move may do it sooner).
        const retry = setTimeout(() => this.#schedule(), 5_000);
        this.#offs.push(() => clearTimeout(retry));
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Paper-mode and live updates: recompute from what is held now. */
  async #recompute(): Promise<void> {
    if (this.#o.source === "paper") {
      const paper = await this.#o.paper!();
      const fills = await this.#o.paperFills?.() ?? [];
      const pairs = await this.#pairs();
      const trades = this.#paperTrades(fills, pairs);
      const held = new Set(Object.keys(paper.balances));
      for (const t of trades) held.add(t.base).add(t.quote);
      const { source: quotes } = await this.#marks.quotes(pairs, held);
      const equity = equityOf(paper.balances, this.#assets, quotes);
      const flows = paperOpening(paper.balances, trades);
      const pnl = this.#accountPnl(
        {
          pairs,
          resolver: this.#resolver ??= new PairResolver(pairs, {
            assets: this.#assets,
          }),
          trades,
          flows,
        },
        quotes,
      );
      // The opening balances are the paper account's only deposits.
      const cash: CashSummary = {
        deposits: pnl.totals.netDeposits,
        withdrawals: "0",
        count: flows.length,
      };
      this.#doc = this.#build(equity, pnl, paper, cash);
      return;
    }
    const data = this.#data;
    const balances = this.#o.stream !== undefined &&
        Object.keys(this.#o.stream.balances()).length > 0
      ? this.#o.stream.balances()
      : this.#restBalances;
    const held = new Set<string>();
    for (const t of data?.trades ?? []) held.add(t.base).add(t.quote);
    for (const f of data?.flows ?? []) held.add(f.asset);
    for (const key of Object.keys(balances)) {
      held.add(this.#assets.toCommon(key.split(".")[0]!));
    }
    const { source: quotes } = await this.#marks.quotes(
      await this.#pairs(),
      held,
    );
    const equity = equityOf(balances, this.#assets, quotes);
    if (data === undefined) {
      // The history is still loading: equity now, P&L when it is in.
      this.#doc = this.#build(equity, null, null);
      return;
    }
    this.#doc = this.#build(
      equity,
      this.#accountPnl(data, quotes),
      null,
      this.#cashOf(data),
      this.#historyOf(data),
    );
  }

  #replayed: { trades: unknown; flows: unknown; report: PnlReport } | undefined;
  /**
   * The P&L document of a history at the given marks, lots counted. The
   * history is replayed once; new marks only value the open lots again.
   */
  #accountPnl(
    data: PnlInput,
    quotes: Parameters<typeof usdPrice>[1],
  ): AccountPnl {
    const mark = (asset: string) => usdPrice(asset, quotes)?.price ?? null;
    const flags = {
      sinceSec: undefined,
      pair: undefined,
      by: "asset",
    } as const;
    let held = this.#replayed;
    if (held?.trades !== data.trades || held.flows !== data.flows) {
      held = {
        trades: data.trades,
        flows: data.flows,
        report: pnlReport(data, flags, mark),
      };
      this.#replayed = held;
    }
    const { hydration: _h, positions, ...rest_ } = pnlDocument(
      data,
      flags,
      mark,
      held.report,
    );
    // Lots stay on the server (`krakked pnl --json` lists them): a long
    // history has thousands, and the document goes out on every change.
    return {
      ...rest_,
      positions: positions.map(({ lots, ...p }) => ({
        ...p,
        lots: lots.length,
      })),
    };
  }

  /** Paper fills as account trades (core/account's path). */
  #paperTrades(
    fills: readonly PaperFill[],
    pairs: AccountData["pairs"],
  ): ReturnType<typeof accountTradesFromFills> {
    const byId = new Map(pairs.map((p) => [p.id, p]));
    return accountTradesFromFills(fills, (id) => {
      const pair = byId.get(id);
      return pair === undefined
        ? undefined
        : { base: pair.base, quote: pair.quote };
    });
  }

  #equityHistory:
    | { data: AccountData; day: number; points: EquityPoint[] }
    | undefined;
  /** Equity per day end from the ledger (computed once per history and day). */
  #historyOf(data: AccountData): EquityPoint[] {
    const nowSec = this.#now() / 1000;
    const day = Math.floor(nowSec / 86_400);
    const held = this.#equityHistory;
    if (held?.data === data && held.day === day) return held.points;
    const points = equityHistory(data.flows, tradeRates(data.trades), {
      toSec: nowSec,
      maxPoints: EQUITY_HISTORY_POINTS,
    });
    this.#equityHistory = { data, day, points };
    return points;
  }

  #cash: { data: AccountData; summary: CashSummary } | undefined;
  /** External flows valued when they happened (computed once per history). */
  #cashOf(data: AccountData): CashSummary {
    if (this.#cash?.data === data) return this.#cash.summary;
    const report = computePnl(data.trades, netFlows(data.flows), {
      rateAt: tradeRates(data.trades),
    });
    let deposits = "0";
    let withdrawals = "0";
    let count = 0;
    for (const flow of report.flows) {
      if (flow.kind !== "external") continue;
      count++;
      if (compareDecimal(flow.usd, "0") >= 0) {
        deposits = addDecimal(deposits, flow.usd);
      } else withdrawals = addDecimal(withdrawals, flow.usd);
    }
    const summary = { deposits, withdrawals, count };
    this.#cash = { data, summary };
    return summary;
  }

  #pairsCache: AccountData["pairs"] | undefined;
  async #pairs(): Promise<AccountData["pairs"]> {
    if (this.#pairsCache) return this.#pairsCache;
    const rest = this.#o.rest;
    this.#assets = await rest.assets().then(
      (a) => AssetTable.fromAssets(a),
      () => AssetTable.fallback(),
    );
    this.#pairsCache = pairsFromAssetPairs(await rest.assetPairs(), {
      assets: this.#assets,
    });
    return this.#pairsCache;
  }

  #build(
    equity: EquityReport | null,
    pnl: AccountDocument["pnl"],
    paper: PaperSummary | null,
    cash: CashSummary | null = null,
    history: EquityPoint[] | null = null,
  ): AccountDocument {
    const atMs = this.#now();
    if (equity !== null) {
      // Marks move every second now: about one sample a minute (the
      // newest is replaced while within a minute of the one before it).
      const prev = this.#samples.at(-2);
      if (prev !== undefined && atMs - prev.atMs < SAMPLE_MS) {
        this.#samples.pop();
      }
      if (this.#samples.at(-1)?.equity !== equity.total) {
        this.#samples.push({ atMs, equity: equity.total });
        if (this.#samples.length > MAX_SAMPLES) this.#samples.shift();
      }
    }
    return {
      source: this.#o.source,
      phase: this.#phase,
      error: this.#error,
      atMs,
      equity,
      pnl,
      marks: equity === null ? null : this.#marks.info(),
      equityHistory: history,
      paper,
      cash,
      openOrders: this.#o.source === "paper"
        ? paper?.openOrders.length ?? 0
        : Math.max(this.#streamOrders.size, this.#restOrderCount),
      hydration: this.#data?.hydration ?? null,
      hydrationMs: this.#hydrationMs,
      loadMs: this.#loadMs,
      recent: this.#recent,
      historyComplete: this.#data !== undefined,
      historyMs: this.#historyMs,
      historyError: this.#historyError,
      reconcile: this.#reconciler?.last ?? null,
      driftReports: this.#driftReports,
      history: [...this.#samples],
    };
  }

  #publishDoc(): void {
    this.#doc = {
      ...this.#doc,
      phase: this.#phase,
      error: this.#error,
      hydrationMs: this.#hydrationMs,
      loadMs: this.#loadMs,
      recent: this.#recent,
      historyComplete: this.#data !== undefined,
      historyMs: this.#historyMs,
      historyError: this.#historyError,
    };
    this.#emit({ channel: "account", data: this.#doc });
  }

  #emit(event: AccountServiceEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#o.logger.warn("account listener failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

/**
 * The paper account's opening balances (now minus what the fills moved),
 * as deposits just before the first fill: the paper P&L's net deposits.
 *
 * @param balances Paper balances now, by common code.
 * @param trades The paper fills as account trades.
 * @returns One external flow per asset with a non-zero opening balance.
 */
export function paperOpening(
  balances: Readonly<Record<string, string>>,
  trades: ReturnType<typeof accountTradesFromFills>,
): CashFlow[] {
  const opening = new Map(Object.entries(balances));
  const add = (asset: string, amount: string) =>
    opening.set(asset, addDecimal(opening.get(asset) ?? "0", amount));
  for (const t of trades) {
    // Undo each fill: a buy added the base and spent the quote.
    add(t.base, t.side === "buy" ? `-${t.vol}` : t.vol);
    add(t.quote, t.side === "buy" ? t.cost : `-${t.cost}`);
    for (const fee of t.fees) add(fee.asset, fee.amount);
  }
  const timeSec = trades[0]?.timeSec ?? 0;
  return [...opening].filter(([, amount]) => compareDecimal(amount, "0") !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([asset, amount]) => ({
      id: `paper-open-${asset}`,
      refid: "paper-open",
      timeSec,
      type: "deposit",
      subtype: "",
      kind: "external",
      asset,
      wallet: null,
      amount,
      fee: "0",
      balance: amount,
    }));
}

/**
 * Creates and starts the account service.
 *
 * @param options The service's options.
 * @returns The started service (close it when the server stops).
 */
export function openAccount(options: AccountServiceOptions): AccountService {
  const account = new AccountService(options);
  account.start();
  return account;
}
