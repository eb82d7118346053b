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
 * batch, the row elements ever built and in the DOM now (the table is
 * virtual: a window's worth, whatever the number of pairs), the pairs in
 * the model, priced and matching the filter, and the worker's watch
 * (sockets, subscriptions, focus). `krakkedMoves` is the set of symbols
 * whose price moved since a test last cleared it.
 *
 * @module
 */

import {
  type ConfigView,
  type InitInfo,
  type LadderDepth,
  PAGE_TIMEFRAMES,
  type PageTimeframe,
  type PairView,
  type ProgressView,
  type StatusView,
  type WorkerBatch,
} from "../worker/protocol.ts";
import { AccountPanel } from "./account_panel.ts";
import { BookLadder } from "./book_view.ts";
import { ChartView } from "./chart_view.ts";
import { ConfirmDialog } from "./confirm_dialog.ts";
import { formatPrice } from "./format.ts";
import { MarketTable, type SortKey } from "./market_table.ts";
import { OpsView } from "./ops_view.ts";
import { OrderTicket } from "./order_ticket.ts";
import { PortfolioView } from "./portfolio_view.ts";
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
  value: () => ({
    ...client.stats,
    rowsBuilt: table?.rowsBuilt ?? 0,
    rowsInDom: document.querySelectorAll("#market-body tr").length,
    pairs: table?.size ?? 0,
    priced: table?.priced ?? 0,
    matching: table?.matching ?? 0,
    watch: statusBar.last?.watch,
  }),
});

// The table itself, for devtools and the bench (tests/e2e/watch_bench.ts).
Object.defineProperty(globalThis, "krakkedTable", { get: () => table });

/** Symbols whose price moved since the set was last cleared (tests). */
const moves = new Set<string>();
Object.defineProperty(globalThis, "krakkedMoves", { value: moves });

const PINS_KEY = "krakked:pinned";

function loadPins(): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(PINS_KEY) ?? "[]");
    return Array.isArray(value)
      ? value.filter((s): s is string => typeof s === "string").slice(0, 100)
      : [];
  } catch {
    // Storage unavailable or garbage: start without pins.
    return [];
  }
}

let allQuotes = false;

/**
 * Tell the worker what the watch covers: the pins (focus) and the scope
 * (the server's quote or every quote). A new scope brings its pairs.
 */
async function sendWatch(pinned: string[]): Promise<void> {
  try {
    localStorage.setItem(PINS_KEY, JSON.stringify(pinned));
  } catch {
    // Pins still work for this session.
  }
  const scope = allQuotes;
  const result = await client.request("watch", { pinned, allQuotes: scope });
  if (!result.ok) {
    notice("error", `Cannot change the watch: ${result.error.message}`);
    return;
  }
  if (table === undefined || scope !== allQuotes) return;
  if (result.value.pairs.length !== table.size) {
    pairsById = new Map(result.value.pairs.map((p) => [p.id, p]));
    table.setPairs(result.value.pairs);
    byId("row-count").textContent = `${table.matching} markets`;
  }
}

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

/** The watch in one line: sockets, subscriptions, what is in focus. */
function showWatch(status: StatusView): void {
  const watch = status.watch;
  if (watch === undefined) return;
  const focus = watch.focus.length === 0 ? "none" : watch.focus.join(", ");
  const parts = [
    `${watch.scouted} scouted`,
    `${watch.connections} socket${watch.connections === 1 ? "" : "s"}`,
    `${watch.subscriptions} subscriptions`,
    `focus: ${focus}`,
  ];
  if (watch.unscouted > 0) parts.push(`${watch.unscouted} over budget`);
  const text = parts.join(" · ");
  const el = byId("watch-state");
  if (el.textContent !== text) el.textContent = text;
  el.title = `Subscriptions per socket: ${watch.perConnection.join(", ")}`;
}

function applyBatch(batch: WorkerBatch): void {
  if (batch.status !== undefined) {
    statusBar.show(batch.status);
    showWatch(batch.status);
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
    if (mine?.last !== undefined) showDetailPrice(mine.last);
  }
  if (batch.book !== undefined && batch.book.symbol === view.pair?.symbol) {
    ladder.show(batch.book, view.pair.priceDecimals);
    const bid = batch.book.bids[0]?.price;
    const ask = batch.book.asks[0]?.price;
    ticket.setQuote(
      bid === undefined ? undefined : Number(bid),
      ask === undefined ? undefined : Number(ask),
    );
  }
  if (batch.trades.length > 0) {
    const mine = batch.trades.filter((t) => t.symbol === view.pair?.symbol);
    tape.add(mine);
    const newest = mine.at(-1);
    if (newest !== undefined) showDetailPrice(Number(newest.price));
  }
  for (const chunk of batch.history) {
    if (chunk.pair !== view.pair?.id || chunk.timeframe !== view.timeframe) {
      continue;
    }
    chart?.setHistory(chunk.candles, view.pair.priceDecimals);
    markOnce("krakked:history-network");
    historyEvent(`network:${chunk.candles.length}`);
    if (chunk.candles.length > 0) markOnce("krakked:first-candle");
    chartDrawn();
  }
  const live = batch.liveCandle;
  if (
    live !== undefined && live.pair === view.pair?.id &&
    live.timeframe === view.timeframe && chart?.update(live.candle)
  ) {
    markOnce("krakked:first-candle");
    showDetailPrice(live.candle.close);
    chartDrawn();
  }
  const progress = batch.progress;
  if (
    progress !== undefined && progress.pair === view.pair?.id &&
    progress.timeframe === view.timeframe
  ) {
    showProgress(progress, view.pair);
  }
  if (batch.account !== undefined) account.showStream(batch.account);
  for (const n of batch.notices) notice(n.level, n.message);
}

/**
 * The history bar of the selected series. It names the series it is about
 * (a label never outlives its selection: `select` hides it), counts trade
 * pages rather than intervals for older history (the page budget is what
 * bounds that phase), and stays out of the way while the chart already
 * shows candles and only the newest few are being topped up.
 */
function showProgress(progress: ProgressView, pair: PairView): void {
  const bar = byId<HTMLProgressElement>("backfill-bar");
  const label = byId("backfill-label");
  const box = byId("backfill");
  box.dataset.phase = progress.phase;
  box.dataset.series = `${pair.id}/${progress.timeframe}`;
  const series = `${pair.symbol} ${progress.timeframe}`;
  const haveCandles = (chart?.historyCount ?? 0) > 0;
  if (
    progress.phase === "done" || (progress.phase === "ohlc" && haveCandles)
  ) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (progress.phase === "failed") {
    bar.removeAttribute("value");
    label.textContent = `History for ${series} stopped: ${
      progress.error ?? "unknown error"
    }`;
    return;
  }
  if (progress.total > 0) {
    bar.max = progress.total;
    bar.value = Math.min(progress.done, progress.total);
  } else {
    bar.removeAttribute("value");
  }
  label.textContent = progress.phase === "ohlc"
    ? `Loading ${series} candles…`
    : `Loading older ${series} history from trades: page ${
      Math.min(progress.done + 1, progress.total)
    } of at most ${progress.total}`;
}

function resetProgress(): void {
  const box = byId("backfill");
  box.hidden = true;
  box.dataset.phase = "";
  box.dataset.series = "";
  byId("backfill-label").textContent = "";
}

/** The title's price: the newest known price of the selected pair. */
function showDetailPrice(price: number | undefined): void {
  const pair = view.pair;
  if (pair === undefined || price === undefined || !Number.isFinite(price)) {
    return;
  }
  const text = formatPrice(price, pair.priceDecimals);
  const el = byId("detail-last");
  if (el.textContent !== text) el.textContent = text;
}

function chartDrawn(): void {
  chartEl.dataset.bars = String(chart?.barCount ?? 0);
  const close = chart?.lastClose;
  chartEl.dataset.last = close === undefined || view.pair === undefined
    ? ""
    : formatPrice(close, view.pair.priceDecimals);
  // No ticker or trade yet: the newest candle's close is the price known.
  if (byId("detail-last").textContent === "") showDetailPrice(close);
  // Candles are on screen now: a "loading candles" bar has nothing to add.
  const box = byId("backfill");
  if (box.dataset.phase === "ohlc" && (chart?.historyCount ?? 0) > 0) {
    box.hidden = true;
  }
}

async function select(pair: PairView | undefined): Promise<void> {
  view.pair = pair;
  table?.markSelected(pair?.symbol);
  const detail = byId("detail");
  const title = byId("detail-title");
  if (pair === undefined) {
    title.textContent = "Select a market";
    title.title = "";
    detail.dataset.pair = "";
    resetProgress();
    return;
  }
  const timeframe = view.timeframe;
  history.replaceState(
    null,
    "",
    `#${encodeURIComponent(pair.id)}/${timeframe}`,
  );
  title.textContent = `${pair.symbol} · ${timeframe}`;
  title.title = `Kraken pair id ${pair.id}`;
  const samePair = detail.dataset.pair === pair.id;
  detail.dataset.pair = pair.id;
  byId("detail-body").hidden = false;
  ticket.setPair(pair);
  chart ??= new ChartView(chartEl);
  chart.clear();
  chartEl.dataset.history = "";
  chartDrawn();
  resetProgress();
  // Trades do not depend on the timeframe: the tape (and the worker's
  // trade subscription) stays when only the timeframe changes.
  if (!samePair) {
    tape.clear();
    byId("detail-last").textContent = "";
  }
  showDetailPrice(table?.ticker(pair.symbol)?.last);
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
  chartDrawn();
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
  const everyQuote = byId<HTMLInputElement>("all-quotes");
  everyQuote.addEventListener("change", () => {
    allQuotes = everyQuote.checked;
    void sendWatch(table?.pinned ?? []);
  });
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

async function watchAccount(): Promise<void> {
  byId("account-note").textContent = "Connecting to the account stream…";
  const result = await client.request("watchAccount", {});
  if (!result.ok) account.showStreamError(result.error.message);
}

function showMode(config: ConfigView): void {
  document.body.dataset.mode = config.mode;
  byId("mode-badge").textContent = config.simulated ? "SIMULATED" : "LIVE";
  byId("mode-badge").dataset.mode = config.mode;
  byId("sim-banner").hidden = !config.simulated;
  byId("version").textContent = `Krakked ${config.version}`;
}

/**
 * Ask the worker to start until it can. While the server cannot reach
 * Kraken (or the page cannot reach the server), say so plainly, name the
 * offline way (`deno task serve --sim`) and retry with a growing pause
 * (and at once on "Retry now").
 */
async function initialize(): Promise<InitInfo> {
  const panel = byId("upstream-down");
  const retry = byId<HTMLButtonElement>("upstream-retry");
  let waitMs = 5_000;
  for (;;) {
    const init = await client.request("init", {});
    if (init.ok) {
      panel.hidden = true;
      byId("market-note").textContent = "";
      return init.value;
    }
    const error = init.error;
    if (error.config !== undefined) showMode(error.config);
    const upstream = error.kind === "upstream_unreachable";
    byId("ws-state").textContent = "not started";
    byId("ws-state").dataset.state = "bad";
    const rest = byId("rest-state");
    rest.textContent = upstream
      ? "Kraken unreachable"
      : error.kind === "network"
      ? "server unreachable"
      : "error";
    rest.dataset.state = "bad";
    byId("upstream-title").textContent = upstream
      ? "Kraken unreachable"
      : error.kind === "network"
      ? "The Krakked server is not answering"
      : "The market list could not be loaded";
    const text = byId("upstream-text");
    text.textContent = upstream
      ? "The Krakked server is running, but it cannot reach Kraken's API. Check the network connection (and connection.rest_url in config.yaml)."
      : error.message;
    // The low-level cause, for the curious (hover), not as the headline.
    text.title = error.message;
    panel.dataset.kind = error.kind;
    const serverDown = error.kind === "network";
    byId("upstream-sim-hint").hidden = serverDown;
    byId("upstream-server-hint").hidden = !serverDown;
    panel.hidden = false;
    byId("market-note").textContent = "No markets until Kraken answers.";
    const seconds = Math.round(waitMs / 1000);
    byId("upstream-next").textContent = `Next try in ${seconds} s.`;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done(): void {
        clearTimeout(timer);
        retry.removeEventListener("click", done);
        resolve();
      }
      retry.addEventListener("click", done);
    });
    byId("upstream-next").textContent = "Retrying…";
    waitMs = Math.min(waitMs * 2, 30_000);
  }
}

async function start(): Promise<void> {
  wireControls();
  new OpsView(byId("ops-view")).start();
  const trading = loadTradingInfo();
  void trading.then((info) => ticket.setTrading(info));
  const init = await initialize();
  const { config, pairs, storage } = init;
  toleranceSec = config.staleToleranceSec;
  pairsById = new Map(pairs.map((p) => [p.id, p]));
  quote = config.quote;
  showMode(config);
  byId("storage-state").textContent = storage.kind === "indexeddb"
    ? "IndexedDB"
    : "memory only";
  table = new MarketTable(byId("market-body"), {
    onSelect: (pair) => void select(pair),
    onPinsChange: (pinned) => void sendWatch(pinned),
    onPriceMove: (symbol) => moves.add(symbol),
    staleToleranceSec: toleranceSec,
    flash: !reducedMotion,
    pinned: loadPins(),
  });
  table.onFirstPrice = () => markOnce("krakked:first-price");
  table.setPairs(pairs);
  byId("row-count").textContent = `${pairs.length} markets`;
  byId("market-note").textContent = pairs.length === 0
    ? "No markets match the server's universe."
    : "";
  if (pairs.length > 0) markOnce("krakked:first-row");
  await sendWatch(table.pinned);

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
  new PortfolioView(byId("portfolio")).start();
  if (account.source === "exchange" && config.privateData) {
    // The worker follows the server's account stream; updates arrive in
    // batches, and REST is asked only after a reconnect or a gap. In paper
    // mode the panel shows the paper account and never the exchange's.
    void watchAccount();
  }
}

void start();
