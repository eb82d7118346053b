/**
 * The market table, virtualized: the model holds every pair of the scope
 * (1,500 and more), the DOM holds only the rows in view plus a small
 * overscan. Two padding bodies around `#market-body` stand in for the rows
 * above and below, so the scrollbar is the full table's. Row elements are
 * recycled as the window moves; a ticker for a row out of view only
 * updates the model.
 *
 * Sorting and filtering run over the model (plain arrays, precomputed
 * search text) and then render the window once. Keyboard: arrows,
 * Home/End and PageUp/Down move through every matching row (the window
 * follows), Enter or Space selects; `p` (or the ☆ button) pins a pair,
 * which puts it in the worker's focus set.
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
  usdVolume,
} from "./format.ts";

/** Sortable columns. */
export type SortKey = "symbol" | "last" | "change" | "volume" | "spread";

/** One pair in the model (whether or not it has a row element). */
interface Row {
  pair: PairView;
  ticker: TickerView | undefined;
  lastValue: number | undefined;
  /** Direction of the last price move not yet flashed on screen. */
  pendingFlash: "up" | "down" | undefined;
  /** Lower-case search text, with separators as spaces, and compact. */
  hay: string;
  compact: string;
  /** Position among the shown rows (-1 when filtered out). */
  index: number;
}

/** A row element, bound to one model row at a time. */
interface RowEl {
  tr: HTMLTableRowElement;
  name: HTMLSpanElement;
  pin: HTMLButtonElement;
  last: HTMLTableCellElement;
  change: HTMLTableCellElement;
  volume: HTMLTableCellElement;
  spread: HTMLTableCellElement;
  badge: HTMLSpanElement;
  row: Row | undefined;
  badgeText: string;
}

/** Options of {@linkcode MarketTable}. */
export interface MarketTableOptions {
  /** Called when a row is chosen (click, Enter, Space). */
  onSelect: (pair: PairView) => void;
  /** Called when the pinned set changes (☆ button or `p`). */
  onPinsChange?: (symbols: string[]) => void;
  /** Stale tolerance in seconds. */
  staleToleranceSec: number;
  /** Whether to flash cells (off with prefers-reduced-motion). */
  flash: boolean;
  /** Rows rendered beyond the viewport on each side (default 8). */
  overscan?: number;
  /** Pairs pinned at start (WS v2 symbols). */
  pinned?: readonly string[];
  /** Called when a pair's last price moves (on screen or not). */
  onPriceMove?: (symbol: string) => void;
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SEPARATORS = /[/\-_]/g;

/**
 * The virtualized market table.
 *
 * @example Mount
 * ```ts ignore
 * const table = new MarketTable(tbody, { onSelect, staleToleranceSec: 60, flash: true });
 * table.setPairs(pairs);
 * ```
 */
export class MarketTable {
  #tbody: HTMLTableSectionElement;
  #padTop: HTMLTableCellElement;
  #padBottom: HTMLTableCellElement;
  #scroller: HTMLElement;
  #options: MarketTableOptions;
  #overscan: number;
  /** Every row, in sort order. */
  #rows: Row[] = [];
  /** The rows matching the filter, in sort order. */
  #shown: Row[] = [];
  #bySymbol = new Map<string, Row>();
  #els = new Map<Row, RowEl>();
  #byTr = new WeakMap<HTMLTableRowElement, RowEl>();
  #spare: RowEl[] = [];
  #pinned: Set<string>;
  #sortKey: SortKey = "volume";
  #sortDescending = true;
  #words: string[] = [];
  #selected: Row | undefined;
  #focusRow: Row | undefined;
  #lastFrameAtMs: number | undefined;
  #failed: Readonly<Record<string, string>> = {};
  #sortDirty = false;
  #firstPriceSeen = false;
  #onFirstPrice: (() => void) | undefined;
  #rowsBuilt = 0;
  #rowHeight = 0;
  #renderQueued = false;
  #window = { first: 0, end: 0 };

  /**
   * Attach to a table body. The table gets a padding body before and after
   * it; the nearest scrolling ancestor (`.table-wrap`) drives the window.
   *
   * @param tbody The `<tbody>` to fill.
   * @param options Callbacks and settings.
   */
  constructor(tbody: HTMLTableSectionElement, options: MarketTableOptions) {
    this.#tbody = tbody;
    this.#options = options;
    this.#overscan = options.overscan ?? 8;
    this.#pinned = new Set(options.pinned ?? []);
    const pad = (where: "beforebegin" | "afterend") => {
      const body = document.createElement("tbody");
      body.className = "virtual-pad";
      body.setAttribute("aria-hidden", "true");
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 6;
      tr.append(td);
      body.append(tr);
      tbody.insertAdjacentElement(where, body);
      return td;
    };
    this.#padTop = pad("beforebegin");
    this.#padBottom = pad("afterend");
    this.#scroller = (tbody.closest(".table-wrap") as HTMLElement | null) ??
      document.documentElement;
    this.#scroller.addEventListener("scroll", () => this.#queueRender(), {
      passive: true,
    });
    addEventListener("resize", () => {
      this.#rowHeight = 0;
      this.#queueRender();
    });
    tbody.addEventListener("click", (event) => {
      const target = event.target as Element;
      const tr = target.closest("tr");
      const el = tr === null ? undefined : this.#byTr.get(tr);
      if (el?.row === undefined) return;
      if (target.closest("button.pin") !== null) {
        this.#togglePin(el.row);
        return;
      }
      this.#choose(el.row, false);
    });
    tbody.addEventListener("keydown", (event) => this.#key(event));
  }

  /** Run once when the first live price is shown. */
  set onFirstPrice(fn: () => void) {
    this.#onFirstPrice = fn;
  }

  /** Row elements created so far (bounded by the window, never per pair). */
  get rowsBuilt(): number {
    return this.#rowsBuilt;
  }

  /** Rows matching the filter (what the table would show unvirtualized). */
  get matching(): number {
    return this.#shown.length;
  }

  /** Pairs in the model. */
  get size(): number {
    return this.#rows.length;
  }

  /** Pairs that have a last price. */
  get priced(): number {
    let n = 0;
    for (const row of this.#rows) if (row.lastValue !== undefined) n++;
    return n;
  }

  /** The pinned symbols. */
  get pinned(): string[] {
    return [...this.#pinned];
  }

  /**
   * The newest ticker known for a symbol (on screen or not).
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
   * Replace the pairs (the scope changed); tickers of pairs that stay are
   * kept.
   *
   * @param pairs The scouted pairs.
   */
  setPairs(pairs: readonly PairView[]): void {
    const old = this.#bySymbol;
    this.#bySymbol = new Map();
    this.#rows = pairs.map((pair) => {
      const kept = old.get(pair.symbol);
      const search = `${pair.symbol} ${pair.id} ${pair.base}`.toLowerCase();
      const row: Row = {
        pair,
        ticker: kept?.ticker,
        lastValue: kept?.lastValue,
        pendingFlash: undefined,
        hay: search.replace(SEPARATORS, " "),
        compact: search.replace(/[^a-z0-9 ]/g, ""),
        index: -1,
      };
      this.#bySymbol.set(pair.symbol, row);
      return row;
    });
    if (this.#selected !== undefined) {
      this.#selected = this.#bySymbol.get(this.#selected.pair.symbol);
    }
    this.#focusRow = this.#focusRow === undefined
      ? undefined
      : this.#bySymbol.get(this.#focusRow.pair.symbol);
    for (const el of this.#els.values()) this.#release(el);
    this.#els.clear();
    this.#sortRows();
    this.#applyFilter();
    this.#focusRow ??= this.#shown[0];
    this.#render();
  }

  /**
   * Apply ticker rows from a batch: the model always, the DOM for rows in
   * view.
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
      if (merged.last !== undefined) {
        if (row.lastValue !== undefined && merged.last !== row.lastValue) {
          row.pendingFlash = merged.last > row.lastValue ? "up" : "down";
          this.#options.onPriceMove?.(row.pair.symbol);
        }
        row.lastValue = merged.last;
        if (!this.#firstPriceSeen) {
          this.#firstPriceSeen = true;
          this.#onFirstPrice?.();
        }
      }
      const el = this.#els.get(row);
      if (el !== undefined) this.#paint(el, row, nowMs);
    }
    if (tickers.length > 0 && this.#sortKey !== "symbol") {
      this.#sortDirty = true;
    }
  }

  /**
   * Recompute the freshness badges of the rows in view (once a second, and
   * on status changes); rows scrolled into view get theirs as they render.
   *
   * @param lastFrameAtMs When the stream last delivered a frame.
   * @param failed Symbols whose subscription failed.
   */
  refreshBadges(
    lastFrameAtMs: number | undefined,
    failed: Readonly<Record<string, string>> = {},
  ): void {
    this.#lastFrameAtMs = lastFrameAtMs;
    this.#failed = failed;
    const nowMs = Date.now();
    for (const [row, el] of this.#els) this.#badge(el, row, nowMs);
  }

  /** Re-sort if live values changed the order (call at a calm pace). */
  resortIfNeeded(): void {
    if (!this.#sortDirty) return;
    this.#sortDirty = false;
    if (this.#sortRows()) {
      this.#applyFilter();
      this.#render();
    }
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
    this.#sortRows();
    this.#applyFilter();
    this.#render();
    return this.sort;
  }

  /**
   * Show only rows matching the text (symbol, id or base asset).
   *
   * @param text What the person typed.
   * @returns How many rows match.
   */
  filter(text: string): number {
    this.#words = text.trim().toLowerCase().replace(SEPARATORS, " ").split(
      /\s+/,
    ).filter(Boolean);
    this.#applyFilter();
    if (this.#focusRow === undefined || this.#focusRow.index < 0) {
      this.#focusRow = this.#shown[0];
    }
    this.#scroller.scrollTop = 0;
    this.#render();
    return this.#shown.length;
  }

  /**
   * The symbols of the matching rows, in table order.
   *
   * @returns Symbols.
   */
  visibleSymbols(): string[] {
    return this.#shown.map((r) => r.pair.symbol);
  }

  /**
   * Mark a pair as selected (without calling `onSelect`).
   *
   * @param symbol WS v2 symbol, or `undefined` to clear.
   */
  markSelected(symbol: string | undefined): void {
    const before = this.#selected;
    this.#selected = symbol === undefined
      ? undefined
      : this.#bySymbol.get(symbol);
    for (const row of [before, this.#selected]) {
      const el = row === undefined ? undefined : this.#els.get(row);
      if (el !== undefined) {
        el.tr.setAttribute("aria-selected", String(row === this.#selected));
      }
    }
  }

  /**
   * Bring a row into view and render it (for tests and deep links).
   *
   * @param symbol WS v2 symbol.
   * @returns Its row element, or `undefined` when it does not match.
   */
  reveal(symbol: string): HTMLTableRowElement | undefined {
    const row = this.#bySymbol.get(symbol);
    if (row === undefined || row.index < 0) return undefined;
    this.#scrollTo(row);
    return this.#els.get(row)?.tr;
  }

  /** Sort the model; returns whether the order changed. */
  #sortRows(): boolean {
    const direction = this.#sortDescending ? -1 : 1;
    const key = this.#sortKey;
    const value = (row: Row): number | string | undefined => {
      const t = row.ticker;
      switch (key) {
        case "symbol":
          return row.pair.symbol;
        case "last":
          return t?.last;
        case "change":
          return t?.changePct;
        case "volume":
          return this.#volumeUsd(row);
        case "spread":
          return spreadBps(t?.bid, t?.ask);
      }
    };
    // Decorate once: the comparator reads precomputed values.
    const decorated = this.#rows.map((row) => ({ row, v: value(row) }));
    decorated.sort((a, b) => {
      const x = a.v;
      const y = b.v;
      // Rows without data sink to the bottom whatever the direction.
      if (x === undefined || y === undefined) {
        return x === y
          ? cmp(a.row.pair.symbol, b.row.pair.symbol)
          : x === undefined
          ? 1
          : -1;
      }
      const c = typeof x === "number" && typeof y === "number"
        ? x - y
        : cmp(String(x), String(y));
      return c === 0
        ? cmp(a.row.pair.symbol, b.row.pair.symbol)
        : c * direction;
    });
    let changed = false;
    for (let i = 0; i < decorated.length; i++) {
      const row = (decorated[i] as { row: Row }).row;
      if (this.#rows[i] !== row) changed = true;
      this.#rows[i] = row;
    }
    return changed;
  }

  #applyFilter(): void {
    const words = this.#words;
    const shown: Row[] = [];
    for (const row of this.#rows) {
      row.index = -1;
      if (
        words.every((w) => row.hay.includes(w) || row.compact.includes(w))
      ) {
        row.index = shown.length;
        shown.push(row);
      }
    }
    this.#shown = shown;
    this.#tbody.closest("table")?.setAttribute(
      "aria-rowcount",
      String(shown.length + 1),
    );
  }

  #queueRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      this.#renderQueued = false;
      this.#render();
    });
  }

  /**
   * Where the rows start inside the scroller's content, and the height of
   * the sticky head that covers the top of the view.
   */
  #geometry(): { offset: number; head: number; view: number } {
    const scroller = this.#scroller;
    const table = this.#tbody.closest("table") as HTMLTableElement;
    const head = table.tHead?.offsetHeight ?? 0;
    const offset = table.getBoundingClientRect().top -
      scroller.getBoundingClientRect().top + scroller.scrollTop + head;
    // The wrap is only as tall as its content (a max-height): after a
    // filter that left few rows it is short, so the window spans at least
    // the viewport.
    return { offset, head, view: Math.max(scroller.clientHeight, innerHeight) };
  }

  /** The window of shown rows to render: viewport plus overscan. */
  #range(): { first: number; end: number } {
    const height = this.#rowHeight || 28;
    const scroller = this.#scroller;
    const { offset, view } = this.#geometry();
    const top = Math.max(0, scroller.scrollTop - offset);
    const first = Math.max(0, Math.floor(top / height) - this.#overscan);
    const end = Math.min(
      this.#shown.length,
      Math.ceil((top + view) / height) + this.#overscan,
    );
    return { first, end: Math.max(first, end) };
  }

  #render(): void {
    const { first, end } = this.#range();
    this.#window = { first, end };
    const wanted = new Set(this.#shown.slice(first, end));
    for (const [row, el] of this.#els) {
      if (!wanted.has(row)) {
        this.#els.delete(row);
        this.#release(el);
      }
    }
    const nowMs = Date.now();
    let cursor = this.#tbody.firstElementChild;
    for (let i = first; i < end; i++) {
      const row = this.#shown[i] as Row;
      let el = this.#els.get(row);
      if (el === undefined) {
        el = this.#spare.pop() ?? this.#build();
        this.#bind(el, row, nowMs);
        this.#els.set(row, el);
      }
      el.tr.setAttribute("aria-rowindex", String(i + 2));
      // Move only rows out of place: a live re-sort moves a few.
      if (el.tr === cursor) cursor = cursor.nextElementSibling;
      else this.#tbody.insertBefore(el.tr, cursor);
    }
    // Rows released above are detached; nothing else follows the window.
    while (cursor !== null) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    this.#updateTabStop();
    // Measured once (reading it on every render would force a layout);
    // a resize measures again.
    if (this.#rowHeight === 0) {
      const firstTr = this.#tbody.firstElementChild as HTMLElement | null;
      const measured = firstTr?.offsetHeight ?? 0;
      if (measured > 0) {
        this.#rowHeight = measured;
        this.#queueRender();
      }
    }
    const height = this.#rowHeight || 28;
    this.#padTop.style.height = `${first * height}px`;
    this.#padBottom.style.height = `${(this.#shown.length - end) * height}px`;
  }

  #build(): RowEl {
    const tr = document.createElement("tr");
    this.#rowsBuilt++;
    tr.tabIndex = -1;
    const th = document.createElement("th");
    th.scope = "row";
    th.className = "sym";
    const pin = document.createElement("button");
    pin.type = "button";
    pin.className = "pin";
    pin.tabIndex = -1;
    const name = document.createElement("span");
    th.append(pin, name);
    tr.append(th);
    const last = cell(tr, "num last");
    const change = cell(tr, "num change");
    const volume = cell(tr, "num volume");
    const spread = cell(tr, "num spread");
    const fresh = cell(tr, "fresh");
    const badge = document.createElement("span");
    badge.className = "badge";
    fresh.append(badge);
    last.addEventListener("animationend", () => {
      last.classList.remove("flash-up", "flash-down");
    });
    const el: RowEl = {
      tr,
      name,
      pin,
      last,
      change,
      volume,
      spread,
      badge,
      row: undefined,
      badgeText: "",
    };
    this.#byTr.set(tr, el);
    return el;
  }

  #release(el: RowEl): void {
    el.row = undefined;
    el.tr.remove();
    el.last.classList.remove("flash-up", "flash-down");
    // Keep about one window of spares; the rest are garbage.
    if (this.#spare.length < this.#window.end - this.#window.first + 4) {
      this.#spare.push(el);
    }
  }

  #bind(el: RowEl, row: Row, nowMs: number): void {
    el.row = row;
    const pair = row.pair;
    el.tr.dataset.symbol = pair.symbol;
    el.tr.setAttribute("aria-selected", String(row === this.#selected));
    el.name.textContent = pair.symbol;
    // People read BTC/USD; scripts and the CLI's --json also know XBTUSD.
    el.name.parentElement!.title = `Kraken pair id ${pair.id}`;
    this.#paintPin(el, row);
    row.pendingFlash = undefined;
    el.last.classList.remove("flash-up", "flash-down");
    this.#paint(el, row, nowMs);
  }

  #paintPin(el: RowEl, row: Row): void {
    const pinned = this.#pinned.has(row.pair.symbol);
    el.pin.textContent = pinned ? "★" : "☆";
    el.pin.setAttribute("aria-pressed", String(pinned));
    el.pin.setAttribute(
      "aria-label",
      `${pinned ? "Unpin" : "Pin"} ${row.pair.symbol}`,
    );
  }

  #paint(el: RowEl, row: Row, nowMs: number): void {
    const t = row.ticker;
    setText(
      el.last,
      t?.last === undefined ? "—" : formatPrice(t.last, row.pair.priceDecimals),
    );
    if (row.pendingFlash !== undefined && this.#options.flash) {
      el.last.classList.remove("flash-up", "flash-down");
      el.last.classList.add(`flash-${row.pendingFlash}`);
    }
    row.pendingFlash = undefined;
    setText(el.change, formatPct(t?.changePct));
    el.change.dataset.sign = t?.changePct === undefined
      ? "0"
      : t.changePct > 0
      ? "+"
      : t.changePct < 0
      ? "-"
      : "0";
    setText(el.volume, formatUsdCompact(this.#volumeUsd(row)));
    const bps = spreadBps(t?.bid, t?.ask);
    setText(el.spread, bps === undefined ? "—" : `${bps.toFixed(1)} bp`);
    this.#badge(el, row, nowMs);
  }

  /** A row's 24 h volume in USD (see {@linkcode usdVolume}). */
  #volumeUsd(row: Row): number | undefined {
    return usdVolume(
      row.ticker?.volumeQuote,
      row.pair.quote,
      (symbol) => this.#bySymbol.get(symbol)?.ticker?.last,
    );
  }

  #badge(el: RowEl, row: Row, nowMs: number): void {
    const error = this.#failed[row.pair.symbol];
    if (error !== undefined) {
      this.#setBadge(el, "none", "no data");
      el.badge.title = error;
      return;
    }
    el.badge.title = "";
    const state = freshness(
      row.ticker?.updatedAtMs,
      this.#lastFrameAtMs,
      nowMs,
      this.#options.staleToleranceSec,
    );
    switch (state.kind) {
      case "live":
        this.#setBadge(el, "live", "live");
        return;
      case "stale":
        this.#setBadge(el, "stale", `stale ${formatAge(state.ageMs)}`);
        return;
      case "none":
        this.#setBadge(el, "none", "no data");
        return;
    }
  }

  #setBadge(el: RowEl, kind: string, text: string): void {
    if (el.badgeText === text) return;
    el.badgeText = text;
    el.badge.textContent = text;
    el.badge.dataset.fresh = kind;
  }

  /** Roving tabindex: the focus row's element, else the first in view. */
  #updateTabStop(): void {
    const focusEl = this.#focusRow === undefined
      ? undefined
      : this.#els.get(this.#focusRow);
    const stop = focusEl?.tr ??
      (this.#tbody.firstElementChild as HTMLTableRowElement | null);
    for (const el of this.#els.values()) {
      const index = el.tr === stop ? 0 : -1;
      if (el.tr.tabIndex !== index) el.tr.tabIndex = index;
    }
  }

  #togglePin(row: Row): void {
    const symbol = row.pair.symbol;
    if (this.#pinned.has(symbol)) this.#pinned.delete(symbol);
    else this.#pinned.add(symbol);
    const el = this.#els.get(row);
    if (el !== undefined) this.#paintPin(el, row);
    this.#options.onPinsChange?.(this.pinned);
  }

  #choose(row: Row, fromKeyboard: boolean): void {
    this.#focusRow = row;
    this.#updateTabStop();
    if (!fromKeyboard) this.#els.get(row)?.tr.focus({ preventScroll: true });
    this.markSelected(row.pair.symbol);
    this.#options.onSelect(row.pair);
  }

  /** Scroll so the row is in view (render now), keeping it off the edges. */
  #scrollTo(row: Row): void {
    const height = this.#rowHeight || 28;
    const scroller = this.#scroller;
    const { offset, head, view } = this.#geometry();
    const top = offset + row.index * height;
    if (top - head < scroller.scrollTop) {
      scroller.scrollTop = top - head;
    } else if (top + height > scroller.scrollTop + view) {
      scroller.scrollTop = top + height - view;
    }
    this.#render();
  }

  #key(event: KeyboardEvent): void {
    const tr = (event.target as Element).closest("tr");
    const el = tr === null ? undefined : this.#byTr.get(tr);
    const row = el?.row;
    if (row === undefined || row.index < 0) return;
    const rows = this.#shown;
    const index = row.index;
    const page = Math.max(
      1,
      Math.floor(
        (this.#scroller.clientHeight || innerHeight) /
          (this.#rowHeight || 28),
      ) - 1,
    );
    let next: Row | undefined;
    switch (event.key) {
      case "ArrowDown":
        next = rows[Math.min(rows.length - 1, index + 1)];
        break;
      case "ArrowUp":
        next = rows[Math.max(0, index - 1)];
        break;
      case "PageDown":
        next = rows[Math.min(rows.length - 1, index + page)];
        break;
      case "PageUp":
        next = rows[Math.max(0, index - page)];
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
      case "p":
        event.preventDefault();
        this.#togglePin(row);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next === undefined) return;
    this.#focusRow = next;
    this.#scrollTo(next);
    this.#updateTabStop();
    this.#els.get(next)?.tr.focus({ preventScroll: true });
  }
}
