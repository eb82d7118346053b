/**
 * The ops monitor against the real server (`serve --sim`): its counters
 * match the simulator's own after a burst, a forced reconnect shows with
 * its reason, one order's trail is complete in `krakked logs --order`, and
 * request ids are echoed.
 *
 * @module
 */
import node from "node:assert/strict";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { main } from "../../server/main.ts";
import {
  orderTrail,
  parseLogLines,
  runLogs,
} from "../../server/cli/logs_cmd.ts";
import type { CliIo } from "../../server/cli/io.ts";
import {
  parseStatusArgs,
  SERVER_SECTION,
  type StatusInputs,
} from "../../server/cli/status_cmd.ts";

// deno-lint-ignore no-explicit-any -- JSON answers, asserted field by field
type Json = any;

const LIVE = `connection:
  api_tier: pro
server:
  log_success_sample: 1
trading:
  mode: live
  enable_live_orders: true
  dead_man_seconds: 60
  max_notional_usd: 500
  max_position_notional_usd: 1000000
`;

async function start(configText: string) {
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/serve.log`;
  const args = parseServeArgs([
    "--sim",
    "--port",
    "0",
    "--seed",
    "5",
    "--live",
    "--log-file",
    logFile,
  ]);
  if (args.kind !== "serve") throw new Error("bad args");
  await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html>");
  const running = await startServe(args, {
    staticDir: dir,
    configText,
    logSink: () => {},
    say: () => {},
    env: () => undefined,
    paperPath: `${dir}/paper.json`,
  });
  const page = await fetch(`${running.url}/`);
  await page.body?.cancel();
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers: {
        cookie,
        ...(method === "GET" ? {} : { origin: running.url }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: res.status,
      rid: res.headers.get("x-request-id"),
      body: await res.json() as Json,
    };
  };
  return {
    running,
    logFile,
    cookie,
    call,
    ops: async () => (await call("GET", "/api/ops")).body as Json,
    async close() {
      await running.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  tries = 100,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function captureIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: () => undefined,
    interactive: false,
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
    promptLine: () => undefined,
    promptSecret: () => Promise.resolve(undefined),
    now: Date.now,
    os: "linux",
  };
}

Deno.test("ops: counters, reconnects, request ids and one order's trail", async (t) => {
  const s = await start(LIVE);
  try {
    await t.step(
      "request ids: a sane one is echoed, others are minted",
      async () => {
        const kept = await s.call("GET", "/api/health", undefined, {
          "x-request-id": "trace-42.a",
        });
        node.equal(kept.rid, "trace-42.a");
        const bad = await s.call("GET", "/api/health", undefined, {
          "x-request-id": "no spaces <allowed>",
        });
        node.ok(bad.rid !== null && bad.rid !== "no spaces <allowed>");
        const a = await s.call("GET", "/api/health");
        const b = await s.call("GET", "/api/health");
        node.ok(a.rid !== b.rid, "each request gets its own id");
      },
    );

    await t.step(
      "the REST counter matches the simulator's after a burst",
      async () => {
        // Start-up reads (account hydration, resyncs) settle first: the
        // counter is compared only while nothing else calls.
        let calls = -1;
        await until("a quiet REST counter", async () => {
          const ops = await s.ops();
          const quiet = ops.upstream.calls === calls && ops.rest.level < 4 &&
            ops.rest.queued === 0;
          calls = ops.upstream.calls;
          return quiet;
        }, 300);
        for (let i = 0; i < 6; i++) {
          const r = await s.call("GET", "/api/private/balance");
          node.equal(r.status, 200, JSON.stringify(r.body));
        }
        const ops = await s.ops();
        const sim = s.running.simulator!.keys.counter("key-1")!;
        node.ok(sim !== undefined);
        node.equal(ops.tier, "pro");
        node.equal(ops.rest.max, sim.max);
        // Both decay at the same rate; they were read a moment apart.
        const drift = Math.abs(ops.rest.level - sim.level);
        node.ok(
          drift <= 0.5,
          `ops ${ops.rest.level} vs simulator ${sim.level}`,
        );
        node.ok(ops.rest.level >= 1, "the burst shows on the counter");
        node.ok(ops.upstream.byMethod.BalanceEx >= 6);
        node.equal(ops.rest.queued, 0);
        node.ok(ops.public.max > 0);
      },
    );

    await t.step(
      "one order's trail: request, REST call, ack, execution, fill",
      async () => {
        const depth = await s.call(
          "GET",
          "/api/public/Depth?pair=XBTUSD&count=1",
        );
        const book = Object.values(depth.body.result)[0] as Json;
        const ask = Number(book.asks[0][0]);
        const placed = await s.call("POST", "/api/orders", {
          pair: "XBTUSD",
          side: "buy",
          type: "market",
          volume: "0.001",
          stopLoss: (ask * 0.95).toFixed(1),
        });
        node.equal(placed.status, 200, JSON.stringify(placed.body));
        const key = placed.body.order?.key ?? placed.body.key;
        node.ok(typeof key === "string", JSON.stringify(placed.body));
        // The fill arrives over the private stream.
        await until("the fill in the ops view", async () => {
          const ops = await s.ops();
          return ops.orders.some((e: Json) =>
            e.order === key && (e.type === "fill" || /filled/.test(e.detail))
          );
        });
        await until("the fill in the log file", async () => {
          const text = await Deno.readTextFile(s.logFile);
          return orderTrail(parseLogLines(text), key).entries.some((e) =>
            e.msg === "order fill" || e.to === "filled"
          );
        });
        const io = captureIo();
        const code = await runLogs(
          { kind: "logs", order: key, logFile: s.logFile, json: true },
          io,
        );
        node.equal(code, 0, io.err.join(""));
        const trail = JSON.parse(io.out.join(""));
        const msgs: string[] = trail.entries.map((e: Json) => e.msg);
        // The HTTP request that placed it, by its correlation id.
        const request = trail.entries.find((e: Json) =>
          e.msg === "request" && e.rid === placed.rid
        );
        node.ok(request, `request line with rid ${placed.rid}: ${msgs}`);
        node.equal(request.path, "/api/orders");
        // Its REST AddOrder, naming the order and carrying the same rid.
        const add = trail.entries.find((e: Json) =>
          e.msg === "upstream" && e.call === "AddOrder"
        );
        node.ok(add, `AddOrder line: ${msgs}`);
        node.equal(add.order, key);
        node.equal(add.rid, placed.rid);
        // Lifecycle: acknowledged with a Kraken id, then filled.
        const states = trail.entries.filter((e: Json) =>
          e.msg === "order state"
        );
        node.ok(states.some((e: Json) => typeof e.orderId === "string"));
        node.ok(
          states.some((e: Json) => e.to === "filled"),
          JSON.stringify(states),
        );
        node.ok(trail.orderIds.length >= 1);
        // Text output names the same lines.
        const textIo = captureIo();
        node.equal(
          await runLogs(
            {
              kind: "logs",
              order: trail.orderIds[0],
              logFile: s.logFile,
              json: false,
            },
            textIo,
          ),
          0,
        );
        const text = textIo.out.join("");
        node.ok(text.includes("AddOrder") && text.includes("filled"), text);
        // Another order's id finds nothing.
        await node.rejects(
          runLogs(
            {
              kind: "logs",
              order: "userref:999999",
              logFile: s.logFile,
              json: false,
            },
            captureIo(),
          ),
          /No log line .* names order userref:999999/,
        );
        // The trading-engine counter of the pair is listed.
        const ops = await s.ops();
        node.ok(
          Object.keys(ops.trading).length >= 1,
          JSON.stringify(ops.trading),
        );
        node.equal(ops.deadMan?.phase !== undefined, true);
      },
    );

    await t.step(
      "a book checksum failure and its resync, per pair",
      async () => {
        // The order above made the book feed watch BTC/USD.
        const res = await fetch(`${s.running.simUrl}/_sim/ws/faults`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            action: "corruptChecksum",
            symbol: "BTC/USD",
          }),
        });
        await res.body?.cancel();
        node.equal(res.status, 200);
        await until("the resync in the ops view", async () => {
          const pub = (await s.ops()).connections.find((c: Json) =>
            c.name === "public"
          );
          const book = pub.books.find((b: Json) => b.symbol === "BTC/USD");
          return book !== undefined && book.checksumFailures >= 1 &&
            book.resyncs >= 1;
        });
      },
    );

    await t.step("a forced reconnect appears with its reason", async () => {
      const before = (await s.ops()).connections.find((c: Json) =>
        c.name === "auth"
      );
      node.ok(before, "the private connection is watched");
      const res = await fetch(`${s.running.simUrl}/_sim/ws/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "drop", scope: "private", code: 4001 }),
      });
      await res.body?.cancel();
      node.equal(res.status, 200);
      await until("the reconnect", async () => {
        const auth = (await s.ops()).connections.find((c: Json) =>
          c.name === "auth"
        );
        return auth.reconnects > before.reconnects && auth.state === "open";
      });
      const auth = (await s.ops()).connections.find((c: Json) =>
        c.name === "auth"
      );
      node.ok(
        auth.reasons.some((r: Json) => /4001/.test(r.reason)),
        JSON.stringify(auth.reasons),
      );
    });

    await t.step("status --ops reads the server's snapshot", async () => {
      node.deepEqual(parseStatusArgs(["--json"]), {
        kind: "status",
        json: true,
        watch: false,
        updates: undefined,
      });
      node.equal((parseStatusArgs(["--ops"]) as Json).ops, true);
      node.equal(
        parseStatusArgs(["--server", "not a url"]).kind,
        "usage_error",
      );
      const ctx = { config: { server: { host: "127.0.0.1", port: 9 } } };
      const inputs = (serverUrl?: string) =>
        ({
          ctx,
          now: Date.now,
          ...(serverUrl ? { serverUrl } : {}),
        }) as unknown as StatusInputs;
      const block = await SERVER_SECTION.read(inputs(s.running.url));
      node.equal(block.json.running, true);
      node.equal(block.json.tier, "pro");
      node.match(String(block.json.requestId), /^status-[0-9a-f]{12}$/);
      const text = block.lines.join("\n");
      node.match(text, /^http:\/\/127\.0\.0\.1:\d+ \(tier pro\)/);
      node.match(text, /\nREST \d+\.\d\/20 /);
      node.match(text, /\nWS public open/);
      node.match(text, /\nWS auth open .*1 reconnect .*4001/);
      node.match(text, /\ndead-man switch /);
      const down = await SERVER_SECTION.read(inputs());
      node.equal(down.json.running, false);
      node.match(down.lines[0]!, /not answering at http:\/\/127\.0\.0\.1:9/);
    });

    await t.step(
      "krakked status --ops: through the guard, its id on the server's request lines",
      async () => {
        const dir = await Deno.makeTempDir();
        try {
          await Deno.writeTextFile(
            `${dir}/config.yaml`,
            `connection:\n  rest_url: ${s.running.simUrl}\n`,
          );
          const io = captureIo();
          const code = await main(
            ["status", "--ops", "--server", s.running.url, "--json"],
            { ...io, env: (n) => n === "KRAKKED_CONFIG_DIR" ? dir : undefined },
          );
          node.equal(code, 0, io.err.join(""));
          const report = JSON.parse(io.out.join(""));
          node.equal(report.server.running, true, JSON.stringify(report));
          node.equal(report.server.tier, "pro");
          const id = report.server.requestId;
          node.match(id, /^status-[0-9a-f]{12}$/);
          // The session came from the page load; both requests carry the
          // command's id on the server's request lines.
          await until("the request lines in the log file", async () => {
            const lines = parseLogLines(await Deno.readTextFile(s.logFile));
            const paths = lines.filter((l) =>
              l.msg === "request" && l.rid === id
            ).map((l) => `${l.path} ${l.status}`);
            return paths.includes("/ 200") && paths.includes("/api/ops 200");
          });
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step(
      "the ops topic of the event stream: a snapshot, then changed sections",
      async () => {
        const res = await fetch(
          `${s.running.url}/api/private/events?topics=ops`,
          { headers: { cookie: s.cookie } },
        );
        node.equal(res.status, 200);
        node.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
        const reader = res.body!.pipeThrough(new TextDecoderStream())
          .getReader();
        let text = "";
        const events = () =>
          text.split("\n\n").filter((e) => e.startsWith("event: ops\n"))
            .map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)));
        // A REST call between the first and a later push changes the
        // upstream section; the sections that did not change stay out.
        let called = false;
        while (events().length < 3) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
          if (!called && events().length >= 1) {
            called = true;
            node.equal(
              (await s.call("GET", "/api/private/balance")).status,
              200,
            );
          }
        }
        await reader.cancel();
        const [first, ...later] = events();
        node.ok(first, text);
        // The first is the whole snapshot, the numbers /api/ops reads.
        const keys = Object.keys(await s.ops()).sort();
        node.deepEqual(Object.keys(first).sort(), keys);
        node.equal(typeof first.rest.level, "number");
        for (const delta of later) {
          node.equal(typeof delta.atMs, "number");
          node.ok(
            Object.keys(delta).every((k) => keys.includes(k)),
            JSON.stringify(Object.keys(delta)),
          );
          // The tier never changes, so no delta repeats it.
          node.equal(delta.tier, undefined);
        }
        node.ok(
          later.some((d) => d.upstream !== undefined),
          "the balance call shows as an upstream delta",
        );
        // A growing uptime alone does not resend the connections: the
        // page derives it from openedAtMs.
        node.ok(
          later.some((d) => d.connections === undefined),
          JSON.stringify(later.map((d) => Object.keys(d))),
        );
        for (const c of first.connections) {
          if (c.state === "open") {
            node.equal(c.uptimeMs, first.atMs - c.openedAtMs);
          }
        }
        // No event of the account topic was asked for.
        node.ok(!/event: (executions|balances)/.test(text));
      },
    );

    await t.step(
      "ops numbers are private: no session, no answer (the standard JSON error)",
      async () => {
        for (
          const path of [
            "/api/ops",
            "/api/private/events?topics=ops",
            "/api/private/events?topics=account,ops",
          ]
        ) {
          const bare = await fetch(`${s.running.url}${path}`);
          node.equal(bare.status, 401, path);
          const body = await bare.json();
          node.equal(body.error.code, "session_required", path);
          node.equal(typeof body.error.message, "string");
          // Another site's page, even with the cookie, is refused.
          const cross = await fetch(`${s.running.url}${path}`, {
            headers: { cookie: s.cookie, "sec-fetch-site": "cross-site" },
          });
          node.equal(cross.status, 403, path);
          node.equal((await cross.json()).error.code, "cross_origin");
        }
        // The separate stream is gone: one event stream carries ops.
        const old = await s.call("GET", "/api/ops/events");
        node.equal(old.status, 404);
        const bad = await s.call("GET", "/api/private/events?topics=ops,x");
        node.equal(bad.status, 400);
        node.equal(bad.body.error.code, "bad_param");
      },
    );
  } finally {
    await s.close();
  }
});
