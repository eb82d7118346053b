/**
 * The Portfolio view (issue 17): what the account is worth and what it
 * made — equity in USD with each asset's line, positions with their FIFO
 * cost basis, unrealised and realised P&L, fees paid, deposits and
 * withdrawals kept apart from performance, and equity over time. The
 * server's account service computes everything (core/account); this view
 * reads `/api/account` and shows it. Every figure keeps the server's exact
 * decimal in `data-value`; the text shows cents.
 *
 * In paper mode the server answers with the paper account in the same
 * shape (`source: "paper"`).
 *
 * @module
 */

import {
  ColorType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type UTCTimestamp,
} from "lightweight-charts";

/** The parts of `/api/account` the view reads. */
export interface AccountDoc {
  source: "live" | "paper";
  phase: "loading" | "ready" | "failed";
  error: string | null;
  atMs: number;
  equity: {
    total: string;
    complete: boolean;
    unpriced: string[];
    byAsset: {
      asset: string;
      balance: string;
      price: string | null;
      value: string | null;
    }[];
  } | null;
  pnl: {
    totals: {
      realizedPnl: string;
      fees: string;
      income: string;
      netDeposits: string;
      unrealizedPnl: string;
      performance: string;
      trades: number;
    };
    positions: {
      asset: string;
      qty: string;
      costBasis: string;
      mark: string | null;
      unrealizedPnl: string | null;
    }[];
    unpriced: { kind: string; id: string; asset: string }[];
  } | null;
  cash: { deposits: string; withdrawals: string; count: number } | null;
  paper: {
    positions: {
      pair: string;
      qty: string;
      costBasis: string;
      markPrice: string | null;
      unrealizedPnl: string | null;
      realizedPnl: string;
      fees: string;
    }[];
    pnl: { realized: string; unrealized: string; fees: string; net: string };
  } | null;
  reconcile: { reason: string; drifts: unknown[]; error?: string } | null;
  driftReports: { reason: string; atMs: number; drifts: unknown[] }[];
  historyComplete: boolean;
  historyError: string | null;
  history: { atMs: number; equity: string }[];
}

/**
 * Rounds decimal text half up (away from zero) to cents, exactly, the way
 * the CLI's tables do.
 *
 * @param text Decimal text (`"-12.345"`).
 * @returns E.g. `"-12.35"`; `"—"` for anything that is not a decimal.
 * @example Cents
 * ```ts
 * import { centsOf } from "./portfolio_view.ts";
 * centsOf("56.625"); // "56.63"
 * ```
 */
export function centsOf(text: string | null | undefined): string {
  if (text == null) return "—";
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (m === null) return "—";
  const [, sign, int, frac = ""] = m;
  const digits = BigInt(int! + (frac + "000").slice(0, 3));
  const cents = (digits + 5n) / 10n;
  const whole = cents / 100n;
  const part = String(cents % 100n).padStart(2, "0");
  const negative = sign === "-" && cents !== 0n;
  return `${negative ? "−" : ""}${whole}.${part}`;
}

function cell(
  row: HTMLTableRowElement,
  text: string,
  value?: string | null,
  numeric = true,
): void {
  const td = row.insertCell();
  td.textContent = text;
  if (numeric) td.className = "num";
  if (value != null) td.dataset.value = value;
}

/** Options of {@linkcode PortfolioView}. */
export interface PortfolioViewOptions {
  /** Reads the account (default `fetch("/api/account")`). */
  load?: () => Promise<Response>;
  /** Refresh period while shown, ms (default 5,000). */
  intervalMs?: number;
}

/**
 * Shows `/api/account` in `root` (the `#portfolio` section).
 *
 * @example Show
 * ```ts ignore
 * const view = new PortfolioView(document.getElementById("portfolio")!);
 * view.start();
 * ```
 */
export class PortfolioView {
  #root: HTMLElement;
  #load: () => Promise<Response>;
  #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #chart: IChartApi | undefined;
  #series: ISeriesApi<"Line"> | undefined;
  /** The last document shown. */
  last: AccountDoc | undefined;

  /**
   * Bind to the section.
   *
   * @param root The `#portfolio` section.
   * @param options Loader and period.
   */
  constructor(root: HTMLElement, options: PortfolioViewOptions = {}) {
    this.#root = root;
    this.#load = options.load ??
      (() =>
        fetch("/api/account", {
          credentials: "same-origin",
          headers: { accept: "application/json" },
        }));
    this.#intervalMs = options.intervalMs ?? 5_000;
  }

  #el<T extends HTMLElement = HTMLElement>(id: string): T {
    const el = this.#root.querySelector<T>(`#${id}`);
    if (el === null) throw new Error(`Portfolio: #${id} is missing`);
    return el;
  }

  /** Load now and every few seconds. */
  start(): void {
    this.#root.hidden = false;
    void this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), this.#intervalMs);
  }

  /** Stop refreshing. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Read `/api/account` and show it. */
  async refresh(): Promise<void> {
    const state = this.#el("portfolio-state");
    try {
      const res = await this.#load();
      const body = await res.json();
      if (!res.ok) {
        state.textContent = body?.error?.message ?? `HTTP ${res.status}`;
        state.dataset.phase = "failed";
        if (res.status === 404) {
          // This server follows no account: nothing to show.
          this.stop();
          this.#root.hidden = true;
        }
        return;
      }
      if (body?.phase === "none") {
        // This server follows no account: nothing to show.
        this.stop();
        this.#root.hidden = true;
        return;
      }
      this.render(body as AccountDoc);
    } catch (error) {
      state.textContent = `Account unavailable: ${
        error instanceof Error ? error.message : String(error)
      }`;
    }
  }

  /**
   * Show one document.
   *
   * @param doc The account.
   */
  render(doc: AccountDoc): void {
    this.last = doc;
    const state = this.#el("portfolio-state");
    state.dataset.phase = doc.phase;
    this.#root.dataset.source = doc.source;
    this.#root.dataset.phase = doc.phase;
    this.#el("portfolio-source").textContent = doc.source === "paper"
      ? "paper"
      : "live (read-only view)";
    if (doc.phase === "loading") {
      state.textContent =
        "Loading the account: balances, open orders, trades and ledger, then reconciliation…";
      return;
    }
    if (doc.phase === "failed") {
      state.textContent = `The account could not be loaded: ${
        doc.error ?? "unknown error"
      }`;
      return;
    }
    const drifts = doc.driftReports.length;
    const history = doc.source === "live" && !doc.historyComplete
      ? ` · loading the trade and ledger history, P&L follows${
        doc.historyError ? ` (retrying: ${doc.historyError})` : ""
      }`
      : "";
    state.textContent = `Updated ${
      new Date(doc.atMs).toLocaleTimeString()
    }${history}${
      drifts > 0
        ? ` · drift reported ${drifts}× (latest on ${
          doc.driftReports.at(-1)!.reason
        }) — see the server log`
        : ""
    }`;
    const paper = doc.paper;
    const totals = doc.pnl?.totals;
    const figures: [string, string | null | undefined][] = [
      ["equity", doc.equity?.total],
      ["unrealized", totals?.unrealizedPnl ?? paper?.pnl.unrealized],
      ["realized", totals?.realizedPnl ?? paper?.pnl.realized],
      ["fees", totals?.fees ?? paper?.pnl.fees],
      ["income", totals?.income ?? null],
      ["deposits", doc.cash?.deposits ?? null],
      ["withdrawals", doc.cash?.withdrawals ?? null],
      ["performance", totals?.performance ?? paper?.pnl.net],
    ];
    for (const [name, value] of figures) {
      const el = this.#el(`portfolio-${name}`);
      el.textContent = centsOf(value);
      if (value == null) delete el.dataset.value;
      else el.dataset.value = value;
    }
    const unpriced = [
      ...(doc.equity?.unpriced ?? []),
      ...(doc.pnl?.unpriced.map((u) => `${u.kind} ${u.asset}`) ?? []),
    ];
    this.#el("portfolio-unpriced").textContent = unpriced.length > 0
      ? `Not valued (no price): ${[...new Set(unpriced)].join(", ")}`
      : "";
    this.#positions(doc);
    this.#assets(doc);
    this.#history(doc);
  }

  #positions(doc: AccountDoc): void {
    const body = this.#el<HTMLTableSectionElement>("portfolio-positions");
    body.replaceChildren();
    if (doc.pnl !== null) {
      for (const p of doc.pnl.positions) {
        const row = body.insertRow();
        row.dataset.asset = p.asset;
        cell(row, p.asset, null, false);
        cell(row, p.qty, p.qty);
        cell(row, centsOf(p.costBasis), p.costBasis);
        cell(row, p.mark ?? "—", p.mark);
        cell(row, centsOf(p.unrealizedPnl), p.unrealizedPnl);
      }
    } else if (doc.paper !== null) {
      for (const p of doc.paper.positions) {
        const row = body.insertRow();
        row.dataset.asset = p.pair;
        cell(row, p.pair, null, false);
        cell(row, p.qty, p.qty);
        cell(row, centsOf(p.costBasis), p.costBasis);
        cell(row, p.markPrice ?? "—", p.markPrice);
        cell(row, centsOf(p.unrealizedPnl), p.unrealizedPnl);
      }
    }
  }

  #assets(doc: AccountDoc): void {
    const body = this.#el<HTMLTableSectionElement>("portfolio-assets");
    body.replaceChildren();
    for (const a of doc.equity?.byAsset ?? []) {
      const row = body.insertRow();
      row.dataset.asset = a.asset;
      cell(row, a.asset, null, false);
      cell(row, a.balance, a.balance);
      cell(row, a.value === null ? "unpriced" : centsOf(a.value), a.value);
    }
  }

  #history(doc: AccountDoc): void {
    const box = this.#el("portfolio-chart");
    if (doc.history.length < 2) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    if (this.#chart === undefined) {
      this.#chart = createChart(box, {
        autoSize: true,
        layout: {
          background: { type: ColorType.Solid, color: "transparent" },
          textColor: "#c9d1d9",
        },
        grid: {
          vertLines: { color: "#21262d" },
          horzLines: { color: "#21262d" },
        },
        timeScale: { timeVisible: true, secondsVisible: true },
      });
      this.#series = this.#chart.addSeries(LineSeries, {
        color: "#58a6ff",
        lineWidth: 2,
      });
    }
    // One point per second at most (the chart needs strictly rising times).
    const points = new Map<number, number>();
    for (const s of doc.history) {
      points.set(Math.floor(s.atMs / 1000), Number(s.equity));
    }
    this.#series!.setData(
      [...points].map(([time, value]) => ({
        time: time as UTCTimestamp,
        value,
      })),
    );
  }
}
