/**
 * Text shared by the trading commands (`order`, `close`, `cancel`,
 * `orders`, `paper orders`): the mode label, an order's role (a protective
 * stop, or any other order) and the report of an exit. Pure.
 *
 * @module
 */

import { encodeForm } from "@krakked/core/auth/sign";
import type { TradingMode } from "@krakked/core/config/config";
import type { FormPair, WsAddOrderParams } from "@krakked/core/trade/encode";
import { isProtectiveKind } from "@krakked/core/trade/risk";
import type { OrderDecision } from "../trading/orders.ts";
import { runIdField } from "./command.ts";

/**
 * The label of a trading mode in CLI output.
 *
 * @param mode `trading.mode`.
 * @returns `READ-ONLY`, `DRY-RUN`, `PAPER` or `LIVE`.
 * @example Label
 * ```ts
 * import { modeLabel } from "./trade_text.ts";
 * modeLabel("dry_run"); // "DRY-RUN"
 * ```
 */
export function modeLabel(
  mode: TradingMode | "dry_run" | "paper" | "live",
): string {
  return mode.toUpperCase().replace("_", "-");
}

/**
 * The role of an open order: `stop` for a protective stop (a sell stop-loss,
 * stop-loss-limit or trailing stop, which covers a holding and cannot be
 * cancelled while its position is open), `order` for anything else. The
 * same test as the core risk model's.
 *
 * @param side `buy` or `sell`.
 * @param type Kraken's order type (`limit`, `stop-loss`, …).
 * @returns The role.
 * @example A conditional close
 * ```ts
 * import { orderRole } from "./trade_text.ts";
 * orderRole("sell", "stop-loss"); // "stop"
 * orderRole("buy", "limit"); // "order"
 * ```
 */
export function orderRole(side: string, type: string): "stop" | "order" {
  return isProtectiveKind(side, type) ? "stop" : "order";
}

/** The report of an exit: lines for stdout and stderr, and whether it failed. */
export interface ExitReport {
  /** What was done (stdout). */
  out: string[];
  /** Warnings: a holding left without a stop, a problem (stderr). */
  err: string[];
  /** A step after the first one failed (`exit.problem`): exit code 1. */
  failed: boolean;
}

/**
 * Describes an accepted exit (`krakked close`, `order sell --exit`): what was
 * sold, which protective stops were cancelled to free it, the stop placed
 * again for the rest, and — loudly, for stderr — any holding left without a
 * stop and any problem.
 *
 * @param decision An accepted decision with its `exit` summary.
 * @param pair The pair as asked (used when the decision has no order).
 * @param symbolOf Names the pair for people (`XBTUSD` → `BTC/USD`).
 * @returns The report.
 * @example A full close
 * ```ts
 * import { exitReport } from "./trade_text.ts";
 * exitReport({ decision: "accepted", mode: "paper", route: "paper",
 *   stopLoss: null, notionalUsd: "99.5", expectedPrice: "65000", order: null,
 *   exit: { volume: "0.0015", sold: "0.0015", cancelledStops: ["OSTOP"],
 *     reprotect: null, uncovered: "0", problem: null } }, "XBTUSD").out[0];
 * // "PAPER EXIT XBTUSD (PAPER): sold 0.0015 of 0.0015, notional 99.50 USD"
 * ```
 */
export function exitReport(
  decision: Extract<OrderDecision, { decision: "accepted" }>,
  pair: string,
  symbolOf: (idOrSpelling: string) => string = (id) => id,
): ExitReport {
  const exit = decision.exit;
  const order = decision.order;
  const name = symbolOf(order?.pair ?? pair);
  const head = `${modeLabel(decision.mode)} EXIT ${name} (${
    modeLabel(decision.route)
  })`;
  const notional = `notional ${Number(decision.notionalUsd).toFixed(2)} USD`;
  const out: string[] = [];
  const err: string[] = [];
  if (exit === undefined) {
    return { out: [`${head}: ${notional}`], err, failed: false };
  }
  if (decision.route === "dry_run") {
    out.push(
      `${head}: would sell ${exit.volume}, ${notional}, nothing was sent`,
    );
    out.push(
      `stops it would cancel: ${
        exit.cancelledStops.length === 0
          ? "none"
          : exit.cancelledStops.join(", ")
      }`,
    );
    if (decision.encoded !== undefined) {
      out.push(...dryRunLines(decision.encoded));
    }
    return { out, err, failed: false };
  }
  const parts = [`sold ${exit.sold} of ${exit.volume}`];
  if (Number(exit.sold) < Number(exit.volume)) {
    parts.push("the unsold rest stays held");
  }
  parts.push(notional);
  if (order !== null) {
    parts.push(`order ${order.orderId ?? order.key} ${order.status}`);
  }
  out.push(`${head}: ${parts.join(", ")}`);
  out.push(
    `stops cancelled: ${
      exit.cancelledStops.length === 0 ? "none" : exit.cancelledStops.join(", ")
    }`,
  );
  const re = exit.reprotect;
  out.push(
    re === null
      ? "re-protect stop: none needed"
      : `re-protect stop: ${
        re.orderId ?? "(not placed)"
      } for ${re.volume} at ${re.trigger}`,
  );
  if (Number(exit.uncovered) > 0) {
    err.push(
      `WARNING: ${exit.uncovered} of ${name}'s base asset is still held WITHOUT a stop-loss`,
    );
  }
  if (exit.problem !== null) {
    err.push(`PROBLEM: ${exit.problem}`);
    if (exit.cancelledStops.length > 0) {
      // After a failed step the sold and uncovered figures may be stale
      // (the account could not be read again): never let them reassure.
      err.push(
        `CHECK: stop${exit.cancelledStops.length === 1 ? "" : "s"} ${
          exit.cancelledStops.join(", ")
        } ${
          exit.cancelledStops.length === 1 ? "was" : "were"
        } cancelled and a later step failed, so the figures above may be incomplete: make sure what you still hold has a stop-loss ('krakked ${
          decision.route === "paper" ? "paper orders" : "orders"
        }')`,
      );
    }
  }
  return { out, err, failed: exit.problem !== null };
}

/**
 * What a dry run would have sent, as Kraken would receive it: the REST
 * `AddOrder` body (form-encoded, in the order it is signed) and the WS v2
 * `add_order` request. The nonce, `API-Sign` and the WS token are added
 * only when sending, so they are never shown (and a dry run never has them).
 *
 * @param encoded The dry run's encoded requests.
 * @returns The lines, for stdout.
 * @example A market buy
 * ```ts
 * import { dryRunLines } from "./trade_text.ts";
 * dryRunLines({ rest: [["pair", "XXBTZUSD"], ["type", "buy"]], ws: null });
 * // ["would send REST: POST /0/private/AddOrder pair=XXBTZUSD&type=buy (nonce and API-Sign added when sending)"]
 * ```
 */
export function dryRunLines(
  encoded: { rest: readonly FormPair[]; ws: WsAddOrderParams | null },
): string[] {
  const lines = [
    `would send REST: POST /0/private/AddOrder ${
      encodeForm(encoded.rest)
    } (nonce and API-Sign added when sending)`,
  ];
  if (encoded.ws !== null) {
    lines.push(
      `or WS v2: ${
        JSON.stringify({ method: "add_order", params: encoded.ws })
      } (token added when sending)`,
    );
  }
  return lines;
}

/**
 * A decision as `--json` prints it: as is, plus, for a rejection, the one
 * error shape (`error.category` `order_rejected`, exit code 1), so scripts
 * read a refused order like any failure and still have the rule.
 *
 * @param decision An order or cancel decision.
 * @returns The object to print.
 * @example A rejection
 * ```ts
 * import { decisionJson } from "./trade_text.ts";
 * decisionJson({ decision: "rejected", rule: "mode_read_only", message: "read only" }).error;
 * // { category: "order_rejected", message: "REJECTED (mode_read_only): read only" }
 * ```
 */
export function decisionJson<
  D extends { decision: string; rule?: string; message?: string },
>(
  decision: D,
): D & {
  error?: { category: "order_rejected"; message: string; id?: string };
} {
  if (decision.decision !== "rejected") return decision;
  return {
    ...decision,
    error: {
      category: "order_rejected",
      message: `REJECTED (${decision.rule ?? "unknown"}): ${
        decision.message ?? ""
      }`,
      // The run's correlation id, as every other failure carries it.
      ...runIdField(),
    },
  };
}
