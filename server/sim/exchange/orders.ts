/**
 * Order terms for the simulator's matching engine: parse an order request
 * (REST `AddOrder` fields, or WS v2 `add_order` params mapped onto them)
 * into a checked {@linkcode OrderSpec}, with Kraken's error strings
 * (REST.md §4, §8; WS_V2.md §4.3), resolve relative prices, and write the
 * `descr` texts. Pure: time and the last trade price are arguments.
 *
 * Order of checks (the first failure answers): type and side → volume →
 * prices (decimals `EOrder:Invalid price`, tick `EOrder:Tick size check
 * failed`) → per-type fields, flags, time in force, references, close,
 * deadline (`EGeneral:Invalid arguments`, `EService:Deadline elapsed`) →
 * `ordermin` (`EGeneral:Invalid arguments:volume minimum not met`, as
 * Kraken answers today) → `costmin`
 * (`EOrder:Cost minimum not met`).
 *
 * @module
 */

import { divideRounded, formatUnits, parseUnits, pow10 } from "./units.ts";
import { INVALID_ARGUMENTS, SimApiError } from "./params.ts";
import { type SimPair, tickSize } from "./pairs.ts";

/** Kraken's order error strings used by the engine (REST.md §8, WS_V2.md §2.7). */
export const ORDER_ERRORS: Readonly<{
  invalidArguments: string;
  unknownPair: string;
  insufficientFunds: string;
  orderMinimum: string;
  costMinimum: string;
  tickSize: string;
  invalidPrice: string;
  unknownOrder: string;
  invalidOrder: string;
  ordersLimit: string;
  rateLimit: string;
  cancelOnly: string;
  postOnly: string;
  limitOnly: string;
  reduceOnlyMarket: string;
  reduceOnlyNoPosition: string;
  cannotOpenPosition: string;
  unavailable: string;
  deadlineElapsed: string;
  indexUnavailable: string;
}> = Object.freeze({
  invalidArguments: INVALID_ARGUMENTS,
  unknownPair: "EQuery:Unknown asset pair",
  insufficientFunds: "EOrder:Insufficient funds",
  // What Kraken answers today (issue 15's live capture); REST.md §5 and the
  // error catalog document `EOrder:Order minimum not met`. Both are in
  // docs/kraken/FIDELITY.md.
  orderMinimum: "EGeneral:Invalid arguments:volume minimum not met",
  costMinimum: "EOrder:Cost minimum not met",
  tickSize: "EOrder:Tick size check failed",
  invalidPrice: "EOrder:Invalid price",
  unknownOrder: "EOrder:Unknown order",
  invalidOrder: "EOrder:Invalid order",
  ordersLimit: "EOrder:Orders limit exceeded",
  rateLimit: "EOrder:Rate limit exceeded",
  cancelOnly: "EService:Market in cancel_only mode",
  postOnly: "EService:Market in post_only mode",
  // No Kraken text is published for these two pair states; same pattern.
  limitOnly: "EService:Market in limit_only mode",
  reduceOnlyMarket: "EService:Market in reduce_only mode",
  reduceOnlyNoPosition: "EOrder:Reduce only:No position exists",
  cannotOpenPosition: "EOrder:Cannot open position",
  unavailable: "EService:Unavailable",
  deadlineElapsed: "EService:Deadline elapsed",
  indexUnavailable: "EGeneral:Invalid arguments:Index unavailable",
});

/** Order types the engine runs. */
export type OrderKind =
  | "market"
  | "limit"
  | "iceberg"
  | "stop-loss"
  | "take-profit"
  | "stop-loss-limit"
  | "take-profit-limit"
  | "trailing-stop"
  | "trailing-stop-limit";

const ORDER_KINDS: readonly OrderKind[] = [
  "market",
  "limit",
  "iceberg",
  "stop-loss",
  "take-profit",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop",
  "trailing-stop-limit",
];

/** Types allowed as a conditional close (REST.md §4.3; iceberg avoided as the SDK does). */
const CLOSE_KINDS: ReadonlySet<OrderKind> = new Set([
  "limit",
  "stop-loss",
  "take-profit",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop",
  "trailing-stop-limit",
]);

/** Types that wait for a trigger. */
export const TRIGGERED_KINDS: ReadonlySet<OrderKind> = new Set([
  "stop-loss",
  "take-profit",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop",
  "trailing-stop-limit",
]);

/** Types that carry a limit price once live (a `*-limit` after its trigger). */
export const LIMIT_KINDS: ReadonlySet<OrderKind> = new Set([
  "limit",
  "iceberg",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop-limit",
]);

/** A price as the client gave it: absolute, or relative to the last trade. */
export type PriceInput =
  | { readonly kind: "absolute"; readonly units: bigint; readonly text: string }
  | {
    readonly kind: "offset";
    readonly sign: "+" | "-" | "#";
    /** Quote amount in tick units (`pair_decimals`). */
    readonly units: bigint;
    readonly text: string;
  }
  | {
    readonly kind: "percent";
    readonly sign: "+" | "-" | "#";
    /** Percent × 10^8. */
    readonly scaled: bigint;
    readonly text: string;
  };

/** A conditional close template (REST `close[…]`, WS `conditional`). */
export interface CloseSpec {
  /** Order type of the close. */
  readonly ordertype: OrderKind;
  /** `close[price]`. */
  readonly price: PriceInput;
  /** `close[price2]`. */
  readonly price2?: PriceInput;
}

/** A checked order request. */
export interface OrderSpec {
  /** The pair. */
  readonly pair: SimPair;
  /** Side. */
  readonly side: "buy" | "sell";
  /** Order type. */
  readonly ordertype: OrderKind;
  /** Volume, lot units. */
  readonly volumeUnits: bigint;
  /** `price`: limit, trigger, or trailing offset. */
  readonly price?: PriceInput;
  /** `price2`: limit of a `*-limit` type (trailing: offset from the trigger). */
  readonly price2?: PriceInput;
  /** Iceberg display volume, lot units. */
  readonly displayUnits?: bigint;
  /** `oflags` contains `post`. */
  readonly postOnly: boolean;
  /** Fee currency: `base` for `fcib`, `quote` for `fciq`. */
  readonly feeIn: "quote" | "base";
  /** Whether `nompp` was given. */
  readonly noMarketPriceProtection: boolean;
  /** Time in force. */
  readonly timeInForce: "GTC" | "IOC" | "GTD";
  /** Expiry, ms (0 = none). */
  readonly expiretmMs: number;
  /** User reference (0 = none). */
  readonly userref: number;
  /** Client order id. */
  readonly clOrdId?: string;
  /** Conditional close. */
  readonly close?: CloseSpec;
  /** Price signal for triggers. */
  readonly trigger: "last" | "index";
  /** Whether `trigger` was given explicitly. */
  readonly triggerGiven: boolean;
  /** `reduce_only`. */
  readonly reduceOnly: boolean;
  /** Validate only. */
  readonly validate: boolean;
  /**
   * `viqc`: the `volume` was given in quote currency (buy market orders
   * only), units of `10^-cost_decimals`; the engine turns it into a base
   * volume by walking the book when it places the order.
   */
  readonly quoteVolumeUnits?: bigint;
}

/** Raw order fields with REST names and REST text syntax. */
export interface OrderFields {
  /** `ordertype`. */
  ordertype?: string | undefined;
  /** `type`. */
  type?: string | undefined;
  /** `volume`. */
  volume?: string | undefined;
  /** `price` (may be relative: `+5`, `-1%`, `#2`). */
  price?: string | undefined;
  /** `price2`. */
  price2?: string | undefined;
  /** `displayvol`. */
  displayvol?: string | undefined;
  /** `oflags` (comma list). */
  oflags?: string | undefined;
  /** `timeinforce`. */
  timeinforce?: string | undefined;
  /** `starttm`. */
  starttm?: string | undefined;
  /** `expiretm`. */
  expiretm?: string | undefined;
  /** `userref`. */
  userref?: string | undefined;
  /** `cl_ord_id`. */
  clOrdId?: string | undefined;
  /** `leverage`. */
  leverage?: string | undefined;
  /** `reduce_only`. */
  reduceOnly?: string | undefined;
  /** `trigger`. */
  trigger?: string | undefined;
  /** `deadline` (RFC 3339). */
  deadline?: string | undefined;
  /** `validate`. */
  validate?: string | undefined;
  /** `close[ordertype]`. */
  closeOrdertype?: string | undefined;
  /** `close[price]`. */
  closePrice?: string | undefined;
  /** `close[price2]`. */
  closePrice2?: string | undefined;
}

function fail(code: string): never {
  throw new SimApiError(code);
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

function fractionDigits(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Parse a volume (base units) at the pair's `lot_decimals`.
 *
 * @param text Decimal text.
 * @param pair The pair.
 * @returns Lot units.
 * @throws {SimApiError} `EGeneral:Invalid arguments` for bad text, too many
 *   decimals or a volume of zero.
 * @example Volume
 * ```ts
 * import { parseVolume } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * parseVolume("1.25", resolvePair("XBTUSD")!); // 125000000n
 * ```
 */
export function parseVolume(text: string | undefined, pair: SimPair): bigint {
  if (text === undefined || !DECIMAL.test(text.trim())) {
    fail(INVALID_ARGUMENTS);
  }
  const trimmed = text.trim();
  if (fractionDigits(trimmed) > pair.lotDecimals) fail(INVALID_ARGUMENTS);
  const units = parseUnits(trimmed, pair.lotDecimals)!;
  if (units <= 0n) fail(INVALID_ARGUMENTS);
  return units;
}

/**
 * Tick size of a pair in tick units of `pair_decimals` (1 unless the
 * catalogue gives a coarser tick).
 *
 * @param pair The pair.
 * @returns The tick in price units.
 * @example Tick
 * ```ts
 * import { tickUnits } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * tickUnits(resolvePair("XBTUSD")!); // 1n
 * ```
 */
export function tickUnits(pair: SimPair): bigint {
  const units = parseUnits(tickSize(pair), pair.pairDecimals);
  return units !== undefined && units > 0n ? units : 1n;
}

/**
 * Parse a REST price: absolute (`37500.5`) or relative to the last trade
 * (`+5`, `-5`, `#5`, with an optional `%` suffix).
 *
 * @param text The text.
 * @param pair The pair.
 * @returns The price.
 * @throws {SimApiError} `EOrder:Invalid price` (not a positive number, too
 *   many decimals), `EOrder:Tick size check failed` (off the tick),
 *   `EGeneral:Invalid arguments` (not a price at all).
 * @example Relative
 * ```ts
 * import { parsePrice } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * parsePrice("+1.5%", resolvePair("XBTUSD")!).kind; // "percent"
 * ```
 */
export function parsePrice(text: string, pair: SimPair): PriceInput {
  const match = /^([+#-]?)([0-9.]+)(%?)$/.exec(text.trim());
  if (!match) fail(ORDER_ERRORS.invalidPrice);
  const [, sign = "", amount = "", percent] = match;
  if (!DECIMAL.test(amount)) fail(ORDER_ERRORS.invalidPrice);
  if (percent) {
    if (sign === "") fail(ORDER_ERRORS.invalidPrice);
    const scaled = parseUnits(amount, 8);
    if (scaled === undefined || fractionDigits(amount) > 8) {
      fail(ORDER_ERRORS.invalidPrice);
    }
    return {
      kind: "percent",
      sign: sign as "+" | "-" | "#",
      scaled,
      text: text.trim(),
    };
  }
  if (fractionDigits(amount) > pair.pairDecimals) {
    fail(ORDER_ERRORS.invalidPrice);
  }
  const units = parseUnits(amount, pair.pairDecimals)!;
  if (units % tickUnits(pair) !== 0n) fail(ORDER_ERRORS.tickSize);
  if (sign === "") {
    if (units <= 0n) fail(ORDER_ERRORS.invalidPrice);
    return { kind: "absolute", units, text: text.trim() };
  }
  return {
    kind: "offset",
    sign: sign as "+" | "-" | "#",
    units,
    text: text.trim(),
  };
}

/**
 * Which way `#` moves a price for an order type and side: stops trigger on
 * the adverse side of the market (a sell stop-loss below it), limits and
 * take-profits on the favourable side (a buy limit below it).
 *
 * @param ordertype The type the price belongs to.
 * @param side The side.
 * @returns `1` (add) or `-1` (subtract).
 * @example Direction
 * ```ts
 * import { hashDirection } from "./orders.ts";
 * hashDirection("stop-loss", "sell"); // -1
 * hashDirection("limit", "sell"); // 1
 * ```
 */
export function hashDirection(
  ordertype: OrderKind,
  side: "buy" | "sell",
): 1 | -1 {
  const adverse = ordertype.startsWith("stop-loss") ||
    ordertype.startsWith("trailing-stop");
  const up = adverse ? side === "buy" : side === "sell";
  return up ? 1 : -1;
}

/**
 * The size of a relative amount against a reference price, in price units
 * (percent rounded half up to the tick).
 *
 * @param input An `offset` or `percent` price.
 * @param referenceUnits The reference price, tick units.
 * @param pair The pair (tick).
 * @returns The unsigned amount in price units.
 * @example One percent
 * ```ts
 * import { offsetUnits, parsePrice } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * const pair = resolvePair("XBTUSD")!;
 * offsetUnits(parsePrice("+1%", pair), 650000n, pair); // 6500n
 * ```
 */
export function offsetUnits(
  input: PriceInput,
  referenceUnits: bigint,
  pair: SimPair,
): bigint {
  if (input.kind === "absolute") return input.units;
  if (input.kind === "offset") return input.units;
  const raw = divideRounded(referenceUnits * input.scaled, 100n * pow10(8));
  const tick = tickUnits(pair);
  return divideRounded(raw, tick) * tick;
}

/**
 * Resolve a price against the last trade price (absolute prices stay).
 *
 * @param input The price.
 * @param options Last price (tick units), order type and side (for `#`), pair.
 * @returns Tick units.
 * @throws {SimApiError} `EOrder:Invalid price` when the result is not positive.
 * @example Minus five
 * ```ts
 * import { parsePrice, resolvePrice } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * const pair = resolvePair("XBTUSD")!;
 * resolvePrice(parsePrice("-5", pair), { lastUnits: 650000n, ordertype: "limit", side: "buy", pair });
 * // 649950n
 * ```
 */
export function resolvePrice(
  input: PriceInput,
  options: {
    lastUnits: bigint;
    ordertype: OrderKind;
    side: "buy" | "sell";
    pair: SimPair;
  },
): bigint {
  if (input.kind === "absolute") return input.units;
  const amount = offsetUnits(input, options.lastUnits, options.pair);
  const direction = input.sign === "+"
    ? 1n
    : input.sign === "-"
    ? -1n
    : BigInt(hashDirection(options.ordertype, options.side));
  const units = options.lastUnits + direction * amount;
  if (units <= 0n) fail(ORDER_ERRORS.invalidPrice);
  return units;
}

const CL_ORD_ID = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^[0-9a-f]{32}$/i,
  /^[\x20-\x7e]{1,18}$/,
];

/**
 * Whether a `cl_ord_id` has one of Kraken's three shapes: long UUID, 32-hex
 * short UUID, or printable ASCII of at most 18 characters.
 *
 * @param text The id.
 * @returns `true` when acceptable.
 * @example Shapes
 * ```ts
 * import { isClientOrderId } from "./orders.ts";
 * isClientOrderId("bot-20250304-0001"); // true
 * isClientOrderId("x".repeat(19)); // false
 * ```
 */
export function isClientOrderId(text: string): boolean {
  return CL_ORD_ID.some((pattern) => pattern.test(text));
}

function boolText(text: string | undefined): boolean {
  if (text === undefined || text === "") return false;
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  fail(INVALID_ARGUMENTS);
}

function orderKind(text: string | undefined): OrderKind {
  if (
    text === undefined || !(ORDER_KINDS as readonly string[]).includes(text)
  ) {
    fail(INVALID_ARGUMENTS);
  }
  return text as OrderKind;
}

/**
 * Parse an RFC 3339 `deadline` and check it against now: in the past →
 * `EService:Deadline elapsed`; more than 60 s ahead or unparsable →
 * `EGeneral:Invalid arguments` (REST.md §4.2).
 *
 * @param text The deadline.
 * @param nowMs Now, ms.
 * @returns The deadline, ms.
 * @throws {SimApiError} As above.
 * @example Five seconds ahead
 * ```ts
 * import { checkDeadline } from "./orders.ts";
 * checkDeadline("2025-01-10T00:00:05Z", Date.UTC(2025, 0, 10)); // 1736467205000
 * ```
 */
export function checkDeadline(text: string, nowMs: number): number {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) {
    fail(INVALID_ARGUMENTS);
  }
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) fail(INVALID_ARGUMENTS);
  if (ms <= nowMs) fail(ORDER_ERRORS.deadlineElapsed);
  if (ms > nowMs + 60_000) fail(INVALID_ARGUMENTS);
  return ms;
}

function expiry(text: string | undefined, nowMs: number): number {
  if (text === undefined || text === "" || text === "0" || text === "+0") {
    return 0;
  }
  const relative = /^\+(\d+)$/.exec(text);
  let ms: number;
  if (relative) {
    ms = nowMs + Number(relative[1]) * 1000;
  } else if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    fail(INVALID_ARGUMENTS);
  }
  // At least 5 s and at most about a month ahead (REST.md §4.2).
  if (ms < nowMs + 5_000 || ms > nowMs + 31 * 86_400_000) {
    fail(INVALID_ARGUMENTS);
  }
  return ms;
}

function closeSpec(
  fields: OrderFields,
  pair: SimPair,
): CloseSpec | undefined {
  const type = fields.closeOrdertype;
  if (
    type === undefined && fields.closePrice === undefined &&
    fields.closePrice2 === undefined
  ) {
    return undefined;
  }
  const kind = orderKind(type);
  if (!CLOSE_KINDS.has(kind)) fail(INVALID_ARGUMENTS);
  if (fields.closePrice === undefined) fail(INVALID_ARGUMENTS);
  const price = parsePrice(fields.closePrice, pair);
  const needsPrice2 = kind.endsWith("-limit");
  if (needsPrice2 && fields.closePrice2 === undefined) fail(INVALID_ARGUMENTS);
  if (kind.startsWith("trailing-stop")) trailingOffset(price);
  const price2 = needsPrice2 && fields.closePrice2 !== undefined
    ? parsePrice(fields.closePrice2, pair)
    : undefined;
  return { ordertype: kind, price, ...(price2 ? { price2 } : {}) };
}

function trailingOffset(price: PriceInput): void {
  // Kraken requires the trailing offset to be relative with a leading `+`.
  if (price.kind === "absolute" || price.sign !== "+") fail(INVALID_ARGUMENTS);
}

/**
 * Check raw order fields and build the spec (everything that does not
 * depend on the market or the account). `ordermin`/`costmin` are checked
 * separately by {@linkcode checkMinimums}, once prices are resolved.
 *
 * @param fields REST-named fields.
 * @param options Pair and now.
 * @returns The spec.
 * @throws {SimApiError} With Kraken's error string.
 * @example A limit buy
 * ```ts
 * import { parseOrder } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * parseOrder(
 *   { ordertype: "limit", type: "buy", volume: "1.25", price: "37500" },
 *   { pair: resolvePair("XBTUSD")!, nowMs: 0 },
 * ).volumeUnits; // 125000000n
 * ```
 */
export function parseOrder(
  fields: OrderFields,
  options: { pair: SimPair; nowMs: number },
): OrderSpec {
  const { pair, nowMs } = options;
  const ordertype = orderKind(fields.ordertype);
  const side = fields.type;
  if (side !== "buy" && side !== "sell") fail(INVALID_ARGUMENTS);
  const inQuote = (fields.oflags ?? "").split(",").some((f) =>
    f.trim() === "viqc"
  );
  let quoteVolumeUnits: bigint | undefined;
  if (inQuote) {
    // REST.md §4: volume in quote currency, buy market orders only.
    if (side !== "buy" || ordertype !== "market") fail(INVALID_ARGUMENTS);
    quoteVolumeUnits = parseVolume(fields.volume, {
      ...pair,
      lotDecimals: pair.costDecimals,
    });
  }
  // A viqc order's base volume is known once it meets the book.
  const volumeUnits = quoteVolumeUnits === undefined
    ? parseVolume(fields.volume, pair)
    : 0n;

  let price: PriceInput | undefined;
  let price2: PriceInput | undefined;
  if (ordertype !== "market") {
    if (fields.price === undefined || fields.price === "") {
      fail(INVALID_ARGUMENTS);
    }
    price = parsePrice(fields.price, pair);
    if (ordertype.startsWith("trailing-stop")) trailingOffset(price);
  }
  if (ordertype.endsWith("-limit")) {
    if (fields.price2 === undefined || fields.price2 === "") {
      fail(INVALID_ARGUMENTS);
    }
    price2 = parsePrice(fields.price2, pair);
    if (ordertype === "trailing-stop-limit" && price2.kind === "absolute") {
      // The limit of a trailing-stop-limit is an offset from the trigger.
      fail(INVALID_ARGUMENTS);
    }
  }

  let displayUnits: bigint | undefined;
  if (fields.displayvol !== undefined && fields.displayvol !== "") {
    if (ordertype !== "iceberg") fail(INVALID_ARGUMENTS);
    displayUnits = parseVolume(fields.displayvol, pair);
    // Visible part: at least 1/15 of the volume, at most all of it.
    if (displayUnits * 15n < volumeUnits || displayUnits > volumeUnits) {
      fail(INVALID_ARGUMENTS);
    }
  } else if (ordertype === "iceberg") {
    fail(INVALID_ARGUMENTS);
  }

  const flags = (fields.oflags ?? "").split(",").map((f) => f.trim()).filter(
    (f) => f !== "",
  );
  for (const flag of flags) {
    if (!["post", "fcib", "fciq", "nompp", "viqc"].includes(flag)) {
      fail(INVALID_ARGUMENTS);
    }
  }
  const postOnly = flags.includes("post");
  if (postOnly && ordertype !== "limit" && ordertype !== "iceberg") {
    fail(INVALID_ARGUMENTS);
  }
  if (flags.includes("fcib") && flags.includes("fciq")) {
    fail(INVALID_ARGUMENTS);
  }
  const feeIn = flags.includes("fcib")
    ? "base"
    : flags.includes("fciq")
    ? "quote"
    : side === "sell"
    ? "base"
    : "quote";

  const tifText = (fields.timeinforce ?? "GTC").toUpperCase();
  if (tifText !== "GTC" && tifText !== "IOC" && tifText !== "GTD") {
    fail(INVALID_ARGUMENTS);
  }
  const expiretmMs = expiry(fields.expiretm, nowMs);
  let timeInForce = tifText as "GTC" | "IOC" | "GTD";
  if (timeInForce === "GTD" && expiretmMs === 0) fail(INVALID_ARGUMENTS);
  if (expiretmMs !== 0) {
    if (timeInForce === "IOC") fail(INVALID_ARGUMENTS);
    timeInForce = "GTD";
  }
  if (timeInForce === "IOC" && (postOnly || TRIGGERED_KINDS.has(ordertype))) {
    fail(INVALID_ARGUMENTS);
  }
  const start = fields.starttm;
  // Scheduled starts are not simulated: only "now" is accepted.
  if (start !== undefined && start !== "" && start !== "0" && start !== "+0") {
    fail(INVALID_ARGUMENTS);
  }

  let userref = 0;
  if (fields.userref !== undefined && fields.userref !== "") {
    if (!/^-?\d{1,10}$/.test(fields.userref)) fail(INVALID_ARGUMENTS);
    userref = Number(fields.userref);
    if (userref < -2147483648 || userref > 2147483647) fail(INVALID_ARGUMENTS);
  }
  const clOrdId = fields.clOrdId === "" ? undefined : fields.clOrdId;
  if (clOrdId !== undefined) {
    if (!isClientOrderId(clOrdId)) fail(INVALID_ARGUMENTS);
    if (fields.userref !== undefined && fields.userref !== "") {
      fail(INVALID_ARGUMENTS);
    }
  }

  const close = closeSpec(fields, pair);
  // Kraken refuses a client order id together with a conditional close [sdk].
  if (close && clOrdId !== undefined) fail(INVALID_ARGUMENTS);

  const trigger = fields.trigger ?? "last";
  if (trigger !== "last" && trigger !== "index") fail(INVALID_ARGUMENTS);
  if (trigger === "index" && pair.leverage.length === 0) {
    fail(ORDER_ERRORS.indexUnavailable);
  }

  const leverage = fields.leverage;
  if (leverage !== undefined && leverage !== "" && leverage !== "none") {
    if (pair.leverage.length === 0) fail(INVALID_ARGUMENTS);
    // The simulated account has no margin facility.
    fail(ORDER_ERRORS.cannotOpenPosition);
  }
  const reduceOnly = boolText(fields.reduceOnly);
  if (fields.deadline !== undefined && fields.deadline !== "") {
    checkDeadline(fields.deadline, nowMs);
  }
  const validate = boolText(fields.validate);
  return {
    pair,
    side,
    ordertype,
    volumeUnits,
    ...(price ? { price } : {}),
    ...(price2 ? { price2 } : {}),
    ...(displayUnits !== undefined ? { displayUnits } : {}),
    postOnly,
    feeIn,
    noMarketPriceProtection: flags.includes("nompp"),
    timeInForce,
    expiretmMs,
    userref,
    ...(clOrdId !== undefined ? { clOrdId } : {}),
    ...(close ? { close } : {}),
    trigger,
    triggerGiven: fields.trigger !== undefined,
    reduceOnly,
    validate,
    ...(quoteVolumeUnits !== undefined ? { quoteVolumeUnits } : {}),
  };
}

/**
 * Check `ordermin` and `costmin` at the price the order is expected to
 * execute at.
 *
 * @param pair The pair.
 * @param volumeUnits Volume, lot units.
 * @param priceUnits Expected price, tick units.
 * @throws {SimApiError} `EGeneral:Invalid arguments:volume minimum not met` or `EOrder:Cost minimum not met`.
 * @example Too small
 * ```ts ignore
 * checkMinimums(resolvePair("XBTUSD")!, 1000n, 650000n); // throws: volume minimum not met
 * ```
 */
export function checkMinimums(
  pair: SimPair,
  volumeUnits: bigint,
  priceUnits: bigint,
): void {
  const min = parseUnits(pair.ordermin, pair.lotDecimals) ?? 0n;
  if (volumeUnits < min) fail(ORDER_ERRORS.orderMinimum);
  const scale = pair.pairDecimals + pair.lotDecimals;
  const costMin = parseUnits(pair.costmin, scale) ?? 0n;
  if (volumeUnits * priceUnits < costMin) fail(ORDER_ERRORS.costMinimum);
}

function words(ordertype: OrderKind): string {
  switch (ordertype) {
    case "stop-loss":
    case "stop-loss-limit":
      return "stop loss";
    case "take-profit":
    case "take-profit-limit":
      return "take profit";
    case "trailing-stop":
    case "trailing-stop-limit":
      return "trailing stop";
    default:
      return ordertype;
  }
}

/**
 * Price text for `descr`: absolute prices at `pair_decimals`, trailing
 * offsets as given (`+50.0`, `+2%`).
 *
 * @param input The price, or resolved tick units.
 * @param pair The pair.
 * @returns The text.
 * @example Absolute
 * ```ts
 * import { priceText } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * priceText(375000n, resolvePair("XBTUSD")!); // "37500.0"
 * ```
 */
export function priceText(input: PriceInput | bigint, pair: SimPair): string {
  if (typeof input === "bigint") return formatUnits(input, pair.pairDecimals);
  switch (input.kind) {
    case "absolute":
      return formatUnits(input.units, pair.pairDecimals);
    case "offset":
      return `${input.sign}${formatUnits(input.units, pair.pairDecimals)}`;
    case "percent":
      return input.text;
  }
}

/**
 * The `descr.order` text (REST.md §4.4):
 * `<type> <volume> <altname> @ <order type words> <price>[ -> limit <price2>]`.
 *
 * @param options Side, volume, pair, type and the price texts.
 * @returns E.g. `"buy 1.25000000 XBTUSD @ limit 37500.0"`.
 * @example Stop-loss-limit
 * ```ts
 * import { describeOrder } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * describeOrder({
 *   side: "sell", volumeUnits: 1000000n, pair: resolvePair("XBTUSD")!,
 *   ordertype: "stop-loss-limit", price: "22000.0", price2: "21000.0",
 * }); // "sell 0.01000000 XBTUSD @ stop loss 22000.0 -> limit 21000.0"
 * ```
 */
export function describeOrder(options: {
  side: "buy" | "sell";
  volumeUnits: bigint;
  pair: SimPair;
  ordertype: OrderKind;
  price?: string | undefined;
  price2?: string | undefined;
}): string {
  const { side, pair, ordertype } = options;
  const volume = formatUnits(options.volumeUnits, pair.lotDecimals);
  const head = `${side} ${volume} ${pair.altname} @ `;
  if (ordertype === "market") return `${head}market`;
  const limit = ordertype.endsWith("-limit") && options.price2 !== undefined
    ? ` -> limit ${options.price2}`
    : "";
  return `${head}${words(ordertype)} ${options.price ?? ""}${limit}`;
}

/**
 * The `descr.close` text of a conditional close:
 * `close position @ stop loss 22000.0 -> limit 21000.0`.
 *
 * @param close The close template.
 * @param pair The pair.
 * @returns The text.
 * @example Close
 * ```ts
 * import { describeClose, parsePrice } from "./orders.ts";
 * import { resolvePair } from "./pairs.ts";
 * const pair = resolvePair("XBTUSD")!;
 * describeClose({ ordertype: "stop-loss", price: parsePrice("22000", pair) }, pair);
 * // "close position @ stop loss 22000.0"
 * ```
 */
export function describeClose(close: CloseSpec, pair: SimPair): string {
  const limit = close.ordertype.endsWith("-limit") && close.price2
    ? ` -> limit ${priceText(close.price2, pair)}`
    : "";
  return `close position @ ${words(close.ordertype)} ${
    priceText(close.price, pair)
  }${limit}`;
}
