/**
 * The account panel. Which account it shows follows `trading.mode`:
 *
 * - `paper`: the PAPER account from `GET /api/paper` (balances, positions
 *   with cost basis, mark, unrealized and realized P&L and fees, open paper
 *   orders with their stops), labelled PAPER and never mixed with the
 *   exchange account. There is no push path for it (the server's event
 *   stream carries the exchange account only), and reading it is also what
 *   re-matches paper stops against fresh books, so the panel reads it after
 *   every order action and every 2 s while the page is visible; one request
 *   at a time, nodes updated in place.
 * - otherwise: the exchange account as the server's private stream keeps it
 *   (balances, open orders), read-only unless live orders are armed.
 *
 * Where orders can be placed (paper, armed live) each open order has a
 * Cancel button (a protective stop's refusal is shown with its rule), the
 * list has "Cancel all (keep stops)" and a separate "Cancel all incl.
 * stops…" behind a confirm step that states the consequence, and every held
 * position has Close (`POST /api/orders/close`, all or a typed volume).
 *
 * @module
 */

import type { AccountUpdate, PairView } from "../worker/protocol.ts";
import type { ConfirmDialog } from "./confirm_dialog.ts";
import { formatAmount, formatClock, formatSigned } from "./format.ts";
import { setText, syncChildren } from "./keyed_children.ts";
import {
  describeCancel,
  describeCancelAll,
  describeExit,
  MODE_LABELS,
  type Outcome,
  showOutcome,
} from "./trade_outcome.ts";
import {
  cancelAllOrders,
  cancelOrder,
  closePosition,
  loadPaperAccount,
  type PaperAccount,
  type PaperPositionView,
  READ_ONLY,
  type TradingInfo,
} from "./trading_api.ts";

/** Asset (common code) → balance text; `undefined` while unknown. */
export type Holdings = ReadonlyMap<string, string> | undefined;

/** Options of {@linkcode AccountPanel}. */
export interface AccountPanelOptions {
  /** The page's confirm dialog. */
  dialog: ConfirmDialog;
  /** The universe by pair id. */
  pairs: () => ReadonlyMap<string, PairView>;
  /** Quote currency of the universe (`USD`). */
  quote: string;
  /** Called when the holdings change (the ticket offers Sell (exit) and Close). */
  onHoldings?: (holdings: Holdings) => void;
  /** Paper refresh interval while visible, ms (default 2000). */
  pollMs?: number;
}

/** One open order as the list shows it (paper or exchange). */
interface OrderItem {
  id: string;
  pairLabel: string;
  base: string;
  side: string;
  type: string;
  volume: string;
  price: string | null;
  filled: string;
  status: string;
  stop: boolean;
}

interface BalanceItem {
  asset: string;
  balance: string;
  hold: string | undefined;
}

/** A held position: a paper position with its P&L, or a live holding. */
interface PositionItem {
  /** Canonical pair id. */
  pair: string;
  /** Quantity held (base). */
  qty: string;
  /** Paper valuation; `undefined` for a live holding. */
  paper: PaperPositionView | undefined;
}

const STREAM_NOTES: Record<AccountUpdate["stream"], string> = {
  connecting: "Connecting to the account stream…",
  live: "",
  reconnecting: "Account stream reconnecting; showing the last known state.",
  closed:
    "Account stream unavailable; showing the last answer from the server.",
};

const STOP_TYPES = new Set(["stop-loss", "stop-loss-limit", "trailing-stop"]);

function isStop(side: string, type: string): boolean {
  return side === "sell" && STOP_TYPES.has(type);
}

function part<T extends HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (found === null) {
    throw new TypeError(`Cannot show the account: ${selector} is missing`);
  }
  return found;
}

function cell(tag: "td" | "th", className = ""): HTMLTableCellElement {
  const el = document.createElement(tag);
  if (className !== "") el.className = className;
  return el;
}

function button(text: string, className: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  return b;
}

function span(className: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = className;
  return s;
}

/** Pending text in a status element. */
function showPending(el: HTMLElement, text: string): void {
  el.dataset.outcome = "pending";
  el.dataset.decision = "pending";
  delete el.dataset.rule;
  el.textContent = text;
}

/**
 * The account panel's behaviour over its markup (`#account` in `index.html`).
 *
 * @example Wire
 * ```ts ignore
 * const panel = new AccountPanel(document.getElementById("account")!, { dialog, pairs, quote: "USD" });
 * panel.setTrading(await loadTradingInfo(), { privateData: true });
 * // exchange mode: panel.showStream(batch.account) for each batch
 * ```
 */
export class AccountPanel {
  #section: HTMLElement;
  #options: AccountPanelOptions;
  #badge: HTMLElement;
  #banner: HTMLElement;
  #note: HTMLElement;
  #updated: HTMLElement;
  #result: HTMLElement;
  #balances: HTMLTableSectionElement;
  #holdHead: HTMLElement;
  #positionsSection: HTMLElement;
  #positions: HTMLUListElement;
  #positionsEmpty: HTMLElement;
  #pnl: HTMLElement;
  #orders: HTMLUListElement;
  #ordersEmpty: HTMLElement;
  #orderActions: HTMLElement;
  #cancelAll: HTMLButtonElement;
  #cancelAllStops: HTMLButtonElement;
  #trading: TradingInfo = READ_ONLY;
  #source: "exchange" | "paper" = "exchange";
  #canTrade = false;
  #paper: PaperAccount | undefined;
  #stream: AccountUpdate | undefined;
  #busy = new Set<string>();
  #inFlight: Promise<void> | undefined;
  #again = false;
  #timer: number | undefined;
  #holdingsKey = "";

  /**
   * Binds the markup.
   *
   * @param section The `#account` section.
   * @param options Dialog, universe, quote, holdings listener.
   */
  constructor(section: HTMLElement, options: AccountPanelOptions) {
    this.#section = section;
    this.#options = options;
    this.#badge = part(section, "#account-badge");
    this.#banner = part(section, "#account-banner");
    this.#note = part(section, "#account-note");
    this.#updated = part(section, "#account-updated");
    this.#result = part(section, "#account-result");
    this.#balances = part(section, "#balances");
    this.#holdHead = part(section, "#balances-hold");
    this.#positionsSection = part(section, "#positions-section");
    this.#positions = part(section, "#positions");
    this.#positionsEmpty = part(section, "#positions-empty");
    this.#pnl = part(section, "#paper-pnl");
    this.#orders = part(section, "#open-orders");
    this.#ordersEmpty = part(section, "#open-orders-empty");
    this.#orderActions = part(section, "#order-actions");
    this.#cancelAll = part(section, "#cancel-all");
    this.#cancelAllStops = part(section, "#cancel-all-stops");
    this.#cancelAll.addEventListener("click", () => void this.#cancelAllRun());
    this.#cancelAllStops.addEventListener(
      "click",
      () => void this.#cancelAllWithStops(),
    );
    document.addEventListener("visibilitychange", () => {
      if (this.#source !== "paper") return;
      if (document.visibilityState === "visible") void this.refresh();
      else clearTimeout(this.#timer);
    });
  }

  /** `paper` or `exchange`: which account the panel shows. */
  get source(): "exchange" | "paper" {
    return this.#source;
  }

  /** Whether the panel offers order actions (paper, or armed live). */
  get canTrade(): boolean {
    return this.#canTrade;
  }

  /**
   * Chooses the account to show from the trading set-up.
   *
   * @param trading The trading info.
   * @param server `privateData`: the server holds exchange credentials.
   */
  setTrading(trading: TradingInfo, server: { privateData: boolean }): void {
    this.#trading = trading;
    this.#source = trading.mode === "paper" ? "paper" : "exchange";
    this.#canTrade = trading.mode === "paper" ||
      (trading.mode === "live" && trading.liveArmed);
    const paper = this.#source === "paper";
    this.#section.dataset.source = this.#source;
    this.#section.dataset.trading = trading.mode;
    this.#section.hidden = !paper && !server.privateData;
    this.#badge.textContent = paper
      ? "PAPER"
      : this.#canTrade
      ? "LIVE"
      : "read-only";
    this.#badge.dataset.source = paper
      ? "paper"
      : this.#canTrade
      ? "live"
      : "read_only";
    this.#banner.hidden = !paper;
    // Paper positions carry P&L; live ones are the holdings Close can sell.
    this.#positionsSection.hidden = !paper && !this.#canTrade;
    this.#pnl.hidden = !paper;
    this.#holdHead.hidden = paper;
    this.#orderActions.hidden = !this.#canTrade;
    if (paper) {
      this.#note.textContent = "Loading the paper account…";
      void this.refresh();
    }
  }

  /**
   * The exchange account from a worker batch (ignored in paper mode: the
   * paper account never shows exchange data).
   *
   * @param update The worker's account update.
   */
  showStream(update: AccountUpdate): void {
    if (this.#source !== "exchange") return;
    this.#stream = update;
    const section = this.#section;
    section.dataset.stream = update.stream;
    section.dataset.ready = String(update.ready);
    section.dataset.restRefreshes = String(update.restRefreshes);
    if (!update.ready) {
      this.#note.textContent = STREAM_NOTES[update.stream] ||
        "Loading the account…";
      return;
    }
    this.#note.textContent = STREAM_NOTES[update.stream];
    this.#renderExchange();
  }

  /**
   * A stream error before any update (e.g. the worker could not start it).
   *
   * @param message Why.
   */
  showStreamError(message: string): void {
    if (this.#source !== "exchange") return;
    this.#note.textContent = `Account data unavailable: ${message}`;
  }

  /**
   * Reads the paper account now (paper mode; the exchange account is
   * pushed and needs nothing). Calls made while one is under way share it
   * and cause one more read after it.
   *
   * @returns Resolves when shown.
   */
  refresh(): Promise<void> {
    if (this.#source !== "paper") return Promise.resolve();
    if (this.#inFlight !== undefined) {
      this.#again = true;
      return this.#inFlight;
    }
    clearTimeout(this.#timer);
    this.#inFlight = this.#readPaper().finally(() => {
      this.#inFlight = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      } else if (document.visibilityState === "visible") {
        this.#timer = setTimeout(
          () => void this.refresh(),
          this.#options.pollMs ?? 2000,
        );
      }
    });
    return this.#inFlight;
  }

  /**
   * Asks to close (part of) what is held on a pair: the confirm dialog with
   * a volume field, then `POST /api/orders/close`; the outcome goes to
   * `result` (the panel's own status line by default).
   *
   * @param pairId Canonical pair id.
   * @param result Where to show the outcome.
   * @returns Resolves when done (or backed out).
   */
  async requestClose(
    pairId: string,
    result: HTMLElement = this.#result,
  ): Promise<void> {
    const pair = this.#options.pairs().get(pairId);
    const base = pair?.base ?? pairId;
    const symbol = pair?.symbol ?? pairId;
    const held = this.holdings()?.get(base);
    const heldText = held === undefined ? "what is held" : `${held} ${base}`;
    const stops = this.#orderItems().filter((o) =>
      o.stop && o.base === base && o.pairLabel === symbol
    );
    const mode = this.#modeLabel();
    const answer = await this.#options.dialog.ask({
      title: `Close ${symbol} · ${mode}`,
      text: `Sells ${heldText} at market (${mode}). ` +
        (stops.length > 0
          ? `The stop-loss covering it (${
            stops.map((s) => s.id).join(", ")
          }) is cancelled in the same step; a partial close places a new stop for what stays held.`
          : "No stop-loss covers it now."),
      confirmLabel: held === undefined
        ? `Sell all ${base} at market`
        : `Sell all ${held} ${base} at market`,
      volume: {
        label: `Volume to sell (${base})`,
        hint: "Leave empty to sell everything held.",
        placeholder: held === undefined ? "all" : `all ${held}`,
        partialLabel: (v) => `Sell ${v} ${base} at market`,
      },
    });
    if (!answer.confirmed) return;
    const key = `close:${pairId}`;
    this.#busy.add(key);
    this.#render();
    showPending(
      result,
      `Closing ${symbol}: selling ${
        answer.volume === "" ? heldText : `${answer.volume} ${base}`
      }…`,
    );
    const decision = await closePosition(
      answer.volume === ""
        ? { pair: pairId, all: true }
        : { pair: pairId, volume: answer.volume },
    );
    this.#busy.delete(key);
    this.#show(result, describeExit(decision, base), decision.decision);
    await this.refresh();
    this.#render();
    this.#keepFocus(result);
  }

  /**
   * What the shown account holds, by asset.
   *
   * @returns Balances, or `undefined` before the first answer.
   */
  holdings(): Holdings {
    if (this.#source === "paper") {
      const paper = this.#paper;
      return paper === undefined
        ? undefined
        : new Map(Object.entries(paper.balances));
    }
    const stream = this.#stream;
    return stream === undefined || !stream.ready
      ? undefined
      : new Map(stream.account.balances.map((b) => [b.asset, b.balance]));
  }

  // ---- internals ----

  #modeLabel(): string {
    return MODE_LABELS[this.#trading.mode] ?? this.#trading.mode.toUpperCase();
  }

  #show(el: HTMLElement, outcome: Outcome, decision: string): void {
    el.dataset.decision = decision;
    showOutcome(el, outcome);
  }

  /** After an action re-renders, keep the keyboard user somewhere useful. */
  #keepFocus(result: HTMLElement): void {
    const active = document.activeElement;
    if (
      active === null || active === document.body || !active.isConnected ||
      (active instanceof HTMLButtonElement && active.disabled)
    ) {
      result.tabIndex = -1;
      result.focus();
    }
  }

  async #readPaper(): Promise<void> {
    const answer = await loadPaperAccount();
    if ("decision" in answer) {
      this.#note.textContent =
        `Paper account unavailable: ${answer.message}; retrying` +
        (this.#paper === undefined ? "" : ", showing the last answer");
      this.#section.dataset.ready = String(this.#paper !== undefined);
      return;
    }
    this.#paper = answer;
    this.#note.textContent = "";
    this.#section.dataset.ready = "true";
    setText(this.#updated, `updated ${formatClock(Date.now())}`);
    this.#render();
  }

  #render(): void {
    if (this.#source === "paper") this.#renderPaper();
    else this.#renderExchange();
  }

  #pairsByLabel(): Map<string, PairView> {
    const byLabel = new Map<string, PairView>();
    for (const pair of this.#options.pairs().values()) {
      byLabel.set(pair.id, pair);
      byLabel.set(pair.symbol, pair);
    }
    return byLabel;
  }

  /** The USD (universe quote) pair of an asset, for Close. */
  #closePairOf(asset: string): PairView | undefined {
    if (asset === this.#options.quote) return undefined;
    for (const pair of this.#options.pairs().values()) {
      if (pair.base === asset && pair.quote === this.#options.quote) {
        return pair;
      }
    }
    return undefined;
  }

  #orderItems(): OrderItem[] {
    const byLabel = this.#pairsByLabel();
    if (this.#source === "paper") {
      return (this.#paper?.openOrders ?? []).map((o) => {
        const pair = byLabel.get(o.pair);
        return {
          id: o.id,
          pairLabel: pair?.symbol ?? o.pair,
          base: pair?.base ?? "",
          side: o.side,
          type: o.type,
          volume: o.volume,
          price: o.price,
          filled: o.filledQty,
          status: o.status,
          stop: isStop(o.side, o.type),
        };
      });
    }
    const stream = this.#stream;
    if (stream === undefined || !stream.ready) return [];
    return stream.account.openOrders.map((o) => {
      const pair = byLabel.get(o.pair);
      return {
        id: o.id,
        pairLabel: pair?.symbol ?? o.pair,
        base: pair?.base ?? o.pair.split("/")[0] ?? "",
        side: o.side,
        type: o.orderType,
        volume: o.volume,
        price: Number(o.price) > 0 ? o.price : null,
        filled: o.filled,
        status: o.status,
        stop: isStop(o.side, o.orderType),
      };
    });
  }

  #renderPaper(): void {
    const paper = this.#paper;
    if (paper === undefined) return;
    const quote = this.#options.quote;
    const balances: BalanceItem[] = Object.entries(paper.balances)
      .filter(([, balance]) => Number(balance) !== 0)
      .sort(([a], [b]) =>
        a === quote ? -1 : b === quote ? 1 : a < b ? -1 : a > b ? 1 : 0
      )
      .map(([asset, balance]) => ({ asset, balance, hold: undefined }));
    this.#renderBalances(balances);
    this.#renderPositions(
      paper.positions.map((p) => ({ pair: p.pair, qty: p.qty, paper: p })),
    );
    const pnl = paper.pnl;
    setText(
      this.#pnl,
      `Total P&L (${quote}): realized ${
        formatSigned(pnl.realized, 4)
      } · unrealized ${formatSigned(pnl.unrealized, 4)} · fees ${
        formatAmount(pnl.fees, 4)
      } · net ${formatSigned(pnl.net, 4)}`,
    );
    this.#renderOrders(this.#orderItems());
    this.#announceHoldings();
  }

  #renderExchange(): void {
    const stream = this.#stream;
    if (stream === undefined || !stream.ready) return;
    this.#renderBalances(stream.account.balances);
    if (this.#canTrade) {
      const held: PositionItem[] = [];
      for (const b of stream.account.balances) {
        const pair = Number(b.balance) > 0
          ? this.#closePairOf(b.asset)
          : undefined;
        if (pair !== undefined) {
          held.push({ pair: pair.id, qty: b.balance, paper: undefined });
        }
      }
      this.#renderPositions(held);
    }
    this.#renderOrders(this.#orderItems());
    this.#announceHoldings();
  }

  #announceHoldings(): void {
    const holdings = this.holdings();
    const key = holdings === undefined
      ? ""
      : [...holdings].map(([a, q]) => `${a}=${q}`).join(",");
    if (key === this.#holdingsKey) return;
    this.#holdingsKey = key;
    this.#options.onHoldings?.(holdings);
  }

  #renderBalances(items: readonly BalanceItem[]): void {
    const withHold = this.#source !== "paper";
    syncChildren(this.#balances, items, {
      key: (b) => b.asset,
      create: () => {
        const tr = document.createElement("tr");
        tr.append(cell("td"), cell("td", "num"));
        if (withHold) tr.append(cell("td", "num"));
        return tr;
      },
      update: (tr, b) => {
        const cells = tr.cells;
        setText(cells[0]!, b.asset);
        setText(cells[1]!, b.balance);
        if (withHold) setText(cells[2]!, b.hold ?? "—");
      },
    });
  }

  #renderPositions(positions: readonly PositionItem[]): void {
    const pairs = this.#options.pairs();
    const quote = this.#options.quote;
    this.#positionsEmpty.hidden = positions.length > 0;
    syncChildren(this.#positions, positions, {
      key: (p) => p.pair,
      create: (p) => {
        const li = document.createElement("li");
        li.className = "position";
        const head = document.createElement("div");
        head.className = "position-head";
        const name = document.createElement("strong");
        name.className = "position-pair";
        const close = button("Close", "close-position");
        close.addEventListener("click", () => void this.requestClose(p.pair));
        head.append(name, span("position-qty"), span("position-state"), close);
        const dl = document.createElement("dl");
        dl.className = "figures";
        for (
          const [field, label] of [
            ["costBasis", "Cost basis"],
            ["mark", "Mark"],
            ["unrealized", "Unrealized P&L"],
            ["realized", "Realized P&L"],
            ["fees", "Fees"],
            ["net", "Net realized"],
          ]
        ) {
          const div = document.createElement("div");
          const dt = document.createElement("dt");
          dt.textContent = label!;
          const dd = document.createElement("dd");
          dd.dataset.field = field;
          dd.className = "num";
          div.append(dt, dd);
          dl.append(div);
        }
        li.append(head, dl);
        return li;
      },
      update: (li, item) => {
        const p = item.paper;
        const pair = pairs.get(item.pair);
        const base = pair?.base ?? "";
        const open = Number(item.qty) !== 0;
        const label = pair?.symbol ?? item.pair;
        li.dataset.open = String(open);
        li.dataset.qty = item.qty;
        setText(part(li, ".position-pair"), label);
        setText(part(li, ".position-qty"), `${item.qty} ${base}`.trim());
        setText(part(li, ".position-state"), open ? "" : "closed");
        const close = part<HTMLButtonElement>(li, ".close-position");
        close.hidden = !open;
        close.disabled = this.#busy.has(`close:${item.pair}`);
        close.setAttribute(
          "aria-label",
          `Close ${label} position (${item.qty} ${base})`,
        );
        const dl = part(li, ".figures");
        dl.hidden = p === undefined;
        if (p === undefined) return;
        const decimals = pair?.priceDecimals ?? 2;
        const fields: Record<string, string> = {
          costBasis: `${formatAmount(p.costBasis, 2)} ${quote}`,
          mark: p.markPrice === null
            ? "—"
            : formatAmount(p.markPrice, decimals),
          unrealized: formatSigned(p.unrealizedPnl, 4),
          realized: formatSigned(p.realizedPnl, 4),
          fees: formatAmount(p.fees, 4),
          net: formatSigned(p.netRealizedPnl, 4),
        };
        for (const dd of li.querySelectorAll<HTMLElement>("dd")) {
          const value = fields[dd.dataset.field ?? ""] ?? "—";
          setText(dd, value);
          dd.dataset.sign = value.startsWith("−")
            ? "-"
            : value.startsWith("+")
            ? "+"
            : "";
        }
      },
    });
  }

  #renderOrders(items: readonly OrderItem[]): void {
    const withCancel = this.#canTrade;
    this.#ordersEmpty.hidden = items.length > 0;
    this.#cancelAll.disabled = items.length === 0 ||
      this.#busy.has("cancel-all");
    this.#cancelAllStops.disabled = items.length === 0 ||
      this.#busy.has("cancel-all");
    syncChildren(this.#orders, items, {
      key: (o) => o.id,
      create: (o) => {
        const li = document.createElement("li");
        li.className = "order";
        const what = span("order-what");
        const side = document.createElement("strong");
        side.className = "order-side";
        const role = span("role-badge");
        role.textContent = "stop";
        what.append(side, " ", span("order-desc"), " ", role);
        li.append(what, span("order-detail muted"));
        if (withCancel) {
          const cancel = button("Cancel", "cancel-order");
          cancel.addEventListener("click", () => void this.#cancelOne(o.id));
          li.append(cancel);
        }
        return li;
      },
      update: (li, o) => {
        li.dataset.role = o.stop ? "stop" : "order";
        li.dataset.side = o.side;
        setText(part(li, ".order-side"), o.side.toUpperCase());
        setText(
          part(li, ".order-desc"),
          `${o.type} ${o.volume} ${o.pairLabel}`,
        );
        part(li, ".role-badge").hidden = !o.stop;
        const price = o.price === null
          ? ""
          : `${o.stop ? "trigger" : "price"} ${o.price} · `;
        setText(
          part(li, ".order-detail"),
          `${price}filled ${o.filled} · ${o.status} · ${o.id}`,
        );
        const cancel = li.querySelector<HTMLButtonElement>(".cancel-order");
        if (cancel !== null) {
          cancel.disabled = this.#busy.has(`cancel:${o.id}`) ||
            this.#busy.has("cancel-all");
          cancel.setAttribute(
            "aria-label",
            `Cancel ${o.side} ${o.type} ${o.volume} ${o.pairLabel}${
              o.stop ? " (protective stop)" : ""
            }, order ${o.id}`,
          );
        }
      },
    });
  }

  async #cancelOne(id: string): Promise<void> {
    const key = `cancel:${id}`;
    if (this.#busy.has(key)) return;
    this.#busy.add(key);
    this.#render();
    showPending(this.#result, `Cancelling ${id}…`);
    const answer = await cancelOrder(id);
    this.#busy.delete(key);
    this.#show(this.#result, describeCancel(answer, id), answer.decision);
    await this.refresh();
    this.#render();
    this.#keepFocus(this.#result);
  }

  async #cancelAllRun(includeStops = false): Promise<void> {
    if (this.#busy.has("cancel-all")) return;
    this.#busy.add("cancel-all");
    this.#render();
    showPending(
      this.#result,
      includeStops
        ? "Cancelling every open order, stops included…"
        : "Cancelling every open order except protective stops…",
    );
    const answer = await cancelAllOrders(includeStops);
    this.#busy.delete("cancel-all");
    this.#show(this.#result, describeCancelAll(answer), answer.decision);
    await this.refresh();
    this.#render();
    this.#keepFocus(this.#result);
  }

  async #cancelAllWithStops(): Promise<void> {
    const covered = new Map<string, number>();
    for (const o of this.#orderItems()) {
      if (!o.stop) continue;
      const left = Number(o.volume) - Number(o.filled);
      covered.set(o.base, (covered.get(o.base) ?? 0) + left);
    }
    const coveredText = [...covered].map(([asset, qty]) =>
      `${Number(qty.toPrecision(12))} ${asset}`
    ).join(", ");
    const answer = await this.#options.dialog.ask({
      title: `Cancel all orders, including stops · ${this.#modeLabel()}`,
      text: coveredText === ""
        ? "This cancels every open order, protective stop-loss orders included. No stop is open now."
        : `This cancels every open order AND the protective stop-loss orders. ${coveredText} stays held with NO stop-loss: a fall in price is no longer limited. To sell instead, use Close.`,
      confirmLabel: "Cancel all incl. stops",
      danger: true,
    });
    if (answer.confirmed) await this.#cancelAllRun(true);
  }
}
