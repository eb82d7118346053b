/**
 * One redaction boundary for everything that leaves the server: against an
 * upstream that echoes every request back in every field (error strings,
 * results, result keys, headers; raw, JSON-escaped, `\/` and
 * percent-encoded), the API key, the secret, every API-Sign, every nonce
 * and the master password appear 0 times in every output, over every
 * failure path: HTTP answers (status, headers, bodies), the SSE stream, the
 * server log and notes, and the CLI's stdout and stderr.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServe } from "../../server/serve.ts";
import { ECHO_MODES, EchoUpstream, spellings } from "../fakes/echo_upstream.ts";
import { CliHarness, LIVE_CONFIG } from "./cli/_harness.ts";

// A key with characters JSON and URLs escape; a valid base64 secret with
// `/` and `+`, which PHP-style JSON writes as `\/`.
const KEY = 'echo"Key/+=' + "k".repeat(45);
const SECRET = "c2Vj+/cm" + "QUJD".repeat(20) + "ZA==";
const PASSWORD = "correct horse echo password";
const ENV: Record<string, string> = {
  KRAKEN_API_KEY: KEY,
  KRAKEN_API_SECRET: SECRET,
  KRAKKED_MASTER_PASSWORD: PASSWORD,
};

/** Every form of a fixed secret a leak could take. */
const FIXED = [KEY, SECRET, PASSWORD].flatMap(spellings);

function leaks(outputs: Map<string, string>, needles: string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of outputs) {
    for (const needle of needles) {
      if (text.includes(needle)) found.push(`${where}: ${needle}`);
    }
  }
  return found;
}

Deno.test("an echoing upstream leaks no key, secret, signature, nonce or password through the server", async () => {
  assert.ok(SECRET.includes("/") && SECRET.includes("+"));
  await using echo = await EchoUpstream.start();
  const staticDir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(staticDir, "index.html"), "<!doctype html>");
  const log: string[] = [];
  const outputs = new Map<string, string>();
  const running = await startServe({
    host: "127.0.0.1",
    port: 0,
    token: undefined,
    sim: false,
    seed: undefined,
    live: true,
  }, {
    staticDir,
    configText: `connection:
  rest_url: ${echo.url}
  ws_public_url: ${echo.wsUrl}
  ws_auth_url: ${echo.wsUrl}
  timeout_ms: 2000
  api_tier: pro
${LIVE_CONFIG}`,
    logSink: (line) => log.push(line),
    say: (line) => log.push(line),
    env: (name) => name === "KRAKKED_CONFIG_DIR" ? staticDir : ENV[name],
    paperPath: join(staticDir, "paper.json"),
    // One attempt: every failure path once, without back-off between them.
    restRetry: { maxAttempts: 1 },
  });
  try {
    const page = await fetch(`${running.url}/`);
    await page.body?.cancel();
    const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;
    const origin = running.url;
    const call = async (
      label: string,
      method: string,
      path: string,
      body?: unknown,
    ) => {
      const res = await fetch(`${running.url}${path}`, {
        method,
        headers: {
          cookie,
          origin,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      outputs.set(
        `${label} ${method} ${path}`,
        `${res.status} ${JSON.stringify([...res.headers])} ${text}`,
      );
      return res.status;
    };
    for (const mode of ECHO_MODES) {
      echo.mode = mode;
      // Two of the six private reads per mode, a different pair each time
      // (the server paces private calls like Kraken: not too many).
      const reads = [
        "balance",
        "trade-balance",
        "open-orders",
        "closed-orders",
        "trades-history",
        "ledgers",
      ];
      const at = ECHO_MODES.indexOf(mode);
      for (const route of [reads[at % 6]!, reads[(at + 3) % 6]!]) {
        const status = await call(mode, "GET", `/api/private/${route}`);
        assert.ok(status >= 200, `${mode} ${route}: ${status}`);
      }
      await call(mode, "GET", "/api/orders");
      await call(mode, "POST", "/api/orders/cancel-all", {});
      await call(mode, "DELETE", "/api/orders/OABCDE-FGHIJ-KLMNOP");
      await call(mode, "GET", "/api/public/Ticker?pair=XBTUSD");
      await call(mode, "GET", "/api/status");
    }
    // The account events stream: what it has sent so far.
    const controller = new AbortController();
    const events = await fetch(`${running.url}/api/private/events`, {
      headers: { cookie },
      signal: controller.signal,
    });
    const reader = events.body!.getReader();
    const first = await reader.read();
    outputs.set("sse", new TextDecoder().decode(first.value));
    controller.abort();
    await reader.cancel().catch(() => {});
  } finally {
    await running.close();
    await Deno.remove(staticDir, { recursive: true });
  }
  outputs.set("server log and notes", log.join("\n"));
  const private_ = echo.requests.filter((r) => r.sign !== null);
  // The echo really saw signed calls in every mode, and echoed them.
  assert.ok(private_.length >= ECHO_MODES.length * 6, `${private_.length}`);
  assert.ok([...outputs.values()].some((t) => t.includes("[redacted]")));
  assert.deepEqual(leaks(outputs, [...FIXED, ...echo.sentValues()]), []);
});

Deno.test("an echoing upstream leaks nothing through the CLI's stdout and stderr", async () => {
  await using echo = await EchoUpstream.start();
  await using h = await CliHarness.start({
    restUrl: echo.url,
    extraConfig: LIVE_CONFIG,
  });
  const outputs = new Map<string, string>();
  for (const mode of ECHO_MODES) {
    echo.mode = mode;
    for (
      const argv of [
        ["balance"],
        ["balance", "--json"],
        ["orders", "--json"],
        ["cancel", "--all", "--live"],
        ["cancel", "--all", "--live", "--json"],
      ]
    ) {
      const run = await h.run(argv, { env: ENV });
      outputs.set(`${mode} ${argv.join(" ")}`, run.stdout + run.stderr);
    }
  }
  assert.ok(echo.requests.some((r) => r.sign !== null));
  assert.ok([...outputs.values()].some((t) => t.includes("[redacted]")));
  assert.deepEqual(leaks(outputs, [...FIXED, ...echo.sentValues()]), []);
});
