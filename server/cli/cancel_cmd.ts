/**
 * `krakked cancel <id>|--all`: cancel through the same order service and
 * gate as the server (paper orders on the paper account, live orders at
 * Kraken with both live switches).
 *
 * @module
 */

import { Redactor } from "@krakked/core/secrets/redact";
import type { CancelDecision } from "../trading/orders.ts";
import { type Parsed, parseFlags, usageError } from "./args.ts";
import { type Command, withRunId } from "./command.ts";
import { EXIT } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { withOrderService } from "./order_cmd.ts";
import { decisionJson, modeLabel } from "./trade_text.ts";

/** Help text of `krakked cancel`. */
export const CANCEL_HELP =
  `Usage: krakked cancel <order-id> | --all [--include-stops] [--live] [--json]

Cancels one order by id, or every open order with --all, in the trading
mode of config.yaml (paper: the paper account; live: Kraken, which needs
trading.enable_live_orders: true AND --live or KRAKKED_LIVE=1).

A protective stop (a sell stop-loss covering a holding) is never cancelled
while its position is open: 'cancel <id>' of such a stop is refused with
rule stop_protects_position, and --all keeps those stops. Sell the holding
with 'krakked close <pair>' instead, which moves the stop in the same step.

  --all            cancel every open order except protective stops
  --include-stops  with --all: cancel the protective stops too; the holdings
                   they covered are then UNPROTECTED (listed on stderr)
  --live           the second switch for live orders
  --json           print the decision as JSON: {decision, mode, count,
                   keptStops, uncovered} or {decision: "rejected", rule,
                   message}

Exit codes: 0 cancelled, 1 rejected (the rule is printed), 2 usage,
3 authentication, 4 network.`;

/** Parsed `cancel` flags. */
export interface CancelFlags {
  /** Discriminator: the command. */
  kind: "cancel";
  /** The order id, or `null` with `--all`. */
  id: string | null;
  /** `--include-stops` (with `--all`): cancel protective stops too. */
  includeStops: boolean;
  /** `--live`. */
  live: boolean;
  /** `--json`. */
  json: boolean;
}

/**
 * Parse `cancel` flags. Pure.
 *
 * @param args Arguments after `cancel`.
 * @returns The flags, help, or a usage error without an id or `--all`,
 *   with both, or with `--include-stops` but no `--all`.
 * @example Parse
 * ```ts
 * import { parseCancelArgs } from "./cancel_cmd.ts";
 * parseCancelArgs(["--all"]);
 * // { kind: "cancel", id: null, includeStops: false, live: false, json: false }
 * ```
 */
export function parseCancelArgs(args: readonly string[]): Parsed<CancelFlags> {
  const parsed = parseFlags(args, {
    booleans: ["all", "include-stops", "live", "json"],
    positionals: ["order-id"],
    minPositionals: 0,
    maxPositionals: 1,
  });
  if (parsed.kind !== "flags") return parsed;
  const all = parsed.booleans.has("all");
  const id = parsed.positionals[0] ?? null;
  if (all === (id !== null)) {
    return usageError("Give one order id or --all");
  }
  if (id !== null && !/^[A-Za-z0-9:_-]{1,64}$/.test(id)) {
    return usageError(`Invalid order id ${JSON.stringify(id)}`);
  }
  const includeStops = parsed.booleans.has("include-stops");
  if (includeStops && !all) {
    return usageError(
      "--include-stops goes with --all; a single protective stop is never cancelled while its position is open (use 'krakked close <pair>')",
    );
  }
  return {
    kind: "cancel",
    id,
    includeStops,
    live: parsed.booleans.has("live"),
    json: parsed.booleans.has("json"),
  };
}

/**
 * The text of a cancel decision: the count and the protective stops kept
 * (stdout); a rejection with its rule, and the holdings a cancel-all with
 * stops left unprotected (stderr). Pure.
 *
 * @param decision The service's decision.
 * @returns Lines for stdout and stderr.
 * @example Stops kept
 * ```ts
 * import { cancelReport } from "./cancel_cmd.ts";
 * cancelReport({ decision: "accepted", mode: "paper", count: 2,
 *   keptStops: ["OSTOP"] }).out;
 * // ["PAPER cancelled 2 orders", "kept 1 protective stop (OSTOP): ..."]
 * ```
 */
export function cancelReport(
  decision: CancelDecision,
): { out: string[]; err: string[] } {
  const mode = modeLabel(decision.mode);
  if (decision.decision === "rejected") {
    return {
      out: [],
      err: [
        withRunId(`${mode} REJECTED (${decision.rule}): ${decision.message}`),
      ],
    };
  }
  const plural = (n: number, word: string) =>
    `${n} ${word}${n === 1 ? "" : "s"}`;
  const out = [`${mode} cancelled ${plural(decision.count, "order")}`];
  const err: string[] = [];
  const kept = decision.keptStops ?? [];
  if (kept.length > 0) {
    out.push(
      `kept ${plural(kept.length, "protective stop")} (${
        kept.join(", ")
      }): a stop-loss covering an open position stays until the position is closed ('krakked close <pair>'); --include-stops removes it on purpose`,
    );
  }
  const uncovered = Object.entries(decision.uncovered ?? {});
  if (uncovered.length > 0) {
    err.push(
      `WARNING: protective stops were cancelled; now held WITHOUT a stop-loss: ${
        uncovered.map(([asset, volume]) => `${volume} ${asset}`).join(", ")
      }`,
    );
  }
  return { out, err };
}

/**
 * Run `krakked cancel`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0 cancelled, 1 rejected.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be reached.
 * @example Run
 * ```ts ignore
 * await runCancel(
 *   { kind: "cancel", id: null, includeStops: false, live: false, json: false },
 *   io,
 * );
 * ```
 */
export async function runCancel(
  flags: CancelFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const decision: CancelDecision = await withOrderService(
    io,
    { live: flags.live, redactor, command: "cancel" },
    (service) =>
      flags.id === null
        ? service.cancelAll({ includeStops: flags.includeStops })
        : service.cancel(flags.id),
  );
  const report = cancelReport(decision);
  if (flags.json) {
    writeJson(io, decisionJson(decision));
    // The warning about unprotected holdings is never silent.
    if (decision.decision === "accepted") {
      for (const line of report.err) writeLine(io.stderr, line);
    }
  } else {
    for (const line of report.out) writeLine(io.stdout, line);
    for (const line of report.err) writeLine(io.stderr, line);
  }
  return decision.decision === "accepted" ? EXIT.ok : EXIT.error;
}

/** `krakked cancel`, for the command table. */
export const cancelCommand: Command<CancelFlags> = {
  name: "cancel",
  summary:
    "Cancel an order by id, or every open order except protective stops with --all",
  help: CANCEL_HELP,
  parse: parseCancelArgs,
  run: runCancel,
};
