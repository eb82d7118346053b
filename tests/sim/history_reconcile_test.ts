// Reconciliation against the simulator: the private stream's balances
// agree with REST after hydration; a balance changed while the stream's
// frames were lost is reported as drift, with the values on both sides.
import assert from "node:assert/strict";
import { startSimulatorWithWs } from "@krakked/sim";
import { balancesBySymbol, reconcile } from "../../core/account/reconcile.ts";
import { AssetTable } from "../../core/market/assets.ts";
import { RestClient } from "../../core/rest/client.ts";
import { PrivateStream } from "../../core/trade/private_stream.ts";
import { PrivateWsSession } from "../../core/trade/ws_session.ts";

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("reconcile() reports a balance changed behind the private stream's back", async () => {
  await using sim = await startSimulatorWithWs({ tier: "pro" });
  const rest = new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    tier: "pro",
  });
  const session = new PrivateWsSession(sim.wsAuthUrl, {
    getToken: async () => (await rest.getWebSocketsToken()).token,
  });
  const stream = new PrivateStream(session, { rest });
  const assets = AssetTable.fallback();
  const restSnapshot = async () => ({
    balances: balancesBySymbol(await rest.balanceEx(), assets),
    openOrders: {},
  });
  try {
    stream.start();
    session.connect();
    await until(() => Object.keys(stream.balances()).length > 0, "balances");
    assert.deepEqual(
      reconcile(
        { balances: stream.balances(), openOrders: {} },
        await restSnapshot(),
      ),
      [],
      "stream and REST agree after hydration",
    );

    // The stream stalls: the adjustment's balances frame is lost.
    sim.ws.faults.stall({ scope: "private" });
    const before = stream.balances()["USD"];
    sim.account.record({
      type: "adjustment",
      asset: "ZUSD",
      amountUnits: -12_345_6789n,
      timeMs: Date.now(),
    });
    sim.ws.faults.resume();
    const drifts = reconcile(
      { balances: stream.balances(), openOrders: {} },
      await restSnapshot(),
    );
    assert.equal(drifts.length, 1, JSON.stringify(drifts));
    const [drift] = drifts;
    assert.equal(drift?.kind, "balance");
    assert.equal(drift?.id, "USD");
    assert.equal(drift?.fields[0]?.field, "balance");
    assert.equal(drift?.fields[0]?.stream, before);
    assert.notEqual(drift?.fields[0]?.rest, before);
  } finally {
    stream.stop();
    session.close();
    rest.close();
  }
});
