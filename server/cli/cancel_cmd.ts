/**
 * `krakked cancel <id>|--all`: cancel through the same order service and
 * gate as the server (paper orders on the paper account, live orders at
 * Kraken with both live switches).
 *
 * @module
 */

import { Redactor } from "../../core/secrets/redact.ts";
import type { CancelDecision } from "../orders.ts";
import { parseFlags } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { openOrderService } from "./order_cmd.ts";

/** Help text of `krakked cancel`. */
export const CANCEL_HELP =
  `Usage: krakked cancel <order-id> | --all [--live] [--json]

Cancels one order by id, or every open order with --all, in the trading
mode of config.yaml (paper: the paper account; live: Kraken, which needs
trading.enable_live_orders: true AND --live or KRAKKED_LIVE=1).

  --all    cancel every open order
  --live   the second switch for live orders
  --json   print the decision as JSON`;

/** Parsed `cancel` flags. */
export interface CancelFlags {
  /** The order id, or `null` with `--all`. */
  id: string | null;
  /** `--live`. */
  live: boolean;
  /** `--json`. */
  json: boolean;
}

/**
 * Parse `cancel` flags. Pure.
 *
 * @param args Arguments after `cancel`.
 * @returns The flags, or `"help"`.
 * @throws {UsageError} Without an id or `--all`, or with both.
 * @example Parse
 * ```ts
 * import { parseCancelArgs } from "./cancel_cmd.ts";
 * parseCancelArgs(["--all"]); // { id: null, live: false, json: false }
 * ```
 */
export function parseCancelArgs(args: readonly string[]): CancelFlags | "help" {
  const parsed = parseFlags(args, {
    booleans: ["all", "live", "json"],
    positionals: ["order-id"],
    minPositionals: 0,
    maxPositionals: 1,
  });
  if (parsed === "help") return parsed;
  if ("error" in parsed) throw new UsageError(parsed.error, "cancel");
  const all = parsed.booleans.has("all");
  const id = parsed.positionals[0] ?? null;
  if (all === (id !== null)) {
    throw new UsageError("Give one order id or --all", "cancel");
  }
  if (id !== null && !/^[A-Za-z0-9:_-]{1,64}$/.test(id)) {
    throw new UsageError(`Invalid order id ${JSON.stringify(id)}`, "cancel");
  }
  return {
    id,
    live: parsed.booleans.has("live"),
    json: parsed.booleans.has("json"),
  };
}

/**
 * Run `krakked cancel`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0 cancelled, 1 rejected.
 * @throws {import("../../core/rest/errors.ts").KrakenError} When Kraken cannot be reached.
 * @example Run
 * ```ts ignore
 * await cancelCommand({ id: null, live: false, json: false }, io);
 * ```
 */
export async function cancelCommand(
  flags: CancelFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const { service, ctx } = await openOrderService(io, {
    live: flags.live,
    redactor,
  });
  try {
    const decision: CancelDecision = flags.id === null
      ? await service.cancelAll()
      : await service.cancel(flags.id);
    if (flags.json) writeJson(io, decision);
    else if (decision.decision === "accepted") {
      writeLine(
        io.stdout,
        `${decision.mode.toUpperCase()} cancelled ${decision.count} order${
          decision.count === 1 ? "" : "s"
        }`,
      );
    } else {
      writeLine(
        io.stderr,
        `REJECTED (${decision.rule}): ${decision.message}`,
      );
    }
    return decision.decision === "accepted" ? EXIT.ok : EXIT.error;
  } finally {
    await service.close();
    ctx.rest.close();
  }
}
