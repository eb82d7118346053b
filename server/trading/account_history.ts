/**
 * The account's history as the server and the CLI load and report it:
 * trades and ledger through the incremental cache, the pairs that can mark
 * an asset, quotes from a REST `Ticker`, and the P&L document that
 * `krakked pnl --json`, `GET /api/account` and the Portfolio view share.
 * Runtime-specific only through the cache files (server/deno); the
 * arithmetic is core/account's.
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
  tradeRates,
  VALUATION_ASSET,
} from "@krakked/core/account/rates";
import { type AccountTrade, accountTrades } from "@krakked/core/account/trades";
import { addDecimal, compareDecimal } from "@krakked/core/decimal";
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
import { fileHistoryStore } from "../deno/account_store.ts";

/** The range, pair filter and grouping of a P&L document. */
export interface PnlRange {
  /** Range start, Unix seconds. */
  sinceSec: number | undefined;
  /** Pair filter, as typed. */
  pair: string | undefined;
  /** Grouping. */
  by: PnlGrouping;
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
  flags: Pick<PnlRange, "sinceSec">,
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
  flags: PnlRange,
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
