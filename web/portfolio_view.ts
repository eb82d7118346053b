/**
 * The Portfolio view (issue 17): what the account is worth and what it
 * made — equity in USD with each asset's line, positions with their FIFO
 * cost basis, unrealised and realised P&L, fees paid, deposits and
 * withdrawals kept apart from performance, and equity over time. The
 * server's account service computes everything (core/account); this view
 * reads `/api/account` once when it opens, then follows
 * `/api/account/events` (server-sent events: the newest document after
 * every change, marks included) instead of polling; bursts are coalesced
 * into one render per `coalesceMs`. If the event stream is refused, the
 * view reads `/api/account` once and tries the stream again later. Every
 * figure keeps the server's exact decimal in `data-value`; the text shows
 * cents.
 *
 * The chart is equity at each UTC day end reconstructed from the ledger
 * (`equityHistory`, the series `krakked equity --history` prints); without
 * one (paper mode, or while the history loads) it shows the samples the
 * server took since it started.
 *
 * In paper mode the server answers with the paper account in the same
 * shape (`source: "paper"`; its P&L is core/account's FIFO over the
 * paper fills).
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
  equityHistory?:
    | {
      timeSec: number;
      day: string;
      total: string;
      complete: boolean;
      unpriced?: string[];
    }[]
    | null;
  marks?: { streamed: number; rest: string[]; missing: string[] } | null;
}

/** The part of `EventSource` the view uses. */
export interface AccountEventSource {
  /** `2` once closed for good (the server refused the stream). */
  readonly readyState: number;
  /** Listen to a named event. */
  addEventListener(
    type: string,
    listener: (event: MessageEvent) => void,
  ): void;
  /** Called on errors (the browser retries unless closed). */
  onerror: ((event: Event) => void) | null;
  /** Close. */
  close(): void;
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
  /**
   * Opens the account's event stream (default
   * `new EventSource("/api/account/events")`; none where `EventSource` is
   * missing: then the view reads every `intervalMs`).
   */
  events?: () => AccountEventSource | undefined;
  /** Render at most once per this many ms (default 250). */
  coalesceMs?: number;
  /**
   * Without an event stream (refused or unsupported): the wait before the
   * next read and the next try, ms (default 15,000).
   */
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
  #coalesceMs: number;
  #openEvents: () => AccountEventSource | undefined;
  #source: AccountEventSource | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #pending: AccountDoc | undefined;
  #renderTimer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #chart: IChartApi | undefined;
  #series: ISeriesApi<"Line"> | undefined;
  #chartShape = "";
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
    this.#intervalMs = options.intervalMs ?? 15_000;
    this.#coalesceMs = options.coalesceMs ?? 250;
    this.#openEvents = options.events ??
      (() =>
        typeof EventSource === "undefined"
          ? undefined
          : new EventSource("/api/account/events", { withCredentials: true }));
  }

  #el<T extends HTMLElement = HTMLElement>(id: string): T {
    const el = this.#root.querySelector<T>(`#${id}`);
    if (el === null) throw new Error(`Portfolio: #${id} is missing`);
    return el;
  }

  /** Read the account now, then follow its changes. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#root.hidden = false;
    void this.refresh().then(() => {
      if (this.#running) this.#follow();
    });
  }

  /** Stop following. */
  stop(): void {
    this.#running = false;
    this.#source?.close();
    this.#source = undefined;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    if (this.#renderTimer !== undefined) clearTimeout(this.#renderTimer);
    this.#renderTimer = undefined;
    this.#pending = undefined;
  }

  /** Follow `/api/account/events`; without it, read again later. */
  #follow(): void {
    if (!this.#running || this.#source !== undefined) return;
    const source = this.#openEvents();
    if (source === undefined) {
      this.#later();
      return;
    }
    this.#source = source;
    source.addEventListener("account", (event) => {
      try {
        this.#coalesce(JSON.parse(String(event.data)) as AccountDoc);
      } catch { /* a malformed event: the next one replaces it */ }
    });
    source.onerror = () => {
      // CLOSED: the server refused the stream; the browser will not retry.
      if (source.readyState !== 2 || this.#source !== source) return;
      source.close();
      this.#source = undefined;
      this.#later();
    };
  }

  /** One read now, the stream again after `intervalMs`. */
  #later(): void {
    if (!this.#running || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.refresh().then(() => this.#follow());
    }, this.#intervalMs);
  }

  /** Render the newest document at most once per `coalesceMs`. */
  #coalesce(doc: AccountDoc): void {
    this.#pending = doc;
    if (this.#renderTimer !== undefined) return;
    this.#renderTimer = setTimeout(() => {
      this.#renderTimer = undefined;
      const next = this.#pending;
      this.#pending = undefined;
      if (next !== undefined && this.#running) this.render(next);
    }, this.#coalesceMs);
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
    const restMarks = doc.marks?.rest ?? [];
    const marks = restMarks.length > 0
      ? ` · marked by REST (not streamed): ${restMarks.join(", ")}`
      : "";
    state.textContent = `Updated ${
      new Date(doc.atMs).toLocaleTimeString()
    }${history}${marks}${
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
    // Day ends from the ledger when the server has them, else the samples
    // since it started (paper mode, or while the history loads).
    const daily = doc.equityHistory ?? [];
    const series = daily.length >= 2
      ? daily.map((p) => ({ sec: p.timeSec, equity: p.total }))
      : doc.history.map((s) => ({
        sec: Math.floor(s.atMs / 1000),
        equity: s.equity,
      }));
    box.dataset.series = daily.length >= 2 ? "ledger" : "samples";
    const left = [...new Set(daily.flatMap((p) => p.unpriced ?? []))];
    box.title = daily.length >= 2
      ? `Equity at each UTC day end: ledger balances at the account's own USD fill prices${
        left.length > 0 ? `; left out (no USD fill): ${left.join(", ")}` : ""
      }`
      : "Equity since the server started";
    box.dataset.points = String(series.length);
    if (series.length > 0) box.dataset.first = series[0]!.equity;
    if (series.length < 2) {
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
        timeScale: { timeVisible: true, secondsVisible: false },
      });
      this.#series = this.#chart.addSeries(LineSeries, {
        color: "#58a6ff",
        lineWidth: 2,
      });
    }
    // One point per second at most (the chart needs strictly rising times).
    const points = new Map<number, number>();
    for (const s of series) points.set(s.sec, Number(s.equity));
    this.#series!.setData(
      [...points].map(([time, value]) => ({
        time: time as UTCTimestamp,
        value,
      })),
    );
    // The whole range in view (a new series, or one more point).
    const shape = `${box.dataset.series}:${points.size}`;
    if (shape !== this.#chartShape) {
      this.#chartShape = shape;
      this.#chart.timeScale().fitContent();
    }
  }
}
