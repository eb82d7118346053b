/**
 * First-in, first-out lots: the one FIFO of Krakked, used by the paper
 * broker (per pair, in the quote) and by the account (per asset, in USD).
 *
 * A lot is a signed quantity at a price: `qty > 0` is long, `qty < 0` is
 * short. A fill on the opposite side closes the oldest lots first, each
 * closed piece realising `(close − open) × qty` for longs and
 * `(open − close) × qty` for shorts; what is left opens a new lot at the
 * fill price. Prices are kept as given (wire text such as `"1999.00"`), so a
 * lot prints the price it was filled at. Everything is exact decimal text.
 *
 * @module
 */

import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "../decimal.ts";

/** One open lot: a signed quantity at the price it opened at. */
export interface Lot {
  /** Signed quantity: `> 0` long, `< 0` short. */
  qty: string;
  /** Open price, per unit. */
  price: string;
}

/** The FIFO state of one book (a pair or an asset). Plain JSON. */
export interface FifoBook<L extends Lot = Lot> {
  /** Net quantity, signed; always the sum of `lots`. */
  qty: string;
  /** Open lots, oldest first; all on the same side. */
  lots: L[];
  /** Realised P&L so far, gross of fees, in the price's currency. */
  realizedPnl: string;
}

/** One piece of a lot closed by a fill. */
export interface ClosedLot<L extends Lot = Lot> {
  /** The lot as it was before this close (its open data, full quantity). */
  lot: L;
  /** Quantity closed, unsigned. */
  qty: string;
  /** Close price. */
  price: string;
  /** `(close − open) × qty` for a long lot, `(open − close) × qty` for a short. */
  pnl: string;
}

/** One fill applied to a FIFO book. */
export interface FifoFill<L extends Lot = Lot> {
  /** `buy` adds (closes shorts first), `sell` removes (closes longs first). */
  side: "buy" | "sell";
  /** Quantity, unsigned and positive. */
  qty: string;
  /** Price per unit. */
  price: string;
  /**
   * Extra fields a new lot carries (e.g. its open time and trade id); a
   * partly closed lot keeps its own.
   */
  open?: Omit<L, "qty" | "price">;
}

/**
 * A FIFO book with nothing in it.
 *
 * @returns `{ qty: "0", lots: [], realizedPnl: "0" }`.
 * @example Empty
 * ```ts
 * import { emptyFifoBook } from "./fifo.ts";
 * emptyFifoBook().lots; // []
 * ```
 */
export function emptyFifoBook<L extends Lot = Lot>(): FifoBook<L> {
  return { qty: "0", lots: [], realizedPnl: "0" };
}

function negate(value: string): string {
  return value.startsWith("-") ? value.slice(1) : `-${value}`;
}

/**
 * Applies one fill to a book. Pure: the input is not changed.
 *
 * @param book The book before the fill.
 * @param fill Side, quantity, price and the new lot's extra fields.
 * @returns The book after the fill and the lot pieces it closed, oldest first.
 * @throws {RangeError} When `fill.qty` is not positive.
 * @throws {SyntaxError} When a quantity or price is not decimal text.
 * @example Buy two lots, sell across both
 * ```ts
 * import { applyFifoFill, emptyFifoBook } from "./fifo.ts";
 * let { book } = applyFifoFill(emptyFifoBook(), { side: "buy", qty: "1", price: "100" });
 * ({ book } = applyFifoFill(book, { side: "buy", qty: "1", price: "110" }));
 * const sold = applyFifoFill(book, { side: "sell", qty: "1.5", price: "120" });
 * sold.book.realizedPnl; // "25"  (20 on the first lot, 5 on half the second)
 * sold.book.lots; // [{ qty: "0.5", price: "110" }]
 * ```
 */
export function applyFifoFill<L extends Lot>(
  book: FifoBook<L>,
  fill: FifoFill<L>,
): { book: FifoBook<L>; closed: ClosedLot<L>[] } {
  if (compareDecimal(fill.qty, "0") <= 0) {
    throw new RangeError(
      `Cannot apply a FIFO fill: quantity must be positive, got ${fill.qty}`,
    );
  }
  const lots = book.lots.map((lot) => ({ ...lot }));
  let realized = book.realizedPnl;
  const closed: ClosedLot<L>[] = [];
  // A buy closes short lots (qty < 0), a sell closes long lots.
  const closes = fill.side === "buy" ? -1 : 1;
  let left = fill.qty;
  while (compareDecimal(left, "0") > 0 && lots.length > 0) {
    const lot = lots[0] as L;
    if (compareDecimal(lot.qty, "0") !== closes) break;
    const size = closes > 0 ? lot.qty : negate(lot.qty);
    const take = compareDecimal(left, size) <= 0 ? left : size;
    const perUnit = closes > 0
      ? subtractDecimal(fill.price, lot.price)
      : subtractDecimal(lot.price, fill.price);
    const pnl = multiplyDecimal(perUnit, take);
    realized = addDecimal(realized, pnl);
    closed.push({ lot: { ...lot }, qty: take, price: fill.price, pnl });
    const rest = subtractDecimal(size, take);
    if (compareDecimal(rest, "0") === 0) lots.shift();
    else lot.qty = closes > 0 ? rest : negate(rest);
    left = subtractDecimal(left, take);
  }
  if (compareDecimal(left, "0") > 0) {
    lots.push(
      {
        ...(fill.open ?? {}),
        qty: fill.side === "buy" ? left : negate(left),
        price: fill.price,
      } as L,
    );
  }
  const qty = addDecimal(
    book.qty,
    fill.side === "buy" ? fill.qty : negate(fill.qty),
  );
  return { book: { qty, lots, realizedPnl: realized }, closed };
}

/**
 * Cost basis and unrealised P&L of open lots at a mark price.
 *
 * @param lots Open lots.
 * @param mark The price to value them at, or `null` when there is none.
 * @returns `costBasis = Σ qty × price` (signed) and
 *   `unrealizedPnl = Σ (mark − price) × qty`, `null` without a mark.
 * @example Mark a long lot
 * ```ts
 * import { markLots } from "./fifo.ts";
 * markLots([{ qty: "2", price: "10" }], "12"); // { costBasis: "20", unrealizedPnl: "4" }
 * ```
 */
export function markLots(
  lots: readonly Lot[],
  mark: string | null,
): { costBasis: string; unrealizedPnl: string | null } {
  let costBasis = "0";
  let unrealized: string | null = mark === null ? null : "0";
  for (const lot of lots) {
    costBasis = addDecimal(costBasis, multiplyDecimal(lot.qty, lot.price));
    if (unrealized !== null && mark !== null) {
      unrealized = addDecimal(
        unrealized,
        multiplyDecimal(subtractDecimal(mark, lot.price), lot.qty),
      );
    }
  }
  return { costBasis, unrealizedPnl: unrealized };
}
