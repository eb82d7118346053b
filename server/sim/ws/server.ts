/**
 * The simulator's WebSocket v2 endpoints: public market data at `/v2` and
 * the authenticated endpoint at `/auth/v2`, on the simulator's port
 * (docs/kraken/WS_V2.md).
 *
 * - On connect: a `status` update (system status from the fault switches or
 *   the REST control object, `api_version: "v2"`, a u64 `connection_id`).
 * - `ping` → `pong`; `subscribe`/`unsubscribe` → one ack or reject per
 *   symbol, then the snapshot (`requests.ts`).
 * - Channels `ticker`, `book`, `trade`, `ohlc`, `instrument` from the same
 *   deterministic {@linkcode Market} as the REST side (`feed.ts`), and
 *   `executions`, `balances` on `/auth/v2` from the simulated account
 *   (`private.ts`), with the token checked on every private request.
 * - `heartbeat` once a connection with subscriptions has sent nothing for
 *   `heartbeatMs` (WS_V2.md §2.5).
 * - Faults for tests: `faults` (`faults.ts`).
 *
 * Time: every decision uses the market's clock (`market.now()`). The feed
 * advances on a timer every `tickMs` (default 100 ms) while connections are
 * open, and before every subscribe so snapshots and updates join up; tests
 * pass `tickMs: 0` and call {@linkcode WsSimulator.tick} after moving a fake
 * clock, so cadence is counted in frames, not wall time.
 *
 * The only Deno-specific call is `Deno.upgradeWebSocket` in
 * {@linkcode WsSimulator.handle}; {@linkcode WsSimulator.connect} takes any
 * socket-like peer. Trading methods on `/auth/v2` come in through the
 * `methods` hook (`trading.ts`); the simulator's `server.ts` plugs both in.
 *
 * @module
 */

import type { AccountEvent, SimAccount } from "../exchange/account.ts";
import type { SimControl } from "../control.ts";
import type { Market } from "../exchange/market.ts";
import { SeededRandom } from "../exchange/prng.ts";
import type { WsTokenRegistry } from "./tokens.ts";
import type { WsMethodHandler } from "./types.ts";
import { emptyDemand, type FeedStep, type PairDemand, WsFeed } from "./feed.ts";
import {
  type WsFaultHost,
  WsFaults,
  type WsFaultScope,
  type WsSystemStatus,
} from "./faults.ts";
import {
  accountEventRows,
  balanceSnapshotRows,
  executionSnapshotRows,
} from "./private.ts";
import {
  decideRequest,
  subscriptionKey,
  WS_ERRORS,
  type WsSubscription,
} from "./requests.ts";
import {
  errorFrame,
  HEARTBEAT_FRAME,
  statusFrame,
  wireJson,
  type WireObject,
} from "./wire.ts";

/** WS service version reported in `status` (Kraken's format). */
export const WS_VERSION = "2.0.10";

/** A socket as the simulator uses it. */
export interface WsPeer {
  /** Send a text frame. */
  send(text: string): void;
  /** Close the socket. */
  close(code?: number, reason?: string): void;
}

/** What {@linkcode WsSimulator.connect} returns: feed the peer's events in. */
export interface WsConnection {
  /** The `connection_id` sent in `status`. */
  readonly id: bigint;
  /** Call with each text frame the client sent. */
  receive(text: string): void;
  /** Call once the socket closed. */
  closed(): void;
}

/** Options of {@linkcode WsSimulator}. */
export interface WsSimulatorOptions {
  /** Issued tokens, for `/auth/v2` (without it every token is refused). */
  tokens?: WsTokenRegistry;
  /** The account behind `executions` and `balances`. */
  account?: SimAccount;
  /** The REST control object: its `systemStatus` is mirrored both ways. */
  control?: SimControl;
  /** Feed timer period, ms (default 100; 0 = no timer, call `tick()`). */
  tickMs?: number;
  /** Data silence before a heartbeat, ms (default 1000). */
  heartbeatMs?: number;
  /** Close connections without subscriptions after this much client silence, ms (default 60 000; 0 = never). */
  idleTimeoutMs?: number;
  /** Seed of the connection ids (default: the market's seed). */
  seed?: number;
  /** Called with an error thrown by a timer-driven feed step (default: ignored). */
  onError?: (error: unknown) => void;
  /** Trading methods on `/auth/v2` (`add_order`, …); without it they are refused. */
  methods?: WsMethodHandler;
  /**
   * Map account events to `executions`/`balances` rows here (default true).
   * The matching engine turns this off and publishes richer rows itself.
   */
  accountEvents?: boolean;
}

interface Session {
  readonly id: bigint;
  readonly endpoint: "public" | "private";
  readonly peer: WsPeer;
  readonly subscriptions: Map<string, WsSubscription>;
  readonly silent: Set<string>;
  readonly tokens: Set<string>;
  readonly sequences: Map<string, number>;
  lastSentMs: number;
  lastClientMs: number;
  open: boolean;
}

/**
 * The WebSocket v2 side of the simulator.
 *
 * @example Serve next to the REST routes
 * ```ts ignore
 * const ws = new WsSimulator(market, { tokens, account, control });
 * Deno.serve((request) => ws.handle(request) ?? restApp.fetch(request));
 * ```
 */
export class WsSimulator {
  /** The market feed (snapshots are taken at its cursor). */
  readonly feed: WsFeed;
  /** Fault switches for tests. */
  readonly faults: WsFaults;
  #market: Market;
  #options: WsSimulatorOptions;
  #sessions = new Set<Session>();
  #random: SeededRandom;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unsubscribeAccount: (() => void) | undefined;
  #orderStatus = new Map<string, string>();
  #closed = false;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  /**
   * Create the WebSocket side.
   *
   * @param market The market (same instance as the REST side).
   * @param options Tokens, account, control, timing.
   */
  constructor(market: Market, options: WsSimulatorOptions = {}) {
    this.#market = market;
    this.#options = options;
    this.feed = new WsFeed(market);
    this.#random = new SeededRandom(
      (options.seed ?? market.seed) * 104_729 + 7,
    );
    const host: WsFaultHost = {
      dropConnections: (scope, code, reason) => this.#drop(scope, code, reason),
      sendRaw: (scope, text) => this.#sendRaw(scope, text),
      pushStatus: () => this.#pushStatus(),
    };
    this.faults = new WsFaults(host);
    if (options.control && options.control.systemStatus !== "online") {
      this.faults.setSystemStatus(options.control.systemStatus);
    }
    if (options.account && options.accountEvents !== false) {
      this.#unsubscribeAccount = options.account.subscribe((event) =>
        this.#onAccountEvent(event)
      );
    }
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Resolve once at least `count` connections are open (a test can wait for
   * the server side of a socket without sleeping).
   *
   * @param count Connections to wait for.
   * @returns A promise.
   */
  whenConnections(count: number): Promise<void> {
    if (this.#sessions.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /**
   * Answer a WebSocket upgrade on `/v2` (public) or `/auth/v2` (private).
   *
   * @param request The HTTP request.
   * @returns The upgrade response, a 400 for a plain HTTP request to those
   *   paths, or `undefined` for other paths (the caller serves them).
   */
  handle(request: Request): Response | undefined {
    const path = new URL(request.url).pathname;
    const endpoint = path === "/v2"
      ? "public"
      : path === "/auth/v2"
      ? "private"
      : undefined;
    if (!endpoint) return undefined;
    if (
      request.headers.get("upgrade")?.toLowerCase() !== "websocket" ||
      this.#closed
    ) {
      return new Response("Expected a WebSocket upgrade", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    let connection: WsConnection | undefined;
    socket.addEventListener("open", () => {
      connection = this.connect(socket, endpoint);
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") connection?.receive(event.data);
      else connection?.receive("");
    });
    socket.addEventListener("close", () => connection?.closed());
    socket.addEventListener("error", () => connection?.closed());
    return response;
  }

  /**
   * Start a connection on an open socket: sends `status` and returns the
   * handle to feed the client's frames to.
   *
   * @param peer The socket.
   * @param endpoint `public` (`/v2`) or `private` (`/auth/v2`).
   * @returns The connection handle.
   */
  connect(peer: WsPeer, endpoint: "public" | "private"): WsConnection {
    const nowMs = this.#market.now();
    const session: Session = {
      id: this.#connectionId(),
      endpoint,
      peer,
      subscriptions: new Map(),
      silent: new Set(),
      tokens: new Set(),
      sequences: new Map(),
      lastSentMs: nowMs,
      lastClientMs: nowMs,
      open: true,
    };
    this.#sessions.add(session);
    this.#send(session, this.#statusText(session));
    this.#startTimer();
    this.#waiters = this.#waiters.filter((w) => {
      if (this.#sessions.size < w.count) return true;
      w.resolve();
      return false;
    });
    return {
      id: session.id,
      receive: (text) => this.#receive(session, text),
      closed: () => this.#end(session),
    };
  }

  /**
   * One feed step at the market's current time: mirror the control's
   * status, send the window's updates, heartbeats, and close idle
   * connections. The timer calls this; tests call it after moving the clock.
   */
  tick(): void {
    if (this.#closed) return;
    const control = this.#options.control;
    if (control && control.systemStatus !== this.faults.systemStatus) {
      this.faults.setSystemStatus(control.systemStatus);
    }
    const nowMs = this.#market.now();
    this.#advance(nowMs);
    const heartbeatMs = this.#options.heartbeatMs ?? 1000;
    const idleMs = this.#options.idleTimeoutMs ?? 60_000;
    for (const session of [...this.#sessions]) {
      if (session.subscriptions.size > 0) {
        if (nowMs - session.lastSentMs >= heartbeatMs) {
          this.#send(session, HEARTBEAT_FRAME);
        }
      } else if (idleMs > 0 && nowMs - session.lastClientMs >= idleMs) {
        this.#close(session, 1000, "Idle connection");
      }
    }
  }

  /**
   * Push rows on a private channel to every connection subscribed to it
   * (the extension point for the trading engine; account events are
   * already pushed).
   *
   * @param channel `executions` or `balances`.
   * @param rows The rows (use `wireNumber` for exact decimals).
   */
  publishPrivate(
    channel: "executions" | "balances",
    rows: readonly WireObject[],
  ): void {
    if (rows.length === 0) return;
    for (const session of this.#sessions) {
      if (!session.subscriptions.has(channel) || session.silent.has(channel)) {
        continue;
      }
      this.#sendPrivate(session, channel, "update", rows);
    }
  }

  /** Close every connection (code 1001) and stop the timer. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    this.#unsubscribeAccount?.();
    this.#unsubscribeAccount = undefined;
    for (const session of [...this.#sessions]) {
      this.#close(session, 1001, "Simulator closing");
    }
  }

  // -------------------------------------------------------------------------

  #connectionId(): bigint {
    const hi = BigInt(Math.floor(this.#random.next() * 2 ** 32));
    const lo = BigInt(Math.floor(this.#random.next() * 2 ** 32));
    // Top bit set: always above 2^53, the JS precision trap Kraken's ids spring.
    return (1n << 63n) | (hi << 32n) | lo;
  }

  #statusText(session: Session): string {
    return statusFrame({
      system: this.faults.systemStatus,
      connectionId: session.id,
      version: WS_VERSION,
    });
  }

  #startTimer(): void {
    // 100 ms: the majors change their top 10 tens of times a second (issue 15).
    const tickMs = this.#options.tickMs ?? 100;
    if (tickMs <= 0 || this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => {
      // A throw in a timer would end the process; report it and keep serving.
      try {
        this.tick();
      } catch (error) {
        this.#options.onError?.(error);
      }
    }, tickMs);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #send(session: Session, text: string): void {
    if (!session.open) return;
    if (this.faults.isStalled(session.endpoint)) {
      this.faults.countStalledFrame();
      return;
    }
    try {
      session.peer.send(text);
      session.lastSentMs = this.#market.now();
    } catch {
      // The socket is closing; its close event ends the session.
    }
  }

  #close(session: Session, code: number, reason: string): void {
    try {
      session.peer.close(code, reason);
    } catch {
      // Already closed.
    }
    this.#end(session);
  }

  #end(session: Session): void {
    if (!session.open) return;
    session.open = false;
    this.#sessions.delete(session);
    for (const token of session.tokens) this.#options.tokens?.detach(token);
    session.tokens.clear();
    if (this.#sessions.size === 0) this.#stopTimer();
  }

  #drop(scope: WsFaultScope, code: number, reason: string): number {
    let count = 0;
    for (const session of [...this.#sessions]) {
      if (scope !== "all" && scope !== session.endpoint) continue;
      this.#close(session, code, reason);
      count++;
    }
    return count;
  }

  #sendRaw(scope: WsFaultScope, text: string): number {
    let count = 0;
    for (const session of this.#sessions) {
      if (scope !== "all" && scope !== session.endpoint) continue;
      if (this.faults.isStalled(session.endpoint)) continue;
      this.#send(session, text);
      count++;
    }
    return count;
  }

  #pushStatus(): void {
    const control = this.#options.control;
    if (control && control.systemStatus !== this.faults.systemStatus) {
      control.set({ systemStatus: this.faults.systemStatus as WsSystemStatus });
    }
    for (const session of this.#sessions) {
      this.#send(session, this.#statusText(session));
    }
  }

  #checkToken(token: string, nowMs: number): boolean {
    const tokens = this.#options.tokens;
    if (!tokens) return false;
    return tokens.check(token, nowMs).ok;
  }

  #receive(session: Session, text: string): void {
    if (!session.open) return;
    const nowMs = this.#market.now();
    session.lastClientMs = nowMs;
    const actions = decideRequest(text, {
      endpoint: session.endpoint,
      subscribed: session.subscriptions,
      nowMs,
      checkToken: (token) => this.#checkToken(token, nowMs),
      resolvePair: (name) => this.#market.pair(name),
    });
    // Bring every subscription up to now first, so this snapshot and the
    // next window's updates join up exactly.
    if (actions.some((a) => a.kind === "subscribe")) this.#advance(nowMs);
    for (const action of actions) {
      switch (action.kind) {
        case "send":
          this.#send(session, action.frame);
          break;
        case "subscribe":
          this.#subscribe(session, action.subscription, action.ack);
          break;
        case "unsubscribe":
          session.subscriptions.delete(action.key);
          session.silent.delete(action.key);
          session.sequences.delete(action.key);
          this.#send(session, action.ack);
          break;
        case "method":
          this.#method(session, action, nowMs);
          break;
      }
    }
  }

  #method(
    session: Session,
    action: {
      method: string;
      params: Readonly<Record<string, unknown>>;
      reqId: number | undefined;
    },
    nowMs: number,
  ): void {
    const handler = this.#options.methods;
    const time = { reqId: action.reqId, timeInMs: nowMs, timeOutMs: nowMs };
    if (!handler) {
      this.#send(
        session,
        errorFrame(action.method, {
          error: WS_ERRORS.methodNotSupported,
          ...time,
        }),
      );
      return;
    }
    const token = action.params.token;
    if (typeof token !== "string" || !this.#checkToken(token, nowMs)) {
      this.#send(
        session,
        errorFrame(action.method, { error: WS_ERRORS.invalidToken, ...time }),
      );
      return;
    }
    handler({
      ...action,
      nowMs,
      send: (text) => this.#send(session, text),
      close: (code, reason) => this.#close(session, code, reason),
    });
  }

  #subscribe(
    session: Session,
    subscription: WsSubscription,
    ack: string,
  ): void {
    const key = subscriptionKey(subscription);
    session.subscriptions.set(key, subscription);
    this.#send(session, ack);
    const symbol = "pair" in subscription
      ? subscription.pair.symbol
      : undefined;
    if (this.faults.takeSilence(subscription.channel, symbol)) {
      session.silent.add(key);
      return;
    }
    switch (subscription.channel) {
      case "book":
        if (subscription.snapshot) {
          this.#send(
            session,
            this.feed.bookSnapshot(subscription.pair.key, subscription.depth),
          );
        }
        break;
      case "ticker":
        if (subscription.snapshot) {
          this.#send(session, this.feed.tickerSnapshot(subscription.pair.key));
        }
        break;
      case "trade":
        if (subscription.snapshot) {
          this.#send(session, this.feed.tradeSnapshot(subscription.pair.key));
        }
        break;
      case "ohlc":
        if (subscription.snapshot) {
          this.#send(
            session,
            this.feed.ohlcSnapshot(
              subscription.pair.key,
              subscription.intervalMin,
            ),
          );
        }
        break;
      case "instrument":
        if (subscription.snapshot) {
          this.#send(session, this.feed.instrumentSnapshot());
        }
        break;
      case "executions": {
        this.#attachToken(session, subscription.token);
        const account = this.#options.account;
        const rows = account
          ? executionSnapshotRows(account, subscription)
          : [];
        this.#sendPrivate(session, "executions", "snapshot", rows);
        break;
      }
      case "balances": {
        this.#attachToken(session, subscription.token);
        if (!subscription.snapshot) break;
        const account = this.#options.account;
        this.#sendPrivate(
          session,
          "balances",
          "snapshot",
          account ? balanceSnapshotRows(account) : [],
        );
        break;
      }
    }
  }

  #attachToken(session: Session, token: string): void {
    if (session.tokens.has(token)) return;
    session.tokens.add(token);
    this.#options.tokens?.attach(token);
  }

  #sendPrivate(
    session: Session,
    channel: "executions" | "balances",
    type: "snapshot" | "update",
    rows: readonly WireObject[],
  ): void {
    const sequence = (session.sequences.get(channel) ?? 0) + 1;
    session.sequences.set(channel, sequence);
    this.#send(session, wireJson({ channel, type, sequence, data: rows }));
  }

  #onAccountEvent(event: AccountEvent): void {
    const rows = accountEventRows(
      event,
      this.#orderStatus,
      this.#options.account,
    );
    this.publishPrivate("executions", rows.executions);
    this.publishPrivate("balances", rows.balances);
  }

  /** Send every subscription's updates for `(cursor, nowMs]`. */
  #advance(nowMs: number): void {
    if (nowMs <= this.feed.cursorMs) return;
    const demand = new Map<string, PairDemand>();
    for (const session of this.#sessions) {
      for (const [key, sub] of session.subscriptions) {
        if (!("pair" in sub) || session.silent.has(key)) continue;
        let want = demand.get(sub.pair.key);
        if (!want) {
          want = emptyDemand();
          demand.set(sub.pair.key, want);
        }
        switch (sub.channel) {
          case "book":
            want.bookDepth = Math.max(want.bookDepth, sub.depth);
            break;
          case "ticker":
            if (sub.eventTrigger === "bbo") want.tickerBbo = true;
            else want.tickerTrades = true;
            break;
          case "trade":
            want.trade = true;
            break;
          case "ohlc":
            want.ohlcIntervals.add(sub.intervalMin);
            break;
        }
      }
    }
    const step = this.feed.advance(nowMs, demand);
    this.#distribute(step);
  }

  #distribute(step: FeedStep): void {
    const corrupted = new Set<string>();
    for (const session of [...this.#sessions]) {
      for (const [key, sub] of session.subscriptions) {
        if (!("pair" in sub) || session.silent.has(key)) continue;
        const pairStep = step.pair(sub.pair.key);
        if (!pairStep) continue;
        switch (sub.channel) {
          case "book": {
            const corrupt = this.faults.wantsCorrupt(sub.pair.symbol);
            const frame = pairStep.bookUpdate(sub.depth, { corrupt });
            if (frame) {
              if (corrupt) corrupted.add(sub.pair.symbol);
              this.#send(session, frame);
            }
            break;
          }
          case "ticker": {
            const frame = pairStep.tickerUpdate(sub.eventTrigger);
            if (frame) this.#send(session, frame);
            break;
          }
          case "trade":
            for (const frame of pairStep.tradeUpdates()) {
              this.#send(session, frame);
            }
            break;
          case "ohlc": {
            const frame = pairStep.ohlcUpdate(sub.intervalMin);
            if (frame) this.#send(session, frame);
            break;
          }
        }
      }
    }
    for (const symbol of corrupted) this.faults.corrupted(symbol);
  }
}
