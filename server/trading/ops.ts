/**
 * The server's operations monitor: one object that reads the live state of
 * what the server runs — the REST client's {@linkcode RateLimiter} (REST
 * counter, per-pair trading-engine counters, queues, public budget), the
 * WebSocket connections (their own `snapshot()` plus the reconnect reasons
 * and uptime seen through their events), book checksum failures and
 * resyncs, listener and upstream errors, order lifecycle events and the
 * dead-man switch — and pushes a fresh {@linkcode OpsSnapshot} to its
 * subscribers (the `ops` topic of the page's event stream,
 * `/api/private/events?topics=ops`) when something changed, at most one
 * push per 250 ms, and once a second while anyone listens (counters decay
 * with time). `GET /api/ops` reads {@linkcode OpsMonitor.snapshot} once.
 *
 * Numbers are never copied: a snapshot asks the limiter and the connections
 * at the moment it is taken. The monitor only keeps what those objects do
 * not (event history: reasons, errors, order events), in bounded rings.
 *
 * @module
 */

import type { Logger } from "@krakked/core/log";
import type { CounterName, RateLimiter } from "@krakked/core/rest/ratelimit";
import type { WsConnection } from "@krakked/core/ws/connection";
import type { OrderClientEvent } from "@krakked/core/trade/order_client";
import type { DeadManState } from "@krakked/core/trade/dead_man";
import { currentRequestId } from "../http/request_id.ts";

/** One counter as the ops view shows it (decayed to the snapshot's time). */
export interface OpsCounter {
  /** Level now. */
  level: number;
  /** Ceiling. */
  max: number;
  /** Decay per second. */
  decayPerSec: number;
  /** Calls waiting in this counter's queue. */
  queued: number;
}

/** One WebSocket connection. */
export interface OpsConnection {
  /** `public` (book feed) or `auth` (private stream). */
  name: string;
  /** Lifecycle phase. */
  state: string;
  /** Since the current socket opened, ms; `null` when not open. */
  uptimeMs: number | null;
  /**
   * When the current socket opened (the monitor's clock), ms; `null` when
   * not open. A viewer holding an older copy derives the uptime from it and
   * the snapshot's `atMs`, so the stream need not resend the connections
   * each second only because the uptime grew.
   */
  openedAtMs: number | null;
  /** Sockets opened after the first. */
  reconnects: number;
  /** The latest reconnect reasons, newest last. */
  reasons: { atMs: number; reason: string }[];
  /** Subscriptions and their health. */
  subscriptions: {
    channel: string;
    symbol: string | undefined;
    state: string;
    silent: boolean;
    error: string | undefined;
  }[];
  /** Per book: checksum failures and resyncs. */
  books: {
    symbol: string;
    integrity: string;
    checksumFailures: number;
    resyncs: number;
  }[];
  /** Frames dropped as malformed. */
  malformedFrames: number;
}

/** One remembered error. */
export interface OpsError {
  /** When, ms. */
  atMs: number;
  /** `listener`, `upstream`, `order`, `ws`. */
  kind: string;
  /** Where (e.g. `WsConnection frame`). */
  source: string;
  /** The message (already scrubbed by the logger's redactor). */
  message: string;
}

/** One order lifecycle event as shown. */
export interface OpsOrderEvent {
  /** When, ms. */
  atMs: number;
  /** Tracking key (`userref:42`). */
  order: string | null;
  /** Event type (`state`, `fill`, …). */
  type: string;
  /** A one-line summary. */
  detail: string;
  /** The correlation id of the request that caused it, if any. */
  rid?: string;
}

/**
 * A `krakked record` process on this machine, from the status file it keeps
 * beside its store (`<store>.status.json`, rewritten on every commit).
 */
export interface OpsRecorder {
  /** The store's path. */
  store: string;
  /** The recorder's process id. */
  pid: number;
  /** It says it runs, and wrote within the freshness window. */
  running: boolean;
  /** It says it runs but has not written for longer than the window. */
  stale: boolean;
  /** When it last wrote, ms. */
  writtenAtMs: number;
  /** Its WebSocket state. */
  wsState: string;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Bronze, silver and gold rows committed as new. */
  bronzeRows: number;
  /** Silver rows. */
  silverRows: number;
  /** Gold rows built. */
  goldRows: number;
  /** Gaps found and filled. */
  gapsFound: number;
  /** Gaps filled completely. */
  gapsFilled: number;
  /** Gaps REST could not fill yet. */
  gapsUnfilled: number;
  /** Book frames whose checksum failed. */
  bookMismatches: number;
  /** Last commit, ms, or `null`. */
  lastCommitAtMs: number | null;
}

/** Everything the ops view shows, at one instant. */
export interface OpsSnapshot {
  /** When taken, ms. */
  atMs: number;
  /** The account tier pacing the REST and trading counters. */
  tier: string;
  /** The private REST counter of the key. */
  rest: OpsCounter;
  /** Trading-engine counters per pair that was traded. */
  trading: Record<string, OpsCounter>;
  /** The public budget. */
  public: OpsCounter;
  /** Upstream REST calls per method since start. */
  upstream: {
    calls: number;
    failures: number;
    byMethod: Record<string, number>;
  };
  /** WebSocket connections. */
  connections: OpsConnection[];
  /** Errors counted by kind since start. */
  errorsByKind: Record<string, number>;
  /** The last errors, newest last. */
  errors: OpsError[];
  /** The last order events, newest last. */
  orders: OpsOrderEvent[];
  /** The dead-man switch, or `null` when not armed. */
  deadMan:
    | { phase: string; expiresAtMs: number | null; failures: number }
    | null;
  /** The market-data recorder, or `null` when none has run here. */
  recorder: OpsRecorder | null;
}

/** Options of {@linkcode OpsMonitor}. */
export interface OpsMonitorOptions {
  /** The private limiter (the REST client's `limiter`). */
  limiter: RateLimiter;
  /** The public limiter (default: `limiter`). */
  publicLimiter?: RateLimiter;
  /** Where errors and order events are logged. */
  logger: Logger;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Periodic timer for pushes (default `setInterval`); returns its stop. */
  every?: (fn: () => void, ms: number) => () => void;
  /** Errors kept (default 50). */
  maxErrors?: number;
  /** Order events kept (default 200). */
  maxOrderEvents?: number;
  /** Reconnect reasons kept per connection (default 20). */
  maxReasons?: number;
  /** Shortest time between two change pushes, ms (default 250). */
  minPushIntervalMs?: number;
  /** One-shot timer returning its cancel (default `setTimeout`). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

interface Watched {
  name: string;
  connection: Pick<WsConnection, "snapshot" | "on">;
  openedAtMs: number | null;
  reasons: { atMs: number; reason: string }[];
  resyncs: Map<string, number>;
  off: (() => void)[];
}

function push<T>(ring: T[], item: T, max: number): void {
  ring.push(item);
  if (ring.length > max) ring.splice(0, ring.length - max);
}

function messageOf(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}

/**
 * The operations monitor (see the module doc).
 *
 * @example Watch the book feed's connection and push snapshots
 * ```ts ignore
 * const ops = new OpsMonitor({ limiter: rest.limiter, logger });
 * ops.watchConnection("public", connection);
 * const off = ops.subscribe((s) => send(JSON.stringify(s)));
 * ```
 */
export class OpsMonitor {
  #limiter: RateLimiter;
  #publicLimiter: RateLimiter;
  #logger: Logger;
  #now: () => number;
  #every: (fn: () => void, ms: number) => () => void;
  #maxErrors: number;
  #maxOrderEvents: number;
  #maxReasons: number;
  #connections: Watched[] = [];
  #tradingPairs = new Set<string>();
  #upstream = { calls: 0, failures: 0, byMethod: {} as Record<string, number> };
  #errors: OpsError[] = [];
  #errorsByKind: Record<string, number> = {};
  #orders: OpsOrderEvent[] = [];
  #deadMan: () => DeadManState | undefined = () => undefined;
  #recorder: () => OpsRecorder | null = () => null;
  #listeners = new Set<(snapshot: OpsSnapshot) => void>();
  #onClose = new Map<(snapshot: OpsSnapshot) => void, () => void>();
  #stopTicker: (() => void) | undefined;
  #dirty = false;
  #flushQueued = false;
  #lastFlushMs = -Infinity;
  #minPushIntervalMs: number;
  #setTimer: (fn: () => void, ms: number) => () => void;
  #cancelFlush: (() => void) | undefined;

  /**
   * @param options The limiter, logger, clock and ring sizes.
   */
  constructor(options: OpsMonitorOptions) {
    this.#limiter = options.limiter;
    this.#publicLimiter = options.publicLimiter ?? options.limiter;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#every = options.every ?? ((fn, ms) => {
      const id = setInterval(fn, ms);
      return () => clearInterval(id);
    });
    this.#maxErrors = options.maxErrors ?? 50;
    this.#maxOrderEvents = options.maxOrderEvents ?? 200;
    this.#maxReasons = options.maxReasons ?? 20;
    this.#minPushIntervalMs = options.minPushIntervalMs ?? 250;
    this.#setTimer = options.setTimer ?? ((fn, ms) => {
      const id = setTimeout(fn, ms);
      return () => clearTimeout(id);
    });
  }

  /**
   * The handler for `onListenerError` options (bound): logs the error with
   * its source and counts it, so a throwing listener never ends the server.
   */
  listenerError = (error: unknown, source: string): void => {
    this.error("listener", source, error);
  };

  /**
   * Record and log one error.
   *
   * @param kind Kind (`listener`, `upstream`, `order`, `ws`).
   * @param source Where it came from.
   * @param error What was thrown or reported.
   */
  error(kind: string, source: string, error: unknown): void {
    const message = this.#logger.redactor.text(messageOf(error));
    this.#errorsByKind[kind] = (this.#errorsByKind[kind] ?? 0) + 1;
    push(
      this.#errors,
      { atMs: this.#now(), kind, source, message },
      this.#maxErrors,
    );
    const rid = currentRequestId();
    this.#logger.error("error", {
      kind,
      source,
      error: message,
      ...(rid === undefined ? {} : { rid }),
    });
    this.#changed();
  }

  /**
   * Count one upstream REST call (from the traced fetch).
   *
   * @param method The Kraken method (`AddOrder`).
   * @param ok Whether an HTTP answer came (any status below 500).
   * @param tradingPair The pair of a trading-counter call, if any.
   */
  upstreamCall(method: string, ok: boolean, tradingPair?: string): void {
    this.#upstream.calls++;
    if (!ok) this.#upstream.failures++;
    this.#upstream.byMethod[method] = (this.#upstream.byMethod[method] ?? 0) +
      1;
    if (tradingPair !== undefined) this.#tradingPairs.add(tradingPair);
    this.#changed();
  }

  /**
   * Follow a WebSocket connection: uptime, reconnect reasons and resyncs
   * come from its events; everything else from its `snapshot()`.
   *
   * @param name `public` or `auth`.
   * @param connection The connection.
   */
  watchConnection(
    name: string,
    connection: Pick<WsConnection, "snapshot" | "on">,
  ): void {
    const w: Watched = {
      name,
      connection,
      openedAtMs: connection.snapshot().state === "open" ? this.#now() : null,
      reasons: [],
      resyncs: new Map(),
      off: [],
    };
    const reason = (text: string) => {
      push(w.reasons, { atMs: this.#now(), reason: text }, this.#maxReasons);
      this.#logger.warn("ws reconnect", { connection: name, reason: text });
      this.#changed();
    };
    w.off.push(
      connection.on("open", () => {
        w.openedAtMs = this.#now();
        this.#changed();
      }),
      connection.on("closed", (e) => {
        w.openedAtMs = null;
        if (e.willReconnect) {
          reason(`closed ${e.code}${e.reason ? `: ${e.reason}` : ""}`);
        } else this.#changed();
      }),
      connection.on("stalled", (e) => reason(`stalled ${e.silentMs} ms`)),
      connection.on("silent_subscription", (e) => {
        if (e.action === "reconnect") {
          reason(`silent ${e.channel} ${e.symbol ?? ""}`.trim());
        }
      }),
      connection.on("book_resync", (e) => {
        w.resyncs.set(e.symbol, (w.resyncs.get(e.symbol) ?? 0) + 1);
        this.#logger.warn("book resync", {
          connection: name,
          symbol: e.symbol,
          expected: e.expected,
          actual: e.actual,
        });
        this.#changed();
      }),
      connection.on("subscription_error", (e) =>
        this.error(
          "ws",
          `${name} subscribe ${e.channel ?? "?"} ${e.symbol ?? ""}`.trim(),
          e.error,
        )),
    );
    this.#connections.push(w);
    this.#changed();
  }

  /**
   * Record one order lifecycle event and write its log line (with the
   * order's key as `order`, its Kraken id as `orderId`, and the current
   * request's `rid`): `krakked logs --order` reads these.
   *
   * @param event The order client's event.
   */
  orderEvent(event: OrderClientEvent): void {
    const rid = currentRequestId();
    let detail: string;
    const fields: Record<string, unknown> = {};
    switch (event.type) {
      case "state":
        detail = `${event.from} → ${event.to}`;
        fields.from = event.from;
        fields.to = event.to;
        fields.pair = event.state.pair;
        fields.side = event.state.side;
        fields.volume = event.state.volume;
        fields.filledQty = event.state.filledQty;
        if (event.state.orderId !== null) fields.orderId = event.state.orderId;
        if (event.state.reason !== null) fields.reason = event.state.reason;
        break;
      case "fill":
        detail = `fill ${event.fill.qty} @ ${event.fill.price}`;
        fields.fill = event.fill;
        break;
      case "anomaly":
        detail = event.message;
        break;
      case "close_order":
        detail = `close order ${event.orderId} of ${event.parentOrderId}`;
        fields.orderId = event.orderId;
        break;
      case "reconcile":
        detail = `reconcile ${event.outcome}${
          event.message ? `: ${event.message}` : ""
        }`;
        break;
      case "dead_man":
        detail = event.message;
        break;
    }
    const key = "key" in event ? event.key : null;
    push(this.#orders, {
      atMs: this.#now(),
      order: key,
      type: event.type,
      detail,
      ...(rid === undefined ? {} : { rid }),
    }, this.#maxOrderEvents);
    this.#logger.log(
      event.type === "anomaly" ? "warn" : "info",
      `order ${event.type}`,
      {
        ...(key === null ? {} : { order: key }),
        ...fields,
        detail,
        ...(rid === undefined ? {} : { rid }),
      },
    );
    this.#changed();
  }

  /**
   * Record an order action that is not a lifecycle event (the stale-order
   * repositioner's amends and cancels, with their reason) among the order
   * events, and write its log line with `order`, the given fields and the
   * current `rid`, as {@linkcode orderEvent} does.
   *
   * @param entry The order's key, the event type, a one-line detail, the
   *   log level (default `info`) and extra log fields.
   */
  orderAction(entry: {
    order: string | null;
    type: string;
    detail: string;
    level?: "info" | "warn";
    fields?: Record<string, unknown>;
  }): void {
    const rid = currentRequestId();
    push(this.#orders, {
      atMs: this.#now(),
      order: entry.order,
      type: entry.type,
      detail: entry.detail,
      ...(rid === undefined ? {} : { rid }),
    }, this.#maxOrderEvents);
    this.#logger.log(entry.level ?? "info", `order ${entry.type}`, {
      ...(entry.order === null ? {} : { order: entry.order }),
      ...entry.fields,
      detail: entry.detail,
      ...(rid === undefined ? {} : { rid }),
    });
    this.#changed();
  }

  /**
   * Where the dead-man switch state is read from.
   *
   * @param read Returns the switch's state, or `undefined` when not armed.
   */
  deadManFrom(read: () => DeadManState | undefined): void {
    this.#deadMan = read;
  }

  /**
   * Where the recorder's state is read from; call
   * {@linkcode OpsMonitor.recorderChanged} when it changes.
   *
   * @param read Returns the recorder's state, or `null` when none ran.
   */
  recorderFrom(read: () => OpsRecorder | null): void {
    this.#recorder = read;
    this.#changed();
  }

  /** The recorder's state changed: push it. */
  recorderChanged(): void {
    this.#changed();
  }

  /**
   * The state now, read from the live objects.
   *
   * @returns The snapshot.
   */
  snapshot(): OpsSnapshot {
    const counter = (
      limiter: RateLimiter,
      name: CounterName,
      pair?: string,
    ): OpsCounter => {
      const c = limiter.snapshot(name, pair);
      return {
        level: Math.round(c.level * 1000) / 1000,
        max: c.max,
        decayPerSec: c.decayPerSec,
        queued: limiter.pending(name, pair),
      };
    };
    const trading: Record<string, OpsCounter> = {};
    for (const pair of this.#tradingPairs) {
      trading[pair] = counter(this.#limiter, "trading", pair);
    }
    const nowMs = this.#now();
    const deadMan = this.#deadMan();
    return {
      atMs: nowMs,
      tier: this.#limiter.tier,
      rest: counter(this.#limiter, "rest"),
      trading,
      public: counter(this.#publicLimiter, "public"),
      upstream: {
        ...this.#upstream,
        byMethod: { ...this.#upstream.byMethod },
      },
      connections: this.#connections.map((w) => {
        const s = w.connection.snapshot();
        const openedAtMs = w.openedAtMs === null || s.state !== "open"
          ? null
          : w.openedAtMs;
        return {
          name: w.name,
          state: s.state,
          uptimeMs: openedAtMs === null ? null : nowMs - openedAtMs,
          openedAtMs,
          reconnects: s.reconnects,
          reasons: [...w.reasons],
          subscriptions: s.subscriptions.map((sub) => ({
            channel: sub.channel,
            symbol: sub.symbol,
            state: sub.state,
            silent: sub.silent,
            error: sub.error,
          })),
          books: s.books.map((b) => ({
            symbol: b.symbol,
            integrity: b.integrity,
            checksumFailures: b.checksumFailures,
            resyncs: w.resyncs.get(b.symbol) ?? 0,
          })),
          malformedFrames: s.malformedFrames,
        };
      }),
      errorsByKind: { ...this.#errorsByKind },
      errors: [...this.#errors],
      orders: [...this.#orders],
      deadMan: deadMan === undefined ? null : {
        phase: deadMan.phase,
        expiresAtMs: deadMan.expiresAtMs,
        failures: deadMan.failures,
      },
      recorder: this.#recorder(),
    };
  }

  /**
   * Receive a snapshot after every change (at most one per microtask
   * turn) and once a second. Sends the current one at once.
   *
   * @param listener Receives snapshots; its exceptions are logged.
   * @param onClose Called when the monitor closes (end the stream).
   * @returns Unsubscribe.
   */
  subscribe(
    listener: (snapshot: OpsSnapshot) => void,
    onClose?: () => void,
  ): () => void {
    this.#listeners.add(listener);
    if (onClose !== undefined) this.#onClose.set(listener, onClose);
    this.#stopTicker ??= this.#every(() => this.#flush(), 1000);
    this.#send(listener, this.snapshot());
    return () => {
      this.#listeners.delete(listener);
      this.#onClose.delete(listener);
      if (this.#listeners.size === 0) {
        this.#stopTicker?.();
        this.#stopTicker = undefined;
        this.#cancelFlush?.();
        this.#cancelFlush = undefined;
        this.#flushQueued = false;
      }
    };
  }

  /** Stop following connections and pushing. */
  close(): void {
    for (const w of this.#connections) for (const off of w.off) off();
    this.#connections = [];
    this.#listeners.clear();
    const closers = [...this.#onClose.values()];
    this.#onClose.clear();
    for (const close of closers) {
      try {
        close();
      } catch {
        // Already closed.
      }
    }
    this.#stopTicker?.();
    this.#stopTicker = undefined;
    this.#cancelFlush?.();
    this.#cancelFlush = undefined;
    this.#flushQueued = false;
  }

  #changed(): void {
    if (this.#listeners.size === 0) return;
    this.#dirty = true;
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    const run = () => {
      this.#flushQueued = false;
      this.#cancelFlush = undefined;
      if (this.#dirty) this.#flush();
    };
    // A busy server changes something on every upstream call: at most one
    // push per `minPushIntervalMs`, the first at once.
    const waitMs = this.#lastFlushMs + this.#minPushIntervalMs - this.#now();
    if (waitMs <= 0) queueMicrotask(run);
    else this.#cancelFlush = this.#setTimer(run, waitMs);
  }

  #flush(): void {
    this.#dirty = false;
    this.#lastFlushMs = this.#now();
    if (this.#listeners.size === 0) return;
    const snapshot = this.snapshot();
    for (const listener of [...this.#listeners]) this.#send(listener, snapshot);
  }

  #send(listener: (s: OpsSnapshot) => void, snapshot: OpsSnapshot): void {
    try {
      listener(snapshot);
    } catch (error) {
      // Not through error(): that would push again, and again.
      this.#logger.error("error", {
        kind: "listener",
        source: "OpsMonitor subscriber",
        error: messageOf(error),
      });
    }
  }
}
