/**
 * The safety gate every order passes, in the library, the server and the
 * CLI alike (README "Safety model"; the account-level rules are in
 * `risk.ts`):
 *
 * 1. Mode: `read_only` (default) refuses every order; `live` needs both
 *    `trading.enable_live_orders: true` and the start-time switch (`--live`
 *    or `KRAKKED_LIVE=1`, passed in as `liveSwitch`: core reads no env).
 * 2. Validation against the pair ({@linkcode validateOrder}).
 * 3. Universe and allowlist: the pair must be in the universe (quote
 *    `region.default_quote` or `universe.include`, not in
 *    `universe.exclude`) and, when `trading.allowed_symbols` is set, in it.
 * 4. No leverage or reduce-only unless `region.supports_margin`; a spot sell
 *    entry would be a short, so it needs margin too.
 * 5. Every entry carries a stop-loss on the losing side of the price it can
 *    fill at (the book walked to its size: a marketable limit fills at the
 *    book, not at its limit), within `trading.stop_loss_max_distance_pct`.
 *    Exits carry none and may not exceed what is held and free.
 * 6. Max notional per entry (`trading.max_notional_usd`) and max exposure
 *    per base asset (`trading.max_position_notional_usd`): holding plus
 *    every open buy that could still fill plus this order, in USD.
 *
 * {@linkcode prepareOrder} runs all of it and allocates the client ref; its
 * {@linkcode PreparedOrder} is what the encoders, the transports and the
 * paper broker take.
 *
 * @module
 */

import type { KrakkedConfig, TradingMode } from "../config/config.ts";
import {
  addDecimal,
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "../decimal.ts";
import type { PairMetadata } from "../market/pairs.ts";
import {
  allocateClientRef,
  type CheckedOrder,
  type OrderRequest,
} from "./order.ts";
import {
  fillEstimate,
  heldOf,
  openBuyVolume,
  reservedVolume,
  type RiskAccount,
  type RiskBook,
} from "./risk.ts";
import { reject, type Rejection } from "./rules.ts";
import { expectedPrice, pairMatches, validateOrder } from "./validate.ts";

/** Where an accepted order goes. */
export type TradingRoute = Exclude<TradingMode, "read_only">;

/** The configuration the gate reads. */
export type GateConfig = {
  readonly trading: KrakkedConfig["trading"];
  readonly region:
    & Pick<KrakkedConfig["region"], "supports_margin">
    & Partial<Pick<KrakkedConfig["region"], "default_quote">>;
  /** `universe.include` / `exclude` (default: none). */
  readonly universe?: Pick<KrakkedConfig["universe"], "include" | "exclude">;
};

/** Everything the gate needs besides the order. */
export interface GateContext {
  /** The configuration (`trading.*`, `region.supports_margin`). */
  config: GateConfig;
  /** The start-time live switch: `--live` or `KRAKKED_LIVE=1`. */
  liveSwitch: boolean;
  /** The order's pair. */
  pair: PairMetadata;
  /** Now, ms since the epoch. */
  nowMs: number;
  /**
   * Expected fill price of `market` and `trailing-stop` orders (best ask for
   * a buy, best bid for a sell), in quote currency.
   */
  referencePrice?: string;
  /**
   * USD value of one unit of an asset (`"1"` for USD is implied). Needed
   * when the quote currency is not USD.
   */
  usdPrice?: (asset: string) => string | undefined;
  /**
   * Net position in the pair's base asset (signed; long > 0), for callers
   * without an {@linkcode account}. Entries assume `"0"` when absent; exits
   * need it.
   */
  positionBase?: string;
  /**
   * The account state (holdings and open orders). When given, the position
   * is the holding of the base asset, open buys count toward exposure and
   * exits may not exceed what open sells leave free.
   */
  account?: RiskAccount;
  /** The pair's book, best first: fill prices are walked from it. */
  book?: RiskBook;
  /** An open order this one replaces (an amend): left out of exposure. */
  replacesOrderId?: string;
  /**
   * Volume of the replaced order that already filled (an amend after a
   * partial fill): it is in the holding already, so it is not counted twice.
   */
  alreadyFilled?: string;
  /** Canonical ids of the universe, used when `allowed_symbols` is empty. */
  universe?: Iterable<string>;
  /** Random UUID source for client refs (default `crypto.randomUUID`). */
  randomUuid?: () => string;
}

/** An order that passed validation and every gate. */
export interface PreparedOrder {
  /** The order with `intent` and `clientRef` set. */
  order: CheckedOrder;
  /** The pair's metadata. */
  pair: PairMetadata;
  /** Where it goes: `dry_run` (encode only), `paper` or `live`. */
  route: TradingRoute;
  /** The price the checks assumed, in quote currency. */
  expectedPrice: string;
  /** `volume × expectedPrice` converted to USD. */
  notionalUsd: string;
  /** When the gate accepted it. */
  preparedAtMs: number;
}

/** The gate's answer. */
export type PrepareResult =
  | { ok: true; prepared: PreparedOrder }
  | { ok: false; rejection: Rejection };

/**
 * Resolves the trading mode from the config and the live switch. `live`
 * needs both `trading.enable_live_orders: true` and the switch; anything
 * else is refused, never silently downgraded.
 *
 * @param config The configuration.
 * @param liveSwitch `--live` or `KRAKKED_LIVE=1` was given at start.
 * @returns The route, or the rejection (`mode_read_only`, `live_not_enabled`).
 * @example Live needs both switches
 * ```ts
 * import { resolveRoute } from "./gates.ts";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * const config = { ...DEFAULT_CONFIG, trading: { ...DEFAULT_CONFIG.trading, mode: "live" as const } };
 * resolveRoute(config, true); // { ok: false, rejection: { rule: "live_not_enabled", … } }
 * ```
 */
export function resolveRoute(
  config: GateConfig,
  liveSwitch: boolean,
): { ok: true; route: TradingRoute } | { ok: false; rejection: Rejection } {
  const mode = config.trading.mode;
  if (mode === "read_only") {
    return {
      ok: false,
      rejection: reject(
        "mode_read_only",
        "trading.mode is read_only (the default): set it to dry_run, paper or live to place orders",
        "trading.mode",
      ),
    };
  }
  if (mode === "live") {
    const missing = [
      config.trading.enable_live_orders
        ? null
        : "trading.enable_live_orders is false",
      liveSwitch ? null : "the --live flag (or KRAKKED_LIVE=1) was not given",
    ].filter((item) => item !== null);
    if (missing.length > 0) {
      return {
        ok: false,
        rejection: reject(
          "live_not_enabled",
          `Live orders need both switches: ${missing.join(" and ")}`,
          "trading.mode",
        ),
      };
    }
  }
  return { ok: true, route: mode };
}

function percentText(part: string, whole: string): string {
  return divideDecimal(multiplyDecimal(part, "100"), whole, 2);
}

function absDecimal(text: string): string {
  return text.startsWith("-") ? text.slice(1) : text;
}

function allowlistProblem(
  pair: PairMetadata,
  context: GateContext,
): Rejection | null {
  const config = context.config;
  const include = config.universe?.include ?? [];
  const exclude = config.universe?.exclude ?? [];
  const quote = (config.region.default_quote ?? "USD").toUpperCase();
  if (exclude.some((symbol) => pairMatches(symbol, pair))) {
    return reject(
      "symbol_not_allowed",
      `${pair.id} is excluded by universe.exclude (${exclude.join(", ")})`,
      "pair",
    );
  }
  const included = include.some((symbol) => pairMatches(symbol, pair));
  if (!included && pair.quote.toUpperCase() !== quote) {
    return reject(
      "symbol_not_allowed",
      `${pair.id} is quoted in ${pair.quote}, outside the ${quote} universe; add it to universe.include to trade it`,
      "pair",
    );
  }
  if (
    !included && context.universe !== undefined &&
    ![...context.universe].includes(pair.id)
  ) {
    return reject(
      "symbol_not_allowed",
      `${pair.id} is not in the trading universe`,
      "pair",
    );
  }
  const allowed = config.trading.allowed_symbols;
  if (
    allowed.length > 0 && !allowed.some((symbol) => pairMatches(symbol, pair))
  ) {
    return reject(
      "symbol_not_allowed",
      `${pair.id} is not in trading.allowed_symbols (${allowed.join(", ")})`,
      "pair",
    );
  }
  return null;
}

function marginProblem(
  order: OrderRequest,
  context: GateContext,
): Rejection | null {
  if (context.config.region.supports_margin) return null;
  if (order.leverage !== undefined) {
    return reject(
      "margin_not_allowed",
      `leverage ${order.leverage} needs margin, which the region profile does not allow (region.supports_margin is false)`,
      "leverage",
    );
  }
  if (order.reduceOnly === true) {
    return reject(
      "margin_not_allowed",
      "reduceOnly applies to margin positions, which the region profile does not allow (region.supports_margin is false)",
      "reduceOnly",
    );
  }
  return null;
}

function stopLossProblem(
  order: OrderRequest,
  fill: { first: string; average: string },
  maxPct: number,
): Rejection | null {
  const stop = order.stopLoss;
  if (stop === undefined) {
    return reject(
      "stop_loss_required",
      "Every entry order needs an attached stopLoss (a protective stop on the losing side of the entry)",
      "stopLoss",
    );
  }
  const trigger = stop.triggerPrice;
  const buy = order.side === "buy";
  // The stop must be beyond every price the order can fill at: the first
  // (best) one. A buy limit far above the ask fills at the ask.
  const side = compareDecimal(trigger, fill.first);
  if (buy ? side >= 0 : side <= 0) {
    return reject(
      "stop_loss_wrong_side",
      `stopLoss.triggerPrice ${trigger} must be ${
        buy ? "below" : "above"
      } the price the ${order.side} can fill at, ${fill.first}`,
      "stopLoss.triggerPrice",
    );
  }
  if (stop.limitPrice !== undefined) {
    const limitSide = compareDecimal(stop.limitPrice, trigger);
    if (buy ? limitSide > 0 : limitSide < 0) {
      return reject(
        "stop_loss_wrong_side",
        `stopLoss.limitPrice ${stop.limitPrice} must be at or ${
          buy ? "below" : "above"
        } the trigger ${trigger} (the close ${buy ? "sells" : "buys"})`,
        "stopLoss.limitPrice",
      );
    }
  }
  const entry = fill.average;
  const distance = absDecimal(subtractDecimal(entry, trigger));
  const limit = decimalFromNumber(maxPct);
  // distance / entry × 100 > maxPct, without dividing: distance × 100 > maxPct × entry.
  if (
    compareDecimal(
      multiplyDecimal(distance, "100"),
      multiplyDecimal(limit, entry),
    ) > 0
  ) {
    return reject(
      "stop_loss_too_far",
      `stopLoss.triggerPrice ${trigger} is ${
        percentText(distance, entry)
      } % from the entry price ${entry}; trading.stop_loss_max_distance_pct is ${limit} %`,
      "stopLoss.triggerPrice",
    );
  }
  return null;
}

function exitProblem(
  order: OrderRequest,
  context: GateContext,
): Rejection | null {
  const pair = context.pair;
  if (order.stopLoss !== undefined) {
    return reject(
      "stop_loss_on_exit",
      "An exit order carries no stopLoss: its close would reopen a position",
      "stopLoss",
    );
  }
  const account = context.account;
  const position = account === undefined
    ? context.positionBase
    : heldOf(account, pair.base);
  const needed = order.side === "sell" ? 1 : -1;
  if (position === undefined || compareDecimal(position, "0") !== needed) {
    return reject(
      "exit_without_position",
      `A ${order.side} exit needs a ${
        needed > 0 ? "long" : "short"
      } ${pair.base} position on ${pair.id}, position is ${
        position ?? "unknown"
      }`,
      "intent",
    );
  }
  if (compareDecimal(order.volume, absDecimal(position)) > 0) {
    return reject(
      "exit_exceeds_position",
      `exit volume ${order.volume} exceeds the ${pair.id} position ${position} ${pair.base}`,
      "volume",
    );
  }
  if (account !== undefined && order.side === "sell") {
    const free = subtractDecimal(
      position,
      reservedVolume(account, pair.base),
    );
    if (compareDecimal(order.volume, free) > 0) {
      return reject(
        "exit_exceeds_available",
        `exit volume ${order.volume} ${pair.base} exceeds the ${free} ${pair.base} that open orders leave free (the stop-loss holds the rest); close the position instead, which moves the stop in the same step`,
        "volume",
      );
    }
  }
  return null;
}

/** The price an exit is valued at (its notional): its own, else the book's. */
function exitFill(
  request: OrderRequest,
  context: GateContext,
): { first: string; average: string } | undefined {
  const price = expectedPrice(request, context.referencePrice) ??
    (context.book === undefined ? undefined : fillEstimate({
      side: request.side,
      volume: request.volume,
    }, context.book)?.average);
  return price === undefined ? undefined : { first: price, average: price };
}

/**
 * The prices an entry can fill at: from the book when there is one (walked
 * to the order's size, up to its limit), else from the reference price for
 * market orders and marketable limits, else the limit or trigger itself.
 */
function entryFill(
  request: OrderRequest,
  context: GateContext,
): { first: string; average: string } | undefined {
  const limit = request.type === "limit" || request.type === "iceberg"
    ? request.price
    : undefined;
  if (request.type === "market" || limit !== undefined) {
    if (context.book !== undefined) {
      const estimate = fillEstimate({
        side: request.side,
        volume: request.volume,
        ...(limit === undefined ? {} : { limit }),
      }, context.book);
      if (estimate !== undefined) return estimate;
    }
    const reference = context.referencePrice;
    if (reference === undefined) return undefined;
    if (limit === undefined) return { first: reference, average: reference };
    const marketable = request.side === "buy"
      ? compareDecimal(limit, reference) >= 0
      : compareDecimal(limit, reference) <= 0;
    return marketable
      ? { first: reference, average: reference }
      : { first: limit, average: limit };
  }
  const price = expectedPrice(request, context.referencePrice);
  return price === undefined ? undefined : { first: price, average: price };
}

/**
 * Exposure in the base asset after an entry: holding, plus every open buy
 * that could still fill (valued at the higher of its limit and this
 * order's price), plus this order (a sell entry on margin subtracts).
 */
function exposureAfter(
  request: OrderRequest,
  price: string,
  context: GateContext,
): { volume: string; valueQuote: string; detail: string } {
  const base = context.pair.base;
  const signed = request.side === "buy" ? request.volume : `-${request.volume}`;
  if (context.account === undefined) {
    const after = addDecimal(context.positionBase ?? "0", signed);
    return {
      volume: after,
      valueQuote: multiplyDecimal(absDecimal(after), price),
      detail: `position ${context.positionBase ?? "0"} ${
        request.side === "buy" ? "+" : "−"
      } order ${request.volume}`,
    };
  }
  const held = heldOf(context.account, base);
  const open = openBuyVolume(context.account, base, context.replacesOrderId);
  const filled = context.alreadyFilled ?? "0";
  const own = request.side === "buy"
    ? subtractDecimal(signed, filled)
    : addDecimal(signed, filled);
  let value = multiplyDecimal(absDecimal(addDecimal(held, own)), price);
  for (const order of open.orders) {
    const at = order.price !== null && compareDecimal(order.price, price) > 0
      ? order.price
      : price;
    value = addDecimal(value, multiplyDecimal(order.remaining, at));
  }
  const volume = addDecimal(addDecimal(held, open.volume), own);
  return {
    volume,
    valueQuote: value,
    detail: `held ${held} + open buys ${open.volume} ${
      request.side === "buy" ? "+" : "−"
    } this order ${request.volume}`,
  };
}

function usdRate(
  pair: PairMetadata,
  context: GateContext,
): string | undefined {
  if (pair.quote === "USD") return "1";
  return context.usdPrice?.(pair.quote);
}

/**
 * Validates an order and runs every safety gate, then allocates its client
 * ref. Checks run in order — mode, validation, allowlist, margin, sell
 * entry, stop-loss or exit rules, price availability, max notional, max
 * position — and the first failure is returned with its rule id.
 *
 * @param request The order.
 * @param context Config, live switch, pair, clock and market inputs.
 * @returns The prepared order, or the rejection.
 * @example Refused in the default read_only mode
 * ```ts
 * import { prepareOrder } from "./gates.ts";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const result = prepareOrder(
 *   { pair: "XBTUSD", side: "buy", type: "limit", volume: "0.01", price: "25000" },
 *   { config: DEFAULT_CONFIG, liveSwitch: false, pair: {} as PairMetadata, nowMs: 0 },
 * );
 * result.ok; // false (rule "mode_read_only")
 * ```
 */
export function prepareOrder(
  request: OrderRequest,
  context: GateContext,
): PrepareResult {
  const failed = (rejection: Rejection): PrepareResult => ({
    ok: false,
    rejection,
  });
  const route = resolveRoute(context.config, context.liveSwitch);
  if (!route.ok) return failed(route.rejection);
  const { pair, config } = context;
  const validation = validateOrder(request, pair, {
    nowMs: context.nowMs,
    ...(context.referencePrice === undefined
      ? {}
      : { referencePrice: context.referencePrice }),
  });
  if (validation !== null) return failed(validation);
  const problem = allowlistProblem(pair, context) ??
    marginProblem(request, context);
  if (problem !== null) return failed(problem);
  const intent = request.intent ?? "entry";
  if (
    intent === "entry" && request.side === "sell" &&
    request.leverage === undefined
  ) {
    return failed(reject(
      "sell_entry_needs_margin",
      `A sell entry on ${pair.id} would open a short, which needs leverage on a margin region; to sell ${pair.base} you hold, use intent "exit"`,
      "intent",
    ));
  }
  const fill = intent === "entry"
    ? entryFill(request, context)
    : exitFill(request, context);
  if (fill === undefined) {
    return failed(reject(
      "price_unavailable",
      `A ${request.type} ${intent} needs the market price (the book or a reference price) to check where it can fill, none was given`,
      "referencePrice",
    ));
  }
  const entry = fill.average;
  if (intent === "exit") {
    const exit = exitProblem(request, context);
    if (exit !== null) return failed(exit);
  } else {
    const stop = stopLossProblem(
      request,
      fill,
      config.trading.stop_loss_max_distance_pct,
    );
    if (stop !== null) return failed(stop);
  }
  const rate = usdRate(pair, context);
  if (rate === undefined) {
    return failed(reject(
      "price_unavailable",
      `No USD price for ${pair.quote} to convert the ${pair.id} notional`,
      "usdPrice",
    ));
  }
  const notionalUsd = multiplyDecimal(
    multiplyDecimal(request.volume, entry),
    rate,
  );
  if (intent === "entry") {
    const maxOrder = decimalFromNumber(config.trading.max_notional_usd);
    if (compareDecimal(notionalUsd, maxOrder) > 0) {
      return failed(reject(
        "max_notional",
        `Order notional ${notionalUsd} USD (volume ${request.volume} × price ${entry} ${pair.quote}) exceeds trading.max_notional_usd ${maxOrder} USD`,
        "volume",
      ));
    }
    const exposure = exposureAfter(request, entry, context);
    const positionUsd = multiplyDecimal(exposure.valueQuote, rate);
    const maxPosition = decimalFromNumber(
      config.trading.max_position_notional_usd,
    );
    if (compareDecimal(positionUsd, maxPosition) > 0) {
      return failed(reject(
        "max_position",
        `The ${pair.base} exposure would be ${exposure.volume} ${pair.base} (${exposure.detail}) = ${positionUsd} USD, above trading.max_position_notional_usd ${maxPosition} USD`,
        "volume",
      ));
    }
  }
  const order: CheckedOrder = {
    ...request,
    intent,
    clientRef: request.clientRef ?? allocateClientRef(
      request,
      context.randomUuid === undefined
        ? {}
        : { randomUuid: context.randomUuid },
    ),
  };
  return {
    ok: true,
    prepared: {
      order,
      pair,
      route: route.route,
      expectedPrice: entry,
      notionalUsd,
      preparedAtMs: context.nowMs,
    },
  };
}
