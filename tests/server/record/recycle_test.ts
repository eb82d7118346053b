/**
 * `RecordStore.recycle()`: the recorder reopens DuckDB at a checkpoint
 * every so often (`recycleEveryMs`) so native memory the old instance kept
 * goes with it. A reopen must be invisible in the data: the same writes
 * give the same bronze, silver and gold whether or not the store was
 * recycled between them, in any order, with replays and late trades;
 * DuckDB's settings survive; and a recorder that reopens at every
 * checkpoint still validates with no gap and no duplicate.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TradeRecorder } from "@krakked/core/record/recorder";
import { RestClient } from "@krakked/core/rest/client";
import { statusPath } from "../../../server/cli/record_cmd.ts";
import {
  type RecorderStatus,
  runRecorder,
} from "../../../server/record/run.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { generateTrades, genSymbolInfos, tradeFrameText } from "./_trades.ts";
import { prng } from "../../fakes/prng.ts";
import { assertValid, busyMarket } from "./_session.ts";

async function register(store: RecordStore): Promise<void> {
  await store.registerSymbols(genSymbolInfos());
}

/** Every layer's rows, in a fixed order, as text (comparable across files). */
async function layers(store: RecordStore): Promise<Record<string, string>> {
  const dump = async (sql: string) =>
    JSON.stringify(
      await store.query(sql),
      (_, v) => typeof v === "bigint" ? v.toString() : v,
    );
  const out: Record<string, string> = {
    silver: await dump(
      `SELECT trade_id, exchange, symbol, side, price::VARCHAR AS p,
         qty::VARCHAR AS q, ts::VARCHAR AS ts, source,
         original::VARCHAR AS original
       FROM silver_trades ORDER BY trade_id`,
    ),
    bronze: await dump(
      `SELECT symbol, trade_id, side, price, qty, ord_type, timestamp, source
       FROM bronze_trades_kraken ORDER BY symbol, trade_id`,
    ),
  };
  for (const tf of ["1m", "5m", "15m", "1h", "1d"]) {
    // built_at is when the row was written, the one column that differs.
    out[tf] = await dump(
      `SELECT * EXCLUDE (built_at) FROM ohlcv_${tf}
       ORDER BY exchange, symbol, bucket`,
    );
  }
  return out;
}

for (const seed of [1, 2, 3]) {
  Deno.test(
    `record store: recycling between random writes changes no row (seed ${seed})`,
    async () => {
      const random = prng(seed);
      const trades = generateTrades(seed, 120);
      // Frames of 1–8 trades in time order, then a shuffle of neighbours
      // (late trades), and replays of earlier frames.
      const frames: string[] = [];
      for (let i = 0; i < trades.length;) {
        const n = 1 + Math.floor(random() * 8);
        frames.push(tradeFrameText(trades.slice(i, i + n)));
        i += n;
      }
      for (let i = 0; i + 1 < frames.length; i++) {
        if (random() < 0.1) {
          [frames[i], frames[i + 1]] = [frames[i + 1]!, frames[i]!];
        }
      }
      const sequence: string[] = [];
      for (const f of frames) {
        sequence.push(f);
        if (random() < 0.15) {
          sequence.push(frames[Math.floor(random() * frames.length)]!);
        }
      }
      const dir = await Deno.makeTempDir({ prefix: "krakked_recycle_" });
      try {
        await using plain = await RecordStore.open(join(dir, "plain.duckdb"));
        await using recycled = await RecordStore.open(join(dir, "re.duckdb"));
        await register(plain);
        await register(recycled);
        await recycled.set("memory_limit", "200MB");
        await recycled.set("threads", "1");
        const [before] = await recycled.query(
          `SELECT current_setting('memory_limit') AS m,
             current_setting('threads') AS t`,
        );
        const recorders = [new TradeRecorder(), new TradeRecorder()];
        let recycles = 0;
        let nowUs = trades[0]!.tsUs;
        for (const text of sequence) {
          nowUs = Math.max(nowUs, ...tradeTimes(text));
          for (const [i, store] of [plain, recycled].entries()) {
            const batch = recorders[i]!.onFrame(text, 1, nowUs);
            await store.write(batch, nowUs, { gold: false });
          }
          if (random() < 0.2) {
            await recycled.recycle();
            recycles++;
          }
          if (random() < 0.1) {
            // Gold of the buckets closed so far, in both: a recycle must
            // keep the dirty buckets a later flush builds.
            assert.equal(
              await recycled.flushGold(nowUs),
              await plain.flushGold(nowUs),
            );
          }
        }
        const endUs = nowUs + 86_400e6 * 2;
        await plain.flushGold(endUs);
        await recycled.flushGold(endUs);
        assert.ok(recycles >= 10, `${recycles} recycles`);
        const a = await layers(plain);
        const b = await layers(recycled);
        for (const layer of Object.keys(a)) {
          assert.equal(b[layer], a[layer], `${layer} differs after recycles`);
        }
        assert.ok(
          JSON.parse(a.silver!).length > 400,
          "silver holds the trades",
        );
        const [after] = await recycled.query(
          `SELECT current_setting('memory_limit') AS m,
             current_setting('threads') AS t`,
        );
        assert.deepEqual(after, before, "settings survive every reopen");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

function tradeTimes(text: string): number[] {
  return [...text.matchAll(/"timestamp":"([^"]+)"/g)].map((m) =>
    Date.parse(m[1]!) * 1000
  );
}

Deno.test("record store: an in-memory store refuses to recycle and stays usable", async () => {
  await using store = await RecordStore.open(":memory:");
  await register(store);
  await assert.rejects(store.recycle(), /in-memory store cannot be reopened/);
  const trades = generateTrades(7, 5);
  const batch = new TradeRecorder().onFrame(
    tradeFrameText(trades),
    1,
    trades.at(-1)!.tsUs,
  );
  const written = await store.write(batch, trades.at(-1)!.tsUs);
  assert.equal(written.silverInserted, trades.length);
});

Deno.test("record store: set() refuses a name that is not a setting's", async () => {
  await using store = await RecordStore.open(":memory:");
  await assert.rejects(
    store.set("memory_limit = '1GB'; DROP TABLE silver_trades_data; --", "1"),
    TypeError,
  );
  await assert.rejects(store.set("memory_limit", "lots"));
  await store.set("memory_limit", "300MB");
  const [row] = await store.query(
    `SELECT current_setting('memory_limit') AS m`,
  );
  assert.equal(String(row?.m), "286.1 MiB");
});

Deno.test("record store: a closed store refuses to recycle", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_recycle_" });
  try {
    const store = await RecordStore.open(join(dir, "m.duckdb"));
    store.close();
    await assert.rejects(store.recycle(), /store is closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "record: a recorder that reopens DuckDB at every checkpoint validates with no gap and no duplicate",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const market = await busyMarket();
    await using h = market.h;
    const { sim, store, now } = market;
    // A first session through the CLI registers the pairs.
    {
      const stop = new AbortController();
      const run = h.run(["record", "XBTUSD", "ETHUSD", "--store", store], {
        io: { now, stop: stop.signal },
      });
      for (let i = 0; i < 600; i++) {
        const s = await Deno.readTextFile(statusPath(store)).then(JSON.parse)
          .catch(() => undefined);
        if (s?.commits >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      stop.abort();
      assert.equal((await run).code, 0);
    }
    await using db = await RecordStore.open(store);
    await db.set("memory_limit", "300MB");
    const limit = `SELECT current_setting('memory_limit') AS m`;
    const [before] = await db.query(limit);
    using rest = new RestClient({ baseUrl: sim.url });
    // Any WAL at all: a checkpoint after every commit; with the default
    // period none of them reopens DuckDB in a short run, with 0 all do.
    const session = async (recycleEveryMs: number | undefined) => {
      const stop = new AbortController();
      let last: RecorderStatus | undefined;
      const timeout = setTimeout(() => stop.abort(), 60_000);
      await runRecorder({
        store: db,
        rest,
        wsUrl: sim.wsPublicUrl,
        symbols: db.symbols,
        signal: stop.signal,
        now,
        channels: ["trade", "book"],
        checkpointWalBytes: 1,
        ...(recycleEveryMs === undefined ? {} : { recycleEveryMs }),
        onStatus: (s) => {
          last = s;
          if (s.checkpoints >= 8 && s.goldRows > 0) stop.abort();
        },
      });
      clearTimeout(timeout);
      assert.ok(
        (last?.checkpoints ?? 0) >= 8,
        `${last?.checkpoints} checkpoints before the timeout`,
      );
      return last!;
    };
    const periodic = await session(undefined);
    assert.equal(periodic.reopens, 0, "no reopen before the period");
    const every = await session(0);
    assert.equal(every.reopens, every.checkpoints, "a reopen at each");
    assert.ok(every.lastReopenMs !== undefined);
    assert.deepEqual(
      (await db.query(limit))[0],
      before,
      "memory_limit survives",
    );
    await assertValid(h, store, { now });
  },
});
