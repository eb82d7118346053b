/**
 * The account's live marks (issue 17): the mids of the server's public
 * WS v2 book feed (the same {@linkcode BookSource} paper orders read), with
 * REST `Ticker` only for the pairs the feed does not cover.
 *
 * Each call to {@linkcode AccountMarks.quotes} asks for the pairs that can
 * price the account's assets (`markPairs`: the USD pair, the XBT and USDT
 * crosses and their USD pairs), watches each on the feed (subscribed on
 * first use), and takes a pair's best bid and ask from its book when the
 * feed holds a synced, fresh one. Only the pairs left — not yet subscribed,
 * resyncing, stale, or not streamed at all — are read with one `Ticker`
 * call, and that answer is reused for `restEveryMs` (default 15 s): no REST
 * polling while the stream covers the assets, and at most one call per
 * period when it does not. A failed `Ticker` call keeps the previous REST
 * quotes; a pair with no quote at all stays unpriced (never valued at 0).
 *
 * {@linkcode AccountMarks.onUpdate} tells the account service that a book
 * it marks with moved, so equity follows the stream.
 *
 * @module
 */

import type { Quote, QuoteSource } from "@krakked/core/account/rates";
import { VALUATION_ASSET } from "@krakked/core/account/rates";
import type { PairMetadata } from "@krakked/core/market/pairs";
import type { TickerInfo } from "@krakked/core/rest/types";
import { markPairs, tickerQuotes } from "./account_history.ts";
import type { BookSource } from "./orders.ts";

/** Options of {@linkcode AccountMarks}. */
export interface AccountMarksOptions {
  /** The server's WS v2 book feed (absent: REST only). */
  books?: BookSource;
  /** REST `Ticker` for pairs the feed does not cover. */
  ticker: (
    restKeys: string[],
  ) => Promise<Record<string, Pick<TickerInfo, "a" | "b">>>;
  /** Reuse a REST quote this long before reading it again, ms (default 15,000). */
  restEveryMs?: number;
  /** Clock, ms. */
  now?: () => number;
}

/** Quotes for one valuation, and where each came from. */
export interface MarkSet {
  /** The quotes by `base/quote` (common codes). */
  source: QuoteSource;
  /** Pair ids marked from the stream's books. */
  streamed: string[];
  /** Pair ids marked from REST `Ticker` (the stream did not cover them). */
  rest: string[];
  /** Pair ids with no quote at all. */
  missing: string[];
}

/** Where the marks came from, for `/api/account`. */
export interface MarksInfo {
  /** Pairs marked from the stream. */
  streamed: number;
  /** Pairs marked from REST (listed: the stream did not cover them). */
  rest: string[];
  /** Pairs with no quote. */
  missing: string[];
  /** REST `Ticker` calls made for marks so far. */
  tickerCalls: number;
}

/**
 * Live marks from the stream, REST as the fallback.
 *
 * @example Mark from the server's book feed
 * ```ts ignore
 * const marks = new AccountMarks({ books: feed, ticker: (keys) => rest.ticker(keys) });
 * const { source } = await marks.quotes(pairs, ["BTC", "ETH"]);
 * usdPrice("BTC", source);
 * ```
 */
export class AccountMarks {
  #o: AccountMarksOptions;
  #now: () => number;
  #rest = new Map<string, { quote: Quote | undefined; atMs: number }>();
  #inUse = new Set<string>();
  #tickerCalls = 0;
  #last: MarkSet | undefined;

  /**
   * Create; nothing is read until {@linkcode quotes}.
   *
   * @param options Feed, REST ticker and timing.
   */
  constructor(options: AccountMarksOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The quotes that price `needed`, from the stream where it has them.
   *
   * @param pairs Pair metadata.
   * @param needed Common codes to price.
   * @param currencies Valuation currencies (default USD).
   * @returns The quotes and their origins.
   */
  async quotes(
    pairs: readonly PairMetadata[],
    needed: Iterable<string>,
    currencies: readonly string[] = [VALUATION_ASSET],
  ): Promise<MarkSet> {
    const wanted = markPairs(pairs, needed, currencies);
    const books = this.#o.books;
    const byName = new Map<string, Quote>();
    const streamed: string[] = [];
    const uncovered: PairMetadata[] = [];
    this.#inUse = new Set(wanted.map((p) => p.id));
    for (const pair of wanted) {
      books?.watch?.(pair);
      const book = books?.book(pair.id);
      const bid = book?.bids[0]?.price;
      const ask = book?.asks[0]?.price;
      if (bid !== undefined && ask !== undefined) {
        byName.set(`${pair.base}/${pair.quote}`, { bid, ask });
        streamed.push(pair.id);
      } else uncovered.push(pair);
    }
    const now = this.#now();
    const every = this.#o.restEveryMs ?? 15_000;
    const due = uncovered.filter((p) => {
      const held = this.#rest.get(p.id);
      return held === undefined || now - held.atMs >= every;
    });
    if (due.length > 0) {
      this.#tickerCalls++;
      try {
        const answer = await this.#o.ticker(due.map((p) => p.restKey));
        for (const [id, quote] of tickerQuotes(answer, due)) {
          this.#rest.set(id, { quote, atMs: now });
        }
      } catch {
        // Kraken unreachable: keep the older REST quotes; the rest stays
        // unpriced until the next try (listed, never valued at 0).
      }
      // An unanswered pair is not asked again before the period either.
      for (const p of due) {
        if (!this.#rest.has(p.id)) {
          this.#rest.set(p.id, { quote: undefined, atMs: now });
        }
      }
    }
    const rest: string[] = [];
    const missing: string[] = [];
    for (const pair of uncovered) {
      const quote = this.#rest.get(pair.id)?.quote;
      if (quote === undefined) {
        missing.push(pair.id);
        continue;
      }
      byName.set(`${pair.base}/${pair.quote}`, quote);
      rest.push(pair.id);
    }
    const set: MarkSet = {
      source: (base, quote) => byName.get(`${base}/${quote}`),
      streamed,
      rest,
      missing,
    };
    this.#last = set;
    return set;
  }

  /**
   * Listen to book changes of the pairs the latest {@linkcode quotes} used.
   *
   * @param listener Called with the pair id.
   * @returns Unsubscribe.
   */
  onUpdate(listener: (pairId: string) => void): () => void {
    const off = this.#o.books?.onUpdate?.((pairId) => {
      if (this.#inUse.has(pairId)) listener(pairId);
    });
    return off ?? (() => {});
  }

  /** Where the latest marks came from. */
  info(): MarksInfo {
    return {
      streamed: this.#last?.streamed.length ?? 0,
      rest: this.#last?.rest ?? [],
      missing: this.#last?.missing ?? [],
      tickerCalls: this.#tickerCalls,
    };
  }
}
