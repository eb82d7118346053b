/**
 * Helpers for the core-client ↔ simulator integration tests: a counting
 * fetch wrapper, a clock tests move by hand, secret scanning of errors, and
 * drivers that advance a {@linkcode FakeClock} only while every request is
 * parked in the rate limiter.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { FetchLike } from "../../../core/rest/client.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import type { CounterName, RateLimiter } from "../../../core/rest/ratelimit.ts";
import type { FakeClock } from "../../fakes/clock.ts";

/** The official signing secret of REST.md §2.3, Vector A. */
export const VECTOR_A_SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
/** Vector A's nonce. */
export const VECTOR_A_NONCE = 1616492376594;
/** Vector A's body (AddOrder). */
export const VECTOR_A_BODY =
  "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
/** Vector A's `API-Sign`. */
export const VECTOR_A_SIGN =
  "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==";
/** REST.md §2.3 derived vector: `Balance` with body `nonce=1616492376594`. */
export const DERIVED_BALANCE_SIGN =
  "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==";

/** One request seen by {@linkcode CountingFetch}. */
export interface SeenRequest {
  /** `GET` or `POST`. */
  method: string;
  /** Path, e.g. `/0/private/Balance`. */
  path: string;
  /** The request body text (private calls). */
  body: string;
  /** The `API-Sign` header, if any. */
  apiSign: string | null;
  /** The answer body, when bodies are buffered. */
  answer?: string;
}

/** Options of {@linkcode CountingFetch}. */
export interface CountingFetchOptions {
  /**
   * Read every answer inside the wrapper and hand the client a buffered
   * copy, so `inflight` covers the whole round trip and answers can be
   * inspected (default `false`: the client reads the real body stream).
   */
  buffer?: boolean;
}

/**
 * A transparent wrapper around the global `fetch` that records each
 * request the client sends (and, when buffering, each answer).
 */
export class CountingFetch {
  /** Every request, in send order. */
  readonly seen: SeenRequest[] = [];
  /** Requests started and not finished yet. */
  inflight = 0;
  #buffer: boolean;

  /**
   * Create the wrapper.
   *
   * @param options Whether to buffer answers.
   */
  constructor(options: CountingFetchOptions = {}) {
    this.#buffer = options.buffer ?? false;
  }

  /** The fetch to inject into `RestClient`. */
  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    const record: SeenRequest = {
      method: init?.method ?? "GET",
      path: url.pathname,
      body: typeof init?.body === "string" ? init.body : "",
      apiSign: headers.get("API-Sign"),
    };
    this.seen.push(record);
    this.inflight++;
    try {
      const response = await globalThis.fetch(input, init);
      if (!this.#buffer) return response;
      const text = await response.text();
      record.answer = text;
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      this.inflight--;
    }
  };

  /** Requests sent so far. */
  get count(): number {
    return this.seen.length;
  }

  /**
   * Requests to one path.
   *
   * @param method Kraken method name, e.g. `Balance`.
   * @returns How many were sent.
   */
  countOf(method: string): number {
    return this.seen.filter((r) => r.path.endsWith(`/${method}`)).length;
  }

  /**
   * Buffered answers whose `error` array holds `code`.
   *
   * @param code E.g. `EAPI:Rate limit exceeded`.
   * @returns How many answers carried it.
   */
  answersWith(code: string): number {
    return this.seen.filter((r) => {
      if (r.answer === undefined) return false;
      try {
        const parsed = JSON.parse(r.answer) as { error?: unknown };
        return Array.isArray(parsed.error) && parsed.error.includes(code);
      } catch {
        return false;
      }
    }).length;
  }
}

/** A clock tests move by hand, without timers (for budgets that decay). */
export class SteppedClock {
  /** Current time, ms. */
  ms: number;

  /**
   * Create the clock.
   *
   * @param ms Start time, ms.
   */
  constructor(ms: number) {
    this.ms = ms;
  }

  /** The clock function to inject. */
  readonly now = (): number => this.ms;

  /**
   * Move forward.
   *
   * @param ms How far.
   */
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * Await a promise that must reject with a {@linkcode KrakenError}.
 *
 * @param promise The call.
 * @param expected Fields the error must have.
 * @returns The error.
 */
export async function expectKrakenError(
  promise: Promise<unknown>,
  expected: Partial<Pick<KrakenError, "kind" | "code" | "retryable">> & {
    httpStatus?: number;
  },
): Promise<KrakenError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof KrakenError,
    `expected a KrakenError, got ${
      caught === undefined ? "success" : String(caught)
    }`,
  );
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(
      (caught as unknown as Record<string, unknown>)[name],
      value,
      `KrakenError.${name} (message: ${caught.message})`,
    );
  }
  return caught;
}

/**
 * Assert that no rendering of the values (message, `String`, JSON, stack,
 * inspection, cause chain) contains any of the secrets.
 *
 * @param values Errors or other values to scan.
 * @param secrets Secret texts that must not appear.
 */
export function assertNoSecrets(
  values: readonly unknown[],
  secrets: readonly string[],
): void {
  for (const secret of secrets) assert.ok(secret.length >= 8);
  for (const value of values) {
    const renderings: string[] = [];
    let current: unknown = value;
    for (let depth = 0; current !== undefined && depth < 5; depth++) {
      renderings.push(String(current));
      renderings.push(JSON.stringify(current) ?? "");
      renderings.push(Deno.inspect(current, { depth: 8 }));
      if (current instanceof Error) {
        renderings.push(current.message, current.stack ?? "");
        current = current.cause;
      } else {
        current = undefined;
      }
    }
    for (const text of renderings) {
      for (const secret of secrets) {
        assert.equal(
          text.includes(secret),
          false,
          `a secret leaked into: ${text.slice(0, 120)}`,
        );
      }
    }
  }
}

/**
 * Drive one call whose only waits are in the rate limiter: run real work
 * until the call settles or is parked in the limiter with nothing on the
 * wire, then jump the fake clock to the limiter's next timer.
 *
 * @param clock The clock shared by client and simulator.
 * @param promise The call.
 * @param limiter The client's limiter.
 * @param wire The client's fetch wrapper.
 * @param counter The limiter counter the call waits on.
 * @returns The call's outcome.
 */
export async function driveThroughLimiter<T>(
  clock: FakeClock,
  promise: Promise<T>,
  limiter: RateLimiter,
  wire: CountingFetch,
  counter: CounterName = "rest",
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null =
    null;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error) => (outcome = { ok: false, error }),
  );
  for (let jumps = 0; jumps < 1_000; jumps++) {
    await clock.until(
      () =>
        outcome !== null ||
        (wire.inflight === 0 && limiter.pending(counter) > 0),
      20_000,
    );
    if (outcome !== null) return outcome;
    const next = clock.nextTimerAtMs();
    assert.ok(next !== undefined, "a parked call needs a limiter timer");
    clock.advanceTo(next);
  }
  throw new Error("driveThroughLimiter: the call never settled");
}
