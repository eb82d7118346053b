import assert from "node:assert/strict";
import type { CallParams, RestAnswer } from "../../../core/rest/client.ts";
import {
  ProxyBusyError,
  PublicProxy,
} from "../../../server/http/public_proxy.ts";
import { proxyClient } from "../../../server/http/routes/public.ts";

/**
 * An upstream whose calls finish only when the test says so; it records the
 * order in which the proxy handed calls to it (the shared limiter's order).
 */
class HeldUpstream {
  readonly order: string[] = [];
  #held: Array<() => void> = [];
  callPublic(
    method: string,
    params: CallParams = {},
  ): Promise<RestAnswer<unknown>> {
    const label = `${method}:${params.since ?? ""}:${params.pair}`;
    this.order.push(label);
    return new Promise((resolve) => {
      this.#held.push(() => resolve({ result: { label }, warnings: [] }));
    });
  }
  /** Finish the oldest call still held. */
  async finishOne(): Promise<boolean> {
    const next = this.#held.shift();
    if (next === undefined) return false;
    next();
    // Let the proxy hand over the next call.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return true;
  }
  get held(): number {
    return this.#held.length;
  }
}

function ohlc(since: number, pair = "XBTUSD"): URLSearchParams {
  return new URLSearchParams({ pair, interval: "1", since: String(since) });
}

Deno.test("a greedy client's backlog does not sit in front of the page's call", async () => {
  const upstream = new HeldUpstream();
  const proxy = new PublicProxy(upstream, { maxConcurrent: 2 });
  const greedy = Array.from(
    { length: 30 },
    (_, i) => proxy.get("OHLC", ohlc(1_700_000_000 + i), "addr:127.0.0.1"),
  );
  const page = proxy.get("OHLC", ohlc(1, "ETHUSD"), "page");
  while (!upstream.order.includes("OHLC:1:ETHUSD")) {
    assert.ok(await upstream.finishOne(), "the page's call never went out");
  }
  // At most the calls already running and one greedy turn went first.
  const position = upstream.order.indexOf("OHLC:1:ETHUSD");
  assert.ok(position <= 3, `the page's call was #${position + 1} upstream`);
  while (await upstream.finishOne());
  assert.deepEqual((await page).result, { label: "OHLC:1:ETHUSD" });
  assert.equal((await Promise.all(greedy)).length, 30);
  assert.equal(upstream.order.length, 31);
});

Deno.test("cached and coalesced answers stay free while a backlog waits", async () => {
  const upstream = new HeldUpstream();
  const nowMs = 0;
  const proxy = new PublicProxy(upstream, {
    maxConcurrent: 1,
    now: () => nowMs,
  });
  const backlog = Array.from(
    { length: 10 },
    (_, i) => proxy.get("OHLC", ohlc(100 + i), "addr:127.0.0.1"),
  );
  const first = proxy.get("Ticker", new URLSearchParams("pair=XBTUSD"), "page");
  // The same call from the greedy client joins the page's: no second call,
  // and its turn may run it.
  const joined = proxy.get(
    "Ticker",
    new URLSearchParams("pair=XBTUSD"),
    "addr:127.0.0.1",
  );
  while (await upstream.finishOne());
  assert.equal((await first).source, "miss");
  assert.equal((await joined).source, "coalesced");
  const hit = await proxy.get(
    "Ticker",
    new URLSearchParams("pair=XBTUSD"),
    "page",
  );
  assert.equal(hit.source, "hit");
  await Promise.all(backlog);
  assert.equal(upstream.order.filter((l) => l.startsWith("Ticker")).length, 1);
});

Deno.test("a client with too many calls waiting gets a 429-class error; others do not", async () => {
  const upstream = new HeldUpstream();
  const proxy = new PublicProxy(upstream, {
    maxConcurrent: 1,
    maxQueuedPerClient: 3,
  });
  const running = proxy.get("OHLC", ohlc(1), "addr:10.0.0.9");
  const waiting = [2, 3, 4].map((s) =>
    proxy.get("OHLC", ohlc(s), "addr:10.0.0.9")
  );
  await assert.rejects(
    () => proxy.get("OHLC", ohlc(5), "addr:10.0.0.9"),
    ProxyBusyError,
  );
  const other = proxy.get("OHLC", ohlc(6), "page");
  while (await upstream.finishOne());
  await Promise.all([running, ...waiting, other]);
  assert.equal(upstream.order.length, 5);
});

Deno.test("proxyClient() names the page, else the remote address", () => {
  assert.equal(proxyClient("same-origin", undefined, undefined), "page");
  assert.equal(
    proxyClient(undefined, "http://127.0.0.1:8787", undefined),
    "page",
  );
  assert.equal(
    proxyClient(undefined, undefined, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: 5000,
    }),
    "addr:127.0.0.1",
  );
  assert.equal(proxyClient("none", undefined, undefined), "addr:unknown");
});

Deno.test("a client that goes away drops its queued call unsent; a shared or started call still serves the others", async () => {
  const upstream = new HeldUpstream();
  const proxy = new PublicProxy(upstream, { maxConcurrent: 1 });
  // Occupies the only slot.
  const first = proxy.get("OHLC", ohlc(1), "a");
  // Queued: abandoned by its only client.
  const gone = new AbortController();
  const abandoned = proxy.get("OHLC", ohlc(2), "b", undefined, gone.signal);
  // Queued and shared: one of its two clients goes away.
  const half = new AbortController();
  const shared1 = proxy.get("OHLC", ohlc(3), "c", undefined, half.signal);
  const shared2 = proxy.get("OHLC", ohlc(3), "d");
  gone.abort();
  half.abort();
  await assert.rejects(
    abandoned,
    (e: unknown) =>
      e instanceof Error && /aborted/.test(e.message) &&
      (e as { code?: string }).code === "Krakked:Aborted",
  );
  await assert.rejects(shared1, /aborted/);
  while (await upstream.finishOne());
  assert.deepEqual((await first).result, { label: "OHLC:1:XBTUSD" });
  assert.deepEqual((await shared2).result, { label: "OHLC:3:XBTUSD" });
  // The abandoned call never reached Kraken; the shared one did, once.
  assert.deepEqual(upstream.order, ["OHLC:1:XBTUSD", "OHLC:3:XBTUSD"]);
  assert.equal(proxy.stats.abandoned, 1);
  // A signal already aborted sends nothing.
  const before = upstream.order.length;
  await assert.rejects(
    proxy.get("OHLC", ohlc(9), "e", undefined, AbortSignal.abort()),
    /aborted/,
  );
  assert.equal(upstream.order.length, before);
});

Deno.test("random aborts never send a call nobody waits for, and every survivor gets its answer", async () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let round = 0; round < 40; round++) {
    const upstream = new HeldUpstream();
    // At the moment a call reaches Kraken, someone must still want it.
    const unwanted: string[] = [];
    const callPublic = upstream.callPublic.bind(upstream);
    upstream.callPublic = (method, params = {}) => {
      const since = Number(params.since);
      if (!requests.some((r) => r.since === since && !r.aborted)) {
        unwanted.push(`OHLC since ${since}`);
      }
      return callPublic(method, params);
    };
    const proxy = new PublicProxy(upstream, { maxConcurrent: 1 + (round % 3) });
    const requests: {
      controller: AbortController;
      since: number;
      promise: Promise<unknown>;
      aborted: boolean;
    }[] = [];
    for (let i = 0; i < 12; i++) {
      const controller = new AbortController();
      const since = 1 + Math.floor(random() * 5);
      // Listed before asking: a free slot sends the call at once.
      const request = {
        controller,
        since,
        promise: Promise.resolve() as Promise<unknown>,
        aborted: false,
      };
      requests.push(request);
      request.promise = proxy.get(
        "OHLC",
        ohlc(since),
        `c${i % 4}`,
        undefined,
        controller.signal,
      );
      request.promise.catch(() => {});
    }
    // Interleave aborts and upstream completions.
    for (let step = 0; step < 30; step++) {
      if (random() < 0.5) {
        const r = requests[Math.floor(random() * requests.length)]!;
        r.aborted = true;
        r.controller.abort();
      } else {
        await upstream.finishOne();
      }
      await Promise.resolve();
    }
    while (await upstream.finishOne());
    const outcomes = await Promise.allSettled(requests.map((r) => r.promise));
    const sent = new Set(upstream.order.map((l) => Number(l.split(":")[1])));
    for (const [i, r] of requests.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.status === "fulfilled") {
        assert.deepEqual((outcome.value as { result: unknown }).result, {
          label: `OHLC:${r.since}:XBTUSD`,
        });
      } else {
        assert.ok(r.aborted, `request ${i} failed without being aborted`);
      }
    }
    assert.deepEqual(unwanted, [], "a call went out that nobody waited for");
    for (const since of sent) {
      assert.ok(requests.some((r) => r.since === since));
    }
    assert.ok(upstream.order.length + proxy.stats.abandoned <= requests.length);
  }
});
