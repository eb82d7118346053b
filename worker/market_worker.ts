/**
 * The worker's I/O loop: reads the server config, holds the public WS v2
 * stream (core's resilient connection, checksummed books, live cache),
 * subscribes to what the page shows, answers requests with values, keeps
 * the candle cache, and coalesces everything into one batch per frame.
 *
 * Runtime services are injected; `worker.ts` is the thin edge that wires
 * them to the browser, and tests drive this class with fakes.
 *
 * @module
 */

import {
  type CancelTimer,
  type Now,
  type SetTimer,
  systemClock,
} from "@krakked/core/clock";
import { BookSet } from "@krakked/core/ws/book";
import {
  type WebSocketConstructor,
  WsConnection,
  type WsSubscribeRequest,
  type WsSubscription,
} from "@krakked/core/ws/connection";
import type { WsCandle } from "@krakked/core/ws/candles";
import { LiveCache } from "@krakked/core/ws/live";
import type { Ticker, Trade } from "@krakked/core/ws/protocol";
import { AssetTable } from "@krakked/core/market/assets";
import {
  type Candle,
  minutesToTimeframe,
  type Timeframe,
  timeframeToMinutes,
  timeframeToSeconds,
} from "@krakked/core/market/ohlc";
import {
  backfillFromTrades,
  backfillOhlc,
  type BackfillProgress,
} from "@krakked/core/market/ohlc_history";
import { loadMarketMetadata } from "@krakked/core/market/metadata";
import type { PairMetadata } from "@krakked/core/market/pairs";
import { selectUniverse } from "@krakked/core/market/universe";
import type { AssetInfo, AssetPairInfo } from "@krakked/core/rest/types";
import {
  type AccountFeedEffect,
  type AccountFeedEvent,
  type AccountFeedState,
  accountView,
  initialAccountFeed,
  stepAccountFeed,
} from "./account_feed.ts";
import { BatchCoalescer } from "./batch_coalescer.ts";
import { CandleCache, type StorageFailure } from "./candle_cache.ts";
import type { KeyValueStore } from "./kv_store.ts";
import {
  type AccountInfo,
  type BalanceView,
  type BookView,
  type CandleView,
  type ConfigView,
  type InitInfo,
  type LadderDepth,
  type OrderView,
  type PageMessage,
  type PageRequest,
  type PageTimeframe,
  type PairView,
  parsePageMessage,
  type ProgressView,
  PROTOCOL_VERSION,
  type RequestMap,
  type RequestMethod,
  type Result,
  type SelectInfo,
  type StatusView,
  type TickerView,
  type TradeView,
  type WatchInfo,
  type WatchParams,
  type WatchStatus,
  type WorkerError,
  workerError,
  type WorkerMessage,
} from "./protocol.ts";
import {
  diffPlans,
  emptyPlan,
  entryKey,
  type FocusReason,
  FocusTracker,
  type PlannedEntry,
  planUsage,
  planWatch,
  type WatchLimits,
  watchLimits,
  type WatchPlan,
} from "./watch_plan.ts";
import {
  ProxyCallError,
  ProxyClient,
  type ServerConfig,
} from "./proxy_client.ts";

/** Injected services of {@linkcode MarketWorker}. */
export interface MarketWorkerDeps {
  /** The server origin (`self.location.origin`). */
  origin: string;
  /** Posts a message to the page. */
  post: (message: WorkerMessage) => void;
  /** `fetch`; defaults to `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** WebSocket constructor; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Clock in ms; defaults to `systemClock.now`. */
  now?: Now;
  /**
   * Timer for the connection, the status polls and the batch coalescer;
   * defaults to `systemClock.setTimer`.
   */
  setTimer?: SetTimer;
  /** Opens the candle key-value store (IndexedDB); `undefined` = memory. */
  openStore?: () => KeyValueStore | undefined;
  /** How often status is pushed and REST polled (default 1000 / 5000 ms). */
  statusIntervalMs?: number;
  /** REST status poll period (default 5000 ms). */
  restPollMs?: number;
  /** Most trade pages fetched to extend history backwards (default 10). */
  maxTradePages?: number;
  /** `EventSource` constructor for the account stream (default: the global). */
  EventSource?: EventSourceConstructor;
  /** Wait before reopening an account stream the server refused (default 15000 ms). */
  accountRetryMs?: number;
  /** Budgets of the two-tier watch (defaults: `DEFAULT_WATCH_LIMITS`). */
  watchLimits?: Partial<WatchLimits>;
}

/** One public socket of the watch and the entries it holds. */
interface Socket {
  ws: WsConnection;
  subs: Map<string, WsSubscription>;
  offs: (() => void)[];
}

/** The part of `EventSource` the worker uses. */
export interface EventSourceLike {
  /** `0` connecting, `1` open, `2` closed (the browser gave up). */
  readonly readyState: number;
  /** Called when the stream (re)opens. */
  onopen: ((event: Event) => void) | null;
  /** Called on a drop (the browser retries) or a refusal (closed). */
  onerror: ((event: Event) => void) | null;
  /** Listen to named events (`executions`, `balances`). */
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  /** Stop. */
  close(): void;
}

/** Creates an {@linkcode EventSourceLike} for a URL. */
export type EventSourceConstructor = new (url: string) => EventSourceLike;

interface Selection {
  pair: PairMetadata;
  timeframe: PageTimeframe;
  depth: LadderDepth;
  limit: number;
  generation: number;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Convert a stored candle for drawing.
 *
 * @param candle A closed candle.
 * @returns Numbers for the chart.
 * @example Convert
 * ```ts
 * import { candleView } from "./market_worker.ts";
 * candleView({ openTimeSec: 60, open: "1", high: "2", low: "1", close: "2", vwap: "1.5", volume: "3", count: 2 }).close; // 2
 * ```
 */
export function candleView(candle: Candle): CandleView {
  return {
    timeSec: candle.openTimeSec,
    open: Number(candle.open),
    high: Number(candle.high),
    low: Number(candle.low),
    close: Number(candle.close),
    volume: Number(candle.volume),
  };
}

/**
 * Convert a closed WS candle into a stored candle.
 *
 * @param candle A candle from the live stream.
 * @returns The same candle in the store's shape.
 * @example Convert
 * ```ts ignore
 * storedCandle(liveCandle).openTimeSec;
 * ```
 */
export function storedCandle(candle: WsCandle): Candle {
  return {
    openTimeSec: Math.floor(candle.openTimeMs / 1000),
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    vwap: candle.vwap ?? candle.close,
    volume: candle.volume,
    count: candle.trades ?? 0,
  };
}

/**
 * Build a ticker row from a WS ticker.
 *
 * @param ticker The ticker.
 * @param atMs When it arrived.
 * @returns The row.
 * @example Convert
 * ```ts ignore
 * tickerView(frame.ticker, Date.now()).last;
 * ```
 */
export function tickerView(ticker: Ticker, atMs: number): TickerView {
  const view: TickerView = { symbol: ticker.symbol, updatedAtMs: atMs };
  const last = num(ticker.last);
  if (last !== undefined) {
    view.last = last;
    view.lastText = ticker.last as string;
  }
  // Kraken's WS v2 ticker `change_pct` is the 24 h change in percent: the
  // last price against the price 24 hours ago (docs/kraken/WS_V2.md, 3.1).
  // The CLI's "24h %" is the same measure, so page and CLI agree.
  const change = num(ticker.changePct);
  if (change !== undefined) view.changePct = change;
  const volume = num(ticker.volume);
  const price = num(ticker.vwap) ?? last;
  if (volume !== undefined && price !== undefined) {
    view.volumeQuote = volume * price;
  }
  const bid = num(ticker.bid);
  const ask = num(ticker.ask);
  if (bid !== undefined) view.bid = bid;
  if (ask !== undefined) view.ask = ask;
  return view;
}

/** Trades kept per symbol for a later select (the tape's length). */
const RECENT_TRADES = 50;

function tradeView(trade: Trade): TradeView {
  const timeMs = Date.parse(trade.timestamp);
  return {
    symbol: trade.symbol,
    side: trade.side,
    price: trade.price,
    qty: trade.qty,
    timeMs: Number.isFinite(timeMs) ? timeMs : 0,
    ...(trade.tradeId === undefined ? {} : { tradeId: trade.tradeId }),
  };
}

function errorValue(error: unknown): WorkerError {
  if (error instanceof ProxyCallError) return error.value;
  return workerError(
    "internal",
    error instanceof Error ? error.message : String(error),
  );
}

function configView(config: ServerConfig): ConfigView {
  return {
    mode: config.mode,
    simulated: config.simulated,
    version: config.version,
    staleToleranceSec: config.staleToleranceSec,
    timeframes: config.timeframes,
    quote: config.quote,
    privateData: config.privateData,
    tradingMode: config.tradingMode,
  };
}

/**
 * A failed market load, for the page: the server's config goes along (the
 * page still shows the mode), and an unreachable Kraken says what to do.
 */
function startError(error: unknown, config: ServerConfig): ProxyCallError {
  const value = errorValue(error);
  const unreachable = value.kind === "upstream_unreachable";
  return new ProxyCallError({
    ...value,
    message: unreachable
      ? `Kraken is unreachable from the Krakked server: ${value.message}`
      : value.message,
    config: configView(config),
  }, { cause: error });
}

function pairView(pair: PairMetadata): PairView {
  return {
    id: pair.id,
    symbol: pair.wsV2,
    base: pair.base,
    quote: pair.quote,
    priceDecimals: pair.priceDecimals,
    volumeDecimals: pair.volumeDecimals,
  };
}

/**
 * The market worker.
 *
 * @example Wire it in a worker
 * ```ts ignore
 * const worker = new MarketWorker({ origin: self.location.origin, post: (m) => self.postMessage(m) });
 * self.onmessage = (event) => worker.receive(event.data);
 * ```
 */
export class MarketWorker {
  #deps: MarketWorkerDeps;
  #now: Now;
  #setTimer: SetTimer;
  #client: ProxyClient;
  #coalescer: BatchCoalescer;

  #init: Promise<Result<InitInfo>> | undefined;
  #config: ServerConfig | undefined;
  #pairs = new Map<string, PairMetadata>();
  #bySymbol = new Map<string, PairMetadata>();
  #assets: AssetTable = AssetTable.fallback();
  #cache: CandleCache | undefined;
  #books = new BookSet();
  #live: LiveCache | undefined;

  #limits: WatchLimits;
  #focus: FocusTracker;
  #plan: WatchPlan = emptyPlan();
  #sockets = new Map<number, Socket>();
  #pinned = new Set<string>();
  #allQuotes = false;
  /** The server's quote universe, and every online pair in any quote. */
  #universe: PairMetadata[] = [];
  #everyQuote: PairMetadata[] = [];
  #cancelReplan: CancelTimer | undefined;
  #replanQueued = false;
  #selection: Selection | undefined;
  #generation = 0;
  #fillRun = 0;
  #cacheOpening: Promise<CandleCache> | undefined;
  #failedSymbols = new Map<string, string>();
  /**
   * The latest trades of each symbol with a trade subscription (at most
   * {@linkcode RECENT_TRADES} each), so selecting a pair that was already
   * in focus (a position, a pin, a lingering pair) fills the tape at once:
   * its subscription's snapshot arrived before it was selected.
   */
  #recentTrades = new Map<string, TradeView[]>();
  /** The newest trade id the page has of the selected symbol. */
  #shownTradeId = -1;
  #restReachable: boolean | null = null;
  #restError: string | undefined;
  #cancelStatus: CancelTimer | undefined;
  #lastRestPollMs = -Infinity;
  #closed = false;
  #offs: (() => void)[] = [];
  #allPairs = new Map<string, PairMetadata>();
  #accountFeed: AccountFeedState = initialAccountFeed();
  #accountSource: EventSourceLike | undefined;
  #accountWatched = false;
  #cancelAccountRetry: CancelTimer | undefined;

  /**
   * Create the worker; nothing happens until the page sends `init`.
   *
   * @param deps Injected services.
   */
  constructor(deps: MarketWorkerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? systemClock.now;
    this.#setTimer = deps.setTimer ?? systemClock.setTimer;
    this.#client = new ProxyClient(deps.origin, {
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
    this.#limits = watchLimits(deps.watchLimits);
    this.#focus = new FocusTracker(this.#limits);
    this.#coalescer = new BatchCoalescer(
      (batch) => this.#deps.post(batch),
      deps.setTimer === undefined ? {} : { setTimer: deps.setTimer },
    );
  }

  /** The candle cache, once `init` opened it. */
  get cache(): CandleCache | undefined {
    return this.#cache;
  }

  /** The first public socket (focus channels and the first scouts). */
  get connection(): WsConnection | undefined {
    return this.#sockets.get(0)?.ws;
  }

  /** Every public socket, by index. */
  get connections(): ReadonlyMap<number, WsConnection> {
    return new Map([...this.#sockets].map(([i, s]) => [i, s.ws]));
  }

  /** The watch plan applied now (for tests and status). */
  get plan(): Readonly<WatchPlan> {
    return this.#plan;
  }

  /**
   * Handle one message from the page. Never throws: bad input is answered
   * with an error value (or dropped when it has no request id).
   *
   * @param data The message event's data.
   * @returns When the request was answered (for tests).
   */
  async receive(data: unknown): Promise<void> {
    const parsed = parsePageMessage(data);
    if (!parsed.ok) {
      if (parsed.id !== undefined) {
        this.#deps.post({
          kind: "reply",
          id: parsed.id,
          method: parsed.method ?? "init",
          result: { ok: false, error: parsed.error },
        } as WorkerMessage);
      }
      return;
    }
    await this.#handle(parsed.value);
  }

  async #handle(message: PageMessage): Promise<void> {
    if (message.kind === "ack") {
      this.#coalescer.ack(message.seq);
      return;
    }
    let result: Result<RequestMap[RequestMethod]["result"]>;
    try {
      result = await this.#dispatch(message);
    } catch (error) {
      result = { ok: false, error: errorValue(error) };
    }
    if (this.#closed) return;
    this.#deps.post(
      {
        kind: "reply",
        id: message.id,
        method: message.method,
        result,
      } as WorkerMessage,
    );
    if (message.method === "select" && result.ok) this.#startFill();
  }

  #dispatch(
    request: PageRequest,
  ): Promise<Result<RequestMap[RequestMethod]["result"]>> {
    switch (request.method) {
      case "init":
        return this.#initialize();
      case "watch":
        return this.#ready(() => this.#setWatch(request.params));
      case "select":
        return this.#ready(() => this.#select(request.params));
      case "account":
        return this.#ready(() => this.#account());
      case "watchAccount":
        return this.#ready(() => this.#watchAccount());
    }
  }

  async #ready<T>(run: () => Promise<Result<T>>): Promise<Result<T>> {
    const init = this.#init === undefined ? undefined : await this.#init;
    if (init === undefined || !init.ok) {
      return {
        ok: false,
        error: workerError(
          "not_ready",
          "Call init first (or again after it failed)",
        ),
      };
    }
    return await run();
  }

  #initialize(): Promise<Result<InitInfo>> {
    if (this.#init !== undefined) return this.#init;
    const init = this.#start().catch((error) => {
      this.#init = undefined;
      return { ok: false as const, error: errorValue(error) };
    });
    this.#init = init;
    return init;
  }

  async #start(): Promise<Result<InitInfo>> {
    const config = await this.#client.config();
    this.#config = config;
    // Opened while the market loads; kept for a retry after a failed init.
    const cachePromise = this.#cacheOpening ??= this.#openCache();
    const market = await loadMarketMetadata({
      assets: async () =>
        (await this.#client.publicCall("Assets")).result as Record<
          string,
          AssetInfo
        >,
      assetPairs: async () =>
        (await this.#client.publicCall("AssetPairs")).result as Record<
          string,
          AssetPairInfo
        >,
    }).catch((error) => {
      throw startError(error, config);
    });
    this.#assets = market.assets;
    const all = market.pairs;
    for (const pair of all) this.#allPairs.set(pair.id, pair);
    const pick = (quote: string) =>
      selectUniverse(all, { quote }, { resolver: market.resolver }).ids.map(
        (id) => this.#allPairs.get(id) as PairMetadata,
      );
    this.#universe = pick(config.quote).sort(bySymbolName);
    // Every quote: the same selection rules, quote by quote (one symbol
    // per market, online spot pairs only).
    const quotes = [...new Set(all.map((p) => p.quote.toUpperCase()))];
    const seen = new Set<string>();
    for (const quote of quotes) {
      for (const pair of pick(quote)) {
        if (seen.has(pair.wsV2)) continue;
        seen.add(pair.wsV2);
        this.#everyQuote.push(pair);
      }
    }
    this.#everyQuote.sort(bySymbolName);
    this.#setScope(false);
    this.#cache = await cachePromise;
    this.#connect(config);
    const pairs = this.#universe.map(pairView);
    return {
      ok: true,
      value: {
        protocol: PROTOCOL_VERSION,
        config: configView(config),
        pairs,
        storage: this.#cache.storage,
      },
    };
  }

  async #openCache(): Promise<CandleCache> {
    let kv: KeyValueStore | undefined;
    try {
      kv = this.#deps.openStore?.();
    } catch {
      kv = undefined;
    }
    return await CandleCache.open(kv, {
      onStorageError: (failure) => this.#storageFailed(failure),
    });
  }

  #storageFailed(failure: StorageFailure): void {
    this.#coalescer.notice({
      level: "warning",
      code: "storage_degraded",
      message:
        `Candle cache ${failure.operation} failed (${failure.name}); history is kept in memory for this session`,
    });
    this.#pushStatus();
  }

  #connect(config: ServerConfig): void {
    const live = new LiveCache({
      now: this.#now,
      staleToleranceSec: config.staleToleranceSec,
      onCandleClosed: (candle) => this.#candleClosed(candle),
    });
    this.#live = live;
    this.#replan();
    this.#statusLoop();
  }

  /** Open public socket `index` and listen to it. */
  #openSocket(index: number): Socket {
    const config = this.#config as ServerConfig;
    const ws = new WsConnection(config.wsPublicUrl, {
      books: this.#books,
      setTimer: this.#setTimer,
      now: this.#now,
      ...(this.#deps.WebSocket === undefined
        ? {}
        : { WebSocket: this.#deps.WebSocket }),
    });
    const offs: (() => void)[] = [];
    if (this.#live !== undefined) offs.push(this.#live.attach(ws));
    offs.push(ws.on("frame", (frame) => {
      const atMs = this.#now();
      switch (frame.kind) {
        case "ticker": {
          const symbol = frame.ticker.symbol;
          if (!this.#plan.scoutOn.has(symbol)) {
            const selected = this.#selection?.pair.wsV2;
            if (selected !== symbol) return;
          }
          this.#failedSymbols.delete(symbol);
          this.#coalescer.ticker(symbol, tickerView(frame.ticker, atMs));
          return;
        }
        case "trade": {
          const selected = this.#selection?.pair.wsV2;
          for (const trade of frame.trades) this.#remember(tradeView(trade));
          // Only what the page does not have yet (a snapshot repeats what
          // the select already sent from the recent trades).
          const trades = frame.trades.filter((t) =>
            t.symbol === selected &&
            (t.tradeId === undefined || t.tradeId > this.#shownTradeId)
          ).map(tradeView);
          if (trades.length > 0) this.#showTrades(trades);
          return;
        }
        case "ohlc": {
          const selection = this.#selection;
          if (selection === undefined) return;
          const minutes = timeframeToMinutes(selection.timeframe);
          if (
            frame.candles.some((c) =>
              c.symbol === selection.pair.wsV2 && c.intervalMin === minutes
            )
          ) {
            this.#coalescer.liveCandle(() => this.#liveCandleView());
          }
          return;
        }
        default:
          return;
      }
    }));
    offs.push(ws.on("book", (result) => {
      const selected = this.#selection?.pair.wsV2;
      if (result.kind !== "malformed" && result.symbol === selected) {
        this.#coalescer.book(() => this.#bookView());
      }
    }));
    offs.push(ws.on("subscription_error", (event) => {
      if (event.symbol !== undefined) {
        this.#failedSymbols.set(event.symbol, event.error);
      }
      this.#pushStatus();
    }));
    for (
      const name of [
        "connecting",
        "open",
        "closed",
        "reconnecting",
        "stalled",
        "status",
      ] as const
    ) {
      offs.push(ws.on(name, () => this.#pushStatus()));
    }
    offs.push(ws.on("resubscribed", () => {
      this.#pushStatus();
      // Candles that closed while the focus socket was down are missing.
      if (index === 0 && this.#selection !== undefined) this.#startFill();
    }));
    ws.connect();
    const socket: Socket = { ws, subs: new Map(), offs };
    this.#sockets.set(index, socket);
    return socket;
  }

  #closeSocket(index: number): void {
    const socket = this.#sockets.get(index);
    if (socket === undefined) return;
    this.#sockets.delete(index);
    for (const off of socket.offs) off();
    // Closing drops its subscriptions with it: no unsubscribe per entry.
    socket.ws.close();
  }

  /** The scouted pairs of the current scope. */
  #setScope(allQuotes: boolean): void {
    this.#allQuotes = allQuotes;
    this.#pairs.clear();
    this.#bySymbol.clear();
    for (const pair of allQuotes ? this.#everyQuote : this.#universe) {
      this.#pairs.set(pair.id, pair);
      this.#bySymbol.set(pair.wsV2, pair);
    }
  }

  /** Why each pair wants focus now. */
  #wanted(): [string, FocusReason][] {
    const wanted: [string, FocusReason][] = [];
    const selected = this.#selection?.pair.wsV2;
    if (selected !== undefined) wanted.push([selected, "detail"]);
    const feed = this.#accountFeed;
    for (const order of feed.orders.values()) {
      if (this.#bySymbol.has(order.pair)) wanted.push([order.pair, "order"]);
    }
    const quote = this.#config?.quote.toUpperCase();
    for (const [asset, balance] of feed.balances) {
      if (asset.toUpperCase() === quote || Number(balance) === 0) continue;
      const symbol = `${asset}/${quote}`;
      if (this.#bySymbol.has(symbol)) wanted.push([symbol, "position"]);
    }
    for (const symbol of this.#pinned) wanted.push([symbol, "pinned"]);
    return wanted;
  }

  /** Replan soon (account changes arrive in bursts). */
  #queueReplan(): void {
    if (this.#replanQueued || this.#live === undefined) return;
    this.#replanQueued = true;
    queueMicrotask(() => {
      this.#replanQueued = false;
      this.#replan();
    });
  }

  /**
   * Decide the focus, plan the sockets and apply the difference:
   * sockets that empty are closed, releases go before subscriptions (one
   * book depth per symbol per socket), and new entries go out in
   * request-sized groups.
   */
  #replan(): void {
    if (this.#closed || this.#config === undefined) return;
    this.#cancelReplan?.();
    this.#cancelReplan = undefined;
    const nowMs = this.#now();
    const decision = this.#focus.update(this.#wanted(), nowMs);
    const selection = this.#selection;
    const scout = (this.#allQuotes ? this.#everyQuote : this.#universe).map(
      (p) => p.wsV2,
    );
    const next = planWatch(this.#plan, scout, decision.focus, {
      detail: selection?.pair.wsV2,
      detailDepth: selection?.depth ?? 10,
      intervalMin: timeframeToMinutes(selection?.timeframe ?? "5m"),
    }, this.#limits);
    const diff = diffPlans(this.#plan, next, this.#limits);
    this.#plan = next;
    for (const index of diff.close) this.#closeSocket(index);
    for (const index of diff.open) this.#openSocket(index);
    for (const [index, entries] of diff.unsubscribe) {
      const socket = this.#sockets.get(index);
      for (const entry of entries) {
        const key = entryKey(entry);
        socket?.subs.get(key)?.release();
        socket?.subs.delete(key);
        // No trade subscription, no fresh recent trades: a later select
        // waits for the new subscription's snapshot instead.
        if (entry.channel === "trade") this.#recentTrades.delete(entry.symbol);
      }
    }
    for (const [index, groups] of diff.subscribe) {
      const socket = this.#sockets.get(index);
      if (socket === undefined) continue;
      for (const group of groups) this.#subscribeGroup(socket, group);
    }
    if (decision.nextChangeAtMs !== undefined) {
      this.#cancelReplan = this.#setTimer(
        () => this.#replan(),
        Math.max(0, decision.nextChangeAtMs - nowMs),
      );
    }
    this.#pushStatus();
  }

  /**
   * Subscribe a group in one frame, holding each entry on its own so it
   * can be released alone: the group's hold sends the frame, each entry's
   * own hold only counts a reference, and the group's hold is dropped.
   */
  #subscribeGroup(socket: Socket, group: PlannedEntry[]): void {
    const first = group[0];
    if (first === undefined) return;
    const request = (symbol: string | string[]): WsSubscribeRequest => {
      const base: WsSubscribeRequest = { channel: first.channel, symbol };
      if (first.channel === "trade") base.snapshot = true;
      if (first.channel === "ohlc") {
        base.interval = first.interval as number;
        base.snapshot = true;
      }
      if (first.channel === "book") {
        const pair = this.#bySymbol.get(symbol as string);
        base.depth = first.depth as 10 | 25;
        if (pair !== undefined) {
          base.priceDecimals = pair.priceDecimals;
          base.qtyDecimals = pair.volumeDecimals;
        }
      }
      return base;
    };
    if (first.channel === "book") {
      // Each book carries its own checksum precision.
      for (const entry of group) {
        socket.subs.set(
          entryKey(entry),
          socket.ws.subscribe(request(entry.symbol)),
        );
      }
      return;
    }
    const hold = socket.ws.subscribe(request(group.map((e) => e.symbol)));
    for (const entry of group) {
      socket.subs.set(
        entryKey(entry),
        socket.ws.subscribe(request(entry.symbol)),
      );
    }
    hold.release();
  }

  #watchStatus(): WatchStatus {
    const usage = planUsage(this.#plan);
    return {
      scouted: this.#plan.scoutOn.size,
      unscouted: this.#plan.unscouted.length,
      focus: [...this.#plan.focus],
      connections: usage.connections,
      perConnection: usage.perConnection,
      subscriptions: usage.entries,
    };
  }

  #statusLoop(): void {
    if (this.#closed) return;
    this.#pushStatus();
    const nowMs = this.#now();
    if (nowMs - this.#lastRestPollMs >= (this.#deps.restPollMs ?? 5000)) {
      this.#lastRestPollMs = nowMs;
      this.#client.restStatus().then((rest) => {
        this.#restReachable = rest.reachable;
        this.#restError = rest.lastError ?? undefined;
      }, (error) => {
        // The server itself is unreachable: so is REST, from here.
        this.#restReachable = false;
        this.#restError = errorValue(error).message;
      });
    }
    this.#cancelStatus = this.#setTimer(
      () => this.#statusLoop(),
      this.#deps.statusIntervalMs ?? 1000,
    );
  }

  #pushStatus(): void {
    this.#coalescer.status(() => this.#statusView());
  }

  #statusView(): StatusView | undefined {
    const config = this.#config;
    const sockets = [...this.#sockets.entries()].sort(([a], [b]) => a - b)
      .map(([, s]) => s.ws.snapshot());
    if (sockets.length === 0 || config === undefined) return undefined;
    // One line for all sockets: the worst state, summed reconnects, the
    // newest frame and heartbeat.
    const order = ["closed", "waiting", "connecting", "idle", "open"];
    const worst = sockets.reduce((a, b) =>
      order.indexOf(b.state) < order.indexOf(a.state) ? b : a
    );
    const max = (values: (number | undefined)[]) => {
      const known = values.filter((v): v is number => v !== undefined);
      return known.length === 0 ? undefined : Math.max(...known);
    };
    const view: StatusView = {
      mode: config.mode,
      wsState: worst.state,
      reconnects: sockets.reduce((n, s) => n + s.reconnects, 0),
      attempt: Math.max(...sockets.map((s) => s.attempt)),
      restReachable: this.#restReachable,
      checksumFailures: this.#books.checksumFailures(),
      malformedFrames: sockets.reduce((n, s) => n + s.malformedFrames, 0),
      failedSymbols: Object.fromEntries(this.#failedSymbols),
      storage: this.#cache?.storage ?? { kind: "memory" },
      watch: this.#watchStatus(),
    };
    const heartbeat = max(sockets.map((s) => s.lastHeartbeatAtMs));
    if (heartbeat !== undefined) view.lastHeartbeatAtMs = heartbeat;
    const frame = max(sockets.map((s) => s.lastFrameAtMs));
    if (frame !== undefined) view.lastFrameAtMs = frame;
    const system = sockets[0]?.system;
    if (system !== undefined) view.system = system.system;
    if (this.#restError !== undefined) view.restError = this.#restError;
    return view;
  }

  #resolve(name: string): PairMetadata | undefined {
    return this.#pairs.get(name) ?? this.#bySymbol.get(name) ??
      this.#bySymbol.get(name.toUpperCase());
  }

  #setWatch(params: WatchParams): Promise<Result<WatchInfo>> {
    if (params.allQuotes !== this.#allQuotes) this.#setScope(params.allQuotes);
    this.#pinned = new Set(
      params.pinned.map((n) => this.#resolve(n)?.wsV2).filter((
        s,
      ): s is string => s !== undefined),
    );
    this.#replan();
    return Promise.resolve({
      ok: true,
      value: {
        pairs: (this.#allQuotes ? this.#everyQuote : this.#universe).map(
          pairView,
        ),
        allQuotes: this.#allQuotes,
      },
    });
  }

  /** Keep a trade in its symbol's recent list (ordered, no repeats). */
  #remember(trade: TradeView): void {
    const list = this.#recentTrades.get(trade.symbol) ?? [];
    const last = list.at(-1)?.tradeId;
    if (
      trade.tradeId !== undefined && last !== undefined &&
      trade.tradeId <= last
    ) {
      return;
    }
    list.push(trade);
    if (list.length > RECENT_TRADES) {
      list.splice(0, list.length - RECENT_TRADES);
    }
    this.#recentTrades.set(trade.symbol, list);
  }

  /** Send trades of the selected symbol to the page. */
  #showTrades(trades: TradeView[]): void {
    for (const t of trades) {
      if (t.tradeId !== undefined && t.tradeId > this.#shownTradeId) {
        this.#shownTradeId = t.tradeId;
      }
    }
    this.#coalescer.trades(trades);
  }

  async #select(
    params: RequestMap["select"]["params"],
  ): Promise<Result<SelectInfo>> {
    const generation = ++this.#generation;
    if (params.pair === null) {
      this.#selection = undefined;
      this.#replan();
      return {
        ok: true,
        value: {
          pair: null,
          timeframe: params.timeframe,
          candles: [],
          source: "cache",
        },
      };
    }
    const pair = this.#resolve(params.pair);
    if (pair === undefined) {
      return {
        ok: false,
        error: workerError(
          "unknown_pair",
          `Cannot select "${params.pair}": not in the universe`,
        ),
      };
    }
    this.#selection = {
      pair,
      timeframe: params.timeframe,
      depth: params.depth,
      limit: params.limit ?? 1000,
      generation,
    };
    // The detail pair is the focus's first: its book, trades and candles
    // come from the plan (a lingering previous pair keeps its own).
    this.#shownTradeId = -1;
    this.#replan();
    this.#coalescer.book(() => this.#bookView());
    // Already subscribed (in focus before it was selected): its trades are
    // here, and no new snapshot will come.
    const recent = this.#recentTrades.get(pair.wsV2);
    if (recent !== undefined && recent.length > 0) {
      this.#showTrades([...recent]);
    }
    const cache = this.#cache as CandleCache;
    const candles = await cache.last(
      pair.id,
      params.timeframe,
      params.limit ?? 1000,
    );
    return {
      ok: true,
      value: {
        pair: pair.id,
        timeframe: params.timeframe,
        candles: candles.map(candleView),
        source: "cache",
      },
    };
  }

  /**
   * Fill the selected series from the proxy after the cached answer went
   * out. One fill runs at a time: a newer one (another selection, a
   * reconnect) silences the older, so the page never sees two fills'
   * progress interleaved. Every fill ends with a `done` or `failed`
   * progress, and says `ohlc` at once, before its first request, so the
   * page never keeps a previous series' label.
   */
  #startFill(): void {
    const selection = this.#selection;
    if (selection === undefined) return;
    const { pair, timeframe, limit } = selection;
    const generation = selection.generation;
    const run = ++this.#fillRun;
    const current = () =>
      !this.#closed && this.#selection?.generation === generation &&
      this.#fillRun === run;
    const cache = this.#cache as CandleCache;
    const maxPages = this.#deps.maxTradePages ?? 10;
    const report = (
      phase: ProgressView["phase"],
      unit: ProgressView["unit"],
      done: number,
      total: number,
      error?: string,
    ) => {
      if (!current()) return;
      this.#coalescer.progress({
        pair: pair.id,
        timeframe,
        phase,
        unit,
        done: Math.max(0, Math.round(done)),
        total: Math.max(0, Math.round(total)),
        ...(error === undefined ? {} : { error }),
      });
    };
    // OHLC progress comes from core in intervals; trade pages are counted
    // here, before each request, so a slow (paced) page shows which page
    // it waits for instead of a frozen interval count.
    const onProgress = (progress: BackfillProgress) => {
      if (progress.phase === "ohlc") {
        report("ohlc", "intervals", progress.done, progress.total);
      }
    };
    const client = this.#client;
    // A superseded fill stops before its next request: its paced pages
    // would otherwise hold up the new selection's behind the rate limiter.
    const stillWanted = () => {
      if (!current()) throw new Error("superseded by a newer selection");
    };
    const pagedSource = () => {
      let pages = 0;
      return {
        ohlc: (id: string, options: { interval: number; since?: number }) => {
          stillWanted();
          return client.ohlc(id, options);
        },
        trades: (id: string, options: { since?: string; count?: number }) => {
          stillWanted();
          report("trades", "pages", pages, maxPages);
          pages++;
          return client.trades(id, options);
        },
      };
    };
    report("ohlc", "intervals", 0, 0);
    const fill = async () => {
      const result = await backfillOhlc(pair.id, timeframe, {
        store: cache,
        source: pagedSource(),
        now: this.#now,
        onProgress,
        fromTrades: true,
        priceDecimals: pair.priceDecimals,
        volumeDecimals: pair.volumeDecimals,
        maxPages,
      });
      if (!current()) return;
      await this.#sendHistory(pair, timeframe, limit);
      // Older than the OHLC window: rebuild from trades, within a page budget.
      const held = await cache.last(pair.id, timeframe, limit);
      const oldest = held[0]?.openTimeSec;
      const intervalSec = timeframeToSeconds(timeframe);
      if (
        current() && oldest !== undefined && held.length < limit &&
        intervalSec <= 900 && result.ohlcPages > 0
      ) {
        await backfillFromTrades(pair.id, timeframe, {
          store: cache,
          source: pagedSource(),
          now: this.#now,
          sinceSec: oldest - (limit - held.length) * intervalSec,
          untilSec: oldest,
          priceDecimals: pair.priceDecimals,
          volumeDecimals: pair.volumeDecimals,
          maxPages,
        });
        if (!current()) return;
        await this.#sendHistory(pair, timeframe, limit);
      }
      report("done", "intervals", 1, 1);
    };
    fill().catch((error) => {
      if (!current()) return;
      const value = errorValue(error);
      report("failed", "intervals", 0, 0, value.message);
      this.#coalescer.notice({
        level: "warning",
        code: "backfill_failed",
        message: `History for ${pair.wsV2} ${timeframe}: ${value.message}`,
      });
    });
  }

  async #sendHistory(
    pair: PairMetadata,
    timeframe: PageTimeframe,
    limit: number,
  ): Promise<void> {
    const candles = await (this.#cache as CandleCache).last(
      pair.id,
      timeframe,
      limit,
    );
    if (this.#selection?.pair.id !== pair.id) return;
    this.#coalescer.history({
      pair: pair.id,
      timeframe,
      candles: candles.map(candleView),
      source: "network",
    });
  }

  #candleClosed(candle: WsCandle): void {
    const pair = this.#bySymbol.get(candle.symbol);
    if (pair === undefined || this.#cache === undefined) return;
    let timeframe: Timeframe;
    try {
      timeframe = minutesToTimeframe(candle.intervalMin);
    } catch {
      return;
    }
    this.#cache.upsert(pair.id, timeframe, [storedCandle(candle)]).catch(
      () => {
        // The cache reports storage failures itself and never rejects.
      },
    );
  }

  #liveCandleView() {
    const selection = this.#selection;
    const live = this.#live;
    if (selection === undefined || live === undefined) return undefined;
    let candle: WsCandle;
    try {
      candle = live.getLiveOhlc(
        selection.pair.wsV2,
        timeframeToMinutes(selection.timeframe),
      );
    } catch {
      return undefined;
    }
    return {
      pair: selection.pair.id,
      timeframe: selection.timeframe,
      candle: candleView(storedCandle(candle)),
    };
  }

  #bookView(): BookView | undefined {
    const selection = this.#selection;
    if (selection === undefined) return undefined;
    const symbol = selection.pair.wsV2;
    const top = this.#books.top(symbol, selection.depth);
    return {
      symbol,
      depth: selection.depth,
      integrity: this.#books.integrity(symbol),
      checksumFailures: this.#books.checksumFailures(symbol),
      bids: top?.bids.map((l) => ({ price: l.price, qty: l.qty })) ?? [],
      asks: top?.asks.map((l) => ({ price: l.price, qty: l.qty })) ?? [],
      updatedAtMs: this.#now(),
    };
  }

  async #account(): Promise<Result<AccountInfo>> {
    if (this.#config?.privateData !== true) {
      return {
        ok: false,
        error: workerError(
          "no_credentials",
          "The server has no Kraken credentials",
        ),
      };
    }
    const [balance, orders] = await Promise.all([
      this.#client.getJson("/api/private/balance"),
      this.#client.getJson("/api/private/open-orders"),
    ]);
    return {
      ok: true,
      value: {
        balances: this.#balances(resultOf(balance.body)),
        openOrders: openOrders(
          resultOf(orders.body),
          (altname) => this.#allPairs.get(altname)?.wsV2,
        ),
      },
    };
  }

  #watchAccount(): Promise<Result<{ streaming: boolean }>> {
    if (this.#config?.privateData !== true) {
      return Promise.resolve({
        ok: false,
        error: workerError(
          "no_credentials",
          "The server has no Kraken credentials",
        ),
      });
    }
    const Source = this.#deps.EventSource ??
      (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!this.#accountWatched) {
      this.#accountWatched = true;
      if (Source === undefined) {
        // No streams here: one REST answer is the best there is.
        this.#accountStep({ type: "wire.error", closed: true });
      } else this.#openAccountStream(Source);
    }
    return Promise.resolve({
      ok: true,
      value: { streaming: Source !== undefined },
    });
  }

  #openAccountStream(Source: EventSourceConstructor): void {
    if (this.#closed) return;
    const source = new Source(
      new URL("/api/private/events", this.#deps.origin).href,
    );
    this.#accountSource = source;
    source.onopen = () => this.#accountStep({ type: "wire.open" });
    for (const channel of ["executions", "balances", "gap"]) {
      source.addEventListener(channel, (event) => {
        this.#accountStep({
          type: "wire.message",
          channel,
          text: String(event.data),
        });
      });
    }
    // The server re-read the account from REST: its answer, in the page's
    // names (asset codes, WS v2 symbols), replaces what the feed holds.
    source.addEventListener("resync", (event) => {
      const account = this.#resyncAccount(String(event.data));
      if (account !== undefined) {
        this.#accountStep({ type: "wire.resync", account });
      }
    });
    source.onerror = () => {
      // CLOSED: the server refused the stream (not an event stream, an HTTP
      // error); the browser will not retry, so try again later ourselves.
      const closed = source.readyState === 2;
      this.#accountStep({ type: "wire.error", closed });
      if (closed && this.#accountSource === source) {
        source.close();
        this.#accountSource = undefined;
        this.#cancelAccountRetry = this.#setTimer(() => {
          this.#cancelAccountRetry = undefined;
          this.#openAccountStream(Source);
        }, this.#deps.accountRetryMs ?? 15_000);
      }
    };
  }

  #accountStep(event: AccountFeedEvent): void {
    if (this.#closed) return;
    const { state, effects } = stepAccountFeed(this.#accountFeed, event);
    this.#accountFeed = state;
    for (const effect of effects) this.#accountEffect(effect);
  }

  #accountEffect(effect: AccountFeedEffect): void {
    switch (effect.type) {
      case "publish":
        this.#coalescer.account(() => accountView(this.#accountFeed));
        // Positions and open orders are part of the focus.
        this.#queueReplan();
        return;
      case "notice":
        this.#coalescer.notice({
          level: "warning",
          code: "account_refresh_failed",
          message: effect.message,
        });
        return;
      case "refresh":
        this.#account().then(
          (result) =>
            this.#accountStep(
              result.ok
                ? { type: "rest.account", account: result.value }
                : { type: "rest.failed", message: result.error.message },
            ),
          (error) =>
            this.#accountStep({
              type: "rest.failed",
              message: errorValue(error).message,
            }),
        );
        return;
    }
  }

  /** A relayed `resync` event as the page's account, or none for bad input. */
  #resyncAccount(text: string): AccountInfo | undefined {
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      // Bad wire input is dropped.
      return undefined;
    }
    const result = typeof event === "object" && event !== null &&
        "result" in event
      ? (event as { result: unknown }).result
      : undefined;
    if (typeof result !== "object" || result === null) return undefined;
    return {
      balances: this.#balances((result as { balances?: unknown }).balances),
      openOrders: openOrders(
        result,
        (altname) => this.#allPairs.get(altname)?.wsV2,
      ),
    };
  }

  #balances(result: unknown): BalanceView[] {
    if (typeof result !== "object" || result === null) return [];
    const out: BalanceView[] = [];
    for (const [key, value] of Object.entries(result)) {
      const entry: Record<string, unknown> =
        typeof value === "object" && value !== null
          ? value as Record<string, unknown>
          : { balance: value };
      const balance = String(entry.balance ?? "0");
      if (Number(balance) === 0) continue;
      let asset = key;
      try {
        const parsed = this.#assets.parseBalance(key);
        asset = parsed.suffix === null
          ? parsed.asset
          : `${parsed.asset}.${parsed.suffix}`;
      } catch {
        // Unknown spelling: show it as Kraken wrote it.
      }
      out.push({ asset, balance, hold: String(entry.hold_trade ?? "0") });
    }
    return out.sort((a, b) => a.asset < b.asset ? -1 : 1);
  }

  /**
   * Stop everything: socket, timers, batches.
   */
  close(): void {
    this.#closed = true;
    this.#cancelStatus?.();
    this.#cancelReplan?.();
    this.#cancelAccountRetry?.();
    this.#accountSource?.close();
    this.#accountSource = undefined;
    for (const off of this.#offs) off();
    this.#offs = [];
    for (const index of [...this.#sockets.keys()]) this.#closeSocket(index);
    this.#coalescer.close();
  }
}

function bySymbolName(a: PairMetadata, b: PairMetadata): number {
  return a.wsV2 < b.wsV2 ? -1 : a.wsV2 > b.wsV2 ? 1 : 0;
}

function resultOf(body: unknown): unknown {
  return typeof body === "object" && body !== null && "result" in body
    ? (body as { result: unknown }).result
    : undefined;
}

/** REST order status → the WS v2 `order_status` the stream uses. */
function streamStatus(status: string, filled: string): string {
  switch (status) {
    case "pending":
      return "pending_new";
    case "open":
      return Number(filled) > 0 ? "partially_filled" : "new";
    default:
      return status;
  }
}

function openOrders(
  result: unknown,
  symbolOf: (altname: string) => string | undefined,
): OrderView[] {
  const open = typeof result === "object" && result !== null &&
      "open" in result
    ? (result as { open: unknown }).open
    : undefined;
  if (typeof open !== "object" || open === null) return [];
  const out: OrderView[] = [];
  for (const [id, raw] of Object.entries(open)) {
    if (typeof raw !== "object" || raw === null) continue;
    const order = raw as Record<string, unknown>;
    const descr = typeof order.descr === "object" && order.descr !== null
      ? order.descr as Record<string, unknown>
      : {};
    const altname = String(descr.pair ?? "");
    const filled = String(order.vol_exec ?? "0");
    out.push({
      id,
      // The stream names pairs by WS v2 symbol; show one spelling.
      pair: symbolOf(altname) ?? altname,
      side: String(descr.type ?? ""),
      orderType: String(descr.ordertype ?? ""),
      price: String(descr.price ?? "0"),
      volume: String(order.vol ?? ""),
      filled,
      status: streamStatus(String(order.status ?? ""), filled),
      openedAtSec: Number(order.opentm ?? 0),
    });
  }
  return out.sort((a, b) => b.openedAtSec - a.openedAtSec);
}
