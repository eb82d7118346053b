/**
 * The order book ladder: asks above (best at the bottom), bids below, a
 * depth bar per level, and the checksum state of the book.
 *
 * @module
 */

import type { BookView, LevelView } from "../worker/protocol.ts";
import { formatSpread } from "./format.ts";

interface LevelRow {
  tr: HTMLTableRowElement;
  price: HTMLTableCellElement;
  qty: HTMLTableCellElement;
}

function makeRows(tbody: HTMLTableSectionElement, n: number): LevelRow[] {
  const rows: LevelRow[] = [];
  for (let i = 0; i < n; i++) {
    const tr = document.createElement("tr");
    const price = document.createElement("td");
    price.className = "num price";
    const qty = document.createElement("td");
    qty.className = "num qty";
    tr.append(price, qty);
    tbody.append(tr);
    rows.push({ tr, price, qty });
  }
  return rows;
}

/**
 * The ladder.
 *
 * @example Show a book
 * ```ts ignore
 * const ladder = new BookLadder(asksBody, bidsBody, badge);
 * ladder.show(book, 1);
 * ```
 */
export class BookLadder {
  #asks: LevelRow[];
  #bids: LevelRow[];
  #badge: HTMLElement;
  #spread: HTMLElement;

  /**
   * Create the ladder (25 rows per side, hidden beyond the depth).
   *
   * @param asks `<tbody>` for asks.
   * @param bids `<tbody>` for bids.
   * @param badge Element showing the checksum state.
   * @param spread Element showing the spread.
   */
  constructor(
    asks: HTMLTableSectionElement,
    bids: HTMLTableSectionElement,
    badge: HTMLElement,
    spread: HTMLElement,
  ) {
    this.#asks = makeRows(asks, 25);
    this.#bids = makeRows(bids, 25);
    this.#badge = badge;
    this.#spread = spread;
  }

  /**
   * Show a book view.
   *
   * @param book The book.
   * @param priceDecimals The pair's price decimals (for the spread).
   */
  show(book: BookView, priceDecimals: number): void {
    this.#badge.dataset.state = book.integrity;
    const label = book.integrity === "ok"
      ? "checksum ok"
      : book.integrity === "resyncing"
      ? "resyncing"
      : "waiting for snapshot";
    const text = book.checksumFailures > 0
      ? `${label} · ${book.checksumFailures} failed`
      : label;
    if (this.#badge.textContent !== text) this.#badge.textContent = text;
    const max = Math.max(
      0,
      ...book.asks.map((l) => Number(l.qty)),
      ...book.bids.map((l) => Number(l.qty)),
    );
    // Asks: best (lowest) at the bottom, next to the bids.
    const asks = book.asks.slice(0, book.depth);
    this.#fill(this.#asks, [...asks].reverse(), book.depth, max, true);
    this.#fill(
      this.#bids,
      book.bids.slice(0, book.depth),
      book.depth,
      max,
      false,
    );
    const spread = formatSpread(
      Number(book.bids[0]?.price),
      Number(book.asks[0]?.price),
      priceDecimals,
    );
    if (this.#spread.textContent !== spread) this.#spread.textContent = spread;
  }

  #fill(
    rows: LevelRow[],
    levels: LevelView[],
    depth: number,
    max: number,
    asks: boolean,
  ): void {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as LevelRow;
      const hidden = i >= depth;
      if (row.tr.hidden !== hidden) row.tr.hidden = hidden;
      // Asks fill from the bottom, so empty rows stay at the top.
      const level = asks ? levels[i - (depth - levels.length)] : levels[i];
      const price = level?.price ?? "";
      const qty = level?.qty ?? "";
      if (row.price.textContent !== price) row.price.textContent = price;
      if (row.qty.textContent !== qty) row.qty.textContent = qty;
      const share = level === undefined || max <= 0
        ? 0
        : Number(level.qty) / max;
      row.tr.style.setProperty("--depth", `${Math.round(share * 100)}%`);
    }
  }
}
