/**
 * The recent trades tape: newest on top, at most 50 rows.
 *
 * @module
 */

import type { TradeView } from "../worker/protocol.ts";
import { formatClock } from "./format.ts";

/** Rows kept on the tape. */
export const TAPE_ROWS = 50;

/**
 * The tape.
 *
 * @example Add trades
 * ```ts ignore
 * const tape = new TradeTape(tbody);
 * tape.add(batch.trades);
 * ```
 */
export class TradeTape {
  #tbody: HTMLTableSectionElement;

  /**
   * Attach to a table body.
   *
   * @param tbody The `<tbody>`.
   */
  constructor(tbody: HTMLTableSectionElement) {
    this.#tbody = tbody;
  }

  /**
   * Prepend trades (given oldest first).
   *
   * @param trades New trades.
   */
  add(trades: readonly TradeView[]): void {
    if (trades.length === 0) return;
    const fragment = document.createDocumentFragment();
    const newest = trades.slice(-TAPE_ROWS);
    for (let i = newest.length - 1; i >= 0; i--) {
      const trade = newest[i] as TradeView;
      const tr = document.createElement("tr");
      tr.dataset.side = trade.side;
      const time = document.createElement("td");
      time.textContent = formatClock(trade.timeMs);
      const price = document.createElement("td");
      price.className = "num price";
      price.textContent = trade.price;
      const qty = document.createElement("td");
      qty.className = "num";
      qty.textContent = trade.qty;
      const side = document.createElement("td");
      side.className = "side";
      side.textContent = trade.side;
      tr.append(time, price, qty, side);
      fragment.append(tr);
    }
    this.#tbody.prepend(fragment);
    while (this.#tbody.rows.length > TAPE_ROWS) {
      this.#tbody.lastElementChild?.remove();
    }
  }

  /** Remove every row. */
  clear(): void {
    this.#tbody.replaceChildren();
  }
}
