/**
 * The market-watch page: starts the module worker, builds the table, the
 * detail view and the status bar, and applies one worker batch per frame.
 *
 * Performance marks for tests and the report: `krakked:first-row` (table
 * rows on screen), `krakked:first-price` (first live price),
 * `krakked:first-candle` (first candles drawn), `krakked:history-cache-hit`
 * or `krakked:history-cache-miss` (the cached answer for a selection) and
 * `krakked:history-network` (history filled through the proxy).
 *
 * Counters for tests and devtools: `krakkedStats()` returns the batches
 * applied, the frames that applied more than one (the page applies at most
 * one per animation frame, so this stays 0), the most ticker rows in one
 * batch, and the table rows ever built (built once, then updated in place).
 *
 * @module
 */

import {
  type LadderDepth,
  PAGE_TIMEFRAMES,
  type PageTimeframe,
  type PairView,
  type StatusView,
  type WorkerBatch,
} from "../worker/protocol.ts";
import { AccountPanel } from "./account_panel.ts";
import { BookLadder } from "./book_view.ts";
import { ChartView } from "./chart_view.ts";
import { ConfirmDialog } from "./confirm_dialog.ts";
import { MarketTable, type SortKey } from "./market_table.ts";
import { OrderTicket } from "./order_ticket.ts";
import { StatusBar } from "./status_bar.ts";
import { TradeTape } from "./trades_view.ts";
import { loadTradingInfo } from "./trading_api.ts";
import { WorkerClient } from "./worker_client.ts";

performance.mark("krakked:start");

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) {
    throw new TypeError(`Cannot start the page: #${id} is missing`);
  }
  return el as T;
}

function markOnce(name: string): void {
  if (performance.getEntriesByName(name, "mark").length === 0) {
    performance.mark(name);
  }
}

interface View {
  pair: PairView | undefined;
  timeframe: PageTimeframe;
  depth: LadderDepth;
}

const CHART_CANDLES = 1000;

const chartEl = byId<HTMLDivElement>("chart");
const view: View = { pair: undefined, timeframe: "5m", depth: 10 };
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)").matches;
let pairsById = new Map<string, PairView>();
let toleranceSec = 60;
let chart: ChartView | undefined;

const statusBar = new StatusBar({
  ws: byId("ws-state"),
  reconnects: byId("ws-reconnects"),
  rest: byId("rest-state"),
  heartbeat: byId("heartbeat-age"),
  storage: byId("storage-state"),
  system: byId("system-state"),
  announcer: byId("announcer"),
});
const ladder = new BookLadder(
  byId("book-asks"),
  byId("book-bids"),
  byId("book-integrity"),
  byId("book-spread"),
);
const tape = new TradeTape(byId("trades"));
const dialog = new ConfirmDialog(byId<HTMLDialogElement>("confirm-dialog"));
let quote = "USD";
const account = new AccountPanel(byId("account"), {
  dialog,
  pairs: () => pairsById,
  get quote() {
    return quote;
  },
  onHoldings: (holdings) => ticket.setHoldings(holdings),
});
const ticket = new OrderTicket(byId("ticket"), {
  onAction: () => void account.refresh(),
  onClose: (pairId, result) => void account.requestClose(pairId, result),
});
let table: MarketTable | undefined;

const client = new WorkerClient(
  new Worker(new URL("./worker.js", import.meta.url), { type: "module" }),
  { onBatch: applyBatch },
);

Object.defineProperty(globalThis, "krakkedStats", {
  value: () => ({ ...client.stats, rowsBuilt: table?.rowsBuilt ?? 0 }),
});

function historyEvent(token: string): void {
  const events = chartEl.dataset.history ?? "";
  chartEl.dataset.history = events === "" ? token : `${events} ${token}`;
}

function notice(level: string, text: string): void {
  const list = byId<HTMLUListElement>("notices");
  const li = document.createElement("li");
  li.dataset.level = level;
  li.textContent = text;
  list.prepend(li);
  while (list.children.length > 5) list.lastElementChild?.remove();
}

function applyBatch(batch: WorkerBatch): void {
  if (batch.status !== undefined) {
    statusBar.show(batch.status);
    table?.refreshBadges(
      batch.status.lastFrameAtMs,
      batch.status.failedSymbols,
    );
  }
  if (batch.tickers.length > 0) {
    table?.update(batch.tickers);
    const selected = view.pair;
    const mine = selected === undefined
      ? undefined
      : batch.tickers.find((t) => t.symbol === selected.symbol);
    if (mine?.last !== undefined && selected !== undefined) {
      byId("detail-last").textContent = mine.last.toFixed(
        selected.priceDecimals,
      );
    }
  }
  if (batch.book !== undefined && batch.book.symbol === view.pair?.symbol) {
    ladder.show(batch.book);
    const bid = batch.book.bids[0]?.price;
    const ask = batch.book.asks[0]?.price;
    ticket.setQuote(
      bid === undefined ? undefined : Number(bid),
      ask === undefined ? undefined : Number(ask),
    );
  }
  if (batch.trades.length > 0) {
    tape.add(batch.trades.filter((t) => t.symbol === view.pair?.symbol));
  }
  for (const chunk of batch.history) {
    if (chunk.pair !== view.pair?.id || chunk.timeframe !== view.timeframe) {
      continue;
    }
    chart?.setHistory(chunk.candles, view.pair.priceDecimals);
    markOnce("krakked:history-network");
    historyEvent(`network:${chunk.candles.length}`);
    if (chunk.candles.length > 0) markOnce("krakked:first-candle");
    chartEl.dataset.bars = String(chart?.barCount ?? 0);
  }
  const live = batch.liveCandle;
  if (
    live !== undefined && live.pair === view.pair?.id &&
    live.timeframe === view.timeframe && chart?.update(live.candle)
  ) {
    markOnce("krakked:first-candle");
    chartEl.dataset.bars = String(chart.barCount);
  }
  const progress = batch.progress;
  if (
    progress !== undefined && progress.pair === view.pair?.id &&
    progress.timeframe === view.timeframe
  ) {
    showProgress(progress.phase, progress.done, progress.total, progress.error);
  }
  if (batch.account !== undefined) account.showStream(batch.account);
  for (const n of batch.notices) notice(n.level, n.message);
}

function showProgress(
  phase: string,
  done: number,
  total: number,
  error?: string,
): void {
  const bar = byId<HTMLProgressElement>("backfill-bar");
  const label = byId("backfill-label");
  const box = byId("backfill");
  box.dataset.phase = phase;
  if (phase === "done") {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (phase === "failed") {
    bar.removeAttribute("value");
    label.textContent = `History backfill failed: ${error ?? "unknown error"}`;
    return;
  }
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, total);
  label.textContent = `Loading ${
    phase === "ohlc" ? "candles" : "older trades"
  }: ${Math.round(done)} of ${Math.round(total)} intervals`;
}

async function select(pair: PairView | undefined): Promise<void> {
  view.pair = pair;
  table?.markSelected(pair?.symbol);
  const detail = byId("detail");
  const title = byId("detail-title");
  if (pair === undefined) {
    title.textContent = "Select a market";
    detail.dataset.pair = "";
    return;
  }
  const timeframe = view.timeframe;
  history.replaceState(
    null,
    "",
    `#${encodeURIComponent(pair.id)}/${timeframe}`,
  );
  title.textContent = `${pair.symbol} · ${timeframe}`;
  detail.dataset.pair = pair.id;
  byId("detail-body").hidden = false;
  ticket.setPair(pair);
  chart ??= new ChartView(chartEl);
  chart.clear();
  chartEl.dataset.history = "";
  chartEl.dataset.bars = "0";
  tape.clear();
  const result = await client.request("select", {
    pair: pair.id,
    timeframe,
    depth: view.depth,
    limit: CHART_CANDLES,
  });
  if (view.pair?.id !== pair.id || view.timeframe !== timeframe) return;
  if (!result.ok) {
    notice("error", `Cannot show ${pair.symbol}: ${result.error.message}`);
    return;
  }
  const candles = result.value.candles;
  if (candles.length > 0) {
    chart.setHistory(candles, pair.priceDecimals);
    markOnce("krakked:history-cache-hit");
    markOnce("krakked:first-candle");
    historyEvent(`cache:${candles.length}`);
  } else {
    markOnce("krakked:history-cache-miss");
    historyEvent("cache:0");
  }
  chartEl.dataset.bars = String(chart.barCount);
}

function setTimeframe(timeframe: PageTimeframe): void {
  view.timeframe = timeframe;
  for (
    const button of document.querySelectorAll<HTMLButtonElement>(
      "[data-timeframe]",
    )
  ) {
    button.setAttribute(
      "aria-pressed",
      String(button.dataset.timeframe === timeframe),
    );
  }
  if (view.pair !== undefined) void select(view.pair);
}

function wireControls(): void {
  const group = byId("timeframes");
  for (const timeframe of PAGE_TIMEFRAMES) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = timeframe;
    button.dataset.timeframe = timeframe;
    button.setAttribute("aria-pressed", String(timeframe === view.timeframe));
    button.addEventListener("click", () => setTimeframe(timeframe));
    group.append(button);
  }
  const depth = byId<HTMLSelectElement>("book-depth");
  depth.addEventListener("change", () => {
    view.depth = depth.value === "25" ? 25 : 10;
    if (view.pair !== undefined) {
      void client.request("select", {
        pair: view.pair.id,
        timeframe: view.timeframe,
        depth: view.depth,
        limit: CHART_CANDLES,
      });
    }
  });
  for (
    const button of document.querySelectorAll<HTMLButtonElement>("[data-sort]")
  ) {
    button.addEventListener("click", () => {
      if (table === undefined) return;
      const sort = table.sortBy(button.dataset.sort as SortKey);
      for (
        const th of document.querySelectorAll<HTMLElement>(
          "#market-table th[aria-sort]",
        )
      ) {
        th.setAttribute("aria-sort", "none");
      }
      button.closest("th")?.setAttribute(
        "aria-sort",
        sort.descending ? "descending" : "ascending",
      );
    });
  }
  const filter = byId<HTMLInputElement>("filter");
  let filterTimer: number | undefined;
  filter.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      const shown = table?.filter(filter.value) ?? 0;
      byId("row-count").textContent = `${shown} markets`;
    }, 120);
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      filter.value = "";
      filter.dispatchEvent(new Event("input"));
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      byId("market-body").querySelector<HTMLElement>("tr[tabindex='0']")
        ?.focus();
    }
  });
  document.addEventListener("keydown", (event) => {
    const target = event.target as HTMLElement;
    if (
      event.key === "/" && !(target instanceof HTMLInputElement) &&
      !(target instanceof HTMLSelectElement)
    ) {
      event.preventDefault();
      filter.focus();
    }
  });
}

let watchTimer: number | undefined;
function watch(symbols: string[]): void {
  clearTimeout(watchTimer);
  watchTimer = setTimeout(() => {
    void client.request("watch", { symbols });
  }, 150);
}

async function watchAccount(): Promise<void> {
  byId("account-note").textContent = "Connecting to the account stream…";
  const result = await client.request("watchAccount", {});
  if (!result.ok) account.showStreamError(result.error.message);
}

async function start(): Promise<void> {
  wireControls();
  const trading = loadTradingInfo();
  void trading.then((info) => ticket.setTrading(info));
  const init = await client.request("init", {});
  if (!init.ok) {
    byId("ws-state").textContent = "not started";
    notice("error", `Cannot start: ${init.error.message}`);
    byId("market-note").textContent =
      `The market list could not be loaded: ${init.error.message}. Reload to retry.`;
    return;
  }
  const { config, pairs, storage } = init.value;
  toleranceSec = config.staleToleranceSec;
  pairsById = new Map(pairs.map((p) => [p.id, p]));
  quote = config.quote;
  document.body.dataset.mode = config.mode;
  byId("mode-badge").textContent = config.simulated ? "SIMULATED" : "LIVE";
  byId("mode-badge").dataset.mode = config.mode;
  byId("sim-banner").hidden = !config.simulated;
  byId("version").textContent = `Krakked ${config.version}`;
  byId("storage-state").textContent = storage.kind === "indexeddb"
    ? "IndexedDB"
    : "memory only";
  table = new MarketTable(byId("market-body"), {
    onSelect: (pair) => void select(pair),
    onVisibleChange: watch,
    staleToleranceSec: toleranceSec,
    flash: !reducedMotion,
  });
  table.onFirstPrice = () => markOnce("krakked:first-price");
  table.setPairs(pairs);
  byId("row-count").textContent = `${pairs.length} markets`;
  byId("market-note").textContent = pairs.length === 0
    ? "No markets match the server's universe."
    : "";
  if (pairs.length > 0) markOnce("krakked:first-row");
  await client.request("watch", { symbols: table.visibleSymbols() });

  const [id, timeframe] = decodeURIComponent(location.hash.slice(1)).split("/");
  const known = PAGE_TIMEFRAMES.find((t) => t === timeframe);
  if (known !== undefined) setTimeframe(known);
  const initial = id === undefined ? undefined : pairsById.get(id);
  if (initial !== undefined) void select(initial);

  setInterval(() => {
    const status: StatusView | undefined = statusBar.last;
    table?.refreshBadges(status?.lastFrameAtMs, status?.failedSymbols);
    statusBar.tick();
  }, 1000);
  setInterval(() => table?.resortIfNeeded(), 2000);

  const info = await trading;
  account.setTrading(info, { privateData: config.privateData });
  if (account.source === "exchange" && config.privateData) {
    // The worker follows the server's account stream; updates arrive in
    // batches, and REST is asked only after a reconnect or a gap. In paper
    // mode the panel shows the paper account and never the exchange's.
    void watchAccount();
  }
}

void start();
