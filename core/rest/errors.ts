/**
 * Kraken's error taxonomy: one error class with a `kind`, and one function
 * that maps wire strings (`EAPI:Invalid nonce`) to kinds
 * (docs/kraken/REST.md §8).
 *
 * Failures that never reached Kraken's API (timeouts, HTML pages from the
 * edge, truncated bodies) get Krakked codes starting with `Krakked:` so that
 * every {@linkcode KrakenError} has a stable `code` to log and switch on.
 *
 * @module
 */

/** What went wrong, coarse enough to decide what to do next. */
export type KrakenErrorKind =
  | "auth"
  | "permission"
  | "nonce"
  | "rate_limit"
  | "invalid_request"
  | "order"
  | "service"
  | "network"
  | "unknown";

/** The classification of one error string. */
export interface KrakenErrorInfo {
  /** The kind. */
  kind: KrakenErrorKind;
  /**
   * Whether the same read may succeed when sent again later (after a
   * back-off, a fresh nonce or `retryAtMs`). Orders are never re-sent
   * automatically whatever this says: their outcome may be ambiguous.
   */
  retryable: boolean;
  /** For `EService: Throttled: <ts>`: when to retry, in ms since the epoch. */
  retryAtMs?: number;
}

/** The Krakked codes, by name. */
export interface LocalCodes {
  /** `Krakked:Timeout` */
  readonly timeout: string;
  /** `Krakked:Aborted` */
  readonly aborted: string;
  /** `Krakked:Fetch failed` */
  readonly fetchFailed: string;
  /** `Krakked:HTTP status` */
  readonly httpStatus: string;
  /** `Krakked:Empty body` */
  readonly emptyBody: string;
  /** `Krakked:Invalid JSON` */
  readonly invalidJson: string;
  /** `Krakked:Bad envelope` */
  readonly badEnvelope: string;
  /** `Krakked:Unexpected result` */
  readonly unexpectedResult: string;
  /** `Krakked:Method not allowed` */
  readonly methodNotAllowed: string;
  /** `Krakked:No credentials` */
  readonly noCredentials: string;
  /** `Krakked:Invalid secret` */
  readonly invalidSecret: string;
  /** `Krakked:Locked out` */
  readonly lockedOut: string;
}

/** Codes Krakked uses for failures that carry no Kraken error string. */
export const LOCAL_CODES: LocalCodes = Object.freeze({
  /** The request did not finish within `timeoutMs`. */
  timeout: "Krakked:Timeout",
  /** The caller aborted the request. */
  aborted: "Krakked:Aborted",
  /** `fetch` itself failed (DNS, refused, reset, TLS). */
  fetchFailed: "Krakked:Fetch failed",
  /** A non-200 HTTP status (the status is in `httpStatus`). */
  httpStatus: "Krakked:HTTP status",
  /** A 200 answer with an empty body. */
  emptyBody: "Krakked:Empty body",
  /** A body that is not JSON (HTML error page, truncated JSON). */
  invalidJson: "Krakked:Invalid JSON",
  /** JSON that is not a `{error, result}` envelope. */
  badEnvelope: "Krakked:Bad envelope",
  /** A `result` whose shape does not match the endpoint. */
  unexpectedResult: "Krakked:Unexpected result",
  /** The method is not on Krakked's allowlist; nothing was sent. */
  methodNotAllowed: "Krakked:Method not allowed",
  /** A private call was made without credentials; nothing was sent. */
  noCredentials: "Krakked:No credentials",
  /** The API secret could not be used (not base64); nothing was sent. */
  invalidSecret: "Krakked:Invalid secret",
  /**
   * Private calls are paused after a Kraken lockout or repeated
   * authentication failures (retrying would extend the lockout); nothing
   * was sent.
   */
  lockedOut: "Krakked:Locked out",
});

type Rule = readonly [
  prefix: string,
  kind: KrakenErrorKind,
  retryable: boolean,
];

/**
 * Prefix rules, most specific first (REST.md §8). Compared case-insensitively
 * after `": "` is folded to `":"`, so `EService: Throttled: 1700000000`
 * matches `eservice:throttled`.
 */
const RULES: readonly Rule[] = [
  // Kraken's own strings.
  ["egeneral:invalid arguments", "invalid_request", false],
  ["egeneral:permission denied", "permission", false],
  // Retrying extends the ≈15 min lockout: stop and alert.
  ["egeneral:temporary lockout", "auth", false],
  ["egeneral:unknown method", "invalid_request", false],
  ["egeneral:internal error", "service", true],
  ["egeneral:too many requests", "rate_limit", true],
  ["eapi:invalid key", "auth", false],
  ["eapi:invalid signature", "auth", false],
  ["eapi:invalid nonce", "nonce", true],
  ["eapi:rate limit exceeded", "rate_limit", true],
  ["eapi:bad request", "invalid_request", false],
  ["eapi:invalid token", "auth", false],
  ["esession:invalid session", "auth", false],
  ["eauth:account temporary disabled", "auth", false],
  ["eauth:account unconfirmed", "auth", false],
  ["eauth:rate limit exceeded", "rate_limit", true],
  ["eauth:too many requests", "rate_limit", true],
  ["eaccount:invalid permissions", "permission", false],
  ["equery:", "invalid_request", false],
  ["eorder:rate limit exceeded", "rate_limit", true],
  ["eorder:domain rate limit exceeded", "rate_limit", true],
  // The open-order cap only clears when orders close: not a timed limit.
  ["eorder:orders limit exceeded", "order", false],
  ["eorder:", "order", false],
  ["eservice:throttled", "rate_limit", true],
  // Market modes persist until Kraken changes them (see SystemStatus).
  ["eservice:market in cancel_only mode", "service", false],
  ["eservice:market in post_only mode", "service", false],
  ["eservice:unavailable", "service", true],
  ["eservice:busy", "service", true],
  ["eservice:deadline elapsed", "service", true],
  ["eservice:", "service", true],
  ["etrade:invalid request", "invalid_request", false],
  ["etrade:", "order", false],
  ["edatabase:", "service", true],
  ["ebm:", "order", false],
  // An error prefix Kraken may answer with; no funding call exists here.
  ["efunding:", "invalid_request", false],
  ["eauth:", "auth", false],
  ["eaccount:", "permission", false],
  ["esession:", "auth", false],
  // Krakked's local codes.
  ["krakked:timeout", "network", true],
  ["krakked:aborted", "network", false],
  ["krakked:fetch failed", "network", true],
  ["krakked:http status", "service", true],
  ["krakked:empty body", "service", true],
  ["krakked:invalid json", "service", true],
  ["krakked:bad envelope", "service", false],
  ["krakked:unexpected result", "service", false],
  ["krakked:method not allowed", "invalid_request", false],
  ["krakked:no credentials", "auth", false],
  ["krakked:invalid secret", "auth", false],
  ["krakked:locked out", "auth", false],
];

/**
 * Fold the spacing variants Kraken uses (`EService: Throttled: 1` and
 * `EService:Throttled:1`) to one form.
 */
function normalize(code: string): string {
  return code.trim().replace(/\s*:\s*/g, ":");
}

/**
 * Map one Kraken error string to its kind (REST.md §8). Matching is by
 * prefix, case-insensitive and tolerant of spaces around `:`; unknown
 * strings are `unknown` and not retryable.
 *
 * @param code The error string as Kraken sent it.
 * @returns Kind, retryability and, for `EService:Throttled:<ts>`, the retry time.
 * @example Classify
 * ```ts
 * import { classifyKrakenError } from "./errors.ts";
 * classifyKrakenError("EAPI:Invalid nonce"); // { kind: "nonce", retryable: true }
 * classifyKrakenError("EService: Throttled: 1700000000");
 * // { kind: "rate_limit", retryable: true, retryAtMs: 1700000000000 }
 * ```
 */
export function classifyKrakenError(code: string): KrakenErrorInfo {
  const folded = normalize(code).toLowerCase();
  for (const [prefix, kind, retryable] of RULES) {
    if (!folded.startsWith(prefix)) continue;
    if (prefix === "eservice:throttled") {
      const at = Number(folded.slice(prefix.length).replace(/^:/, ""));
      if (folded.length > prefix.length && Number.isFinite(at) && at > 0) {
        return { kind, retryable, retryAtMs: Math.round(at * 1000) };
      }
    }
    return { kind, retryable };
  }
  return { kind: "unknown", retryable: false };
}

/**
 * Whether a string in `error` is a warning (`W…`), which accompanies a
 * valid result and is not an error.
 *
 * @param code The string.
 * @returns `true` for warnings.
 * @example Warning
 * ```ts
 * import { isKrakenWarning } from "./errors.ts";
 * isKrakenWarning("WDatabase:No change"); // true
 * ```
 */
export function isKrakenWarning(code: string): boolean {
  return code.trimStart().startsWith("W");
}

/** Options of {@linkcode KrakenError}. */
export interface KrakenErrorOptions {
  /** Every error string (Kraken's, or one Krakked code); the first decides. */
  codes: readonly string[];
  /** The REST method that failed, e.g. `Balance`. */
  method?: string;
  /** The HTTP status, when one was received. */
  httpStatus?: number;
  /** Override the kind derived from the first code. */
  kind?: KrakenErrorKind;
  /** Override the retryability derived from the first code. */
  retryable?: boolean;
  /**
   * The underlying error. Never pass anything that may hold a secret or a
   * response body (a JSON `SyntaxError` quotes the body it choked on).
   */
  cause?: unknown;
}

/**
 * A failed Kraken call. `kind` says what to do; `code` is the original
 * Kraken string (or a `Krakked:` code); messages never contain keys,
 * secrets, nonces, signatures or tokens, nor request or response bodies.
 *
 * @example Handle
 * ```ts
 * import { KrakenError } from "./errors.ts";
 * const err = new KrakenError("Kraken Balance call failed: EAPI:Invalid key", {
 *   codes: ["EAPI:Invalid key"],
 *   method: "Balance",
 * });
 * err.kind; // "auth"
 * err.retryable; // false
 * ```
 */
export class KrakenError extends Error {
  /** Always `"KrakenError"`. */
  override name = "KrakenError";
  /** What went wrong. */
  readonly kind: KrakenErrorKind;
  /** The first error string. */
  readonly code: string;
  /** Every error string, in wire order. */
  readonly codes: readonly string[];
  /** Whether a read may be retried (see {@linkcode KrakenErrorInfo}). */
  readonly retryable: boolean;
  /** For throttling: when to retry, in ms since the epoch. */
  readonly retryAtMs?: number;
  /** The HTTP status, when one was received. */
  readonly httpStatus?: number;
  /** The REST method that failed. */
  readonly method?: string;

  /**
   * Create an error.
   *
   * @param message Sentence-case text without secrets.
   * @param options Codes, method, status, overrides and cause.
   */
  constructor(message: string, options: KrakenErrorOptions) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    const codes = options.codes.length > 0 ? [...options.codes] : ["unknown"];
    const code = codes[0]!;
    const info = classifyKrakenError(code);
    this.kind = options.kind ?? info.kind;
    this.code = code;
    this.codes = Object.freeze(codes);
    this.retryable = options.retryable ?? info.retryable;
    if (info.retryAtMs !== undefined) this.retryAtMs = info.retryAtMs;
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
    if (options.method !== undefined) this.method = options.method;
  }

  /**
   * The error for a Kraken `error` array (warnings removed by the caller).
   *
   * @param codes Kraken's error strings.
   * @param options The method and HTTP status.
   * @returns The error; its message names the method and every code.
   * @example From codes
   * ```ts
   * import { KrakenError } from "./errors.ts";
   * KrakenError.fromCodes(["EOrder:Insufficient funds"], { method: "AddOrder" }).kind; // "order"
   * ```
   */
  static fromCodes(
    codes: readonly string[],
    options: { method?: string; httpStatus?: number } = {},
  ): KrakenError {
    const what = options.method
      ? `Kraken ${options.method} call`
      : "Kraken call";
    return new KrakenError(`${what} failed: ${codes.join(", ")}`, {
      codes,
      ...options,
    });
  }
}
