/**
 * The market table: one row per universe pair, built once and updated in
 * place (text of the cells that changed, a short flash on price moves), so
 * hundreds of rows tick without re-rendering. Sorting moves the existing
 * rows; filtering hides them. Keyboard: arrows, Home/End and PageUp/Down
 * move between visible rows (roving tabindex), Enter or Space selects.
 *
 * @module
 */

import type { PairView, TickerView } from "../worker/protocol.ts";
import {
  formatAge,
  formatPct,
  formatPrice,
  formatUsdCompact,
  freshness,
  spreadBps,
} from "./format.ts";

/** Sortable columns. */
export type SortKey = "symbol" | "last" | "change" | "volume" | "spread";

interface Row {
  pair: PairView;
  tr: HTMLTableRowElement;
  last: HTMLTableCellElement;
  change: HTMLTableCellElement;
  volume: HTMLTableCellElement;
  spread: HTMLTableCellElement;
  badge: HTMLSpanElement;
  ticker: TickerView | undefined;
  lastValue: number | undefined;
  badgeText: string;
  visible: boolean;
  search: string;
}

/** Options of {@linkcode MarketTable}. */
export interface MarketTableOptions {
  /** Called when a row is chosen (click, Enter, Space). */
  onSelect: (pair: PairView) => void;
  /** Called when the visible set changes (after filtering). */
  onVisibleChange: (symbols: string[]) => void;
  /** Stale tolerance in seconds. */
  staleToleranceSec: number;
  /** Whether to flash cells (off with prefers-reduced-motion). */
  flash: boolean;
}

function cell(
  tr: HTMLTableRowElement,
  className: string,
): HTMLTableCellElement {
  const td = document.createElement("td");
  td.className = className;
  tr.append(td);
  return td;
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * The market table.
 *
 * @example Mount
 * ```ts ignore
 * const table = new MarketTable(tbody, { onSelect, onVisibleChange, staleToleranceSec: 60, flash: true });
 * table.setPairs(pairs);
 * ```
 */
export class MarketTable {
  #tbody: HTMLTableSectionElement;
  #options: MarketTableOptions;
  #rows: Row[] = [];
  #bySymbol = new Map<string, Row>();
  #byTr = new WeakMap<HTMLTableRowElement, Row>();
  #sortKey: SortKey = "volume";
  #sortDescending = true;
  #filter = "";
  #selected: Row | undefined;
  #focusRow: Row | undefined;
  #lastFrameAtMs: number | undefined;
  #sortDirty = false;
  #firstPriceSeen = false;
  #onFirstPrice: (() => void) | undefined;
  #rowsBuilt = 0;

  /**
   * Attach to a table body.
   *
   * @param tbody The `<tbody>` to fill.
   * @param options Callbacks and settings.
   */
  constructor(tbody: HTMLTableSectionElement, options: MarketTableOptions) {
    this.#tbody = tbody;
    this.#options = options;
    tbody.addEventListener("click", (event) => {
      const tr = (event.target as Element).closest("tr");
      const row = tr === null ? undefined : this.#byTr.get(tr);
      if (row !== undefined) this.#choose(row, false);
    });
    tbody.addEventListener("keydown", (event) => this.#key(event));
  }

  /** Run once when the first live price is shown. */
  set onFirstPrice(fn: () => void) {
    this.#onFirstPrice = fn;
  }

  /** Table rows created so far (once per pair; updates never rebuild). */
  get rowsBuilt(): number {
    return this.#rowsBuilt;
  }

  /**
   * The newest ticker shown for a symbol.
   *
   * @param symbol WS v2 symbol.
   * @returns The merged ticker row, or `undefined` before any arrived.
   */
  ticker(symbol: string): TickerView | undefined {
    return this.#bySymbol.get(symbol)?.ticker;
  }

  /** Current sort column and direction. */
  get sort(): { key: SortKey; descending: boolean } {
    return { key: this.#sortKey, descending: this.#sortDescending };
  }

  /**
   * Build one row per pair (once).
   *
   * @param pairs The universe.
   */
  setPairs(pairs: readonly PairView[]): void {
    const fragment = document.createDocumentFragment();
    for (const pair of pairs) {
      const tr = document.createElement("tr");
      this.#rowsBuilt++;
      tr.tabIndex = -1;
      tr.dataset.symbol = pair.symbol;
      tr.setAttribute("aria-selected", "false");
      const name = document.createElement("th");
      name.scope = "row";
      name.className = "sym";
      name.textContent = pair.symbol;
      // People read BTC/USD; scripts and the CLI's --json also know XBTUSD.
      name.title = `Kraken pair id ${pair.id}`;
      tr.append(name);
      const last = cell(tr, "num last");
      const change = cell(tr, "num change");
      const volume = cell(tr, "num volume");
      const spread = cell(tr, "num spread");
      const fresh = cell(tr, "fresh");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.fresh = "none";
      badge.textContent = "no data";
      fresh.append(badge);
      for (const td of [last, change, volume, spread]) td.textContent = "—";
      const row: Row = {
        pair,
        tr,
        last,
        change,
        volume,
        spread,
        badge,
        ticker: undefined,
        lastValue: undefined,
        badgeText: "no data",
        visible: true,
        search: `${pair.symbol} ${pair.id} ${pair.base}`.toLowerCase(),
      };
      last.addEventListener("animationend", () => {
        last.classList.remove("flash-up", "flash-down");
      });
      this.#rows.push(row);
      this.#bySymbol.set(pair.symbol, row);
      this.#byTr.set(tr, row);
      fragment.append(tr);
    }
    this.#tbody.append(fragment);
    this.#applySort();
    const first = this.#visibleRows()[0];
    if (first !== undefined) this.#setFocusRow(first);
  }

  /**
   * Apply ticker rows from a batch, in place.
   *
   * @param tickers Latest rows per symbol.
   */
  update(tickers: readonly TickerView[]): void {
    const nowMs = Date.now();
    for (const ticker of tickers) {
      const row = this.#bySymbol.get(ticker.symbol);
      if (row === undefined) continue;
      const merged: TickerView = { ...row.ticker, ...ticker };
      row.ticker = merged;
      const decimals = row.pair.priceDecimals;
      if (merged.last !== undefined) {
        setText(row.last, formatPrice(merged.last, decimals));
        if (
          this.#options.flash && row.lastValue !== undefined &&
          merged.last !== row.lastValue && row.visible
        ) {
          row.last.classList.remove("flash-up", "flash-down");
          row.last.classList.add(
            merged.last > row.lastValue ? "flash-up" : "flash-down",
          );
        }
        row.lastValue = merged.last;
        if (!this.#firstPriceSeen) {
          this.#firstPriceSeen = true;
          this.#onFirstPrice?.();
        }
      }
      setText(row.change, formatPct(merged.changePct));
      row.change.dataset.sign = merged.changePct === undefined
        ? "0"
        : merged.changePct > 0
        ? "+"
        : merged.changePct < 0
        ? "-"
        : "0";
      setText(row.volume, formatUsdCompact(merged.volumeQuote));
      const bps = spreadBps(merged.bid, merged.ask);
      setText(row.spread, bps === undefined ? "—" : `${bps.toFixed(1)} bp`);
      this.#badge(row, nowMs);
    }
    if (tickers.length > 0 && this.#sortKey !== "symbol") {
      this.#sortDirty = true;
    }
  }

  /**
   * Recompute the freshness badges (once a second, and on status changes).
   *
   * @param lastFrameAtMs When the stream last delivered a frame.
   * @param failed Symbols whose subscription failed.
   */
  refreshBadges(
    lastFrameAtMs: number | undefined,
    failed: Readonly<Record<string, string>> = {},
  ): void {
    this.#lastFrameAtMs = lastFrameAtMs;
    const nowMs = Date.now();
    for (const row of this.#rows) {
      const error = failed[row.pair.symbol];
      if (error !== undefined) {
        this.#setBadge(row, "none", "no data");
        row.badge.title = error;
        continue;
      }
      this.#badge(row, nowMs);
    }
  }

  /** Re-sort if live values changed the order (call at a calm pace). */
  resortIfNeeded(): void {
    if (!this.#sortDirty) return;
    this.#sortDirty = false;
    this.#applySort();
  }

  #badge(row: Row, nowMs: number): void {
    const state = freshness(
      row.ticker?.updatedAtMs,
      this.#lastFrameAtMs,
      nowMs,
      this.#options.staleToleranceSec,
    );
    switch (state.kind) {
      case "live":
        this.#setBadge(row, "live", "live");
        return;
      case "stale":
        this.#setBadge(row, "stale", `stale ${formatAge(state.ageMs)}`);
        return;
      case "none":
        this.#setBadge(row, "none", "no data");
        return;
    }
  }

  #setBadge(row: Row, kind: string, text: string): void {
    if (row.badgeText === text) return;
    row.badgeText = text;
    row.badge.textContent = text;
    row.badge.dataset.fresh = kind;
  }

  /**
   * Sort by a column; the same column again flips the direction.
   *
   * @param key The column.
   * @returns The new direction.
   */
  sortBy(key: SortKey): { key: SortKey; descending: boolean } {
    if (key === this.#sortKey) this.#sortDescending = !this.#sortDescending;
    else {
      this.#sortKey = key;
      this.#sortDescending = key !== "symbol";
    }
    this.#applySort();
    return this.sort;
  }

  #value(row: Row): number | string | undefined {
    const t = row.ticker;
    switch (this.#sortKey) {
      case "symbol":
        return row.pair.symbol;
      case "last":
        return t?.last;
      case "change":
        return t?.changePct;
      case "volume":
        return t?.volumeQuote;
      case "spread":
        return spreadBps(t?.bid, t?.ask);
    }
  }

  #applySort(): void {
    const direction = this.#sortDescending ? -1 : 1;
    const sorted = [...this.#rows].sort((a, b) => {
      const x = this.#value(a);
      const y = this.#value(b);
      // Rows without data sink to the bottom whatever the direction.
      if (x === undefined || y === undefined) {
        return x === y
          ? cmp(a.pair.symbol, b.pair.symbol)
          : x === undefined
          ? 1
          : -1;
      }
      const c = typeof x === "number" && typeof y === "number"
        ? x - y
        : cmp(String(x), String(y));
      return c === 0 ? cmp(a.pair.symbol, b.pair.symbol) : c * direction;
    });
    const same = sorted.every((row, i) => this.#rows[i] === row);
    if (same) return;
    this.#rows = sorted;
    const focused = document.activeElement;
    // Move only the rows that are out of place: a re-append of every row
    // makes the browser lay the whole table out again (≈ 50–120 ms at 330
    // rows in headless Chromium), while live re-sorts move a few rows.
    let cursor = this.#tbody.firstElementChild;
    for (const row of sorted) {
      if (row.tr === cursor) {
        cursor = cursor.nextElementSibling;
        continue;
      }
      this.#tbody.insertBefore(row.tr, cursor);
    }
    if (focused instanceof HTMLElement && this.#tbody.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
  }

  /**
   * Show only rows matching the text (symbol, id or base asset).
   *
   * @param text What the person typed.
   * @returns How many rows are visible.
   */
  filter(text: string): number {
    this.#filter = text.trim().toLowerCase();
    const words = this.#filter.replace(/[/\-_]/g, " ").split(/\s+/).filter(
      Boolean,
    );
    let visible = 0;
    for (const row of this.#rows) {
      const hay = row.search.replace(/[/\-_]/g, " ");
      const compact = row.search.replace(/[^a-z0-9 ]/g, "");
      const show = words.every((w) => hay.includes(w) || compact.includes(w));
      if (show !== row.visible) {
        row.visible = show;
        row.tr.hidden = !show;
      }
      if (show) visible++;
    }
    if (this.#focusRow !== undefined && !this.#focusRow.visible) {
      const first = this.#visibleRows()[0];
      if (first !== undefined) this.#setFocusRow(first);
    }
    this.#options.onVisibleChange(this.visibleSymbols());
    return visible;
  }

  /**
   * The symbols of the visible rows.
   *
   * @returns Symbols in table order.
   */
  visibleSymbols(): string[] {
    return this.#visibleRows().map((r) => r.pair.symbol);
  }

  /**
   * Mark a pair as selected (without calling `onSelect`).
   *
   * @param symbol WS v2 symbol, or `undefined` to clear.
   */
  markSelected(symbol: string | undefined): void {
    if (this.#selected !== undefined) {
      this.#selected.tr.setAttribute("aria-selected", "false");
    }
    this.#selected = symbol === undefined
      ? undefined
      : this.#bySymbol.get(symbol);
    this.#selected?.tr.setAttribute("aria-selected", "true");
  }

  #visibleRows(): Row[] {
    return this.#rows.filter((r) => r.visible);
  }

  #setFocusRow(row: Row): void {
    if (this.#focusRow !== undefined) this.#focusRow.tr.tabIndex = -1;
    this.#focusRow = row;
    row.tr.tabIndex = 0;
  }

  #choose(row: Row, fromKeyboard: boolean): void {
    this.#setFocusRow(row);
    if (!fromKeyboard) row.tr.focus({ preventScroll: true });
    this.markSelected(row.pair.symbol);
    this.#options.onSelect(row.pair);
  }

  #key(event: KeyboardEvent): void {
    const tr = (event.target as Element).closest("tr");
    const row = tr === null ? undefined : this.#byTr.get(tr);
    if (row === undefined) return;
    const rows = this.#visibleRows();
    const index = rows.indexOf(row);
    let next: Row | undefined;
    switch (event.key) {
      case "ArrowDown":
        next = rows[Math.min(rows.length - 1, index + 1)];
        break;
      case "ArrowUp":
        next = rows[Math.max(0, index - 1)];
        break;
      case "PageDown":
        next = rows[Math.min(rows.length - 1, index + 10)];
        break;
      case "PageUp":
        next = rows[Math.max(0, index - 10)];
        break;
      case "Home":
        next = rows[0];
        break;
      case "End":
        next = rows.at(-1);
        break;
      case "Enter":
      case " ":
        event.preventDefault();
        this.#choose(row, true);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next !== undefined) {
      this.#setFocusRow(next);
      next.tr.focus();
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
