/**
 * The stale-order repositioner of `krakked serve` (`trading.reposition`,
 * opt-in; the decisions are core's `core/trade/reposition.ts`).
 *
 * Every `check_interval_seconds` it reads the orders this server placed
 * (the order service's tracked orders), the touch of their pairs from the
 * books the server holds (no REST call), and the trading state, and sends
 * each action through the order service: an amend is judged by the same
 * gate as a new order (refused and logged, never sent, when it would
 * break a risk limit) and, live, goes out as `AmendOrder`, charged on the
 * pair's trading-engine counter; a cancel as `CancelOrder`. Before each
 * action it checks that trading is enabled: the mode and both live
 * switches, the dead-man switch armed (live, with a countdown), the
 * account loaded, and no operator halt ({@linkcode RepositionService.halt}).
 *
 * Every action is logged with its reason (`order reposition`, with the
 * order's key — its userref or cl_ord_id —, its Kraken id and a
 * correlation id that the upstream call's log line carries too) and shown
 * among the ops view's order events.
 *
 * @module
 */

import type { Clock } from "@krakked/core/clock";
import type { KrakkedConfig } from "@krakked/core/config/config";
import type { Logger } from "@krakked/core/log";
import type { Counter } from "@krakked/core/rest/ratelimit";
import type { DeadManState } from "@krakked/core/trade/dead_man";
import { resolveRoute } from "@krakked/core/trade/gates";
import type { TrackedOrder } from "@krakked/core/trade/order_client";
import {
  type RepositionAction,
  Repositioner,
  type RepositionEvent,
  repositionOrderOf,
  type RepositionOutcome,
  type RepositionPass,
  type RepositionPolicy,
  repositionPolicy,
  type RepositionStatus,
} from "@krakked/core/trade/mod";
import { KrakenError } from "@krakked/core/rest/errors";
import { withRequestId } from "../http/request_id.ts";
import type { AmendDecision, CancelDecision } from "./orders.ts";

/** What the service needs from the order service (an `OrderService` fits). */
export interface RepositionOrders {
  /** `trading.mode`. */
  readonly mode: string;
  /** The orders this process placed. */
  trackedOrders(): Promise<TrackedOrder[]>;
  /** A pair's touch from the held books. */
  touch(pairId: string): { bid: string; ask: string } | undefined;
  /** Amend through the gate. */
  amend(
    key: string,
    changes: { limitPrice?: string; postOnly?: boolean },
  ): Promise<AmendDecision>;
  /** Cancel (the risk model judges it). */
  cancel(key: string): Promise<CancelDecision>;
  /** The dead-man switch, when armed. */
  deadManState(): DeadManState | undefined;
}

/** Options of {@linkcode RepositionService}. */
export interface RepositionServiceOptions {
  /** The configuration (`trading.*`). */
  config: KrakkedConfig;
  /** `--live` or `KRAKKED_LIVE=1` was given at start. */
  liveSwitch: boolean;
  /** The order service. */
  orders: RepositionOrders;
  /** Where actions are logged when there is no ops monitor. */
  logger: Logger;
  /** The ops monitor: each action becomes an order event and a log line. */
  ops?: {
    orderAction(entry: {
      order: string | null;
      type: string;
      detail: string;
      level?: "info" | "warn";
      fields?: Record<string, unknown>;
    }): void;
  };
  /** The live account's phase (`loading` until hydrated); paper is always ready. */
  accountPhase?: () => "loading" | "ready" | "failed";
  /** A pair's trading-engine counter (the REST client's limiter), live only. */
  tradingCounter?: (pairId: string) => Counter | undefined;
  /** Correlation ids for the actions (`IdMint.next`). */
  mintId?: () => string;
  /** Time and timers (default: the system clock). */
  clock?: Pick<Clock, "now" | "setTimer">;
}

/** The `order reposition` log fields of an action. */
function fieldsOf(
  action: RepositionAction,
  result: RepositionOutcome,
): Record<string, unknown> {
  const ref = action.key.startsWith("userref:")
    ? { userref: Number(action.key.slice("userref:".length)) }
    : action.key.startsWith("cl_ord_id:")
    ? { clOrdId: action.key.slice("cl_ord_id:".length) }
    : {};
  return {
    ...(action.orderId === null ? {} : { orderId: action.orderId }),
    ...ref,
    action: action.kind,
    pair: action.pair,
    side: action.side,
    from: action.fromPrice,
    ...(action.toPrice === undefined ? {} : { to: action.toPrice }),
    touch: action.touch,
    distanceBps: action.distanceBps,
    ageMs: action.ageMs,
    cost: action.cost,
    reason: action.reason,
    outcome: result.outcome,
    ...(result.outcome === "refused" ? { rule: result.rule } : {}),
    ...(result.outcome === "done" ? {} : { error: result.message }),
  };
}

/** One line for the ops view. */
function detailOf(action: RepositionAction, result: RepositionOutcome): string {
  const what = action.kind === "amend"
    ? `amend ${action.fromPrice} → ${action.toPrice}`
    : `cancel @ ${action.fromPrice}`;
  const why = `${action.distanceBps} bps from ${action.touch}, ${
    Math.floor(action.ageMs / 1000)
  } s old`;
  switch (result.outcome) {
    case "done":
      return `reposition: ${what} (${why})`;
    case "refused":
      return `reposition refused (${result.rule}): ${what} (${why}): ${result.message}`;
    case "failed":
      return `reposition failed: ${what} (${why}): ${result.message}`;
  }
}

/**
 * The repositioner of one server. Built by {@linkcode startReposition}
 * when `trading.reposition.enabled` is true.
 */
export class RepositionService {
  #options: RepositionServiceOptions;
  #policy: RepositionPolicy;
  #repositioner: Repositioner;
  #halted: string | null = null;

  /**
   * Creates the service (not started).
   *
   * @param options Config, order service, logger, ops, account phase,
   *   counter, correlation ids and clock.
   * @throws {RepositionPolicyError} For an invalid `trading.reposition`.
   */
  constructor(options: RepositionServiceOptions) {
    this.#options = options;
    this.#policy = repositionPolicy(options.config.trading.reposition);
    const clock = options.clock ?? {
      now: Date.now,
      setTimer: (fn: () => void, ms: number) => {
        const id = setTimeout(fn, ms);
        return () => clearTimeout(id);
      },
    };
    this.#repositioner = new Repositioner({
      policy: this.#policy,
      clock,
      onEvent: (event) => this.#report(event),
      port: {
        orders: async () =>
          (await options.orders.trackedOrders()).map(repositionOrderOf),
        quote: (pairId) => options.orders.touch(pairId),
        status: () => this.status(),
        act: (action) => this.#act(action),
        ...(options.tradingCounter === undefined ? {} : {
          counterRoom: (pairId: string) => {
            const counter = options.tradingCounter!(pairId);
            return counter === undefined
              ? undefined
              : counter.max - counter.level;
          },
        }),
      },
    });
  }

  /** The policy in force. */
  get policy(): RepositionPolicy {
    return this.#policy;
  }

  /**
   * The trading state the repositioner checks before every action.
   *
   * @returns Route, dead-man phase, account phase and operator halt.
   */
  status(): RepositionStatus {
    const { config, liveSwitch, orders } = this.#options;
    const route = resolveRoute(config, liveSwitch);
    const live = route.ok && route.route === "live";
    return {
      route: route.ok ? route.route : undefined,
      deadMan: live && config.trading.dead_man_seconds > 0
        ? orders.deadManState()?.phase ?? "off"
        : "not_required",
      account: live ? this.#options.accountPhase?.() ?? "ready" : "ready",
      halted: this.#halted,
    };
  }

  /** Runs a pass every `check_interval_seconds`. */
  start(): void {
    this.#repositioner.start();
  }

  /**
   * One pass now (tests, or an operator's nudge).
   *
   * @returns What it did.
   */
  runOnce(): Promise<RepositionPass> {
    return this.#repositioner.runOnce();
  }

  /**
   * The operator's kill switch: nothing is touched until
   * {@linkcode resume}; a pass under way stops before its next action.
   *
   * @param reason Why (logged).
   */
  halt(reason: string): void {
    this.#halted = reason;
  }

  /** Lifts {@linkcode halt}. */
  resume(): void {
    this.#halted = null;
  }

  /**
   * Stops the timer and waits for a pass under way.
   *
   * @returns Resolves when stopped.
   */
  close(): Promise<void> {
    return this.#repositioner.stop();
  }

  async #act(action: RepositionAction): Promise<RepositionOutcome> {
    const { orders, mintId } = this.#options;
    const send = async (): Promise<RepositionOutcome> => {
      try {
        const decision = action.kind === "amend"
          ? await orders.amend(action.key, {
            limitPrice: action.toPrice!,
            // Refuse the price change if it would take liquidity (Kraken's
            // amend post_only): the order keeps resting.
            postOnly: true,
          })
          : await orders.cancel(action.key);
        return decision.decision === "accepted"
          ? {
            outcome: "done",
            ...("amendId" in decision
              ? { detail: `amend ${decision.amendId}` }
              : {}),
          }
          : decision.rule === "exchange"
          ? { outcome: "failed", message: decision.message }
          : {
            outcome: "refused",
            rule: decision.rule,
            message: decision.message,
          };
      } catch (error) {
        return {
          outcome: "failed",
          message: error instanceof KrakenError || error instanceof Error
            ? error.message
            : String(error),
        };
      }
    };
    // Logged inside the action's correlation scope: the log line and the
    // upstream call's line carry the same id.
    const sendAndLog = async (rid?: string) => {
      const result = await send();
      this.#logAction(action, result, rid);
      return result;
    };
    if (mintId === undefined) return await sendAndLog();
    const rid = mintId();
    return await withRequestId(rid, () => sendAndLog(rid));
  }

  #logAction(
    action: RepositionAction,
    result: RepositionOutcome,
    rid: string | undefined,
  ): void {
    const entry = {
      order: action.key,
      type: "reposition",
      detail: detailOf(action, result),
      level: result.outcome === "done" ? "info" as const : "warn" as const,
      fields: fieldsOf(action, result),
    };
    if (this.#options.ops !== undefined) {
      this.#options.ops.orderAction(entry);
      return;
    }
    this.#options.logger.log(entry.level, "order reposition", {
      order: entry.order,
      ...entry.fields,
      detail: entry.detail,
      ...(rid === undefined ? {} : { rid }),
    });
  }

  #report(event: RepositionEvent): void {
    const { logger } = this.#options;
    switch (event.type) {
      case "action":
        // Logged by #act, inside the action's correlation scope.
        return;
      case "deferred":
        logger.debug("reposition deferred", {
          order: event.action.key,
          skip: event.skip,
          reason: event.action.reason,
        });
        return;
      case "halted":
        logger.info("reposition paused", { reason: event.reason });
        return;
      case "resumed":
        logger.info("reposition resumed", {});
        return;
      case "error":
        logger.warn("reposition pass failed", { error: event.message });
        return;
    }
  }
}

/**
 * Starts the repositioner when `trading.reposition.enabled` is true.
 *
 * @param options See {@linkcode RepositionServiceOptions}.
 * @returns The running service, or `undefined` when disabled.
 * @throws {RepositionPolicyError} For an invalid `trading.reposition`.
 */
export function startReposition(
  options: RepositionServiceOptions,
): RepositionService | undefined {
  if (!options.config.trading.reposition.enabled) return undefined;
  const service = new RepositionService(options);
  service.start();
  return service;
}
