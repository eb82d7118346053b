/**
 * The real server (`startServe --sim`) over loopback HTTP against the
 * in-process simulator: page assets, the public proxy, guarded private
 * routes, the private WS relay, and no secret in any response or log line.
 */
import assert from "node:assert/strict";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { PortInUseError, startServe } from "../../server/serve.ts";
import { defaultCredentials } from "@krakked/sim";
import { startWith, TRADING } from "./_serve_harness.ts";

const args = parseServeArgs(["--sim", "--port", "0", "--seed", "3"]);
if (args.kind !== "serve") throw new Error("bad args");

async function withServer(
  fn: (url: string, logs: string[], said: string[]) => Promise<void>,
) {
  const staticDir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${staticDir}/index.html`,
    "<!doctype html><title>Krakked</title>",
  );
  await Deno.writeTextFile(`${staticDir}/app.js`, "export {};");
  const logs: string[] = [];
  const said: string[] = [];
  const running = await startServe(
    args as Extract<typeof args, { kind: "serve" }>,
    {
      staticDir,
      configText: "market_data:\n  ws:\n    stale_tolerance_seconds: 30\n",
      logSink: (l) => logs.push(l),
      say: (l) => said.push(l),
      env: () => undefined,
    },
  );
  try {
    await fn(running.url, logs, said);
  } finally {
    await running.close();
    await Deno.remove(staticDir, { recursive: true });
  }
}

async function sessionCookie(url: string): Promise<string> {
  const res = await fetch(`${url}/`);
  await res.body?.cancel();
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0]!;
}

Deno.test("serve --sim serves the page, the public proxy and guarded private routes over loopback", async (t) => {
  await withServer(async (url, logs) => {
    const bodies: string[] = [];
    const read = async (res: Response) => {
      const text = await res.text();
      bodies.push(text);
      return text;
    };
    await t.step("the page and its assets", async () => {
      const res = await fetch(`${url}/app.js`);
      assert.equal(res.status, 200);
      assert.ok(res.headers.get("etag"));
      await read(res);
    });
    await t.step(
      "config says SIMULATED and private data is available",
      async () => {
        const config = JSON.parse(await read(await fetch(`${url}/api/config`)));
        assert.equal(config.mode, "sim");
        assert.equal(config.simulated, true);
        assert.equal(config.privateData, true);
        assert.equal(config.staleToleranceSec, 30);
        assert.match(config.wsPublicUrl, /^ws:\/\/127\.0\.0\.1:\d+\/v2$/);
      },
    );
    await t.step("public proxy returns Kraken-shaped data", async () => {
      const body = JSON.parse(
        await read(await fetch(`${url}/api/public/Ticker?pair=XBTUSD`)),
      );
      assert.deepEqual(body.error, []);
      assert.match(body.result.XXBTZUSD.c[0], /^\d+\.\d{5}$/);
      const ohlc = JSON.parse(
        await read(
          await fetch(`${url}/api/public/OHLC?pair=XBTUSD&interval=60`),
        ),
      );
      assert.ok(ohlc.result.XXBTZUSD.length > 100);
      assert.equal(typeof ohlc.result.last, "number");
    });
    await t.step(
      "50 concurrent identical public requests make one upstream call",
      async () => {
        const before =
          JSON.parse(await read(await fetch(`${url}/api/status`))).proxy;
        const answers = await Promise.all(
          Array.from(
            { length: 50 },
            () =>
              fetch(`${url}/api/public/Depth?pair=ETHUSD&count=10`).then(read),
          ),
        );
        const after =
          JSON.parse(await read(await fetch(`${url}/api/status`))).proxy;
        assert.equal(after.upstreamCalls - before.upstreamCalls, 1);
        assert.equal(after.requests - before.requests, 50);
        assert.equal(
          new Set(answers).size,
          1,
          "every caller got the same answer",
        );
        assert.ok(JSON.parse(answers[0]!).result.XETHZUSD.asks.length === 10);
      },
    );
    await t.step("a method off the allowlist is refused", async () => {
      const res = await fetch(`${url}/api/public/WithdrawInfo`);
      assert.equal(res.status, 400);
      await read(res);
    });
    const cookie = await sessionCookie(url);
    await t.step(
      "private routes reject a missing session, a foreign Origin and a non-loopback Host",
      async () => {
        const noCookie = await fetch(`${url}/api/private/balance`);
        assert.equal(noCookie.status, 401);
        await read(noCookie);
        const foreign = await fetch(`${url}/api/private/balance`, {
          headers: { cookie, origin: "http://evil.example" },
        });
        assert.equal(foreign.status, 403);
        await read(foreign);
        // fetch() may not override Host: speak HTTP/1.1 on a raw socket, as a
        // DNS-rebinding page's browser would (Host: evil.example).
        const port = Number(new URL(url).port);
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode(
          `GET /api/private/balance HTTP/1.1\r\nHost: evil.example\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        ));
        let raw = "";
        const buf = new Uint8Array(4096);
        for (
          let n = await conn.read(buf);
          n !== null;
          n = await conn.read(buf)
        ) {
          raw += new TextDecoder().decode(buf.subarray(0, n));
        }
        conn.close();
        assert.match(raw, /^HTTP\/1\.1 421/);
        bodies.push(raw);
      },
    );
    await t.step(
      "the page's own requests get the simulated account",
      async () => {
        const balance = JSON.parse(
          await read(
            await fetch(`${url}/api/private/balance`, {
              headers: { cookie, origin: url },
            }),
          ),
        );
        assert.ok(balance.result.ZUSD.balance);
        const orders = JSON.parse(
          await read(
            await fetch(`${url}/api/private/open-orders`, {
              headers: { cookie },
            }),
          ),
        );
        assert.ok(Object.keys(orders.result.open).length > 0);
      },
    );
    await t.step(
      "the private stream relays balances and executions without the WS token",
      async () => {
        const controller = new AbortController();
        const bound = setTimeout(() => controller.abort(), 15_000);
        const res = await fetch(`${url}/api/private/events`, {
          headers: { cookie },
          signal: controller.signal,
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "text/event-stream");
        const reader = res.body!.pipeThrough(new TextDecoderStream())
          .getReader();
        let text = "";
        try {
          while (
            !(text.includes("event: balances") &&
              text.includes("event: executions"))
          ) {
            const { value, done } = await reader.read();
            if (done) break;
            text += value;
          }
        } catch (error) {
          assert.fail(
            `no account events within the bound (${String(error)}): ${
              JSON.stringify(text.slice(0, 200))
            }`,
          );
        } finally {
          clearTimeout(bound);
        }
        controller.abort();
        await reader.cancel().catch(() => {});
        bodies.push(text);
        assert.match(
          text,
          /event: balances\ndata: \{"type":"balances","kind":"snapshot"/,
        );
        assert.doesNotMatch(text, /"token"/);
        const status = JSON.parse(await read(await fetch(`${url}/api/status`)));
        assert.equal(status.privateStream, "open");
      },
    );
    await t.step(
      "no response or log line holds a credential, token or the session",
      () => {
        const session = cookie.split("=")[1]!;
        const joined = bodies.join("\n") + logs.join("\n");
        // The simulator's credentials are derived from the seed (3).
        const { apiKey, apiSecret } = defaultCredentials(3);
        assert.ok(!joined.includes(apiKey), "the API key leaked");
        assert.ok(!joined.includes(apiSecret), "the API secret leaked");
        assert.ok(!joined.includes("API-Sign"));
        assert.ok(!logs.join("\n").includes(session));
        for (const line of logs) {
          const entry = JSON.parse(line);
          if (entry.msg === "request") assert.ok(!entry.path.includes("?"));
        }
      },
    );
  });
});

Deno.test("serve refuses a non-loopback bind without a token", async () => {
  const bad = parseServeArgs(["--sim", "--host", "0.0.0.0", "--port", "0"]);
  assert.ok(bad.kind === "serve");
  await assert.rejects(
    () =>
      startServe(bad, {
        configText: "",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
      }),
    /Refusing to bind 0\.0\.0\.0 without --token/,
  );
});

Deno.test({
  name:
    "serve closes what the earlier steps started when a late step fails (port in use)",
  // Deno 2.9 runs the sanitizers only when asked: they fail this test if
  // a socket, timer or pending op outlives it.
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  // The simulator, the REST client, the private stream, the book feed and
  // the order service are all running when listening fails.
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const said: string[] = [];
  await assert.rejects(
    () =>
      startServe({
        host: "127.0.0.1",
        port: taken.addr.port,
        token: undefined,
        sim: true,
        seed: 3,
        live: false,
      }, {
        staticDir: "/nonexistent-krakked-page",
        configText: "",
        logSink: () => {},
        say: (l) => said.push(l),
        env: () => undefined,
      }),
    (error: unknown) => {
      // The error names the port and the flag that picks another.
      assert.ok(error instanceof PortInUseError, String(error));
      assert.ok(error.cause instanceof Deno.errors.AddrInUse);
      assert.match(
        error.message,
        new RegExp(`Port ${taken.addr.port} on 127\\.0\\.0\\.1 .*--port`),
      );
      return true;
    },
  );
  assert.ok(
    said.some((l) => l.startsWith("Trading: ")),
    "the failure came after the order service started",
  );
});

Deno.test({
  name: "serve --sim --sim-port N pins the simulator's port",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  // A free port: bind one, note it, let it go.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const simPort = probe.addr.port;
  probe.close();
  const args = parseServeArgs([
    "--sim",
    "--port",
    "0",
    "--sim-port",
    String(simPort),
  ]);
  assert.ok(args.kind === "serve");
  assert.equal(args.simPort, simPort);
  const options = {
    staticDir: "/nonexistent-krakked-page",
    configText: "",
    logSink: () => {},
    say: () => {},
    env: () => undefined,
  };
  const running = await startServe(args, options);
  try {
    // Page requests are answered within a deadline, queue and retries included.
    assert.equal(running.rest.deadlineMs, 30_000);
    assert.equal(running.simUrl, `http://127.0.0.1:${simPort}`);
    const res = await fetch(`${running.simUrl}/0/public/Time`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await running.close();
  }
  assert.deepEqual(parseServeArgs(["--sim-port", "9000"]), {
    kind: "usage_error",
    message: "--sim-port only works with --sim",
  });
});

// Without the sanitizers: the simulator leaves its engine's timer running
// when its own bind fails (server/sim, reported separately).
Deno.test("a taken --sim-port is named with the flag that picks another", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const args = parseServeArgs([
    "--sim",
    "--port",
    "0",
    "--sim-port",
    String(taken.addr.port),
  ]);
  assert.ok(args.kind === "serve");
  await assert.rejects(
    () =>
      startServe(args, {
        staticDir: "/nonexistent-krakked-page",
        configText: "",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
      }),
    (error: unknown) =>
      error instanceof PortInUseError && error.port === taken.addr.port &&
      error.flag === "--sim-port" &&
      error.message.includes(`--sim-port ${taken.addr.port + 1}`),
  );
});

Deno.test("live serve holds one private WS connection for the orders and the page", async () => {
  const s = await startWith(
    TRADING("  mode: live\n  enable_live_orders: true\n"),
    { live: true },
  );
  try {
    assert.equal((await s.get("/api/config")).body.trading.liveArmed, true);
    const controller = new AbortController();
    const res = await fetch(`${s.url}/api/private/events`, {
      headers: { cookie: s.cookie },
      signal: controller.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (
      !(text.includes("event: balances") && text.includes("event: executions"))
    ) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    controller.abort();
    await reader.cancel().catch(() => {});
    assert.match(text, /event: executions\ndata: \{"type":"executions"/);
    assert.equal((await s.get("/api/status")).body.privateStream, "open");
    // Every private WS connection fetches its own token (WS_V2.md §1.3):
    // one token, one connection, shared by the order service and the relay.
    assert.equal(s.running.simulator?.tokens.size, 1);
  } finally {
    await s.close();
  }
});
