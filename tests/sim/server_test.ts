import assert from "node:assert/strict";
import {
  defaultCredentials,
  startSimulator,
  webSocketPlugin,
} from "../../server/sim/server.ts";
import { createRestApp, isLoopback } from "../../server/sim/rest/app.ts";
import { NOW_MS, publicCall } from "./_client.ts";

Deno.test("startSimulator() reports its URLs and seed-derived credentials", async () => {
  await using sim = await startSimulator({ seed: 41, now: () => NOW_MS });
  assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(sim.wsPublicUrl, sim.url.replace("http:", "ws:") + "/v2");
  assert.equal(sim.wsAuthUrl, sim.url.replace("http:", "ws:") + "/auth/v2");
  const expected = defaultCredentials(41);
  assert.equal(sim.credentials.apiKey, expected.apiKey);
  assert.equal(sim.credentials.apiKey.length, 56);
  assert.equal(sim.credentials.apiSecret.reveal(), expected.apiSecret);
  assert.equal(sim.credentials.apiSecret.reveal().length, 88);
  assert.equal(`${sim.credentials.apiSecret}`, "[redacted]");
  assert.equal(
    JSON.stringify(sim.credentials).includes(expected.apiSecret),
    false,
  );
  assert.notEqual(defaultCredentials(42).apiKey, expected.apiKey);
  await sim.close();
  await sim.close(); // idempotent
});

Deno.test("WebSocket paths answer 404 until a plugin is plugged in", async (t) => {
  await t.step("no plugin", async () => {
    await using sim = await startSimulator({ seed: 41, now: () => NOW_MS });
    for (const path of ["/v2", "/auth/v2"]) {
      const response = await fetch(`${sim.url}${path}`);
      assert.equal(response.status, 404);
      await response.body?.cancel();
    }
  });
  await t.step(
    "a plugin gets the requests and the simulator's parts",
    async () => {
      const seen: string[] = [];
      let closed = false;
      await using sim = await startSimulator({
        seed: 41,
        now: () => NOW_MS,
        websocket: (parts) => ({
          handle(request) {
            seen.push(new URL(request.url).pathname);
            assert.equal(parts.market.seed, 41);
            return request.headers.get("x-test") === "upgrade"
              ? new Response("plugged", { status: 200 })
              : undefined;
          },
          close() {
            closed = true;
          },
        }),
      });
      const plain = await fetch(`${sim.url}/v2`);
      assert.equal(plain.status, 426);
      await plain.body?.cancel();
      const handled = await fetch(`${sim.url}/auth/v2`, {
        headers: { "x-test": "upgrade" },
      });
      assert.equal(await handled.text(), "plugged");
      assert.deepEqual(seen, ["/v2", "/auth/v2"]);
      await sim.close();
      assert.ok(closed);
    },
  );
});

Deno.test("control routes are off without control and never answer non-loopback peers", async (t) => {
  await t.step("disabled", async () => {
    await using sim = await startSimulator({
      seed: 41,
      now: () => NOW_MS,
      control: false,
    });
    const response = await fetch(`${sim.url}/_sim/faults`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
    assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
  });
  await t.step("non-loopback peer or Host header", async () => {
    await using sim = await startSimulator({ seed: 41, now: () => NOW_MS });
    const app = createRestApp({
      market: sim.market,
      account: sim.account,
      control: sim.control,
      keys: sim.keys,
      tokens: sim.tokens,
      controlRoutes: true,
    });
    const remote = await app.fetch(
      new Request("http://127.0.0.1/_sim/faults"),
      {
        remoteAddr: { hostname: "192.168.1.20" },
      },
    );
    assert.equal(remote.status, 404);
    const rebound = await app.fetch(
      new Request("http://evil.example/_sim/faults", {
        headers: { host: "evil.example" },
      }),
      { remoteAddr: { hostname: "127.0.0.1" } },
    );
    assert.equal(rebound.status, 404);
    const local = await app.fetch(
      new Request("http://localhost:8791/_sim/faults", {
        headers: { host: "localhost:8791" },
      }),
      { remoteAddr: { hostname: "127.0.0.1" } },
    );
    assert.equal(local.status, 200);
    await local.body?.cancel();
  });
  await t.step("isLoopback()", () => {
    for (
      const h of [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
        "localhost",
        "::ffff:127.0.0.1",
      ]
    ) {
      assert.ok(isLoopback(h), h);
    }
    for (const h of ["10.0.0.1", "0.0.0.0", "example.com", "::ffff:10.0.0.1"]) {
      assert.ok(!isLoopback(h), h);
    }
  });
});

Deno.test("unknown paths answer 404 and Kraken envelopes use JSON content type", async () => {
  await using sim = await startSimulator({ seed: 41, now: () => NOW_MS });
  const root = await fetch(`${sim.url}/`);
  assert.equal(root.status, 404);
  await root.body?.cancel();
  const time = await fetch(`${sim.url}/0/public/Time`);
  assert.equal(
    time.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  await time.body?.cancel();
});

// The engine ticks every 250 ms and reads the clock each time: once the
// start has failed, nothing may read it any more (it did: the port was bound
// last, after the engine's timer had started).
Deno.test("startSimulator() on a port in use fails and leaves nothing ticking", async () => {
  await using first = await startSimulator();
  let reads = 0;
  await assert.rejects(
    startSimulator({
      port: first.port,
      websocket: webSocketPlugin(),
      now: () => {
        reads++;
        return NOW_MS;
      },
    }),
    Deno.errors.AddrInUse,
  );
  await new Promise((r) => setTimeout(r, 300));
  const after = reads;
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(reads, after, "the clock is still read by a leaked timer");
});
