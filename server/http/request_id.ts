/**
 * Correlation ids of the server. Every inbound request gets one: a sane
 * inbound `X-Request-Id` (1–64 characters of `[A-Za-z0-9._:-]`) is kept,
 * anything else is replaced by a minted id (`<boot>-<n>`, one string per
 * request). The id is echoed in the `X-Request-Id` answer header and written
 * on the request's log line.
 *
 * Requests that can act on the account (orders, private reads) also run
 * inside an `AsyncLocalStorage` scope, so the order service's lifecycle
 * lines and the upstream REST calls they cause (`ops_fetch.ts`) carry the
 * same id. Other requests (the public proxy, the page) skip the scope: their
 * upstream calls are cached and coalesced across callers, so one caller's
 * id would mislabel them, and the fast path stays allocation-light.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** The header read and echoed. */
export const REQUEST_ID_HEADER = "X-Request-Id";

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Whether an inbound id may be kept as it is.
 *
 * @param id The header's value.
 * @returns True for 1–64 characters of `[A-Za-z0-9._:-]`.
 */
export function isSaneRequestId(id: string | null | undefined): id is string {
  return id !== null && id !== undefined && SANE_ID.test(id);
}

/**
 * Mints ids `<prefix>-<n>` in base 36: unique within one server run, and
 * across runs by the prefix (start time and randomness).
 */
export class IdMint {
  #prefix: string;
  #n = 0;

  /**
   * @param prefix What every id starts with (default: from the clock and
   *   `Math.random`, 8–12 characters).
   */
  constructor(prefix?: string) {
    this.#prefix = prefix ??
      (Date.now() % 2_176_782_336).toString(36) +
        Math.floor(Math.random() * 1296).toString(36);
  }

  /**
   * The next id.
   *
   * @param kind A short tag put before the number (`r` request, `u`
   *   upstream call, `c` CLI command).
   * @returns A new id.
   */
  next(kind = "r"): string {
    return `${this.#prefix}-${kind}${(++this.#n).toString(36)}`;
  }
}

const scope = new AsyncLocalStorage<string>();

/**
 * The correlation id of the request being served, inside a scoped request
 * (orders and private routes), else `undefined`.
 *
 * @returns The id or `undefined`.
 */
export function currentRequestId(): string | undefined {
  return scope.getStore();
}

/**
 * Run `fn` with `id` as the current correlation id.
 *
 * @param id The id.
 * @param fn What to run.
 * @returns What `fn` returns.
 */
export function withRequestId<T>(id: string, fn: () => T): T {
  return scope.run(id, fn);
}

/**
 * Whether a request path gets an async scope (it may act on the account).
 *
 * @param path The URL path.
 * @returns True for `/api/orders…`, `/api/paper…`, `/api/private/…`.
 */
export function needsScope(path: string): boolean {
  return path.startsWith("/api/orders") || path.startsWith("/api/paper") ||
    path.startsWith("/api/private/");
}
