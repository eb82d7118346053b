import assert from "node:assert/strict";
import { join } from "node:path";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { type BulkFrame, RecordStore } from "../../../server/record/store.ts";
import { validateStore } from "../../../server/record/validate.ts";
import { canonicalDecimal } from "../../../core/decimal.ts";
import { GOLD_TIMEFRAMES, goldFromTrades } from "../../../core/record/gold.ts";
import { prng } from "../../fakes/prng.ts";
import {
  GEN_SYMBOLS,
  generateTrades,
  genSymbolInfos,
  type GenTrade,
  tradeFrameText,
} from "./_trades.ts";

/** Generated frames of `size` trades each, received 500 µs after their first trade. */
function frames(seed: number, perSymbol: number, size = 7): BulkFrame[] {
  const trades = generateTrades(seed, perSymbol);
  const out: BulkFrame[] = [];
  for (let i = 0; i < trades.length; i += size) {
    out.push({
      text: tradeFrameText(trades.slice(i, i + size)),
      receivedUs: trades[i]!.tsUs + 500,
    });
  }
  return out;
}

/** The core path: TradeRecorder then write(), one batch. */
async function writeThroughCore(
  store: RecordStore,
  list: readonly BulkFrame[],
  nowUs: number,
): Promise<void> {
  const recorder = new TradeRecorder();
  const batch = { bronze: [], silver: [], gaps: [], rejected: [] } as {
    bronze: ReturnType<TradeRecorder["onFrame"]>["bronze"];
    silver: ReturnType<TradeRecorder["onFrame"]>["silver"];
  };
  for (const f of list) {
    const b = recorder.onFrame(f.text, 1, f.receivedUs);
    batch.bronze.push(...b.bronze);
    batch.silver.push(...b.silver);
  }
  await store.write(batch, nowUs, { silverUs: 0 });
}

/** Every layer's rows as sorted text (silver time left out: it is the write's clock). */
async function dump(store: RecordStore): Promise<Record<string, string[]>> {
  const rows = async (sql: string) =>
    (await store.query(sql)).map((r) =>
      JSON.stringify(r, (_k, v) => typeof v === "bigint" ? String(v) : v)
    ).sort();
  return {
    bronze: await rows(
      `SELECT * EXCLUDE (received_at), epoch_us(received_at) AS r FROM bronze_trades_kraken`,
    ),
    frames: await rows(
      `SELECT frame_id::VARCHAR AS f, epoch_us(received_at) AS r, connection_id, source, raw FROM bronze_frames_kraken`,
    ),
    silver: await rows(
      `SELECT * EXCLUDE (silver_at, ts, received_at, price, qty, original),
         epoch_us(ts) AS ts, epoch_us(received_at) AS r,
         price::VARCHAR AS price, qty::VARCHAR AS qty,
         CAST(original AS VARCHAR) AS original FROM silver_trades`,
    ),
    gold: await rows(
      `SELECT * EXCLUDE (built_at, bucket, open, high, low, close, volume, vwap),
         epoch_us(bucket) AS b, open::VARCHAR AS o, high::VARCHAR AS h,
         low::VARCHAR AS l, close::VARCHAR AS c, volume::VARCHAR AS v,
         vwap::VARCHAR AS w FROM ohlcv_1m`,
    ),
  };
}

async function withStores(
  fn: (a: RecordStore, b: RecordStore, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "krakked_bulk_test_" });
  try {
    await using a = await RecordStore.open(join(dir, "a.duckdb"));
    await using b = await RecordStore.open(join(dir, "b.duckdb"));
    await fn(a, b, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeFrames stores exactly what the core path stores, and validate passes", async () => {
  await withStores(async (bulk, core) => {
    // Repeated frames inside the batch: the earliest copy wins on both paths.
    const list = frames(3, 400);
    const replayed = [
      ...list,
      ...list.slice(10, 20).map((f) => ({
        ...f,
        receivedUs: f.receivedUs + 1_000,
      })),
    ];
    const nowUs = Math.max(...list.map((f) => f.receivedUs)) + 86_400e6;
    const result = await bulk.writeFrames(replayed, nowUs, { silverUs: 0 });
    assert.deepEqual(result.fallback, []);
    assert.equal(result.silverInserted, 1600);
    assert.equal(result.bronzeInserted, 1600);
    assert.ok(result.goldBuilt > 0);
    await writeThroughCore(core, replayed, nowUs);
    assert.deepEqual(await dump(bulk), await dump(core));
    // The original fields are the map a MAP literal of them makes.
    const [maps] = await bulk.query(
      `SELECT count(*)::INTEGER AS n FROM silver_trades WHERE original IS DISTINCT FROM
         MAP {'symbol': original['symbol'], 'side': original['side'],
              'price': original['price'], 'qty': original['qty'],
              'ord_type': original['ord_type'], 'trade_id': original['trade_id'],
              'timestamp': original['timestamp']}`,
    );
    assert.equal(maps!.n, 0);
    const checks = await validateStore(bulk, { now: () => nowUs / 1000 });
    for (
      const name of [
        "bronze_native",
        "silver_normalized",
        "gold_recomputed",
        "no_duplicates",
        "no_gaps",
        "positive_values",
      ]
    ) {
      const c = checks.find((x) => x.name === name);
      assert.ok(c?.ok, `${name}: ${c?.summary}`);
    }
  });
});

Deno.test("writeFrames is idempotent across replays, overlaps and the live path", async () => {
  await withStores(async (store) => {
    const list = frames(4, 300);
    const nowUs = Math.max(...list.map((f) => f.receivedUs)) + 86_400e6;
    const half = Math.floor(list.length / 2);
    // Live writes first (core path), then a replay that overlaps them.
    await writeThroughCore(store, list.slice(0, half + 5), nowUs);
    const r1 = await store.writeFrames(list.slice(half - 5), nowUs);
    const expected = list.slice(half + 5).reduce(
      (n, f) => n + f.text.split('"trade_id"').length - 1,
      0,
    );
    assert.equal(r1.silverInserted, expected);
    assert.equal(r1.bronzeInserted, expected);
    // The whole replay again.
    assert.equal((await store.writeFrames(list, nowUs)).silverInserted, 0);
    const [row] = await store.query(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT trade_id)::INTEGER AS d FROM silver_trades`,
    );
    assert.equal(row!.n, 1200);
    assert.equal(row!.d, 1200);
    const [b] = await store.query(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT (symbol, trade_id))::INTEGER AS d FROM bronze_trades_kraken`,
    );
    assert.equal(b!.n, 1200);
    assert.equal(b!.d, 1200);
  });
});

Deno.test("writeFrames fills a hole below the stored maximum id, and a reopened store still dedupes", async () => {
  await withStores(async (store, _other, dir) => {
    const list = frames(6, 200);
    const nowUs = Math.max(...list.map((f) => f.receivedUs)) + 86_400e6;
    const hole = list.slice(30, 40);
    const holeTrades = hole.reduce(
      (n, f) => n + f.text.split('"trade_id"').length - 1,
      0,
    );
    await store.writeFrames([...list.slice(0, 30), ...list.slice(40)], nowUs);
    store.close();
    await using again = await RecordStore.open(join(dir, "a.duckdb"));
    const filled = await again.writeFrames(list, nowUs);
    assert.equal(filled.silverInserted, holeTrades);
    assert.equal((await again.writeFrames(list, nowUs)).silverInserted, 0);
    const checks = await validateStore(again, { now: () => nowUs / 1000 });
    for (
      const name of [
        "silver_normalized",
        "gold_recomputed",
        "no_duplicates",
        "no_gaps",
      ]
    ) {
      const c = checks.find((x) => x.name === name);
      assert.ok(c?.ok, `${name}: ${c?.summary}`);
    }
  });
});

Deno.test("writeFrames leaves every frame outside its grammar to core, untouched", async () => {
  await withStores(async (store) => {
    const good = frames(5, 3, 1).slice(0, 6);
    const t = (
      price: string,
      extra = "",
      ts = "2026-01-01T00:00:01.000001Z",
      symbol = "BTC/USD",
    ) =>
      `{"channel":"trade","type":"update","data":[{"symbol":"${symbol}","side":"buy","price":${price},"qty":1.5,"ord_type":"limit","trade_id":${
        9_000_000 + price.length
      },"timestamp":"${ts}"${extra}}]}`;
    const odd = [
      t("0"), // silver rejects a zero price
      t("0.000"),
      t("1e5"), // exponent
      t("01.5"), // not JSON
      t("1.5", ',"x":1'), // another key
      t("1.5", "", "2026-02-30T00:00:00.000001Z"), // no such day
      t("1.5", "", "2026-01-01T00:00:00.1Z"), // other precision
      t("1.5", "", "2026-01-01T00:00:00.000001Z", "BTCUSD"), // no slash
      t("1.5", "", "2026-01-01T00:00:00.000001Z", "B\\u0054C/USD"), // escape
      ` ${t("1.5")}`, // whitespace
      `{"channel":"trade","type":"update","data":[]}`,
      `{"channel":"heartbeat"}`,
      `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD"\t}]}`,
      t("1.5").replace("BTC", "BTC\ud800"),
      t("1234567890123456.5"), // more than 15 whole digits
    ].map((text, i) => ({ text, receivedUs: 1_767_225_600_000_000 + i }));
    const all = [...good.slice(0, 3), ...odd, ...good.slice(3)];
    const result = await store.writeFrames(all, 0, { gold: false });
    assert.deepEqual(result.fallback, odd.map((_, i) => i + 3));
    assert.equal(result.silverInserted, 6);
    const [row] = await store.query(
      `SELECT count(*)::INTEGER AS n FROM bronze_trades_kraken WHERE trade_id >= 9000000`,
    );
    assert.equal(row!.n, 0);
  });
});

Deno.test("gold built in SQL equals core's goldFromTrades field for field, at full precision", async () => {
  await withStores(async (store) => {
    const startUs = Date.UTC(2026, 0, 1) * 1000;
    const trades: GenTrade[] = [];
    // Every limb of both factors non-zero: 15 whole and 18 fraction digits.
    const values = [
      ["123456789012345.123456789012345678", "98765.987654321987654321"],
      ["999999999999999.999999999999999999", "0.000000000000000001"],
      ["1.000000000000000001", "999999999999999.999999999999999999"],
      ["0.000000001", "0.5"],
      ["42.5", "7"],
    ];
    for (let i = 0; i < 60; i++) {
      const [price, qty] = values[i % values.length]!;
      trades.push({
        symbol: i % 2 === 0 ? "BTC/USD" : "XBT/EUR",
        id: 100 + i,
        tsUs: startUs + i * 7_000_000,
        price: price!,
        qty: qty!,
        side: "sell",
      });
    }
    const list: BulkFrame[] = [];
    for (let i = 0; i < trades.length; i += 4) {
      list.push({
        text: tradeFrameText(trades.slice(i, i + 4)),
        receivedUs: trades[i]!.tsUs,
      });
    }
    const nowUs = startUs + 86_400e6 * 2;
    const result = await store.writeFrames(list, nowUs, { silverUs: 0 });
    assert.deepEqual(result.fallback, []);
    const silver = new TradeRecorder();
    const all = list.flatMap((f) =>
      silver.onFrame(f.text, 1, f.receivedUs).silver
    );
    for (const tf of GOLD_TIMEFRAMES) {
      const want = goldFromTrades(all, {
        timeframe: tf,
        priceDecimals: (s) => store.priceDecimals(s),
      }).map((g) => [
        g.symbol,
        g.bucketStartUs,
        g.open,
        g.high,
        g.low,
        g.close,
        g.volume,
        g.notional,
        g.vwap,
        g.count,
        g.firstTradeId,
        g.lastTradeId,
      ]);
      const got = (await store.query(
        `SELECT symbol, epoch_us(bucket) AS b, CAST(open AS VARCHAR) o,
           CAST(high AS VARCHAR) h, CAST(low AS VARCHAR) l, CAST(close AS VARCHAR) c,
           CAST(volume AS VARCHAR) v, notional, CAST(vwap AS VARCHAR) w,
           trade_count, first_trade_id, last_trade_id
         FROM ohlcv_${tf} ORDER BY symbol, bucket`,
      )).map((r) => [
        String(r.symbol),
        Number(r.b),
        canonicalDecimal(String(r.o)),
        canonicalDecimal(String(r.h)),
        canonicalDecimal(String(r.l)),
        canonicalDecimal(String(r.c)),
        canonicalDecimal(String(r.v)),
        String(r.notional),
        canonicalDecimal(String(r.w)),
        Number(r.trade_count),
        Number(r.first_trade_id),
        Number(r.last_trade_id),
      ]);
      assert.ok(want.length > 0);
      assert.deepEqual(got, want, tf);
    }
    // Sums this large could leave HUGEINT in SQL: core's bigint code built
    // them, inside the same transaction (which an overflow would abort).
    assert.ok(store.goldBuilds.core > 0);
  });
});

Deno.test("writeFrames keeps one row per trade id repeated within a batch (the earliest received), and none twice without repeats", async () => {
  await withStores(async (store, other) => {
    const list = frames(8, 100);
    const nowUs = Math.max(...list.map((f) => f.receivedUs)) + 86_400e6;
    const trades = list.reduce(
      (n, f) => n + f.text.split('"trade_id"').length - 1,
      0,
    );
    // Every frame twice: the later copy in the batch received 1 µs earlier.
    const doubled = list.flatMap((f) => [f, {
      text: f.text,
      receivedUs: f.receivedUs - 1,
    }]);
    const r = await store.writeFrames(doubled, nowUs);
    assert.equal(r.silverInserted, trades);
    const [row] = await store.query(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT trade_id)::INTEGER AS d,
         min(epoch_us(received_at)) AS first_us FROM silver_trades`,
    );
    assert.equal(row!.n, trades);
    assert.equal(row!.d, trades);
    assert.equal(Number(row!.first_us), list[0]!.receivedUs - 1);
    // Without repeats (the fast path): the same rows as the core path.
    const plain = await other.writeFrames(list, nowUs);
    assert.equal(plain.silverInserted, trades);
    assert.equal(plain.bronzeInserted, trades);
  });
});

/** Random plain decimal text: `whole` below 10^wholeDigits, 0–18 fraction digits. */
function randomDecimal(random: () => number, wholeDigits: number): string {
  const whole = String(Math.floor(random() * 10 ** wholeDigits));
  const places = Math.floor(random() * 19);
  let frac = "";
  for (let i = 0; i < places; i++) frac += String(Math.floor(random() * 10));
  return frac === "" ? whole : `${whole}.${frac}`;
}

Deno.test("gold in SQL (bulk parts, silver digits, rollups) equals goldFromTrades through late trades and replays", async () => {
  await withStores(async (store) => {
    await store.registerSymbols(genSymbolInfos());
    const random = prng(11);
    const startUs = Date.UTC(2026, 0, 1) * 1000;
    const trades: GenTrade[] = [];
    for (const { symbol } of GEN_SYMBOLS) {
      let ts = startUs;
      for (let i = 0; i < 400; i++) {
        ts += Math.floor(random() * 20e6);
        let qty = randomDecimal(random, 4);
        if (!/[1-9]/.test(qty)) qty = "0.000000000000000001";
        trades.push({
          symbol,
          id: 5000 + i,
          tsUs: ts,
          // 1–5 whole digits, never zero.
          price: `${1 + Math.floor(random() * 99_999)}${
            randomDecimal(random, 0).slice(1)
          }`,
          qty,
          side: random() < 0.5 ? "buy" : "sell",
        });
      }
    }
    trades.sort((a, b) => a.tsUs - b.tsUs || a.id - b.id);
    // Every 13th trade arrives late, through the live path.
    const late = trades.filter((_, i) => i % 13 === 5);
    const bulk = trades.filter((_, i) => i % 13 !== 5);
    const toFrames = (list: GenTrade[]) => {
      const out: BulkFrame[] = [];
      for (let i = 0; i < list.length; i += 5) {
        out.push({
          text: tradeFrameText(list.slice(i, i + 5)),
          receivedUs: list[i]!.tsUs + 100,
        });
      }
      return out;
    };
    const bulkFrames = toFrames(bulk);
    const nowUs = trades.at(-1)!.tsUs + 86_400e6 * 2;
    const third = Math.ceil(bulkFrames.length / 3);
    for (let i = 0; i < bulkFrames.length; i += third) {
      const r = await store.writeFrames(bulkFrames.slice(i, i + third), nowUs, {
        gold: false,
      });
      assert.deepEqual(r.fallback, []);
    }
    // A replay of the middle batch adds neither rows nor parts.
    const replay = await store.writeFrames(
      bulkFrames.slice(third, 2 * third),
      nowUs,
      { gold: false },
    );
    assert.equal(replay.silverInserted, 0);
    const check = async (all: readonly GenTrade[]) => {
      await store.flushGold(nowUs);
      const recorder = new TradeRecorder();
      const silver = toFrames([...all].sort((a, b) => a.id - b.id)).flatMap((
        f,
      ) => recorder.onFrame(f.text, 1, f.receivedUs).silver);
      for (const tf of GOLD_TIMEFRAMES) {
        const want = goldFromTrades(silver, {
          timeframe: tf,
          priceDecimals: (s) => store.priceDecimals(s),
        }).map((g) =>
          [
            g.symbol,
            g.bucketStartUs,
            g.open,
            g.high,
            g.low,
            g.close,
            g.volume,
            g.notional,
            g.vwap,
            g.count,
            g.firstTradeId,
            g.lastTradeId,
          ].join(" ")
        );
        const got = (await store.query(
          `SELECT symbol, epoch_us(bucket) AS b, CAST(open AS VARCHAR) o,
             CAST(high AS VARCHAR) h, CAST(low AS VARCHAR) l, CAST(close AS VARCHAR) c,
             CAST(volume AS VARCHAR) v, notional, CAST(vwap AS VARCHAR) w,
             trade_count, first_trade_id, last_trade_id
           FROM ohlcv_${tf} ORDER BY symbol, bucket`,
        )).map((r) =>
          [
            String(r.symbol),
            Number(r.b),
            canonicalDecimal(String(r.o)),
            canonicalDecimal(String(r.h)),
            canonicalDecimal(String(r.l)),
            canonicalDecimal(String(r.c)),
            canonicalDecimal(String(r.v)),
            String(r.notional),
            canonicalDecimal(String(r.w)),
            Number(r.trade_count),
            Number(r.first_trade_id),
            Number(r.last_trade_id),
          ].join(" ")
        );
        assert.ok(want.length > 0);
        assert.deepEqual(got, want, tf);
      }
    };
    await check(bulk);
    assert.ok(store.goldBuilds.sql >= GOLD_TIMEFRAMES.length);
    // The late trades re-dirty their closed buckets, whose parts no longer
    // count every silver trade: those minutes use silver's own digits.
    await writeThroughCore(store, toFrames(late), nowUs);
    await check(trades);
    assert.equal(store.goldBuilds.core, 0);
    const [parts] = await store.query(
      `SELECT sum(trades)::BIGINT AS n FROM gold_notional_1m`,
    );
    assert.equal(Number(parts!.n), bulk.length);
    // (record validate is not run here: its recomputation rounds prices
    // to the pair's decimals, as Kraken's are; these have up to 18.)
  });
});

Deno.test("validate finds a bronze row pointing at a frame that does not hold it", async () => {
  // What a 64-bit frame-id collision would leave: a trade linked to another
  // frame's text. Its price and quantity may well appear there too; its id
  // cannot.
  await withStores(async (bulk) => {
    const list = frames(2, 40);
    const nowUs = Math.max(...list.map((f) => f.receivedUs)) + 86_400e6;
    await bulk.writeFrames(list, nowUs, { silverUs: 0 });
    const ok = await validateStore(bulk, { now: () => nowUs / 1000 });
    assert.ok(ok.find((c) => c.name === "bronze_native")?.ok);
    const [row] = await bulk.query(
      `SELECT symbol, trade_id, frame_id FROM bronze_trades_kraken
       ORDER BY trade_id DESC LIMIT 1`,
    );
    const [other] = await bulk.query(
      `SELECT frame_id FROM bronze_frames_kraken
       WHERE frame_id <> ${row!.frame_id} LIMIT 1`,
    );
    await bulk.query(
      `UPDATE bronze_trades_kraken SET frame_id = ${other!.frame_id}
       WHERE symbol = '${row!.symbol}' AND trade_id = ${row!.trade_id}`,
    );
    // A row whose frame holds its price and quantity but not its id.
    await bulk.query(
      `UPDATE bronze_trades_kraken SET trade_id = trade_id + 1000000
       WHERE (symbol, trade_id) = (SELECT (symbol, trade_id)
         FROM bronze_trades_kraken ORDER BY trade_id LIMIT 1)`,
    );
    const checks = await validateStore(bulk, { now: () => nowUs / 1000 });
    const bronze = checks.find((c) => c.name === "bronze_native")!;
    assert.equal(bronze.ok, false, bronze.summary);
    assert.match(bronze.summary, /, 2 not verbatim in their frame/);
  });
});
