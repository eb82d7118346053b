/**
 * The core REST client against the simulator over real loopback HTTP:
 * typed public and private methods, signing (the official vector), every
 * error kind through fault injection, retry rules, and a 200-call burst at
 * Starter tier driven by one fake clock shared by both sides.
 */

import assert from "node:assert/strict";
import { NonceSource } from "../../../core/auth/nonce.ts";
import {
  RestClient,
  type RestClientOptions,
} from "../../../core/rest/client.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import { DEFAULT_HEADROOM, RateLimiter } from "../../../core/rest/ratelimit.ts";
import type { OrderInfo, TradeRow } from "../../../core/rest/types.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import {
  assetByKey,
  ASSETS,
  defaultCredentials,
  PAIRS,
  type Simulator,
  startSimulator,
} from "@krakked/sim";
import { FakeClock } from "../../fakes/clock.ts";
import {
  assertDecimal,
  ID_PATTERN,
  NOW_MS,
  privateCall,
} from "../../sim/_client.ts";
import {
  assertNoSecrets,
  CountingFetch,
  DERIVED_BALANCE_SIGN,
  driveThroughLimiter,
  expectKrakenError,
  SteppedClock,
  VECTOR_A_BODY,
  VECTOR_A_NONCE,
  VECTOR_A_SECRET,
  VECTOR_A_SIGN,
} from "./_integration.ts";

const SEED = 11;
/** Retries without real waiting: 1 ms between attempts. */
const QUICK_RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
const ORDER = {
  ordertype: "limit",
  pair: "XBTUSD",
  price: "37500",
  type: "buy",
  volume: "1.25",
};

/** A public limiter that never makes the tests wait. */
function roomyPublicLimiter(now: () => number): RateLimiter {
  return new RateLimiter({
    now,
    publicLimits: { max: 10_000, decayPerSec: 10_000 },
  });
}

/** A client for the simulator's main key, with a counting fetch. */
function clientFor(
  sim: Simulator,
  wire: CountingFetch,
  options: RestClientOptions = {},
): RestClient {
  return new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    fetch: wire.fetch,
    random: () => 0,
    ...options,
  });
}

function secretsOf(sim: Simulator): string[] {
  return [sim.credentials.apiSecret.reveal(), sim.credentials.apiKey];
}

function compareUnits(a: string, b: string): number {
  const scale = (text: string) => {
    const [whole, frac = ""] = text.split(".");
    return BigInt(`${whole}${frac.padEnd(12, "0")}`);
  };
  const x = scale(a);
  const y = scale(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function assertTradeRow(row: TradeRow, decimals: number): void {
  assert.equal(row.length, 7);
  assertDecimal(row[0], decimals, "trade price");
  assertDecimal(row[1], 8, "trade volume");
  assert.equal(typeof row[2], "number");
  assert.ok(row[3] === "b" || row[3] === "s");
  assert.ok(row[4] === "m" || row[4] === "l");
  assert.equal(row[5], "");
  assert.ok(Number.isSafeInteger(row[6]));
}

// ---------------------------------------------------------------------------
// 1. Public endpoints

Deno.test("typed public methods return the simulator's data with decimal strings intact", async (t) => {
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: () => NOW_MS,
    // Quiet: the steps page through hours of trades 40 at a time.
    activity: "quiet",
  });
  const wire = new CountingFetch();
  using publicLimiter = roomyPublicLimiter(() => NOW_MS);
  using client = clientFor(sim, wire, { publicLimiter, now: () => NOW_MS });
  const raw = async (method: string, query: string) =>
    (await (await fetch(`${sim.url}/0/public/${method}?${query}`)).json())
      .result;

  await t.step("time and systemStatus", async () => {
    assert.deepEqual(await client.time(), {
      unixtime: Math.floor(NOW_MS / 1000),
      rfc1123: "Sun, 15 Jun 25 12:34:56 +0000",
    });
    assert.deepEqual(await client.systemStatus(), {
      status: "online",
      timestamp: "2025-06-15T12:34:56Z",
      // docs.kraken.com "Get System Status": additive, empty by default.
      upcoming_maintenance: [],
      emergency: [],
    });
    sim.control.set({ systemStatus: "post_only" });
    assert.equal((await client.systemStatus()).status, "post_only");
    sim.control.clear();
  });

  await t.step("assets, all and by name", async () => {
    const all = await client.assets();
    assert.equal(Object.keys(all).length, ASSETS.length);
    assert.deepEqual(all.XXBT, {
      aclass: "currency",
      altname: "XBT",
      decimals: 10,
      display_decimals: 5,
      collateral_value: 1,
      status: "enabled",
    });
    const some = await client.assets({ asset: ["XBT", "ETH", "ZUSD"] });
    assert.deepEqual(Object.keys(some), ["XXBT", "XETH", "ZUSD"]);
    assert.deepEqual(some, await raw("Assets", "asset=XBT,ETH,ZUSD"));
  });

  await t.step("assetPairs with pair and info", async () => {
    const all = await client.assetPairs();
    assert.deepEqual(Object.keys(all), PAIRS.map((p) => p.key));
    const btc = all.XXBTZUSD!;
    assert.equal(btc.altname, "XBTUSD");
    assert.equal(btc.wsname, "XBT/USD");
    assert.equal(btc.tick_size, "0.1");
    assert.equal(btc.ordermin, "0.0001");
    assert.equal(btc.costmin, "0.5");
    assert.equal(btc.status, "online");
    assert.equal("status" in all.MANAUSD!, false, "MANAUSD has no status");
    const two = await client.assetPairs({ pair: ["XBTUSD", "XETHZUSD"] });
    assert.deepEqual(Object.keys(two), ["XXBTZUSD", "XETHZUSD"]);
    const fees = await client.assetPairs({ pair: "XBTUSD", info: "fees" });
    assert.deepEqual(Object.keys(fees.XXBTZUSD!).sort(), [
      "fee_volume_currency",
      "fees",
      "fees_maker",
    ]);
    assert.deepEqual(fees.XXBTZUSD!.fees[0], [0, 0.26]);
    const leverage = await client.assetPairs({
      pair: "XBTUSD",
      info: "leverage",
    });
    assert.deepEqual(leverage.XXBTZUSD, {
      leverage_buy: [2, 3, 4, 5],
      leverage_sell: [2, 3, 4, 5],
    });
    const margin = await client.assetPairs({ pair: "XBTUSD", info: "margin" });
    assert.deepEqual(margin.XXBTZUSD, { margin_call: 80, margin_stop: 40 });
  });

  await t.step("ticker keeps trailing zeros", async () => {
    const tickers = await client.ticker(["XBTUSD", "ETHUSD"]);
    assert.deepEqual(Object.keys(tickers), ["XXBTZUSD", "XETHZUSD"]);
    const btc = tickers.XXBTZUSD!;
    // XBTUSD has 1 price decimal, printed with 5: always four trailing zeros.
    for (const price of [btc.a[0], btc.b[0], btc.c[0], btc.o, ...btc.l]) {
      assert.match(price, /^\d+\.\d0000$/);
    }
    assertDecimal(btc.c[1], 8, "last volume");
    assertDecimal(btc.a[2], 3, "ask lot volume");
    assert.equal(typeof btc.t[0], "number");
    assert.ok(compareUnits(btc.b[0], btc.a[0]) < 0, "bid below ask");
    assert.match(tickers.XETHZUSD!.c[0], /^\d+\.\d\d000$/);
    assert.deepEqual(tickers, await raw("Ticker", "pair=XBTUSD,ETHUSD"));
    const every = await client.ticker();
    assert.equal(Object.keys(every).length, PAIRS.length);
  });

  await t.step("depth", async () => {
    const book = await client.depth("XBTUSD", 10);
    assert.equal(book.pair, "XXBTZUSD");
    assert.equal(book.asks.length, 10);
    assert.equal(book.bids.length, 10);
    for (const [price, volume, time] of [...book.asks, ...book.bids]) {
      assert.match(price, /^\d+\.\d0000$/);
      assert.equal(typeof volume, "string");
      assert.ok(Number.isInteger(time));
    }
    for (let i = 1; i < 10; i++) {
      assert.ok(compareUnits(book.asks[i - 1]![0], book.asks[i]![0]) < 0);
      assert.ok(compareUnits(book.bids[i - 1]![0], book.bids[i]![0]) > 0);
    }
    assert.ok(compareUnits(book.bids[0]![0], book.asks[0]![0]) < 0);
  });

  await t.step("trades page with the 19-digit last cursor", async () => {
    const latest = await client.trades("XBTUSD", { count: 100 });
    assert.equal(latest.pair, "XXBTZUSD");
    assert.equal(latest.rows.length, 100);
    latest.rows.forEach((row) => assertTradeRow(row, 5));
    assert.match(latest.last, /^\d{19}$/);
    assert.ok(BigInt(latest.last) > BigInt(Number.MAX_SAFE_INTEGER));

    // Page forward from two hours ago, 40 trades a page, until the end.
    const startNs = BigInt(NOW_MS - 2 * 3_600_000) * 1_000_000n;
    const rows: TradeRow[] = [];
    let cursor = startNs.toString();
    let pages = 0;
    for (;;) {
      const page = await client.trades("XBTUSD", { since: cursor, count: 40 });
      pages++;
      if (page.rows.length === 0) {
        assert.equal(page.last, cursor, "an empty page echoes the cursor");
        break;
      }
      assert.match(page.last, /^\d{19}$/);
      assert.ok(BigInt(page.last) > BigInt(cursor));
      // The cursor is the last trade's time in ns, exactly.
      const lastRow = page.rows.at(-1)!;
      assert.equal(
        BigInt(page.last) / 1000n,
        BigInt(Math.round(lastRow[2] * 1e6)),
      );
      rows.push(...page.rows);
      cursor = page.last;
    }
    assert.ok(pages >= 3, `paged ${pages} times`);
    for (let i = 1; i < rows.length; i++) {
      assert.equal(rows[i]![6], rows[i - 1]![6]! + 1, "trade ids contiguous");
      assert.ok(rows[i]![2] >= rows[i - 1]![2]);
    }
    assert.ok(rows[0]![2] > Number(startNs / 1_000_000_000n) - 1);
    const once = await client.trades("XBTUSD", {
      since: startNs.toString(),
      count: 1000,
    });
    assert.deepEqual(rows, once.rows);
    // The newest trade of the paged walk is the newest trade overall.
    assert.deepEqual(rows.at(-1), latest.rows.at(-1));
  });

  await t.step("ohlc with since, last and the forming candle", async () => {
    const formingSec = Math.floor(NOW_MS / 60_000) * 60;
    const full = await client.ohlc("XBTUSD", { interval: 1 });
    assert.equal(full.pair, "XXBTZUSD");
    assert.equal(full.rows.length, 720);
    assert.equal(full.rows.at(-1)![0], formingSec, "last row is forming");
    assert.equal(full.last, formingSec - 60);
    for (let i = 1; i < full.rows.length; i++) {
      assert.equal(full.rows[i]![0] - full.rows[i - 1]![0], 60);
    }
    for (const row of full.rows) {
      assert.equal(row.length, 8);
      for (const price of row.slice(1, 5)) assertDecimal(price, 1, "price");
      assertDecimal(row[6], 8, "volume");
      assert.ok(Number.isInteger(row[7]));
    }
    assert.ok(full.rows.some((r) => r[6].endsWith("0")), "trailing zeros");
    const onlyForming = await client.ohlc("XBTUSD", {
      interval: 1,
      since: full.last,
    });
    assert.deepEqual(onlyForming.rows, [full.rows.at(-1)]);
    assert.equal(onlyForming.last, full.last);
    const tail = await client.ohlc("XBTUSD", {
      interval: 1,
      since: full.last - 600,
    });
    assert.deepEqual(tail.rows, full.rows.slice(-11));
    const hourly = await client.ohlc("XBTUSD", { interval: 60 });
    assert.equal(hourly.rows.at(-1)![0], Math.floor(NOW_MS / 3_600_000) * 3600);
    assert.ok(hourly.rows.length <= 720);
    const error = await expectKrakenError(
      client.ohlc("XBTUSD", { interval: 7 }),
      { kind: "invalid_request", code: "EGeneral:Invalid arguments" },
    );
    assert.equal(error.method, "OHLC");
  });

  await t.step("spread", async () => {
    const spread = await client.spread("XBTUSD");
    assert.equal(spread.pair, "XXBTZUSD");
    assert.ok(spread.rows.length > 0);
    for (const [time, bid, ask] of spread.rows) {
      assert.ok(Number.isInteger(time));
      assert.match(bid, /^\d+\.\d0000$/);
      assert.ok(compareUnits(bid, ask) < 0);
    }
    assert.equal(spread.last, spread.rows.at(-1)![0]);
    const none = await client.spread("XBTUSD", spread.last);
    assert.deepEqual(none.rows, []);
    assert.equal(none.last, spread.last);
  });

  assert.equal(
    wire.seen.filter((r) => r.method !== "GET").length,
    0,
    "public calls are GETs",
  );
});

// ---------------------------------------------------------------------------
// 2. Private reads

Deno.test("every private read is signed by the core client and accepted by the simulator", async (t) => {
  // Both sides share a clock that moves a minute between steps, so the
  // Starter REST counter has room for every step without real waiting.
  const clock = new SteppedClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    tier: "starter",
    now: clock.now,
  });
  const wire = new CountingFetch();
  using client = clientFor(sim, wire, { now: clock.now });
  const step = async (name: string, fn: () => Promise<void>) => {
    clock.advance(60_000);
    await t.step(name, fn);
  };

  await step("balance and balanceEx", async () => {
    const balance = await client.balance();
    assert.ok(Object.keys(balance).length > 0);
    for (const [asset, amount] of Object.entries(balance)) {
      assertDecimal(amount, assetByKey(asset)!.decimals, `balance ${asset}`);
    }
    assert.ok(
      Object.values(balance).some((v) => v.endsWith("0")),
      "trailing zeros kept",
    );
    const extended = await client.balanceEx();
    assert.deepEqual(Object.keys(extended).sort(), Object.keys(balance).sort());
    for (const [asset, entry] of Object.entries(extended)) {
      assert.equal(entry.balance, balance[asset]);
      assertDecimal(entry.hold_trade, assetByKey(asset)!.decimals, "hold");
    }
  });

  await step("tradeBalance", async () => {
    const usd = await client.tradeBalance();
    for (const field of ["eb", "tb", "m", "n", "c", "v", "e", "mf"] as const) {
      assertDecimal(usd[field], 4, `tradeBalance.${field}`);
    }
    const btc = await client.tradeBalance("XBT");
    assertDecimal(btc.eb, 10, "tradeBalance XBT");
  });

  await step("openOrders", async () => {
    const { open } = await client.openOrders();
    assert.ok(Object.keys(open).length > 0);
    for (const [txid, order] of Object.entries(open)) {
      assert.match(txid, ID_PATTERN);
      assert.ok(order.status === "open" || order.status === "pending");
      assert.equal(typeof order.vol, "string");
    }
  });

  let closedIds: string[] = [];
  let closedById: Record<string, OrderInfo> = {};
  await step("closedOrders paging", async () => {
    const first = await client.closedOrders();
    assert.equal(first.count, 60);
    assert.equal(Object.keys(first.closed).length, 50);
    const second = await client.closedOrders({ ofs: 50 });
    assert.equal(second.count, 60);
    assert.equal(Object.keys(second.closed).length, 10);
    closedById = { ...first.closed, ...second.closed };
    closedIds = [...Object.keys(first.closed), ...Object.keys(second.closed)];
    assert.equal(new Set(closedIds).size, 60, "pages do not overlap");
    const closeTimes = closedIds.map((id) => closedById[id]!.closetm!);
    for (let i = 1; i < closeTimes.length; i++) {
      assert.ok(closeTimes[i]! <= closeTimes[i - 1]!, "newest first");
    }
    for (const order of Object.values(closedById)) {
      assert.ok(["closed", "canceled", "expired"].includes(order.status));
      assert.match(order.stopprice, /^\d+(\.\d+)?$/);
    }
  });

  await step("queryOrders", async () => {
    const ids = [closedIds[0]!, closedIds[55]!];
    const orders = await client.queryOrders(ids);
    assert.deepEqual(Object.keys(orders), ids);
    for (const id of ids) assert.deepEqual(orders[id], closedById[id]);
    const before = wire.count;
    await assert.rejects(client.queryOrders([]), TypeError);
    assert.equal(wire.count, before, "nothing sent without ids");
  });

  let tradeIds: string[] = [];
  await step("tradesHistory paging and queryTrades", async () => {
    const first = await client.tradesHistory();
    assert.ok(first.count > 50, `count ${first.count}`);
    assert.equal(Object.keys(first.trades).length, 50);
    const second = await client.tradesHistory({ ofs: 50 });
    assert.equal(Object.keys(second.trades).length, first.count - 50);
    const all = { ...first.trades, ...second.trades };
    tradeIds = Object.keys(all);
    assert.equal(tradeIds.length, first.count);
    for (const [txid, trade] of Object.entries(all)) {
      assert.match(txid, ID_PATTERN);
      assert.equal(typeof trade.price, "string");
      assert.equal(typeof trade.time, "number");
    }
    const picked = [tradeIds[0]!, tradeIds.at(-1)!];
    const queried = await client.queryTrades(picked);
    for (const id of picked) assert.deepEqual(queried[id], all[id]);
  });

  await step("ledgers paging and queryLedgers", async () => {
    const first = await client.ledgers();
    assert.ok(first.count > 50);
    assert.equal(Object.keys(first.ledger).length, 50);
    const second = await client.ledgers({ ofs: 50 });
    assert.equal(second.count, first.count);
    const overlap = Object.keys(second.ledger).filter((id) =>
      id in first.ledger
    );
    assert.deepEqual(overlap, []);
    const [id, entry] = Object.entries(first.ledger)[0]!;
    assert.match(id, ID_PATTERN);
    assert.ok(tradeIds.includes(entry.refid) || entry.type !== "trade");
    const queried = await client.queryLedgers([id]);
    assert.deepEqual(queried, { [id]: entry });
    const btc = await client.ledgers({ asset: "XBT" });
    assert.ok(Object.values(btc.ledger).every((e) => e.asset === "XXBT"));
  });

  await step("tradeVolume", async () => {
    const volume = await client.tradeVolume(["XBTUSD"]);
    assert.equal(volume.currency, "ZUSD");
    assertDecimal(volume.volume, 4, "volume");
    assert.deepEqual(Object.keys(volume.fees ?? {}), ["XXBTZUSD"]);
    assertDecimal(volume.fees!.XXBTZUSD!.fee, 4, "fee");
    assertDecimal(volume.fees_maker!.XXBTZUSD!.fee, 4, "maker fee");
  });

  await step("getWebSocketsToken holds the token as a Secret", async () => {
    const grant = await client.getWebSocketsToken();
    assert.ok(grant.token instanceof Secret);
    assert.equal(grant.expires, 900);
    assert.equal(String(grant.token), "[redacted]");
    const token = grant.token.reveal();
    assert.ok(token.length >= 16);
    assert.equal(JSON.stringify(grant).includes(token), false);
    assert.equal(Deno.inspect(grant).includes(token), false);
    assert.deepEqual(sim.tokens.check(token, clock.ms), {
      ok: true,
      keyId: "key-1",
    });
  });

  const posts = wire.seen.filter((r) => r.method === "POST");
  assert.equal(posts.length, wire.count);
  for (const request of posts) {
    assert.match(request.apiSign ?? "", /^[A-Za-z0-9+/]{86}==$/);
    assert.match(request.body, /^nonce=\d{16}(&|$)/);
  }
});

// ---------------------------------------------------------------------------
// 3. Signing, keys, nonces and permissions

Deno.test("signing with the official vector secret, wrong secrets, reused nonces and missing permissions", async (t) => {
  const caught: unknown[] = [];
  /** A client whose first nonce is Vector A's. */
  const vectorNonce = () =>
    new NonceSource({ floor: VECTOR_A_NONCE - 1, now: () => 0 });

  await t.step(
    "the core client sends Vector A byte for byte and the simulator accepts it",
    async () => {
      await using sim = await startSimulator({
        port: 0,
        seed: SEED,
        apiSecret: VECTOR_A_SECRET,
        engine: false, // only authentication is under test here
      });
      const wire = new CountingFetch();
      using client = clientFor(sim, wire, { nonce: vectorNonce() });
      // No matching engine is plugged in: after authentication the simulator
      // answers that the method is not implemented. A bad signature would have
      // been refused first.
      const error = await expectKrakenError(
        client.callPrivate("AddOrder", ORDER),
        { kind: "invalid_request", code: "EGeneral:Unknown method" },
      );
      caught.push(error);
      assert.equal(wire.count, 1);
      assert.equal(wire.seen[0]!.path, "/0/private/AddOrder");
      assert.equal(wire.seen[0]!.body, VECTOR_A_BODY);
      assert.equal(wire.seen[0]!.apiSign, VECTOR_A_SIGN);
      // The next nonce is one higher and is accepted too.
      const balance = await client.balance();
      assert.ok("ZUSD" in balance);
      assert.equal(wire.seen[1]!.body, `nonce=${VECTOR_A_NONCE + 1}`);
      assertNoSecrets(caught, [VECTOR_A_SECRET, VECTOR_A_SIGN]);
    },
  );

  await t.step("the derived Balance vector is sent and accepted", async () => {
    await using sim = await startSimulator({
      port: 0,
      seed: SEED,
      apiSecret: VECTOR_A_SECRET,
    });
    const wire = new CountingFetch();
    using client = clientFor(sim, wire, { nonce: vectorNonce() });
    const balance = await client.balance();
    assert.ok(Object.keys(balance).length > 0);
    assert.equal(wire.seen[0]!.body, `nonce=${VECTOR_A_NONCE}`);
    assert.equal(wire.seen[0]!.apiSign, DERIVED_BALANCE_SIGN);
  });

  await t.step("a wrong secret is an auth error, sent once", async () => {
    await using sim = await startSimulator({
      port: 0,
      seed: SEED,
      apiSecret: VECTOR_A_SECRET,
    });
    const wire = new CountingFetch();
    const wrongSecret = defaultCredentials(99).apiSecret;
    using client = new RestClient({
      baseUrl: sim.url,
      credentials: { key: sim.credentials.apiKey, secret: wrongSecret },
      fetch: wire.fetch,
    });
    const error = await expectKrakenError(client.balance(), {
      kind: "auth",
      code: "EAPI:Invalid signature",
      retryable: false,
    });
    caught.push(error);
    assert.equal(wire.count, 1, "auth errors are not retried");
    assertNoSecrets([error], [wrongSecret, VECTOR_A_SECRET]);
  });

  await t.step("an unknown key is an auth error", async () => {
    await using sim = await startSimulator({ port: 0, seed: SEED });
    using client = new RestClient({
      baseUrl: sim.url,
      credentials: {
        key: defaultCredentials(98).apiKey,
        secret: sim.credentials.apiSecret.reveal(),
      },
    });
    caught.push(
      await expectKrakenError(client.balance(), {
        kind: "auth",
        code: "EAPI:Invalid key",
      }),
    );
  });

  await t.step("no credentials fail before any I/O", async () => {
    await using sim = await startSimulator({ port: 0, seed: SEED });
    const wire = new CountingFetch();
    using client = new RestClient({ baseUrl: sim.url, fetch: wire.fetch });
    assert.equal(client.hasCredentials, false);
    await expectKrakenError(client.balance(), {
      kind: "auth",
      code: "Krakked:No credentials",
    });
    assert.equal(wire.count, 0);
  });

  await t.step("a reused nonce is a nonce error", async (t) => {
    await t.step("a read is re-signed once with a fresh nonce", async () => {
      await using sim = await startSimulator({
        port: 0,
        seed: SEED,
        apiSecret: VECTOR_A_SECRET,
      });
      const wireA = new CountingFetch();
      const wireB = new CountingFetch();
      using a = clientFor(sim, wireA, { nonce: vectorNonce() });
      using b = clientFor(sim, wireB, { nonce: vectorNonce() });
      await a.balance(); // nonce …594
      // b starts at …594 too: refused, then re-signed with …595: accepted.
      await b.balance();
      assert.deepEqual(wireB.seen.map((r) => r.body), [
        `nonce=${VECTOR_A_NONCE}`,
        `nonce=${VECTOR_A_NONCE + 1}`,
      ]);
      // a sends …595 (refused: b used it), then …596 (accepted).
      await a.balance();
      assert.equal(wireA.count, 3);
      // b sends …596 (refused), then …597 (accepted).
      await b.balance();
      assert.equal(wireB.count, 4);
    });

    await t.step("a read refused twice surfaces kind nonce", async () => {
      await using sim = await startSimulator({
        port: 0,
        seed: SEED,
        apiSecret: VECTOR_A_SECRET,
      });
      const wireB = new CountingFetch();
      using a = clientFor(sim, new CountingFetch(), { nonce: vectorNonce() });
      using b = clientFor(sim, wireB, { nonce: vectorNonce() });
      await a.balance(); // …594
      await a.balance(); // …595
      const error = await expectKrakenError(b.balance(), {
        kind: "nonce",
        code: "EAPI:Invalid nonce",
        retryable: true,
      });
      caught.push(error);
      assert.equal(wireB.count, 2, "one fresh-nonce retry, then the error");
    });

    await t.step("an order with a stale nonce is sent once", async () => {
      await using sim = await startSimulator({
        port: 0,
        seed: SEED,
        apiSecret: VECTOR_A_SECRET,
      });
      const wireB = new CountingFetch();
      using a = clientFor(sim, new CountingFetch(), { nonce: vectorNonce() });
      using b = clientFor(sim, wireB, { nonce: vectorNonce() });
      await a.balance();
      caught.push(
        await expectKrakenError(b.callPrivate("AddOrder", ORDER), {
          kind: "nonce",
        }),
      );
      assert.equal(wireB.count, 1);
    });

    await t.step("a raw request replayed with the same nonce", async () => {
      await using sim = await startSimulator({ port: 0, seed: SEED });
      const credentials = {
        key: sim.credentials.apiKey,
        secret: sim.credentials.apiSecret.reveal(),
      };
      const nonce = String(NOW_MS * 1000);
      const first = await privateCall(sim.url, "Balance", {}, {
        ...credentials,
        nonce,
      });
      assert.deepEqual(first.error, []);
      const replay = await privateCall(sim.url, "Balance", {}, {
        ...credentials,
        nonce,
      });
      assert.deepEqual(replay.error, ["EAPI:Invalid nonce"]);
      const error = KrakenError.fromCodes(replay.error, { method: "Balance" });
      assert.equal(error.kind, "nonce");
    });
  });

  await t.step(
    "clients sharing a NonceSource send concurrently without one nonce refusal",
    async () => {
      await using sim = await startSimulator({ port: 0, seed: SEED });
      const nonce = new NonceSource();
      using limiter = new RateLimiter();
      const wires = [
        new CountingFetch({ buffer: true }),
        new CountingFetch({ buffer: true }),
      ];
      using a = clientFor(sim, wires[0]!, { nonce, limiter });
      using b = clientFor(sim, wires[1]!, { nonce, limiter });
      const calls = Array.from(
        { length: 14 },
        (_, i) => i % 2 === 0 ? a.balance() : b.tradeBalance(),
      );
      const results = await Promise.all(calls);
      assert.equal(results.length, 14);
      for (const wire of wires) {
        assert.equal(wire.count, 7, "no retries were needed");
        assert.equal(wire.answersWith("EAPI:Invalid nonce"), 0);
      }
    },
  );

  await t.step("a JSON-bodied batch call is signed and accepted", async () => {
    await using sim = await startSimulator({
      port: 0,
      seed: SEED,
      apiSecret: VECTOR_A_SECRET,
      engine: false, // only authentication is under test here
    });
    const wire = new CountingFetch();
    using client = clientFor(sim, wire);
    const batch = {
      pair: "XBTUSD",
      orders: [
        { ordertype: "limit", price: "37500", type: "buy", volume: "1.25" },
        { ordertype: "limit", price: "37400", type: "buy", volume: "1.25" },
      ],
    };
    // Past authentication, the simulator has no engine for it yet.
    caught.push(
      await expectKrakenError(client.callPrivate("AddOrderBatch", batch), {
        kind: "invalid_request",
        code: "EGeneral:Unknown method",
      }),
    );
    assert.equal(wire.count, 1);
    const sent = JSON.parse(wire.seen[0]!.body);
    assert.match(sent.nonce, /^\d{16}$/);
    assert.deepEqual({ ...sent, nonce: undefined }, {
      nonce: undefined,
      ...batch,
    });
  });

  await t.step("a key without a permission gets kind permission", async () => {
    await using sim = await startSimulator({
      port: 0,
      seed: SEED,
      permissions: ["query_funds"],
    });
    const wire = new CountingFetch();
    using client = clientFor(sim, wire);
    assert.ok("ZUSD" in await client.balance());
    for (
      const call of [
        () => client.ledgers(),
        () => client.openOrders(),
        () => client.closedOrders(),
        () => client.getWebSocketsToken(),
        () => client.callPrivate("AddOrder", ORDER),
      ]
    ) {
      const before = wire.count;
      caught.push(
        await expectKrakenError(call(), {
          kind: "permission",
          code: "EGeneral:Permission denied",
          retryable: false,
        }),
      );
      assert.equal(wire.count, before + 1, "permission errors are not retried");
    }
  });

  assertNoSecrets(caught, [VECTOR_A_SECRET, VECTOR_A_SIGN]);
});

// ---------------------------------------------------------------------------
// 4. Error kinds through fault injection

Deno.test("every error kind arrives typed through the simulator's fault injection", async (t) => {
  const clock = new SteppedClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: clock.now,
  });
  const caught: unknown[] = [];
  const step = async (
    name: string,
    fn: (wire: CountingFetch, client: RestClient) => Promise<void>,
    options: RestClientOptions = {},
  ) => {
    clock.advance(60_000);
    sim.control.clear();
    const wire = new CountingFetch();
    using publicLimiter = roomyPublicLimiter(clock.now);
    using client = clientFor(sim, wire, {
      now: clock.now,
      publicLimiter,
      retry: QUICK_RETRY,
      ...options,
    });
    await t.step(name, () => fn(wire, client));
    sim.control.clear();
  };
  const fail = async (
    promise: Promise<unknown>,
    expected: Parameters<typeof expectKrakenError>[1],
  ) => {
    const error = await expectKrakenError(promise, expected);
    caught.push(error);
    return error;
  };

  await step(
    "EService:Unavailable on reads is retried until it clears",
    async (wire, client) => {
      sim.control.set({ unavailable: 2 });
      assert.equal((await client.time()).unixtime, Math.floor(clock.ms / 1000));
      assert.equal(wire.countOf("Time"), 3);
      assert.equal(sim.control.stats.unavailable, 2);
      sim.control.set({ unavailable: 2, scope: "private" });
      assert.ok("ZUSD" in await client.balance());
      assert.equal(wire.countOf("Balance"), 3);
    },
  );

  await step(
    "EService:Busy on reads is retried until it clears",
    async (wire, client) => {
      sim.control.set({ busy: 2 });
      assert.ok("XXBTZUSD" in await client.ticker("XBTUSD"));
      assert.equal(wire.count, 3);
      assert.equal(sim.control.stats.busy, 2);
    },
  );

  await step(
    "a lasting EService:Unavailable is a service error",
    async (wire, client) => {
      sim.control.set({ unavailable: 5 });
      const error = await fail(client.balance(), {
        kind: "service",
        code: "EService:Unavailable",
        retryable: true,
      });
      assert.equal(error.method, "Balance");
      assert.equal(wire.count, 3, "maxAttempts");
      assert.equal(sim.control.state.unavailable, 2);
    },
  );

  await step(
    "maintenance refuses private calls with a service error",
    async (_wire, client) => {
      sim.control.set({ systemStatus: "maintenance" });
      assert.equal((await client.systemStatus()).status, "maintenance");
      await fail(client.callPrivate("Balance", {}, {}), {
        kind: "service",
        code: "EService:Unavailable",
      });
    },
    { retry: { maxAttempts: 1 } },
  );

  await step(
    "an HTML 520 page is a typed service error, never a SyntaxError",
    async (wire, client) => {
      sim.control.set({ html520: 1 });
      assert.ok(
        "XXBTZUSD" in
          await client.depth("XBTUSD", 1).then((d) => ({ [d.pair]: d })),
      );
      assert.equal(wire.count, 2, "retried once, then served");
      sim.control.set({ html520: 5 });
      const error = await fail(client.time(), {
        kind: "service",
        code: "Krakked:HTTP status",
        httpStatus: 520,
        retryable: true,
      });
      assert.ok(!(error instanceof SyntaxError));
      assert.ok(!(error.cause instanceof SyntaxError));
      assert.match(error.message, /HTTP 520 with a text\/html body/);
      assert.doesNotMatch(error.message, /<|cloudflare/i);
      assert.equal(sim.control.stats.html520, 4);
    },
  );

  await step(
    "a dropped connection is a network error",
    async (wire, client) => {
      sim.control.set({ drop: 1 });
      assert.ok(typeof (await client.time()).unixtime === "number");
      assert.equal(wire.count, 2);
      sim.control.set({ drop: 3 });
      const error = await fail(client.balance(), {
        kind: "network",
        code: "Krakked:Fetch failed",
        retryable: true,
      });
      assert.equal(sim.control.stats.drop, 4);
      assert.match(error.message, /while reading the answer/);
    },
  );

  await step(
    "latency beyond timeoutMs is a network timeout",
    async (wire, client) => {
      sim.control.set({ latencyMs: 2_000 });
      const error = await fail(client.time(), {
        kind: "network",
        code: "Krakked:Timeout",
        retryable: true,
      });
      assert.match(error.message, /timed out after 40 ms/);
      assert.equal(wire.count, 1);
      sim.control.set({ latencyMs: 0 });
      assert.equal(typeof (await client.time()).unixtime, "number");
    },
    { timeoutMs: 40, retry: { maxAttempts: 1 } },
  );

  await step("invalid requests are not retried", async (wire, client) => {
    await fail(client.ticker("NOPEUSD"), {
      kind: "invalid_request",
      code: "EQuery:Unknown asset pair",
      retryable: false,
    });
    await fail(client.depth("XBT/NOPE"), {
      kind: "invalid_request",
      code: "EQuery:Unknown asset pair",
    });
    await fail(client.tradeVolume(["NOPEUSD"]), {
      kind: "invalid_request",
      code: "EQuery:Unknown asset pair",
    });
    await fail(client.callPublic("Trades", {}), {
      kind: "invalid_request",
      code: "EGeneral:Invalid arguments",
    });
    assert.equal(wire.count, 4);
  });

  await step(
    "funding-like methods are refused before any I/O",
    async (wire, client) => {
      const names = [
        "Withdraw",
        "WithdrawAddresses",
        "WithdrawInfo",
        "DepositAddresses",
        "DepositMethods",
        "WalletTransfer",
        "Earn/Allocate",
        "CreateSubaccount",
        "AccountTransfer",
        "balance",
        "__proto__",
      ];
      for (const name of names) {
        const error = await fail(client.callPrivate(name, { amount: "1" }), {
          kind: "invalid_request",
          code: "Krakked:Method not allowed",
        });
        assert.ok(error.message.includes(JSON.stringify(name)));
        await fail(client.callPublic(name), {
          kind: "invalid_request",
          code: "Krakked:Method not allowed",
        });
      }
      await fail(client.callPublic("Balance"), {
        code: "Krakked:Method not allowed",
      });
      assert.equal(wire.count, 0, "nothing reached the simulator");
      // The simulator would have refused them too, after authentication.
      const raw = await privateCall(sim.url, "Withdraw", { amount: "1" }, {
        key: sim.credentials.apiKey,
        secret: sim.credentials.apiSecret.reveal(),
        nonce: String(clock.ms * 1000 + 999),
      });
      assert.deepEqual(raw.error, ["EGeneral:Permission denied"]);
    },
  );

  assert.ok(caught.length >= 20);
  assertNoSecrets(caught, secretsOf(sim));
});

Deno.test("a rate-limit storm is a rate_limit error and the limiter backs off", async (t) => {
  const clock = new FakeClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: clock.now,
  });
  const caught: unknown[] = [];

  await t.step("a storm shorter than the retries is waited out", async () => {
    const wire = new CountingFetch({ buffer: true });
    using limiter = new RateLimiter({
      now: clock.now,
      setTimer: clock.setTimer,
    });
    using client = clientFor(sim, wire, {
      now: clock.now,
      setTimer: clock.setTimer,
      limiter,
    });
    sim.control.set({ rateLimitStorm: 2 });
    const startMs = clock.now();
    const outcome = await driveThroughLimiter(
      clock,
      client.balance(),
      limiter,
      wire,
    );
    assert.ok(outcome.ok, String(!outcome.ok && outcome.error));
    assert.equal(wire.answersWith("EAPI:Rate limit exceeded"), 2);
    assert.equal(wire.count, 3);
    assert.equal(sim.control.stats.rateLimitStorm, 2);
    // Each refusal saturated the Starter counter (15): one call then waits
    // for its unit and the headroom to decay at 0.33/s, about 3 s per
    // count, twice.
    const waitedMs = clock.now() - startMs;
    const perRefusal = (1 + DEFAULT_HEADROOM) * 3_000;
    assert.ok(
      waitedMs >= 2 * perRefusal && waitedMs < 2 * (perRefusal + 100),
      `${waitedMs} ms`,
    );
  });

  await t.step(
    "a longer storm surfaces kind rate_limit with the counter full",
    async () => {
      clock.advance(120_000);
      const wire = new CountingFetch({ buffer: true });
      using limiter = new RateLimiter({
        now: clock.now,
        setTimer: clock.setTimer,
      });
      using client = clientFor(sim, wire, {
        now: clock.now,
        setTimer: clock.setTimer,
        limiter,
      });
      sim.control.set({ rateLimitStorm: 10 });
      const outcome = await driveThroughLimiter(
        clock,
        client.balance(),
        limiter,
        wire,
      );
      assert.ok(!outcome.ok);
      const error = outcome.error;
      assert.ok(error instanceof KrakenError);
      assert.equal(error.kind, "rate_limit");
      assert.equal(error.code, "EAPI:Rate limit exceeded");
      caught.push(error);
      assert.equal(wire.count, 3);
      assert.ok(limiter.snapshot("rest").level > 14.9, "backed off to full");
      sim.control.clear();
    },
  );

  assertNoSecrets(caught, secretsOf(sim));
});

// ---------------------------------------------------------------------------
// 5. Orders are sent once

Deno.test("an order-like call is sent exactly once whatever the transient fault", async (t) => {
  const clock = new SteppedClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: clock.now,
  });
  const caught: unknown[] = [];
  const cases: Array<{
    name: string;
    faults: Parameters<Simulator["control"]["set"]>[0];
    kind: KrakenError["kind"];
    remaining: () => number;
  }> = [
    {
      name: "EService:Unavailable",
      faults: { unavailable: 3 },
      kind: "service",
      remaining: () => sim.control.state.unavailable,
    },
    {
      name: "EService:Busy",
      faults: { busy: 3 },
      kind: "service",
      remaining: () => sim.control.state.busy,
    },
    {
      name: "HTML 520",
      faults: { html520: 3 },
      kind: "service",
      remaining: () => sim.control.state.html520,
    },
    {
      name: "dropped connection",
      faults: { drop: 3 },
      kind: "network",
      remaining: () => sim.control.state.drop,
    },
    {
      name: "rate-limit storm",
      faults: { rateLimitStorm: 3 },
      kind: "rate_limit",
      remaining: () => sim.control.state.rateLimitStorm,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      clock.advance(60_000);
      sim.control.clear();
      sim.control.set(c.faults);
      const wire = new CountingFetch();
      using client = clientFor(sim, wire, {
        now: clock.now,
        retry: QUICK_RETRY,
      });
      for (const method of ["AddOrder", "CancelOrder"] as const) {
        const before = c.remaining();
        const params = method === "AddOrder"
          ? ORDER
          : { txid: "OABCDE-FGHIJ-KLMNOP" };
        caught.push(
          await expectKrakenError(client.callPrivate(method, params), {
            kind: c.kind,
          }),
        );
        assert.equal(wire.countOf(method), 1, `${method} sent once`);
        assert.equal(
          c.remaining(),
          before - 1,
          "the simulator saw one request",
        );
      }
      // The same fault on a read is retried: two faults, then served.
      if (c.kind !== "rate_limit") {
        sim.control.clear();
        sim.control.set(c.faults);
        sim.control.set({ [Object.keys(c.faults)[0]!]: 2 });
        assert.ok("ZUSD" in await client.balance());
        assert.equal(wire.countOf("Balance"), 3);
        assert.equal(c.remaining(), 0);
      }
      sim.control.clear();
    });
  }

  await t.step("latency beyond the timeout", async () => {
    clock.advance(60_000);
    sim.control.set({ latencyMs: 2_000 });
    const wire = new CountingFetch();
    using client = clientFor(sim, wire, {
      now: clock.now,
      timeoutMs: 40,
      retry: QUICK_RETRY,
    });
    caught.push(
      await expectKrakenError(client.callPrivate("AddOrder", ORDER), {
        kind: "network",
        code: "Krakked:Timeout",
      }),
    );
    assert.equal(wire.count, 1);
    assert.equal(sim.control.stats.delayed, 1);
    sim.control.clear();
  });

  assertNoSecrets(caught, secretsOf(sim));
});

// ---------------------------------------------------------------------------
// 6. The burst

Deno.test("200 private calls at Starter tier complete without one rate-limit refusal", async () => {
  const clock = new FakeClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    tier: "starter",
    now: clock.now,
  });
  const wire = new CountingFetch({ buffer: true });
  using limiter = new RateLimiter({
    tier: "starter",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  using client = clientFor(sim, wire, {
    now: clock.now,
    setTimer: clock.setTimer,
    limiter,
  });
  const total = 200;
  const startMs = clock.now();
  let settled = 0;
  const failures: unknown[] = [];
  const calls = Array.from({ length: total }, () =>
    client.balance().then(
      () => settled++,
      (error) => {
        settled++;
        failures.push(error);
      },
    ));
  let maxLevel = 0;
  let jumps = 0;
  // Advance only when every call that left the limiter has its answer: then
  // nothing is on the wire and the limiter's timer is the only one pending.
  for (;;) {
    await clock.until(
      () => settled === total - limiter.pending("rest"),
      20_000,
    );
    maxLevel = Math.max(maxLevel, sim.keys.counter("key-1")!.level);
    assert.ok(
      limiter.snapshot("rest").level <= 15 - DEFAULT_HEADROOM + 1e-9,
      "model counter within max less the headroom",
    );
    if (settled === total) break;
    const next = clock.nextTimerAtMs();
    assert.ok(next !== undefined, "waiting calls need a limiter timer");
    clock.advanceTo(next);
    jumps++;
  }
  await Promise.all(calls);
  assert.deepEqual(failures, []);
  assert.equal(wire.count, total, "every call sent once");
  assert.equal(wire.answersWith("EAPI:Rate limit exceeded"), 0);
  assert.equal(
    wire.seen.filter((r) => r.answer?.startsWith('{"error":[],"result":'))
      .length,
    total,
    "200 successes",
  );
  assert.ok(maxLevel <= 15 + 1e-9, `simulator counter peaked at ${maxLevel}`);
  assert.ok(
    maxLevel > 14 - DEFAULT_HEADROOM,
    "the limiter used the whole burst allowance (max less the headroom)",
  );
  // 15 at once, then 185 at 0.33/s: about 561 s of simulated time.
  const elapsedSec = (clock.now() - startMs) / 1000;
  assert.ok(
    elapsedSec >= 185 / 0.33 - 1 && elapsedSec < 185 / 0.33 + 5,
    `${elapsedSec} s`,
  );
  assert.ok(jumps >= 185);
  // Nonces reached the simulator strictly increasing.
  const nonces = wire.seen.map((r) => BigInt(r.body.slice("nonce=".length)));
  for (let i = 1; i < nonces.length; i++) {
    assert.ok(nonces[i]! > nonces[i - 1]!);
  }
});
