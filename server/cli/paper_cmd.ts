/**
 * `krakked paper balances|positions|orders|pnl|reset`: the paper account kept in
 * `paper.json` in the config directory, marked to the current books.
 *
 * @module
 */

import { join } from "node:path";
import { Redactor } from "@krakked/core/secrets/redact";
import { PAPER_FILE } from "../trading/orders.ts";
import { type Parsed, parseFlags, usageError } from "./args.ts";
import type { Command } from "./command.ts";
import { table } from "./context.ts";
import { EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { withOrderService } from "./order_cmd.ts";
import { symbolNamer } from "./symbols.ts";
import { orderRole } from "./trade_text.ts";
import type { PaperOrder } from "@krakked/core/trade/paper";

/** Help text of `krakked paper`. */
export const PAPER_HELP =
  `Usage: krakked paper balances|positions|orders|pnl [--json]
       krakked paper reset [--yes] [--json]

Shows the paper trading account (paper.json in the config directory),
marked to the current books. Paper orders are placed with 'krakked order'
when trading.mode is paper.

  balances    balances by asset
  positions   open positions with cost basis and unrealised P&L
  orders      open paper orders: id, pair, side, type, volume, price,
              filled and role (stop: a protective stop covering a holding;
              order: anything else)
  pnl         realised, unrealised, fees and net P&L
  reset       delete the paper account and start over with the USD amount
              trading.paper_starting_usd sets in config.yaml; asks first,
              and names the amount
  --yes, -y   reset without asking (needed without a terminal)
  --json      print JSON

Exit codes: 0 ok, 1 reset declined or error, 2 usage (reset without a
terminal and without --yes), 4 network.`;

/** The `paper` views. */
export type PaperView = "balances" | "positions" | "orders" | "pnl" | "reset";

/** Parsed `paper` flags. */
export interface PaperFlags {
  /** Discriminator: the command. */
  kind: "paper";
  /** What to show or do. */
  view: PaperView;
  /** `--json`. */
  json: boolean;
  /** `--yes`: reset without asking. */
  yes: boolean;
}

const VIEWS: readonly PaperView[] = [
  "balances",
  "positions",
  "orders",
  "pnl",
  "reset",
];

/** One open paper order of `paper orders`. */
export interface PaperOrderRow {
  /** Paper order id. */
  id: string;
  /** Canonical pair id. */
  pair: string;
  /** The pair as text output shows it (`BTC/USD`). */
  symbol: string;
  /** `buy` or `sell`. */
  side: string;
  /** Order type (`limit`, `stop-loss`, …). */
  type: string;
  /** Volume (base). */
  volume: string;
  /** Limit or trigger price, when any. */
  price: string | null;
  /** Filled volume (base). */
  filled: string;
  /** Status (`open`, or `pending` for an untriggered stop). */
  status: string;
  /** The stop-loss an entry attaches on its fills, when any. */
  stopLoss: string | null;
  /** The entry whose fill created this order (a conditional close), or `null`. */
  parentId: string | null;
  /** `stop`: a protective stop covering a holding; `order`: anything else. */
  role: "stop" | "order";
}

/**
 * The rows of `paper orders`, in the broker's order. Pure.
 *
 * @param orders The paper broker's open orders.
 * @param symbolOf Names a pair for people (`XBTUSD` → `BTC/USD`).
 * @returns The rows.
 * @example None
 * ```ts
 * import { paperOrderRows } from "./paper_cmd.ts";
 * paperOrderRows([]); // []
 * ```
 */
export function paperOrderRows(
  orders: readonly PaperOrder[],
  symbolOf: (id: string) => string = (id) => id,
): PaperOrderRow[] {
  return orders.map((o) => ({
    id: o.id,
    pair: o.pair,
    symbol: symbolOf(o.pair),
    side: o.side,
    type: o.type,
    volume: o.volume,
    price: o.price,
    filled: o.filledQty,
    status: o.status,
    stopLoss: o.stopLoss?.triggerPrice ?? null,
    parentId: o.parentId,
    role: orderRole(o.side, o.type),
  }));
}

/**
 * Parse `paper` flags. Pure.
 *
 * @param args Arguments after `paper`.
 * @returns The flags, help, or a usage error for an unknown view or flag,
 *   or `--yes` with a view other than `reset`.
 * @example Parse
 * ```ts
 * import { parsePaperArgs } from "./paper_cmd.ts";
 * parsePaperArgs(["pnl", "--json"]); // { kind: "paper", view: "pnl", json: true, yes: false }
 * ```
 */
export function parsePaperArgs(args: readonly string[]): Parsed<PaperFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "yes"],
    aliases: { "-y": "yes" },
    positionals: ["view"],
  });
  if (parsed.kind !== "flags") return parsed;
  const view = VIEWS.find((v) => v === parsed.positionals[0]);
  if (view === undefined) {
    return usageError(
      `Unknown paper view ${JSON.stringify(parsed.positionals[0])}: use ${
        VIEWS.join(", ")
      }`,
    );
  }
  const yes = parsed.booleans.has("yes");
  if (yes && view !== "reset") {
    return usageError("--yes goes with 'paper reset' only");
  }
  return { kind: "paper", view, json: parsed.booleans.has("json"), yes };
}

/**
 * Ask before `paper reset` throws the account away: `--yes` skips the
 * question; without a terminal and without `--yes` it is a usage error.
 *
 * @returns `true` to go ahead.
 */
function confirmReset(
  flags: PaperFlags,
  io: CliIo,
  startingUsd: number,
  path: string,
): boolean {
  if (flags.yes) return true;
  if (!io.interactive) {
    throw new UsageError(
      "paper reset deletes the paper account and there is no terminal to ask on: add --yes to confirm",
      "paper",
    );
  }
  const answer = io.promptLine(
    `Reset the paper account (${path}): delete its balances, positions, orders and P&L and start over with ${startingUsd} USD? [y/N] `,
  );
  return /^y(es)?$/i.test(answer?.trim() ?? "");
}

/**
 * Run `krakked paper`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers credentials so no output shows them.
 * @returns 0.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When the books cannot be read.
 * @example Run
 * ```ts ignore
 * await runPaper({ kind: "paper", view: "balances", json: false, yes: false }, io);
 * ```
 */
export async function runPaper(
  flags: PaperFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  return await withOrderService(
    io,
    { live: false, redactor, command: "paper" },
    async (service, ctx) => {
      if (flags.view === "reset") {
        const path = join(ctx.paths.dir, PAPER_FILE);
        if (
          !confirmReset(
            flags,
            io,
            ctx.config.trading.paper_starting_usd,
            path,
          )
        ) {
          if (flags.json) writeJson(io, { reset: false });
          else {
            writeLine(io.stderr, "Kept the paper account; nothing was changed");
          }
          return EXIT.error;
        }
        const balances = await service.resetPaper();
        if (flags.json) writeJson(io, { reset: true, balances });
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
          const name = await symbolNamer(ctx);
          const open = summary.positions.filter((p) => p.qty !== "0")
            .map((p) => ({ ...p, symbol: name(p.pair) }));
          if (flags.json) writeJson(io, { positions: open });
          else if (open.length === 0) writeLine(io.stdout, "No open positions");
          else {
            writeLine(
              io.stdout,
              table(
                ["pair", "qty", "cost basis", "mark", "unrealised", "realised"],
                open.map((p) => [
                  p.symbol,
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
        case "orders": {
          const rows = paperOrderRows(
            summary.openOrders,
            await symbolNamer(ctx),
          );
          if (flags.json) writeJson(io, { orders: rows });
          else if (rows.length === 0) {
            writeLine(io.stdout, "No open paper orders");
          } else {
            writeLine(
              io.stdout,
              table(
                [
                  "id",
                  "pair",
                  "side",
                  "type",
                  "volume",
                  "price",
                  "filled",
                  "role",
                ],
                rows.map((r) => [
                  r.id,
                  r.symbol,
                  r.side,
                  r.type,
                  r.volume,
                  r.price ?? "-",
                  r.filled,
                  r.role,
                ]),
                [4, 5, 6],
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
    },
  );
}

/** `krakked paper`, for the command table. */
export const paperCommand: Command<PaperFlags> = {
  name: "paper",
  summary: "Show or reset the paper account: balances, positions, orders, P&L",
  help: PAPER_HELP,
  parse: parsePaperArgs,
  run: runPaper,
};
