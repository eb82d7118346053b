/**
 * Turn Kraken REST answers into results or typed errors. Nothing here
 * throws anything but {@linkcode KrakenError}: HTML pages, empty or
 * truncated bodies and odd shapes all become `service` errors, never a raw
 * `SyntaxError`.
 *
 * Parsing is deliberately shallow: it checks what the typed methods rely on
 * (the envelope, the pair key, the row arrays, cursors) and keeps every
 * decimal as its wire string.
 *
 * @module
 */

import { isRecord } from "../_record.ts";
import { isKrakenWarning, KrakenError, LOCAL_CODES } from "./errors.ts";
import type {
  DepthResult,
  OhlcResult,
  SpreadResult,
  TradesResult,
} from "./types.ts";

/** Where an answer came from, for error messages. */
export interface AnswerContext {
  /** The REST method, e.g. `Ticker`. */
  method: string;
  /** The HTTP status. */
  httpStatus: number;
  /** The `Content-Type` header, if any. */
  contentType?: string | null;
}

/** A successful answer: the result and any `W…` warnings beside it. */
export interface ParsedAnswer {
  /** The `result` member, not yet checked against the endpoint's shape. */
  result: unknown;
  /** Warning strings that came with the result. */
  warnings: string[];
}

function fail(
  code: string,
  message: string,
  context: { method: string; httpStatus?: number },
  retryable?: boolean,
): KrakenError {
  return new KrakenError(message, {
    codes: [code],
    method: context.method,
    ...(context.httpStatus === undefined
      ? {}
      : { httpStatus: context.httpStatus }),
    ...(retryable === undefined ? {} : { retryable }),
  });
}

function describeBody(contentType: string | null | undefined): string {
  const type = contentType?.split(";")[0]?.trim();
  return type ? `a ${type} body` : "a body without a content type";
}

/**
 * Parse a REST answer body. Errors from Kraken (`E…` strings) throw; warnings
 * (`W…`) next to a result are returned. Non-200 statuses, empty bodies,
 * non-JSON (Cloudflare HTML) and truncated JSON throw `service` errors with
 * `Krakked:` codes. The body text is never put in a message or cause.
 *
 * @param text The response body.
 * @param context Method, HTTP status and content type.
 * @returns The result and warnings.
 * @throws {KrakenError} For every failure.
 * @example Parse
 * ```ts
 * import { parseAnswer } from "./parse.ts";
 * parseAnswer('{"error":[],"result":{"unixtime":1}}', { method: "Time", httpStatus: 200 });
 * // { result: { unixtime: 1 }, warnings: [] }
 * ```
 */
export function parseAnswer(
  text: string,
  context: AnswerContext,
): ParsedAnswer {
  const { method, httpStatus } = context;
  let parsed: unknown = undefined;
  let json = false;
  if (text.trim() !== "") {
    try {
      parsed = JSON.parse(text);
      json = true;
    } catch {
      // Deliberately no cause: JSON.parse's message quotes the body, which
      // may hold a token (GetWebSocketsToken) or other account data.
    }
  }
  const codes = json && isRecord(parsed) && Array.isArray(parsed.error)
    ? parsed.error.filter((e): e is string => typeof e === "string")
    : undefined;
  const errors = codes?.filter((c) => !isKrakenWarning(c)) ?? [];

  if (httpStatus !== 200) {
    if (errors.length > 0) return throwCodes(errors, method, httpStatus);
    // 408/425/429 and 5xx are the edge being busy; other statuses won't change.
    const transient = httpStatus === 408 || httpStatus === 425 ||
      httpStatus === 429 || httpStatus >= 500;
    throw fail(
      LOCAL_CODES.httpStatus,
      `Kraken ${method} call failed: HTTP ${httpStatus} with ${
        describeBody(context.contentType)
      }`,
      context,
      transient,
    );
  }
  if (text.trim() === "") {
    throw fail(
      LOCAL_CODES.emptyBody,
      `Kraken ${method} call failed: HTTP 200 with an empty body`,
      context,
    );
  }
  if (!json) {
    throw fail(
      LOCAL_CODES.invalidJson,
      `Kraken ${method} call failed: the answer is not valid JSON (${
        describeBody(context.contentType)
      } of ${text.length} characters)`,
      context,
    );
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.error)) {
    throw fail(
      LOCAL_CODES.badEnvelope,
      `Kraken ${method} call failed: the answer has no error array`,
      context,
    );
  }
  if (errors.length > 0) return throwCodes(errors, method, httpStatus);
  if (!("result" in parsed) || parsed.result === undefined) {
    throw fail(
      LOCAL_CODES.badEnvelope,
      `Kraken ${method} call failed: the answer has neither errors nor a result`,
      context,
    );
  }
  return {
    result: parsed.result,
    warnings: (codes ?? []).filter(isKrakenWarning),
  };
}

function throwCodes(
  codes: string[],
  method: string,
  httpStatus: number,
): never {
  throw KrakenError.fromCodes(
    codes,
    httpStatus === 200 ? { method } : { method, httpStatus },
  );
}

function unexpected(method: string, what: string): KrakenError {
  return fail(
    LOCAL_CODES.unexpectedResult,
    `Kraken ${method} answer has an unexpected shape: ${what}`,
    { method },
  );
}

/**
 * Check that a result is a JSON object (the map-shaped results: Ticker,
 * Assets, Balance, QueryOrders, …).
 *
 * @param result The result.
 * @param method The method, for the message.
 * @returns The same value, typed as a record.
 * @throws {KrakenError} `service` / `Krakked:Unexpected result` otherwise.
 * @example Check
 * ```ts
 * import { expectRecord } from "./parse.ts";
 * expectRecord({ ZUSD: "1.0" }, "Balance");
 * ```
 */
export function expectRecord(
  result: unknown,
  method: string,
): Record<string, unknown> {
  if (!isRecord(result)) {
    throw unexpected(method, `expected an object, got ${kindOf(result)}`);
  }
  return result;
}

/**
 * Check that a result object has an object member (e.g. `open` in
 * OpenOrders, `ledger` in Ledgers).
 *
 * @param result The result.
 * @param member The member name.
 * @param method The method, for the message.
 * @returns The result, typed as a record.
 * @throws {KrakenError} `Krakked:Unexpected result` when the member is missing.
 * @example Check
 * ```ts
 * import { expectMember } from "./parse.ts";
 * expectMember({ open: {} }, "open", "OpenOrders");
 * ```
 */
export function expectMember(
  result: unknown,
  member: string,
  method: string,
): Record<string, unknown> {
  const record = expectRecord(result, method);
  if (!isRecord(record[member])) {
    throw unexpected(
      method,
      `"${member}" should be an object, got ${kindOf(record[member])}`,
    );
  }
  return record;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function pairRows(
  result: unknown,
  method: string,
): { pair: string; rows: unknown[]; last: unknown } {
  const record = expectRecord(result, method);
  const keys = Object.keys(record).filter((k) => k !== "last");
  if (keys.length !== 1) {
    throw unexpected(method, `expected one pair key, got ${keys.length}`);
  }
  const pair = keys[0]!;
  const rows = record[pair];
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
    throw unexpected(method, `rows under "${pair}" are not arrays`);
  }
  return { pair, rows, last: record.last };
}

/**
 * Parse an `OHLC` result: rows under the pair key and the integer `last`.
 *
 * @param result The result.
 * @returns Pair key, rows and cursor.
 * @throws {KrakenError} `Krakked:Unexpected result` on a bad shape.
 * @example Parse
 * ```ts
 * import { parseOhlcResult } from "./parse.ts";
 * parseOhlcResult({ XXBTZUSD: [], last: 1548111600 }).pair; // "XXBTZUSD"
 * ```
 */
export function parseOhlcResult(result: unknown): OhlcResult {
  const { pair, rows, last } = pairRows(result, "OHLC");
  if (typeof last !== "number") {
    throw unexpected("OHLC", `"last" should be a number, got ${kindOf(last)}`);
  }
  // Every row is [time, open, high, low, close, vwap, volume, count]: a bad
  // one is Kraken's (or a proxy's) fault, reported as such, never a
  // TypeError further down.
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as unknown[];
    let ok = row.length >= 8 && Number.isSafeInteger(row[0]) &&
      Number.isSafeInteger(row[7]);
    for (let f = 1; ok && f <= 6; f++) ok = typeof row[f] === "string";
    if (!ok) {
      throw unexpected(
        "OHLC",
        `row ${i} under "${pair}" is not [time, open, high, low, close, vwap, volume, count]`,
      );
    }
  }
  return { pair, rows: rows as OhlcResult["rows"], last };
}

/**
 * Parse a `Spread` result: rows under the pair key and the integer `last`.
 *
 * @param result The result.
 * @returns Pair key, rows and cursor.
 * @throws {KrakenError} `Krakked:Unexpected result` on a bad shape.
 * @example Parse
 * ```ts
 * import { parseSpreadResult } from "./parse.ts";
 * parseSpreadResult({ XXBTZUSD: [[1, "1.0", "1.1"]], last: 1 }).rows.length; // 1
 * ```
 */
export function parseSpreadResult(result: unknown): SpreadResult {
  const { pair, rows, last } = pairRows(result, "Spread");
  if (typeof last !== "number") {
    throw unexpected(
      "Spread",
      `"last" should be a number, got ${kindOf(last)}`,
    );
  }
  return { pair, rows: rows as SpreadResult["rows"], last };
}

/**
 * Parse a `Trades` result. `last` is a 19-digit nanosecond cursor: Kraken
 * sends it as a JSON string, which stays exact. Should an answer carry it as
 * a bare number (beyond 2^53, so JSON.parse rounded it), the exact digits are
 * recovered from the raw body text.
 *
 * @param result The result.
 * @param rawText The body the result was parsed from, if available.
 * @returns Pair key, rows and the exact cursor string.
 * @throws {KrakenError} `Krakked:Unexpected result` on a bad shape.
 * @example Parse
 * ```ts
 * import { parseTradesResult } from "./parse.ts";
 * parseTradesResult({ XXBTZUSD: [], last: "1688671969993150842" }).last;
 * // "1688671969993150842"
 * ```
 */
export function parseTradesResult(
  result: unknown,
  rawText?: string,
): TradesResult {
  const { pair, rows, last } = pairRows(result, "Trades");
  let cursor: string;
  if (typeof last === "string" && /^\d+$/.test(last)) {
    cursor = last;
  } else if (typeof last === "number" && Number.isInteger(last) && last >= 0) {
    const exact = rawText === undefined ? undefined : [
      ...rawText.matchAll(/"last"\s*:\s*(\d+)/g),
    ].at(-1)?.[1];
    cursor = exact !== undefined && Number(exact) === last
      ? exact
      : BigInt(last).toString();
  } else {
    throw unexpected(
      "Trades",
      `"last" should be a decimal cursor, got ${kindOf(last)}`,
    );
  }
  return { pair, rows: rows as TradesResult["rows"], last: cursor };
}

/**
 * Parse a `Depth` result: one pair key (usually the REST key; ccxt once saw
 * the wsname) holding `asks` and `bids`.
 *
 * @param result The result.
 * @returns Pair key, asks and bids.
 * @throws {KrakenError} `Krakked:Unexpected result` on a bad shape.
 * @example Parse
 * ```ts
 * import { parseDepthResult } from "./parse.ts";
 * parseDepthResult({ XXBTZUSD: { asks: [], bids: [] } }).pair; // "XXBTZUSD"
 * ```
 */
export function parseDepthResult(result: unknown): DepthResult {
  const record = expectRecord(result, "Depth");
  const keys = Object.keys(record);
  if (keys.length !== 1) {
    throw unexpected("Depth", `expected one pair key, got ${keys.length}`);
  }
  const pair = keys[0]!;
  const book = record[pair];
  if (
    !isRecord(book) || !Array.isArray(book.asks) || !Array.isArray(book.bids)
  ) {
    throw unexpected("Depth", `"${pair}" should hold asks and bids arrays`);
  }
  return {
    pair,
    asks: book.asks as DepthResult["asks"],
    bids: book.bids as DepthResult["bids"],
  };
}
