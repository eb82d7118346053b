// Tests core/account/reconciler.ts on a fake clock: a check at start,
// one per period, one on demand (reconnect); failures are reports, and
// the schedule goes on.
import assert from "node:assert/strict";
import {
  AccountReconciler,
  type ReconcileReport,
} from "../../../core/account/reconciler.ts";
import { FakeClock } from "../../fakes/clock.ts";

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("AccountReconciler checks at start, every period and on reconnect", async () => {
  const clock = new FakeClock(1_000);
  const reports: ReconcileReport[] = [];
  let restUsd = "100";
  let fail = false;
  const reconciler = new AccountReconciler({
    stream: () => ({ balances: { USD: "100" }, openOrders: {} }),
    rest: () =>
      fail
        ? Promise.reject(new Error("EService:Unavailable"))
        : Promise.resolve({ balances: { USD: restUsd }, openOrders: {} }),
    onReport: (r) => reports.push(r),
    intervalMs: 10_000,
    now: () => clock.now(),
    setTimer: (fn, ms) => clock.setTimer(fn, ms),
  });
  reconciler.start();
  await flush();
  assert.deepEqual(reports.map((r) => [r.reason, r.drifts.length]), [[
    "start",
    0,
  ]]);

  restUsd = "90";
  clock.advance(10_000);
  await flush();
  assert.equal(reports.at(-1)?.reason, "periodic");
  assert.deepEqual(reports.at(-1)?.drifts, [
    {
      kind: "balance",
      id: "USD",
      fields: [{ field: "balance", stream: "100", rest: "90" }],
    },
  ]);

  const onReconnect = await reconciler.check("reconnect");
  assert.equal(onReconnect.drifts.length, 1);

  fail = true;
  clock.advance(10_000);
  await flush();
  assert.equal(reports.at(-1)?.error, "EService:Unavailable");
  fail = false;
  restUsd = "100";
  clock.advance(10_000);
  await flush();
  assert.deepEqual(reports.at(-1)?.drifts, []);
  assert.equal(reconciler.last, reports.at(-1));
  reconciler.stop();
  clock.advance(50_000);
  await flush();
  assert.equal(reports.length, 5);
});

Deno.test("AccountReconciler refuses a non-positive period with a RangeError", () => {
  assert.throws(
    () =>
      new AccountReconciler({
        stream: () => ({ balances: {}, openOrders: {} }),
        rest: () => Promise.resolve({ balances: {}, openOrders: {} }),
        onReport: () => {},
        intervalMs: 0,
      }),
    RangeError,
  );
});
