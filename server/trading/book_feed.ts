/**
 * The server's public WS v2 book feed: the books paper placements and paper
 * fills read instead of REST `Depth`, which shares the public REST budget
 * (about one call per second) with everything else.
 *
 * One public connection ({@linkcode WsConnection} from core) feeds one
 * {@linkcode BookSet} (core's checksummed books); a pair is subscribed to
 * `book` the first time it is watched, and the connection replays the
 * subscriptions after every reconnect. A book is handed out only when all
 * of these hold, and otherwise the caller falls back to REST:
 *
 * - the socket is open (during a reconnect the last book is not current);
 * - the book's checksum verified (`BookSet.top` is `undefined` while a
 *   checksum resync or a post-reconnect snapshot is pending);
 * - its last book frame arrived within `staleToleranceSec` (the config's
 *   `market_data.ws.stale_tolerance_seconds`), measured on the local clock
 *   at receipt, as the live cache does.
 *
 * @module
 */

import { type BookDepth, BookSet } from "@krakked/core/ws/book";
import {
  type ConnectionConfig,
  type ConnectionPhase,
  type WebSocketConstructor,
  WsConnection,
  type WsSubscription,
} from "@krakked/core/ws/connection";
import type { ListenerErrorHandler } from "@krakked/core/listeners";
import type { PairMetadata } from "@krakked/core/market/pairs";
import type { PaperBook } from "@krakked/core/trade/paper";
import type { BookSource } from "./orders.ts";

/**
 * Depth subscribed per pair: 25 levels cover tiny paper orders with room to
 * spare and keep the update rate of a busy pair low. REST `Depth` asks for
 * 50 (server/trading/orders.ts), so a paper market order that walks more than 25
 * levels fills less from the feed; raise `depth` for large paper orders.
 */
export const BOOK_FEED_DEPTH: BookDepth = 25;

/** Options of {@linkcode BookFeed}. */
export interface BookFeedOptions {
  /**
   * Oldest book handed out, in seconds since its last frame (the config's
   * `market_data.ws.stale_tolerance_seconds`). Default 60.
   */
  staleToleranceSec?: number;
  /** Book depth per pair. Default {@linkcode BOOK_FEED_DEPTH}. */
  depth?: BookDepth;
  /** WebSocket constructor; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Clock in ms; defaults to `Date.now`. */
  now?: () => number;
  /** One-shot timer returning its cancel function; defaults to `setTimeout`. */
  setTimer?: (fn: () => void, delayMs: number) => () => void;
  /** Random numbers in `[0, 1)` for reconnect jitter; defaults to `Math.random`. */
  random?: () => number;
  /** Connection tunables (backoff, watchdog, …); core's defaults otherwise. */
  connection?: Partial<ConnectionConfig> & { firstDataTimeoutMs?: number };
  /**
   * Receives exceptions thrown by the connection's event listeners
   * (default: rethrown from a microtask, which ends a Deno process).
   */
  onListenerError?: ListenerErrorHandler;
}

/** One watched pair as reported by {@linkcode BookFeed.status}. */
export interface BookFeedPairStatus {
  /** Canonical pair id (`XBTUSD`). */
  pairId: string;
  /** WS v2 symbol (`BTC/USD`). */
  symbol: string;
  /** `ok`, `resyncing` (checksum or reconnect) or `empty` (no snapshot yet). */
  integrity: "ok" | "resyncing" | "empty";
  /** Age of the last book frame, or `null` before the first. */
  ageMs: number | null;
  /** Checksum mismatches seen on this pair. */
  checksumFailures: number;
  /** Whether {@linkcode BookFeed.book} returns a book right now. */
  available: boolean;
}

/** A point-in-time view of the feed. */
export interface BookFeedStatus {
  /** Connection phase (`idle` until the first watch). */
  state: ConnectionPhase;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Frames the connection dropped as malformed. */
  malformedFrames: number;
  /** Exceptions thrown by `onUpdate` listeners (caught and counted). */
  listenerErrors: number;
  /** Watched pairs, in watch order. */
  pairs: BookFeedPairStatus[];
}

interface Watched {
  pair: PairMetadata;
  symbol: string;
  subscription: WsSubscription;
}

/**
 * Books of the watched pairs, kept live over one public WS v2 connection.
 *
 * @example Serve paper placements from the stream
 * ```ts ignore
 * import { BookFeed } from "./book_feed.ts";
 * const feed = new BookFeed(config.connection.ws_public_url, {
 *   staleToleranceSec: config.market_data.ws.stale_tolerance_seconds,
 * });
 * feed.watch(pair); // subscribes on first use
 * feed.book(pair.id); // undefined until the snapshot arrives
 * const off = feed.onUpdate((pairId) => rematch(pairId));
 * off();
 * feed.close();
 * ```
 */
export class BookFeed implements BookSource {
  #connection: WsConnection;
  #books: BookSet;
  #depth: BookDepth;
  #now: () => number;
  #toleranceMs: number;
  #watched = new Map<string, Watched>();
  /** Pair ids per (upper-case) symbol: two ids may share one stream. */
  #pairIds = new Map<string, string[]>();
  /** Local receive time of each symbol's last applied book frame. */
  #updatedAtMs = new Map<string, number>();
  #listeners = new Set<(pairId: string) => void>();
  #listenerErrors = 0;
  #onListenerError: ListenerErrorHandler | undefined;
  #offBook: () => void;
  #closed = false;

  /**
   * Create the feed; no socket is opened until the first
   * {@linkcode BookFeed.watch}.
   *
   * @param url Public WS v2 endpoint (`connection.ws_public_url`, or the
   *   simulator's `wsPublicUrl`).
   * @param options Tolerance, depth and injected services.
   * @throws {RangeError} When `staleToleranceSec` is not a positive number or
   *   `depth` is not a v2 book depth.
   * @throws {TypeError} When no WebSocket constructor is available.
   */
  constructor(url: string, options: BookFeedOptions = {}) {
    const toleranceSec = options.staleToleranceSec ?? 60;
    if (!(toleranceSec > 0) || !Number.isFinite(toleranceSec)) {
      throw new RangeError(
        `Cannot create a book feed: staleToleranceSec must be a positive number, got ${toleranceSec}`,
      );
    }
    this.#toleranceMs = toleranceSec * 1000;
    this.#depth = options.depth ?? BOOK_FEED_DEPTH;
    this.#books = new BookSet({ defaultDepth: this.#depth });
    this.#now = options.now ?? Date.now;
    this.#onListenerError = options.onListenerError;
    this.#connection = new WsConnection(url, {
      ...options.connection,
      books: this.#books,
      now: this.#now,
      ...(options.WebSocket === undefined
        ? {}
        : { WebSocket: options.WebSocket }),
      ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.onListenerError === undefined
        ? {}
        : { onListenerError: options.onListenerError }),
    });
    // WsConnection rethrows a listener's exception asynchronously, which
    // would end the process: nothing below may throw.
    this.#offBook = this.#connection.on("book", (result) => {
      if (result.kind !== "applied") return;
      this.#updatedAtMs.set(result.symbol, this.#now());
      const ids = this.#pairIds.get(result.symbol);
      if (ids === undefined || this.#listeners.size === 0) return;
      for (const pairId of ids) this.#notify(pairId);
    });
  }

  /** The feed's WS connection (for the ops view: events and snapshots). */
  get connection(): WsConnection {
    return this.#connection;
  }

  /** The endpoint URL. */
  get url(): string {
    return this.#connection.url;
  }

  /**
   * Start following a pair's book: subscribe `book` on the shared connection
   * (connecting on first use). Idempotent; a no-op after
   * {@linkcode BookFeed.close}. Never throws: a pair the feed cannot follow
   * simply has no book, and the caller falls back to REST.
   *
   * @param pair The pair (`wsV2` is the subscribed symbol, `id` the key).
   * @example Watch
   * ```ts ignore
   * feed.watch(market.resolver.get("XBTUSD"));
   * ```
   */
  watch(pair: PairMetadata): void {
    if (this.#closed || this.#watched.has(pair.id)) return;
    const symbol = pair.wsV2.trim().toUpperCase();
    let subscription: WsSubscription;
    try {
      subscription = this.#connection.subscribe({
        channel: "book",
        symbol,
        depth: this.#depth,
        // The checksum hashes the pair's full precision.
        priceDecimals: pair.priceDecimals,
        qtyDecimals: pair.volumeDecimals,
      });
    } catch {
      // Only misuse throws here (closed client, conflicting depth); the
      // caller's REST fallback covers the pair.
      return;
    }
    this.#watched.set(pair.id, { pair, symbol, subscription });
    const ids = this.#pairIds.get(symbol);
    if (ids === undefined) this.#pairIds.set(symbol, [pair.id]);
    else ids.push(pair.id);
    this.#connection.connect();
  }

  /**
   * The pair's current book, best first, as exact decimal text.
   *
   * @param pairId Canonical pair id (`PairMetadata.id`).
   * @returns The book, or `undefined` when the pair is not watched, the
   *   socket is not open, no verified snapshot is held (first snapshot,
   *   checksum resync, reconnect) or its last frame is older than the
   *   tolerance.
   * @example Read with a fallback
   * ```ts ignore
   * const book = feed.book("XBTUSD") ?? await restBook("XBTUSD");
   * ```
   */
  book(pairId: string): PaperBook | undefined {
    const watched = this.#watched.get(pairId);
    if (watched === undefined || this.#connection.state !== "open") {
      return undefined;
    }
    if (!this.#fresh(watched.symbol)) return undefined;
    // top() copies the levels: the caller may keep them.
    return this.#books.top(watched.symbol);
  }

  /**
   * Listen to book changes: called with the pair id after every verified
   * snapshot or update of a watched pair (not on a checksum mismatch, after
   * which {@linkcode BookFeed.book} is `undefined` until the next snapshot).
   * Runs on the socket's message handler, so keep it short; an exception
   * is caught and counted in {@linkcode BookFeed.status}.
   *
   * @param listener Receives the pair id.
   * @returns A function that removes the listener.
   * @example Re-match resting paper orders
   * ```ts ignore
   * const off = feed.onUpdate((pairId) => orders.rematch(pairId));
   * ```
   */
  onUpdate(listener: (pairId: string) => void): () => void {
    const own = (pairId: string) => listener(pairId);
    this.#listeners.add(own);
    return () => {
      this.#listeners.delete(own);
    };
  }

  /**
   * Where the feed stands, for status reporting and tests.
   *
   * @returns Connection phase, counters and every watched pair.
   * @example Count resyncs
   * ```ts ignore
   * feed.status().pairs.map((p) => p.checksumFailures);
   * ```
   */
  status(): BookFeedStatus {
    const snapshot = this.#connection.snapshot();
    const nowMs = this.#now();
    const pairs: BookFeedPairStatus[] = [];
    for (const [pairId, { symbol }] of this.#watched) {
      const at = this.#updatedAtMs.get(symbol);
      pairs.push({
        pairId,
        symbol,
        integrity: this.#books.integrity(symbol),
        ageMs: at === undefined ? null : Math.max(0, nowMs - at),
        checksumFailures: this.#books.checksumFailures(symbol),
        available: this.book(pairId) !== undefined,
      });
    }
    return {
      state: snapshot.state,
      reconnects: snapshot.reconnects,
      malformedFrames: snapshot.malformedFrames,
      listenerErrors: this.#listenerErrors,
      pairs,
    };
  }

  /**
   * Stop for good: close the socket, cancel its timers, drop the listeners.
   * Later calls to `book` return `undefined` and `watch` does nothing.
   *
   * @example Shut down
   * ```ts ignore
   * feed.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offBook();
    this.#listeners.clear();
    // The socket goes with its subscriptions: no unsubscribe one by one.
    this.#connection.close();
  }

  /** Same as {@linkcode BookFeed.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #fresh(symbol: string): boolean {
    const at = this.#updatedAtMs.get(symbol);
    return at !== undefined && this.#now() - at <= this.#toleranceMs;
  }

  #notify(pairId: string): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(pairId);
      } catch (error) {
        // A listener's bug must not stop the feed or the other listeners.
        this.#listenerErrors++;
        try {
          this.#onListenerError?.(error, "BookFeed update");
        } catch {
          // Nor may the handler's.
        }
      }
    }
  }
}
