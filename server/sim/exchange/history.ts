/**
 * A long, seeded account history for the simulator: months of trading
 * before the seeded recent month, long enough that `TradesHistory` and
 * `Ledgers` take many 50-row pages.
 *
 * Everything goes through the account's own primitives, in time order, so
 * balances, ledger `balance` fields, `Balance`/`BalanceEx` and the trade
 * list stay consistent:
 *
 * - USD deposits (a large one first, more every few weeks), USD and XBT
 *   withdrawals with a withdrawal fee;
 * - a KFEE fee-credit purchase (ledger `credit`), then fills paid with fee
 *   credits (`feeIn: "kfee"`: a KFEE `trade` entry with amount 0 and the
 *   credits in `fee`, 1 credit = 0.01 USD);
 * - fills on USD pairs and on ETH/XBT, fee in quote (`fciq`), in base
 *   (`fcib`) or in KFEE;
 * - DOT moved to its staking wallet (`transfer` DOT → DOT.S, one refid) and
 *   weekly `staking` rewards into DOT.S.
 *
 * Prices are the market's model prices at each instant. Only the
 * simulator's own code is used (no import from core, per the oracle policy).
 *
 * @module
 */

import type { SimAccount } from "./account.ts";
import type { Market } from "./market.ts";
import { assetByKey, resolvePair, type SimPair } from "./pairs.ts";
import { SeededRandom } from "./prng.ts";
import { floatToUnits, parseUnits, pow10 } from "./units.ts";

const DAY_MS = 86_400_000;

/** Options of {@linkcode seedAccountHistory}. */
export interface AccountHistoryOptions {
  /** Fills to generate (e.g. 3000; each is one trade). */
  trades: number;
  /** Days the history spans (default 180). */
  days?: number;
  /** When the history ends, ms (it should end before the seeded month). */
  endMs: number;
  /** Seed (default 1). */
  seed?: number;
}

const USD_PAIRS = ["XBTUSD", "ETHUSD", "SOLUSD", "DOTUSD", "ADAUSD"];
const CROSS_PAIR = "ETHXBT";

function decimalsOf(asset: string): number {
  return assetByKey(asset)?.decimals ?? 8;
}

function units(text: string, asset: string): bigint {
  return parseUnits(text, decimalsOf(asset)) as bigint;
}

/**
 * Writes a long history into an (empty) account.
 *
 * @param account The account, before any other history is seeded.
 * @param market The market (prices).
 * @param options Size, span, end and seed.
 * @returns How many fills were made: `trades`, unless the balances run
 *   dry for four draws in a row at some instant.
 * @throws {RangeError} When `trades` is negative or a pair is missing from
 *   the catalogue.
 */
export function seedAccountHistory(
  account: SimAccount,
  market: Market,
  options: AccountHistoryOptions,
): number {
  if (!(options.trades >= 0)) {
    throw new RangeError(
      `Cannot seed account history: trades must be >= 0, got ${options.trades}`,
    );
  }
  const random = new SeededRandom((options.seed ?? 1) * 7_654_321 + 11);
  const days = options.days ?? 180;
  const startMs = options.endMs - days * DAY_MS;
  const spanMs = options.endMs - startMs - DAY_MS;
  const pair = (name: string): SimPair => {
    const found = resolvePair(name);
    if (!found) throw new RangeError(`Unknown simulator pair: ${name}`);
    return found;
  };
  const usdPairs = USD_PAIRS.map(pair);
  const cross = pair(CROSS_PAIR);
  // 0.1 ms steps keep times at Kraken's 4 decimals.
  const jitter = () => Math.floor(random.next() * 600_000_0) / 10;

  account.deposit("ZUSD", units("250000", "ZUSD"), startMs + jitter());
  account.record({
    type: "credit",
    asset: "KFEE",
    amountUnits: units("50000.00", "KFEE"),
    timeMs: startMs + 2 * 3_600_000 + jitter(),
  });

  // Events between fills: a deposit every ~3 weeks, a withdrawal every
  // ~4 weeks, staking rewards weekly once DOT is staked.
  let nextDepositMs = startMs + 21 * DAY_MS;
  let nextWithdrawalMs = startMs + 28 * DAY_MS;
  let nextStakeMs = startMs + 20 * DAY_MS;
  let staked = false;
  let withdrawals = 0;
  let made = 0;
  for (let i = 0; i < options.trades; i++) {
    const t = startMs + DAY_MS + Math.floor((i * spanMs) / options.trades) +
      jitter() / 100;
    while (nextDepositMs < t) {
      account.deposit(
        "ZUSD",
        units(String(random.int(5, 40) * 1000), "ZUSD"),
        nextDepositMs,
      );
      nextDepositMs += random.int(18, 26) * DAY_MS;
    }
    while (nextWithdrawalMs < t) {
      // Every other withdrawal takes XBT when there is some.
      const btc = withdrawals++ % 2 === 1 &&
        account.balance("XXBT") > units("0.05", "XXBT");
      account.record({
        type: "withdrawal",
        asset: btc ? "XXBT" : "ZUSD",
        amountUnits: -(btc
          ? units("0.02", "XXBT")
          : units(String(random.int(1, 8) * 500), "ZUSD")),
        feeUnits: btc ? units("0.00001", "XXBT") : units("5", "ZUSD"),
        timeMs: nextWithdrawalMs,
      });
      nextWithdrawalMs += random.int(24, 34) * DAY_MS;
    }
    while (nextStakeMs < t) {
      const dot = account.balance("DOT");
      if (!staked && dot > units("20", "DOT")) {
        const moved = dot / 2n;
        const refid = account.record({
          type: "transfer",
          asset: "DOT",
          amountUnits: -moved,
          timeMs: nextStakeMs,
        }).refid;
        account.record({
          refid,
          type: "transfer",
          asset: "DOT.S",
          amountUnits: moved,
          timeMs: nextStakeMs,
        });
        staked = true;
      } else if (staked) {
        // ~12 % a year, paid weekly.
        const reward = account.balance("DOT.S") * 23n / 10_000n;
        if (reward > 0n) {
          account.record({
            type: "staking",
            asset: "DOT.S",
            amountUnits: reward,
            timeMs: nextStakeMs,
          });
        }
      }
      nextStakeMs += 7 * DAY_MS;
    }
    // A draw the balances cannot pay for is canceled; draw again (a sell
    // becomes a buy when the base runs out), so `trades` fills are made.
    for (let attempt = 0; attempt < 4; attempt++) {
      if (fillOne(account, market, random, t + attempt, { usdPairs, cross })) {
        made++;
        break;
      }
    }
  }
  return made;
}

function fillOne(
  account: SimAccount,
  market: Market,
  random: SeededRandom,
  t: number,
  pairs: { usdPairs: SimPair[]; cross: SimPair },
): boolean {
  const useCross = random.next() < 0.08;
  const p = useCross
    ? pairs.cross
    : pairs.usdPairs[random.int(0, pairs.usdPairs.length - 1)] as SimPair;
  const price = market.modelPrice(p.key, t);
  const priceUnits = floatToUnits(price, p.pairDecimals);
  if (priceUnits <= 0n) return false;
  // 100 to 3000 USD worth (quote-worth for the cross pair).
  const quoteUsd = useCross ? account.usdRate(p.quote, t) : 1;
  const usd = 100 + random.next() * 2900;
  let volumeUnits = floatToUnits(
    usd / quoteUsd / price,
    p.lotDecimals,
  );
  const min = floatToUnits(Number(p.ordermin), p.lotDecimals);
  if (volumeUnits < min) volumeUnits = min;
  const heldBase = account.balance(p.base);
  const baseLots = heldBase * pow10(p.lotDecimals) /
    pow10(decimalsOf(p.base));
  // Sell when the account holds enough base; buy otherwise (and half the
  // time anyway), so positions build up and wind down.
  let side: "buy" | "sell" = random.next() < 0.5 ? "buy" : "sell";
  if (side === "sell" && baseLots < volumeUnits * 2n) side = "buy";
  const roll = random.next();
  const feeIn: "quote" | "base" | "kfee" = roll < 0.6
    ? "quote"
    : roll < 0.85 || useCross
    ? "base"
    : "kfee";
  const order = account.openOrder({
    pair: p.key,
    type: side,
    ordertype: random.next() < 0.5 ? "market" : "limit",
    limitUnits: priceUnits,
    volumeUnits,
    timeMs: t,
    oflags: feeIn === "base" ? "fcib" : "fciq",
  });
  const fill = {
    priceUnits,
    volumeUnits,
    timeMs: t + 1,
    maker: random.next() < 0.4,
    feeIn,
  };
  const preview = account.previewFill(order, fill);
  const kfeeNeeded = feeIn === "kfee" ? preview.feeUnits : 0n;
  if (
    account.balance(p.quote) + preview.quoteDeltaUnits < 0n ||
    account.balance(p.base) + preview.baseDeltaUnits < 0n ||
    account.balance("KFEE") < kfeeNeeded
  ) {
    account.closeOrder(order.txid, {
      status: "canceled",
      reason: "Insufficient funds",
      timeMs: t + 1,
    });
    return false;
  }
  account.fill(order.txid, fill);
  return true;
}
