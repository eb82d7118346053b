/**
 * A fetch that is a handler: tests script responses as a function of the
 * request, and every request is recorded (URL, method, headers and the exact
 * body). Like the real fetch, it rejects with the signal's reason when the
 * request is aborted, even if the handler never answers.
 *
 * @module
 */

/** One request as the fake received it. */
export interface RecordedRequest {
  /** The full URL. */
  url: string;
  /** The HTTP method. */
  method: string;
  /** The request headers. */
  headers: Headers;
  /** The body as text ("" when none). */
  body: string;
  /** The exact `init.body` value the caller passed (for identity checks). */
  bodyInit: unknown;
}

/** Answers one request. */
export type FetchHandler = (
  request: Request,
  recorded: RecordedRequest,
) => Response | Promise<Response>;

/**
 * A scripted fetch.
 *
 * @example Script answers
 * ```ts
 * import { FakeFetch, jsonResponse } from "./fetch.ts";
 * const fake = new FakeFetch(() => jsonResponse({ error: [], result: {} }));
 * await fake.fetch("https://api.kraken.com/0/public/Time");
 * fake.calls.length; // 1
 * ```
 */
export class FakeFetch {
  /** Every request received, in order. */
  readonly calls: RecordedRequest[] = [];
  #handler: FetchHandler;

  /**
   * Create a fake.
   *
   * @param handler Answers each request.
   */
  constructor(handler: FetchHandler) {
    this.#handler = handler;
    this.fetch = this.fetch.bind(this);
  }

  /**
   * Replace the handler.
   *
   * @param handler The new handler.
   */
  setHandler(handler: FetchHandler): void {
    this.#handler = handler;
  }

  /**
   * The fetch function to inject.
   *
   * @param input URL or request.
   * @param init Request options.
   * @returns The handler's response.
   */
  async fetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const request = new Request(input, init);
    const recorded: RecordedRequest = {
      url: request.url,
      method: request.method,
      headers: new Headers(request.headers),
      body: request.body ? await request.clone().text() : "",
      bodyInit: init?.body,
    };
    this.calls.push(recorded);
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) throw signal.reason;
    const answer = Promise.resolve().then(() =>
      this.#handler(request, recorded)
    );
    if (!signal) return await answer;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([answer, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * A fetch that must never be called: it records the call and throws.
 *
 * @returns The fake; assert `calls.length === 0`.
 */
export function forbiddenFetch(): FakeFetch {
  return new FakeFetch((_request, recorded) => {
    throw new Error(`fetch must not be called, got ${recorded.url}`);
  });
}

/**
 * A handler that never answers (only an abort ends the request).
 *
 * @returns A promise that never settles.
 */
export function neverAnswer(): Promise<Response> {
  return new Promise<Response>(() => {});
}

/**
 * A JSON response.
 *
 * @param body The value to serialize.
 * @param init Status and headers.
 * @returns The response.
 */
export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    ...init,
    headers: { "content-type": "application/json", ...init.headers },
  });
}

/**
 * A text response with a content type.
 *
 * @param text The body.
 * @param status The HTTP status.
 * @param contentType The content type.
 * @returns The response.
 */
export function textResponse(
  text: string,
  status = 200,
  contentType = "text/html; charset=UTF-8",
): Response {
  return new Response(text, {
    status,
    headers: { "content-type": contentType },
  });
}

/**
 * A Kraken success envelope.
 *
 * @param result The result.
 * @param warnings `W…` strings to include.
 * @returns The response.
 */
export function krakenResult(
  result: unknown,
  warnings: string[] = [],
): Response {
  return jsonResponse({ error: warnings, result });
}

/**
 * A Kraken error envelope (HTTP 200, as Kraken sends them).
 *
 * @param errors The error strings.
 * @returns The response.
 */
export function krakenErrors(...errors: string[]): Response {
  return jsonResponse({ error: errors });
}
