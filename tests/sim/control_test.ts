import assert from "node:assert/strict";
import {
  NO_FAULTS,
  parseFaultSettings,
  takeRequestFault,
} from "../../server/sim/control.ts";
import { startSimulator } from "../../server/sim/server.ts";
import { NOW_MS, privateCall, publicCall } from "./_client.ts";

async function simulator() {
  const sim = await startSimulator({
    seed: 31,
    now: () => NOW_MS,
    tier: "pro",
  });
  const creds = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  return { sim, creds };
}

async function setFaults(url: string, settings: unknown): Promise<Response> {
  return await fetch(`${url}/_sim/faults`, {
    method: "POST",
    body: JSON.stringify(settings),
    headers: { "content-type": "application/json" },
  });
}

Deno.test("EService:Unavailable and EService:Busy answer the next N requests", async (t) => {
  const { sim, creds } = await simulator();
  await using _ = sim;
  await t.step("unavailable over the control route", async () => {
    const response = await setFaults(sim.url, { unavailable: 2 });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).faults.unavailable, 2);
    assert.deepEqual(await publicCall(sim.url, "Time"), {
      error: ["EService:Unavailable"],
    });
    assert.deepEqual(await privateCall(sim.url, "Balance", {}, creds), {
      error: ["EService:Unavailable"],
    });
    assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
  });
  await t.step("busy in process, private scope only", async () => {
    sim.control.set({ busy: 1, scope: "private" });
    assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
    assert.deepEqual(await privateCall(sim.url, "Balance", {}, creds), {
      error: ["EService:Busy"],
    });
    assert.deepEqual(
      (await privateCall(sim.url, "Balance", {}, creds)).error,
      [],
    );
    assert.equal(sim.control.stats.busy, 1);
  });
});

Deno.test("an HTML 520 page comes back with status 520 and text/html", async () => {
  const { sim } = await simulator();
  await using _ = sim;
  await (await setFaults(sim.url, { html520: 1 })).body?.cancel();
  const response = await fetch(`${sim.url}/0/public/Ticker?pair=XBTUSD`);
  assert.equal(response.status, 520);
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  const html = await response.text();
  assert.match(html, /<title>[^<]*520[^<]*<\/title>/);
  assert.match(html, /Cloudflare/);
  assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
});

Deno.test("a dropped connection fails the request with a network error", async () => {
  const { sim } = await simulator();
  await using _ = sim;
  sim.control.set({ drop: 1 });
  await assert.rejects(async () => {
    const response = await fetch(`${sim.url}/0/public/Time`);
    await response.text();
  }, TypeError);
  assert.equal(sim.control.stats.drop, 1);
  assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
});

Deno.test("a rate-limit storm refuses N authenticated private calls", async () => {
  const { sim, creds } = await simulator();
  await using _ = sim;
  await (await setFaults(sim.url, { rateLimitStorm: 2 })).body?.cancel();
  assert.deepEqual(
    (await publicCall(sim.url, "Time")).error,
    [],
    "public calls are not affected",
  );
  assert.deepEqual(
    await privateCall(sim.url, "Balance", {}, {
      ...creds,
      secret: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    }),
    {
      error: ["EAPI:Invalid signature"],
    },
    "auth is checked first",
  );
  assert.deepEqual(await privateCall(sim.url, "Balance", {}, creds), {
    error: ["EAPI:Rate limit exceeded"],
  });
  assert.deepEqual(await privateCall(sim.url, "OpenOrders", {}, creds), {
    error: ["EAPI:Rate limit exceeded"],
  });
  assert.deepEqual(
    (await privateCall(sim.url, "Balance", {}, creds)).error,
    [],
  );
});

Deno.test("the system status switch shows in SystemStatus and clears", async () => {
  const { sim } = await simulator();
  await using _ = sim;
  for (const status of ["maintenance", "cancel_only", "post_only"]) {
    await (await setFaults(sim.url, { systemStatus: status })).body?.cancel();
    assert.equal(
      (await publicCall(sim.url, "SystemStatus")).result.status,
      status,
    );
    assert.equal(sim.control.systemStatus, status);
  }
  const cleared = await fetch(`${sim.url}/_sim/faults`, { method: "DELETE" });
  assert.equal((await cleared.json()).faults.systemStatus, "online");
  assert.equal(
    (await publicCall(sim.url, "SystemStatus")).result.status,
    "online",
  );
});

Deno.test("latency and stall hold requests until released", async (t) => {
  const { sim } = await simulator();
  await using _ = sim;
  await t.step("latency", async () => {
    sim.control.set({ latencyMs: 1 });
    assert.deepEqual((await publicCall(sim.url, "Time")).error, []);
    assert.equal(sim.control.stats.delayed, 1);
    sim.control.set({ latencyMs: 0 });
  });
  await t.step("stall, released in process", async () => {
    sim.control.set({ stall: true });
    const pending = publicCall(sim.url, "Time");
    await sim.control.whenStalled(1);
    assert.equal(sim.control.stalledCount, 1);
    sim.control.set({ stall: false });
    assert.deepEqual((await pending).error, []);
  });
  await t.step("stall, released over HTTP", async () => {
    await (await setFaults(sim.url, { stall: true })).body?.cancel();
    const pending = publicCall(sim.url, "Time");
    await sim.control.whenStalled(1);
    const released = await fetch(`${sim.url}/_sim/release`, { method: "POST" });
    assert.deepEqual(await released.json(), { released: 1 });
    assert.deepEqual((await pending).error, []);
    sim.control.clear();
  });
  await t.step("closing the simulator releases stalled requests", async () => {
    const other = await startSimulator({ seed: 31, now: () => NOW_MS });
    other.control.set({ stall: true });
    const pending = fetch(`${other.url}/0/public/Time`).then((r) => r.json());
    await other.control.whenStalled(1);
    await other.close();
    assert.deepEqual((await pending).error, []);
  });
});

Deno.test("control routes validate input and report state", async () => {
  const { sim } = await simulator();
  await using _ = sim;
  const bad = await setFaults(sim.url, { busy: -1 });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /busy/);
  const unknown = await setFaults(sim.url, { explode: true });
  assert.equal(unknown.status, 400);
  await unknown.body?.cancel();
  const notJson = await fetch(`${sim.url}/_sim/faults`, {
    method: "POST",
    body: "{",
  });
  assert.equal(notJson.status, 400);
  await notJson.body?.cancel();
  const state = await (await fetch(`${sim.url}/_sim/faults`)).json();
  assert.deepEqual(state.faults, NO_FAULTS);
  const info = await (await fetch(`${sim.url}/_sim/info`)).json();
  assert.equal(info.seed, 31);
  assert.equal(info.openOrders, 4);
});

Deno.test("takeRequestFault() consumes one fault per request in a fixed order", () => {
  let state = { ...NO_FAULTS, busy: 1, drop: 1, unavailable: 1 };
  const seen: Array<string | undefined> = [];
  for (let i = 0; i < 4; i++) {
    const next = takeRequestFault(state, "public");
    seen.push(next.fault);
    state = next.state;
  }
  assert.deepEqual(seen, ["drop", "unavailable", "busy", undefined]);
  assert.equal(
    takeRequestFault({ ...NO_FAULTS, busy: 1, scope: "private" }, "public")
      .fault,
    undefined,
  );
  assert.deepEqual(parseFaultSettings({ scope: "everywhere" }).ok, false);
  assert.deepEqual(parseFaultSettings([]).ok, false);
});
