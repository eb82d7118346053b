import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { KrakenSigner } from "../../../core/auth/sign.ts";
import { NonceSource } from "../../../core/auth/nonce.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import {
  type CallParams,
  RestClient,
  type RestClientOptions,
} from "../../../core/rest/client.ts";
import {
  KrakenError,
  type KrakenErrorKind,
  LOCAL_CODES,
} from "../../../core/rest/errors.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { FakeClock } from "../../fakes/clock.ts";
import {
  FakeFetch,
  type FetchHandler,
  forbiddenFetch,
  jsonResponse,
  krakenErrors,
  krakenResult,
  neverAnswer,
  type RecordedRequest,
  textResponse,
} from "../../fakes/fetch.ts";

/** Vector A's secret (REST.md §2.3), the official documentation example. */
const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const KEY = "TestApiKeyQk9xR2mZ7vL4pW8nY3tB6cF1hJ5sD0gA";
const BASE = "https://kraken.invalid";
const signerPromise = KrakenSigner.create(SECRET);
/**
 * Real event-loop turns FakeClock.settle yields before each fake-time jump:
 * signing is real async WebCrypto and must finish before a jump, or a jump to
 * the request timeout would fire early.
 */
const TURNS = 10;

interface Harness {
  client: RestClient;
  fake: FakeFetch;
  clock: FakeClock;
  limiter: RateLimiter;
}

function harness(
  handler: FetchHandler,
  options: Partial<RestClientOptions> = {},
): Harness {
  const clock = new FakeClock(1_700_000_000_000);
  const fake = new FakeFetch(handler);
  const limiter = options.limiter ??
    new RateLimiter({
      tier: "pro",
      // The exact model, without the default headroom: tests below count
      // decay to the millisecond.
      headroom: 0,
      // A roomy public budget: most tests are not about pacing.
      publicLimits: { max: 100, decayPerSec: 1 },
      now: clock.now,
      setTimer: clock.setTimer,
    });
  const client = new RestClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0.5,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    limiter,
    ...options,
  });
  return { client, fake, clock, limiter };
}

/** What the simulator will do: verify API-Sign over the exact body received. */
async function verifySigned(req: RecordedRequest): Promise<string> {
  const path = new URL(req.url).pathname;
  const json = req.headers.get("content-type")?.startsWith("application/json");
  const nonce = json
    ? String(JSON.parse(req.body).nonce)
    : new URLSearchParams(req.body).get("nonce") ?? "";
  const signature = req.headers.get("API-Sign") ?? "";
  const signer = await signerPromise;
  assert.ok(
    await signer.verify({ path, nonce, body: req.body }, signature),
    `API-Sign must be base64(HMAC-SHA512(path ‖ SHA-256(nonce ‖ body))) for ${path}`,
  );
  return nonce;
}

async function example(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(
    new URL(`./testdata/examples/${path}`, import.meta.url),
  );
  return parseYaml(text);
}

async function rejection(promise: Promise<unknown>): Promise<KrakenError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof KrakenError,
      `expected KrakenError, got ${error}`,
    );
    return error;
  }
  assert.fail("expected a rejection");
}

// ---------------------------------------------------------------------------

Deno.test("public methods send GET with the right path and query", async (t) => {
  const { client, fake } = harness(() => krakenResult({}));
  const cases: Array<[string, () => Promise<unknown>, string, CallParams]> = [
    ["time", () => client.callPublic("Time"), "/0/public/Time", {}],
    ["ticker", () => client.ticker(["XBTUSD", "ETHUSD"]), "/0/public/Ticker", {
      pair: "XBTUSD,ETHUSD",
    }],
    ["ticker, all pairs", () => client.ticker(), "/0/public/Ticker", {}],
    [
      "assets",
      () => client.assets({ asset: "XBT", aclass: "currency" }),
      "/0/public/Assets",
      { asset: "XBT", aclass: "currency" },
    ],
    [
      "assetPairs",
      () =>
        client.assetPairs({
          pair: ["XBTUSD"],
          info: "fees",
          aclassBase: "currency",
          countryCode: "US",
        }),
      "/0/public/AssetPairs",
      {
        pair: "XBTUSD",
        info: "fees",
        aclass_base: "currency",
        country_code: "US",
      },
    ],
  ];
  for (const [name, call, path, query] of cases) {
    await t.step(name, async () => {
      fake.calls.length = 0;
      await call();
      const req = fake.calls[0]!;
      assert.equal(req.method, "GET");
      const url = new URL(req.url);
      assert.equal(url.origin, BASE);
      assert.equal(url.pathname, path);
      assert.deepEqual(Object.fromEntries(url.searchParams), query);
      assert.equal(req.headers.get("User-Agent"), "krakked/0.1");
      assert.equal(req.headers.get("API-Key"), null);
      assert.equal(req.headers.get("API-Sign"), null);
      assert.equal(req.body, "");
    });
  }
});

Deno.test("typed methods accept every official response example", async (t) => {
  const { client, fake } = harness(() => krakenResult({}));
  let answer: unknown;
  fake.setHandler(() => jsonResponse(answer));
  const use = async (path: string) => (answer = await example(path));

  await t.step("Time", async () => {
    await use("public/time.yaml");
    assert.deepEqual(await client.time(), {
      unixtime: 1546998654,
      rfc1123: "Wed,  9 Jan 19 01:50:54 +0000",
    });
  });
  await t.step("SystemStatus", async () => {
    answer = {
      error: [],
      result: { status: "online", timestamp: "2023-07-06T18:52:00Z" },
    };
    assert.equal((await client.systemStatus()).status, "online");
  });
  await t.step("Assets", async () => {
    await use("public/assets/info.yaml");
    const assets = await client.assets();
    assert.equal(assets.XXBT?.altname, "XBT");
    assert.equal(assets.KFEE?.decimals, 2);
  });
  await t.step("AssetPairs", async () => {
    await use("public/assets/pairs.yaml");
    const pairs = await client.assetPairs();
    assert.equal(pairs.XXBTZUSD?.altname, "XBTUSD");
    assert.equal(pairs.XETHXXBT?.tick_size, "0.00001");
    assert.equal(pairs.XETHXXBT?.ordermin, "0.01");
  });
  await t.step("Ticker", async () => {
    await use("public/ticker.yaml");
    const ticker = await client.ticker("XBTUSD");
    assert.deepEqual(ticker.XXBTZUSD?.a, ["3537.50000", "1", "1.000"]);
    assert.deepEqual(ticker.XXBTZUSD?.t, [5773, 6815]);
  });
  await t.step("Depth", async () => {
    await use("public/depth.yaml");
    const depth = await client.depth("XBTUSD", 2);
    assert.equal(depth.pair, "XXBTZUSD");
    assert.deepEqual(depth.asks[0], ["3539.90000", "0.801", 1548119951]);
    assert.equal(depth.bids.length, 2);
    assert.deepEqual(
      Object.fromEntries(new URL(fake.calls.at(-1)!.url).searchParams),
      { pair: "XBTUSD", count: "2" },
    );
  });
  await t.step("Trades (6-element rows, string cursor)", async () => {
    await use("public/trades.yaml");
    const trades = await client.trades("XBTUSD", {
      since: "1548121745957099006",
      count: 2,
    });
    assert.equal(trades.pair, "XXBTZUSD");
    assert.equal(trades.last, "1548121745957099006");
    assert.deepEqual(trades.rows[0], [
      "3535.50000",
      "0.00300000",
      1548111751.5556,
      "b",
      "m",
      "",
    ]);
    assert.equal(
      new URL(fake.calls.at(-1)!.url).searchParams.get("since"),
      "1548121745957099006",
    );
  });
  await t.step("OHLC (duplicate rows kept as sent)", async () => {
    await use("public/ohlc.yaml");
    const ohlc = await client.ohlc("XBTUSD", {
      interval: 60,
      since: 1548111600,
    });
    assert.equal(ohlc.pair, "XXBTZUSD");
    assert.equal(ohlc.last, 1548111600);
    assert.deepEqual(ohlc.rows[0], [
      1548115200,
      "3533.4",
      "3543.7",
      "3530.7",
      "3539.4",
      "3539.8",
      "83.09287787",
      232,
    ]);
    assert.deepEqual(
      Object.fromEntries(new URL(fake.calls.at(-1)!.url).searchParams),
      { pair: "XBTUSD", interval: "60", since: "1548111600" },
    );
  });
  await t.step("Spread", async () => {
    await use("public/spread.yaml");
    const spread = await client.spread("XBTUSD", 1548120000);
    assert.equal(spread.last, 1548122302);
    assert.equal(spread.rows.length, 3);
  });
  await t.step("Balance", async () => {
    await use("user/account/balance.yaml");
    const balance = await client.balance();
    assert.equal(balance.XXBT, "3.2223768244");
    assert.equal(balance.KFEE, "0.00");
  });
  await t.step("BalanceEx", async () => {
    answer = {
      error: [],
      result: { XXBT: { balance: "1.0", hold_trade: "0.1" } },
    };
    assert.equal((await client.balanceEx()).XXBT?.hold_trade, "0.1");
  });
  await t.step("TradeBalance", async () => {
    await use("user/trades/balance.yaml");
    assert.equal((await client.tradeBalance("ZUSD")).eb, "3224744.0162");
    assert.equal(
      new URLSearchParams(fake.calls.at(-1)!.body).get("asset"),
      "ZUSD",
    );
  });
  await t.step("OpenOrders (old example with empty userref)", async () => {
    await use("user/orders/open.yaml");
    const open = await client.openOrders({
      trades: true,
      userref: 7,
      clOrdId: "abc",
    });
    assert.equal(open.open["O7ICPO-F4CLJ-MVBLHC"]?.vol, "3.00000000");
    const body = new URLSearchParams(fake.calls.at(-1)!.body);
    assert.equal(body.get("trades"), "true");
    assert.equal(body.get("userref"), "7");
    assert.equal(body.get("cl_ord_id"), "abc");
  });
  await t.step("ClosedOrders", async () => {
    await use("user/orders/closed.yaml");
    const closed = await client.closedOrders({
      start: 1550101000,
      end: "OQB6D2-O5QMF-QBBAWZ",
      ofs: 50,
      closetime: "close",
      consolidateTaker: false,
      withoutCount: true,
    });
    assert.equal(closed.closed["OQB6D2-O5QMF-QBBAWZ"]?.status, "canceled");
    const body = Object.fromEntries(
      new URLSearchParams(fake.calls.at(-1)!.body),
    );
    assert.deepEqual({ ...body, nonce: "-" }, {
      nonce: "-",
      start: "1550101000",
      end: "OQB6D2-O5QMF-QBBAWZ",
      ofs: "50",
      closetime: "close",
      consolidate_taker: "false",
      without_count: "true",
    });
  });
  await t.step("QueryOrders", async () => {
    await use("user/orders/query.yaml");
    const orders = await client.queryOrders([
      "ODNLO4-QYFSV-33BKJA",
      "OQB6D2-O5QMF-QBBAWZ",
    ], { trades: true });
    assert.equal(orders["ODNLO4-QYFSV-33BKJA"]?.userref, 123456);
    assert.equal(
      new URLSearchParams(fake.calls.at(-1)!.body).get("txid"),
      "ODNLO4-QYFSV-33BKJA,OQB6D2-O5QMF-QBBAWZ",
    );
    assert.match(
      fake.calls.at(-1)!.body,
      /txid=ODNLO4-QYFSV-33BKJA%2COQB6D2-O5QMF-QBBAWZ/,
    );
  });
  await t.step("TradesHistory", async () => {
    await use("user/trades/history.yaml");
    const history = await client.tradesHistory({
      type: "no position",
      ledgers: true,
    });
    assert.equal(history.count, 2);
    assert.equal(history.trades["TBGB6I-IMYKU-WWA2SK"]?.trade_id, 2560488);
    assert.match(fake.calls.at(-1)!.body, /type=no\+position/);
  });
  await t.step("QueryTrades", async () => {
    await use("user/trades/query.yaml");
    const trades = await client.queryTrades("TNGJFU-5CD67-ZV3AEO");
    assert.equal(trades["TNGJFU-5CD67-ZV3AEO"]?.price, "9.25000");
  });
  await t.step("Ledgers (count misplaced in the example)", async () => {
    await use("user/ledgers/info.yaml");
    const ledgers = await client.ledgers({
      asset: ["XBT", "ETH"],
      type: "deposit",
    });
    assert.equal(Object.keys(ledgers.ledger).length, 4);
    assert.equal(ledgers.ledger["LGBRJU-SQZ4L-5HLS3C"]?.amount, "0.7812500000");
  });
  await t.step("QueryLedgers", async () => {
    await use("user/ledgers/query.yaml");
    const entries = await client.queryLedgers(["LGBRJU-SQZ4L-5HLS3C"]);
    assert.equal(entries["L3S26P-BHIOV-TTWYYI"]?.balance, "4.6875000000");
  });
  await t.step("TradeVolume (null next tiers)", async () => {
    await use("user/trades/volume.yaml");
    const volume = await client.tradeVolume(["XETCXETH"]);
    assert.equal(volume.volume, "3015012348193.4134");
    assert.equal(volume.fees?.XETCXETH?.nextfee, null);
  });
  await t.step("trading examples through callPrivate", async () => {
    const cases: Array<[string, string, CallParams]> = [
      ["trading/orders/add.yaml", "AddOrder", {
        pair: "XBTUSD",
        type: "buy",
        ordertype: "limit",
        volume: "2.1234",
        price: "25000.1",
      }],
      ["trading/orders/batchadd.yaml", "AddOrderBatch", {
        pair: "XBTUSD",
        orders: [{ type: "buy" }, { type: "sell" }],
      }],
      ["trading/orders/batchcancel.yaml", "CancelOrderBatch", {
        orders: [{ txid: "A" }, { txid: "B" }],
      }],
      ["trading/orders/cancel.yaml", "CancelOrder", {
        txid: "OUF4EM-FRGI2-MQMWZD",
      }],
      ["trading/orders/edit.yaml", "EditOrder", {
        txid: "OHYO67-6LP66-HMQ437",
        pair: "XBTGBP",
      }],
    ];
    for (const [path, method, params] of cases) {
      await use(path);
      const { result, warnings } = await client.callPrivate(method, params);
      assert.deepEqual(result, (answer as { result: unknown }).result, path);
      assert.deepEqual(warnings, []);
    }
  });
});

Deno.test("private calls are signed over the exact bytes that are sent", async (t) => {
  await t.step("Vector A: the documented AddOrder signature", async () => {
    const { client, fake } = harness(
      () => krakenResult({ descr: { order: "x" }, txid: ["O"] }),
      {
        nonce: new NonceSource({ now: () => 0, floor: 1616492376593 }),
      },
    );
    await client.callPrivate("AddOrder", {
      ordertype: "limit",
      pair: "XBTUSD",
      price: "37500",
      type: "buy",
      volume: "1.25",
    });
    const req = fake.calls[0]!;
    assert.equal(req.method, "POST");
    assert.equal(new URL(req.url).pathname, "/0/private/AddOrder");
    assert.equal(
      req.body,
      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
    );
    assert.equal(
      req.bodyInit,
      req.body,
      "the body passed to fetch is the signed string itself",
    );
    assert.equal(
      req.headers.get("API-Sign"),
      "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==",
    );
    assert.equal(req.headers.get("API-Key"), KEY);
    assert.equal(
      req.headers.get("Content-Type"),
      "application/x-www-form-urlencoded; charset=utf-8",
    );
    assert.equal(req.headers.get("User-Agent"), "krakked/0.1");
  });
  await t.step(
    "derived vectors: Balance and AddOrder with a nested close",
    async () => {
      const { client, fake } = harness(() => krakenResult({}), {
        nonce: new NonceSource({ now: () => 0, floor: 1616492376593 }),
      });
      await client.balance();
      assert.equal(fake.calls[0]!.body, "nonce=1616492376594");
      assert.equal(
        fake.calls[0]!.headers.get("API-Sign"),
        "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==",
      );
      const { client: c2, fake: f2 } = harness(() => krakenResult({}), {
        nonce: new NonceSource({ now: () => 0, floor: 1616492376593 }),
      });
      await c2.callPrivate("AddOrder", {
        ordertype: "limit",
        pair: "XBTUSD",
        price: "37500",
        type: "buy",
        volume: "1.25",
        close: { ordertype: "stop-loss", price: "35000" },
      });
      assert.equal(
        f2.calls[0]!.body,
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25&close%5Bordertype%5D=stop-loss&close%5Bprice%5D=35000",
      );
      assert.equal(
        f2.calls[0]!.headers.get("API-Sign"),
        "VNXwCAU3zRpKf2LgjBriIpF3DAZ4oxkhNLwnxQNtoC4mQEg8yxs4MVfAdBbeVCFSiiB/aCQQmNSrTAB6mKtsIg==",
      );
    },
  );
  await t.step(
    "brackets, percent, plus, spaces and unicode survive encoding",
    async () => {
      const { client, fake } = harness(() =>
        krakenResult({ descr: { order: "x" } })
      );
      const params = {
        pair: "XBTUSD",
        price: "+5%",
        price2: "#1.5%",
        "close[price]": "-2",
        "cl_ord_id": "a b[c]&d=é€🙂",
        oflags: "post,fciq",
        validate: true,
        expiretm: "+60",
        userref: -2147483648,
        nothing: undefined,
        alsoNothing: null,
      };
      await client.callPrivate("AddOrder", params);
      const req = fake.calls[0]!;
      assert.match(
        req.body,
        /&pair=XBTUSD&price=%2B5%25&price2=%231\.5%25&close%5Bprice%5D=-2&cl_ord_id=a\+b%5Bc%5D%26d%3D%C3%A9%E2%82%AC%F0%9F%99%82&oflags=post%2Cfciq&validate=true&expiretm=%2B60&userref=-2147483648$/,
      );
      const decoded = Object.fromEntries(new URLSearchParams(req.body));
      assert.equal(decoded.price, "+5%");
      assert.equal(decoded["close[price]"], "-2");
      assert.equal(decoded.cl_ord_id, "a b[c]&d=é€🙂");
      assert.equal(decoded.expiretm, "+60");
      assert.ok(!("nothing" in decoded) && !("alsoNothing" in decoded));
      await verifySigned(req);
    },
  );
  await t.step("the public query uses the same encoding", async () => {
    const { client, fake } = harness(() => krakenResult({}));
    await client.callPublic("Ticker", { pair: "a b+c%[d]é" });
    assert.equal(
      new URL(fake.calls[0]!.url).search,
      "?pair=a+b%2Bc%25%5Bd%5D%C3%A9",
    );
  });
  await t.step("batch methods send a signed JSON body", async () => {
    const { client, fake, limiter } = harness(() =>
      krakenResult({ orders: [] })
    );
    const orders = [
      {
        ordertype: "limit",
        type: "buy",
        volume: "1.0",
        price: "27500",
        close: { ordertype: "stop-loss", price: "+5%" },
      },
      { ordertype: "limit", type: "sell", volume: "1.0", price: "28500" },
    ];
    await client.callPrivate("AddOrderBatch", {
      pair: "XBTUSD",
      orders,
      validate: false,
      big: 10n,
    });
    const req = fake.calls[0]!;
    assert.equal(req.headers.get("content-type"), "application/json");
    const body = JSON.parse(req.body);
    assert.equal(typeof body.nonce, "string");
    assert.deepEqual(body.orders, orders);
    assert.equal(body.big, "10");
    assert.equal(req.bodyInit, req.body);
    await verifySigned(req);
    assert.equal(limiter.snapshot("trading", "XBTUSD").level, 1); // 2 orders × 1/2
    assert.equal(limiter.snapshot("rest").level, 1);
  });
  await t.step("arrays of objects cannot be form-encoded", async () => {
    const { client, fake } = harness(() => krakenResult({}));
    await assert.rejects(
      client.callPrivate("AddOrder", { orders: [{ a: 1 }] }),
      TypeError,
    );
    assert.equal(fake.calls.length, 0);
  });
});

Deno.test("sign-and-send is serialized per key so nonces arrive in order", async () => {
  const gates: Array<() => void> = [];
  const { client, fake, clock } = harness(async (_req) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return krakenResult({});
  });
  const calls = Array.from({ length: 4 }, () => client.balance());
  await clock.until(() => fake.calls.length >= 1);
  await clock.flush(TURNS);
  assert.equal(
    fake.calls.length,
    1,
    "the next request waits for the previous response",
  );
  for (let i = 1; i < 4; i++) {
    gates[i - 1]!();
    await clock.until(() => fake.calls.length >= i + 1);
    await clock.flush(TURNS);
    assert.equal(fake.calls.length, i + 1);
  }
  gates[3]!();
  await Promise.all(calls);
  const nonces: bigint[] = [];
  for (const req of fake.calls) nonces.push(BigInt(await verifySigned(req)));
  for (let i = 1; i < nonces.length; i++) {
    assert.ok(nonces[i]! > nonces[i - 1]!);
  }
});

Deno.test("two clients sharing a nonce source share the send lane", async () => {
  const gates: Array<() => void> = [];
  const clock = new FakeClock(0);
  const nonce = new NonceSource({ now: clock.now });
  const fake = new FakeFetch(async () => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return krakenResult({});
  });
  const make = () =>
    new RestClient({
      baseUrl: BASE,
      fetch: fake.fetch,
      now: clock.now,
      setTimer: clock.setTimer,
      nonce,
      credentials: { key: KEY, secret: SECRET },
      limiter: new RateLimiter({
        tier: "pro",
        now: clock.now,
        setTimer: clock.setTimer,
      }),
    });
  const a = make().balance();
  const b = make().balance();
  await clock.until(() => fake.calls.length >= 1);
  await clock.flush(TURNS);
  assert.equal(fake.calls.length, 1);
  gates[0]!();
  await clock.until(() => gates.length === 2);
  gates[1]!();
  await Promise.all([a, b]);
  assert.equal(fake.calls.length, 2);
});

Deno.test("calls outside the allowlist are refused before any I/O", async (t) => {
  const fake = forbiddenFetch();
  const clock = new FakeClock(0);
  const limiter = new RateLimiter({ now: clock.now, setTimer: clock.setTimer });
  const client = new RestClient({
    fetch: fake.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    credentials: { key: KEY, secret: SECRET },
    limiter,
  });
  const names = [
    "Withdraw",
    "WithdrawInfo",
    "DepositAddresses",
    "WalletTransfer",
    "Earn/Allocate",
    "CreateSubaccount",
    "OpenPositions",
    "constructor",
    "__proto__",
    "balance",
    "Ticker",
  ];
  for (const name of names) {
    await t.step(`private ${name}`, async () => {
      const err = await rejection(
        client.callPrivate(name, { asset: "XBT", amount: "1" }),
      );
      assert.equal(err.kind, "invalid_request");
      assert.equal(err.code, LOCAL_CODES.methodNotAllowed);
    });
  }
  await t.step("public Balance", async () => {
    const err = await rejection(client.callPublic("Balance"));
    assert.equal(err.code, LOCAL_CODES.methodNotAllowed);
    assert.equal(
      err.message,
      'Kraken public method "Balance" is not allowed by Krakked',
    );
  });
  await t.step("no credentials", async () => {
    const anonymous = new RestClient({ fetch: fake.fetch, limiter });
    assert.equal(anonymous.hasCredentials, false);
    const err = await rejection(anonymous.balance());
    assert.equal(err.kind, "auth");
    assert.equal(err.code, LOCAL_CODES.noCredentials);
  });
  await t.step("a caller-supplied nonce", async () => {
    await assert.rejects(
      client.callPrivate("Balance", { nonce: 1 }),
      TypeError,
    );
  });
  await t.step("missing ids", async () => {
    await assert.rejects(client.queryOrders([]), TypeError);
    await assert.rejects(client.queryTrades(""), TypeError);
    await assert.rejects(client.queryLedgers([]), TypeError);
  });
  await t.step("an unusable secret", async () => {
    const bad = new RestClient({
      fetch: fake.fetch,
      limiter,
      credentials: { key: KEY, secret: "not base64!" },
    });
    const err = await rejection(bad.balance());
    assert.equal(err.kind, "auth");
    assert.equal(err.code, LOCAL_CODES.invalidSecret);
    assert.doesNotMatch(err.message, /not base64!/);
  });
  assert.equal(fake.calls.length, 0, "fetch must not have been called");
  assert.equal(
    limiter.snapshot("rest").level,
    0,
    "refused calls do not spend the budget",
  );
  assert.equal(limiter.snapshot("public").level, 0);
  limiter.close();
});

Deno.test("every error kind reaches the caller as a KrakenError", async (t) => {
  const cases: Array<
    [string, () => Response | Promise<Response>, KrakenErrorKind, string]
  > = [
    [
      "auth",
      () => krakenErrors("EAPI:Invalid key"),
      "auth",
      "EAPI:Invalid key",
    ],
    [
      "permission",
      () => krakenErrors("EGeneral:Permission denied"),
      "permission",
      "EGeneral:Permission denied",
    ],
    [
      "nonce",
      () => krakenErrors("EAPI:Invalid nonce"),
      "nonce",
      "EAPI:Invalid nonce",
    ],
    [
      "rate_limit",
      () => krakenErrors("EAPI:Rate limit exceeded"),
      "rate_limit",
      "EAPI:Rate limit exceeded",
    ],
    [
      "invalid_request",
      () => krakenErrors("EGeneral:Invalid arguments"),
      "invalid_request",
      "EGeneral:Invalid arguments",
    ],
    [
      "order",
      () => krakenErrors("EOrder:Insufficient funds"),
      "order",
      "EOrder:Insufficient funds",
    ],
    [
      "service",
      () => krakenErrors("EService:Unavailable"),
      "service",
      "EService:Unavailable",
    ],
    [
      "network",
      () =>
        Promise.reject(
          new TypeError("error sending request: connection refused"),
        ),
      "network",
      LOCAL_CODES.fetchFailed,
    ],
    [
      "unknown",
      () => krakenErrors("EWhatever:New thing"),
      "unknown",
      "EWhatever:New thing",
    ],
    [
      "HTML 520 page",
      () => textResponse("<!DOCTYPE html><title>520</title>", 520),
      "service",
      LOCAL_CODES.httpStatus,
    ],
    [
      "empty body",
      () => textResponse("", 200, "application/json"),
      "service",
      LOCAL_CODES.emptyBody,
    ],
    [
      "truncated JSON",
      () =>
        textResponse(
          '{"error":[],"result":{"ZUSD":"1',
          200,
          "application/json",
        ),
      "service",
      LOCAL_CODES.invalidJson,
    ],
    [
      "a fetch that throws synchronously",
      () => {
        throw new TypeError("bad");
      },
      "network",
      LOCAL_CODES.fetchFailed,
    ],
    [
      "a body that fails mid-read",
      () =>
        new Response(
          new ReadableStream({
            pull: (c) => c.error(new TypeError("connection reset")),
          }),
          { status: 200 },
        ),
      "network",
      LOCAL_CODES.fetchFailed,
    ],
  ];
  for (const [name, respond, kind, code] of cases) {
    await t.step(name, async () => {
      const { client, fake } = harness(respond, { retry: { maxAttempts: 1 } });
      const err = await rejection(client.balance());
      assert.equal(err.kind, kind);
      assert.equal(err.code, code);
      assert.equal(err.method, "Balance");
      // A rate-limit error is not retried here either (maxAttempts 1);
      // a nonce error is re-signed once.
      assert.equal(fake.calls.length, kind === "nonce" ? 2 : 1);
    });
  }
  await t.step("a raw SyntaxError never leaks out", async () => {
    const { client } = harness(() => textResponse("<html>", 200), {
      retry: { maxAttempts: 1 },
    });
    const err = await rejection(client.time());
    assert.ok(!(err instanceof SyntaxError));
    assert.equal(err.cause, undefined);
  });
  await t.step("a fetch failure keeps its cause", async () => {
    const cause = new TypeError("dns error");
    const { client } = harness(() => Promise.reject(cause), {
      retry: { maxAttempts: 1 },
    });
    const err = await rejection(client.time());
    assert.equal(err.cause, cause);
    assert.equal(err.retryable, true);
  });
});

Deno.test("a request that never answers times out and clears its timer", async (t) => {
  await t.step("read", async () => {
    const { client, clock, fake } = harness(() => neverAnswer(), {
      timeoutMs: 5000,
      retry: { maxAttempts: 1 },
    });
    const started = clock.now();
    const err = await rejection(clock.settle(client.time(), { turns: TURNS }));
    assert.equal(err.kind, "network");
    assert.equal(err.code, LOCAL_CODES.timeout);
    assert.equal(err.message, "Kraken Time call timed out after 5000 ms");
    assert.equal(clock.now() - started, 5000);
    assert.equal(fake.calls.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });
  await t.step("a timed-out AddOrder is not re-sent", async () => {
    const { client, clock, fake } = harness(() => neverAnswer(), {
      timeoutMs: 5000,
    });
    const err = await rejection(
      clock.settle(client.callPrivate("AddOrder", { pair: "XBTUSD" }), {
        turns: TURNS,
      }),
    );
    assert.equal(err.code, LOCAL_CODES.timeout);
    assert.equal(fake.calls.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });
  await t.step("successful calls leave no timer behind", async () => {
    const { client, clock } = harness(() =>
      krakenResult({ unixtime: 1, rfc1123: "x" })
    );
    await client.time();
    await client.balance();
    assert.equal(clock.pendingTimers, 0);
  });
});

Deno.test("a caller's abort signal stops the call", async (t) => {
  await t.step("while in flight", async () => {
    const { client, clock } = harness(() => neverAnswer());
    const controller = new AbortController();
    const call = client.callPublic("Time", {}, { signal: controller.signal });
    await clock.flush();
    controller.abort();
    const err = await rejection(call);
    assert.equal(err.code, LOCAL_CODES.aborted);
    assert.equal(err.retryable, false);
    assert.equal(clock.pendingTimers, 0);
  });
  await t.step("before sending", async () => {
    const { client, fake } = harness(() => krakenResult({}));
    const err = await rejection(
      client.callPrivate("Balance", {}, { signal: AbortSignal.abort() }),
    );
    assert.equal(err.code, LOCAL_CODES.aborted);
    assert.equal(fake.calls.length, 0);
  });
  await t.step("while waiting to retry", async () => {
    const { client, clock, fake } = harness(() =>
      krakenErrors("EService:Unavailable")
    );
    const controller = new AbortController();
    const call = client.callPrivate("Balance", {}, {
      signal: controller.signal,
    });
    // Wait until the retry delay (375 ms, not the 10 s timeout) is armed.
    await clock.until(() => clock.nextTimerAtMs() === clock.now() + 375);
    assert.equal(fake.calls.length, 1);
    assert.equal(clock.pendingTimers, 1);
    controller.abort();
    assert.equal((await rejection(call)).code, LOCAL_CODES.aborted);
    assert.equal(clock.pendingTimers, 0);
  });
  await t.step("while queued in the limiter", async () => {
    const { client, clock, limiter, fake } = harness(() => krakenResult({}));
    limiter.backoff("rest");
    const controller = new AbortController();
    const call = client.balance().catch((e) => e);
    const aborted = client.callPrivate("Balance", {}, {
      signal: controller.signal,
    });
    controller.abort();
    assert.equal((await rejection(aborted)).code, LOCAL_CODES.aborted);
    await clock.settle(call, { turns: TURNS });
    assert.equal(fake.calls.length, 1);
  });
});

Deno.test("reads are retried with capped exponential backoff and jitter", async (t) => {
  await t.step("service errors, then success", async () => {
    let n = 0;
    const { client, clock, fake } = harness(
      () => (++n < 3
        ? krakenErrors("EService:Unavailable")
        : krakenResult({ ZUSD: "1.0000" })),
    );
    const t0 = clock.now();
    const times: number[] = [];
    fake.setHandler((req) => {
      times.push(clock.now() - t0);
      void req;
      return ++n < 3
        ? krakenErrors("EService:Unavailable")
        : krakenResult({ ZUSD: "1.0000" });
    });
    n = 0;
    assert.deepEqual(await clock.settle(client.balance(), { turns: TURNS }), {
      ZUSD: "1.0000",
    });
    // random() = 0.5 → delay = d/2 + d/4 with d = 500, 1000.
    assert.deepEqual(times, [0, 375, 375 + 750]);
    for (const req of fake.calls) await verifySigned(req);
  });
  await t.step("the delay is capped", async () => {
    const times: number[] = [];
    const { client, clock } = harness(() => {
      times.push(clock.now());
      return textResponse("", 502);
    }, {
      retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 2000 },
      random: () => 1,
    });
    const err = await rejection(clock.settle(client.time(), { turns: TURNS }));
    assert.equal(err.httpStatus, 502);
    assert.deepEqual(times.map((x, i) => i === 0 ? 0 : x - times[i - 1]!), [
      0,
      1000,
      2000,
      2000,
      2000,
    ]);
  });
  await t.step("network failures are retried", async () => {
    let n = 0;
    const { client, clock, fake } = harness(() => (++n === 1
      ? Promise.reject(new TypeError("reset"))
      : krakenResult({ unixtime: 5, rfc1123: "x" }))
    );
    assert.equal(
      (await clock.settle(client.time(), { turns: TURNS })).unixtime,
      5,
    );
    assert.equal(fake.calls.length, 2);
  });
  await t.step("the last error is thrown when attempts run out", async () => {
    const { client, clock, fake } = harness(() =>
      krakenErrors("EGeneral:Internal error")
    );
    const err = await rejection(
      clock.settle(client.ledgers(), { turns: TURNS }),
    );
    assert.equal(err.code, "EGeneral:Internal error");
    assert.equal(fake.calls.length, 3);
  });
  for (
    const [name, respond] of [
      ["auth errors", () => krakenErrors("EAPI:Invalid key")],
      ["lockouts", () => krakenErrors("EGeneral:Temporary lockout")],
      ["bad requests", () => krakenErrors("EGeneral:Invalid arguments")],
      ["HTTP 403", () => textResponse("forbidden", 403)],
      ["odd envelopes", () => jsonResponse({ hello: 1 })],
    ] as const
  ) {
    await t.step(`${name} are not retried`, async () => {
      const { client, fake } = harness(respond);
      await rejection(client.balance());
      assert.equal(fake.calls.length, 1);
    });
  }
});

Deno.test("an invalid nonce on a read is re-signed once with a fresh nonce", async (t) => {
  await t.step("then succeeds", async () => {
    let n = 0;
    const { client, fake } = harness(() => (++n === 1
      ? krakenErrors("EAPI:Invalid nonce")
      : krakenResult({ ZUSD: "2" }))
    );
    assert.deepEqual(await client.balance(), { ZUSD: "2" });
    assert.equal(fake.calls.length, 2);
    const [a, b] = [
      await verifySigned(fake.calls[0]!),
      await verifySigned(fake.calls[1]!),
    ];
    assert.ok(BigInt(b) > BigInt(a));
    assert.notEqual(
      fake.calls[0]!.headers.get("API-Sign"),
      fake.calls[1]!.headers.get("API-Sign"),
    );
  });
  await t.step("only once", async () => {
    const { client, fake } = harness(() => krakenErrors("EAPI:Invalid nonce"));
    assert.equal((await rejection(client.balance())).kind, "nonce");
    assert.equal(fake.calls.length, 2);
  });
});

Deno.test("trading methods are never retried", async (t) => {
  for (
    const code of [
      "EService:Unavailable",
      "EAPI:Invalid nonce",
      "EService:Busy",
      "EGeneral:Internal error",
      "EOrder:Rate limit exceeded",
    ]
  ) {
    await t.step(code, async () => {
      const { client, fake } = harness(() => krakenErrors(code));
      const err = await rejection(
        client.callPrivate("AddOrder", { pair: "XBTUSD", type: "buy" }),
      );
      assert.equal(err.code, code);
      assert.equal(fake.calls.length, 1);
    });
  }
  await t.step("HTML 502 on CancelOrder", async () => {
    const { client, fake } = harness(() =>
      textResponse("<html>bad gateway</html>", 502)
    );
    await rejection(client.callPrivate("CancelOrder", { txid: "O" }));
    assert.equal(fake.calls.length, 1);
  });
  await t.step("network failure on AddOrderBatch", async () => {
    const { client, fake } = harness(() =>
      Promise.reject(new TypeError("reset"))
    );
    await rejection(
      client.callPrivate("AddOrderBatch", {
        pair: "XBTUSD",
        orders: [{ type: "buy" }],
      }),
    );
    assert.equal(fake.calls.length, 1);
  });
});

Deno.test("a rate-limit answer backs the limiter off", async (t) => {
  await t.step(
    "EAPI:Rate limit exceeded saturates the REST counter",
    async () => {
      const times: number[] = [];
      let n = 0;
      const { client, clock, limiter } = harness(() => {
        times.push(clock.now());
        return ++n === 1
          ? krakenErrors("EAPI:Rate limit exceeded")
          : krakenResult({});
      });
      await clock.settle(client.balance(), { turns: TURNS });
      assert.equal(times.length, 2);
      assert.equal(
        times[1]! - times[0]!,
        1000,
        "pro tier: one call's cost decays in 1 s",
      );
      assert.ok(limiter.snapshot("rest").level <= 20);
    },
  );
  await t.step("EService: Throttled waits until the given time", async () => {
    const times: number[] = [];
    let n = 0;
    const { client, clock } = harness(() => {
      times.push(clock.now());
      const at = Math.floor(clock.now() / 1000) + 30;
      return ++n === 1
        ? krakenErrors(`EService: Throttled: ${at}`)
        : krakenResult({});
    });
    await clock.settle(client.balance(), { turns: TURNS });
    assert.equal(times.length, 2);
    assert.ok(times[1]! >= Math.floor(times[0]! / 1000) * 1000 + 30_000);
  });
  await t.step(
    "EGeneral:Too many requests backs off the public counter",
    async () => {
      let n = 0;
      const { client, clock, limiter } = harness(
        () => (++n === 1
          ? krakenErrors("EGeneral:Too many requests")
          : krakenResult({ unixtime: 1, rfc1123: "x" })),
      );
      const call = client.time();
      await clock.until(() => limiter.snapshot("public").level > 50);
      assert.equal(
        limiter.snapshot("public").level,
        limiter.snapshot("public").max,
      );
      await clock.settle(call, { turns: TURNS });
    },
  );
  await t.step(
    "EOrder:Rate limit exceeded backs off that pair's trading counter",
    async () => {
      const { client, limiter } = harness(() =>
        krakenErrors("EOrder:Rate limit exceeded")
      );
      await rejection(client.callPrivate("AddOrder", { pair: "XBTUSD" }));
      assert.equal(limiter.snapshot("trading", "XBTUSD").level, 180);
      assert.equal(limiter.snapshot("trading", "ETHUSD").level, 0);
    },
  );
  await t.step(
    "a separate public limiter is used for public calls",
    async () => {
      const clock = new FakeClock(0);
      const publicLimiter = new RateLimiter({
        now: clock.now,
        setTimer: clock.setTimer,
      });
      const { client, limiter } = harness(
        () => krakenResult({ unixtime: 1, rfc1123: "x" }),
        { publicLimiter },
      );
      await client.time();
      assert.equal(publicLimiter.snapshot("public").level, 1);
      assert.equal(limiter.snapshot("public").level, 0);
    },
  );
});

Deno.test("calls charge the counters of REST.md §7", async () => {
  const { client, limiter } = harness(() =>
    krakenResult({ ledger: {}, trades: {}, count: 0 })
  );
  await client.balance();
  assert.equal(limiter.snapshot("rest").level, 1);
  await client.ledgers();
  await client.tradesHistory();
  assert.equal(limiter.snapshot("rest").level, 5);
  await client.callPrivate("AddOrder", { pair: "XBTUSD" });
  assert.equal(
    limiter.snapshot("rest").level,
    5,
    "AddOrder skips the REST counter",
  );
  assert.equal(limiter.snapshot("trading", "XBTUSD").level, 1);
  await client.callPrivate("CancelOrder", { txid: "O" });
  assert.equal(
    limiter.snapshot("trading", "*").level,
    8,
    "unknown age: worst case",
  );
  await client.callPrivate("CancelOrder", { txid: "O" }, {
    pair: "XBTUSD",
    tradingCost: 2,
  });
  assert.equal(limiter.snapshot("trading", "XBTUSD").level, 3);
  await client.callPrivate("CancelOrderBatch", {
    orders: ["A", "B"],
    cl_ord_ids: ["c"],
  }, { pair: "ETHUSD" });
  assert.equal(limiter.snapshot("trading", "ETHUSD").level, 24);
  await client.callPublic("Time");
  assert.equal(limiter.snapshot("public").level, 1);
});

Deno.test("warnings next to a result are returned, not thrown", async () => {
  const seen: Array<[string, readonly string[]]> = [];
  const { client } = harness(
    () => krakenResult({ count: 0 }, ["WDatabase:No change"]),
    {
      onWarning: (method, warnings) => seen.push([method, warnings]),
    },
  );
  const answer = await client.callPrivate("CancelAll");
  assert.deepEqual(answer, {
    result: { count: 0 },
    warnings: ["WDatabase:No change"],
  });
  assert.deepEqual(await client.balance(), { count: 0 });
  assert.deepEqual(seen, [["CancelAll", ["WDatabase:No change"]], ["Balance", [
    "WDatabase:No change",
  ]]]);
});

Deno.test("getWebSocketsToken() wraps the token in a Secret", async () => {
  const token = "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw";
  const { client } = harness(() => krakenResult({ token, expires: 900 }));
  const grant = await client.getWebSocketsToken();
  assert.equal(grant.token.reveal(), token);
  assert.equal(grant.expires, 900);
  assert.doesNotMatch(
    JSON.stringify(grant) + String(grant.token) + Deno.inspect(grant),
    new RegExp(token),
  );
  const { client: broken } = harness(() => krakenResult({ expires: 900 }));
  assert.equal(
    (await rejection(broken.getWebSocketsToken())).code,
    LOCAL_CODES.unexpectedResult,
  );
  const { client: noExpiry } = harness(() => krakenResult({ token }));
  assert.equal((await noExpiry.getWebSocketsToken()).expires, 900);
});

Deno.test("no key, secret, nonce, signature or token appears in errors or the client", async () => {
  const token = "WsTokenThatMustNotLeak0123456789";
  const failures: Array<[string, FetchHandler, Partial<RestClientOptions>]> = [
    ["auth error", () => krakenErrors("EAPI:Invalid key"), {}],
    ["signature error", () => krakenErrors("EAPI:Invalid signature"), {}],
    ["nonce error", () => krakenErrors("EAPI:Invalid nonce"), {}],
    [
      "fetch failure",
      () => Promise.reject(new TypeError("connection refused")),
      { retry: { maxAttempts: 1 } },
    ],
    ["html page", () => textResponse("<html>oops</html>", 520), {
      retry: { maxAttempts: 1 },
    }],
    [
      "truncated token answer",
      () =>
        textResponse(
          `{"error":[],"result":{"token":"${token}`,
          200,
          "application/json",
        ),
      { retry: { maxAttempts: 1 } },
    ],
  ];
  const leaks: string[] = [];
  for (const [name, handler, options] of failures) {
    const { client, fake } = harness(handler, options);
    const err = await rejection(client.getWebSocketsToken());
    const sent = fake.calls.flatMap((req) => [
      req.headers.get("API-Sign") ?? "",
      new URLSearchParams(req.body).get("nonce") ?? "",
    ]);
    const views = [
      err.message,
      String(err),
      String(err.stack),
      JSON.stringify(err),
      Deno.inspect(err, { depth: 10 }),
      Deno.inspect(client, { depth: 10 }),
      JSON.stringify(client),
      String(client),
    ].join("\n");
    for (const needle of [SECRET, KEY, token, ...sent]) {
      if (needle && views.includes(needle)) {
        leaks.push(`${name}: ${needle.slice(0, 6)}…`);
      }
    }
  }
  assert.deepEqual(leaks, []);
});

Deno.test("RestClient validates its options and closes what it owns", async (t) => {
  await t.step("bad options", () => {
    assert.throws(() => new RestClient({ timeoutMs: 0 }), RangeError);
    assert.throws(
      () => new RestClient({ retry: { maxAttempts: 0 } }),
      RangeError,
    );
  });
  await t.step("close() closes an owned limiter only", async () => {
    const clock = new FakeClock(0);
    const fake = new FakeFetch(() =>
      krakenResult({ unixtime: 1, rfc1123: "x" })
    );
    const owned = new RestClient({
      baseUrl: `${BASE}/`,
      fetch: fake.fetch,
      now: clock.now,
      setTimer: clock.setTimer,
    });
    await owned.time();
    assert.equal(new URL(fake.calls[0]!.url).pathname, "/0/public/Time");
    owned.close();
    await assert.rejects(owned.time());
    const shared = new RateLimiter({
      now: clock.now,
      setTimer: clock.setTimer,
    });
    {
      using borrower = new RestClient({
        fetch: fake.fetch,
        limiter: shared,
        setTimer: clock.setTimer,
      });
      await borrower.time();
    }
    await shared.schedule({ counter: "public", cost: 1 });
    shared.close();
  });
});

Deno.test("a Kraken lockout pauses private calls without sending them", async (t) => {
  await t.step(
    "EGeneral:Temporary lockout pauses at once, for lockoutMs",
    async () => {
      const { client, fake, clock } = harness(
        () => krakenErrors("EGeneral:Temporary lockout"),
        {
          lockoutMs: 60_000,
        },
      );
      const first = await rejection(
        clock.settle(client.balance(), { turns: TURNS }),
      );
      assert.equal(first.code, "EGeneral:Temporary lockout");
      assert.equal(fake.calls.length, 1);
      const paused = await rejection(
        clock.settle(client.balance(), { turns: TURNS }),
      );
      assert.equal(paused.code, LOCAL_CODES.lockedOut);
      assert.equal(paused.kind, "auth");
      assert.equal(paused.retryable, false);
      assert.match(paused.message, /paused until .* extends Kraken's lockout/);
      assert.equal(fake.calls.length, 1, "the paused call was not sent");
      clock.advance(60_001);
      fake.setHandler(() => krakenResult({ ZUSD: "1.0000" }));
      assert.deepEqual(await clock.settle(client.balance(), { turns: TURNS }), {
        ZUSD: "1.0000",
      });
    },
  );
  await t.step(
    "repeated authentication failures pause after the configured count; a success resets it",
    async () => {
      const { client, fake, clock } = harness(
        () => krakenErrors("EAPI:Invalid signature"),
        {
          lockoutAfterAuthFailures: 3,
        },
      );
      for (let i = 0; i < 2; i++) {
        await rejection(clock.settle(client.balance(), { turns: TURNS }));
      }
      fake.setHandler(() => krakenResult({}));
      await clock.settle(client.balance(), { turns: TURNS });
      fake.setHandler(() => krakenErrors("EAPI:Invalid key"));
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await rejection(clock.settle(client.balance(), { turns: TURNS })))
            .code,
          "EAPI:Invalid key",
        );
      }
      const sent = fake.calls.length;
      assert.equal(
        (await rejection(clock.settle(client.balance(), { turns: TURNS })))
          .code,
        LOCAL_CODES.lockedOut,
      );
      assert.equal(fake.calls.length, sent);
      // Public calls are not affected.
      fake.setHandler(() => krakenResult({ unixtime: 1, rfc1123: "x" }));
      assert.deepEqual(await clock.settle(client.time(), { turns: TURNS }), {
        unixtime: 1,
        rfc1123: "x",
      });
    },
  );
});

Deno.test("an otp source adds the one-time password to every signed private body", async (t) => {
  let n = 0;
  await t.step("form body", async () => {
    const { client, fake, clock } = harness(() => krakenResult({}), {
      otp: () => String(123456 + n++),
    });
    await clock.settle(client.balance(), { turns: TURNS });
    await clock.settle(client.callPrivate("TradeBalance"), { turns: TURNS });
    const bodies = fake.calls.map((c) => new URLSearchParams(c.body));
    assert.deepEqual(bodies.map((b) => b.get("otp")), ["123456", "123457"]);
    assert.deepEqual([...bodies[0]!.keys()].slice(0, 2), ["nonce", "otp"]);
    for (const call of fake.calls) await verifySigned(call);
  });
  await t.step("JSON body, otp given as a Secret", async () => {
    const { client, fake, clock } = harness(() => krakenResult({ count: 0 }), {
      otp: () => Promise.resolve(new Secret("static-2fa-pass")),
    });
    await clock.settle(
      client.callPrivate("CancelOrderBatch", {
        orders: ["OABCDE-FGHIJ-KLMNOP"],
      }),
      { turns: TURNS },
    );
    assert.equal(JSON.parse(fake.calls[0]!.body).otp, "static-2fa-pass");
    await verifySigned(fake.calls[0]!);
  });
  await t.step("public calls carry no otp", async () => {
    const { client, fake, clock } = harness(
      () => krakenResult({ unixtime: 1, rfc1123: "x" }),
      {
        otp: () => assert.fail("not for public calls"),
      },
    );
    await clock.settle(client.time(), { turns: TURNS });
    assert.ok(!fake.calls[0]!.url.includes("otp"));
  });
});
