/**
 * Child process of the kill -9 test: writes trade batches to a store and
 * prints "ack <total silver rows>" after each COMMIT, until killed.
 */
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";

const path = Deno.args[0]!;
const store = await RecordStore.open(path);
const recorder = new TradeRecorder();
const trades = generateTrades(11, 20_000);
let acked = 0;
const encoder = new TextEncoder();
for (let i = 0; i < trades.length; i += 500) {
  const batch = recorder.onFrame(
    tradeFrameText(trades.slice(i, i + 500)),
    1,
    trades[i]!.tsUs,
  );
  const result = await store.write(batch, trades[i]!.tsUs);
  acked += result.silverInserted;
  Deno.stdout.writeSync(encoder.encode(`ack ${acked} ${i + 500}\n`));
}
store.close();
