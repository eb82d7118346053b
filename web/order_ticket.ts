/**
 * The order ticket of the detail view: mode badge, side, type, volume,
 * limit price, a required stop-loss pre-filled on the losing side, the USD
 * notional before sending, a confirm step, and the server's decision. It
 * talks to `/api/orders` with a same-origin fetch (the session cookie and
 * the page's Origin go along; no key ever reaches the page).
 *
 * @module
 */

import type { PairView } from "../worker/protocol.ts";

/** Default stop-loss distance from the reference price, percent. */
const STOP_DISTANCE_PCT = 2;

const MODE_LABELS: Record<string, string> = {
  "read_only": "READ-ONLY",
  "dry_run": "DRY-RUN",
  paper: "PAPER",
  live: "LIVE",
};

/** Trading info from `/api/config`. */
interface TradingInfo {
  mode: string;
  liveArmed: boolean;
  maxNotionalUsd: number;
  stopLossMaxDistancePct: number;
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
 * const ticket = new OrderTicket(document.getElementById("ticket")!);
 * await ticket.loadMode();
 * ticket.setPair(pair);
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
  #info: TradingInfo = {
    mode: "read_only",
    liveArmed: false,
    maxNotionalUsd: 0,
    stopLossMaxDistancePct: 10,
  };

  /**
   * Binds the markup.
   *
   * @param root The `#ticket` section.
   */
  constructor(root: HTMLElement) {
    this.#root = root;
    this.#form = el(root, "#ticket-form");
    this.#type = el(root, "#ticket-type");
    this.#volume = el(root, "#ticket-volume");
    this.#price = el(root, "#ticket-price");
    this.#stop = el(root, "#ticket-stop");
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
    el<HTMLButtonElement>(root, "#ticket-back").addEventListener(
      "click",
      () => {
        this.#back();
        el<HTMLButtonElement>(root, "#ticket-review").focus();
      },
    );
  }

  /**
   * Reads the trading mode from `/api/config` and shows it.
   *
   * @returns Resolves when shown.
   */
  async loadMode(): Promise<void> {
    try {
      const res = await fetch("/api/config");
      const body = await res.json();
      if (body.trading !== undefined) this.#info = body.trading;
    } catch {
      // Keep READ-ONLY: the safe reading of an unknown mode.
    }
    const mode = this.#info.mode === "live" && !this.#info.liveArmed
      ? "live_refused"
      : this.#info.mode;
    this.#mode.textContent = mode === "live_refused"
      ? "LIVE (NOT ARMED)"
      : MODE_LABELS[mode] ?? mode.toUpperCase();
    this.#mode.dataset.trading = mode;
    this.#root.dataset.trading = mode;
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
    this.#result.textContent = "";
    this.#result.dataset.decision = "";
    el(this.#root, "#ticket-pair").textContent = pair.symbol;
    this.#back();
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

  #reference(): number | undefined {
    if (this.#type.value === "limit") {
      const limit = Number(this.#price.value);
      return this.#price.value !== "" && limit > 0 ? limit : undefined;
    }
    return this.#side() === "buy" ? this.#ask : this.#bid;
  }

  #prefillStop(): void {
    const reference = this.#reference();
    if (this.#stopEdited || reference === undefined || !this.#pair) return;
    const factor = this.#side() === "buy"
      ? 1 - STOP_DISTANCE_PCT / 100
      : 1 + STOP_DISTANCE_PCT / 100;
    this.#stop.value = (reference * factor).toFixed(this.#pair.priceDecimals);
  }

  #update(): void {
    const limit = this.#type.value === "limit";
    this.#price.disabled = !limit;
    this.#price.required = limit;
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
    this.#summary.textContent =
      `${mode}: ${side.toUpperCase()} ${this.#volume.value} ${this.#pair.symbol} ${
        limit ? `limit ${this.#price.value}` : "at market"
      }, stop-loss ${this.#stop.value}. ${this.#notional.textContent}.`;
    this.#send.textContent = `Send ${side} order`;
    this.#confirm.hidden = false;
    this.#send.focus();
  }

  #back(): void {
    this.#confirm.hidden = true;
  }

  async #submit(): Promise<void> {
    if (this.#pair === undefined) return;
    const limit = this.#type.value === "limit";
    const body = {
      pair: this.#pair.id,
      side: this.#side(),
      type: limit ? "limit" : "market",
      volume: this.#volume.value.trim(),
      ...(limit ? { price: this.#price.value.trim() } : {}),
      stopLoss: this.#stop.value.trim(),
    };
    this.#send.disabled = true;
    this.#result.dataset.decision = "pending";
    this.#result.textContent = "Sending…";
    try {
      const res = await fetch("/api/orders", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await res.json();
      this.#show(answer);
    } catch (error) {
      this.#result.dataset.decision = "error";
      this.#result.textContent = `Not sent: ${
        error instanceof Error ? error.message : String(error)
      }`;
    } finally {
      this.#send.disabled = false;
      this.#back();
    }
  }

  // deno-lint-ignore no-explicit-any -- the server's JSON answer
  #show(answer: any): void {
    if (answer?.decision === "accepted") {
      const order = answer.order;
      this.#result.dataset.decision = "accepted";
      this.#result.textContent =
        `Accepted (${MODE_LABELS[answer.route] ?? answer.route}): notional ${
          Number(answer.notionalUsd).toFixed(2)
        } USD, stop-loss ${answer.stopLoss?.triggerPrice ?? "none"}` +
        (order
          ? `, order ${order.orderId ?? order.key} ${order.status}`
          : answer.route === "dry_run"
          ? ", nothing was sent"
          : "");
    } else if (answer?.decision === "rejected") {
      this.#result.dataset.decision = "rejected";
      this.#result.dataset.rule = answer.rule;
      this.#result.textContent = `Rejected (${answer.rule}): ${answer.message}`;
    } else {
      this.#result.dataset.decision = "error";
      this.#result.textContent = `Error: ${
        answer?.error?.message ?? "unexpected answer"
      }`;
    }
  }
}
