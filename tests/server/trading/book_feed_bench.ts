/**
 * A burst of paper market orders (tiny volumes, each with a stop-loss)
 * through {@linkcode OrderService.place} against the in-process simulator as
 * `serve --sim` runs it (real clock, feed ticking every 250 ms), once with
 * the WS v2 {@linkcode BookFeed} and once without (every placement fetches
 * REST `Depth` through the public counter: a burst of 5, then 1 per second).
 *
 * Two ways to run it:
 *
 * - `deno run --allow-net=127.0.0.1,localhost --allow-read --allow-env tests/server/trading/book_feed_bench.ts [orders]`:
 *   the report, both ways in one run: orders/s and the latency of each
 *   order from the burst's start (default 200 orders; the REST half takes
 *   about one second per order).
 * - `deno bench --allow-net=127.0.0.1,localhost --allow-read --allow-write --allow-env tests/server/trading/book_feed_bench.ts`
 *   (part of `deno task bench`): one placement per iteration.
 *
 * Before timing, each service places one order per pair (loading market
 * metadata; with the feed, subscribing the pair), and the feed's books are
 * awaited, so the burst measures the steady state.
 */

import { parseConfig } from "../../../core/config/config.ts";
import type { PairMetadata } from "../../../core/market/pairs.ts";
import { RestClient } from "../../../core/rest/client.ts";
import type { PaperBook } from "../../../core/trade/paper.ts";
import { BookFeed } from "../../../server/trading/book_feed.ts";
import {
  type BookSource,
  type OrderDecision,
  OrderService,
  type OrderTicket,
} from "../../../server/trading/orders.ts";
import { type Simulator, startSimulator, webSocketPlugin } from "@krakked/sim";

/** USD pairs of different price precisions, placed round-robin. */
const PAIRS = ["XBTUSD", "ETHUSD", "SOLUSD", "XDGUSD"];
/** Bound of the wait for the feed's first books. */
const WAIT_MS = 10_000;

// A position cap far above the burst: the bench measures book reads, not
// the risk model's refusals.
const CONFIG_TEXT = `trading:
  mode: paper
  max_position_notional_usd: 1000000
  paper_starting_usd: 1000000
`;

/** A BookSource that counts what it served and what fell back to REST. */
class CountingBooks implements BookSource {
  served = 0;
  missed = 0;
  constructor(readonly feed: BookFeed) {}
  book(pairId: string): PaperBook | undefined {
    const book = this.feed.book(pairId);
    if (book === undefined) this.missed++;
    else this.served++;
    return book;
  }
  watch(pair: PairMetadata): void {
    this.feed.watch(pair);
  }
}

interface Side {
  orders: OrderService;
  rest: RestClient;
  books: CountingBooks | undefined;
  close(): Promise<void>;
}

interface Setup {
  sim: Simulator;
  feedSide: Side;
  restSide: Side;
  pairs: PairMetadata[];
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const { config } = parseConfig(CONFIG_TEXT);
  // As serve --sim starts it: real clock, default WS timing.
  const sim = await startSimulator({
    port: 0,
    seed: 1,
    tier: config.connection.api_tier,
    websocket: webSocketPlugin(),
  });
  // One REST client per side, as one server has: each its own public counter.
  const side = (feed: BookFeed | undefined): Side => {
    const rest = new RestClient({
      baseUrl: sim.url,
      timeoutMs: config.connection.timeout_ms,
      tier: config.connection.api_tier,
    });
    const books = feed === undefined ? undefined : new CountingBooks(feed);
    const orders = new OrderService({
      config,
      liveSwitch: false,
      rest,
      ...(books === undefined ? {} : { books }),
    });
    return {
      orders,
      rest,
      books,
      async close() {
        await orders.close();
        feed?.close();
        rest.close();
      },
    };
  };
  const feed = new BookFeed(sim.wsPublicUrl, {
    staleToleranceSec: config.market_data.ws.stale_tolerance_seconds,
  });
  const feedSide = side(feed);
  const restSide = side(undefined);
  const pairs = await metadata(restSide.rest);
  let closed = false;
  return {
    sim,
    feedSide,
    restSide,
    pairs,
    async close() {
      if (closed) return;
      closed = true;
      await feedSide.close();
      await restSide.close();
      await sim.close();
    },
  };
}

async function metadata(rest: RestClient): Promise<PairMetadata[]> {
  const { loadMarketMetadata } = await import(
    "../../../core/market/metadata.ts"
  );
  const { resolver } = await loadMarketMetadata(rest);
  return PAIRS.map((id) => resolver.get(id));
}

const asks = new Map<string, number>();

/** A market buy of the pair's minimum volume with a stop 5 % below the ask. */
function ticket(pair: PairMetadata): OrderTicket {
  const ask = asks.get(pair.id) as number;
  return {
    pair: pair.id,
    side: "buy",
    type: "market",
    volume: pair.ordermin === "0" ? "0.001" : pair.ordermin,
    stopLoss: (ask * 0.95).toFixed(pair.priceDecimals),
  };
}

function accepted(decision: OrderDecision): void {
  if (decision.decision !== "accepted") {
    throw new Error(`Paper order refused: ${JSON.stringify(decision)}`);
  }
}

/** One order per pair on each side, then the feed's books. */
async function warm(s: Setup): Promise<void> {
  for (const pair of s.pairs) {
    const depth = await s.feedSide.rest.depth(pair.restKey, 1);
    asks.set(pair.id, Number(depth.asks[0]![0]));
  }
  for (const side of [s.feedSide, s.restSide]) {
    for (const pair of s.pairs) accepted(await side.orders.place(ticket(pair)));
  }
  const feed = s.feedSide.books!.feed;
  const synced = () => s.pairs.every((p) => feed.book(p.id) !== undefined);
  if (!synced()) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error("The feed did not sync every book in time"));
      }, WAIT_MS);
      const off = feed.onUpdate(() => {
        if (!synced()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }
  s.feedSide.books!.served = 0;
  s.feedSide.books!.missed = 0;
}

interface BurstResult {
  orders: number;
  seconds: number;
  latenciesMs: number[];
}

/** Submit every order at once (the service runs them one at a time). */
async function burst(
  side: Side,
  pairs: PairMetadata[],
  count: number,
): Promise<BurstResult> {
  const start = performance.now();
  const latenciesMs: number[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const decision = await side.orders.place(
        ticket(pairs[i % pairs.length]!),
      );
      latenciesMs.push(performance.now() - start);
      accepted(decision);
    }),
  );
  return {
    orders: count,
    seconds: (performance.now() - start) / 1000,
    latenciesMs: latenciesMs.sort((a, b) => a - b),
  };
}

const encoder = new TextEncoder();

/** The report goes to stdout (console is linted out of tests). */
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function show(label: string, r: BurstResult): void {
  say(
    `${label.padEnd(24)} ${r.orders} orders in ${r.seconds.toFixed(2)} s = ${
      (r.orders / r.seconds).toFixed(1)
    } orders/s; latency from burst start p50 ${
      (percentile(r.latenciesMs, 0.5) / 1000).toFixed(3)
    } s, p99 ${(percentile(r.latenciesMs, 0.99) / 1000).toFixed(3)} s`,
  );
}

async function report(count: number): Promise<void> {
  const s = await setup();
  try {
    await warm(s);
    say(
      `Paper market buys with stop-loss, ${count} at once, round-robin over ${
        PAIRS.join(", ")
      }`,
    );
    const feed = await burst(s.feedSide, s.pairs, count);
    show("WS book feed:", feed);
    const books = s.feedSide.books!;
    say(
      `${
        "".padEnd(24)
      } books from the feed: ${books.served}, REST fallbacks: ${books.missed}`,
    );
    const rest = await burst(s.restSide, s.pairs, count);
    show("REST Depth (no feed):", rest);
    say(
      `Speed-up: ${
        ((count / feed.seconds) / (count / rest.seconds)).toFixed(0)
      }×`,
    );
  } finally {
    await s.close();
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 200);
  if (!Number.isInteger(count) || count < 1) {
    say(`Usage: book_feed_bench.ts [orders], got ${Deno.args[0]}`);
    Deno.exit(2);
  }
  await report(count);
} else {
  const s = await setup();
  await warm(s);
  let i = 0;
  Deno.bench({
    name: "OrderService.place() paper market order, book from the WS feed",
    n: 200,
    warmup: 5,
    async fn() {
      accepted(
        await s.feedSide.orders.place(ticket(s.pairs[i++ % s.pairs.length]!)),
      );
    },
  });
  // Few iterations: beyond the burst of 5, every Depth call waits about a
  // second for the public counter.
  Deno.bench({
    name: "OrderService.place() paper market order, book from REST Depth",
    n: 6,
    warmup: 0,
    async fn() {
      accepted(
        await s.restSide.orders.place(ticket(s.pairs[i++ % s.pairs.length]!)),
      );
    },
  });
  // Close everything once the last benchmark has run.
  Deno.bench({
    name: "book feed: (shutdown)",
    n: 1,
    warmup: 0,
    async fn() {
      await s.close();
    },
  });
}
