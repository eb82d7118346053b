/**
 * The order ticket of the detail view: mode badge, side, type, volume,
 * limit price, the USD notional before sending, a confirm step, and the
 * server's decision. A buy is an entry (`intent: "entry"`) and needs a
 * stop-loss, pre-filled on the losing side. "Sell (exit)" sells what the
 * account holds (`intent: "exit"`, no stop field: the server moves the
 * covering stop in the same step); it is offered unless the account is
 * known to hold none of the base asset. There is no take-profit: Kraken
 * spot has no one-cancels-other, so the stop holds the volume. With a
 * holding, "Close position…" sells it through `/api/orders/close`.
 *
 * It talks to `/api/orders` with a same-origin fetch (the session cookie
 * and the page's Origin go along; no key ever reaches the page).
 *
 * @module
 */

import type { PairView } from "../worker/protocol.ts";
import {
  describeExit,
  MODE_LABELS,
  type Outcome,
  showOutcome,
} from "./trade_outcome.ts";
import {
  type OrderAnswer,
  placeOrder,
  READ_ONLY,
  type TicketBody,
  type TradingInfo,
} from "./trading_api.ts";

/** Default stop-loss distance from the reference price, percent. */
const STOP_DISTANCE_PCT = 2;

/** Options of {@linkcode OrderTicket}. */
export interface OrderTicketOptions {
  /** After every order the ticket sent (the account panel refreshes). */
  onAction?: () => void;
  /** "Close position…" for the ticket's pair; show the outcome in `result`. */
  onClose?: (pairId: string, result: HTMLElement) => void;
}

function el<T extends HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (found === null) throw new Error(`Missing ticket element ${selector}`);
  return found;
}

/**
 * The ticket's behaviour over its markup in `index.html` (`#ticket`).
 *
 * @example Wire
 * ```ts ignore
 * const ticket = new OrderTicket(document.getElementById("ticket")!, { onAction });
 * ticket.setTrading(await loadTradingInfo());
 * ticket.setPair(pair);
 * ticket.setHoldings(new Map([["BTC", "0.001"]]));
 * ticket.setQuote(bestBid, bestAsk);
 * ```
 */
export class OrderTicket {
  #root: HTMLElement;
  #form: HTMLFormElement;
  #type: HTMLSelectElement;
  #volume: HTMLInputElement;
  #price: HTMLInputElement;
  #stop: HTMLInputElement;
  #stopField: HTMLElement;
  #stopHint: HTMLElement;
  #sellInput: HTMLInputElement;
  #sellNote: HTMLElement;
  #position: HTMLElement;
  #positionText: HTMLElement;
  #closeButton: HTMLButtonElement;
  #notional: HTMLElement;
  #confirm: HTMLElement;
  #summary: HTMLElement;
  #send: HTMLButtonElement;
  #result: HTMLElement;
  #mode: HTMLElement;
  #pair: PairView | undefined;
  #bid: number | undefined;
  #ask: number | undefined;
  #stopEdited = false;
  #info: TradingInfo = READ_ONLY;
  #holdings: ReadonlyMap<string, string> | undefined;
  #options: OrderTicketOptions;

  /**
   * Binds the markup.
   *
   * @param root The `#ticket` section.
   * @param options Callbacks after actions and for Close.
   */
  constructor(root: HTMLElement, options: OrderTicketOptions = {}) {
    this.#root = root;
    this.#options = options;
    this.#form = el(root, "#ticket-form");
    this.#type = el(root, "#ticket-type");
    this.#volume = el(root, "#ticket-volume");
    this.#price = el(root, "#ticket-price");
    this.#stop = el(root, "#ticket-stop");
    this.#stopField = el(root, "#ticket-stop-field");
    this.#stopHint = el(root, "#ticket-stop-hint");
    this.#sellInput = el(
      root,
      '#ticket-form input[name="ticket-side"][value="sell"]',
    );
    this.#sellNote = el(root, "#ticket-sell-note");
    this.#position = el(root, "#ticket-position");
    this.#positionText = el(root, "#ticket-position-text");
    this.#closeButton = el(root, "#ticket-close");
    this.#notional = el(root, "#ticket-notional");
    this.#confirm = el(root, "#ticket-confirm");
    this.#summary = el(root, "#ticket-summary");
    this.#send = el(root, "#ticket-send");
    this.#result = el(root, "#ticket-result");
    this.#mode = el(root, "#ticket-mode");
    this.#form.addEventListener("input", (event) => {
      if (event.target === this.#stop) this.#stopEdited = true;
      if (event.target !== this.#stop) this.#prefillStop();
      this.#back();
      this.#update();
    });
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#review();
    });
    this.#send.addEventListener("click", () => void this.#submit());
    this.#closeButton.addEventListener("click", () => {
      if (this.#pair !== undefined) {
        this.#options.onClose?.(this.#pair.id, this.#result);
      }
    });
    el<HTMLButtonElement>(root, "#ticket-back").addEventListener(
      "click",
      () => {
        this.#back();
        el<HTMLButtonElement>(root, "#ticket-review").focus();
      },
    );
  }

  /**
   * Shows the trading mode (from `/api/config`).
   *
   * @param info The trading info.
   */
  setTrading(info: TradingInfo): void {
    this.#info = info;
    const mode = info.mode === "live" && !info.liveArmed
      ? "live_refused"
      : info.mode;
    this.#mode.textContent = mode === "live_refused"
      ? "LIVE (NOT ARMED)"
      : MODE_LABELS[mode] ?? mode.toUpperCase();
    this.#mode.dataset.trading = mode;
    this.#root.dataset.trading = mode;
    this.#showHolding();
    this.#update();
  }

  /**
   * What the shown account holds (the account panel's balances): Sell
   * (exit) is refused up front only when the base asset is known to be 0.
   *
   * @param holdings Asset → balance, or `undefined` while unknown.
   */
  setHoldings(holdings: ReadonlyMap<string, string> | undefined): void {
    this.#holdings = holdings;
    this.#showHolding();
    this.#update();
  }

  /**
   * Shows the ticket for a pair (clears the form).
   *
   * @param pair The selected pair.
   */
  setPair(pair: PairView): void {
    if (this.#pair?.id === pair.id) return;
    this.#pair = pair;
    this.#bid = undefined;
    this.#ask = undefined;
    this.#stopEdited = false;
    this.#form.reset();
    this.#stop.value = "";
    showOutcome(this.#result, undefined);
    this.#result.dataset.decision = "";
    el(this.#root, "#ticket-pair").textContent = pair.symbol;
    this.#back();
    this.#showHolding();
    this.#update();
  }

  /**
   * New best prices from the book.
   *
   * @param bid Best bid.
   * @param ask Best ask.
   */
  setQuote(bid: number | undefined, ask: number | undefined): void {
    this.#bid = bid;
    this.#ask = ask;
    this.#prefillStop();
    this.#update();
  }

  #side(): "buy" | "sell" {
    const checked = this.#form.querySelector<HTMLInputElement>(
      'input[name="ticket-side"]:checked',
    );
    return checked?.value === "sell" ? "sell" : "buy";
  }

  /** The base asset held, `undefined` while unknown. */
  #held(): string | undefined {
    const base = this.#pair?.base;
    if (base === undefined || this.#holdings === undefined) return undefined;
    return this.#holdings.get(base) ?? "0";
  }

  #showHolding(): void {
    const held = this.#held();
    const base = this.#pair?.base ?? "";
    const none = held !== undefined && !(Number(held) > 0);
    this.#sellInput.disabled = none;
    this.#sellNote.textContent = none
      ? `Sell (exit) needs a holding: the account holds no ${base}.`
      : "";
    if (none && this.#sellInput.checked) {
      el<HTMLInputElement>(
        this.#form,
        'input[name="ticket-side"][value="buy"]',
      ).checked = true;
      // A reviewed exit is void once there is nothing left to sell.
      this.#back();
      this.#prefillStop();
    }
    const canClose = held !== undefined && Number(held) > 0 &&
      (this.#info.mode === "paper" ||
        (this.#info.mode === "live" && this.#info.liveArmed));
    this.#position.hidden = !canClose;
    this.#positionText.textContent = canClose ? `Held: ${held} ${base}` : "";
  }

  #reference(): number | undefined {
    if (this.#type.value === "limit") {
      const limit = Number(this.#price.value);
      return this.#price.value !== "" && limit > 0 ? limit : undefined;
    }
    return this.#side() === "buy" ? this.#ask : this.#bid;
  }

  #prefillStop(): void {
    const reference = this.#reference();
    if (
      this.#stopEdited || reference === undefined || !this.#pair ||
      this.#side() === "sell"
    ) return;
    const factor = this.#side() === "buy"
      ? 1 - STOP_DISTANCE_PCT / 100
      : 1 + STOP_DISTANCE_PCT / 100;
    this.#stop.value = (reference * factor).toFixed(this.#pair.priceDecimals);
  }

  #update(): void {
    const limit = this.#type.value === "limit";
    this.#price.disabled = !limit;
    this.#price.required = limit;
    const exit = this.#side() === "sell";
    // An exit carries no stop: the server moves the covering one.
    this.#stopField.hidden = exit;
    this.#stop.disabled = exit;
    this.#stop.required = !exit;
    const held = this.#held();
    this.#stopHint.textContent = exit
      ? `An exit sells what the account holds${
        held === undefined ? "" : ` (${held} ${this.#pair?.base ?? ""})`
      }; the stop-loss covering it is moved in the same step.`
      : "Required. Pre-filled 2 % on the losing side; edit it as you like.";
    const reference = this.#reference();
    const volume = Number(this.#volume.value);
    const quote = this.#pair?.quote ?? "USD";
    this.#notional.textContent = reference !== undefined && volume > 0
      ? `Notional ≈ ${(reference * volume).toFixed(2)} ${quote}` +
        (this.#info.maxNotionalUsd > 0
          ? ` (max ${this.#info.maxNotionalUsd} USD)`
          : "")
      : "Notional: enter a volume";
  }

  #review(): void {
    if (!this.#form.reportValidity() || this.#pair === undefined) return;
    const side = this.#side();
    const limit = this.#type.value === "limit";
    const mode = this.#mode.textContent ?? "";
    const where = limit ? `limit ${this.#price.value}` : "at market";
    this.#summary.textContent = side === "sell"
      ? `${mode}: SELL (EXIT) ${this.#volume.value} ${this.#pair.symbol} ${where}; the stop-loss covering it is moved. ${this.#notional.textContent}.`
      : `${mode}: BUY ${this.#volume.value} ${this.#pair.symbol} ${where}, stop-loss ${this.#stop.value}. ${this.#notional.textContent}.`;
    this.#send.textContent = side === "sell"
      ? "Send sell (exit) order"
      : "Send buy order";
    this.#confirm.hidden = false;
    this.#send.focus();
  }

  #back(): void {
    this.#confirm.hidden = true;
  }

  async #submit(): Promise<void> {
    const pair = this.#pair;
    if (pair === undefined) return;
    const limit = this.#type.value === "limit";
    const exit = this.#side() === "sell";
    const body: TicketBody = {
      pair: pair.id,
      side: exit ? "sell" : "buy",
      type: limit ? "limit" : "market",
      volume: this.#volume.value.trim(),
      intent: exit ? "exit" : "entry",
    };
    if (limit) body.price = this.#price.value.trim();
    if (!exit) body.stopLoss = this.#stop.value.trim();
    this.#send.disabled = true;
    this.#result.dataset.decision = "pending";
    this.#result.dataset.outcome = "pending";
    delete this.#result.dataset.rule;
    this.#result.textContent = "Sending…";
    try {
      const answer = await placeOrder(body);
      this.#result.dataset.decision = answer.decision;
      showOutcome(
        this.#result,
        exit ? describeExit(answer, pair.base) : this.#entryOutcome(answer),
      );
    } finally {
      this.#send.disabled = false;
      this.#back();
      this.#options.onAction?.();
    }
  }

  #entryOutcome(answer: OrderAnswer): Outcome {
    switch (answer.decision) {
      case "accepted": {
        const order = answer.order;
        return {
          outcome: "accepted",
          text:
            `Accepted (${
              MODE_LABELS[answer.route] ?? answer.route
            }): notional ${
              Number(answer.notionalUsd).toFixed(2)
            } USD, stop-loss ${answer.stopLoss?.triggerPrice ?? "none"}` +
            (order
              ? `, order ${order.orderId ?? order.key} ${order.status}`
              : answer.route === "dry_run"
              ? ", nothing was sent"
              : ""),
          alerts: [],
        };
      }
      case "rejected":
        return {
          outcome: "rejected",
          text: `Rejected (${answer.rule}): ${answer.message}`,
          alerts: [],
          rule: answer.rule,
        };
      case "error":
        return {
          outcome: "error",
          text: `Error: ${answer.message}`,
          alerts: [],
        };
    }
  }
}
