/**
 * `krakked ohlc backfill|export`: closed candles into and out of the file
 * store under `market_data.ohlc_store.root_dir` (default `<config dir>/ohlc`).
 *
 * @module
 */

import { resolvePair } from "./symbols.ts";
import { join } from "node:path";
import type { KrakkedConfig } from "@krakked/core/config/config";
import {
  type Candle,
  parseTimeframe,
  type Timeframe,
  timeframeToSeconds,
  UnknownTimeframeError,
} from "@krakked/core/market/ohlc";
import { loadMarketMetadata } from "@krakked/core/market/metadata";
import {
  type BackfillProgress,
  type BackfillReport,
  OhlcHistory,
} from "@krakked/core/market/ohlc_history";
import { PUBLIC_LIMITS } from "@krakked/core/rest/ratelimit";
import type { Redactor } from "@krakked/core/secrets/redact";
import { expandHome } from "../deno/config_dir.ts";
import {
  FileOhlcStore,
  formatCandleRow,
  OHLC_CSV_HEADER,
} from "../deno/ohlc_file_store.ts";
import {
  choiceFlag,
  isUsageError,
  type Parsed,
  parseFlags,
  parseSince,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { PacedEta, ProgressPrinter } from "./progress.ts";

/** Help text of `krakked ohlc`. */
export const OHLC_HELP =
  `Usage: krakked ohlc backfill <pair> <timeframe> [--since DATE] [--from-trades] [--json]
       krakked ohlc export <pair> <timeframe> [--format csv|json] [--since DATE]

backfill  fetches closed candles from Kraken's OHLC endpoint into the file
          store (market_data.ohlc_store.root_dir, default <config dir>/ohlc).
          Without --since it resumes after the newest stored candle, or takes
          the whole OHLC window (720 candles) the first time. Running it again
          adds only what is new.
export    writes the stored closed candles to standard output.

Timeframes: 1m 5m 15m 30m 1h 4h 1d 1w 15d.

  --since DATE     earliest candle: YYYY-MM-DD, an ISO date-time (UTC) or Unix seconds
  --from-trades    rebuild candles older than the OHLC window from public trades (slow)
  --format F       export format: csv (the store's format, default) or json
  --json           backfill: print the report as JSON
                   {pair, timeframe, file, added, changed, ohlcPages, tradePages,
                   candlesFromTrades, firstOpenTimeSec, lastOpenTimeSec}

export --format json prints {"pair", "timeframe", "candles": [{openTimeSec, open, high,
low, close, vwap, volume, count}]}.`;

/** Parsed `ohlc` arguments. */
export type OhlcFlags =
  | {
    kind: "ohlc";
    action: "backfill";
    pair: string;
    timeframe: Timeframe;
    sinceSec: number | undefined;
    fromTrades: boolean;
    json: boolean;
  }
  | {
    kind: "ohlc";
    action: "export";
    pair: string;
    timeframe: Timeframe;
    format: "csv" | "json";
    sinceSec: number | undefined;
  };

/**
 * Parse `ohlc` arguments. Pure.
 *
 * @param args Arguments after `ohlc`.
 * @returns The flags, help, or a usage error for a missing or unknown
 *   action, pair, timeframe, flag or date.
 * @example Parse
 * ```ts
 * import { parseOhlcArgs } from "./ohlc_cmd.ts";
 * parseOhlcArgs(["backfill", "XBTUSD", "1h", "--since", "2025-01-01"]);
 * ```
 */
export function parseOhlcArgs(args: readonly string[]): Parsed<OhlcFlags> {
  const [action, ...rest] = args;
  if (action === "--help" || action === "-h") return { kind: "help" };
  if (action === undefined) {
    return usageError("Missing action: backfill or export");
  }
  if (action !== "backfill" && action !== "export") {
    return usageError(
      `Unknown ohlc action ${JSON.stringify(action)}: use backfill or export`,
    );
  }
  const parsed = parseFlags(rest, {
    booleans: action === "backfill" ? ["from-trades", "json"] : [],
    values: action === "backfill" ? ["since"] : ["since", "format"],
    positionals: ["pair", "timeframe"],
  });
  if (parsed.kind !== "flags") return parsed;
  const [pair, tf] = parsed.positionals as [string, string];
  let timeframe: Timeframe;
  try {
    timeframe = parseTimeframe(tf);
  } catch (error) {
    if (error instanceof UnknownTimeframeError) {
      return usageError(error.message);
    }
    throw error;
  }
  const since = parsed.values.get("since");
  let sinceSec: number | undefined;
  if (since !== undefined) {
    try {
      sinceSec = parseSince(since);
    } catch (error) {
      if (error instanceof RangeError) return usageError(error.message);
      throw error;
    }
  }
  if (action === "backfill") {
    return {
      kind: "ohlc",
      action,
      pair,
      timeframe,
      sinceSec,
      fromTrades: parsed.booleans.has("from-trades"),
      json: parsed.booleans.has("json"),
    };
  }
  const format = choiceFlag(parsed, "format", ["csv", "json"] as const);
  if (isUsageError(format)) return format;
  return {
    kind: "ohlc",
    action,
    pair,
    timeframe,
    format: format ?? "csv",
    sinceSec,
  };
}

/**
 * The OHLC store root of a config: `market_data.ohlc_store.root_dir` with
 * `~` expanded, or `<config dir>/ohlc` when it is `null`.
 *
 * @param config The config.
 * @param configDirPath The config directory.
 * @param env Environment lookup (for `HOME`/`USERPROFILE`).
 * @returns The root directory.
 * @example Default
 * ```ts
 * import { DEFAULT_CONFIG } from "@krakked/core/config/config";
 * import { ohlcRoot } from "./ohlc_cmd.ts";
 * ohlcRoot(DEFAULT_CONFIG, "/home/me/.config/kraken_bot", () => undefined);
 * // "/home/me/.config/kraken_bot/ohlc"
 * ```
 */
export function ohlcRoot(
  config: KrakkedConfig,
  configDirPath: string,
  env: (name: string) => string | undefined,
): string {
  const root = config.market_data.ohlc_store.root_dir;
  if (root === null) return join(configDirPath, "ohlc");
  return expandHome(root, env("HOME") ?? env("USERPROFILE"));
}

/** The JSON shape of one exported candle. */
function candleJson(c: Candle): Candle {
  return {
    openTimeSec: c.openTimeSec,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    vwap: c.vwap,
    volume: c.volume,
    count: c.count,
  };
}

/**
 * Run `krakked ohlc backfill` or `export`.
 *
 * @param flags Parsed arguments.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/market/pairs").UnknownPairError} For a pair no spelling matches.
 * @throws {import("@krakked/core/market/ohlc_history").NoOhlcDataError} Export of a series never backfilled.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Backfill
 * ```ts ignore
 * import { runOhlc } from "./ohlc_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runOhlc(
 *   { kind: "ohlc", action: "backfill", pair: "XBTUSD", timeframe: "1h", sinceSec: undefined, fromTrades: false, json: false },
 *   denoIo(),
 * );
 * ```
 */
export async function runOhlc(
  flags: OhlcFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const store = new FileOhlcStore(
      ohlcRoot(ctx.config, ctx.paths.dir, io.env),
    );
    if (flags.action === "export") {
      const id = await storedId(store, flags.pair, flags.timeframe) ??
        (await loadMarketMetadata(ctx.rest)).resolver.resolve(flags.pair);
      const history = new OhlcHistory({ store, now: io.now });
      const candles = await history.getOhlcSince(
        id,
        flags.timeframe,
        flags.sinceSec ?? 0,
      );
      if (flags.format === "json") {
        writeJson(io, {
          pair: id,
          timeframe: flags.timeframe,
          candles: candles.map(candleJson),
        });
      } else {
        io.stdout(
          `${OHLC_CSV_HEADER}\n${candles.map(formatCandleRow).join("")}`,
        );
      }
      return 0;
    }
    const { resolver } = await loadMarketMetadata(ctx.rest, {
      supportsMargin: ctx.config.region.supports_margin,
    });
    const pair = resolvePair(resolver, flags.pair, "ohlc");
    const history = new OhlcHistory({
      store,
      source: ctx.rest,
      now: io.now,
      resolvePair: (spelling) => resolver.resolve(spelling),
    });
    const printer = new ProgressPrinter(io);
    const eta = new PacedEta(PUBLIC_PACE_MS);
    let report;
    let phase: BackfillProgress["phase"] = "ohlc";
    try {
      report = await history.backfillOhlc(pair.id, flags.timeframe, {
        ...(flags.sinceSec === undefined ? {} : { since: flags.sinceSec }),
        fromTrades: flags.fromTrades,
        priceDecimals: pair.priceDecimals,
        volumeDecimals: pair.volumeDecimals,
        onProgress: (p) => {
          phase = p.phase;
          printer.update(eta.adjust(p));
        },
      });
    } catch (error) {
      printer.finish();
      throw error;
    }
    const covered = candlesCovered(report, flags.timeframe);
    printer.finish({ phase, done: covered, total: covered, etaMs: 0 });
    if (flags.sinceSec !== undefined && !flags.fromTrades) {
      const first =
        (await store.since(pair.id, flags.timeframe, flags.sinceSec))
          .at(0)?.openTimeSec;
      const note = olderHistoryNote(flags.sinceSec, first, flags.timeframe);
      if (note !== undefined) writeLine(io.stderr, note);
    }
    const file = store.pathFor(pair.id, flags.timeframe);
    if (flags.json) {
      writeJson(io, {
        pair: pair.id,
        symbol: pair.wsV2,
        timeframe: flags.timeframe,
        file,
        ...report,
      });
    } else {
      writeLine(
        io.stdout,
        `${pair.wsV2} ${flags.timeframe}: ${report.added} new, ${report.changed} changed candles ` +
          `(${report.ohlcPages} OHLC, ${report.tradePages} Trades pages) in ${file}`,
      );
    }
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/**
 * Kraken's public budget sustains one request per second once its burst
 * is spent (core's `PUBLIC_LIMITS`), so each further `Trades` page of a
 * rebuild takes at least this long.
 */
const PUBLIC_PACE_MS = 1000 / PUBLIC_LIMITS.decayPerSec;

/** How many intervals a backfill's writes span (0 when it wrote none). */
function candlesCovered(report: BackfillReport, timeframe: Timeframe): number {
  if (report.firstOpenTimeSec === null || report.lastOpenTimeSec === null) {
    return 0;
  }
  return (report.lastOpenTimeSec - report.firstOpenTimeSec) /
      timeframeToSeconds(timeframe) + 1;
}

/**
 * The note for `--since` older than what an OHLC-only backfill can reach:
 * Kraken's `OHLC` serves only its latest 720 candles, so without
 * `--from-trades` the older range stays empty. Pure.
 *
 * @param sinceSec The `--since` asked for, Unix seconds.
 * @param firstStoredSec The earliest stored candle at or after it, if any.
 * @param timeframe The timeframe.
 * @returns The note, or `undefined` when the store starts at `--since`.
 * @example Two years back on 1h
 * ```ts
 * import { olderHistoryNote } from "./ohlc_cmd.ts";
 * olderHistoryNote(1_700_000_000, 1_760_000_000, "1h");
 * // "note: Kraken's OHLC endpoint serves only the latest 720 candles: nothing is stored from 2023-11-14 22:00 to 2025-10-09 08:53 UTC; add --from-trades to rebuild that range from public trades (slow: paced requests)"
 * ```
 */
export function olderHistoryNote(
  sinceSec: number,
  firstStoredSec: number | undefined,
  timeframe: Timeframe,
): string | undefined {
  const intervalSec = timeframeToSeconds(timeframe);
  const startSec = Math.floor(sinceSec / intervalSec) * intervalSec;
  if (
    firstStoredSec !== undefined && firstStoredSec - startSec <= intervalSec
  ) {
    return undefined;
  }
  const when = (sec: number) =>
    new Date(sec * 1000).toISOString().slice(0, 16).replace("T", " ");
  const until = firstStoredSec === undefined
    ? "now"
    : `${when(firstStoredSec)} UTC`;
  return `note: Kraken's OHLC endpoint serves only the latest 720 candles: nothing is stored from ${
    when(startSec)
  } to ${until}; add --from-trades to rebuild that range from public trades (slow: paced requests)`;
}

/** The spelling as a stored canonical id, when that series exists (offline export). */
async function storedId(
  store: FileOhlcStore,
  spelling: string,
  timeframe: Timeframe,
): Promise<string | undefined> {
  const id = spelling.trim().toUpperCase();
  try {
    store.pathFor(id, timeframe);
  } catch {
    return undefined;
  }
  return await store.latestOpenTime(id, timeframe) === null ? undefined : id;
}

/** `krakked ohlc`, for the command table. */
export const ohlcCommand: Command<OhlcFlags> = {
  name: "ohlc",
  summary: "Backfill closed candles into the file store, or export them",
  help: OHLC_HELP,
  parse: parseOhlcArgs,
  run: runOhlc,
};
