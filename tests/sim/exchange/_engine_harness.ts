/**
 * Shared set-up for the matching-engine tests: an engine on a seeded
 * market and account with a clock the test moves, the rows it publishes,
 * and a look-ahead at the market's future trades (the market is a pure
 * function of time, so a second market with a later clock sees them).
 *
 * @module
 */

import { SimAccount } from "../../../server/sim/exchange/account.ts";
import { SimControl } from "../../../server/sim/control.ts";
import {
  SimEngine,
  type SimEngineOptions,
} from "../../../server/sim/exchange/engine.ts";
import { Market, type SimTrade } from "../../../server/sim/exchange/market.ts";
import { WireNumber, type WireObject } from "../../../server/sim/ws/wire.ts";

/** Seed of every engine test. */
export const SEED = 5;
/** Start of every engine test: 2025-06-15 12:00 UTC. */
export const START_MS = Date.UTC(2025, 5, 15, 12);
/** One hour, ms. */
export const HOUR_MS = 3_600_000;

/** One published row. */
export interface Row {
  channel: "executions" | "balances";
  row: WireObject;
}

/** An engine with its parts and the rows it published. */
export interface EngineHarness extends Disposable {
  clock: { ms: number };
  market: Market;
  account: SimAccount;
  control: SimControl;
  engine: SimEngine;
  rows: Row[];
  /** `exec_type`s of the executions rows for one order. */
  execTypes(orderId: string): string[];
}

/**
 * Build an engine at {@linkcode START_MS}.
 *
 * @param options Engine options.
 * @returns The harness; `using` closes the engine.
 */
export function engineHarness(options: SimEngineOptions = {}): EngineHarness {
  const clock = { ms: START_MS };
  // Quiet: the engine tests reason about individual trades over hours.
  const market = new Market({
    seed: SEED,
    now: () => clock.ms,
    activity: "quiet",
  });
  const account = SimAccount.seeded(market, { seed: SEED });
  const control = new SimControl();
  const engine = new SimEngine({ market, account, control }, options);
  const rows: Row[] = [];
  engine.attach((channel, published) => {
    for (const row of published) rows.push({ channel, row });
  });
  return {
    clock,
    market,
    account,
    control,
    engine,
    rows,
    execTypes(orderId) {
      return rows
        .filter((r) => r.channel === "executions" && r.row.order_id === orderId)
        .map((r) => String(r.row.exec_type));
    },
    [Symbol.dispose]() {
      engine.close();
    },
  };
}

/**
 * Public trades of a pair in `(fromMs, toMs]`, also in the future.
 *
 * @param pair Pair spelling.
 * @param fromMs Exclusive start.
 * @param toMs Inclusive end.
 * @returns The trades.
 */
export function futureTrades(
  pair: string,
  fromMs: number,
  toMs: number,
): SimTrade[] {
  const market = new Market({
    seed: SEED,
    now: () => toMs,
    historyStartMs: START_MS - 40 * 86_400_000,
    activity: "quiet",
  });
  return market.tradesBetween(pair, fromMs, toMs);
}

/**
 * A row value as text (wire numbers keep their exact digits).
 *
 * @param value The value.
 * @returns Its text.
 */
export function text(value: unknown): string {
  return value instanceof WireNumber ? value.text : String(value);
}
