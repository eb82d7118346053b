/**
 * Correlation ids of CLI runs, against the simulator behind a recording
 * proxy: every upstream REST call and WebSocket handshake of a run carries
 * that run's id (`X-Request-Id`), every log line of the run (JSON lines in
 * `KRAKKED_LOG_FILE`) names it as `rid`, a failure prints it, and no two
 * runs share one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startSimulatorWithWs } from "@krakked/sim";
import {
  CliHarness,
  leakedSecrets,
  LIVE_CONFIG,
  marketClock,
  simQuote,
} from "./_harness.ts";

/** One request the proxy passed on. */
interface Seen {
  path: string;
  id: string | null;
  ws: boolean;
}

/**
 * A loopback proxy in front of the simulator that records each request's
 * `X-Request-Id` (REST and the WebSocket handshake) and forwards it
 * (WebSocket frames both ways).
 */
function recordingProxy(target: string) {
  const seen: Seen[] = [];
  const sockets = new Set<WebSocket>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url);
      const id = request.headers.get("x-request-id");
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        seen.push({ path: url.pathname, id, ws: true });
        const { socket, response } = Deno.upgradeWebSocket(request);
        const upstream = new WebSocket(
          `${target.replace(/^http/, "ws")}${url.pathname}`,
        );
        sockets.add(socket).add(upstream);
        const queued: string[] = [];
        upstream.onopen = () =>
          queued.splice(0).forEach((m) => upstream.send(m));
        upstream.onmessage = (e) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(e.data);
        };
        socket.onmessage = (e) => {
          if (upstream.readyState === WebSocket.OPEN) upstream.send(e.data);
          else queued.push(e.data);
        };
        socket.onclose = () => upstream.close();
        upstream.onclose = () => {
          if (socket.readyState === WebSocket.OPEN) socket.close();
        };
        return response;
      }
      seen.push({ path: url.pathname, id, ws: false });
      const body = request.method === "GET" ? undefined : await request.text();
      const headers = new Headers(request.headers);
      headers.delete("host");
      const answer = await fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      return new Response(await answer.arrayBuffer(), {
        status: answer.status,
        headers: { "content-type": answer.headers.get("content-type") ?? "" },
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async close() {
      for (const s of sockets) s.close();
      await server.shutdown();
    },
  };
}

// deno-lint-ignore no-explicit-any -- log lines, asserted field by field
type Line = Record<string, any>;

Deno.test("each CLI run has its own correlation id upstream, in its log lines and on its error", async () => {
  await using sim = await startSimulatorWithWs({ now: marketClock() });
  const proxy = recordingProxy(sim.url);
  const wsUrl = proxy.url.replace(/^http/, "ws");
  await using h = await CliHarness.start({
    restUrl: proxy.url,
    extraConfig:
      `  ws_public_url: ${wsUrl}/v2\n  ws_auth_url: ${wsUrl}/auth/v2\n`,
  });
  const logFile = join(h.dir, "cli.log");
  const secret = sim.credentials.apiSecret.reveal();
  const env = {
    KRAKKED_LOG_FILE: logFile,
    KRAKEN_API_KEY: sim.credentials.apiKey,
    KRAKEN_API_SECRET: secret,
  };
  try {
    const runs = [
      { argv: ["ticker", "XBTUSD", "--json"], code: 0 },
      { argv: ["balance", "--json"], code: 0 },
      { argv: ["status"], code: 0 },
      { argv: ["ticker", "XBTUSD"], code: 0 },
      {
        argv: ["orderbook", "BTC/USD", "--watch", "--updates", "1", "--json"],
        code: 0,
      },
      { argv: ["ticker", "NOSUCHPAIR"], code: 2 },
    ];
    const results = [];
    for (const { argv, code } of runs) {
      const before = proxy.seen.length;
      const run = await h.run(argv, { env });
      assert.equal(run.code, code, `${argv.join(" ")}: ${run.stderr}`);
      results.push({ argv, run, seen: proxy.seen.slice(before) });
    }

    const lines: Line[] = (await Deno.readTextFile(logFile)).trimEnd()
      .split("\n").map((l) => JSON.parse(l));
    const starts = lines.filter((l) => l.msg === "command");
    assert.equal(starts.length, runs.length, "one start line per run");
    const ids = starts.map((l) => l.rid as string);
    assert.equal(new Set(ids).size, ids.length, "no two runs share an id");

    for (const [i, { argv, run, seen }] of results.entries()) {
      const id = ids[i]!;
      assert.equal(starts[i]!.command, argv[0]);
      assert.match(id, new RegExp(`^${argv[0]}-[0-9a-f]{12}$`));
      // Every upstream call of the run carried its id, and only its id.
      assert.ok(seen.length >= 1, `${argv.join(" ")} called upstream`);
      for (const s of seen) {
        assert.equal(s.id, id, `${argv.join(" ")}: ${s.path}`);
      }
      // Every log line of the run names it; the upstream lines match the
      // calls the proxy saw.
      const mine = lines.filter((l) => l.rid === id);
      const upstream = mine.filter((l) => l.msg === "upstream");
      assert.equal(
        upstream.length,
        seen.filter((s) => !s.ws).length,
        `${argv.join(" ")}: ${JSON.stringify(upstream)}`,
      );
      for (const l of upstream) {
        assert.equal(typeof l.call, "string");
        assert.ok(String(l.uid).startsWith(`${id}-u`), l.uid);
      }
      const end = mine.at(-1)!;
      if (run.code === 0) {
        assert.equal(end.msg, "command done");
        assert.equal(end.exitCode, 0);
        assert.ok(!run.stderr.includes(id));
      } else {
        // The failure prints the id the log lines carry.
        assert.equal(end.msg, "command failed");
        // (its first line; the command's help follows a usage error)
        assert.ok(
          run.stderr.split("\n")[0]!.endsWith(` (id ${id})`),
          run.stderr,
        );
      }
    }
    // Every line of the file belongs to one of the runs.
    assert.deepEqual(lines.filter((l) => !ids.includes(l.rid)), []);

    // The WebSocket handshake of the watch carried its run's id too.
    const watch = results[4]!;
    const handshake = watch.seen.filter((s) => s.ws);
    assert.equal(handshake.length >= 1, true, JSON.stringify(watch.seen));
    assert.ok(
      lines.some((l) => l.rid === ids[4] && l.msg === "ws open"),
      "the socket's open is logged with the run's id",
    );
    // A private call's log lines hold no secret, and the JSON error of a
    // failing --json run has the id too.
    assert.deepEqual(
      leakedSecrets([await Deno.readTextFile(logFile)], [secret]),
      [],
    );
    const failed = await h.run(["ticker", "NOSUCHPAIR", "--json"], { env });
    const error = JSON.parse(failed.stdout).error;
    assert.match(error.id, /^ticker-[0-9a-f]{12}$/);
    assert.ok(!ids.includes(error.id));
  } finally {
    await proxy.close();
  }
});

Deno.test("a bad KRAKKED_LOG is a usage error that still names the run", async () => {
  await using h = await CliHarness.start({ restUrl: "http://127.0.0.1:9" });
  const run = await h.run(["ticker", "XBTUSD"], {
    env: { KRAKKED_LOG: "loud" },
  });
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /^krakked ticker: KRAKKED_LOG must be one of debug, info, warn, error, not "loud" \(id ticker-[0-9a-f]{12}\)\n/,
  );
});

Deno.test("a refused order, cancel and close name their run, in text and in --json", async () => {
  // read_only (the default mode): every trading command is refused by rule.
  await using h = await CliHarness.start({});
  const runs: [string[], string][] = [
    [["order", "buy", "XBTUSD", "0.001", "--stop-loss", "1000"], "order"],
    [["cancel", "--all"], "cancel"],
    [["close", "XBTUSD", "--all"], "close"],
  ];
  for (const [args, name] of runs) {
    const text = await h.run(args);
    assert.equal(text.code, 1, text.stderr);
    assert.match(
      text.stderr,
      new RegExp(`REJECTED \\([a-z_]+\\): .* \\(id ${name}-[0-9a-f]{12}\\)\\n`),
      `${name}: ${text.stderr}`,
    );
    const json = await h.run([...args, "--json"]);
    assert.equal(json.code, 1, json.stderr);
    const error = (JSON.parse(json.stdout) as {
      error: { category: string; id?: string };
    }).error;
    assert.equal(error.category, "order_rejected");
    assert.match(error.id ?? "", new RegExp(`^${name}-[0-9a-f]{12}$`));
  }
});

Deno.test("a CLI-placed order's trail: krakked logs --order finds the run that placed it", async () => {
  await using h = await CliHarness.start({
    extraConfig: `${LIVE_CONFIG}  max_position_notional_usd: 100000000\n` +
      "  max_notional_usd: 100000\n",
  });
  const logFile = join(h.dir, "cli.log");
  const env = { ...h.simCredentialsEnv, KRAKKED_LOG_FILE: logFile };
  const { ask } = await simQuote(h.restUrl);
  const placed = await h.run([
    "order",
    "buy",
    "XBTUSD",
    "0.001",
    "--stop-loss",
    (ask * 0.95).toFixed(1),
    "--live",
    "--json",
  ], { env });
  assert.equal(placed.code, 0, placed.stderr);
  const order = JSON.parse(placed.stdout).order;
  assert.equal(typeof order.orderId, "string", placed.stdout);
  // By its Kraken id: the AddOrder line names both ids, and the run's id
  // brings in every line of the run that placed it.
  const found = await h.run([
    "logs",
    "--order",
    order.orderId,
    "--log-file",
    logFile,
    "--json",
  ], { env });
  assert.equal(found.code, 0, found.stderr);
  const trail = JSON.parse(found.stdout);
  const entries = trail.entries as Line[];
  const add = entries.find((e) =>
    e.msg === "upstream" && e.call === "AddOrder"
  );
  assert.ok(add, JSON.stringify(entries));
  assert.equal(add.order, order.key);
  assert.equal(add.orderId, order.orderId);
  assert.match(add.rid, /^order-[0-9a-f]{12}$/);
  assert.deepEqual(trail.requestIds, [add.rid]);
  assert.ok(
    entries.some((e) =>
      e.msg === "command" && e.command === "order" && e.rid === add.rid
    ),
  );
  assert.ok(
    entries.some((e) => e.msg === "command done" && e.rid === add.rid),
  );
  // Nothing of another run is in it.
  assert.deepEqual(entries.filter((e) => e.rid !== add.rid), []);
});
