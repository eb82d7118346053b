/**
 * The order service with a live book source: placements read the book
 * from it (no REST `Depth`), and in paper mode every book change re-matches
 * the resting paper orders, so they fill and their stops trigger without
 * anyone asking.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_CONFIG,
  type KrakkedConfig,
} from "../../../core/config/config.ts";
import { RestClient } from "../../../core/rest/client.ts";
import type { PaperBook, PaperBrokerState } from "../../../core/trade/paper.ts";
import {
  type BookSource,
  OrderService,
} from "../../../server/trading/orders.ts";
import { startSimulator } from "@krakked/sim";

class FakeBooks implements BookSource {
  books = new Map<string, PaperBook>();
  watched: string[] = [];
  #listeners = new Set<(pairId: string) => void>();
  book(pairId: string): PaperBook | undefined {
    return this.books.get(pairId);
  }
  watch(pair: { id: string }): void {
    if (!this.watched.includes(pair.id)) this.watched.push(pair.id);
  }
  onUpdate(listener: (pairId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(pairId: string, bid: number, ask: number): void {
    this.books.set(pairId, {
      bids: [{ price: bid.toFixed(1), qty: "5" }],
      asks: [{ price: ask.toFixed(1), qty: "5" }],
    });
    for (const listener of this.#listeners) listener(pairId);
  }
}

/** Polls the saved paper account until `ready` holds (bounded). */
async function savedWhen(
  path: string,
  ready: (state: PaperBrokerState) => boolean,
): Promise<PaperBrokerState> {
  for (let i = 0; i < 200; i++) {
    try {
      const state = JSON.parse(await Deno.readTextFile(path));
      if (ready(state)) return state;
    } catch {
      // Not written yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${path} never reached the expected state`);
}

Deno.test("paper: resting orders fill and stops trigger on book changes from the feed", async () => {
  const sim = await startSimulator({ port: 0, seed: 4 });
  const dir = await Deno.makeTempDir();
  const rest = new RestClient({ baseUrl: sim.url });
  let depthCalls = 0;
  const counted = {
    assets: () => rest.assets(),
    assetPairs: () => rest.assetPairs(),
    depth: (pair: string, count?: number) => {
      depthCalls++;
      return rest.depth(pair, count);
    },
    callPrivate: () => Promise.reject(new Error("no private calls on paper")),
    hasCredentials: false,
  };
  const books = new FakeBooks();
  books.set("XBTUSD", 24_990, 25_000);
  const config: KrakkedConfig = {
    ...DEFAULT_CONFIG,
    trading: { ...DEFAULT_CONFIG.trading, mode: "paper" },
  };
  const service = new OrderService({
    config,
    liveSwitch: false,
    rest: counted,
    books,
    paperPath: join(dir, "paper.json"),
  });
  try {
    const placed = await service.place({
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume: "0.01",
      price: "24900",
      stopLoss: "24000",
    });
    assert.equal(placed.decision, "accepted", JSON.stringify(placed));
    assert.equal(depthCalls, 0, "the book came from the feed");
    assert.deepEqual(books.watched, ["XBTUSD"]);
    // The market comes down to the limit: the resting buy fills as a
    // maker and its stop appears, without any call to the service.
    books.set("XBTUSD", 24_880, 24_890);
    // Nothing asks the service: the saved account shows the fill.
    let saved = await savedWhen(
      join(dir, "paper.json"),
      (state) => state.balances.BTC === "0.01",
    );
    assert.ok(
      saved.orders.some((o) =>
        o.type === "stop-loss" && o.side === "sell" && o.status === "new"
      ),
    );
    // A crash through the stop sells the position.
    books.set("XBTUSD", 23_500, 23_510);
    saved = await savedWhen(
      join(dir, "paper.json"),
      (state) => Number(state.balances.BTC ?? "0") === 0,
    );
    const paper = await service.paperSummary();
    assert.equal(Number(paper.balances.BTC ?? "0"), 0);
    assert.deepEqual(paper.openOrders, []);
    assert.ok(Number(paper.pnl.realized) < 0, "the loss is booked");
    assert.equal(depthCalls, 0);
  } finally {
    await service.close();
    rest.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
