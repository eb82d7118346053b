/**
 * `krakked orders`: the account's open orders (read-only `OpenOrders`).
 *
 * @module
 */

import type { OrderInfo } from "@krakked/core/rest/types";
import { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, requireCredentials, table } from "./context.ts";
import { symbolNamer } from "./symbols.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { orderRole } from "./trade_text.ts";

/** Help text of `krakked orders`. */
export const ORDERS_HELP = `Usage: krakked orders [--json]

Lists open orders (read-only OpenOrders call), oldest first. Needs
credentials with the "Query Open Orders & Trades" permission.

The role column marks protective stops (stop: a sell stop-loss covering a
holding, which 'krakked cancel' refuses while the position is open; order:
anything else).

  --json   print {"orders": [{txid, pair, side, type, price, price2, volume,
           volumeExecuted, status, openedAtSec, userref, clOrdId, description,
           role}]}`;

/** Parsed `orders` flags. */
export interface OrdersFlags {
  /** Discriminator: the command. */
  kind: "orders";
  /** Print JSON. */
  json: boolean;
}

/**
 * Parse `orders` flags. Pure.
 *
 * @param args Arguments after `orders`.
 * @returns The flags, help, or a usage error for an unknown flag or argument.
 * @example Parse
 * ```ts
 * import { parseOrdersArgs } from "./orders_cmd.ts";
 * parseOrdersArgs(["--json"]); // { kind: "orders", json: true }
 * ```
 */
export function parseOrdersArgs(args: readonly string[]): Parsed<OrdersFlags> {
  const parsed = parseFlags(args, { booleans: ["json"] });
  if (parsed.kind !== "flags") return parsed;
  return { kind: "orders", json: parsed.booleans.has("json") };
}

/** One order of the JSON output. */
export interface OrderRow {
  txid: string;
  /** Pair as in `descr.pair` (the altname, e.g. `XBTUSD`). */
  pair: string;
  /** The pair as text output shows it (`BTC/USD`); the altname when unknown. */
  symbol: string;
  side: "buy" | "sell";
  /** Order type, e.g. `limit`. */
  type: string;
  /** Limit or trigger price (`descr.price`). */
  price: string;
  /** Secondary price (`descr.price2`). */
  price2: string;
  volume: string;
  volumeExecuted: string;
  status: string;
  /** Open time, Unix seconds (fractional). */
  openedAtSec: number;
  userref: number | null;
  clOrdId: string | null;
  /** Kraken's one-line description (`descr.order`). */
  description: string;
  /** `stop`: a protective stop covering a holding; `order`: anything else. */
  role: "stop" | "order";
}

/**
 * Build the rows from an `OpenOrders` result, oldest first. Pure.
 *
 * @param open The `open` member, keyed by txid.
 * @param symbolOf Names a pair for people (`XBTUSD` → `BTC/USD`).
 * @returns The rows.
 * @example Rows
 * ```ts
 * import { orderRows } from "./orders_cmd.ts";
 * orderRows({}); // []
 * ```
 */
export function orderRows(
  open: Readonly<Record<string, OrderInfo>>,
  symbolOf: (altname: string) => string = (altname) => altname,
): OrderRow[] {
  return Object.entries(open).map(([txid, o]) => ({
    txid,
    pair: o.descr.pair,
    symbol: symbolOf(o.descr.pair),
    side: o.descr.type,
    type: o.descr.ordertype,
    price: o.descr.price,
    price2: o.descr.price2,
    volume: o.vol,
    volumeExecuted: o.vol_exec,
    status: o.status,
    openedAtSec: o.opentm,
    userref: o.userref ?? null,
    clOrdId: o.cl_ord_id ?? null,
    description: o.descr.order,
    role: orderRole(o.descr.type, o.descr.ordertype),
  })).sort((a, b) =>
    a.openedAtSec - b.openedAtSec || (a.txid < b.txid ? -1 : 1)
  );
}

/**
 * Run `krakked orders`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 * @example Run
 * ```ts ignore
 * import { runOrders } from "./orders_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runOrders({ kind: "orders", json: false }, denoIo());
 * ```
 */
export async function runOrders(
  flags: OrdersFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    requireCredentials(ctx.credentials, io.env);
    const open = (await ctx.rest.openOrders()).open;
    const rows = orderRows(
      open,
      Object.keys(open).length === 0 ? undefined : await symbolNamer(ctx),
    );
    if (flags.json) {
      writeJson(io, { orders: rows });
      return 0;
    }
    if (rows.length === 0) {
      writeLine(io.stdout, "No open orders");
      return 0;
    }
    writeLine(
      io.stdout,
      table(
        [
          "txid",
          "pair",
          "side",
          "type",
          "price",
          "volume",
          "filled",
          "role",
          "opened (UTC)",
        ],
        rows.map((r) => [
          r.txid,
          r.symbol,
          r.side,
          r.type,
          r.price,
          r.volume,
          r.volumeExecuted,
          r.role,
          new Date(r.openedAtSec * 1000).toISOString().slice(0, 19).replace(
            "T",
            " ",
          ),
        ]),
        [4, 5, 6],
      ),
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked orders`, for the command table. */
export const ordersCommand: Command<OrdersFlags> = {
  name: "orders",
  summary: "List open orders with their role (stop or order; read-only)",
  help: ORDERS_HELP,
  parse: parseOrdersArgs,
  run: runOrders,
};
