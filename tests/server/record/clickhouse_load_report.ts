/**
 * Scale-out report (a script, not `deno bench`: it starts nats-server and chDB): NATS JetStream →
 * `krakked load` → ClickHouse (chDB in this process), on loopback.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-env \
 *     --allow-run --allow-sys --allow-ffi \
 *     tests/server/record/clickhouse_load_report.ts [backlog=100000] [live_s=20] [rate=200] [batch=5000]
 *
 * 1. Backlog: `backlog` trades published first, then the loader drains them:
 *    trades/s from bronze through the silver and gold views.
 * 2. Live: `rate` trades/s published for `live_s` seconds in frames of 5
 *    while the loader runs, each stamped with its receive time when
 *    published: receive-to-silver latency = ClickHouse's `silver_at` (the
 *    silver view's now64) minus that stamp, p50/p90/p99/max.
 * Then the on-disk size of each table per million trades.
 */
import { runLoader } from "../../../server/record/load.ts";
import type { LoadStatus } from "../../../server/record/load.ts";
import { TradeLog } from "../../../server/record/log.ts";
import { validateClickhouse } from "../../../server/record/clickhouse_validate.ts";
import { genSymbolInfo, recordedBatches, tempChdb } from "./_clickhouse.ts";
import { NatsServer } from "./_nats.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";
import { bronzeFromWsText } from "../../../core/record/bronze.ts";
import { toSilver } from "../../../core/record/silver.ts";

const backlog = Number(Deno.args[0] ?? 100_000);
const liveSeconds = Number(Deno.args[1] ?? 20);
const rate = Number(Deno.args[2] ?? 200);
const batchSize = Number(Deno.args[3] ?? 5_000);

const print = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

await using nats = await NatsServer.start();
await using sink = await tempChdb("bench");
await using log = await TradeLog.connect(nats.url);

// 1. Backlog.
const trades = generateTrades(21, Math.ceil(backlog / 4));
const t0 = performance.now();
const nowUs = Date.now() * 1000;
for (const b of recordedBatches(trades, () => nowUs, 1_000_000)) {
  await log.publish(b);
}
print(
  `published ${trades.length} trades to JetStream in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);

let status: LoadStatus | undefined;
const stop = new AbortController();
const start = performance.now();
let drainedAt = 0;
const loader = runLoader({
  natsUrl: nats.url,
  sink,
  batchSize,
  symbolInfo: genSymbolInfo,
  signal: stop.signal,
  onStatus: (s) => {
    status = s;
    if (drainedAt === 0 && s.messages >= trades.length) {
      drainedAt = performance.now();
    }
  },
});
while (drainedAt === 0) await new Promise((r) => setTimeout(r, 20));
const drainS = (drainedAt - start) / 1000;
print(
  `backlog: ${trades.length} trades loaded in ${drainS.toFixed(2)} s = ${
    Math.round(trades.length / drainS)
  } trades/s (${status!.batches} batches, last insert ${
    status!.lastInsertMs
  } ms)`,
);

// 2. Live, on symbols the backlog did not use.
const liveSymbols = [
  { symbol: "SOL/USD", priceDecimals: 2 },
  { symbol: "ADA/USD", priceDecimals: 6 },
];
const live = generateTrades(
  22,
  Math.ceil(rate * liveSeconds / liveSymbols.length),
  Date.now() * 1000,
  liveSymbols,
);
const liveStart = Date.now();
const perFrame = 5;
const intervalMs = 1000 * perFrame / rate;
for (let i = 0; i < live.length; i += perFrame) {
  const due = liveStart + (i / perFrame) * intervalMs;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const bronze = bronzeFromWsText(tradeFrameText(live.slice(i, i + perFrame)), {
    receivedUs: Date.now() * 1000,
    connectionId: "1",
  }).rows;
  await log.publish({ bronze, silver: bronze.map(toSilver) });
}
const want = trades.length + live.length;
while ((status?.messages ?? 0) < want) {
  await new Promise((r) => setTimeout(r, 50));
}
stop.abort();
await loader;

const [lat] = await sink.query(
  `SELECT count() AS n,
     quantileExact(0.5)(d) AS p50, quantileExact(0.9)(d) AS p90,
     quantileExact(0.99)(d) AS p99, max(d) AS worst
   FROM (SELECT (toUnixTimestamp64Micro(silver_at) - toUnixTimestamp64Micro(received_at)) / 1000 AS d
         FROM bench.silver_trades WHERE symbol IN ('SOL/USD', 'ADA/USD'))`,
);
print(
  `live: ${
    lat!.n
  } trades at ${rate}/s for ${liveSeconds} s, receive-to-silver p50 ${
    Math.round(Number(lat!.p50))
  } ms, p90 ${Math.round(Number(lat!.p90))} ms, p99 ${
    Math.round(Number(lat!.p99))
  } ms, max ${Math.round(Number(lat!.worst))} ms`,
);

// Validation of everything loaded; latency is the live figure above (the
// backlog waited by design) and there is no REST to compare with here.
const checks = await validateClickhouse(sink, { now: () => Date.now() });
for (const c of checks) {
  if (c.name === "latency" || c.name === "gold_matches_rest_ohlc") continue;
  print(`${c.ok ? "PASS" : "FAIL"} ${c.summary}`);
}

const sizes = await sink.query(
  `SELECT table, sum(bytes_on_disk) AS bytes, sum(rows) AS rows
   FROM system.parts WHERE database = 'bench' AND active
   GROUP BY table ORDER BY table`,
);
for (const r of sizes) {
  print(
    `size ${String(r.table)}: ${
      (Number(r.bytes) / want * 1e6 / 1024 / 1024).toFixed(1)
    } MiB per million trades (${r.rows} rows)`,
  );
}
