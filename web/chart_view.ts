/**
 * The candlestick chart with volume, on TradingView's lightweight-charts
 * (bundled and self-hosted; its attribution logo is off because it injects
 * an inline style the page's CSP refuses — the footer credits it instead).
 *
 * @module
 */

import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import type { CandleView } from "../worker/protocol.ts";

const UP = "#26a69a";
const DOWN = "#ef5350";

/**
 * A candle chart for one series at a time.
 *
 * @example Draw
 * ```ts ignore
 * const chart = new ChartView(document.getElementById("chart")!);
 * chart.setHistory(candles, 1);
 * ```
 */
export class ChartView {
  #chart: IChartApi;
  #candles: ISeriesApi<"Candlestick">;
  #volume: ISeriesApi<"Histogram">;
  #lastTimeSec: number | undefined;
  #lastClose: number | undefined;
  #live: CandleView | undefined;
  #drawn = 0;
  #history = 0;

  /**
   * Create the chart in a container.
   *
   * @param container The element (sized by CSS).
   */
  constructor(container: HTMLElement) {
    this.#chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: "#10151c" },
        textColor: "#d5dbe3",
        attributionLogo: false,
        fontFamily: "system-ui, sans-serif",
      },
      grid: {
        vertLines: { color: "#1e2631" },
        horzLines: { color: "#1e2631" },
      },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderColor: "#2a3441" },
    });
    this.#candles = this.#chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.#candles.priceScale().applyOptions({
      scaleMargins: { top: 0.08, bottom: 0.25 },
    });
    this.#volume = this.#chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" },
      priceScaleId: "",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.#volume.priceScale().applyOptions({
      scaleMargins: { top: 0.8, bottom: 0 },
    });
  }

  /** Bars currently drawn. */
  get barCount(): number {
    return this.#drawn;
  }

  /** Closed candles drawn from history (not counting the forming one). */
  get historyCount(): number {
    return this.#history;
  }

  /** Close of the newest bar drawn (the price-scale label), if any. */
  get lastClose(): number | undefined {
    return this.#lastClose;
  }

  /**
   * Replace the drawn series.
   *
   * @param candles Closed candles, oldest first.
   * @param priceDecimals The pair's price decimals.
   */
  setHistory(candles: readonly CandleView[], priceDecimals: number): void {
    const precision = Math.max(0, Math.min(priceDecimals, 10));
    this.#candles.applyOptions({
      priceFormat: {
        type: "price",
        precision,
        minMove: Number((10 ** -precision).toFixed(precision)),
      },
    });
    this.#candles.setData(candles.map((c) => ({
      time: c.timeSec as UTCTimestamp,
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
    })));
    this.#volume.setData(candles.map((c) => ({
      time: c.timeSec as UTCTimestamp,
      value: c.volume,
      color: c.close >= c.open
        ? "rgba(38,166,154,0.45)"
        : "rgba(239,83,80,0.45)",
    })));
    this.#lastTimeSec = candles.at(-1)?.timeSec;
    this.#lastClose = candles.at(-1)?.close;
    this.#drawn = candles.length;
    this.#history = candles.length;
    // History holds closed candles only: draw the forming one again, or the
    // last-price label would fall back to the previous close until the next
    // trade (and disagree with the table's last meanwhile).
    const live = this.#live;
    if (live !== undefined) this.update(live);
  }

  /**
   * Draw the forming candle (ignored when older than the last bar).
   *
   * @param candle The live candle.
   * @returns Whether it was drawn.
   */
  update(candle: CandleView): boolean {
    if (this.#lastTimeSec !== undefined && candle.timeSec < this.#lastTimeSec) {
      return false;
    }
    const time = candle.timeSec as UTCTimestamp;
    this.#candles.update({
      time,
      open: candle.open,
      high: candle.high,
      low: candle.low,
      close: candle.close,
    });
    this.#volume.update({
      time,
      value: candle.volume,
      color: candle.close >= candle.open
        ? "rgba(38,166,154,0.45)"
        : "rgba(239,83,80,0.45)",
    });
    if (this.#lastTimeSec === undefined || candle.timeSec > this.#lastTimeSec) {
      this.#drawn++;
    }
    this.#lastTimeSec = candle.timeSec;
    this.#lastClose = candle.close;
    this.#live = candle;
    return true;
  }

  /** Remove everything drawn. */
  clear(): void {
    this.#candles.setData([]);
    this.#volume.setData([]);
    this.#lastTimeSec = undefined;
    this.#lastClose = undefined;
    this.#live = undefined;
    this.#drawn = 0;
    this.#history = 0;
  }
}
