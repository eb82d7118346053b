/**
 * The order service drops a call whose caller went away while it waited
 * for its turn: nothing of it is judged, signed or sent.
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { KrakenError, LOCAL_CODES } from "../../../core/rest/errors.ts";
import type { CallParams } from "../../../core/rest/client.ts";
import {
  OrderService,
  type OrderServiceRest,
} from "../../../server/trading/orders.ts";

const FIXTURES = new URL("../../core/market/testdata/", import.meta.url);

async function fixture(name: string): Promise<Record<string, never>> {
  const text = await Deno.readTextFile(new URL(`${name}.json`, FIXTURES));
  return JSON.parse(text).result;
}

Deno.test("abandoned order calls waiting behind a slow one are never sent", async () => {
  let release!: () => void;
  const loading = new Promise<void>((resolve) => (release = resolve));
  const pairs = await fixture("asset_pairs");
  const assets = await fixture("assets");
  const sent: Array<{ method: string; params: CallParams }> = [];
  const rest: OrderServiceRest = {
    hasCredentials: true,
    assets: async () => {
      await loading;
      return assets;
    },
    assetPairs: async () => {
      await loading;
      return pairs;
    },
    depth: () => Promise.reject(new Error("no book in this test")),
    callPrivate: (method, params = {}) => {
      sent.push({ method, params });
      return Promise.resolve({
        result: method === "CancelAll" ? { count: 0 } : { open: {} },
        warnings: [],
      });
    },
  };
  const service = new OrderService({
    config: {
      ...DEFAULT_CONFIG,
      trading: {
        ...DEFAULT_CONFIG.trading,
        mode: "live",
        enable_live_orders: true,
        dead_man_seconds: 0,
      },
    },
    liveSwitch: true,
    rest,
  });
  try {
    // A slow call holds the service's turn (it loads the market first).
    const slow = service.orders();
    const gone = Array.from({ length: 20 }, (_, i) => {
      const controller = new AbortController();
      const call = i % 2 === 0
        ? service.cancel(`OABCDE-FGHIJ-KLM${String(i).padStart(3, "0")}`, {
          signal: controller.signal,
        })
        : service.cancelAll({ signal: controller.signal });
      return { controller, call: call.then(() => "ran", (e) => e) };
    });
    for (const g of gone) g.controller.abort();
    release();
    await slow;
    const sentBySlow = sent.length;
    for (const g of gone) {
      const outcome = await g.call;
      assert.ok(outcome instanceof KrakenError, String(outcome));
      assert.equal(outcome.code, LOCAL_CODES.aborted);
    }
    assert.equal(sent.length, sentBySlow, JSON.stringify(sent));
    // The next real call runs at once.
    const next = await service.cancelAll();
    assert.equal(next.decision, "accepted");
  } finally {
    await service.close();
  }
});
