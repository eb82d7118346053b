/**
 * Trading-core costs: the gate (validation + safety rules), both encoders,
 * one lifecycle step, and paper fills against a 25-level book.
 */
import {
  addOrderRestParams,
  addOrderWsParams,
} from "../../../core/trade/encode.ts";
import { prepareOrder } from "../../../core/trade/gates.ts";
import { orderStateFor, stepOrder } from "../../../core/trade/lifecycle.ts";
import { type PaperBook, PaperBroker } from "../../../core/trade/paper.ts";
import { context, entry, ethusd, NOW_MS } from "./_fixtures.ts";

const ETH = ethusd();
const prepared = (() => {
  const result = prepareOrder(entry(), context());
  if (!result.ok) throw new Error(result.rejection.message);
  return result.prepared;
})();

function depth(levels: number): PaperBook {
  const bids = [];
  const asks = [];
  for (let i = 0; i < levels; i++) {
    bids.push({ price: (1999 - i).toFixed(2), qty: "0.01000000" });
    asks.push({ price: (2000 + i).toFixed(2), qty: "0.01000000" });
  }
  return { bids, asks };
}
const BOOK = depth(25);
const marketBuy = (() => {
  const result = prepareOrder(
    entry({
      pair: "ETHUSD",
      type: "market",
      price: undefined,
      volume: "0.2",
      stopLoss: { type: "stop-loss", triggerPrice: "1900" },
    }),
    context({ pair: ETH, referencePrice: "2000" }),
  );
  if (!result.ok) throw new Error(result.rejection.message);
  return result.prepared;
})();

Deno.bench("prepareOrder(): validation and every gate", () => {
  prepareOrder(entry(), context());
});

Deno.bench("addOrderRestParams() + addOrderWsParams()", () => {
  addOrderRestParams(prepared.order, prepared.pair);
  addOrderWsParams(prepared.order, prepared.pair);
});

Deno.bench("stepOrder(): one executions trade report", () => {
  stepOrder(orderStateFor(prepared, NOW_MS), {
    type: "wire.execution",
    sequence: 1,
    atMs: NOW_MS,
    report: {
      order_userref: 1,
      exec_type: "trade",
      exec_id: "T1",
      last_qty: 0.005,
      last_price: 25000.1,
      cost: 125.0005,
      fees: [{ asset: "USD", qty: 0.325 }],
    },
  });
});

Deno.bench("PaperBroker.submit(): market buy walking 20 of 25 levels", () => {
  const broker = new PaperBroker({
    pairs: [ETH],
    balances: { USD: "100000" },
    now: () => NOW_MS,
  });
  broker.submit(marketBuy, BOOK);
});

Deno.bench("PaperBroker.updateBook(): 20 resting orders, no fills", (b) => {
  const broker = new PaperBroker({
    pairs: [ETH],
    balances: { USD: "100000" },
    now: () => NOW_MS,
  });
  broker.updateBook("ETHUSD", BOOK);
  for (let i = 0; i < 20; i++) {
    const result = prepareOrder(
      entry({
        pair: "ETHUSD",
        price: (1990 - i).toFixed(2),
        volume: "0.01",
        stopLoss: { type: "stop-loss", triggerPrice: "1850" },
      }),
      context({ pair: ETH }),
    );
    if (result.ok) broker.submit(result.prepared);
  }
  b.start();
  broker.updateBook("ETHUSD", BOOK);
  b.end();
});
