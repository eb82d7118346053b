/**
 * A resilient Kraken WebSocket v2 client: connect, ping, silence watchdog,
 * reconnect with capped exponential backoff, jitter and a connection budget,
 * reference-counted subscriptions replayed after every reconnect, per-symbol
 * subscription errors, book frames into a {@linkcode BookSet} with
 * resubscribe-on-checksum-mismatch, and an optional token source for the
 * authenticated endpoint.
 *
 * The lifecycle decisions live in the pure machine of `_connection_fsm.ts`;
 * this class is the shell that owns the socket, the timers and the
 * subscription table. Runtime services (WebSocket constructor, clock, timers,
 * random) are injected, so the same code runs in Deno, a browser worker and
 * tests with fakes.
 *
 * @module
 */

import {
  callListeners,
  type ListenerErrorHandler,
  rethrowLater,
} from "../listeners.ts";
import {
  type CancelTimer,
  type Now,
  type Random,
  type SetTimer,
  systemClock,
} from "../clock.ts";
import { type BookApplyResult, type BookDepth, BookSet } from "./book.ts";
import {
  type ConnectionConfig,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionNotice,
  type ConnectionPhase,
  type ConnectionState,
  type ConnectionTimer,
  DEFAULT_CONNECTION_CONFIG,
  initialConnectionState,
  stepConnection,
} from "./_connection_fsm.ts";
import {
  buildPing,
  buildSubscribe,
  buildUnsubscribe,
  type MethodResponseFrame,
  parseWsFrame,
  PRIVATE_CHANNELS,
  type SubscriptionParams,
  type SystemStatusInfo,
  type WsFrame,
} from "./protocol.ts";

export type { ConnectionConfig, ConnectionPhase } from "./_connection_fsm.ts";

/**
 * A handler property of {@linkcode WebSocketLike}. Declared through a method
 * so that parameters compare bivariantly: the DOM's `WebSocket` (handlers
 * taking `Event`, `MessageEvent`, `CloseEvent`) then fits without a cast.
 */
export type SocketHandler<E> = { handle(event: E): void }["handle"];

/** The part of the standard `WebSocket` the client uses. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Called when the socket opens. */
  onopen: SocketHandler<unknown> | null;
  /** Called for every message; `data` is a string for text frames. */
  onmessage: SocketHandler<{ data: unknown }> | null;
  /** Called when the socket closed. */
  onclose: SocketHandler<{ code: number; reason: string }> | null;
  /** Called on an error (a close follows). */
  onerror: SocketHandler<unknown> | null;
  /** Send a text frame. */
  send(data: string): void;
  /** Close the socket. */
  close(code?: number, reason?: string): void;
}

/** A constructor with the shape of the standard `WebSocket`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The parts of {@linkcode BookSet} the client uses (inject a shared one). */
export type BookSink = Pick<
  BookSet,
  | "track"
  | "untrack"
  | "applyText"
  | "markResyncing"
  | "integrity"
  | "checksumFailures"
  | "symbols"
  | "top"
  | "bestBidAsk"
>;

/** Options of {@linkcode WsConnection}. */
export interface WsConnectionOptions extends Partial<ConnectionConfig> {
  /** WebSocket constructor; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Clock in ms; defaults to `systemClock.now`. */
  now?: Now;
  /**
   * Runs `fn` once after `delayMs` and returns a function that cancels it;
   * defaults to `systemClock.setTimer`.
   */
  setTimer?: SetTimer;
  /** Random numbers in `[0, 1)` for jitter; defaults to `systemClock.random`. */
  random?: Random;
  /** Books fed by `book` frames; defaults to a new `BookSet`. */
  books?: BookSink;
  /**
   * Source of a fresh session token (REST `GetWebSocketsToken`), called once
   * per connection that has private subscriptions. The token is only ever
   * put into outgoing private requests.
   */
  getToken?: () => Promise<string>;
  /**
   * An acknowledged subscription that expects a snapshot and delivers
   * nothing this long is resubscribed; if it stays silent, the socket is
   * replaced. Default 15 000.
   */
  firstDataTimeoutMs?: number;
  /** First `req_id` used (then +1 per request). Default 1. */
  firstReqId?: number;
  /**
   * Receives exceptions thrown by event listeners (every listener still
   * runs). Default: rethrown from a microtask, which ends a Deno process;
   * servers pass a handler that logs.
   */
  onListenerError?: ListenerErrorHandler;
}

/** What a caller asks to subscribe to. */
export interface WsSubscribeRequest {
  /** Channel: `ticker`, `book`, `trade`, `ohlc`, `instrument`, `executions`, … */
  channel: string;
  /** One or more pairs (`BTC/USD`); omit for channel-wide subscriptions. */
  symbol?: string | readonly string[];
  /** Book depth. */
  depth?: BookDepth;
  /** OHLC interval in minutes. */
  interval?: number;
  /** Whether to ask for a snapshot (subscribe-only). */
  snapshot?: boolean;
  /** Ticker trigger. */
  eventTrigger?: "trades" | "bbo";
  /** Other channel parameters sent verbatim. */
  extra?: Readonly<Record<string, string | number | boolean>>;
  /** Whether the channel needs a token; default: executions, balances, level3. */
  authenticated?: boolean;
  /** Book price decimals for the checksum (from the pair's metadata). */
  priceDecimals?: number;
  /** Book quantity decimals for the checksum. */
  qtyDecimals?: number;
}

/** A held subscription; release it once. */
export interface WsSubscription {
  /** The keys of the (channel, symbol, params) entries held. */
  readonly keys: readonly string[];
  /** Drop this hold; the last hold of an entry sends `unsubscribe`. */
  release(): void;
  /** Same as `release()`, for `using`. */
  [Symbol.dispose](): void;
}

/** Where one subscription entry stands. */
export type SubscriptionStateName = "idle" | "pending" | "active" | "failed";

/** One subscription entry as reported by {@linkcode WsConnection.snapshot}. */
export interface SubscriptionInfo {
  /** Identity: channel, symbol and params (never the token). */
  key: string;
  /** Channel. */
  channel: string;
  /** Pair, if any. */
  symbol: string | undefined;
  /** `idle` (not sent yet), `pending` (awaiting ack), `active`, `failed`. */
  state: SubscriptionStateName;
  /** Holders. */
  refs: number;
  /** The error of a failed entry. */
  error: string | undefined;
  /** Whether it was acked but delivered nothing despite a resubscribe. */
  silent: boolean;
}

/** Per-book numbers of {@linkcode WsConnection.snapshot}. */
export interface BookInfo {
  /** Pair. */
  symbol: string;
  /** `ok`, `resyncing` or `empty`. */
  integrity: "ok" | "resyncing" | "empty";
  /** Checksum mismatches seen. */
  checksumFailures: number;
  /** Unsubscribe + subscribe cycles sent to re-snapshot it. */
  resubscribes: number;
}

/** A point-in-time view of the connection for status reporting. */
export interface WsConnectionSnapshot {
  /** Lifecycle phase. */
  state: ConnectionPhase;
  /** Consecutive attempts since the connection was last healthy. */
  attempt: number;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Subscription entries. */
  subscriptions: SubscriptionInfo[];
  /** Frames dropped as malformed. */
  malformedFrames: number;
  /** When the last frame arrived (ms). */
  lastFrameAtMs: number | undefined;
  /** When the last heartbeat arrived (ms). */
  lastHeartbeatAtMs: number | undefined;
  /** Round trip of the last answered ping. */
  lastPongLatencyMs: number | undefined;
  /** The exchange's last system status. */
  system: SystemStatusInfo | undefined;
  /** Books. */
  books: BookInfo[];
  /** When the snapshot was taken (ms). */
  atMs: number;
}

/** Events of {@linkcode WsConnection.on} and their payloads. */
export interface WsConnectionEvents {
  /** A socket is being opened. */
  connecting: { attempt: number };
  /** A socket opened; `reconnect` is false for the first. */
  open: { reconnect: boolean };
  /** A socket closed (or was abandoned). */
  closed: { code: number; reason: string; willReconnect: boolean };
  /** The next attempt is scheduled. */
  reconnecting: {
    attempt: number;
    delayMs: number;
    reason: "backoff" | "budget";
  };
  /** The silence watchdog replaced a socket. */
  stalled: { silentMs: number };
  /** All subscriptions were replayed after a reconnect. */
  resubscribed: { subscriptions: number; symbols: string[] };
  /** One (channel, symbol) was acknowledged. */
  subscribed: { channel: string; symbol: string | undefined };
  /** One (channel, symbol) was refused; the rest carry on. */
  "subscription_error": {
    channel: string | undefined;
    symbol: string | undefined;
    error: string;
    reqId: number | undefined;
  };
  /** An acked subscription delivered nothing within `firstDataTimeoutMs`. */
  "silent_subscription": {
    channel: string;
    symbol: string | undefined;
    silentMs: number;
    action: "resubscribe" | "reconnect";
  };
  /** The exchange's system status. */
  status: SystemStatusInfo;
  /** A frame was dropped. */
  malformed: { reason: string; count: number };
  /** A book frame was applied (or refused) by the book set. */
  book: BookApplyResult;
  /** A book failed its checksum and was re-requested. */
  "book_resync": {
    symbol: string;
    expected: number;
    actual: number;
    count: number;
  };
  /** A parsed frame other than book and malformed ones. */
  frame: Exclude<WsFrame, { kind: "book" } | { kind: "malformed" }>;
  /** A ping was answered. */
  pong: { latencyMs: number | undefined };
}

/** Names of {@linkcode WsConnectionEvents}. */
export type WsConnectionEventName = keyof WsConnectionEvents;

interface Entry {
  key: string;
  channel: string;
  symbol: string | undefined;
  /** Group identity: everything but the symbol. */
  groupKey: string;
  params: Omit<SubscriptionParams, "symbol" | "token">;
  authenticated: boolean;
  refs: number;
  state: SubscriptionStateName;
  reqId: number | undefined;
  ackedAtMs: number | undefined;
  strikes: number;
  error: string | undefined;
}

interface PendingRequest {
  keys: string[];
}

// Errors that will not go away by asking again (WS_V2.md §2.7).
const PERMANENT_ERROR = /not supported|name invalid/i;

/**
 * A resilient WebSocket v2 connection.
 *
 * @example Subscribe to tickers
 * ```ts ignore
 * import { WsConnection } from "./connection.ts";
 * const ws = new WsConnection("wss://ws.kraken.com/v2");
 * ws.on("frame", (f) => { if (f.kind === "ticker") console.log(f.ticker.last); });
 * const sub = ws.subscribe({ channel: "ticker", symbol: ["BTC/USD", "ETH/USD"] });
 * ws.connect();
 * // later
 * sub.release();
 * ws.close();
 * ```
 */
export class WsConnection {
  #url: string;
  #config: ConnectionConfig;
  #WebSocket: WebSocketConstructor;
  #now: Now;
  #setTimer: SetTimer;
  #random: Random;
  #getToken: (() => Promise<string>) | undefined;
  #firstDataTimeoutMs: number;
  #books: BookSink;

  #state: ConnectionState = initialConnectionState();
  #timers = new Map<ConnectionTimer, CancelTimer>();
  #socket: WebSocketLike | undefined;
  #generation = 0;
  #token: Promise<string | undefined> | undefined;

  #entries = new Map<string, Entry>();
  #pending = new Map<number, PendingRequest>();
  #nextReqId: number;
  #pingSentAtMs = new Map<number, number>();
  /** Last data time per stream (`channel|symbol` or `ohlc|symbol|interval`). */
  #lastDataAtMs = new Map<string, number>();

  #malformed = 0;
  #lastFrameAtMs: number | undefined;
  #lastHeartbeatAtMs: number | undefined;
  #lastPongLatencyMs: number | undefined;
  #system: SystemStatusInfo | undefined;
  #bookResubscribes = new Map<string, number>();

  #listeners = new Map<string, Set<(payload: never) => void>>();
  #onListenerError: ListenerErrorHandler;

  /**
   * Create a connection; nothing happens until {@linkcode connect}.
   *
   * @param url Endpoint, e.g. `wss://ws.kraken.com/v2`.
   * @param options Injected services and tunables.
   * @throws {TypeError} When no WebSocket constructor is available.
   */
  constructor(url: string, options: WsConnectionOptions = {}) {
    this.#url = url;
    const config: ConnectionConfig = { ...DEFAULT_CONNECTION_CONFIG };
    for (const name of Object.keys(config) as (keyof ConnectionConfig)[]) {
      const value = options[name];
      if (value !== undefined) config[name] = value;
    }
    this.#config = config;
    const ctor = options.WebSocket ??
      (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (ctor === undefined) {
      throw new TypeError(
        `Cannot create a WebSocket connection to ${url}: no WebSocket constructor`,
      );
    }
    this.#WebSocket = ctor;
    this.#now = options.now ?? systemClock.now;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#random = options.random ?? systemClock.random;
    this.#getToken = options.getToken;
    this.#firstDataTimeoutMs = options.firstDataTimeoutMs ?? 15_000;
    this.#books = options.books ?? new BookSet();
    this.#nextReqId = options.firstReqId ?? 1;
    this.#onListenerError = options.onListenerError ?? rethrowLater;
  }

  /** The endpoint URL. */
  get url(): string {
    return this.#url;
  }

  /** The current lifecycle phase. */
  get state(): ConnectionPhase {
    return this.#state.phase;
  }

  /** The books fed by this connection. */
  get books(): BookSink {
    return this.#books;
  }

  /**
   * Start connecting (and keep reconnecting until {@linkcode close}).
   * Calling it again is a no-op.
   *
   * @example Connect
   * ```ts ignore
   * ws.connect();
   * ```
   */
  connect(): void {
    this.#dispatch({ type: "call.connect", atMs: this.#now() });
  }

  /**
   * Stop for good: close the socket, cancel every timer, keep no state
   * that could fire later. Subscriptions are not unsubscribed one by one.
   *
   * @example Close
   * ```ts ignore
   * ws.close();
   * ```
   */
  close(): void {
    this.#dispatch({ type: "call.close", atMs: this.#now() });
    this.#socketGone();
  }

  /**
   * Replace the current socket now (e.g. after a private session went bad).
   *
   * @param reason Why, for the `closed` event.
   * @example Force a reconnect
   * ```ts ignore
   * ws.reconnect("Token expired");
   * ```
   */
  reconnect(reason = "Reconnect requested"): void {
    this.#dispatch({
      type: "call.reconnect",
      atMs: this.#now(),
      random: this.#random(),
      reason,
    });
  }

  /**
   * Listen to an event.
   *
   * @param event Event name.
   * @param fn Listener; an exception from it does not stop other listeners.
   * @returns A function that removes the listener.
   * @example Log reconnects
   * ```ts ignore
   * const off = ws.on("reconnecting", ({ attempt, delayMs }) => console.log(attempt, delayMs));
   * off();
   * ```
   */
  on<K extends WsConnectionEventName>(
    event: K,
    fn: (payload: WsConnectionEvents[K]) => void,
  ): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const listener = fn as (payload: never) => void;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /**
   * Hold a subscription to one channel for one or more symbols. Entries are
   * reference-counted per (channel, symbol, params): the first hold sends
   * `subscribe` (or waits for the socket), the last release sends
   * `unsubscribe`. Every entry is replayed with the same params after a
   * reconnect.
   *
   * @param request Channel, symbols and params.
   * @returns A handle to release the hold.
   * @throws {TypeError} When `channel` is empty or the client is closed.
   * @throws {RangeError} When a book symbol is already held at another depth.
   * @example Book and candles
   * ```ts ignore
   * const book = ws.subscribe({ channel: "book", symbol: "BTC/USD", depth: 25, priceDecimals: 1, qtyDecimals: 8 });
   * const candles = ws.subscribe({ channel: "ohlc", symbol: ["BTC/USD"], interval: 5 });
   * book.release();
   * ```
   */
  subscribe(request: WsSubscribeRequest): WsSubscription {
    if (request.channel === "") {
      throw new TypeError("Cannot subscribe: channel is empty");
    }
    if (this.#state.phase === "closed") {
      throw new TypeError(
        `Cannot subscribe to "${request.channel}": the connection is closed`,
      );
    }
    const symbols = request.symbol === undefined
      ? [undefined]
      : typeof request.symbol === "string"
      ? [request.symbol]
      : [...request.symbol];
    const params: Omit<SubscriptionParams, "symbol" | "token"> = {
      channel: request.channel,
    };
    if (request.depth !== undefined) params.depth = request.depth;
    if (request.interval !== undefined) params.interval = request.interval;
    if (request.snapshot !== undefined) params.snapshot = request.snapshot;
    if (request.eventTrigger !== undefined) {
      params.eventTrigger = request.eventTrigger;
    }
    if (request.extra !== undefined) params.extra = { ...request.extra };
    const authenticated = request.authenticated ??
      PRIVATE_CHANNELS.includes(request.channel);
    // Entries are keyed without `snapshot` (a subscribe-only option, not part
    // of Kraken's identity); frames are grouped with it.
    const groupKey = identity(params, authenticated);
    const { snapshot: _snapshot, ...keyParams } = params;
    const entryKey = identity(keyParams, authenticated);
    // Kraken echoes pairs in upper case; acks are matched on the exact text.
    const normalized = symbols.map((raw) => raw?.trim().toUpperCase());
    if (request.channel === "book") {
      for (const symbol of normalized) {
        for (const other of this.#entries.values()) {
          if (
            other.channel === "book" && other.symbol === symbol &&
            other.params.depth !== params.depth
          ) {
            throw new RangeError(
              `Cannot subscribe to book "${symbol}" at depth ${
                params.depth ?? "default"
              }: it is held at depth ${
                other.params.depth ?? "default"
              } (one depth per symbol per connection)`,
            );
          }
        }
      }
    }
    const keys: string[] = [];
    const fresh: Entry[] = [];
    for (const symbol of normalized) {
      const key = `${entryKey}|${symbol ?? "*"}`;
      if (keys.includes(key)) continue;
      keys.push(key);
      const existing = this.#entries.get(key);
      if (existing !== undefined) {
        existing.refs++;
        continue;
      }
      const entry: Entry = {
        key,
        channel: request.channel,
        symbol,
        groupKey,
        params,
        authenticated,
        refs: 1,
        state: "idle",
        reqId: undefined,
        ackedAtMs: undefined,
        strikes: 0,
        error: undefined,
      };
      this.#entries.set(key, entry);
      fresh.push(entry);
      if (request.channel === "book" && symbol !== undefined) {
        const track: {
          depth?: BookDepth;
          priceDecimals?: number;
          qtyDecimals?: number;
        } = {};
        if (request.depth !== undefined) track.depth = request.depth;
        if (request.priceDecimals !== undefined) {
          track.priceDecimals = request.priceDecimals;
        }
        if (request.qtyDecimals !== undefined) {
          track.qtyDecimals = request.qtyDecimals;
        }
        this.#books.track(symbol, track);
      }
    }
    if (this.#state.phase === "open" && fresh.length > 0) {
      this.#sendSubscribes(fresh, this.#generation);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const key of keys) this.#release(key);
    };
    return { keys, release, [Symbol.dispose]: release };
  }

  /**
   * Send an application-level ping now (the client also pings on its own
   * every `pingIntervalMs`).
   *
   * @returns Whether the ping was sent (false when no socket is open).
   * @example Ping
   * ```ts ignore
   * ws.ping();
   * ```
   */
  ping(): boolean {
    const reqId = this.#takeReqId();
    const sent = this.send(buildPing({ reqId }));
    if (sent) this.#pingSentAtMs.set(reqId, this.#now());
    return sent;
  }

  /**
   * Send a raw text frame on the open socket (for methods this client has no
   * helper for, such as trading requests).
   *
   * @param text The frame.
   * @returns Whether it was sent (false when no socket is open).
   * @example Send
   * ```ts ignore
   * ws.send('{"method":"ping"}');
   * ```
   */
  send(text: string): boolean {
    const socket = this.#socket;
    if (this.#state.phase !== "open" || socket === undefined) return false;
    try {
      socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Take the next `req_id` (integers, increasing).
   *
   * @returns A request id not used before by this client.
   * @example Correlate a trading request
   * ```ts ignore
   * const reqId = ws.nextReqId();
   * ```
   */
  nextReqId(): number {
    return this.#takeReqId();
  }

  /**
   * A point-in-time view for status reporting.
   *
   * @returns Phase, counters, subscriptions and books.
   * @example Count reconnects
   * ```ts ignore
   * ws.snapshot().reconnects;
   * ```
   */
  snapshot(): WsConnectionSnapshot {
    const bookSymbols = new Set(this.#books.symbols());
    for (const symbol of this.#bookResubscribes.keys()) bookSymbols.add(symbol);
    return {
      state: this.#state.phase,
      attempt: this.#state.failures,
      reconnects: this.#state.reconnects,
      subscriptions: [...this.#entries.values()].map((e) => ({
        key: e.key,
        channel: e.channel,
        symbol: e.symbol,
        state: e.state,
        refs: e.refs,
        error: e.error,
        silent: e.strikes >= 3,
      })),
      malformedFrames: this.#malformed,
      lastFrameAtMs: this.#lastFrameAtMs,
      lastHeartbeatAtMs: this.#lastHeartbeatAtMs,
      lastPongLatencyMs: this.#lastPongLatencyMs,
      system: this.#system,
      books: [...bookSymbols].sort().map((symbol) => ({
        symbol,
        integrity: this.#books.integrity(symbol),
        checksumFailures: this.#books.checksumFailures(symbol),
        resubscribes: this.#bookResubscribes.get(symbol) ?? 0,
      })),
      atMs: this.#now(),
    };
  }

  // ---- the shell around the state machine ----

  #dispatch(event: ConnectionEvent): void {
    const { state, effects } = stepConnection(
      this.#state,
      event,
      this.#config,
    );
    this.#state = state;
    for (const effect of effects) {
      // A listener may have closed the client while these effects run.
      if (
        this.#state.phase === "closed" &&
        (effect.type === "set_timer" || effect.type === "open_socket" ||
          effect.type === "send_ping" || effect.type === "resubscribe")
      ) continue;
      this.#run(effect);
    }
  }

  #run(effect: ConnectionEffect): void {
    switch (effect.type) {
      case "open_socket":
        this.#openSocket();
        return;
      case "close_socket":
        this.#closeSocket(effect.code, effect.reason);
        return;
      case "set_timer": {
        this.#timers.get(effect.timer)?.();
        const timer = effect.timer;
        const cancel = this.#setTimer(() => {
          this.#timers.delete(timer);
          this.#onTimer(timer);
        }, effect.delayMs);
        this.#timers.set(timer, cancel);
        return;
      }
      case "cancel_timer":
        this.#timers.get(effect.timer)?.();
        this.#timers.delete(effect.timer);
        return;
      case "send_ping":
        this.ping();
        return;
      case "resubscribe":
        this.#resubscribeAll(effect.reconnect);
        return;
      case "notify":
        this.#notify(effect.notice);
        return;
    }
  }

  #notify(notice: ConnectionNotice): void {
    switch (notice.type) {
      case "connecting":
        this.#emit("connecting", { attempt: notice.attempt });
        return;
      case "open":
        this.#emit("open", { reconnect: notice.reconnect });
        return;
      case "closed":
        this.#emit("closed", {
          code: notice.code,
          reason: notice.reason,
          willReconnect: notice.willReconnect,
        });
        return;
      case "reconnecting":
        this.#emit("reconnecting", {
          attempt: notice.attempt,
          delayMs: notice.delayMs,
          reason: notice.reason,
        });
        return;
      case "stalled":
        this.#emit("stalled", { silentMs: notice.silentMs });
        return;
    }
  }

  #onTimer(timer: ConnectionTimer): void {
    const atMs = this.#now();
    switch (timer) {
      case "reconnect":
        this.#dispatch({ type: "timer.reconnect", atMs });
        return;
      case "connect_timeout":
        this.#dispatch({
          type: "timer.connect_timeout",
          atMs,
          random: this.#random(),
        });
        return;
      case "ping":
        this.#dispatch({ type: "timer.ping", atMs });
        return;
      case "watchdog":
        // Silent subscriptions first: escalation may replace the socket.
        this.#checkSilentSubscriptions(atMs);
        this.#dispatch({
          type: "timer.watchdog",
          atMs,
          random: this.#random(),
          lastFrameAtMs: this.#lastFrameAtMs,
          subscriptions: this.#liveCount(),
        });
        return;
    }
  }

  #openSocket(): void {
    this.#socketGone();
    const generation = this.#generation;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (error) {
      // A bad URL or a refused constructor: treat as a failed attempt.
      this.#dispatch({
        type: "wire.close",
        atMs: this.#now(),
        random: this.#random(),
        code: 1006,
        reason: `Cannot open socket: ${errorText(error)}`,
      });
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (generation !== this.#generation) return;
      this.#lastFrameAtMs = this.#now();
      this.#dispatch({ type: "wire.open", atMs: this.#now() });
    };
    socket.onmessage = (event) => {
      if (generation !== this.#generation) return;
      this.#onMessage(event.data);
    };
    socket.onclose = (event) => {
      if (generation !== this.#generation) return;
      this.#socket = undefined;
      this.#socketGone();
      this.#dispatch({
        type: "wire.close",
        atMs: this.#now(),
        random: this.#random(),
        code: event.code,
        reason: event.reason,
      });
    };
    // An error is always followed by a close event; nothing to do here.
    socket.onerror = () => {};
  }

  #closeSocket(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#socketGone();
    if (socket === undefined) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason.slice(0, 120));
    } catch {
      // Closing a socket that is already closing is harmless.
    }
  }

  /** Forget everything tied to the old socket. */
  #socketGone(): void {
    this.#generation++;
    this.#token = undefined;
    this.#pending.clear();
    this.#pingSentAtMs.clear();
    for (const entry of this.#entries.values()) {
      if (entry.state !== "failed") entry.state = "idle";
      entry.reqId = undefined;
      entry.ackedAtMs = undefined;
    }
  }

  /** Entries the server knows about (acked, or sent and awaiting an ack). */
  #liveCount(): number {
    let count = 0;
    for (const entry of this.#entries.values()) {
      if (
        entry.state === "active" ||
        (entry.state === "pending" && entry.reqId !== undefined)
      ) count++;
    }
    return count;
  }

  // ---- frames ----

  #onMessage(data: unknown): void {
    const nowMs = this.#now();
    this.#lastFrameAtMs = nowMs;
    if (typeof data !== "string") {
      this.#countMalformed("Frame is not text");
      return;
    }
    const frame = parseWsFrame(data);
    switch (frame.kind) {
      case "book":
        this.#onBook(frame.text, nowMs);
        return;
      case "malformed":
        this.#countMalformed(frame.reason);
        return;
      case "heartbeat":
        this.#lastHeartbeatAtMs = nowMs;
        break;
      case "status":
        this.#system = frame.status;
        this.#dispatch({ type: "wire.status", system: frame.status.system });
        this.#emit("status", frame.status);
        break;
      case "pong": {
        const sentAt = frame.reqId === undefined
          ? undefined
          : this.#pingSentAtMs.get(frame.reqId);
        if (frame.reqId !== undefined) this.#pingSentAtMs.delete(frame.reqId);
        this.#lastPongLatencyMs = sentAt === undefined
          ? undefined
          : nowMs - sentAt;
        this.#emit("pong", { latencyMs: this.#lastPongLatencyMs });
        break;
      }
      case "response":
        this.#onResponse(frame, nowMs);
        break;
      case "ticker":
        this.#lastDataAtMs.set(`ticker|${frame.ticker.symbol}`, nowMs);
        break;
      case "trade":
        for (const t of frame.trades) {
          this.#lastDataAtMs.set(`trade|${t.symbol}`, nowMs);
        }
        break;
      case "ohlc":
        for (const c of frame.candles) {
          this.#lastDataAtMs.set(`ohlc|${c.symbol}|${c.intervalMin}`, nowMs);
        }
        break;
      case "instrument":
        this.#lastDataAtMs.set("instrument|*", nowMs);
        break;
      case "channel":
        this.#lastDataAtMs.set(`${frame.channel}|*`, nowMs);
        break;
    }
    this.#emit("frame", frame);
  }

  #onBook(text: string, nowMs: number): void {
    const result = this.#books.applyText(text);
    switch (result.kind) {
      case "malformed":
        this.#countMalformed(`Book frame: ${result.reason}`);
        break;
      case "applied":
      case "ignored":
        this.#lastDataAtMs.set(`book|${result.symbol}`, nowMs);
        break;
      case "mismatch": {
        this.#lastDataAtMs.set(`book|${result.symbol}`, nowMs);
        if (!result.resubscribe) break;
        const count = (this.#bookResubscribes.get(result.symbol) ?? 0) + 1;
        this.#bookResubscribes.set(result.symbol, count);
        for (const entry of this.#entries.values()) {
          if (entry.channel === "book" && entry.symbol === result.symbol) {
            this.#resubscribeEntry(entry);
          }
        }
        this.#emit("book_resync", {
          symbol: result.symbol,
          expected: result.expected,
          actual: result.actual,
          count,
        });
        break;
      }
    }
    this.#emit("book", result);
  }

  #countMalformed(reason: string): void {
    this.#malformed++;
    this.#emit("malformed", { reason, count: this.#malformed });
  }

  #onResponse(frame: MethodResponseFrame, nowMs: number): void {
    if (frame.method !== "subscribe") return;
    const request = frame.reqId === undefined
      ? undefined
      : this.#pending.get(frame.reqId);
    const candidates = (request?.keys ?? [])
      .map((key) => this.#entries.get(key))
      .filter((e): e is Entry =>
        e !== undefined && e.state === "pending" && e.reqId === frame.reqId
      );
    const matched = frame.symbol === undefined
      ? candidates
      : candidates.filter((e) => e.symbol === frame.symbol);
    const alreadySubscribed = !frame.success &&
      /already subscribed/i.test(frame.error ?? "");
    if (frame.success || alreadySubscribed) {
      for (const entry of matched) {
        entry.state = "active";
        entry.ackedAtMs = nowMs;
        entry.error = undefined;
        this.#emit("subscribed", {
          channel: entry.channel,
          symbol: entry.symbol,
        });
      }
    } else {
      const error = frame.error ?? "Subscribe failed without an error text";
      for (const entry of matched) {
        entry.state = "failed";
        entry.error = error;
      }
      // One event per refused symbol; a reject we cannot place still surfaces.
      const targets = matched.length > 0
        ? matched.map((e) => ({ channel: e.channel, symbol: e.symbol }))
        : [{ channel: frame.channel, symbol: frame.symbol }];
      for (const target of targets) {
        this.#emit("subscription_error", {
          channel: target.channel,
          symbol: target.symbol,
          error,
          reqId: frame.reqId,
        });
      }
    }
    if (request !== undefined && frame.reqId !== undefined) {
      const open = request.keys.some((key) => {
        const e = this.#entries.get(key);
        return e !== undefined && e.state === "pending" &&
          e.reqId === frame.reqId;
      });
      if (!open) this.#pending.delete(frame.reqId);
    }
  }

  // ---- subscriptions ----

  #release(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.#entries.delete(key);
    if (entry.channel === "book" && entry.symbol !== undefined) {
      this.#books.untrack(entry.symbol);
      this.#bookResubscribes.delete(entry.symbol);
    }
    // Another entry on the same server subscription (e.g. another ticker
    // trigger) keeps it alive: Kraken keys by channel, symbol, depth, interval.
    const shared = [...this.#entries.values()].some((other) =>
      serverKey(other) === serverKey(entry)
    );
    if (
      !shared && this.#state.phase === "open" &&
      (entry.state === "pending" || entry.state === "active")
    ) {
      this.#sendUnsubscribe(entry, this.#generation);
    }
  }

  #resubscribeAll(reconnect: boolean): void {
    const generation = this.#generation;
    const entries: Entry[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.state === "failed" && PERMANENT_ERROR.test(entry.error ?? "")) {
        continue;
      }
      entry.state = "idle";
      entry.reqId = undefined;
      entry.ackedAtMs = undefined;
      if (
        entry.channel === "book" && entry.symbol !== undefined &&
        this.#books.integrity(entry.symbol) !== "empty"
      ) {
        // The old socket's book state is gone; wait for a fresh snapshot.
        // A book that never had one stays "empty" (nothing to resync).
        this.#books.markResyncing(entry.symbol);
      }
      entries.push(entry);
    }
    const sent = this.#sendSubscribes(entries, generation);
    if (!reconnect) return;
    const done = () => {
      if (generation !== this.#generation) return;
      const symbols = [
        ...new Set(
          entries.map((e) => e.symbol).filter((s): s is string =>
            s !== undefined
          ),
        ),
      ].sort();
      this.#emit("resubscribed", { subscriptions: entries.length, symbols });
    };
    if (sent === undefined) done();
    else sent.then(done);
  }

  /**
   * Send `subscribe` for the entries, one frame per group (same channel and
   * params). Private groups wait for the connection's token; the returned
   * promise settles when they were sent (undefined when none were private).
   */
  #sendSubscribes(
    entries: Entry[],
    generation: number,
  ): Promise<void> | undefined {
    const publicEntries = entries.filter((e) => !e.authenticated);
    const privateEntries = entries.filter((e) => e.authenticated);
    this.#sendGroups(publicEntries, undefined);
    if (privateEntries.length === 0) return undefined;
    for (const entry of privateEntries) entry.state = "pending";
    return this.#connectionToken().then((token) => {
      if (generation !== this.#generation) return;
      const live = privateEntries.filter((e) =>
        this.#entries.get(e.key) === e && e.state === "pending"
      );
      if (token === undefined) return;
      this.#sendGroups(live, token);
    });
  }

  #sendGroups(entries: Entry[], token: string | undefined): void {
    const groups = new Map<string, Entry[]>();
    for (const entry of entries) {
      const group = groups.get(entry.groupKey);
      if (group === undefined) groups.set(entry.groupKey, [entry]);
      else group.push(entry);
    }
    for (const group of groups.values()) {
      const first = group[0] as Entry;
      const reqId = this.#takeReqId();
      const params: SubscriptionParams = { ...first.params };
      const symbols = group.map((e) => e.symbol).filter((s): s is string =>
        s !== undefined
      );
      if (symbols.length > 0) params.symbol = symbols;
      if (token !== undefined) params.token = token;
      for (const entry of group) {
        entry.state = "pending";
        entry.reqId = reqId;
        entry.ackedAtMs = undefined;
      }
      this.#pending.set(reqId, { keys: group.map((e) => e.key) });
      this.send(buildSubscribe(params, { reqId }));
    }
  }

  #sendUnsubscribe(entry: Entry, generation: number): void {
    const params: SubscriptionParams = { ...entry.params };
    if (entry.symbol !== undefined) params.symbol = [entry.symbol];
    if (!entry.authenticated) {
      this.send(buildUnsubscribe(params, { reqId: this.#takeReqId() }));
      return;
    }
    this.#connectionToken().then((token) => {
      if (generation !== this.#generation || token === undefined) return;
      params.token = token;
      this.send(buildUnsubscribe(params, { reqId: this.#takeReqId() }));
    });
  }

  /** Unsubscribe and subscribe one entry again to get a fresh snapshot. */
  #resubscribeEntry(entry: Entry): void {
    if (this.#state.phase !== "open") return;
    const generation = this.#generation;
    if (entry.state === "pending" || entry.state === "active") {
      this.#sendUnsubscribe(entry, generation);
    }
    entry.state = "idle";
    this.#sendSubscribes([entry], generation);
  }

  /** One token per connection, fetched on first need. */
  #connectionToken(): Promise<string | undefined> {
    if (this.#token !== undefined) return this.#token;
    const generation = this.#generation;
    const getToken = this.#getToken;
    const fail = (error: string): undefined => {
      if (generation !== this.#generation) return undefined;
      for (const entry of this.#entries.values()) {
        if (!entry.authenticated || entry.state !== "pending") continue;
        entry.state = "failed";
        entry.error = error;
        this.#emit("subscription_error", {
          channel: entry.channel,
          symbol: entry.symbol,
          error,
          reqId: undefined,
        });
      }
      return undefined;
    };
    if (getToken === undefined) {
      this.#token = Promise.resolve(
        fail("Cannot subscribe to a private channel: no getToken option"),
      );
      return this.#token;
    }
    this.#token = (async () => {
      try {
        const token = await getToken();
        if (typeof token !== "string" || token === "") {
          return fail(
            "Cannot get a WebSocket token: getToken returned no token",
          );
        }
        return token;
      } catch (error) {
        return fail(`Cannot get a WebSocket token: ${errorText(error)}`);
      }
    })();
    return this.#token;
  }

  #checkSilentSubscriptions(nowMs: number): void {
    if (this.#state.phase !== "open") return;
    let escalate: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.state !== "active" || entry.ackedAtMs === undefined) continue;
      if (!expectsData(entry)) continue;
      const lastData = this.#lastDataAtMs.get(streamKey(entry));
      if (lastData !== undefined && lastData >= entry.ackedAtMs) {
        entry.strikes = 0;
        continue;
      }
      const silentMs = nowMs - entry.ackedAtMs;
      if (silentMs < this.#firstDataTimeoutMs || entry.strikes >= 2) continue;
      entry.strikes++;
      if (entry.strikes === 1) {
        this.#emit("silent_subscription", {
          channel: entry.channel,
          symbol: entry.symbol,
          silentMs,
          action: "resubscribe",
        });
        this.#resubscribeEntry(entry);
      } else {
        // Stop escalating for this entry after one reconnect: a loop of
        // reconnects would burn the connection budget.
        entry.strikes = 3;
        escalate ??= entry;
        this.#emit("silent_subscription", {
          channel: entry.channel,
          symbol: entry.symbol,
          silentMs,
          action: "reconnect",
        });
      }
    }
    if (escalate !== undefined) {
      this.reconnect(
        `Subscription ${escalate.channel} ${
          escalate.symbol ?? "*"
        } delivered nothing`,
      );
    }
  }

  #takeReqId(): number {
    return this.#nextReqId++;
  }

  #emit<K extends WsConnectionEventName>(
    event: K,
    payload: WsConnectionEvents[K],
  ): void {
    const set = this.#listeners.get(event);
    if (set === undefined || set.size === 0) return;
    // A listener's exception is reported without losing the connection's state.
    callListeners(
      set as Set<(payload: WsConnectionEvents[K]) => void>,
      payload,
      this.#onListenerError,
      `WsConnection ${event}`,
    );
  }
}

function identity(
  params: Omit<SubscriptionParams, "symbol" | "token">,
  authenticated: boolean,
): string {
  const extra = Object.entries(params.extra ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  return [
    params.channel,
    `depth=${params.depth ?? ""}`,
    `interval=${params.interval ?? ""}`,
    `trigger=${params.eventTrigger ?? ""}`,
    `snapshot=${params.snapshot ?? ""}`,
    `extra=${JSON.stringify(extra)}`,
    authenticated ? "private" : "public",
  ].join(";");
}

function serverKey(entry: Entry): string {
  const p = entry.params;
  return `${p.channel}|${entry.symbol ?? "*"}|${p.depth ?? ""}|${
    p.interval ?? ""
  }|${entry.authenticated}`;
}

function streamKey(entry: Entry): string {
  if (entry.channel === "ohlc") {
    return `ohlc|${entry.symbol ?? "*"}|${entry.params.interval ?? ""}`;
  }
  return `${entry.channel}|${entry.symbol ?? "*"}`;
}

/** Whether an acked subscription should deliver something soon (a snapshot). */
function expectsData(entry: Entry): boolean {
  // trade sends a snapshot only when asked; the others default to one.
  if (entry.channel === "trade") return entry.params.snapshot === true;
  return entry.params.snapshot !== false;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
