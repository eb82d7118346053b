/**
 * `--watch` for the market commands (`orderbook`, `trades`, `status`): one
 * public WebSocket v2 connection through core's {@linkcode WsConnection}
 * (reconnects, checksummed books), printed until Ctrl+C (SIGINT/SIGTERM
 * through `stop_signal.ts`), until `--updates N` updates were printed, or
 * until the connection cannot be opened at all.
 *
 * Bounded: a book is printed at most every {@linkcode BOOK_PRINT_INTERVAL_MS}
 * (the latest state; a burst of deltas is one print), nothing is queued, and
 * the socket and every timer are closed on the way out.
 *
 * @module
 */

import { BookSet } from "@krakked/core/ws/book";
import { WsConnection } from "@krakked/core/ws/connection";
import { KrakenError, LOCAL_CODES } from "@krakked/core/rest/errors";
import { UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { untilStopped } from "./stop_signal.ts";
import { commandWebSocket } from "./context.ts";

/** The `method` of a {@linkcode KrakenError} about the WebSocket stream. */
export const WEBSOCKET_METHOD = "WebSocket";

/** Least time between two prints of a book, in ms (a coalesced redraw). */
export const BOOK_PRINT_INTERVAL_MS = 250;

/**
 * Connection attempts that never opened before `--watch` gives up: the
 * stream is unreachable (a wrong URL, Kraken down), not merely flaky.
 */
export const WATCH_OPEN_ATTEMPTS = 3;

/** What a watch needs from its command. */
export interface WatchSpec {
  /** The public WS v2 URL (`connection.ws_public_url`). */
  url: string;
  /** Stop after this many printed updates (`--updates N`); unbounded when absent. */
  updates: number | undefined;
  /** The command, for a refused subscription (a usage error of it). */
  command: string;
  /**
   * Subscribe and listen. Call `printed()` after each update written, so
   * `--updates` can end the watch.
   */
  start: (
    connection: WsConnection,
    printed: () => void,
    books: BookSet,
  ) => void;
}

/**
 * Run a watch to its end: Ctrl+C, `io.stop`, `--updates` reached, or a
 * connection that never opens (a network {@linkcode KrakenError}).
 *
 * @param io The run's I/O (`io.stop` ends the watch as SIGINT does).
 * @param spec URL, bound and the command's subscriptions.
 * @returns `"stopped"` (a signal) or `"done"` (`--updates` reached).
 * @throws {KrakenError} When the stream could not be opened.
 * @throws {UsageError} When the exchange refused the subscription.
 * @example Watch a book
 * ```ts ignore
 * await runWatch(io, { url, updates: 5, command: "orderbook", start: (ws) => {
 *   ws.subscribe({ channel: "book", symbol: "BTC/USD", depth: 10 });
 * } });
 * ```
 */
export async function runWatch(
  io: CliIo,
  spec: WatchSpec,
): Promise<"stopped" | "done"> {
  const books = new BookSet();
  let fail: (error: Error) => void = () => {};
  let finish: () => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const done = new Promise<"done">((
    resolve,
  ) => (finish = () => resolve("done")));
  let count = 0;
  const printed = () => {
    count++;
    if (spec.updates !== undefined && count >= spec.updates) finish();
  };
  const WebSocket = commandWebSocket();
  const connection = new WsConnection(spec.url, {
    books,
    // The command's correlation id on the handshake and in its log.
    ...(WebSocket === undefined ? {} : { WebSocket }),
    // A listener's exception must end the watch, not the process.
    onListenerError: (error) =>
      fail(error instanceof Error ? error : new Error(String(error))),
  });
  let opened = false;
  let attempts = 0;
  connection.on("open", () => (opened = true));
  connection.on("closed", ({ reason }) => {
    if (opened) return;
    attempts++;
    if (attempts >= WATCH_OPEN_ATTEMPTS) {
      fail(
        new KrakenError(
          `Cannot open the WebSocket stream at ${spec.url} after ${attempts} attempts${
            reason ? `: ${reason}` : ""
          }`,
          {
            codes: [LOCAL_CODES.fetchFailed],
            kind: "network",
            method: WEBSOCKET_METHOD,
          },
        ),
      );
    }
  });
  connection.on("subscription_error", ({ channel, symbol, error }) => {
    fail(
      new UsageError(
        `Kraken refused the ${channel ?? ""} subscription${
          symbol ? ` for ${symbol}` : ""
        }: ${error}`,
        spec.command,
      ),
    );
  });
  const ended = new AbortController();
  const signal = io.stop === undefined
    ? ended.signal
    : AbortSignal.any([ended.signal, io.stop]);
  // Swallow the rejection of the promise nobody awaits after the race.
  failed.catch(() => {});
  try {
    spec.start(connection, printed, books);
    connection.connect();
    return await Promise.race([
      untilStopped(signal).then(() => "stopped" as const),
      done,
      failed,
    ]);
  } finally {
    ended.abort();
    connection.close();
  }
}

/**
 * A trailing throttle: `request()` runs `print` at once when the last print
 * is older than `intervalMs`, else once when the interval has passed (the
 * latest state, never a queue). `cancel()` drops a pending print.
 *
 * @param print What to print (reads the current state).
 * @param intervalMs Least time between prints.
 * @param now Clock in ms.
 * @returns `request` and `cancel`.
 * @example Coalesce
 * ```ts ignore
 * const redraw = coalesce(() => draw(book), 250, Date.now);
 * connection.on("book", () => redraw.request());
 * ```
 */
export function coalesce(
  print: () => void,
  intervalMs: number,
  now: () => number,
): { request: () => void; cancel: () => void } {
  let lastMs = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    lastMs = now();
    print();
  };
  return {
    request() {
      if (timer !== undefined) return;
      const waitMs = lastMs + intervalMs - now();
      if (waitMs <= 0) run();
      else timer = setTimeout(run, waitMs);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
