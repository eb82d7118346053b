import assert from "node:assert/strict";
import { startSimulator } from "../../../server/sim/server.ts";
import {
  assertDecimal,
  type Envelope,
  NOW_MS,
  publicCall,
  units,
} from "../_client.ts";

const SEED = 11;

async function simulator() {
  return await startSimulator({ seed: SEED, now: () => NOW_MS });
}

Deno.test("Time and SystemStatus answer Kraken's formats", async () => {
  await using sim = await simulator();
  const time = await publicCall(sim.url, "Time");
  assert.deepEqual(time.error, []);
  assert.equal(time.result.unixtime, Math.floor(NOW_MS / 1000));
  assert.equal(time.result.rfc1123, "Sun, 15 Jun 25 12:34:56 +0000");
  const status = await publicCall(sim.url, "SystemStatus");
  assert.deepEqual(status.result, {
    status: "online",
    timestamp: "2025-06-15T12:34:56Z",
    upcoming_maintenance: [],
    emergency: [],
  });
});

Deno.test("unknown public methods and pairs answer Kraken's error strings", async (t) => {
  await using sim = await simulator();
  await t.step("unknown method", async () => {
    assert.deepEqual(await publicCall(sim.url, "Tickers"), {
      error: ["EGeneral:Unknown method"],
    });
  });
  await t.step("unknown pair", async () => {
    for (
      const method of [
        "Ticker",
        "Depth",
        "Trades",
        "OHLC",
        "Spread",
        "AssetPairs",
      ]
    ) {
      const answer = await publicCall(sim.url, method, { pair: "NOPEUSD" });
      assert.deepEqual(
        answer,
        { error: ["EQuery:Unknown asset pair"] },
        method,
      );
    }
  });
  await t.step("missing pair", async () => {
    assert.deepEqual(await publicCall(sim.url, "Depth"), {
      error: ["EGeneral:Invalid arguments"],
    });
  });
  await t.step("unknown asset", async () => {
    assert.deepEqual(await publicCall(sim.url, "Assets", { asset: "NOPE" }), {
      error: ["EQuery:Unknown asset"],
    });
  });
  await t.step("a POST form body works for public methods too", async () => {
    const response = await fetch(`${sim.url}/0/public/Depth`, {
      method: "POST",
      body: "pair=XBTUSD&count=2",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const answer = await response.json();
    assert.equal(answer.result.XXBTZUSD.asks.length, 2);
  });
});

Deno.test("Assets lists X/Z keys, altnames and decimals as Kraken does", async () => {
  await using sim = await simulator();
  const all = (await publicCall(sim.url, "Assets")).result;
  assert.deepEqual(all.XXBT, {
    aclass: "currency",
    altname: "XBT",
    decimals: 10,
    display_decimals: 5,
    collateral_value: 1,
    status: "enabled",
  });
  assert.equal(all.XXDG.altname, "XDG");
  assert.equal(all.ZUSD.decimals, 4);
  assert.equal(all.XTZ.altname, "XTZ");
  assert.ok(all["USD.HOLD"]);
  assert.ok(all.KFEE);
  const some =
    (await publicCall(sim.url, "Assets", { asset: "XBT,ZUSD,DOGE" })).result;
  assert.deepEqual(Object.keys(some), ["XXBT", "ZUSD", "XXDG"]);
  assert.deepEqual(
    (await publicCall(sim.url, "Assets", { aclass: "tokenized_asset" })).result,
    {},
  );
});

Deno.test("AssetPairs accepts keys, altnames, wsnames and v2 symbols and keys results by pair key", async (t) => {
  await using sim = await simulator();
  const all = (await publicCall(sim.url, "AssetPairs")).result;
  await t.step("the official XBTUSD shape", () => {
    const p = all.XXBTZUSD;
    assert.equal(p.altname, "XBTUSD");
    assert.equal(p.wsname, "XBT/USD");
    assert.equal(p.base, "XXBT");
    assert.equal(p.quote, "ZUSD");
    assert.equal(p.pair_decimals, 1);
    assert.equal(p.cost_decimals, 5);
    assert.equal(p.lot_decimals, 8);
    assert.equal(p.ordermin, "0.0001");
    assert.equal(p.costmin, "0.5");
    assert.equal(p.tick_size, "0.1");
    assert.deepEqual(p.leverage_buy, [2, 3, 4, 5]);
    assert.deepEqual(p.fees[0], [0, 0.26]);
    assert.deepEqual(p.fees_maker.at(-1), [10000000, 0]);
    assert.equal(p.margin_call, 80);
    assert.equal(p.status, "online");
  });
  await t.step("a realistic universe", () => {
    const pairs = Object.values(all) as Array<Record<string, unknown>>;
    assert.ok(pairs.filter((p) => p.quote === "ZUSD").length >= 30);
    assert.equal(all.XTZUSD.base, "XTZ");
    assert.equal(all.ZRXUSD.base, "ZRX");
    assert.equal(all.XXDGZUSD.wsname, "XDG/USD");
    assert.equal(all.XETHXXBT.quote, "XXBT");
    assert.equal(all.XXBTZEUR.quote, "ZEUR");
    assert.equal(all.ADAETH.quote, "XETH");
    const statuses = new Set(pairs.map((p) => p.status));
    for (
      const s of [
        "online",
        "cancel_only",
        "post_only",
        "limit_only",
        "reduce_only",
        undefined,
      ]
    ) {
      assert.ok(statuses.has(s), `a pair with status ${s}`);
    }
    assert.ok(pairs.some((p) => (p.leverage_buy as number[]).length === 0));
  });
  await t.step("any spelling resolves", async () => {
    const some = (await publicCall(sim.url, "AssetPairs", {
      pair: "XBT/USD,ETHXBT,SOL/USD,XXDGZUSD,DOGE/USD",
    }))
      .result;
    assert.deepEqual(Object.keys(some), [
      "XXBTZUSD",
      "XETHXXBT",
      "SOLUSD",
      "XXDGZUSD",
    ]);
  });
  await t.step("info subsets", async () => {
    const lev = (await publicCall(sim.url, "AssetPairs", {
      pair: "XBTUSD",
      info: "leverage",
    })).result;
    assert.deepEqual(Object.keys(lev.XXBTZUSD), [
      "leverage_buy",
      "leverage_sell",
    ]);
    const fees = (await publicCall(sim.url, "AssetPairs", {
      pair: "XBTUSD",
      info: "fees",
    })).result;
    assert.deepEqual(Object.keys(fees.XXBTZUSD), [
      "fees",
      "fees_maker",
      "fee_volume_currency",
    ]);
    const margin = (await publicCall(sim.url, "AssetPairs", {
      pair: "XBTUSD",
      info: "margin",
    })).result;
    assert.deepEqual(margin.XXBTZUSD, { margin_call: 80, margin_stop: 40 });
    assert.deepEqual(
      await publicCall(sim.url, "AssetPairs", { info: "everything" }),
      {
        error: ["EGeneral:Invalid arguments"],
      },
    );
  });
});

Deno.test("Ticker has Kraken's field types and agrees with Depth and Trades", async () => {
  await using sim = await simulator();
  const all = (await publicCall(sim.url, "Ticker")).result;
  assert.equal(Object.keys(all).length, sim.market.pairs.length);
  const ticker =
    (await publicCall(sim.url, "Ticker", { pair: "XBTUSD,ETHXBT" })).result;
  assert.deepEqual(Object.keys(ticker), ["XXBTZUSD", "XETHXXBT"]);
  const x = ticker.XXBTZUSD;
  for (const side of [x.a, x.b]) {
    assertDecimal(side[0], 5, "price");
    assert.match(side[1], /^\d+$/);
    assertDecimal(side[2], 3, "lot volume");
  }
  assertDecimal(x.c[0], 5);
  assertDecimal(x.c[1], 8);
  for (const i of [0, 1]) {
    assertDecimal(x.v[i], 8, "volume");
    assertDecimal(x.p[i], 5, "vwap");
    assertDecimal(x.l[i], 5, "low");
    assertDecimal(x.h[i], 5, "high");
    assert.ok(Number.isInteger(x.t[i]));
  }
  assert.ok(x.t[0] <= x.t[1]);
  assertDecimal(x.o, 5);
  const depth =
    (await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "1" })).result
      .XXBTZUSD;
  assert.equal(x.a[0], depth.asks[0][0]);
  assert.equal(x.b[0], depth.bids[0][0]);
  const trades =
    (await publicCall(sim.url, "Trades", { pair: "XBTUSD", count: "1" })).result
      .XXBTZUSD;
  assert.equal(x.c[0], trades[0][0]);
  assert.equal(x.c[1], trades[0][1]);
  // The last trade sits on one side of the book.
  assert.ok(x.c[0] === x.a[0] || x.c[0] === x.b[0]);
});

Deno.test("Depth returns an ordered L2 book with count 1–500", async (t) => {
  await using sim = await simulator();
  await t.step("shape and order", async () => {
    const book =
      (await publicCall(sim.url, "Depth", { pair: "ETHUSD" })).result.XETHZUSD;
    assert.equal(book.asks.length, 100);
    assert.equal(book.bids.length, 100);
    for (const [price, volume, time] of [...book.asks, ...book.bids]) {
      assertDecimal(price, 5, "price");
      assertDecimal(volume, 3, "lot volume (Kraken's depth.yaml)");
      assert.ok(Number.isInteger(time) && time <= NOW_MS / 1000);
    }
    const asks = book.asks.map((l: string[]) => Number(l[0]));
    const bids = book.bids.map((l: string[]) => Number(l[0]));
    assert.ok(asks.every((p: number, i: number) => i === 0 || p > asks[i - 1]));
    assert.ok(bids.every((p: number, i: number) => i === 0 || p < bids[i - 1]));
    assert.ok(bids[0] < asks[0]);
  });
  await t.step("count bounds", async () => {
    const one =
      (await publicCall(sim.url, "Depth", { pair: "XDGUSD", count: "1" }))
        .result.XXDGZUSD;
    assert.equal(one.asks.length, 1);
    assertDecimal(one.asks[0][0], 7);
    const max =
      (await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "500" }))
        .result.XXBTZUSD;
    assert.equal(max.asks.length, 500);
    const over =
      (await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "900" }))
        .result.XXBTZUSD;
    assert.equal(over.bids.length, 500);
    assert.deepEqual(
      await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "0" }),
      {
        error: ["EGeneral:Invalid arguments"],
      },
    );
    assert.deepEqual(
      await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "ten" }),
      {
        error: ["EGeneral:Invalid arguments"],
      },
    );
  });
});

Deno.test("Spread lists recent top-of-book changes ending at the current book", async () => {
  await using sim = await simulator();
  const answer =
    (await publicCall(sim.url, "Spread", { pair: "XBTUSD" })).result;
  const rows = answer.XXBTZUSD as Array<[number, string, string]>;
  assert.ok(rows.length > 10 && rows.length <= 200);
  for (const [time, bid, ask] of rows) {
    assert.ok(Number.isInteger(time));
    assertDecimal(bid, 5);
    assertDecimal(ask, 5);
    assert.ok(Number(bid) < Number(ask));
  }
  assert.ok(rows.every((r, i) => i === 0 || r[0] >= rows[i - 1]![0]));
  assert.equal(answer.last, rows.at(-1)![0]);
  const depth =
    (await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "1" })).result
      .XXBTZUSD;
  assert.deepEqual([rows.at(-1)![1], rows.at(-1)![2]], [
    depth.bids[0][0],
    depth.asks[0][0],
  ]);
  const since = rows.at(-5)![0];
  const later = (await publicCall(sim.url, "Spread", {
    pair: "XBTUSD",
    since: String(since),
  })).result.XXBTZUSD;
  assert.ok(later.every((r: [number]) => r[0] > since));
});

Deno.test("OHLC caps at 720 rows, includes the forming candle and honours since", async (t) => {
  await using sim = await simulator();
  const forming = Math.floor(NOW_MS / 60_000) * 60;
  await t.step("720 rows ending with the forming candle", async () => {
    const answer =
      (await publicCall(sim.url, "OHLC", { pair: "XBTUSD" })).result;
    const rows = answer.XXBTZUSD;
    assert.equal(rows.length, 720);
    assert.equal(rows.at(-1)[0], forming);
    assert.equal(rows[0][0], forming - 719 * 60);
    assert.equal(answer.last, forming - 60);
    for (const row of rows) {
      assert.equal(row.length, 8);
      assert.ok(Number.isInteger(row[0]) && Number.isInteger(row[7]));
      for (const i of [1, 2, 3, 4, 5]) assertDecimal(row[i], 1, "price");
      assertDecimal(row[6], 8, "volume");
      assert.ok(Number(row[2]) >= Number(row[3]));
    }
  });
  await t.step(
    "since filters committed rows but keeps the forming one",
    async () => {
      const rows = (await publicCall(sim.url, "OHLC", {
        pair: "XBTUSD",
        since: String(forming - 600),
      })).result
        .XXBTZUSD;
      assert.deepEqual(
        rows.map((r: number[]) => r[0]),
        Array.from({ length: 10 }, (_, i) => forming - 540 + i * 60),
      );
      const onlyForming = (await publicCall(sim.url, "OHLC", {
        pair: "XBTUSD",
        since: String(forming + 999),
      })).result
        .XXBTZUSD;
      assert.deepEqual(onlyForming.map((r: number[]) => r[0]), [forming]);
    },
  );
  await t.step("every interval, and invalid ones", async () => {
    for (const interval of [5, 15, 30, 60, 240, 1440, 10080, 21600]) {
      const answer = (await publicCall(sim.url, "OHLC", {
        pair: "ETHUSD",
        interval: String(interval),
      })).result;
      const rows = answer.XETHZUSD;
      const span = interval * 60;
      const start = Math.floor(NOW_MS / 1000 / span) * span;
      assert.equal(rows.at(-1)[0], start, `interval ${interval}`);
      assert.equal(answer.last, start - span);
      assert.ok(rows.length >= 1 && rows.length <= 720);
      assertDecimal(rows[0][1], 2);
    }
    for (const interval of ["2", "0", "abc", "1441"]) {
      assert.deepEqual(
        await publicCall(sim.url, "OHLC", { pair: "XBTUSD", interval }),
        {
          error: ["EGeneral:Invalid arguments"],
        },
        interval,
      );
    }
  });
});

// ---------------------------------------------------------------------------
// Trades ↔ OHLC

interface Bar {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  vwap: string;
  volume: string;
  count: number;
}

/** Build candles from Trades rows exactly as Kraken describes them. */
function aggregate(
  rows: Array<[string, string, number, string, string, string, number]>,
  intervalMin: number,
  pairDecimals: number,
  lotDecimals: number,
): Map<number, Bar> {
  const span = intervalMin * 60;
  const groups = new Map<number, Array<[bigint, bigint]>>();
  for (const [price, volume, time] of rows) {
    const start = Math.floor(time / span) * span;
    const list = groups.get(start) ?? [];
    list.push([units(price, pairDecimals), units(volume, lotDecimals)]);
    groups.set(start, list);
  }
  const fmt = (u: bigint, d: number) => {
    const s = u.toString().padStart(d + 1, "0");
    return d === 0 ? s : `${s.slice(0, -d)}.${s.slice(-d)}`;
  };
  const out = new Map<number, Bar>();
  for (const [start, list] of groups) {
    const prices = list.map(([p]) => p);
    const volume = list.reduce((sum, [, v]) => sum + v, 0n);
    const pv = list.reduce((sum, [p, v]) => sum + p * v, 0n);
    const vwap = (pv + volume / 2n) / volume; // round half up
    out.set(start, {
      time: start,
      open: fmt(prices[0]!, pairDecimals),
      high: fmt(prices.reduce((a, b) => (b > a ? b : a)), pairDecimals),
      low: fmt(prices.reduce((a, b) => (b < a ? b : a)), pairDecimals),
      close: fmt(prices.at(-1)!, pairDecimals),
      vwap: fmt(vwap, pairDecimals),
      volume: fmt(volume, lotDecimals),
      count: list.length,
    });
  }
  return out;
}

async function backfill(
  url: string,
  pair: string,
  sinceSec: number,
): Promise<
  {
    rows: Array<[string, string, number, string, string, string, number]>;
    pages: number;
  }
> {
  const rows: Array<[string, string, number, string, string, string, number]> =
    [];
  let since = String(sinceSec);
  let pages = 0;
  for (;;) {
    const answer: Envelope = await publicCall(url, "Trades", { pair, since });
    assert.deepEqual(answer.error, []);
    const key = Object.keys(answer.result).find((k) => k !== "last")!;
    const page = answer.result[key];
    pages++;
    assert.match(answer.result.last, /^\d{19}$/);
    if (page.length === 0) break;
    assert.ok(
      BigInt(answer.result.last) > BigInt(since.length === 19 ? since : "0"),
    );
    rows.push(...page);
    since = answer.result.last;
    if (page.length < 1000) break;
  }
  return { rows, pages };
}

function assertCandlesEqual(
  restRows: unknown[][],
  built: Map<number, Bar>,
  fromSec: number,
  label: string,
) {
  let compared = 0;
  for (const row of restRows) {
    const [time, open, high, low, close, vwap, volume, count] = row as [
      number,
      string,
      string,
      string,
      string,
      string,
      string,
      number,
    ];
    if (time < fromSec) continue;
    const bar = built.get(time);
    if (count === 0) {
      assert.equal(bar, undefined, `${label}: no trades at ${time}`);
      assert.ok(/^0\.?0*$/.test(volume));
      continue;
    }
    assert.deepEqual(
      { time, open, high, low, close, vwap, volume, count },
      bar,
      `${label} candle ${time}`,
    );
    compared++;
  }
  for (const time of built.keys()) {
    assert.ok(
      restRows.some((r) => r[0] === time) ||
        time < (restRows[0]?.[0] as number),
      `${label}: ${time}`,
    );
  }
  return compared;
}

Deno.test("candles rebuilt from Trades equal REST OHLC rows exactly", async (t) => {
  await using sim = await simulator();
  await t.step(
    "two days of LTCUSD trades vs 1, 5 and 60 minute OHLC",
    async () => {
      const sinceSec = Math.floor(NOW_MS / 1000) - 2 * 86_400;
      const { rows, pages } = await backfill(sim.url, "LTCUSD", sinceSec);
      assert.ok(pages >= 2, "needs several pages");
      const ids = rows.map((r) => r[6]);
      assert.ok(
        ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1),
        "trade ids are contiguous",
      );
      assert.ok(
        rows.every((r, i) => i === 0 || r[2] > rows[i - 1]![2]),
        "times increase",
      );
      for (const interval of [1, 5, 60]) {
        const built = aggregate(rows, interval, 2, 8);
        const rest = (await publicCall(sim.url, "OHLC", {
          pair: "LTCUSD",
          interval: String(interval),
        })).result
          .XLTCZUSD;
        const firstFull = Math.ceil(sinceSec / (interval * 60)) * interval * 60;
        const compared = assertCandlesEqual(
          rest,
          built,
          firstFull,
          `LTCUSD ${interval}m`,
        );
        assert.ok(compared > 10, `compared ${compared} candles`);
      }
    },
  );
  await t.step(
    "thirty days of a quiet pair reach back to 720 hourly candles",
    async () => {
      const sinceSec = Math.floor(NOW_MS / 1000) - 30 * 86_400 - 3600;
      const { rows } = await backfill(sim.url, "REPUSD", sinceSec);
      assert.ok(
        rows[0]![2] < sinceSec + 86_400,
        "history reaches back 30 days",
      );
      const built = aggregate(rows, 60, 3, 8);
      const rest =
        (await publicCall(sim.url, "OHLC", { pair: "REPUSD", interval: "60" }))
          .result.XREPZUSD;
      assert.equal(rest.length, 720);
      const compared = assertCandlesEqual(
        rest,
        built,
        rest[0][0],
        "REPUSD 60m",
      );
      assert.ok(compared > 100);
      const daily = (await publicCall(sim.url, "OHLC", {
        pair: "REPUSD",
        interval: "1440",
      })).result.XREPZUSD;
      const builtDaily = aggregate(rows, 1440, 3, 8);
      const firstFullDay = Math.ceil(sinceSec / 86_400) * 86_400;
      assert.ok(
        assertCandlesEqual(daily, builtDaily, firstFullDay, "REPUSD 1d") >= 29,
      );
    },
  );
});

Deno.test("Trades pages forward with the 19-digit last cursor and count", async (t) => {
  await using sim = await simulator();
  await t.step("row types", async () => {
    const answer =
      (await publicCall(sim.url, "Trades", { pair: "XBTUSD", count: "5" }))
        .result;
    const rows = answer.XXBTZUSD;
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.equal(row.length, 7);
      assertDecimal(row[0], 5);
      assertDecimal(row[1], 8);
      assert.equal(typeof row[2], "number");
      assert.ok(row[3] === "b" || row[3] === "s");
      assert.ok(row[4] === "m" || row[4] === "l");
      assert.equal(row[5], "");
      assert.ok(Number.isInteger(row[6]));
    }
    assert.equal(typeof answer.last, "string");
    assert.match(answer.last, /^\d{19}$/);
    assert.ok(rows.at(-1)[2] <= NOW_MS / 1000);
    // The cursor is the last trade's time in nanoseconds.
    const lastUs = Number(BigInt(answer.last) / 1000n);
    assert.ok(Math.abs(lastUs - rows.at(-1)[2] * 1e6) <= 1);
  });
  await t.step("paging a day of XBTUSD has no gaps or duplicates", async () => {
    const sinceSec = Math.floor(NOW_MS / 1000) - 86_400;
    const { rows, pages } = await backfill(sim.url, "XBTUSD", sinceSec);
    assert.ok(pages >= 2);
    const ids = rows.map((r) => r[6]);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1));
    const ticker =
      (await publicCall(sim.url, "Ticker", { pair: "XBTUSD" })).result.XXBTZUSD;
    assert.equal(
      ticker.t[1],
      rows.filter((r) => r[2] > NOW_MS / 1000 - 86_400).length,
    );
  });
  await t.step(
    "count is capped at 1000 and a cursor past now returns nothing",
    async () => {
      const big =
        (await publicCall(sim.url, "Trades", { pair: "XBTUSD", count: "5000" }))
          .result;
      assert.equal(big.XXBTZUSD.length, 1000);
      const future = `${NOW_MS + 60_000}000000`;
      const none =
        (await publicCall(sim.url, "Trades", { pair: "XBTUSD", since: future }))
          .result;
      assert.deepEqual(none.XXBTZUSD, []);
      assert.equal(none.last, future);
    },
  );
});

Deno.test("the same seed and clock give identical answers; another seed differs", async () => {
  await using a = await startSimulator({ seed: SEED, now: () => NOW_MS });
  await using b = await startSimulator({ seed: SEED, now: () => NOW_MS });
  await using c = await startSimulator({ seed: SEED + 1, now: () => NOW_MS });
  const calls: Array<[string, Record<string, string>]> = [
    ["Ticker", { pair: "XBTUSD,XDGUSD,ETHXBT" }],
    ["Depth", { pair: "SOLUSD", count: "50" }],
    ["Trades", { pair: "ETHUSD", count: "200" }],
    ["OHLC", { pair: "ADAUSD", interval: "15" }],
    ["Spread", { pair: "XBTEUR" }],
  ];
  for (const [method, params] of calls) {
    const x = await publicCall(a.url, method, params);
    const y = await publicCall(b.url, method, params);
    const z = await publicCall(c.url, method, params);
    assert.deepEqual(x, y, method);
    assert.notDeepEqual(x, z, method);
  }
});
