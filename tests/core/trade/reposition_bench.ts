/**
 * Cost of one repositioner pass: planning over 100 and 1,000 resting
 * orders (half stale and far, so each is judged, sorted and capped).
 */
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import {
  planReposition,
  type RepositionOrder,
  repositionPolicy,
} from "../../../core/trade/reposition.ts";
import { NOW_MS, xbtusd } from "./_fixtures.ts";

const PAIR = xbtusd();
const POLICY = repositionPolicy({
  ...DEFAULT_CONFIG.trading.reposition,
  enabled: true,
  max_actions_per_minute: 600,
});

function orders(n: number): RepositionOrder[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `userref:${i}`,
    orderId: `O${i}`,
    clientRef: `userref:${i}`,
    pair: PAIR,
    side: i % 2 === 0 ? "buy" : "sell",
    type: "limit",
    status: "new",
    limitPrice: i % 2 === 0
      ? (24_000 + (i % 900)).toFixed(1)
      : (26_000 - (i % 900)).toFixed(1),
    postOnly: true,
    placedByKrakked: true,
    changedAtMs: NOW_MS - (i % 4 < 2 ? 600_000 : 1_000),
  }));
}

for (const n of [100, 1_000]) {
  const input = {
    orders: orders(n),
    quote: () => ({ bid: "25000", ask: "25000.5" }),
    nowMs: NOW_MS,
    policy: POLICY,
    status: {
      route: "paper" as const,
      deadMan: "not_required" as const,
      account: "ready" as const,
      halted: null,
    },
    recentActionsMs: [],
  };
  Deno.bench(`planReposition over ${n} orders`, () => {
    planReposition(input);
  });
}
