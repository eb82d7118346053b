/**
 * `krakked close <pair> [volume|--all]`: sell (part of) what is held on a
 * pair through {@linkcode OrderService.closePosition}, in the configured
 * mode. The risk model cancels only the protective stop volume the sale
 * needs, sells at market (or an immediate-or-cancel limit with `--limit`)
 * and covers what the cancelled stops held beyond the sale with a new stop.
 * The output names what was sold, the stops cancelled, the new stop and —
 * on stderr — any holding left without a stop.
 *
 * @module
 */

import { Redactor } from "@krakked/core/secrets/redact";
import {
  isUsageError,
  type Parsed,
  parseFlags,
  usageError,
  type UsageProblem,
} from "./args.ts";
import { type Command, withRunId } from "./command.ts";
import { EXIT } from "./errors.ts";
import { symbolNamer } from "./symbols.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { printExit, withOrderService } from "./order_cmd.ts";
import { decisionJson, modeLabel } from "./trade_text.ts";

/** Help text of `krakked close`. */
export const CLOSE_HELP =
  `Usage: krakked close <pair> <volume> | --all [--limit P] [--live] [--json]

Sells what you hold on a pair (spot: long positions only), in the trading
mode of config.yaml (paper: the paper account; live: Kraken, which needs
trading.enable_live_orders: true AND --live or KRAKKED_LIVE=1). Any pair
spelling works (XBTUSD, BTC/USD, btc-usd).

The stop-loss covering the holding is handled in the same step: only as
many stops are cancelled as the sale needs, and whatever they held beyond
what was sold is covered again by a new stop at the nearest cancelled
trigger. A holding left without a stop, or any step that failed, is
reported on stderr.

  <volume>   base volume to sell
  --all      sell everything held on the pair
  --limit P  an immediate-or-cancel limit at P instead of a market order
             (what does not fill at once stays held and covered)
  --live     the second switch for live orders
  --json     print the decision as JSON: {decision, mode, route, order,
             fills, exit: {volume, sold, cancelledStops, reprotect,
             uncovered, problem}} or {decision: "rejected", rule, message}

Exit codes: 0 sold, 1 rejected (the rule is printed) or a step failed
(the problem is printed), 2 usage, 3 authentication, 4 network.`;

/** Parsed `close` flags. */
export interface CloseFlags {
  /** Discriminator: the command. */
  kind: "close";
  /** The pair, any spelling. */
  pair: string;
  /** Base volume, or `"all"`. */
  volume: string | "all";
  /** `--limit`: an immediate-or-cancel limit price. */
  limitPrice: string | null;
  /** `--live`. */
  live: boolean;
  /** `--json`. */
  json: boolean;
}

const DECIMAL = /^\d{1,20}(\.\d{1,20})?$/;

function decimal(text: string, name: string): string | UsageProblem {
  if (!DECIMAL.test(text) || !/[1-9]/.test(text)) {
    return usageError(
      `${name} must be a positive decimal, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/**
 * Parse `close` flags. Pure.
 *
 * @param args Arguments after `close`.
 * @returns The flags, help, or a usage error without a pair, with neither
 *   or both of a volume and `--all`, or for a bad number or flag.
 * @example Parse
 * ```ts
 * import { parseCloseArgs } from "./close_cmd.ts";
 * parseCloseArgs(["XBTUSD", "--all"]);
 * // { kind: "close", pair: "XBTUSD", volume: "all", limitPrice: null, live: false, json: false }
 * ```
 */
export function parseCloseArgs(args: readonly string[]): Parsed<CloseFlags> {
  const parsed = parseFlags(args, {
    booleans: ["all", "live", "json"],
    values: ["limit"],
    positionals: ["pair", "volume"],
    minPositionals: 1,
    maxPositionals: 2,
  });
  if (parsed.kind !== "flags") return parsed;
  const [pair, volume] = parsed.positionals as [string, string | undefined];
  const all = parsed.booleans.has("all");
  if (all === (volume !== undefined)) {
    return usageError(
      all
        ? "Give a volume or --all, not both"
        : "Give the volume to sell, or --all to sell everything held",
    );
  }
  const sell = volume === undefined ? "all" : decimal(volume, "<volume>");
  if (isUsageError(sell)) return sell;
  const limit = parsed.values.get("limit");
  const limitPrice = limit === undefined ? null : decimal(limit, "--limit");
  if (isUsageError(limitPrice)) return limitPrice;
  return {
    kind: "close",
    pair,
    volume: sell,
    limitPrice,
    live: parsed.booleans.has("live"),
    json: parsed.booleans.has("json"),
  };
}

/**
 * Run `krakked close`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0 sold, 1 rejected or a step failed.
 * @throws {UsageError} For an unknown pair.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be reached.
 * @example Run
 * ```ts ignore
 * await runClose(
 *   { kind: "close", pair: "XBTUSD", volume: "all", limitPrice: null, live: false, json: false },
 *   io,
 * );
 * ```
 */
export async function runClose(
  flags: CloseFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const { decision, symbolOf } = await withOrderService(
    io,
    { live: flags.live, redactor, command: "close" },
    async (service, ctx) => {
      const decision = await service.closePosition(
        flags.pair,
        flags.volume,
        flags.limitPrice === null ? {} : { limitPrice: flags.limitPrice },
      );
      return {
        decision,
        // Warnings go to stderr as text even with --json.
        symbolOf: decision.decision === "accepted"
          ? await symbolNamer(ctx)
          : undefined,
      };
    },
  );
  if (decision.decision === "accepted") {
    return printExit(io, decision, flags.pair, flags.json, symbolOf);
  }
  if (flags.json) writeJson(io, decisionJson(decision));
  else {
    writeLine(
      io.stderr,
      withRunId(
        `${
          modeLabel(decision.mode)
        } REJECTED (${decision.rule}): ${decision.message}`,
      ),
    );
  }
  return EXIT.error;
}

/** `krakked close`, for the command table. */
export const closeCommand: Command<CloseFlags> = {
  name: "close",
  summary:
    "Sell what you hold on a pair, moving its stop-loss in the same step",
  help: CLOSE_HELP,
  parse: parseCloseArgs,
  run: runClose,
};
