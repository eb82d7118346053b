/**
 * `krakked order buy|sell <pair> <volume>`: one order through the same
 * gate and {@linkcode OrderService} as the server. The trading mode comes
 * from `trading.mode`; live needs `trading.enable_live_orders: true` and
 * `--live` (or `KRAKKED_LIVE=1`). A rejection prints its rule and exits 1.
 *
 * @module
 */

import { join } from "node:path";
import { Redactor } from "@krakked/core/secrets/redact";
import {
  type OrderDecision,
  OrderService,
  type OrderTicket,
  PAPER_FILE,
  TicketError,
} from "../trading/orders.ts";
import {
  isUsageError,
  type Parsed,
  parseFlags,
  usageError,
  type UsageProblem,
} from "./args.ts";
import { type Command, withRunId } from "./command.ts";
import { type CliContext, loadCommandContext } from "./context.ts";
import { EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { symbolNamer } from "./symbols.ts";
import {
  decisionJson,
  dryRunLines,
  exitReport,
  modeLabel,
} from "./trade_text.ts";

/** Help text of `krakked order`. */
export const ORDER_HELP =
  `Usage: krakked order buy|sell <pair> <volume> [--limit P] --stop-loss P [--validate] [--live] [--json]
       krakked order sell <pair> <volume> --exit [--limit P] [--live] [--json]

Places one order through Krakked's safety gate. What happens depends on
trading.mode in config.yaml: read_only (default) refuses; dry_run prints
the encoded request and sends nothing; paper fills against the current book
on the paper account (paper.json in the config directory); live sends it to
Kraken and needs trading.enable_live_orders: true AND --live (or
KRAKKED_LIVE=1). Any pair spelling works (XBTUSD, BTC/USD, btc-usd).

  --limit P        limit price (default: a market order; with --exit an
                   immediate-or-cancel limit)
  --stop-loss P    stop-loss trigger on the losing side (every entry needs one;
                   it is attached to the order and created on each fill)
  --exit           sell what you hold instead of opening a position: no
                   stop-loss; the stop covering the holding is moved in the
                   same step (same as 'krakked close')
  --validate       live: ask Kraken to validate only
  --live           the second switch for live orders
  --json           print the decision as JSON

Risk rules: the exposure cap (trading.max_position_notional_usd) counts what
you hold plus every open buy plus this order; a stop-loss cannot be cancelled
while the position it covers is open (close the position with 'krakked
close'). There is no --take-profit: Kraken spot has no one-cancels-other, so
sell with 'krakked close' when your target is reached.

Exit codes: 0 accepted, 1 rejected (the rule is printed), 2 usage,
3 authentication, 4 network.`;

/** Why `--take-profit` is refused (a usage error). */
export const TAKE_PROFIT_REFUSED =
  "--take-profit is not supported: Kraken spot has no one-cancels-other, so a take-profit order could never hold the volume the mandatory stop-loss already holds; sell with 'krakked close <pair>' when your target is reached";

/** Parsed `order` flags. */
export interface OrderFlags {
  /** Discriminator: the command. */
  kind: "order";
  /** The ticket. */
  ticket: OrderTicket;
  /** `--live`. */
  live: boolean;
  /** `--json`. */
  json: boolean;
}

/**
 * Parse `order` flags. Pure.
 *
 * @param args Arguments after `order`.
 * @returns The flags, help, or a usage error for a bad side, flag or
 *   number, `--take-profit`, or `--exit` with buy, `--stop-loss` or
 *   `--validate`.
 * @example Parse
 * ```ts
 * import { parseOrderArgs } from "./order_cmd.ts";
 * parseOrderArgs(["buy", "XBTUSD", "0.01", "--stop-loss", "24000"]);
 * ```
 */
export function parseOrderArgs(args: readonly string[]): Parsed<OrderFlags> {
  const flagArgs = args.includes("--")
    ? args.slice(0, args.indexOf("--"))
    : args;
  if (
    !flagArgs.includes("--help") && !flagArgs.includes("-h") &&
    flagArgs.some((a) =>
      a === "--take-profit" || a.startsWith("--take-profit=")
    )
  ) {
    return usageError(TAKE_PROFIT_REFUSED);
  }
  const parsed = parseFlags(args, {
    booleans: ["validate", "live", "json", "exit"],
    values: ["limit", "stop-loss"],
    positionals: ["side", "pair", "volume"],
  });
  if (parsed.kind !== "flags") return parsed;
  const [side, pair, volume] = parsed.positionals as [string, string, string];
  if (side !== "buy" && side !== "sell") {
    return usageError(
      `The side must be buy or sell, got ${JSON.stringify(side)}`,
    );
  }
  const base = number(volume, "<volume>");
  if (isUsageError(base)) return base;
  const ticket: OrderTicket = {
    pair,
    side,
    type: parsed.values.has("limit") ? "limit" : "market",
    volume: base,
  };
  const limit = parsed.values.get("limit");
  if (limit !== undefined) {
    const price = number(limit, "--limit");
    if (isUsageError(price)) return price;
    ticket.price = price;
  }
  const stop = parsed.values.get("stop-loss");
  if (stop !== undefined) {
    const trigger = number(stop, "--stop-loss");
    if (isUsageError(trigger)) return trigger;
    ticket.stopLoss = trigger;
  }
  if (parsed.booleans.has("exit")) {
    if (side === "buy") {
      return usageError(
        "--exit sells what you hold: spot has no short position to buy back (use 'order sell <pair> <volume> --exit' or 'krakked close')",
      );
    }
    if (stop !== undefined) {
      return usageError(
        "--exit takes no --stop-loss: the exit sells volume the existing stop covers, and that stop is moved in the same step",
      );
    }
    if (parsed.booleans.has("validate")) {
      return usageError(
        "--exit cannot be combined with --validate: an exit cancels and re-places the covering stop, which Kraken cannot validate without doing it",
      );
    }
    ticket.intent = "exit";
  }
  if (parsed.booleans.has("validate")) ticket.validate = true;
  return {
    kind: "order",
    ticket,
    live: parsed.booleans.has("live"),
    json: parsed.booleans.has("json"),
  };
}

function number(text: string, name: string): string | UsageProblem {
  if (!/^\d{1,20}(\.\d{1,20})?$/.test(text)) {
    return usageError(
      `${name} must be a positive decimal, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/**
 * Open the order service the CLI commands share: the config directory's
 * config and paper file, and credentials only when the mode is live.
 *
 * @param io The run's I/O.
 * @param options `--live` and the redactor.
 * @returns The service and the context (close `ctx.rest` and the service).
 * @example Open
 * ```ts ignore
 * const { service, ctx } = await openOrderService(io, { live: false, redactor });
 * ```
 */
export async function openOrderService(
  io: CliIo,
  options: { live: boolean; redactor?: Redactor | undefined },
): Promise<{ service: OrderService; ctx: CliContext }> {
  let ctx = await loadCommandContext(io, { redactor: options.redactor });
  if (ctx.config.trading.mode === "live") {
    ctx.rest.close();
    ctx = await loadCommandContext(io, {
      credentials: true,
      redactor: options.redactor,
    });
  }
  const service = new OrderService({
    config: ctx.config,
    liveSwitch: options.live || io.env("KRAKKED_LIVE") === "1",
    rest: ctx.rest,
    paperPath: join(ctx.paths.dir, PAPER_FILE),
    now: io.now,
  });
  return { service, ctx };
}

/**
 * Run one piece of work on the shared order service and close it after,
 * whatever happens; a malformed ticket becomes a usage error of `command`.
 *
 * @param io The run's I/O.
 * @param options `--live`, the redactor and the command's name.
 * @param work What to do with the service (and the loaded context).
 * @returns What `work` returned.
 * @throws {UsageError} For a malformed ticket.
 * @example Place
 * ```ts ignore
 * await withOrderService(io, { live: false, command: "order" }, (s) => s.place(ticket));
 * ```
 */
export async function withOrderService<T>(
  io: CliIo,
  options: { live: boolean; redactor?: Redactor | undefined; command: string },
  work: (service: OrderService, ctx: CliContext) => Promise<T>,
): Promise<T> {
  const { service, ctx } = await openOrderService(io, options);
  try {
    return await work(service, ctx);
  } catch (error) {
    if (error instanceof TicketError) {
      throw new UsageError(error.message, options.command);
    }
    throw error;
  } finally {
    await service.close();
    ctx.rest.close();
  }
}

/**
 * One line describing a decision.
 *
 * @param decision The decision.
 * @returns The text.
 * @example Describe
 * ```ts
 * import { describeDecision } from "./order_cmd.ts";
 * describeDecision({ decision: "rejected", mode: "read_only",
 *   rule: "mode_read_only", message: "trading.mode is read_only" });
 * // "REJECTED (mode_read_only): trading.mode is read_only"
 * ```
 */
export function describeDecision(decision: OrderDecision): string {
  if (decision.decision === "rejected") {
    return `REJECTED (${decision.rule}): ${decision.message}`;
  }
  const o = decision.order;
  const parts = [
    `ACCEPTED (${modeLabel(decision.route)})`,
    `notional ${Number(decision.notionalUsd).toFixed(2)} USD`,
    `stop-loss ${decision.stopLoss?.triggerPrice ?? "none"}`,
  ];
  if (o !== null) {
    parts.push(`order ${o.orderId ?? o.key} ${o.status}, filled ${o.filled}`);
  }
  if (decision.validateOnly) parts.push("validated only, nothing placed");
  if (decision.route === "dry_run") parts.push("nothing was sent");
  return parts.join(", ");
}

/**
 * Run `krakked order`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0 accepted, 1 rejected.
 * @throws {UsageError} For an unknown pair.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be reached.
 * @example Run
 * ```ts ignore
 * const flags = parseOrderArgs(["buy", "XBTUSD", "0.01", "--stop-loss", "24000"]);
 * if (flags.kind === "order") await runOrder(flags, io);
 * ```
 */
export async function runOrder(
  flags: OrderFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const { decision, symbolOf } = await withOrderService(
    io,
    { live: flags.live, redactor, command: "order" },
    async (service, ctx) => {
      const decision = await service.place(flags.ticket);
      const exit = decision.decision === "accepted" &&
        decision.exit !== undefined;
      return {
        decision,
        // Warnings go to stderr as text even with --json.
        symbolOf: exit ? await symbolNamer(ctx) : undefined,
      };
    },
  );
  if (decision.decision === "accepted" && decision.exit !== undefined) {
    return printExit(io, decision, flags.ticket.pair, flags.json, symbolOf);
  }
  if (flags.json) writeJson(io, decisionJson(decision));
  else {
    const line = `${modeLabel(decision.mode)} ${describeDecision(decision)}`;
    writeLine(
      decision.decision === "accepted" ? io.stdout : io.stderr,
      decision.decision === "accepted" ? line : withRunId(line),
    );
    if (decision.decision === "accepted" && decision.encoded !== undefined) {
      for (const line of dryRunLines(decision.encoded)) {
        writeLine(io.stdout, line);
      }
    }
  }
  return decision.decision === "accepted" ? EXIT.ok : EXIT.error;
}

/**
 * Print an accepted exit (`order sell --exit`, `close`): the decision as
 * JSON or as text, and on stderr any holding left without a stop and any
 * problem.
 *
 * @param io The run's I/O.
 * @param decision The accepted decision with its exit summary.
 * @param pair The pair as asked.
 * @param json Print the decision as JSON.
 * @param symbolOf Names the pair for people (`XBTUSD` → `BTC/USD`).
 * @returns 0, or 1 when a step after the first failed (`exit.problem`).
 * @example Print
 * ```ts ignore
 * return printExit(io, decision, "XBTUSD", false);
 * ```
 */
export function printExit(
  io: CliIo,
  decision: Extract<OrderDecision, { decision: "accepted" }>,
  pair: string,
  json: boolean,
  symbolOf?: (idOrSpelling: string) => string,
): number {
  const report = exitReport(decision, pair, symbolOf);
  if (json) writeJson(io, decision);
  else for (const line of report.out) writeLine(io.stdout, line);
  for (const line of report.err) writeLine(io.stderr, line);
  return report.failed ? EXIT.error : EXIT.ok;
}

/** `krakked order`, for the command table. */
export const orderCommand: Command<OrderFlags> = {
  name: "order",
  summary:
    "Place an order through the safety gate (read_only, dry_run, paper or live)",
  help: ORDER_HELP,
  parse: parseOrderArgs,
  run: runOrder,
};
