/**
 * `krakked paper balances|positions|pnl|reset`: the paper account kept in
 * `paper.json` in the config directory, marked to the current books.
 *
 * @module
 */

import { Redactor } from "../../core/secrets/redact.ts";
import { parseFlags } from "./args.ts";
import { table } from "./context.ts";
import { EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { openOrderService } from "./order_cmd.ts";

/** Help text of `krakked paper`. */
export const PAPER_HELP =
  `Usage: krakked paper balances|positions|pnl|reset [--json]

Shows the paper trading account (paper.json in the config directory),
marked to the current books. Paper orders are placed with 'krakked order'
when trading.mode is paper.

  balances    balances by asset
  positions   open positions with cost basis and unrealised P&L
  pnl         realised, unrealised, fees and net P&L
  reset       start over with 10000 USD
  --json      print JSON`;

/** The `paper` views. */
export type PaperView = "balances" | "positions" | "pnl" | "reset";

/** Parsed `paper` flags. */
export interface PaperFlags {
  /** What to show or do. */
  view: PaperView;
  /** `--json`. */
  json: boolean;
}

const VIEWS: readonly PaperView[] = ["balances", "positions", "pnl", "reset"];

/**
 * Parse `paper` flags. Pure.
 *
 * @param args Arguments after `paper`.
 * @returns The flags, or `"help"`.
 * @throws {UsageError} For an unknown view or flag.
 * @example Parse
 * ```ts
 * import { parsePaperArgs } from "./paper_cmd.ts";
 * parsePaperArgs(["pnl", "--json"]); // { view: "pnl", json: true }
 * ```
 */
export function parsePaperArgs(args: readonly string[]): PaperFlags | "help" {
  const parsed = parseFlags(args, {
    booleans: ["json"],
    positionals: ["view"],
  });
  if (parsed === "help") return parsed;
  if ("error" in parsed) throw new UsageError(parsed.error, "paper");
  const view = parsed.positionals[0] as PaperView;
  if (!VIEWS.includes(view)) {
    throw new UsageError(
      `Unknown paper view ${JSON.stringify(view)}: use ${VIEWS.join(", ")}`,
      "paper",
    );
  }
  return { view, json: parsed.booleans.has("json") };
}

/**
 * Run `krakked paper`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0.
 * @throws {import("../../core/rest/errors.ts").KrakenError} When the books cannot be read.
 * @example Run
 * ```ts ignore
 * await paperCommand({ view: "balances", json: false }, io);
 * ```
 */
export async function paperCommand(
  flags: PaperFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const { service, ctx } = await openOrderService(io, {
    live: false,
    redactor,
  });
  try {
    if (flags.view === "reset") {
      const balances = await service.resetPaper();
      if (flags.json) writeJson(io, { balances });
      else {
        writeLine(
          io.stdout,
          `Paper account reset: ${
            Object.entries(balances).map(([a, v]) => `${v} ${a}`).join(", ")
          }`,
        );
      }
      return EXIT.ok;
    }
    const summary = await service.paperSummary();
    switch (flags.view) {
      case "balances":
        if (flags.json) writeJson(io, { balances: summary.balances });
        else {
          writeLine(
            io.stdout,
            table(
              ["asset", "balance"],
              Object.entries(summary.balances).sort(([a], [b]) =>
                a < b ? -1 : 1
              ),
              [1],
            ),
          );
        }
        break;
      case "positions": {
        const open = summary.positions.filter((p) => p.qty !== "0");
        if (flags.json) writeJson(io, { positions: open });
        else if (open.length === 0) writeLine(io.stdout, "No open positions");
        else {
          writeLine(
            io.stdout,
            table(
              ["pair", "qty", "cost basis", "mark", "unrealised", "realised"],
              open.map((p) => [
                p.pair,
                p.qty,
                p.costBasis,
                p.markPrice ?? "-",
                p.unrealizedPnl ?? "-",
                p.realizedPnl,
              ]),
              [1, 2, 3, 4, 5],
            ),
          );
        }
        break;
      }
      case "pnl":
        if (flags.json) writeJson(io, { pnl: summary.pnl });
        else {
          const p = summary.pnl;
          writeLine(
            io.stdout,
            `realised ${p.realized}  unrealised ${p.unrealized}  fees ${p.fees}  net ${p.net}`,
          );
        }
        break;
    }
    return EXIT.ok;
  } finally {
    await service.close();
    ctx.rest.close();
  }
}
