/**
 * The stale-order repositioner (`trading.reposition`, opt-in): a resting
 * limit order that Krakked placed, older than `max_age_seconds` and
 * further than `distance_bps` from the touch (the best bid for a buy, the
 * best ask for a sell), is amended toward the market or cancelled.
 *
 * - {@linkcode repositionPolicy} turns the config key into a checked
 *   {@linkcode RepositionPolicy} ({@linkcode RepositionPolicyError} names
 *   the field of a bad value).
 * - {@linkcode repositionHalt} says whether trading is in a state where
 *   nothing may be touched (mode, live switches, dead-man switch, account
 *   loading, an operator halt).
 * - {@linkcode judgeStaleOrder} and {@linkcode planReposition} are pure:
 *   (orders, quotes, now, policy) → the actions, each with its reason and
 *   its trading-counter cost, at most the per-minute cap of them.
 * - {@linkcode amendTarget} is the new limit price: the touch, or the
 *   touch plus `offset_ticks` ticks away from the market (negative: into
 *   the spread), on the pair's tick grid, never at or across the other
 *   side of the spread.
 * - {@linkcode Repositioner} is the small scheduler: every
 *   `check_interval_seconds` it plans one pass and sends each action
 *   through a {@linkcode RepositionPort} — the order client, so every
 *   amend passes the same gate as a new order and is charged on the pair's
 *   trading counter — and reports what happened.
 *
 * Which orders: type `limit` only (never market, iceberg, stop or
 * take-profit types, never a conditional close), open (`new` or
 * `partially_filled`), not immediate-or-cancel, and placed by Krakked
 * (tracked by the order client with a client ref). Orders Krakked did not
 * place are never touched, and no switch changes that: the gate cannot
 * judge an amend of an order whose stop-loss it does not know.
 *
 * Trading-counter cost of each action (docs/kraken/REPOSITION.md): an
 * amend is +1 plus +3/+2/+1 when the order is younger than 5/10/15 s; a
 * cancel is +8 … +1 by age, 0 from 300 s. The default `max_age_seconds`
 * (300) is the cheapest column of both.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type {
  RepositionActionKind,
  RepositionConfig,
} from "../config/config.ts";
import {
  addDecimal,
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "../decimal.ts";
import type { PairMetadata } from "../market/pairs.ts";
import { tradingPenalty } from "../rest/ratelimit.ts";
import type { DeadManPhase } from "./dead_man.ts";
import type { TradingRoute } from "./gates.ts";
import type { OrderSide } from "./order.ts";
import type { TrackedOrder } from "./order_client.ts";
import { pairMatches } from "./validate.ts";

/** The policy, checked (camelCase of `trading.reposition`). */
export interface RepositionPolicy {
  /** Whether the repositioner runs. */
  readonly enabled: boolean;
  /** Stale from this age (since placed or last amended), ms. */
  readonly maxAgeMs: number;
  /** Far beyond this distance from the touch, basis points. */
  readonly distanceBps: number;
  /** `amend` or `cancel`. */
  readonly action: RepositionActionKind;
  /** Amend target: ticks away from the market from the touch (negative: into the spread). */
  readonly offsetTicks: number;
  /** At most this many actions in any 60 s. */
  readonly maxActionsPerMinute: number;
  /** Only these pairs (any spelling); empty: every pair. */
  readonly pairs: readonly string[];
  /** Time between passes, ms. */
  readonly intervalMs: number;
}

/** A policy value out of range, naming its `trading.reposition` field. */
export class RepositionPolicyError extends Error {
  /** Error name. */
  override name = "RepositionPolicyError";
  /** Discriminator. */
  readonly kind = "reposition_policy" as const;
  /** The field, e.g. `trading.reposition.distance_bps`. */
  readonly field: string;

  /**
   * Creates the error.
   *
   * @param field The config field.
   * @param message What is wrong with it.
   */
  constructor(field: string, message: string) {
    super(`Invalid ${field}: ${message}`);
    this.field = field;
  }
}

const ONE_MINUTE_MS = 60_000;

/**
 * Checks `trading.reposition` and converts it to a policy. The config
 * parser checks the same ranges; this guards hand-built configs too.
 *
 * @param config The config key.
 * @returns The policy.
 * @throws {RepositionPolicyError} For a value out of range.
 * @example The defaults
 * ```ts
 * import { repositionPolicy } from "./reposition.ts";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * repositionPolicy(DEFAULT_CONFIG.trading.reposition).maxAgeMs; // 300000
 * ```
 */
export function repositionPolicy(config: RepositionConfig): RepositionPolicy {
  const field = (name: string) => `trading.reposition.${name}`;
  const range = (
    name: keyof RepositionConfig,
    value: number,
    min: number,
    max: number,
    int = false,
  ): number => {
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < min ||
      value > max || (int && !Number.isInteger(value))
    ) {
      throw new RepositionPolicyError(
        field(name),
        `expected ${
          int ? "a whole number" : "a number"
        } from ${min} to ${max}, got ${String(value)}`,
      );
    }
    return value;
  };
  if (typeof config.enabled !== "boolean") {
    throw new RepositionPolicyError(field("enabled"), "expected true or false");
  }
  if (config.action !== "amend" && config.action !== "cancel") {
    throw new RepositionPolicyError(
      field("action"),
      `expected amend or cancel, got ${JSON.stringify(config.action)}`,
    );
  }
  if (
    !Array.isArray(config.pairs) ||
    config.pairs.some((p) => typeof p !== "string" || p.trim() === "")
  ) {
    throw new RepositionPolicyError(
      field("pairs"),
      "expected a list of pair names",
    );
  }
  return {
    enabled: config.enabled,
    maxAgeMs: range("max_age_seconds", config.max_age_seconds, 1, 604_800) *
      1000,
    distanceBps: range("distance_bps", config.distance_bps, 0, 10_000),
    action: config.action,
    offsetTicks: range("offset_ticks", config.offset_ticks, -1000, 1000, true),
    maxActionsPerMinute: range(
      "max_actions_per_minute",
      config.max_actions_per_minute,
      1,
      600,
      true,
    ),
    pairs: config.pairs.map((p) => p.trim().toUpperCase()),
    intervalMs: range(
      "check_interval_seconds",
      config.check_interval_seconds,
      1,
      3600,
    ) * 1000,
  };
}

/** An order as the repositioner sees it. */
export interface RepositionOrder {
  /** The order client's tracking key (`userref:42`, `cl_ord_id:…`). */
  key: string;
  /** Kraken's (or the paper broker's) order id, once known. */
  orderId: string | null;
  /** The order's client ref as logged (userref or cl_ord_id). */
  clientRef: string;
  /** The pair's metadata (tick size, spellings for the allow-list). */
  pair: PairMetadata;
  /** Side. */
  side: OrderSide;
  /** Order type (`limit`, `stop-loss`, …). */
  type: string;
  /** Lifecycle status (`new`, `partially_filled`, …). */
  status: string;
  /** The current limit price, when any. */
  limitPrice: string | null;
  /** Whether the order is post-only. */
  postOnly: boolean;
  /** Time in force (`GTC` when absent). */
  timeInForce?: string;
  /** Whether Krakked placed it (tracked with a client ref). */
  placedByKrakked: boolean;
  /** When it was placed or last amended, ms (age, and the counter's age column). */
  changedAtMs: number;
  /** When the repositioner last tried it (acted, refused or failed), ms. */
  lastAttemptAtMs?: number;
}

/**
 * The repositioner's view of an order the order client tracks (so one
 * Krakked placed): its current limit price (as last amended), post-only
 * flag, time in force and when it was placed or last amended.
 *
 * @param tracked The tracked order (`OrderClient.orders()`).
 * @returns The order.
 * @example From the order client
 * ```ts ignore
 * const orders = client.orders().map(repositionOrderOf);
 * ```
 */
export function repositionOrderOf(tracked: TrackedOrder): RepositionOrder {
  const order = tracked.prepared.order;
  return {
    key: tracked.key,
    orderId: tracked.state.orderId,
    clientRef: tracked.key,
    pair: tracked.prepared.pair,
    side: order.side,
    type: order.type,
    status: tracked.state.status,
    limitPrice: tracked.state.limitPrice ?? order.price ?? null,
    postOnly: order.postOnly === true,
    ...(order.timeInForce === undefined
      ? {}
      : { timeInForce: order.timeInForce }),
    placedByKrakked: true,
    changedAtMs: tracked.changedAtMs,
  };
}

/** The touch of a pair. */
export interface RepositionQuote {
  /** Best bid. */
  bid: string;
  /** Best ask. */
  ask: string;
}

/** What decides whether anything may be touched at all. */
export interface RepositionStatus {
  /** The trading route (`resolveRoute`), `undefined` when the mode refuses. */
  route: TradingRoute | undefined;
  /** The dead-man switch: `not_required` unless live with a countdown. */
  deadMan: DeadManPhase | "not_required";
  /** The account the gate judges against: `ready`, `loading` or `failed`. */
  account: "ready" | "loading" | "failed";
  /** An operator halt (kill switch) with its reason, or `null`. */
  halted: string | null;
}

/**
 * Why nothing may be touched now, or `null` when the repositioner may act:
 * an operator halt, a mode that refuses orders (read_only, live without
 * both switches), dry_run (nothing was ever sent), an account that is not
 * loaded, or, live with a countdown, a dead-man switch that is not armed.
 *
 * @param status The trading state.
 * @returns The reason, or `null`.
 * @example Account still loading
 * ```ts
 * import { repositionHalt } from "./reposition.ts";
 * repositionHalt({ route: "live", deadMan: "armed", account: "loading", halted: null });
 * // "the account is loading"
 * ```
 */
export function repositionHalt(status: RepositionStatus): string | null {
  if (status.halted !== null) return `halted: ${status.halted}`;
  if (status.route === undefined) {
    return "trading is disabled (read_only, or live without both switches)";
  }
  if (status.route === "dry_run") return "dry_run sends no orders";
  if (status.account !== "ready") return `the account is ${status.account}`;
  if (
    status.route === "live" && status.deadMan !== "not_required" &&
    status.deadMan !== "armed"
  ) {
    return `the dead-man switch is ${status.deadMan}`;
  }
  return null;
}

/** Why an order is not acted on. */
export type RepositionSkip =
  | "not_limit"
  | "not_open"
  | "not_resting"
  | "not_krakked"
  | "not_allowed"
  | "fresh"
  | "no_quote"
  | "near"
  | "no_target"
  | "rate_cap"
  | "trading_counter";

/** One action the repositioner decided. */
export interface RepositionAction {
  /** `amend` or `cancel`. */
  kind: RepositionActionKind;
  /** The tracking key. */
  key: string;
  /** Kraken's (or paper) order id, when known. */
  orderId: string | null;
  /** The client ref (userref or cl_ord_id) as logged. */
  clientRef: string;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: OrderSide;
  /** The limit price now. */
  fromPrice: string;
  /** Amend: the new limit price. */
  toPrice?: string;
  /** The touch it was measured from (best bid for a buy, best ask for a sell). */
  touch: string;
  /** Distance from the touch, basis points (2 decimals). */
  distanceBps: string;
  /** Age since placed or last amended, ms. */
  ageMs: number;
  /** Whether the order is post-only (an amend keeps it so). */
  postOnly: boolean;
  /** Trading-counter cost of this action on the pair (REST.md §7.2). */
  cost: number;
  /** A sentence saying why. */
  reason: string;
}

/** The judgement of one order. */
export type StaleJudgement =
  | { named: true; action: RepositionAction }
  | { named: false; skip: RepositionSkip };

function distanceBpsOf(
  side: OrderSide,
  price: string,
  touch: string,
): string {
  const gap = side === "buy"
    ? subtractDecimal(touch, price)
    : subtractDecimal(price, touch);
  return divideDecimal(multiplyDecimal(gap, "10000"), touch, 2, "down");
}

/**
 * Whether an order is further than `bps` from the touch: for a buy
 * `(bid − price) × 10000 > bps × bid`, for a sell `(price − ask) × 10000 >
 * bps × ask` (exact decimals, no rounding).
 *
 * @param side The order's side.
 * @param price Its limit price.
 * @param touch The best bid (buy) or ask (sell).
 * @param bps The policy's distance.
 * @returns `true` when far.
 * @example 1 % below the bid is 100 bps
 * ```ts
 * import { isFar } from "./reposition.ts";
 * isFar("buy", "99", "100", 50); // true
 * isFar("buy", "99.6", "100", 50); // false
 * ```
 */
export function isFar(
  side: OrderSide,
  price: string,
  touch: string,
  bps: number,
): boolean {
  const gap = side === "buy"
    ? subtractDecimal(touch, price)
    : subtractDecimal(price, touch);
  return compareDecimal(
    multiplyDecimal(gap, "10000"),
    multiplyDecimal(decimalFromNumber(bps), touch),
  ) > 0;
}

function onGrid(price: string, tick: string, side: OrderSide): string {
  // Passive rounding: a buy rounds down, a sell up.
  const steps = divideDecimal(
    price,
    tick,
    0,
    side === "buy" ? "floor" : "ceiling",
  );
  return multiplyDecimal(steps, tick);
}

/**
 * The amend target: the touch, moved `offsetTicks` ticks away from the
 * market (a buy lower, a sell higher; negative moves into the spread), on
 * the pair's tick grid, and never at or across the other side: a buy stays
 * below the ask, a sell above the bid, so the amended order keeps resting
 * (and a post-only order stays valid). `null` when no such price exists
 * (a crossed or one-tick-wide book leaves none inside, or it is not
 * positive, or the book is crossed or locked).
 *
 * @param side The order's side.
 * @param quote The touch.
 * @param pair The pair (its `tickSize`).
 * @param offsetTicks Ticks away from the market.
 * @returns The price, or `null`.
 * @example A buy at the bid, one tick behind it
 * ```ts
 * import { amendTarget } from "./reposition.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pair = { tickSize: "0.1" } as PairMetadata;
 * amendTarget("buy", { bid: "100", ask: "100.5" }, pair, 1); // "99.9"
 * ```
 */
export function amendTarget(
  side: OrderSide,
  quote: RepositionQuote,
  pair: PairMetadata,
  offsetTicks: number,
): string | null {
  // A crossed (or locked) book is stale data: no price rests safely.
  if (compareDecimal(quote.bid, quote.ask) >= 0) return null;
  const tick = pair.tickSize;
  const shift = multiplyDecimal(tick, String(Math.abs(offsetTicks)));
  const away = offsetTicks >= 0;
  let target: string;
  if (side === "buy") {
    target = away
      ? subtractDecimal(quote.bid, shift)
      : addDecimal(quote.bid, shift);
    target = onGrid(target, tick, "buy");
    const ceiling = onGrid(subtractDecimal(quote.ask, tick), tick, "buy");
    if (compareDecimal(target, ceiling) > 0) target = ceiling;
    if (compareDecimal(target, quote.ask) >= 0) return null;
  } else {
    target = away
      ? addDecimal(quote.ask, shift)
      : subtractDecimal(quote.ask, shift);
    target = onGrid(target, tick, "sell");
    const floor = onGrid(addDecimal(quote.bid, tick), tick, "sell");
    if (compareDecimal(target, floor) < 0) target = floor;
    if (compareDecimal(target, quote.bid) <= 0) return null;
  }
  if (compareDecimal(target, "0") <= 0) return null;
  return multiplyDecimal(target, "1");
}

/**
 * Judges one order against the policy: whether the policy names it (a
 * resting Krakked limit order on an allowed pair, stale and far) and, if
 * so, the action with its reason and counter cost.
 *
 * @param order The order.
 * @param quote The pair's touch, if known.
 * @param nowMs Now, ms.
 * @param policy The policy.
 * @returns The action, or why the order is left alone.
 * @example A fresh order is left alone
 * ```ts ignore
 * judgeStaleOrder(order, { bid: "100", ask: "101" }, order.changedAtMs + 1, policy);
 * // { named: false, skip: "fresh" }
 * ```
 */
export function judgeStaleOrder(
  order: RepositionOrder,
  quote: RepositionQuote | undefined,
  nowMs: number,
  policy: RepositionPolicy,
): StaleJudgement {
  const skip = (why: RepositionSkip): StaleJudgement => ({
    named: false,
    skip: why,
  });
  if (order.type !== "limit" || order.limitPrice === null) {
    return skip("not_limit");
  }
  if (order.status !== "new" && order.status !== "partially_filled") {
    return skip("not_open");
  }
  if (order.timeInForce === "IOC" || order.timeInForce === "FOK") {
    return skip("not_resting");
  }
  if (!order.placedByKrakked) return skip("not_krakked");
  if (
    policy.pairs.length > 0 &&
    !policy.pairs.some((name) => pairMatches(name, order.pair))
  ) return skip("not_allowed");
  const ageMs = nowMs - order.changedAtMs;
  if (ageMs < policy.maxAgeMs) return skip("fresh");
  if (
    order.lastAttemptAtMs !== undefined &&
    nowMs - order.lastAttemptAtMs < policy.maxAgeMs
  ) return skip("fresh");
  if (quote === undefined) return skip("no_quote");
  const touch = order.side === "buy" ? quote.bid : quote.ask;
  if (compareDecimal(touch, "0") <= 0) return skip("no_quote");
  if (!isFar(order.side, order.limitPrice, touch, policy.distanceBps)) {
    return skip("near");
  }
  const distanceBps = distanceBpsOf(order.side, order.limitPrice, touch);
  const ageText = `${Math.floor(ageMs / 1000)} s`;
  const base = {
    key: order.key,
    orderId: order.orderId,
    clientRef: order.clientRef,
    pair: order.pair.id,
    side: order.side,
    fromPrice: order.limitPrice,
    touch,
    distanceBps,
    ageMs,
    postOnly: order.postOnly,
  };
  const where =
    `${order.side} ${order.limitPrice} is ${distanceBps} bps from the ${
      order.side === "buy" ? "bid" : "ask"
    } ${touch} (limit ${policy.distanceBps} bps) after ${ageText} (limit ${
      policy.maxAgeMs / 1000
    } s)`;
  if (policy.action === "cancel") {
    return {
      named: true,
      action: {
        ...base,
        kind: "cancel",
        cost: tradingPenalty("cancel", ageMs),
        reason: `stale: ${where}; cancel`,
      },
    };
  }
  const target = amendTarget(order.side, quote, order.pair, policy.offsetTicks);
  const closer = target !== null &&
    (order.side === "buy"
      ? compareDecimal(target, order.limitPrice) > 0
      : compareDecimal(target, order.limitPrice) < 0);
  if (!closer) return skip("no_target");
  return {
    named: true,
    action: {
      ...base,
      kind: "amend",
      toPrice: target,
      cost: tradingPenalty("amend", ageMs),
      reason: `stale: ${where}; amend to ${target}${
        policy.offsetTicks === 0
          ? " (the touch)"
          : ` (the touch ${policy.offsetTicks > 0 ? "+" : "−"} ${
            Math.abs(policy.offsetTicks)
          } ticks away from the market)`
      }`,
    },
  };
}

/** Inputs of one pass. */
export interface RepositionInput {
  /** The orders. */
  orders: readonly RepositionOrder[];
  /** The touch of a pair (canonical id), if known. */
  quote: (pairId: string) => RepositionQuote | undefined;
  /** Now, ms. */
  nowMs: number;
  /** The policy. */
  policy: RepositionPolicy;
  /** The trading state. */
  status: RepositionStatus;
  /** When earlier actions were sent, ms (only the last minute counts). */
  recentActionsMs: readonly number[];
  /** Room left on a pair's trading counter (`max − level`), if known. */
  counterRoom?: (pairId: string) => number | undefined;
}

/** What one pass decided. */
export interface RepositionPlan {
  /** Why nothing may be touched, or `null`. */
  halted: string | null;
  /** The actions, in the order to send them (farthest first). */
  actions: RepositionAction[];
  /** Named orders left for a later pass, and why (`rate_cap`, `trading_counter`). */
  deferred: { action: RepositionAction; skip: RepositionSkip }[];
}

/**
 * Plans one pass: every order the policy names (see
 * {@linkcode judgeStaleOrder}), farthest from the touch first (then oldest),
 * cut to what the per-minute cap leaves and to the room on each pair's
 * trading counter; nothing at all when {@linkcode repositionHalt} names a
 * reason or the policy is disabled.
 *
 * @param input Orders, quotes, clock, policy, state and recent actions.
 * @returns The plan.
 * @example Disabled
 * ```ts
 * import { planReposition, repositionPolicy } from "./reposition.ts";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * planReposition({ orders: [], quote: () => undefined, nowMs: 0,
 *   policy: repositionPolicy(DEFAULT_CONFIG.trading.reposition),
 *   status: { route: "paper", deadMan: "not_required", account: "ready", halted: null },
 *   recentActionsMs: [] }).halted; // "trading.reposition.enabled is false"
 * ```
 */
export function planReposition(input: RepositionInput): RepositionPlan {
  const { policy, nowMs } = input;
  const halted = policy.enabled
    ? repositionHalt(input.status)
    : "trading.reposition.enabled is false";
  if (halted !== null) return { halted, actions: [], deferred: [] };
  const named: RepositionAction[] = [];
  for (const order of input.orders) {
    const judged = judgeStaleOrder(
      order,
      input.quote(order.pair.id),
      nowMs,
      policy,
    );
    if (judged.named) named.push(judged.action);
  }
  named.sort((a, b) =>
    compareDecimal(b.distanceBps, a.distanceBps) || b.ageMs - a.ageMs ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
  const inWindow =
    input.recentActionsMs.filter((t) => nowMs - t < ONE_MINUTE_MS).length;
  let left = Math.max(0, policy.maxActionsPerMinute - inWindow);
  const spent = new Map<string, number>();
  const actions: RepositionAction[] = [];
  const deferred: RepositionPlan["deferred"] = [];
  for (const action of named) {
    if (left === 0) {
      deferred.push({ action, skip: "rate_cap" });
      continue;
    }
    const room = input.counterRoom?.(action.pair);
    const used = spent.get(action.pair) ?? 0;
    if (room !== undefined && used + action.cost > room) {
      deferred.push({ action, skip: "trading_counter" });
      continue;
    }
    spent.set(action.pair, used + action.cost);
    actions.push(action);
    left--;
  }
  return { halted: null, actions, deferred };
}

/** How one action ended. */
export type RepositionOutcome =
  | { outcome: "done"; detail?: string }
  | { outcome: "refused"; rule: string; message: string }
  | { outcome: "failed"; message: string };

/** What the repositioner needs from the trading side. */
export interface RepositionPort {
  /** The orders to judge (the order client's tracked orders). */
  orders(): Promise<readonly RepositionOrder[]>;
  /** The touch of a pair, if a current book is held. */
  quote(pairId: string): RepositionQuote | undefined;
  /** The trading state, read before the pass and before every action. */
  status(): RepositionStatus;
  /**
   * Sends an action through the order client (amend: the gate judges it
   * first and a refusal is returned, never sent). Never throws.
   */
  act(action: RepositionAction): Promise<RepositionOutcome>;
  /** Room left on a pair's trading counter, if known. */
  counterRoom?(pairId: string): number | undefined;
}

/** What the repositioner reports. */
export type RepositionEvent =
  | {
    type: "action";
    atMs: number;
    action: RepositionAction;
    result: RepositionOutcome;
  }
  | {
    type: "deferred";
    atMs: number;
    action: RepositionAction;
    skip: RepositionSkip;
  }
  | { type: "halted"; atMs: number; reason: string }
  | { type: "resumed"; atMs: number }
  | { type: "error"; atMs: number; message: string };

/** Options of {@linkcode Repositioner}. */
export interface RepositionerOptions {
  /** The policy. */
  policy: RepositionPolicy;
  /** Orders, quotes, state and actions. */
  port: RepositionPort;
  /** Time and timers (default: the system clock). */
  clock: Pick<Clock, "now" | "setTimer">;
  /** Receives every event (exceptions are swallowed). */
  onEvent?: (event: RepositionEvent) => void;
}

/** What one pass did. */
export interface RepositionPass {
  /** Why nothing was touched, or `null`. */
  halted: string | null;
  /** Actions sent, with their outcome. */
  acted: { action: RepositionAction; result: RepositionOutcome }[];
  /** Named orders left for later. */
  deferred: RepositionPlan["deferred"];
}

/**
 * The scheduler: one pass every `policy.intervalMs`, never two at once.
 * A pass plans with {@linkcode planReposition}, then sends its actions one
 * at a time, reading the trading state again before each (a halt, a
 * dead-man failure or a mode change stops the rest of the pass). Every
 * attempt — sent, refused by the gate, or failed — is remembered, so an
 * order is not tried again for `maxAgeMs`; sent actions count toward the
 * per-minute cap.
 *
 * @example On a hand-driven clock
 * ```ts ignore
 * const r = new Repositioner({ policy, port, clock });
 * await r.runOnce(); // one pass now
 * r.start(); // then every policy.intervalMs
 * r.stop();
 * ```
 */
export class Repositioner {
  #policy: RepositionPolicy;
  #port: RepositionPort;
  #clock: Pick<Clock, "now" | "setTimer">;
  #onEvent: ((event: RepositionEvent) => void) | undefined;
  #recent: number[] = [];
  #attempts = new Map<string, number>();
  #cancelTimer: (() => void) | undefined;
  #running: Promise<RepositionPass> | undefined;
  #stopped = true;
  #lastHalt: string | null = null;

  /**
   * Creates the repositioner; nothing runs until {@linkcode start} or
   * {@linkcode runOnce}.
   *
   * @param options Policy, port, clock and event sink.
   */
  constructor(options: RepositionerOptions) {
    this.#policy = options.policy;
    this.#port = options.port;
    this.#clock = options.clock;
    this.#onEvent = options.onEvent;
  }

  /** The policy. */
  get policy(): RepositionPolicy {
    return this.#policy;
  }

  /** When actions were sent in the last minute, ms (a copy). */
  get recentActionsMs(): number[] {
    return [...this.#recent];
  }

  /** Runs a pass every `policy.intervalMs` (the first after one interval). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /**
   * Stops the timer and waits for a pass under way.
   *
   * @returns Resolves when no pass runs.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    await this.#running?.catch(() => {});
  }

  /**
   * One pass now (or the one under way).
   *
   * @returns What it did.
   */
  runOnce(): Promise<RepositionPass> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#cancelTimer = this.#clock.setTimer(() => {
      this.#cancelTimer = undefined;
      void this.runOnce().catch((error) => {
        this.#emit({
          type: "error",
          atMs: this.#clock.now(),
          message: error instanceof Error ? error.message : String(error),
        });
      }).finally(() => this.#schedule());
    }, this.#policy.intervalMs);
  }

  #emit(event: RepositionEvent): void {
    try {
      this.#onEvent?.(event);
    } catch {
      // A throwing listener does not stop the repositioner.
    }
  }

  #noteHalt(reason: string | null, atMs: number): void {
    if (reason === this.#lastHalt) return;
    this.#lastHalt = reason;
    this.#emit(
      reason === null
        ? { type: "resumed", atMs }
        : { type: "halted", atMs, reason },
    );
  }

  async #pass(): Promise<RepositionPass> {
    const pass: RepositionPass = { halted: null, acted: [], deferred: [] };
    const before = repositionHalt(this.#port.status());
    if (!this.#policy.enabled || before !== null) {
      pass.halted = before ?? "trading.reposition.enabled is false";
      this.#noteHalt(pass.halted, this.#clock.now());
      return pass;
    }
    const orders = await this.#port.orders();
    const nowMs = this.#clock.now();
    this.#recent = this.#recent.filter((t) => nowMs - t < ONE_MINUTE_MS);
    for (const [key, atMs] of this.#attempts) {
      if (nowMs - atMs >= this.#policy.maxAgeMs) this.#attempts.delete(key);
    }
    const plan = planReposition({
      orders: orders.map((o) => {
        const tried = this.#attempts.get(o.key);
        return tried === undefined ? o : { ...o, lastAttemptAtMs: tried };
      }),
      quote: (pair) => this.#port.quote(pair),
      nowMs,
      policy: this.#policy,
      status: this.#port.status(),
      recentActionsMs: this.#recent,
      ...(this.#port.counterRoom === undefined
        ? {}
        : { counterRoom: (pair: string) => this.#port.counterRoom!(pair) }),
    });
    pass.halted = plan.halted;
    pass.deferred = plan.deferred;
    this.#noteHalt(plan.halted, nowMs);
    for (const { action, skip } of plan.deferred) {
      this.#emit({ type: "deferred", atMs: nowMs, action, skip });
    }
    for (const action of plan.actions) {
      // The state may change while earlier actions are sent.
      const halt = repositionHalt(this.#port.status());
      if (halt !== null) {
        pass.halted = halt;
        this.#noteHalt(halt, this.#clock.now());
        break;
      }
      const sentAtMs = this.#clock.now();
      this.#attempts.set(action.key, sentAtMs);
      const result = await this.#port.act(action);
      if (result.outcome !== "refused") this.#recent.push(sentAtMs);
      pass.acted.push({ action, result });
      this.#emit({ type: "action", atMs: this.#clock.now(), action, result });
    }
    return pass;
  }
}
