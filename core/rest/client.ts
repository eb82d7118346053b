/**
 * The Kraken Spot REST client: public GET and signed private POST over an
 * injected `fetch`, with per-request timeouts, Kraken's error taxonomy,
 * retries for reads only, and the rate-limit model.
 *
 * Only allowlisted methods can be called (./methods.ts); funding and
 * withdrawal methods are forbidden: they do not exist here.
 *
 * @module
 */

import { type Now, type Random, type SetTimer, systemClock } from "../clock.ts";
import type { DecimalString } from "../decimal.ts";
import { encodeForm, type FormValue, KrakenSigner } from "../auth/sign.ts";
import { NonceSource } from "../auth/nonce.ts";
import { Redactor } from "../secrets/redact.ts";
import { Secret } from "../secrets/secret.ts";
import { KrakenError, LOCAL_CODES } from "./errors.ts";
import {
  type MethodSpec,
  type PrivateMethod,
  privateMethod,
  type PublicMethod,
  publicMethod,
} from "./methods.ts";
import {
  expectMember,
  expectRecord,
  parseAnswer,
  parseDepthResult,
  parseOhlcResult,
  parseSpreadResult,
  parseTradesResult,
} from "./parse.ts";
import {
  type CounterName,
  RateLimiter,
  type Tier,
  tradingPenalty,
} from "./ratelimit.ts";
import type {
  AssetInfo,
  AssetPairInfo,
  ClosedOrdersResult,
  DepthResult,
  ExtendedBalance,
  LedgerEntry,
  LedgersResult,
  OhlcResult,
  OpenOrdersResult,
  OrderInfo,
  ServerTime,
  SpreadResult,
  SystemStatus,
  TickerInfo,
  TradeBalance,
  TradeInfo,
  TradesHistoryResult,
  TradesResult,
  TradeVolume,
} from "./types.ts";

/** A `fetch`-compatible function. */
export type FetchLike = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/** An API key pair. The key is sent as a header; the secret never leaves. */
export interface RestCredentials {
  /** The public API key. */
  key: string;
  /** The base64 private key. */
  secret: Secret | string;
}

/** Retry policy for reads (orders are never retried). */
export interface RetryOptions {
  /** Attempts in total, including the first (default 3; 1 disables retries). */
  maxAttempts?: number;
  /** Delay before the first retry, before jitter (default 500 ms). */
  baseDelayMs?: number;
  /** Cap of the exponential delay (default 8000 ms). */
  maxDelayMs?: number;
}

/** Options of {@linkcode RestClient}. */
export interface RestClientOptions {
  /** Scheme and host, without `/0` (default `https://api.kraken.com`). */
  baseUrl?: string;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Clock in ms since the epoch (default `systemClock.now`). */
  now?: Now;
  /** Per-request timeout covering the whole round trip (default 10000 ms). */
  timeoutMs?: number;
  /**
   * Deadline of a whole call: waiting in the limiter queue and the nonce
   * lane, every attempt and the back-off between them. A call still queued
   * when it passes is never sent. Default: none, so a library caller's
   * long, paced job (a backfill, a burst of orders) waits its turn; each
   * round trip is still bounded by `timeoutMs`. A server answering people
   * sets one (see {@linkcode DEFAULT_CALL_DEADLINE_MS}).
   */
  deadlineMs?: number;
  /** `User-Agent` header (default `krakked/0.1`). */
  userAgent?: string;
  /** API key and secret, needed for private calls. */
  credentials?: RestCredentials;
  /**
   * Nonce source for the key. Share one per key: sign-and-send is serialized
   * per nonce source so nonces reach Kraken in order.
   */
  nonce?: NonceSource;
  /**
   * Limiter for private calls (REST and trading counters). Share one per API
   * key; defaults to a private limiter of {@linkcode RestClientOptions.tier}.
   */
  limiter?: RateLimiter;
  /**
   * The account's tier (`connection.api_tier`), which sets the limits of the
   * REST and trading-engine counters of the limiter the client creates
   * (default `"starter"`, the strictest). With a shared `limiter` it must
   * match that limiter's tier.
   */
  tier?: Tier;
  /** Limiter for public calls; share one per process (default: `limiter`). */
  publicLimiter?: RateLimiter;
  /** Retry policy for reads. */
  retry?: RetryOptions;
  /** Uniform random in [0, 1) for jitter (default `systemClock.random`). */
  random?: Random;
  /** Timer for timeouts and retry delays (default `systemClock.setTimer`). */
  setTimer?: SetTimer;
  /** Called with `W…` warnings that came with a successful result. */
  onWarning?: (method: string, warnings: readonly string[]) => void;
  /**
   * Consecutive authentication failures (`auth`/`nonce` kinds) after which
   * private calls pause for {@linkcode RestClientOptions.lockoutMs}
   * (default 5). `EGeneral:Temporary lockout` pauses them at once: Kraken
   * extends its ≈15 min lockout on every further failed attempt.
   */
  lockoutAfterAuthFailures?: number;
  /** How long private calls pause after a lockout (default 900,000 ms). */
  lockoutMs?: number;
  /**
   * For keys with two-factor authentication: returns the one-time password
   * (or the key's static 2FA password) sent as `otp` with every private call.
   */
  otp?: () => string | Secret | Promise<string | Secret>;
}

/** A request parameter; `undefined` and `null` members are left out. */
export type ParamValue =
  | FormValue
  | null
  | undefined
  | readonly ParamValue[]
  | { readonly [key: string]: ParamValue };

/** Request parameters, sent in insertion order. */
export type CallParams = { readonly [key: string]: ParamValue };

/** Per-call options of the raw calls. */
export interface CallOptions {
  /**
   * Abort the call: one still waiting (limiter, nonce lane, back-off) is
   * never signed nor sent; a read in flight is cut off; an order already
   * sent runs to its answer or its round-trip timeout.
   */
  signal?: AbortSignal;
  /** This call's deadline (default: the client's `deadlineMs`). */
  deadlineMs?: number;
  /** The pair for the trading-engine counter (default: `params.pair`, else `*`). */
  pair?: string;
  /**
   * Trading-engine cost. Defaults to the worst case of the method's row
   * (age 0, see `tradingPenalty`); pass the real penalty when the order's
   * age is known.
   */
  tradingCost?: number;
}

/** A successful raw answer. */
export interface RestAnswer<T> {
  /** The `result` member. */
  result: T;
  /** `W…` warnings that came with it. */
  warnings: string[];
}

/** `GetWebSocketsToken` result, with the token held as a {@linkcode Secret}. */
export interface WebSocketsTokenGrant {
  /** The token; `reveal()` it only to send it on the private WebSocket. */
  token: Secret;
  /** Seconds the token may be first used within (900). */
  expires: number;
}

/** `AssetPairs` `info` levels. */
export type AssetPairsInfo = "info" | "leverage" | "fees" | "margin";

/** Start/end of a private history query: Unix seconds or a txid. */
export type HistoryBound = number | string;

/**
 * A sensible deadline of a whole call, queue and retries included, for a
 * server that answers people (30 s): a page request that waits longer is
 * better answered with a timeout than left hanging, and three 10 s round
 * trips fit.
 */
export const DEFAULT_CALL_DEADLINE_MS = 30_000;

const DEFAULT_BASE_URL = "https://api.kraken.com";
const DEFAULT_USER_AGENT = "krakked/0.1";

/**
 * Sign-and-send lanes, one per nonce source: a request holds its lane from
 * taking a nonce until its response headers arrive, so requests of one key
 * reach Kraken in nonce order.
 */
const lanes = new WeakMap<object, Promise<void>>();

async function inLane<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  const previous = lanes.get(owner) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  lanes.set(owner, previous.then(() => mine));
  await previous;
  try {
    return await fn();
  } finally {
    release();
  }
}

function list(
  value: string | readonly string[] | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(",");
}

/**
 * Flatten parameters into ordered form pairs: nested objects become bracket
 * keys (`close[price]`), arrays of scalars comma lists (`txid=A,B`).
 */
function formPairs(
  params: CallParams,
  prefix = "",
  out: Array<[string, FormValue]> = [],
): Array<[string, FormValue]> {
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const key = prefix ? `${prefix}[${name}]` : name;
    if (Array.isArray(value)) {
      const items = value as readonly ParamValue[];
      if (!items.every((v) => v !== null && typeof v !== "object")) {
        throw new TypeError(
          `Cannot form-encode "${key}": arrays of objects need a JSON body`,
        );
      }
      out.push([key, items.map(String).join(",")]);
    } else if (typeof value === "object") {
      formPairs(value as CallParams, key, out);
    } else {
      out.push([key, value as FormValue]);
    }
  }
  return out;
}

function jsonBody(nonce: string, params: CallParams): string {
  return JSON.stringify(
    { nonce, ...params },
    (_key, value) => typeof value === "bigint" ? value.toString() : value,
  );
}

function countItems(value: ParamValue): number {
  return Array.isArray(value) ? value.length : 0;
}

/** Which limiter counter a rate-limit answer is about. */
function counterFor(code: string, spec: MethodSpec): CounterName {
  const folded = code.toLowerCase();
  if (folded.startsWith("eorder:")) return "trading";
  return spec.access === "public" ? "public" : "rest";
}

/**
 * A Kraken Spot REST client.
 *
 * @example Public and private calls
 * ```ts ignore
 * import { RestClient } from "./client.ts";
 * const kraken = new RestClient({
 *   credentials: { key: "…", secret: "…" },
 * });
 * const { unixtime } = await kraken.time();
 * const balances = await kraken.balance();
 * ```
 */
export class RestClient {
  #baseUrl: string;
  #fetch: FetchLike;
  #now: Now;
  #timeoutMs: number;
  #deadlineMs: number | undefined;
  #userAgent: string;
  #key: string | undefined;
  #secret: Secret | undefined;
  #signer: Promise<KrakenSigner> | undefined;
  #nonces: NonceSource;
  #limiter: RateLimiter;
  #publicLimiter: RateLimiter;
  #ownsLimiter: boolean;
  #maxAttempts: number;
  #baseDelayMs: number;
  #maxDelayMs: number;
  #random: Random;
  #setTimer: SetTimer;
  #onWarning:
    | ((method: string, warnings: readonly string[]) => void)
    | undefined;
  #lockoutAfter: number;
  #lockoutMs: number;
  #otp: RestClientOptions["otp"];
  #authFailures = 0;
  #lockedUntilMs = 0;
  #closing = new AbortController();

  /**
   * Create a client. Nothing is sent until a method is called.
   *
   * @param options Endpoints, injected effects, credentials and policies.
   * @throws {RangeError} When `timeoutMs` or a retry setting is out of range,
   *   or `tier` differs from the given limiter's tier.
   */
  constructor(options: RestClientOptions = {}) {
    this.#baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.#fetch = options.fetch ??
      ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? systemClock.now;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(
        `Cannot create RestClient: timeoutMs must be > 0, got ${this.#timeoutMs}`,
      );
    }
    this.#deadlineMs = options.deadlineMs;
    if (this.#deadlineMs !== undefined && !(this.#deadlineMs > 0)) {
      throw new RangeError(
        `Cannot create RestClient: deadlineMs must be > 0, got ${this.#deadlineMs}`,
      );
    }
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    if (options.credentials) {
      this.#key = options.credentials.key;
      const secret = options.credentials.secret;
      this.#secret = typeof secret === "string" ? new Secret(secret) : secret;
    }
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#nonces = options.nonce ?? new NonceSource({ now: this.#now });
    if (
      options.limiter !== undefined && options.tier !== undefined &&
      options.limiter.tier !== options.tier
    ) {
      // Pacing by one tier while the account is metered by another either
      // wastes the allowance or runs into Kraken's rate-limit errors.
      throw new RangeError(
        `Cannot create RestClient: tier "${options.tier}" differs from the shared limiter's tier "${options.limiter.tier}"`,
      );
    }
    this.#ownsLimiter = options.limiter === undefined;
    this.#limiter = options.limiter ??
      new RateLimiter({
        tier: options.tier ?? "starter",
        now: this.#now,
        setTimer: this.#setTimer,
      });
    this.#publicLimiter = options.publicLimiter ?? this.#limiter;
    const retry = options.retry ?? {};
    this.#maxAttempts = retry.maxAttempts ?? 3;
    this.#baseDelayMs = retry.baseDelayMs ?? 500;
    this.#maxDelayMs = retry.maxDelayMs ?? 8_000;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new RangeError(
        `Cannot create RestClient: retry.maxAttempts must be an integer ≥ 1, got ${this.#maxAttempts}`,
      );
    }
    this.#random = options.random ?? systemClock.random;
    this.#onWarning = options.onWarning;
    this.#lockoutAfter = options.lockoutAfterAuthFailures ?? 5;
    this.#lockoutMs = options.lockoutMs ?? 900_000;
    this.#otp = options.otp;
  }

  /** Whether the client holds credentials for private calls. */
  get hasCredentials(): boolean {
    return this.#key !== undefined;
  }

  /**
   * The limiter of private calls (REST and trading-engine counters). Hand it
   * to other order paths of the same key (e.g. `WsOrderTransport`) so they
   * share its counters and tier.
   */
  get limiter(): RateLimiter {
    return this.#limiter;
  }

  /** The whole-call deadline in ms (queue, attempts, back-off), if any. */
  get deadlineMs(): number | undefined {
    return this.#deadlineMs;
  }

  /** The tier of the private limiter's REST and trading counters. */
  get tier(): Tier {
    return this.#limiter.tier;
  }

  /**
   * End every call still in progress (waiting, backing off or reading; an
   * order already sent is left to its round-trip timeout) and close the
   * limiter this client created (a shared one is left alone): waiting calls
   * reject and timers are cancelled.
   */
  close(): void {
    this.#closing.abort();
    if (this.#ownsLimiter) this.#limiter.close();
  }

  /** Same as {@linkcode RestClient.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ----- raw calls ---------------------------------------------------------

  /**
   * Call an allowlisted public method with a GET query string.
   *
   * @param method The method name, e.g. `Ticker`.
   * @param params Query parameters.
   * @param options Abort signal.
   * @returns The result and any warnings.
   * @throws {KrakenError} For every failure; `invalid_request` with
   *   `Krakked:Method not allowed` (before any I/O) for a method that is not
   *   on the allowlist.
   */
  callPublic(
    method: PublicMethod | string,
    params: CallParams = {},
    options: CallOptions = {},
  ): Promise<RestAnswer<unknown>> {
    const spec = publicMethod(method);
    if (!spec) return Promise.reject(notAllowed(method, "public"));
    return this.#call(spec, params, options).then(withoutRaw);
  }

  /**
   * Call an allowlisted private method with a signed POST. Reads are retried
   * per the retry policy; trading methods are sent exactly once.
   *
   * @param method The method name, e.g. `Balance`.
   * @param params Body parameters (`nonce` is added).
   * @param options Abort signal and trading-counter details.
   * @returns The result and any warnings.
   * @throws {KrakenError} For every failure; `invalid_request` /
   *   `Krakked:Method not allowed` or `auth` / `Krakked:No credentials`
   *   before any I/O.
   */
  callPrivate(
    method: PrivateMethod | string,
    params: CallParams = {},
    options: CallOptions = {},
  ): Promise<RestAnswer<unknown>> {
    const spec = privateMethod(method);
    if (!spec) return Promise.reject(notAllowed(method, "private"));
    if (this.#key === undefined || this.#secret === undefined) {
      return Promise.reject(
        new KrakenError(
          `Cannot call Kraken ${spec.name}: no API credentials are configured`,
          { codes: [LOCAL_CODES.noCredentials], method: spec.name },
        ),
      );
    }
    if (Object.hasOwn(params, "nonce")) {
      return Promise.reject(
        new TypeError(
          `Cannot call Kraken ${spec.name}: the client sets the nonce, remove it from the parameters`,
        ),
      );
    }
    if (this.#now() < this.#lockedUntilMs) {
      return Promise.reject(
        new KrakenError(
          `Cannot call Kraken ${spec.name}: private calls are paused until ${
            new Date(this.#lockedUntilMs).toISOString()
          } after repeated authentication failures; fix the key, secret or nonce first (every failed attempt extends Kraken's lockout)`,
          { codes: [LOCAL_CODES.lockedOut], method: spec.name },
        ),
      );
    }
    return this.#call(spec, params, options).then(
      (answer) => {
        this.#authFailures = 0;
        return withoutRaw(answer);
      },
      (error: unknown) => {
        this.#noteAuthFailure(error);
        throw error;
      },
    );
  }

  // ----- public endpoints --------------------------------------------------

  /**
   * Server time.
   *
   * @returns `{unixtime, rfc1123}`.
   * @throws {KrakenError} On failure.
   */
  async time(): Promise<ServerTime> {
    return expectRecord(
      await this.#result("Time", {}),
      "Time",
    ) as unknown as ServerTime;
  }

  /**
   * Exchange status (`online`, `maintenance`, `cancel_only`, `post_only`).
   *
   * @returns `{status, timestamp}`.
   * @throws {KrakenError} On failure.
   */
  async systemStatus(): Promise<SystemStatus> {
    return expectRecord(
      await this.#result("SystemStatus", {}),
      "SystemStatus",
    ) as unknown as SystemStatus;
  }

  /**
   * Asset info keyed by asset key (`XXBT`).
   *
   * @param options Assets to list (default all) and asset class.
   * @returns The asset map.
   * @throws {KrakenError} On failure.
   */
  async assets(
    options: { asset?: string | readonly string[]; aclass?: string } = {},
  ): Promise<Record<string, AssetInfo>> {
    const result = await this.#result("Assets", {
      asset: list(options.asset),
      aclass: options.aclass,
    });
    return expectRecord(result, "Assets") as Record<string, AssetInfo>;
  }

  /**
   * Tradable pairs keyed by REST pair key (`XXBTZUSD`).
   *
   * @param options Pairs (default all), info level, base asset class and
   *   country code (ISO 3166-1 alpha-2).
   * @returns The pair map.
   * @throws {KrakenError} On failure.
   */
  async assetPairs(
    options: {
      pair?: string | readonly string[];
      info?: AssetPairsInfo;
      aclassBase?: string;
      countryCode?: string;
    } = {},
  ): Promise<Record<string, AssetPairInfo>> {
    const result = await this.#result("AssetPairs", {
      pair: list(options.pair),
      info: options.info,
      aclass_base: options.aclassBase,
      country_code: options.countryCode,
    });
    return expectRecord(result, "AssetPairs") as Record<string, AssetPairInfo>;
  }

  /**
   * Tickers keyed by REST pair key.
   *
   * @param pairs Pairs to fetch (default every tradable pair).
   * @returns The ticker map.
   * @throws {KrakenError} On failure.
   */
  async ticker(
    pairs?: string | readonly string[],
  ): Promise<Record<string, TickerInfo>> {
    const result = await this.#result("Ticker", { pair: list(pairs) });
    return expectRecord(result, "Ticker") as Record<string, TickerInfo>;
  }

  /**
   * Order book of one pair.
   *
   * @param pair The pair (key or altname).
   * @param count Levels per side, 1–500 (Kraken's default 100).
   * @returns Pair key, asks (ascending) and bids (descending).
   * @throws {KrakenError} On failure.
   */
  async depth(pair: string, count?: number): Promise<DepthResult> {
    return parseDepthResult(await this.#result("Depth", { pair, count }));
  }

  /**
   * Recent public trades of one pair.
   *
   * @param pair The pair.
   * @param options `since` (a previous `last`, or Unix seconds) and `count`.
   * @returns Pair key, rows and the exact `last` cursor string.
   * @throws {KrakenError} On failure.
   */
  async trades(
    pair: string,
    options: { since?: string | number; count?: number } = {},
  ): Promise<TradesResult> {
    const answer = await this.#call(publicSpec("Trades"), {
      pair,
      since: options.since,
      count: options.count,
    }, {});
    return parseTradesResult(answer.result, answer.raw);
  }

  /**
   * Candles of one pair. The last row is the still-forming candle.
   *
   * @param pair The pair.
   * @param options `interval` in minutes and the `since` cursor.
   * @returns Pair key, rows and the `last` cursor.
   * @throws {KrakenError} On failure.
   */
  async ohlc(
    pair: string,
    options: { interval: number; since?: number },
  ): Promise<OhlcResult> {
    return parseOhlcResult(
      await this.#result("OHLC", {
        pair,
        interval: options.interval,
        since: options.since,
      }),
    );
  }

  /**
   * Recent top-of-book spreads of one pair.
   *
   * @param pair The pair.
   * @param since The `last` cursor of an earlier call.
   * @returns Pair key, rows and the `last` cursor.
   * @throws {KrakenError} On failure.
   */
  async spread(pair: string, since?: number): Promise<SpreadResult> {
    return parseSpreadResult(await this.#result("Spread", { pair, since }));
  }

  // ----- private endpoints -------------------------------------------------

  /**
   * Balances keyed by asset key, as decimal strings.
   *
   * @returns The balance map.
   * @throws {KrakenError} On failure.
   */
  async balance(): Promise<Record<string, DecimalString>> {
    const result = await this.#privateResult("Balance", {});
    return expectRecord(result, "Balance") as Record<string, DecimalString>;
  }

  /**
   * Extended balances (balance, credit, hold) keyed by asset key.
   *
   * @returns The balance map.
   * @throws {KrakenError} On failure.
   */
  async balanceEx(): Promise<Record<string, ExtendedBalance>> {
    const result = await this.#privateResult("BalanceEx", {});
    return expectRecord(result, "BalanceEx") as Record<string, ExtendedBalance>;
  }

  /**
   * Trade balance summary.
   *
   * @param asset Base asset (Kraken's default `ZUSD`).
   * @returns The summary.
   * @throws {KrakenError} On failure.
   */
  async tradeBalance(asset?: string): Promise<TradeBalance> {
    const result = await this.#privateResult("TradeBalance", { asset });
    return expectRecord(result, "TradeBalance") as unknown as TradeBalance;
  }

  /**
   * Open orders.
   *
   * @param options Include trades, filter by `userref` or `clOrdId`.
   * @returns `{open}` keyed by txid.
   * @throws {KrakenError} On failure.
   */
  async openOrders(
    options: { trades?: boolean; userref?: number; clOrdId?: string } = {},
  ): Promise<OpenOrdersResult> {
    const result = await this.#privateResult("OpenOrders", {
      trades: options.trades,
      userref: options.userref,
      cl_ord_id: options.clOrdId,
    });
    return expectMember(
      result,
      "open",
      "OpenOrders",
    ) as unknown as OpenOrdersResult;
  }

  /**
   * One page (50, newest first) of closed orders.
   *
   * @param options Filters and paging.
   * @returns `{closed, count}`.
   * @throws {KrakenError} On failure.
   */
  async closedOrders(
    options: {
      trades?: boolean;
      userref?: number;
      clOrdId?: string;
      start?: HistoryBound;
      end?: HistoryBound;
      ofs?: number;
      closetime?: "open" | "close" | "both";
      consolidateTaker?: boolean;
      withoutCount?: boolean;
    } = {},
  ): Promise<ClosedOrdersResult> {
    const result = await this.#privateResult("ClosedOrders", {
      trades: options.trades,
      userref: options.userref,
      cl_ord_id: options.clOrdId,
      start: options.start,
      end: options.end,
      ofs: options.ofs,
      closetime: options.closetime,
      consolidate_taker: options.consolidateTaker,
      without_count: options.withoutCount,
    });
    return expectMember(
      result,
      "closed",
      "ClosedOrders",
    ) as unknown as ClosedOrdersResult;
  }

  /**
   * Orders by txid (open or closed).
   *
   * @param txids Up to 50 order txids.
   * @param options Include trades, filter by `userref`, consolidate taker.
   * @returns Orders keyed by txid.
   * @throws {TypeError} When no txid is given.
   * @throws {KrakenError} On failure.
   */
  async queryOrders(
    txids: string | readonly string[],
    options: {
      trades?: boolean;
      userref?: number;
      consolidateTaker?: boolean;
    } = {},
  ): Promise<Record<string, OrderInfo>> {
    const result = await this.#privateResult("QueryOrders", {
      txid: required(txids, "QueryOrders", "txid"),
      trades: options.trades,
      userref: options.userref,
      consolidate_taker: options.consolidateTaker,
    });
    return expectRecord(result, "QueryOrders") as unknown as Record<
      string,
      OrderInfo
    >;
  }

  /**
   * One page of the account's trades.
   *
   * @param options Type filter, trades, bounds, paging, ledgers.
   * @returns `{trades, count}`.
   * @throws {KrakenError} On failure.
   */
  async tradesHistory(
    options: {
      type?: string;
      trades?: boolean;
      start?: HistoryBound;
      end?: HistoryBound;
      ofs?: number;
      consolidateTaker?: boolean;
      ledgers?: boolean;
    } = {},
  ): Promise<TradesHistoryResult> {
    const result = await this.#privateResult("TradesHistory", {
      type: options.type,
      trades: options.trades,
      start: options.start,
      end: options.end,
      ofs: options.ofs,
      consolidate_taker: options.consolidateTaker,
      ledgers: options.ledgers,
    });
    return expectMember(
      result,
      "trades",
      "TradesHistory",
    ) as unknown as TradesHistoryResult;
  }

  /**
   * Trades by txid.
   *
   * @param txids Up to 20 trade txids.
   * @param options Include related trades.
   * @returns Trades keyed by txid.
   * @throws {TypeError} When no txid is given.
   * @throws {KrakenError} On failure.
   */
  async queryTrades(
    txids: string | readonly string[],
    options: { trades?: boolean } = {},
  ): Promise<Record<string, TradeInfo>> {
    const result = await this.#privateResult("QueryTrades", {
      txid: required(txids, "QueryTrades", "txid"),
      trades: options.trades,
    });
    return expectRecord(result, "QueryTrades") as unknown as Record<
      string,
      TradeInfo
    >;
  }

  /**
   * One page of ledger entries.
   *
   * @param options Assets, class, type, bounds, paging.
   * @returns `{ledger, count}`.
   * @throws {KrakenError} On failure.
   */
  async ledgers(
    options: {
      asset?: string | readonly string[];
      aclass?: string;
      type?: string;
      start?: HistoryBound;
      end?: HistoryBound;
      ofs?: number;
      withoutCount?: boolean;
    } = {},
  ): Promise<LedgersResult> {
    const result = await this.#privateResult("Ledgers", {
      asset: list(options.asset),
      aclass: options.aclass,
      type: options.type,
      start: options.start,
      end: options.end,
      ofs: options.ofs,
      without_count: options.withoutCount,
    });
    return expectMember(
      result,
      "ledger",
      "Ledgers",
    ) as unknown as LedgersResult;
  }

  /**
   * Ledger entries by id.
   *
   * @param ids Up to 20 ledger ids.
   * @param options Include related trades.
   * @returns Entries keyed by id.
   * @throws {TypeError} When no id is given.
   * @throws {KrakenError} On failure.
   */
  async queryLedgers(
    ids: string | readonly string[],
    options: { trades?: boolean } = {},
  ): Promise<Record<string, LedgerEntry>> {
    const result = await this.#privateResult("QueryLedgers", {
      id: required(ids, "QueryLedgers", "id"),
      trades: options.trades,
    });
    return expectRecord(result, "QueryLedgers") as unknown as Record<
      string,
      LedgerEntry
    >;
  }

  /**
   * 30-day volume and, for the listed pairs, fee tiers.
   *
   * @param pairs Pairs to get fees for.
   * @returns Volume and fees.
   * @throws {KrakenError} On failure.
   */
  async tradeVolume(pairs?: string | readonly string[]): Promise<TradeVolume> {
    const result = await this.#privateResult("TradeVolume", {
      pair: list(pairs),
    });
    return expectRecord(result, "TradeVolume") as unknown as TradeVolume;
  }

  /**
   * A token for the private WebSocket, wrapped in {@linkcode Secret}.
   *
   * @returns The token and its first-use window in seconds.
   * @throws {KrakenError} On failure.
   */
  async getWebSocketsToken(): Promise<WebSocketsTokenGrant> {
    const result = expectRecord(
      await this.#privateResult("GetWebSocketsToken", {}),
      "GetWebSocketsToken",
    );
    if (typeof result.token !== "string" || result.token === "") {
      throw new KrakenError(
        "Kraken GetWebSocketsToken answer has an unexpected shape: no token",
        { codes: [LOCAL_CODES.unexpectedResult], method: "GetWebSocketsToken" },
      );
    }
    return {
      token: new Secret(result.token),
      expires: typeof result.expires === "number" ? result.expires : 900,
    };
  }

  // ----- machinery ---------------------------------------------------------

  async #result(method: PublicMethod, params: CallParams): Promise<unknown> {
    return (await this.#call(publicSpec(method), params, {})).result;
  }

  async #privateResult(
    method: PrivateMethod,
    params: CallParams,
  ): Promise<unknown> {
    return (await this.callPrivate(method, params)).result;
  }

  /**
   * One call within its deadline: waiting in the limiter and the nonce
   * lane, sending and retrying all end when the deadline passes or the
   * caller's signal aborts. A call that has not been signed yet is then
   * never sent; an order already on the wire is left to its own round-trip
   * timeout (aborting it would only hide its outcome).
   */
  async #call(
    spec: MethodSpec,
    params: CallParams,
    options: CallOptions,
  ): Promise<RestAnswer<unknown> & { raw: string }> {
    const deadlineMs = options.deadlineMs ?? this.#deadlineMs;
    const outer = options.signal;
    if (outer?.aborted || this.#closing.signal.aborted) throw aborted(spec);
    const controller = new AbortController();
    let expired = false;
    const cancelTimer = deadlineMs === undefined
      ? () => {}
      : this.#setTimer(() => {
        expired = true;
        controller.abort();
      }, deadlineMs);
    const onAbort = () => controller.abort();
    outer?.addEventListener("abort", onAbort, { once: true });
    // close() ends every call still waiting, sleeping or reading.
    this.#closing.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#attempts(spec, params, {
        ...options,
        signal: controller.signal,
      });
    } catch (error) {
      if (
        expired && error instanceof KrakenError &&
        error.code === LOCAL_CODES.aborted
      ) {
        throw new KrakenError(
          `Kraken ${spec.name} call missed its deadline of ${deadlineMs} ms (queued, sent or retried for that long)`,
          { codes: [LOCAL_CODES.timeout], method: spec.name },
        );
      }
      throw error;
    } finally {
      cancelTimer();
      outer?.removeEventListener("abort", onAbort);
      this.#closing.signal.removeEventListener("abort", onAbort);
    }
  }

  async #attempts(
    spec: MethodSpec,
    params: CallParams,
    options: CallOptions,
  ): Promise<RestAnswer<unknown> & { raw: string }> {
    let attempt = 0;
    let resigned = false;
    for (;;) {
      attempt++;
      try {
        const answer = await this.#once(spec, params, options);
        if (answer.warnings.length > 0) {
          this.#onWarning?.(spec.name, answer.warnings);
        }
        return answer;
      } catch (error) {
        if (!(error instanceof KrakenError)) throw error;
        if (error.kind === "rate_limit") {
          this.#backoff(spec, error, params, options);
        }
        if (!spec.idempotent || !error.retryable) throw error;
        if (error.kind === "nonce") {
          // Re-sign once with a fresh nonce: a read is safe to repeat.
          if (resigned) throw error;
          resigned = true;
          attempt--;
          continue;
        }
        if (attempt >= this.#maxAttempts) throw error;
        // Rate limits wait in the limiter (it was just backed off).
        if (error.kind !== "rate_limit") {
          await this.#sleep(this.#delayMs(attempt), spec, options.signal);
        }
      }
    }
  }

  /** Counts authentication failures and pauses private calls when needed. */
  #noteAuthFailure(error: unknown): void {
    if (!(error instanceof KrakenError)) return;
    if (/^egeneral:\s*temporary lockout/i.test(error.code)) {
      this.#lockedUntilMs = this.#now() + this.#lockoutMs;
      return;
    }
    if (error.kind !== "auth" && error.kind !== "nonce") return;
    if (error.code.startsWith("Krakked:")) return; // nothing reached Kraken
    this.#authFailures++;
    if (this.#authFailures >= this.#lockoutAfter) {
      this.#authFailures = 0;
      this.#lockedUntilMs = this.#now() + this.#lockoutMs;
    }
  }

  #delayMs(attempt: number): number {
    const capped = Math.min(
      this.#maxDelayMs,
      this.#baseDelayMs * 2 ** (attempt - 1),
    );
    // "Equal jitter": at least half the delay, so retries stay spaced out.
    return Math.round(capped / 2 + this.#random() * (capped / 2));
  }

  #backoff(
    spec: MethodSpec,
    error: KrakenError,
    params: CallParams,
    options: CallOptions,
  ): void {
    const counter = counterFor(error.code, spec);
    const limiter = spec.access === "public"
      ? this.#publicLimiter
      : this.#limiter;
    const backoff: { pair?: string; untilMs?: number } = {};
    if (counter === "trading") backoff.pair = pairOf(params, options);
    if (error.retryAtMs !== undefined) backoff.untilMs = error.retryAtMs;
    limiter.backoff(counter, backoff);
  }

  #sleep(
    ms: number,
    spec: MethodSpec,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(aborted(spec));
      const onAbort = () => {
        cancel();
        reject(aborted(spec));
      };
      const cancel = this.#setTimer(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async #wait(
    spec: MethodSpec,
    params: CallParams,
    options: CallOptions,
  ): Promise<void> {
    const signal = options.signal;
    try {
      if (spec.access === "public") {
        await this.#publicLimiter.schedule({
          counter: "public",
          cost: spec.cost,
          priority: spec.priority,
          ...(signal ? { signal } : {}),
        });
        return;
      }
      if (spec.cost > 0) {
        await this.#limiter.schedule({
          counter: "rest",
          cost: spec.cost,
          priority: spec.priority,
          ...(signal ? { signal } : {}),
        });
      }
      if (spec.trading) {
        await this.#limiter.schedule({
          counter: "trading",
          cost: tradingCost(spec, params, options),
          priority: spec.priority,
          pair: pairOf(params, options),
          ...(signal ? { signal } : {}),
        });
      }
    } catch (error) {
      if (signal?.aborted) throw aborted(spec);
      throw error;
    }
  }

  /** Give back what {@linkcode RestClient.#wait} charged for a private call. */
  #refund(spec: MethodSpec, params: CallParams, options: CallOptions): void {
    if (spec.cost > 0) this.#limiter.refund("rest", spec.cost);
    if (spec.trading) {
      this.#limiter.refund(
        "trading",
        tradingCost(spec, params, options),
        pairOf(params, options),
      );
    }
  }

  async #once(
    spec: MethodSpec,
    params: CallParams,
    options: CallOptions,
  ): Promise<RestAnswer<unknown> & { raw: string }> {
    // Bad parameters and an unusable secret fail before the call spends any
    // rate-limit budget or nonce.
    const pairs = spec.body === "form" ? formPairs(params) : [];
    const signer = spec.access === "private"
      ? await this.#signerOrThrow(spec)
      : undefined;
    await this.#wait(spec, params, options);
    if (options.signal?.aborted) throw aborted(spec);
    if (signer === undefined) {
      const query = encodeForm(pairs);
      const url = `${this.#baseUrl}/0/public/${spec.name}${
        query ? `?${query}` : ""
      }`;
      const sent = this.#send(spec, url, {
        method: "GET",
        headers: { "User-Agent": this.#userAgent, Accept: "application/json" },
      }, options.signal);
      const response = await sent.response;
      return await this.#read(spec, response, sent.finish);
    }
    const path = `/0/private/${spec.name}`;
    const otpValue = this.#otp ? await this.#otp() : undefined;
    const otp = otpValue instanceof Secret ? otpValue.reveal() : otpValue;
    // What this call sends that must never come back out of it: an echoing
    // upstream (a proxy, a hostile or broken endpoint) may quote it in its
    // error strings or its result.
    const sentValues = [this.#key!, this.#secret!.reveal()];
    if (otp !== undefined) sentValues.push(otp);
    const sent = await inLane(this.#nonces, async () => {
      // Abandoned while waiting for the lane: nothing is signed or sent,
      // and the budget it was charged goes back to the calls still wanted.
      if (options.signal?.aborted) {
        this.#refund(spec, params, options);
        throw aborted(spec);
      }
      const nonce = String(this.#nonces.next());
      const body = spec.body === "json"
        ? jsonBody(nonce, otp === undefined ? params : { ...params, otp })
        : encodeForm([
          ["nonce", nonce],
          ...(otp === undefined ? [] : [["otp", otp] as const]),
          ...pairs,
        ]);
      const signature = await signer.sign({ path, nonce, body });
      sentValues.push(nonce, signature);
      const sent = this.#send(spec, `${this.#baseUrl}${path}`, {
        method: "POST",
        headers: {
          "API-Key": this.#key!,
          "API-Sign": signature,
          "Content-Type": spec.body === "json"
            ? "application/json"
            : "application/x-www-form-urlencoded; charset=utf-8",
          "User-Agent": this.#userAgent,
          Accept: "application/json",
        },
        body,
      }, spec.trading ? undefined : options.signal);
      // Hold the lane until the headers arrive (or the request fails), so
      // the next nonce cannot overtake this one on the wire.
      await sent.response.catch(() => undefined);
      return sent;
    });
    const scrub = new Redactor();
    for (const value of sentValues) scrub.register(value);
    try {
      const answer = await this.#read(spec, await sent.response, sent.finish);
      return {
        result: scrub.value(answer.result),
        warnings: answer.warnings.map((w) => scrub.text(w)),
        raw: scrub.text(answer.raw),
      };
    } catch (error) {
      throw error instanceof KrakenError ? scrubbedError(error, scrub) : error;
    }
  }

  /**
   * Start a request with a timeout. Returns the response promise (which
   * rejects only with KrakenError) and `finish`, which must be called once the
   * body is read to clear the timer.
   */
  #send(
    spec: MethodSpec,
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): { response: Promise<Response>; finish: () => void } {
    const controller = new AbortController();
    let timedOut = false;
    const cancelTimer = this.#setTimer(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      cancelTimer();
      signal?.removeEventListener("abort", onAbort);
    };
    const failed = (cause?: unknown): KrakenError => {
      if (timedOut) {
        return new KrakenError(
          `Kraken ${spec.name} call timed out after ${this.#timeoutMs} ms`,
          { codes: [LOCAL_CODES.timeout], method: spec.name },
        );
      }
      if (signal?.aborted) return aborted(spec);
      return new KrakenError(
        `Kraken ${spec.name} call failed: the request could not be sent or read (${
          cause instanceof Error ? cause.name : typeof cause
        })`,
        { codes: [LOCAL_CODES.fetchFailed], method: spec.name, cause },
      );
    };
    let response: Promise<Response>;
    try {
      response = this.#fetch(url, { ...init, signal: controller.signal });
    } catch (error) {
      response = Promise.reject(error);
    }
    response = response.then(
      (r) => r,
      (error) => {
        finish();
        throw failed(error);
      },
    );
    return { response, finish };
  }

  async #read(
    spec: MethodSpec,
    response: Response,
    finish: () => void,
  ): Promise<RestAnswer<unknown> & { raw: string }> {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // Mid-body resets and timeouts land here.
      throw this.#bodyFailed(spec, error);
    } finally {
      finish();
    }
    const { result, warnings } = parseAnswer(text, {
      method: spec.name,
      httpStatus: response.status,
      contentType: response.headers.get("content-type"),
    });
    return { result, warnings, raw: text };
  }

  #bodyFailed(spec: MethodSpec, cause: unknown): KrakenError {
    const name = cause instanceof Error ? cause.name : typeof cause;
    if (name === "AbortError" || name === "TimeoutError") {
      return new KrakenError(
        `Kraken ${spec.name} call was cut off while reading the answer`,
        { codes: [LOCAL_CODES.timeout], method: spec.name },
      );
    }
    return new KrakenError(
      `Kraken ${spec.name} call failed while reading the answer (${name})`,
      { codes: [LOCAL_CODES.fetchFailed], method: spec.name, cause },
    );
  }

  #signerOrThrow(spec: MethodSpec): Promise<KrakenSigner> {
    this.#signer ??= KrakenSigner.create(this.#secret!);
    return this.#signer.catch((cause) => {
      throw new KrakenError(
        `Cannot sign Kraken ${spec.name} call: the API secret is not valid base64`,
        { codes: [LOCAL_CODES.invalidSecret], method: spec.name, cause },
      );
    });
  }
}

function publicSpec(method: PublicMethod): MethodSpec {
  return publicMethod(method)!;
}

function withoutRaw(
  answer: RestAnswer<unknown> & { raw: string },
): RestAnswer<unknown> {
  return { result: answer.result, warnings: answer.warnings };
}

/** The trading-engine cost a call is charged (the worst case unless given). */
function tradingCost(
  spec: MethodSpec,
  params: CallParams,
  options: CallOptions,
): number {
  if (!spec.trading) return 0;
  const n = spec.trading === "batch_add"
    ? Math.max(1, countItems(params.orders))
    : spec.trading === "batch_cancel"
    ? Math.max(
      1,
      countItems(params.orders) + countItems(params.cl_ord_ids),
    )
    : 1;
  return options.tradingCost ?? tradingPenalty(spec.trading, 0, n);
}

function pairOf(params: CallParams, options: CallOptions): string {
  if (options.pair !== undefined) return options.pair;
  return typeof params.pair === "string" ? params.pair : "*";
}

function required(
  ids: string | readonly string[],
  method: string,
  name: string,
): string {
  const joined = list(ids) ?? "";
  if (joined === "") {
    throw new TypeError(
      `Cannot call Kraken ${method}: "${name}" needs at least one id`,
    );
  }
  return joined;
}

function notAllowed(method: string, access: "public" | "private"): KrakenError {
  // The name is caller input: show a bounded, printable version only.
  const shown = JSON.stringify(String(method).slice(0, 40));
  return new KrakenError(
    `Kraken ${access} method ${shown} is not allowed by Krakked`,
    { codes: [LOCAL_CODES.methodNotAllowed] },
  );
}

/**
 * The same error with every value the call sent removed from its message
 * and codes (kind, retryability, method and status kept).
 */
function scrubbedError(error: KrakenError, scrub: Redactor): KrakenError {
  const message = scrub.text(error.message);
  const codes = error.codes.map((code) => scrub.text(code));
  if (
    message === error.message && codes.every((c, i) => c === error.codes[i])
  ) {
    return error;
  }
  return new KrakenError(message, {
    codes,
    kind: error.kind,
    retryable: error.retryable,
    ...(error.method === undefined ? {} : { method: error.method }),
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}

function aborted(spec: MethodSpec): KrakenError {
  return new KrakenError(`Kraken ${spec.name} call was aborted`, {
    codes: [LOCAL_CODES.aborted],
    method: spec.name,
  });
}
