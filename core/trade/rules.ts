/**
 * Stable ids for every reason an order can be refused, and the rejection
 * value and error that carry them. Server routes and the CLI show `rule`
 * and `message`; scripts switch on `rule`.
 *
 * @module
 */

/** Rules checked against the pair's metadata (validation). */
export type ValidationRule =
  | "order_invalid"
  | "pair_mismatch"
  | "pair_cancel_only"
  | "pair_not_trading"
  | "pair_post_only"
  | "pair_limit_only"
  | "pair_reduce_only"
  | "volume_invalid"
  | "volume_decimals"
  | "volume_below_ordermin"
  | "cost_below_costmin"
  | "price_required"
  | "price_not_allowed"
  | "price_invalid"
  | "price_decimals"
  | "price_tick_size"
  | "trailing_offset_invalid"
  | "display_volume_invalid"
  | "post_only_not_allowed"
  | "time_in_force_invalid"
  | "expiry_invalid"
  | "leverage_invalid"
  | "client_ref_invalid"
  | "stop_loss_invalid";

/** Rules of the safety gate and the risk model (README "Safety model"). */
export type GateRule =
  | "mode_read_only"
  | "live_not_enabled"
  | "symbol_not_allowed"
  | "margin_not_allowed"
  | "sell_entry_needs_margin"
  | "stop_loss_required"
  | "stop_loss_on_exit"
  | "stop_loss_wrong_side"
  | "stop_loss_too_far"
  | "exit_without_position"
  | "exit_exceeds_position"
  | "exit_exceeds_available"
  | "exit_blocked_by_orders"
  | "stop_protects_position"
  | "amend_unknown_order"
  | "price_unavailable"
  | "max_notional"
  | "max_position";

/** Rules of the paper broker. */
export type PaperRule =
  | "not_paper"
  | "no_book"
  | "insufficient_funds"
  | "post_only_would_take"
  | "unknown_order"
  | "order_closed";

/** Every rule id. */
export type RuleId = ValidationRule | GateRule | PaperRule;

/** Why an order was refused. */
export interface Rejection {
  /** Stable rule id. */
  rule: RuleId;
  /** The request field at fault (`price`, `stopLoss.triggerPrice`), when one is. */
  field?: string;
  /** Human-readable reason naming the field and the value. */
  message: string;
}

/**
 * Builds a {@linkcode Rejection}.
 *
 * @param rule The rule id.
 * @param message The reason.
 * @param field The field at fault.
 * @returns The rejection.
 * @example Reject
 * ```ts
 * import { reject } from "./rules.ts";
 * reject("max_notional", "Order notional 600 USD exceeds 500 USD").rule; // "max_notional"
 * ```
 */
export function reject(
  rule: RuleId,
  message: string,
  field?: string,
): Rejection {
  return field === undefined ? { rule, message } : { rule, field, message };
}

/**
 * An order refused by validation, the gates or the paper broker, for callers
 * that prefer to throw.
 *
 * @example Throw a rejection
 * ```ts
 * import { OrderRejectedError, reject } from "./rules.ts";
 * const error = new OrderRejectedError(reject("mode_read_only", "Trading mode is read_only"));
 * error.kind; // "order_rejected"
 * error.rule; // "mode_read_only"
 * ```
 */
export class OrderRejectedError extends Error {
  /** Discriminator. */
  readonly kind = "order_rejected" as const;
  /** Error name. */
  override name = "OrderRejectedError";
  /** The stable rule id. */
  readonly rule: RuleId;
  /** The field at fault, when one is. */
  readonly field: string | undefined;

  /**
   * Creates the error.
   *
   * @param rejection The rejection.
   * @param options Standard error options.
   */
  constructor(rejection: Rejection, options?: ErrorOptions) {
    super(`Order rejected (${rejection.rule}): ${rejection.message}`, options);
    this.rule = rejection.rule;
    this.field = rejection.field;
  }
}
