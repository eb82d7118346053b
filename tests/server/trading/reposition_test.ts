/**
 * The server's repositioner service on a fake clock: the trading state it
 * checks (mode and live switches, dead-man switch, live account phase,
 * the operator halt), and that every action — done or refused by the
 * gate — is logged with its reason, the order's key, userref, Kraken id
 * and a correlation id, and lands among the ops view's order events.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_CONFIG,
  type KrakkedConfig,
} from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { PairResolver } from "../../../core/market/pairs.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import type { DeadManState } from "../../../core/trade/dead_man.ts";
import { OrderClient } from "../../../core/trade/order_client.ts";
import { PaperBroker } from "../../../core/trade/paper.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import { OpsMonitor } from "../../../server/trading/ops.ts";
import type {
  AmendDecision,
  CancelDecision,
} from "../../../server/trading/orders.ts";
import {
  type RepositionOrders,
  RepositionService,
  startReposition,
} from "../../../server/trading/reposition.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { NOW_MS, xbtusd } from "../../core/trade/_fixtures.ts";

function configWith(
  trading: Partial<KrakkedConfig["trading"]>,
  reposition: Partial<KrakkedConfig["trading"]["reposition"]> = {},
): KrakkedConfig {
  return {
    ...DEFAULT_CONFIG,
    trading: {
      ...DEFAULT_CONFIG.trading,
      ...trading,
      reposition: {
        ...DEFAULT_CONFIG.trading.reposition,
        enabled: true,
        max_age_seconds: 60,
        check_interval_seconds: 5,
        ...reposition,
      },
    },
  };
}

/** The order service's surface over a paper OrderClient. */
function paperOrders(clock: FakeClock, config: KrakkedConfig) {
  const pair = xbtusd();
  const resolver = new PairResolver([pair]);
  const paper = new PaperBroker({
    pairs: [pair],
    balances: { USD: "5000" },
    now: clock.now,
  });
  const client = new OrderClient({
    config,
    pairs: (s) => resolver.get(s),
    paper,
    now: clock.now,
    setTimer: clock.setTimer,
  });
  client.updatePaperBook("XBTUSD", {
    bids: [{ price: "25000", qty: "1" }],
    asks: [{ price: "25000.5", qty: "1" }],
  });
  let deadMan: DeadManState | undefined;
  const orders: RepositionOrders = {
    mode: config.trading.mode,
    trackedOrders: () => Promise.resolve(client.orders()),
    touch: (id) => {
      const book = paper.book(id)!;
      return { bid: book.bids[0]!.price, ask: book.asks[0]!.price };
    },
    async amend(key, changes): Promise<AmendDecision> {
      try {
        const ack = await client.amend(key, changes);
        return { decision: "accepted", mode: "paper", amendId: ack.amendId };
      } catch (error) {
        if (!(error instanceof OrderRejectedError)) throw error;
        return {
          decision: "rejected",
          mode: "paper",
          rule: error.rule,
          message: error.message,
        };
      }
    },
    async cancel(key): Promise<CancelDecision> {
      const ack = await client.cancel(key);
      return { decision: "accepted", mode: "paper", count: ack.count };
    },
    deadManState: () => deadMan,
  };
  return {
    client,
    paper,
    orders,
    setDeadMan(state: DeadManState | undefined) {
      deadMan = state;
    },
  };
}

function logger(clock: FakeClock) {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    logger: new Logger({
      sink: (l) => lines.push(JSON.parse(l)),
      now: clock.now,
    }),
  };
}

Deno.test("status: mode, live switches, dead-man switch, account, halt", () => {
  const clock = new FakeClock(NOW_MS);
  const live = configWith({ mode: "live", enable_live_orders: true });
  const fake = paperOrders(clock, configWith({ mode: "paper" }));
  let phase: "loading" | "ready" | "failed" = "loading";
  const service = new RepositionService({
    config: live,
    liveSwitch: true,
    orders: fake.orders,
    logger: logger(clock).logger,
    accountPhase: () => phase,
    clock,
  });
  const halt = () =>
    service.status().halted ??
      (service.status().route === undefined ? "route" : null);
  // Dead-man switch not armed yet, account loading.
  assert.equal(service.status().deadMan, "off");
  assert.equal(service.status().account, "loading");
  fake.setDeadMan({
    phase: "armed",
    expiresAtMs: NOW_MS + 60_000,
    failures: 0,
    timing: { timeoutSec: 60, refreshMs: 20_000, retryMs: 5_000 },
  });
  phase = "ready";
  assert.deepEqual(service.status(), {
    route: "live",
    deadMan: "armed",
    account: "ready",
    halted: null,
  });
  service.halt("operator pressed stop");
  assert.equal(halt(), "operator pressed stop");
  service.resume();
  assert.equal(halt(), null);
  // Without the start-time switch, live refuses: no route.
  const unarmed = new RepositionService({
    config: live,
    liveSwitch: false,
    orders: fake.orders,
    logger: logger(clock).logger,
    clock,
  });
  assert.equal(unarmed.status().route, undefined);
  // A countdown of 0 needs no dead-man switch.
  const noDeadMan = new RepositionService({
    config: configWith({
      mode: "live",
      enable_live_orders: true,
      dead_man_seconds: 0,
    }),
    liveSwitch: true,
    orders: fake.orders,
    logger: logger(clock).logger,
    clock,
  });
  assert.equal(noDeadMan.status().deadMan, "not_required");
  // Disabled: not started at all.
  assert.equal(
    startReposition({
      config: {
        ...live,
        trading: {
          ...live.trading,
          reposition: DEFAULT_CONFIG.trading.reposition,
        },
      },
      liveSwitch: true,
      orders: fake.orders,
      logger: logger(clock).logger,
      clock,
    }),
    undefined,
  );
});

Deno.test("actions are logged with reason, key, userref, order id and rid, and shown in ops", async () => {
  const clock = new FakeClock(NOW_MS);
  const config = configWith({
    mode: "paper",
    max_notional_usd: 500,
    max_position_notional_usd: 2000,
  });
  const fake = paperOrders(clock, config);
  const log = logger(clock);
  const ops = new OpsMonitor({
    limiter: new RateLimiter({
      tier: "pro",
      now: clock.now,
      setTimer: clock.setTimer,
    }),
    logger: log.logger,
    now: clock.now,
    setTimer: clock.setTimer,
  });
  let n = 0;
  const service = startReposition({
    config,
    liveSwitch: false,
    orders: fake.orders,
    logger: log.logger,
    ops,
    mintId: () => `test-p${++n}`,
    clock,
  })!;
  // One the gate accepts (0.0199 × 25000 ≤ 500), one it refuses
  // (0.0205 × 25000 > 500 USD).
  const place = async (volume: string) => {
    const placed = await fake.client.place({
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume,
      price: "24000",
      stopLoss: { type: "stop-loss", triggerPrice: "23000" },
    });
    assert.equal(placed.route, "paper");
    return placed.route === "paper" ? placed.key : "";
  };
  const small = await place("0.0199");
  const big = await place("0.0205");
  clock.advance(60_000);
  const pass = await service.runOnce();
  await service.close();
  assert.equal(pass.acted.length, 2);
  const lines = log.lines.filter((l) => l.msg === "order reposition");
  assert.equal(lines.length, 2);
  const done = lines.find((l) => l.order === small)!;
  const smallId = fake.client.order(small)!.state.orderId;
  assert.equal(done.level, "info");
  assert.equal(done.outcome, "done");
  assert.equal(done.orderId, smallId);
  assert.equal(done.userref, Number(small.slice("userref:".length)));
  assert.equal(done.action, "amend");
  assert.equal(done.from, "24000");
  assert.equal(done.to, "25000");
  assert.match(
    String(done.reason),
    /^stale: buy 24000 is 400 bps from the bid 25000/,
  );
  assert.match(String(done.rid), /^test-p\d$/);
  assert.equal(fake.paper.order(smallId!)!.price, "25000");
  const refused = lines.find((l) => l.order === big)!;
  assert.equal(refused.level, "warn");
  assert.equal(refused.outcome, "refused");
  assert.equal(refused.rule, "max_notional");
  assert.notEqual(refused.rid, done.rid);
  // Refused by the gate: never sent, the order is unchanged.
  const bigId = fake.client.order(big)!.state.orderId!;
  assert.equal(fake.paper.order(bigId)!.price, "24000");
  // The ops view lists both, under the orders' keys, with the reason.
  const events = ops.snapshot().orders.filter((e) => e.type === "reposition");
  assert.deepEqual(events.map((e) => e.order).sort(), [big, small].sort());
  assert.ok(
    events.some((e) =>
      e.order === big && /^reposition refused \(max_notional\)/.test(e.detail)
    ),
  );
  ops.close();
});

Deno.test("the timer drives passes; close stops them", async () => {
  const clock = new FakeClock(NOW_MS);
  const config = configWith({ mode: "paper" }, { check_interval_seconds: 5 });
  const fake = paperOrders(clock, config);
  const log = logger(clock);
  let reads = 0;
  const orders: RepositionOrders = {
    ...fake.orders,
    trackedOrders: () => {
      reads++;
      return fake.orders.trackedOrders();
    },
  };
  const service = startReposition({
    config,
    liveSwitch: false,
    orders,
    logger: log.logger,
    clock,
  })!;
  for (let i = 0; i < 4; i++) {
    clock.advance(5_000);
    for (let j = 0; j < 10; j++) await Promise.resolve();
  }
  assert.equal(reads, 4);
  await service.close();
  clock.advance(60_000);
  assert.equal(reads, 4);
});
