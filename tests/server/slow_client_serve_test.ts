/**
 * `serve` with the slow-client front (`server.slow_client_guard`): a socket
 * that never finishes its headers is answered 408 and closed, the refusal
 * is logged without the socket ever reaching the app, and the page and the
 * proxy keep working through the front. (Its own behaviour is in
 * connection_guard_test.ts; this proves `serve` wires it in.) The event
 * streams send heartbeats, so a quiet stream is not mistaken for idle.
 */

import assert from "node:assert/strict";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { sseHeartbeat } from "../../server/http/sse.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("serve with the guard on: slow sockets get 408, whole requests pass", async () => {
  const args = parseServeArgs(["--sim", "--port", "0", "--seed", "5"]);
  if (args.kind !== "serve") throw new Error("bad args");
  const staticDir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${staticDir}/index.html`, "<!doctype html>");
  const log: string[] = [];
  const running = await startServe(args, {
    staticDir,
    configText:
      "server:\n  slow_client_guard: on\n  header_timeout_ms: 300\n  idle_timeout_ms: 5000\n",
    logSink: (line) => log.push(line),
    say: () => {},
    env: () => undefined,
  });
  try {
    const port = Number(new URL(running.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      enc.encode("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
    );
    let answer = "";
    const buffer = new Uint8Array(1_024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      answer += dec.decode(buffer.subarray(0, n));
    }
    conn.close();
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const refused = log.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "connection refused"
    );
    assert.equal(refused.length, 1, log.join("\n"));
    assert.equal(refused[0].verdict, "header_timeout");
    assert.ok(
      !log.some((l) => l.includes('"path":"/api/health"')),
      "the slow socket never reached the app",
    );
    // The page and a public proxy route work through the front.
    const page = await fetch(`${running.url}/`);
    assert.equal(page.status, 200);
    await page.body?.cancel();
    const time = await fetch(`${running.url}/api/public/Time`);
    assert.equal(time.status, 200);
    assert.ok(typeof (await time.json()).result.unixtime === "number");
  } finally {
    await running.close();
    await Deno.remove(staticDir, { recursive: true });
  }
});

Deno.test("an event stream sends heartbeat comments until it is stopped", async () => {
  const chunks: string[] = [];
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      stop = sseHeartbeat(controller, 20);
    },
  });
  const reader = stream.getReader();
  // The heartbeat's timer does not keep the process alive; this one does
  // while the test reads.
  const keepAlive = setTimeout(() => {}, 10_000);
  for (let i = 0; i < 3; i++) {
    const { value } = await reader.read();
    chunks.push(dec.decode(value));
  }
  stop();
  clearTimeout(keepAlive);
  await reader.cancel();
  assert.deepEqual(chunks, [": ping\n\n", ": ping\n\n", ": ping\n\n"]);
});
