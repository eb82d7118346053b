/**
 * A file-backed {@linkcode OhlcStore}: one CSV file per pair and timeframe.
 *
 * Layout: `<root>/<timeframe>/<pair>.csv`, e.g. `~/krakked/ohlc/1h/XBTUSD.csv`.
 *
 * Format (UTF-8, LF line ends):
 *
 * ```
 * open_time_sec,open,high,low,close,vwap,volume,count
 * 1548115200,3533.4,3543.7,3530.7,3539.4,3539.8,83.09287787,232
 * ```
 *
 * The header line is exactly the one above. Each row is one closed candle:
 * open time in Unix seconds, then the exact decimal strings as Kraken sent
 * them, then the trade count. Rows are unique by open time and sorted oldest
 * first; every row ends with `\n`.
 *
 * Writes: new candles after the newest stored one are appended; any change
 * before the tail (a replaced or inserted candle) rewrites the whole file to
 * a temp file in the same directory, syncs it and renames it over the old
 * one, so readers see either the old or the new file. A crash during an
 * append can leave a last line without its `\n` (or garbled): such a tail is
 * ignored on load and the next write rewrites the file without it; so are
 * duplicated rows (they collapse) and CRLF line ends. A write that would
 * hold fewer rows than the file had first copies the file to `<file>.bak`
 * and says so (`UpsertResult.repaired`, the `onRepair` option). A bad row
 * followed by good rows is corruption and fails the load with a SyntaxError.
 *
 * One process should own a root: series are cached in memory after their
 * first load, and operations on one series are serialized. Loading scans and
 * validates every row but keeps rows as their CSV text, turning them into
 * {@linkcode Candle} objects only when read: 500,000 bars load in about a
 * tenth of a second (tests/server/deno/ohlc_file_store_bench.ts).
 *
 * @module
 */

import { dirname, join } from "node:path";
import {
  type Candle,
  mergeCandles,
  sameCandle,
  type Timeframe,
  timeframeToSeconds,
} from "@krakked/core/market/ohlc";
import type {
  OhlcStore,
  StoreRepair,
  UpsertResult,
} from "@krakked/core/market/ohlc_store";
import { expandHome } from "./config_dir.ts";

/** The header line of every file (without its `\n`). */
export const OHLC_CSV_HEADER =
  "open_time_sec,open,high,low,close,vwap,volume,count";

const PAIR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DECIMAL_PATTERN = /^-?\d+(?:\.\d+)?$/;

/** A series in memory: open times, and each row as a candle or its CSV text. */
interface Series {
  /** Open times, sorted and unique. */
  times: number[];
  /** The candle at the same index, or its CSV line (validated, no `\n`). */
  rows: Array<Candle | string>;
  /** Whether the file exists on disk. */
  exists: boolean;
  /** Whether the file needs a rewrite (bad tail, unsorted rows). */
  dirty: boolean;
  /** Rows in the file when it was loaded (bad and duplicated ones too). */
  fileRows: number;
}

/** Options of {@linkcode FileOhlcStore}. */
export interface FileOhlcStoreOptions {
  /** Home directory for `~` (default `$HOME`, then `%USERPROFILE%`). */
  homeDir?: string;
  /**
   * Told when a write holds fewer rows than the file had (duplicates
   * collapsed, a bad tail dropped); the old file is kept as `<file>.bak`.
   * Default: a warning line on stderr, so it is never silent.
   */
  onRepair?: (path: string, repair: StoreRepair) => void;
}

/**
 * Formats one candle as a CSV row (with its `\n`).
 *
 * @param candle The candle.
 * @returns The row.
 * @throws {TypeError} When a field would break the format.
 * @example Format
 * ```ts
 * import { formatCandleRow } from "./ohlc_file_store.ts";
 * formatCandleRow({ openTimeSec: 60, open: "1", high: "2", low: "1", close: "2", vwap: "1.5", volume: "3", count: 2 });
 * // "60,1,2,1,2,1.5,3,2\n"
 * ```
 */
export function formatCandleRow(candle: Candle): string {
  const fields = [
    candle.open,
    candle.high,
    candle.low,
    candle.close,
    candle.vwap,
    candle.volume,
  ];
  if (
    !Number.isSafeInteger(candle.openTimeSec) ||
    !Number.isSafeInteger(candle.count) ||
    !fields.every((field) => DECIMAL_PATTERN.test(field))
  ) {
    throw new TypeError(
      `Cannot store candle at ${candle.openTimeSec}: a field is not a plain number (${
        JSON.stringify(candle)
      })`,
    );
  }
  return `${candle.openTimeSec},${fields.join(",")},${candle.count}\n`;
}

const COMMA = 44;
const DOT = 46;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const CR = 13;

/**
 * Validates the row `text[start, end)` without allocating and returns its
 * open time, or `NaN` when it is not a well-formed candle row: 8 fields,
 * integer time and count, plain decimals in between.
 */
function scanRow(text: string, start: number, end: number): number {
  let field = 0;
  let digits = 0;
  let dots = 0;
  let fraction = 0;
  let fieldStart = start;
  let openTimeSec = 0;
  for (let i = start; i <= end; i++) {
    const code = i === end ? COMMA : text.charCodeAt(i);
    if (code === COMMA) {
      const integer = field === 0 || field === 7;
      if (
        digits === 0 || field > 7 || (dots > 0 && fraction === 0) ||
        (integer && (dots > 0 || digits > 15))
      ) {
        return NaN;
      }
      field++;
      fieldStart = i + 1;
      digits = 0;
      dots = 0;
      fraction = 0;
    } else if (code >= ZERO && code <= NINE) {
      if (field === 0) openTimeSec = openTimeSec * 10 + (code - ZERO);
      if (dots > 0) fraction++;
      digits++;
    } else if (code === DOT && dots === 0 && digits > 0) {
      dots++;
    } else if (!(code === MINUS && i === fieldStart && field > 0)) {
      return NaN;
    }
  }
  return field === 8 ? openTimeSec : NaN;
}

/** Turns a validated CSV line into a candle. */
function candleFromLine(line: string): Candle {
  const parts = line.split(",");
  return {
    openTimeSec: Number(parts[0]),
    open: parts[1] as string,
    high: parts[2] as string,
    low: parts[3] as string,
    close: parts[4] as string,
    vwap: parts[5] as string,
    volume: parts[6] as string,
    count: Number(parts[7]),
  };
}

interface ScannedCsv {
  times: number[];
  rows: Array<Candle | string>;
  dirty: boolean;
  /** Rows in the file, bad and duplicated ones included. */
  fileRows: number;
}

function scanOhlcCsv(text: string, path: string): ScannedCsv {
  const headerEnd = text.indexOf("\n");
  if (headerEnd < 0) {
    // A crash while creating the file can leave a partial header.
    if (OHLC_CSV_HEADER.startsWith(text)) {
      return { times: [], rows: [], dirty: true, fileRows: 0 };
    }
    throw new SyntaxError(`Cannot read "${path}": the header line is missing`);
  }
  if (text.slice(0, headerEnd).replace(/\r$/, "") !== OHLC_CSV_HEADER) {
    throw new SyntaxError(
      `Cannot read "${path}": unexpected header "${text.slice(0, headerEnd)}"`,
    );
  }
  const times: number[] = [];
  const rows: Array<Candle | string> = [];
  let dirty = false;
  let badLine = 0;
  let sorted = true;
  let previous = -Infinity;
  let start = headerEnd + 1;
  let lineNumber = 1;
  let fileRows = 0;
  while (start < text.length) {
    lineNumber++;
    fileRows++;
    const newline = text.indexOf("\n", start);
    const terminated = newline >= 0;
    // CRLF files (edited on Windows, or by a spreadsheet) are read as LF
    // and rewritten with LF on the next write, never dropped.
    const crlf = terminated && newline > start &&
      text.charCodeAt(newline - 1) === CR;
    if (crlf) dirty = true;
    const end = crlf ? newline - 1 : newline;
    const openTimeSec = terminated ? scanRow(text, start, end) : NaN;
    if (Number.isNaN(openTimeSec)) {
      // A torn or garbled tail is dropped; the next write rewrites the file.
      if (badLine === 0) badLine = lineNumber;
      dirty = true;
      start = terminated ? newline + 1 : text.length;
      continue;
    }
    if (badLine !== 0) {
      throw new SyntaxError(
        `Cannot read "${path}": line ${badLine} is not a candle row`,
      );
    }
    if (openTimeSec <= previous) sorted = false;
    previous = openTimeSec;
    times.push(openTimeSec);
    rows.push(text.slice(start, end));
    start = newline + 1;
  }
  if (!sorted) {
    const candles = mergeCandles(
      [],
      rows.map((row) => candleFromLine(row as string)),
    );
    return {
      times: candles.map((candle) => candle.openTimeSec),
      rows: candles,
      dirty: true,
      fileRows,
    };
  }
  return { times, rows, dirty, fileRows };
}

/**
 * Parses the text of a store file.
 *
 * @param text The file content.
 * @param path The file path, for messages.
 * @returns The candles (sorted, unique) and whether the file needs a rewrite
 *   (a truncated or garbled tail, or rows out of order).
 * @throws {SyntaxError} When the header is wrong or a bad row is followed by
 *   good ones.
 * @example Parse
 * ```ts
 * import { parseOhlcCsv } from "./ohlc_file_store.ts";
 * parseOhlcCsv("open_time_sec,open,high,low,close,vwap,volume,count\n", "x.csv").candles; // []
 * ```
 */
export function parseOhlcCsv(
  text: string,
  path: string,
): { candles: Candle[]; dirty: boolean } {
  const scanned = scanOhlcCsv(text, path);
  return {
    candles: scanned.rows.map((row) =>
      typeof row === "string" ? candleFromLine(row) : row
    ),
    dirty: scanned.dirty,
  };
}

/** First index whose time is `>= timeSec`. */
function lowerBound(times: readonly number[], timeSec: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((times[middle] as number) < timeSec) low = middle + 1;
    else high = middle;
  }
  return low;
}

function candleAt(series: Series, index: number): Candle {
  const row = series.rows[index] as Candle | string;
  if (typeof row !== "string") return row;
  const candle = candleFromLine(row);
  series.rows[index] = candle;
  return candle;
}

function readRange(series: Series, from: number): Candle[] {
  const out: Candle[] = [];
  for (let i = Math.max(0, from); i < series.times.length; i++) {
    out.push(candleAt(series, i));
  }
  return out;
}

/**
 * Candles in CSV files under a root directory (format in the module doc).
 *
 * @example Store and read
 * ```ts
 * import { FileOhlcStore } from "./ohlc_file_store.ts";
 * const store = new FileOhlcStore("~/krakked/ohlc");
 * // await store.upsert("XBTUSD", "1h", candles);
 * // await store.last("XBTUSD", "1h", 100);
 * ```
 */
export class FileOhlcStore implements OhlcStore {
  #root: string;
  #onRepair: (path: string, repair: StoreRepair) => void;
  #series = new Map<string, Series>();
  #queues = new Map<string, Promise<unknown>>();

  /**
   * Creates the store; nothing is read or created until first use.
   *
   * @param root The root directory; a leading `~` is the home directory.
   * @param options Home directory override.
   * @throws {TypeError} When `~` cannot be expanded.
   */
  constructor(root: string, options: FileOhlcStoreOptions = {}) {
    const needsHome = root === "~" || root.startsWith("~/") ||
      root.startsWith("~\\");
    const home = needsHome
      ? options.homeDir ?? Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE")
      : undefined;
    const expanded = expandHome(root, home || undefined);
    if (needsHome && expanded === root) {
      throw new TypeError(
        `Cannot use OHLC store root "${root}": no home directory is known`,
      );
    }
    this.#root = expanded;
    this.#onRepair = options.onRepair ?? ((path, repair) =>
      console.error(
        `warning: ${path}: rewritten with ${repair.rowsDropped} fewer of ${repair.rowsBefore} rows (duplicated or damaged rows); the old file is ${repair.backup}`,
      ));
  }

  /** The root directory, `~` expanded. */
  get root(): string {
    return this.#root;
  }

  /**
   * The file that holds a series.
   *
   * @param pair Canonical pair id (letters, digits, `.`, `_`, `-`).
   * @param timeframe The timeframe.
   * @returns `<root>/<timeframe>/<pair>.csv`.
   * @throws {TypeError} When the pair id is not safe as a file name.
   * @throws {UnknownTimeframeError} When the timeframe is not Kraken's.
   */
  pathFor(pair: string, timeframe: Timeframe): string {
    if (!PAIR_PATTERN.test(pair)) {
      throw new TypeError(
        `Cannot store candles for "${pair}": not a valid pair id for a file name`,
      );
    }
    timeframeToSeconds(timeframe);
    return join(this.#root, timeframe, `${pair}.csv`);
  }

  #exclusive<T>(path: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(path) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.then(() => {}, () => {});
    this.#queues.set(path, settled);
    void settled.then(() => {
      if (this.#queues.get(path) === settled) this.#queues.delete(path);
    });
    return next;
  }

  async #load(path: string): Promise<Series> {
    const cached = this.#series.get(path);
    if (cached !== undefined) return cached;
    let series: Series;
    try {
      const text = await Deno.readTextFile(path);
      series = { ...scanOhlcCsv(text, path), exists: true };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      series = {
        times: [],
        rows: [],
        exists: false,
        dirty: false,
        fileRows: 0,
      };
    }
    this.#series.set(path, series);
    return series;
  }

  /**
   * Writes a series over its file. When it holds fewer rows than the file
   * had, the file is first copied to `<file>.bak` and the repair reported:
   * a file is never silently shortened.
   */
  async #rewrite(
    path: string,
    series: Series,
    before: Series,
  ): Promise<StoreRepair | undefined> {
    await Deno.mkdir(dirname(path), { recursive: true });
    let repair: StoreRepair | undefined;
    if (before.exists && series.times.length < before.fileRows) {
      const backup = `${path}.bak`;
      await Deno.copyFile(path, backup);
      repair = {
        rowsBefore: before.fileRows,
        rowsDropped: before.fileRows - series.times.length,
        backup,
      };
    }
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    const parts: string[] = [OHLC_CSV_HEADER, "\n"];
    for (const row of series.rows) {
      parts.push(typeof row === "string" ? `${row}\n` : formatCandleRow(row));
    }
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true });
      try {
        await writeAll(file, new TextEncoder().encode(parts.join("")));
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw error;
    }
    if (repair !== undefined) this.#onRepair(path, repair);
    return repair;
  }

  async #append(path: string, candles: readonly Candle[]): Promise<void> {
    const text = candles.map(formatCandleRow).join("");
    const file = await Deno.open(path, { append: true });
    try {
      await writeAll(file, new TextEncoder().encode(text));
    } finally {
      file.close();
    }
  }

  /**
   * Inserts or replaces candles by open time (see the module doc for how the
   * file is written).
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param candles Closed candles, any order.
   * @returns How many were new and how many changed.
   * @throws {TypeError} When the pair id or a candle field is unusable.
   */
  upsert(
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<UpsertResult> {
    const path = this.pathFor(pair, timeframe);
    return this.#exclusive(path, async () => {
      const series = await this.#load(path);
      const incoming = mergeCandles([], candles);
      let added = 0;
      let changed = 0;
      let changedBeforeTail = false;
      const tailSec = series.times.at(-1) ?? -Infinity;
      for (const candle of incoming) {
        formatCandleRow(candle);
        const index = lowerBound(series.times, candle.openTimeSec);
        if (series.times[index] !== candle.openTimeSec) {
          added++;
          if (candle.openTimeSec < tailSec) changedBeforeTail = true;
        } else if (!sameCandle(candleAt(series, index), candle)) {
          changed++;
          changedBeforeTail = true;
        }
      }
      const result: UpsertResult = { added, changed };
      // Nothing new, but a file to repair (duplicates, a bad tail, CRLF):
      // this write is the one that cleans it.
      if (added + changed === 0 && !series.dirty) return result;
      if (series.exists && !series.dirty && !changedBeforeTail) {
        const fresh = incoming.filter((c) => c.openTimeSec > tailSec);
        await this.#append(path, fresh);
        for (const candle of fresh) {
          series.times.push(candle.openTimeSec);
          series.rows.push(candle);
        }
        series.fileRows += fresh.length;
        return result;
      }
      const merged = mergeSeries(series, incoming);
      const repaired = await this.#rewrite(path, merged, series);
      merged.fileRows = merged.times.length;
      this.#series.set(path, merged);
      return repaired === undefined ? result : { ...result, repaired };
    });
  }

  /**
   * The newest `n` candles.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param n How many.
   * @returns Up to `n` candles, oldest first.
   */
  last(pair: string, timeframe: Timeframe, n: number): Promise<Candle[]> {
    const path = this.pathFor(pair, timeframe);
    return this.#exclusive(path, async () => {
      const series = await this.#load(path);
      return n <= 0 ? [] : readRange(series, series.times.length - n);
    });
  }

  /**
   * Candles from `sinceSec` on.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param sinceSec Earliest open time, inclusive.
   * @returns The candles, oldest first.
   */
  since(
    pair: string,
    timeframe: Timeframe,
    sinceSec: number,
  ): Promise<Candle[]> {
    const path = this.pathFor(pair, timeframe);
    return this.#exclusive(path, async () => {
      const series = await this.#load(path);
      return readRange(series, lowerBound(series.times, sinceSec));
    });
  }

  /**
   * Open time of the newest candle.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @returns Unix seconds, or `null` when nothing is stored.
   */
  latestOpenTime(pair: string, timeframe: Timeframe): Promise<number | null> {
    const path = this.pathFor(pair, timeframe);
    return this.#exclusive(path, async () => {
      const series = await this.#load(path);
      return series.times.at(-1) ?? null;
    });
  }

  /**
   * Drops the in-memory cache, so the next read loads from disk.
   */
  clearCache(): void {
    this.#series.clear();
  }
}

/** Merges sorted unique candles into a series; incoming rows win. */
function mergeSeries(series: Series, incoming: readonly Candle[]): Series {
  const times: number[] = [];
  const rows: Array<Candle | string> = [];
  let i = 0;
  let j = 0;
  while (i < series.times.length || j < incoming.length) {
    const held = series.times[i];
    const next = incoming[j];
    if (
      next === undefined ||
      (held !== undefined && held < next.openTimeSec)
    ) {
      times.push(held as number);
      rows.push(series.rows[i] as Candle | string);
      i++;
    } else {
      if (held === next.openTimeSec) i++;
      times.push(next.openTimeSec);
      rows.push(next);
      j++;
    }
  }
  return { times, rows, exists: true, dirty: false, fileRows: times.length };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await file.write(bytes.subarray(offset));
  }
}
