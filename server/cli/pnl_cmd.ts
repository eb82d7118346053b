/**
 * `krakked pnl`: realised and unrealised P&L in USD by FIFO lots, fees in
 * the asset that paid them, deposits and withdrawals kept apart
 * (core/account). Also holds what `equity` and `ledger` share: loading the
 * account's history through the incremental cache, the live quotes, and
 * the table/JSON/CSV output.
 *
 * @module
 */

import { accountAsset } from "@krakked/core/account/assets";
import {
  hydrateHistory,
  type HydrationStats,
} from "@krakked/core/account/history_cache";
import {
  type CashFlow,
  cashFlows,
  netFlows,
  tradeFees,
} from "@krakked/core/account/ledger";
import {
  computePnl,
  groupPnl,
  type PnlGrouping,
  type PnlReport,
  remarkPnl,
} from "@krakked/core/account/pnl";
import {
  CROSS_ASSETS,
  type Quote,
  type QuoteSource,
  tradeRates,
  usdPrice,
  VALUATION_ASSET,
} from "@krakked/core/account/rates";
import { type AccountTrade, accountTrades } from "@krakked/core/account/trades";
import {
  addDecimal,
  compareDecimal,
  roundDecimal,
  toFixedDecimals,
} from "@krakked/core/decimal";
import { AssetTable } from "@krakked/core/market/assets";
import {
  type PairMetadata,
  PairResolver,
  pairsFromAssetPairs,
} from "@krakked/core/market/pairs";
import type { RestClient } from "@krakked/core/rest/client";
import type {
  LedgerEntry,
  TickerInfo,
  TradeInfo,
} from "@krakked/core/rest/types";
import { Redactor } from "@krakked/core/secrets/redact";
import { accountCacheDir, fileHistoryStore } from "../deno/account_store.ts";
import {
  choiceFlag,
  isUsageError,
  type Parsed,
  type ParsedFlags,
  parseFlags,
  parseSince,
  usageError,
  type UsageProblem,
} from "./args.ts";
import type { Command } from "./command.ts";
import {
  type CliContext,
  loadCommandContext,
  requireCredentials,
  table,
} from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/** How a report is printed. */
export type OutputFormat = "table" | "json" | "csv";

/**
 * Reads `--json` / `--csv` (one at most).
 *
 * @param parsed Parsed flags with `json` and `csv` booleans.
 * @returns The format, or a usage error when both are given.
 */
export function outputFormat(parsed: ParsedFlags): OutputFormat | UsageProblem {
  const json = parsed.booleans.has("json");
  const csv = parsed.booleans.has("csv");
  if (json && csv) return usageError("Give --json or --csv, not both");
  return json ? "json" : csv ? "csv" : "table";
}

/**
 * Reads `--since` into Unix seconds.
 *
 * @param parsed Parsed flags.
 * @returns Seconds, `undefined` when absent, or a usage error.
 */
export function sinceFlag(
  parsed: ParsedFlags,
): number | undefined | UsageProblem {
  const text = parsed.values.get("since");
  if (text === undefined) return undefined;
  try {
    return parseSince(text);
  } catch (error) {
    if (error instanceof RangeError) return usageError(error.message);
    throw error;
  }
}

function csvCell(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes rows as CSV (RFC 4180 quoting), header first.
 *
 * @param io The run's I/O.
 * @param headers Column names.
 * @param rows Cells per row.
 */
export function writeCsv(
  io: Pick<CliIo, "stdout">,
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): void {
  const lines = [headers, ...rows].map((r) => r.map(csvCell).join(","));
  io.stdout(`${lines.join("\n")}\n`);
}

/** The account's history and market, loaded for a command. */
export interface AccountData {
  /** Asset names. */
  assets: AssetTable;
  /** Pair metadata. */
  pairs: PairMetadata[];
  /** Resolves any pair spelling. */
  resolver: PairResolver;
  /** Own trades, oldest first. */
  trades: AccountTrade[];
  /** Every ledger entry, oldest first. */
  flows: CashFlow[];
  /** What loading the histories did. */
  hydration: { trades: HydrationStats; ledger: HydrationStats };
}

/**
 * Loads trades and ledger through the incremental cache in the config
 * directory (`account/<hash of URL and key>/`).
 *
 * @param ctx The command context (credentials required).
 * @returns The history.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function loadAccountData(ctx: CliContext): Promise<AccountData> {
  requireCredentials(ctx.credentials);
  const key = ctx.credentials?.kind === "found"
    ? ctx.credentials.credentials.key.reveal()
    : "";
  const dir = await accountCacheDir(
    ctx.paths.dir,
    ctx.config.connection.rest_url,
    key,
  );
  return await loadAccountHistory(ctx.rest, dir);
}

/**
 * Loads trades and ledger through the cache files in `cacheDir`, with
 * asset and pair names from the REST client.
 *
 * @param rest A REST client with credentials.
 * @param cacheDir The account's cache folder (`accountCacheDir`).
 * @returns The history.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function loadAccountHistory(
  rest: RestClient,
  cacheDir: string,
): Promise<AccountData> {
  const assets = await rest.assets().then(
    (a) => AssetTable.fromAssets(a),
    () => AssetTable.fallback(),
  );
  const pairs = pairsFromAssetPairs(await rest.assetPairs(), { assets });
  const byKey = new Map(pairs.map((p) => [p.restKey, p]));
  const tradeHistory = await hydrateHistory<TradeInfo>(
    async (ofs) => {
      const page = await rest.tradesHistory({ ofs });
      return { rows: page.trades, count: page.count };
    },
    fileHistoryStore(`${cacheDir}/trades.jsonl`),
  );
  const ledgerHistory = await hydrateHistory<LedgerEntry>(
    async (ofs) => {
      const page = await rest.ledgers({ ofs });
      return { rows: page.ledger, count: page.count };
    },
    fileHistoryStore(`${cacheDir}/ledger.jsonl`),
  );
  const flows = cashFlows(ledgerHistory.rows, assets);
  const trades = accountTrades(tradeHistory.rows, {
    pairOf: (restKey) => {
      const pair = byKey.get(restKey);
      if (pair === undefined) return undefined;
      return {
        id: pair.id,
        base: accountAsset(pair.baseKey, assets).asset,
        quote: accountAsset(pair.quoteKey, assets).asset,
      };
    },
    fees: tradeFees(flows),
  });
  return {
    assets,
    pairs,
    resolver: new PairResolver(pairs, { assets }),
    trades,
    flows,
    hydration: { trades: tradeHistory.stats, ledger: ledgerHistory.stats },
  };
}

/**
 * The pairs whose quotes can price `needed`: each asset's pair against a
 * valuation currency or a cross, and the crosses' own pairs (the routes of
 * `priceIn` in core/account/rates.ts). Pure.
 *
 * @param pairs Pair metadata.
 * @param needed Common codes to price.
 * @param currencies Valuation currencies (default USD).
 * @returns The pairs to quote.
 */
export function markPairs(
  pairs: readonly PairMetadata[],
  needed: Iterable<string>,
  currencies: readonly string[] = [VALUATION_ASSET],
): PairMetadata[] {
  const bases = new Set([...needed, ...CROSS_ASSETS]);
  const quotesWanted = new Set([...currencies, ...CROSS_ASSETS]);
  return pairs.filter((p) =>
    bases.has(p.base) && quotesWanted.has(p.quote) && p.base !== p.quote
  );
}

/**
 * Reads the best bid and ask of each pair in a REST `Ticker` answer.
 *
 * @param ticker The answer, by the key Kraken printed.
 * @param asked The pairs asked for.
 * @returns Quotes by canonical pair id.
 */
export function tickerQuotes(
  ticker: Readonly<Record<string, Pick<TickerInfo, "a" | "b">>>,
  asked: readonly PairMetadata[],
): Map<string, Quote> {
  const byKey = new Map(asked.map((p) => [p.restKey, p]));
  const quotes = new Map<string, Quote>();
  for (const [restKey, info] of Object.entries(ticker)) {
    const pair = byKey.get(restKey) ?? asked.find((p) => p.altname === restKey);
    if (pair === undefined) continue;
    quotes.set(pair.id, { bid: info.b[0], ask: info.a[0] });
  }
  return quotes;
}

/**
 * Live quotes (REST `Ticker`) of the pairs that can price `needed`: each
 * asset's USD pair and its cross pairs, and the crosses' USD pairs. The
 * CLI's one-shot read; the server marks from its WS book feed instead
 * (server/trading/account_marks.ts).
 *
 * @param ctx The command context.
 * @param pairs Pair metadata.
 * @param needed Common codes to price.
 * @param currencies Valuation currencies (default USD).
 * @returns A quote source.
 */
export async function liveQuotes(
  ctx: Pick<CliContext, "rest">,
  pairs: readonly PairMetadata[],
  needed: Iterable<string>,
  currencies: readonly string[] = [VALUATION_ASSET],
): Promise<QuoteSource> {
  const wanted = markPairs(pairs, needed, currencies);
  const book = new Map<string, Quote>();
  if (wanted.length > 0) {
    const ticker = await ctx.rest.ticker(wanted.map((p) => p.restKey));
    for (const [id, quote] of tickerQuotes(ticker, wanted)) {
      const pair = wanted.find((p) => p.id === id)!;
      book.set(`${pair.base}/${pair.quote}`, quote);
    }
  }
  return (base, quote) => book.get(`${base}/${quote}`);
}

/** Help text of `krakked pnl`. */
export const PNL_HELP =
  `Usage: krakked pnl [--since DATE] [--pair P] [--by asset|pair|day] [--json|--csv]

Profit and loss in USD, by FIFO lots per asset, from the account's
TradesHistory and Ledgers (read only; cached in <config dir>/account/, so
later runs fetch only new rows). Fees count in the asset that paid them
(quote, base or KFEE at 0.01 USD), valued when the trade happened; deposits
and withdrawals are kept apart from performance; staking rewards and
rebates are income. Open lots are marked at the live mid (USD pair, else
via XBT or USDT); whatever has no price is listed, never valued at 0.

  --since DATE   only what happened from DATE on: YYYY-MM-DD, ISO date-time (UTC) or Unix seconds
  --pair P       realised P&L and fees of one pair (any spelling: XBTUSD, BTC/USD)
  --by G         group realised P&L and fees by asset (default), pair or day (UTC)
  --json         print the whole report as JSON (decimal strings)
  --csv          print the groups as CSV`;

/** Parsed `pnl` flags. */
export interface PnlFlags {
  /** Discriminator: the command. */
  kind: "pnl";
  /** Range start, Unix seconds. */
  sinceSec: number | undefined;
  /** Pair filter, as typed. */
  pair: string | undefined;
  /** Grouping. */
  by: PnlGrouping;
  /** Output. */
  format: OutputFormat;
}

/**
 * Parse `pnl` flags. Pure.
 *
 * @param args Arguments after `pnl`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parsePnlArgs } from "./pnl_cmd.ts";
 * parsePnlArgs(["--by", "day", "--json"]);
 * ```
 */
export function parsePnlArgs(args: readonly string[]): Parsed<PnlFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "csv"],
    values: ["since", "pair", "by"],
  });
  if (parsed.kind !== "flags") return parsed;
  const format = outputFormat(parsed);
  if (isUsageError(format)) return format;
  const sinceSec = sinceFlag(parsed);
  if (isUsageError(sinceSec)) return sinceSec;
  const by = choiceFlag(parsed, "by", ["asset", "pair", "day"] as const);
  if (isUsageError(by)) return by;
  return {
    kind: "pnl",
    sinceSec,
    pair: parsed.values.get("pair"),
    by: by ?? "asset",
    format,
  };
}

/** The `pnl --json` document. */
export interface PnlJson {
  /** `USD`. */
  valuation: string;
  /** Range start (ISO) or `null`. */
  since: string | null;
  /** The pair filter (canonical id) or `null`. */
  pair: string | null;
  /** The grouping. */
  by: PnlGrouping;
  /** Sums over the range (realised and fees filtered by `pair`). */
  totals: Pick<
    PnlReport,
    | "realizedPnl"
    | "fees"
    | "income"
    | "netDeposits"
    | "unrealizedPnl"
    | "unrealizedStart"
    | "unrealizedChange"
    | "performance"
    | "complete"
    | "trades"
  >;
  /** Groups. */
  groups: ReturnType<typeof groupPnl>;
  /** Open positions with their lots. */
  positions: PnlReport["positions"];
  /** What had no price. */
  unpriced: PnlReport["unpriced"];
  /** What loading did (cold or warm, pages, new rows); `null` without a cache (paper). */
  hydration: AccountData["hydration"] | null;
}

/** The history a P&L document is built from. */
export type PnlInput =
  & Pick<AccountData, "pairs" | "resolver" | "trades" | "flows">
  & Partial<Pick<AccountData, "hydration">>;

/**
 * Replays the history into the FIFO report behind {@linkcode pnlDocument}
 * (the expensive part: every trade and flow). Pure.
 *
 * @param data The account's history.
 * @param flags The range (`sinceSec`).
 * @param mark USD mid now per asset.
 * @returns The whole-account report.
 */
export function pnlReport(
  data: Pick<AccountData, "trades" | "flows">,
  flags: Pick<PnlFlags, "sinceSec">,
  mark: (asset: string) => string | null,
): PnlReport {
  return computePnl(data.trades, netFlows(data.flows), {
    rateAt: tradeRates(data.trades),
    mark,
    ...(flags.sinceSec === undefined ? {} : { sinceSec: flags.sinceSec }),
  });
}

/**
 * Builds the `pnl` document from loaded data. Pure.
 *
 * @param data The account's history (the paper account's fills too: no
 *   `hydration` then).
 * @param flags Range, pair and grouping.
 * @param mark USD mid now per asset.
 * @param replayed A {@linkcode pnlReport} of the same history and range
 *   at older marks: only re-marked (`remarkPnl`), not replayed again.
 * @returns The document.
 * @throws {import("@krakked/core/market/pairs").UnknownPairError} For an unknown `--pair`.
 */
export function pnlDocument(
  data: PnlInput,
  flags: Pick<PnlFlags, "sinceSec" | "pair" | "by">,
  mark: (asset: string) => string | null,
  replayed?: PnlReport,
): PnlJson {
  const pair = flags.pair === undefined
    ? null
    : data.resolver.resolve(flags.pair);
  const meta = pair === null
    ? undefined
    : data.pairs.find((p) => p.id === pair);
  const pairAssets = new Set(
    meta === undefined ? [] : [meta.base, meta.quote],
  );
  const full = replayed === undefined
    ? pnlReport(data, flags, mark)
    : remarkPnl(replayed, mark);
  const report = pair === null ? full : {
    ...full,
    realized: full.realized.filter((r) => r.pair === pair),
    feesPaid: full.feesPaid.filter((f) => f.pair === pair),
  };
  const sum = (values: string[]) =>
    values.reduce((a, b) => addDecimal(a, b), "0");
  const totals = {
    // The whole account's sums are the report's own (the same pieces).
    realizedPnl: pair === null
      ? full.realizedPnl
      : sum(report.realized.map((r) => r.pnl)),
    fees: pair === null ? full.fees : sum(report.feesPaid.map((f) => f.usd)),
    income: full.income,
    netDeposits: full.netDeposits,
    unrealizedPnl: full.unrealizedPnl,
    unrealizedStart: full.unrealizedStart,
    unrealizedChange: full.unrealizedChange,
    performance: full.performance,
    complete: full.complete,
    trades: pair === null
      ? full.trades
      : data.trades.filter((t) =>
        t.pair === pair && t.timeSec >= (flags.sinceSec ?? -Infinity)
      ).length,
  };
  return {
    valuation: full.valuation,
    since: flags.sinceSec === undefined
      ? null
      : new Date(flags.sinceSec * 1000).toISOString(),
    pair,
    by: flags.by,
    totals,
    groups: pair === null
      ? groupPnl(report, flags.by)
      : groupPnl(report, flags.by).filter((g) =>
        compareDecimal(g.realizedPnl, "0") !== 0 ||
        compareDecimal(g.fees, "0") !== 0 ||
        (flags.by === "asset" && pairAssets.has(g.key))
      ),
    positions: full.positions,
    unpriced: full.unpriced,
    hydration: data.hydration ?? null,
  };
}

/**
 * Money text for a table: rounded half up to two decimals (cents).
 *
 * @param value Exact decimal text.
 * @returns E.g. `"56.62"`.
 */
export function centsText(value: string): string {
  return toFixedDecimals(roundDecimal(value, 2), 2);
}

function hydrationLine(h: AccountData["hydration"]): string {
  const one = (name: string, s: HydrationStats) =>
    `${name} ${s.mode}: ${s.pages} page${
      s.pages === 1 ? "" : "s"
    }, ${s.added} new, ${s.total} cached`;
  return `${one("trades", h.trades)}; ${one("ledger", h.ledger)}`;
}

/**
 * Run `krakked pnl`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function runPnl(
  flags: PnlFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    const data = await loadAccountData(ctx);
    const held = new Set<string>();
    for (const t of data.trades) held.add(t.base).add(t.quote);
    for (const f of data.flows) held.add(f.asset);
    const quotes = await liveQuotes(ctx, data.pairs, held);
    const doc = pnlDocument(
      data,
      flags,
      (asset) => usdPrice(asset, quotes)?.price ?? null,
    );
    writeLine(io.stderr, hydrationLine(data.hydration));
    if (flags.format === "json") {
      writeJson(io, doc);
      return 0;
    }
    // CSV keeps every decimal; the table shows cents (JSON is exact too).
    const cents = flags.format === "csv" ? (x: string) => x : centsText;
    const rows = doc.groups.map((g) => [
      g.key,
      cents(g.realizedPnl),
      cents(g.fees),
      cents(g.net),
      g.unrealizedPnl === null ? "" : cents(g.unrealizedPnl),
    ]);
    if (flags.format === "csv") {
      writeCsv(
        io,
        [flags.by, "realized_pnl", "fees", "net", "unrealized_pnl"],
        rows,
      );
      return 0;
    }
    writeLine(
      io.stdout,
      table([flags.by, "realised", "fees", "net", "unrealised"], rows, [
        1,
        2,
        3,
        4,
      ]),
    );
    const t = doc.totals;
    writeLine(
      io.stdout,
      [
        "",
        `realised ${cents(t.realizedPnl)}  fees ${cents(t.fees)}  income ${
          cents(t.income)
        }  unrealised ${cents(t.unrealizedPnl)} (change ${
          cents(t.unrealizedChange)
        })`,
        `performance ${cents(t.performance)} USD  net deposits ${
          cents(t.netDeposits)
        } USD  trades ${t.trades}`,
        ...(doc.unpriced.length > 0
          ? [
            `unpriced (left out of the sums): ${
              doc.unpriced.map((u) => `${u.kind} ${u.id} (${u.asset})`).join(
                ", ",
              )
            }`,
          ]
          : []),
      ].join("\n"),
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked pnl`, for the command table. */
export const pnlCommand: Command<PnlFlags> = {
  name: "pnl",
  summary: "Show realised and unrealised P&L (FIFO, USD, after fees)",
  help: PNL_HELP,
  parse: parsePnlArgs,
  run: runPnl,
};
