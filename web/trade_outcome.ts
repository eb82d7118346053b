/**
 * Trading answers in words: what a close sold and which stops it moved,
 * what a cancel did or which rule refused it. Pure functions, plus
 * {@linkcode showOutcome} that writes one into a status element. Problems
 * and holdings left without a stop are "loud": shown in bold and announced
 * as alerts, never folded into the summary.
 *
 * @module
 */

import type {
  CancelAnswer,
  ExitView,
  OrderAnswer,
  PaperFillView,
} from "./trading_api.ts";

/** Trading mode labels, as the badges show them. */
export const MODE_LABELS: Readonly<Record<string, string>> = {
  "read_only": "READ-ONLY",
  "dry_run": "DRY-RUN",
  paper: "PAPER",
  live: "LIVE",
};

/** An answer in words. */
export interface Outcome {
  /** `accepted`; `warning` (done, but something needs attention); `rejected`; `error`. */
  outcome: "accepted" | "warning" | "rejected" | "error";
  /** The summary. */
  text: string;
  /** Things that need attention now (announced as alerts). */
  alerts: string[];
  /** The rule that refused it. */
  rule?: string;
}

function label(route: string): string {
  return MODE_LABELS[route] ?? route.toUpperCase();
}

function isPositive(text: string): boolean {
  return Number(text) > 0;
}

function fillSummary(fills: readonly PaperFillView[] | undefined): string {
  if (fills === undefined || fills.length === 0) return "";
  let qty = 0;
  let cost = 0;
  let fee = 0;
  for (const f of fills) {
    qty += Number(f.qty);
    cost += Number(f.qty) * Number(f.price);
    fee += Number(f.fee);
  }
  const asset = fills[0]?.feeAsset ?? "";
  const average = qty > 0 ? cost / qty : 0;
  return ` at ≈ ${Number(average.toPrecision(10))} ${asset}, fee ${
    fee.toFixed(4)
  } ${asset}`;
}

/**
 * The words for what an exit did to stops and what it left uncovered.
 *
 * @param exit The `exit` part of a decision.
 * @param base Base asset code.
 * @returns The stop sentence and the alerts.
 * @example A full close
 * ```ts
 * import { exitStops } from "./trade_outcome.ts";
 * exitStops({ volume: "1", sold: "1", cancelledStops: ["O1"], reprotect: null,
 *   uncovered: "0", problem: null }, "BTC").text; // "stops moved: cancelled O1"
 * ```
 */
export function exitStops(
  exit: ExitView,
  base: string,
): { text: string; alerts: string[] } {
  const moved: string[] = [];
  if (exit.cancelledStops.length > 0) {
    moved.push(`cancelled ${exit.cancelledStops.join(", ")}`);
  }
  if (exit.reprotect !== null) {
    moved.push(
      `new stop ${exit.reprotect.orderId} for ${exit.reprotect.volume} ${base} at ${exit.reprotect.trigger}`,
    );
  }
  const alerts: string[] = [];
  if (exit.problem !== null && exit.problem !== "") {
    alerts.push(`Problem: ${exit.problem}`);
  }
  if (isPositive(exit.uncovered)) {
    alerts.push(
      `${exit.uncovered} ${base} is held WITHOUT a stop-loss: place one or close it`,
    );
  }
  return {
    text: moved.length === 0
      ? "no stop was moved"
      : `stops moved: ${moved.join("; ")}`,
    alerts,
  };
}

function rejected(answer: { rule: string; message: string }): Outcome {
  return {
    outcome: "rejected",
    text: `Rejected (${answer.rule}): ${answer.message}`,
    alerts: [],
    rule: answer.rule,
  };
}

/**
 * Describes the answer to a close or an exit sell.
 *
 * @param answer The decision.
 * @param base Base asset code of the pair.
 * @returns The outcome.
 * @example Rejected
 * ```ts
 * import { describeExit } from "./trade_outcome.ts";
 * describeExit({ decision: "rejected", mode: "paper", rule: "exit_without_position",
 *   message: "Nothing to sell" }, "BTC").rule; // "exit_without_position"
 * ```
 */
export function describeExit(answer: OrderAnswer, base: string): Outcome {
  switch (answer.decision) {
    case "rejected":
      return rejected(answer);
    case "error":
      return { outcome: "error", text: `Error: ${answer.message}`, alerts: [] };
    case "accepted": {
      const exit = answer.exit;
      if (answer.route === "dry_run") {
        return {
          outcome: "accepted",
          text: `Accepted (DRY-RUN): would sell ${
            exit?.volume ?? answer.order?.volume ?? "?"
          } ${base}; nothing was sent`,
          alerts: [],
        };
      }
      if (exit === undefined) {
        return {
          outcome: "accepted",
          text: `Accepted (${label(answer.route)})`,
          alerts: [],
        };
      }
      const stops = exitStops(exit, base);
      const order = answer.order;
      return {
        outcome: stops.alerts.length > 0 ? "warning" : "accepted",
        text:
          `Sold ${exit.sold} of ${exit.volume} ${base} (${
            label(answer.route)
          })${fillSummary(answer.fills)}; ${stops.text}` +
          (order === null
            ? ""
            : `. Order ${order.orderId ?? order.key} ${order.status}`),
        alerts: stops.alerts,
      };
    }
  }
}

/**
 * Describes the answer to one cancel.
 *
 * @param answer The decision.
 * @param id The order id asked for.
 * @returns The outcome (a protective stop's refusal keeps its rule).
 * @example Refused stop
 * ```ts
 * import { describeCancel } from "./trade_outcome.ts";
 * describeCancel({ decision: "rejected", mode: "paper", rule: "stop_protects_position",
 *   message: "It covers 1 BTC" }, "O1").text;
 * // "Rejected (stop_protects_position): It covers 1 BTC"
 * ```
 */
export function describeCancel(answer: CancelAnswer, id: string): Outcome {
  switch (answer.decision) {
    case "rejected":
      return rejected(answer);
    case "error":
      return { outcome: "error", text: `Error: ${answer.message}`, alerts: [] };
    case "accepted":
      return {
        outcome: "accepted",
        text: `Cancelled ${id}`,
        alerts: [],
      };
  }
}

/**
 * Describes the answer to a cancel-all.
 *
 * @param answer The decision.
 * @returns The outcome; holdings left without a stop are alerts.
 * @example Stops kept
 * ```ts
 * import { describeCancelAll } from "./trade_outcome.ts";
 * describeCancelAll({ decision: "accepted", mode: "paper", count: 2,
 *   keptStops: ["O9"], uncovered: {} }).text;
 * // "Cancelled 2 orders; kept 1 protective stop (O9)"
 * ```
 */
export function describeCancelAll(answer: CancelAnswer): Outcome {
  switch (answer.decision) {
    case "rejected":
      return rejected(answer);
    case "error":
      return { outcome: "error", text: `Error: ${answer.message}`, alerts: [] };
    case "accepted": {
      const kept = answer.keptStops ?? [];
      const uncovered = Object.entries(answer.uncovered ?? {}).filter((
        [, qty],
      ) => isPositive(qty));
      const alerts = uncovered.map(([asset, qty]) =>
        `${qty} ${asset} is held WITHOUT a stop-loss now`
      );
      return {
        outcome: alerts.length > 0 ? "warning" : "accepted",
        text:
          `Cancelled ${answer.count} order${answer.count === 1 ? "" : "s"}` +
          (kept.length > 0
            ? `; kept ${kept.length} protective stop${
              kept.length === 1 ? "" : "s"
            } (${kept.join(", ")})`
            : ""),
        alerts,
      };
    }
  }
}

/**
 * Writes an outcome into a status element: `data-outcome` and `data-rule`
 * for styling and tests, the summary, and each alert in bold with
 * `role="alert"` (announced when it appears).
 *
 * @param el The status element (`role="status"`).
 * @param outcome The outcome, or `undefined` to clear.
 * @example Show
 * ```ts ignore
 * showOutcome(resultEl, describeCancel(answer, id));
 * ```
 */
export function showOutcome(
  el: HTMLElement,
  outcome: Outcome | undefined,
): void {
  if (outcome === undefined) {
    el.dataset.outcome = "";
    delete el.dataset.rule;
    el.replaceChildren();
    return;
  }
  el.dataset.outcome = outcome.outcome;
  if (outcome.rule === undefined) delete el.dataset.rule;
  else el.dataset.rule = outcome.rule;
  const summary = document.createElement("span");
  summary.className = "outcome-text";
  summary.textContent = outcome.text;
  const loud = outcome.alerts.map((text) => {
    const strong = document.createElement("strong");
    strong.className = "loud";
    strong.setAttribute("role", "alert");
    strong.textContent = text;
    return strong;
  });
  el.replaceChildren(summary, ...loud);
}
