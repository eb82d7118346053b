/**
 * The slow-client front (server/http/connection_guard.ts): slow or silent
 * sockets are answered and closed without reaching the application, idle
 * connections close, one address cannot hold every socket, and whole
 * requests (kept alive, streamed, with bodies) pass through unchanged with
 * the client's own address.
 */

import assert from "node:assert/strict";
import {
  admit,
  DEFAULT_GUARD_LIMITS,
  type GuardVerdict,
  scanHeaderEnd,
  serveGuarded,
} from "../../server/http/connection_guard.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("scanHeaderEnd finds the blank line however the bytes are split", () => {
  // Random requests over a small alphabet rich in CR and LF, split at
  // random points: the scan across chunks agrees with a search of the whole.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const alphabet = [13, 10, 65, 58, 32];
  for (let round = 0; round < 2_000; round++) {
    const bytes = Uint8Array.from(
      { length: 1 + rand(40) },
      () => alphabet[rand(alphabet.length)]!,
    );
    const whole = dec.decode(bytes).indexOf("\r\n\r\n");
    const expected = whole === -1 ? -1 : whole + 4;
    let carry = 0;
    let offset = 0;
    let found = -1;
    while (offset < bytes.length && found === -1) {
      const size = 1 + rand(6);
      const chunk = bytes.subarray(offset, offset + size);
      const scan = scanHeaderEnd(chunk, carry);
      if (scan.end !== -1) found = offset + scan.end;
      carry = scan.carry;
      offset += chunk.length;
    }
    assert.equal(found, expected, JSON.stringify(dec.decode(bytes)));
  }
});

Deno.test("admit caps all connections and those of one address", () => {
  const limits = { maxConnections: 4, maxPerAddress: 2 };
  assert.equal(admit(0, 0, limits), undefined);
  assert.equal(admit(3, 1, limits), undefined);
  assert.equal(admit(3, 2, limits), "too_many_from_address");
  assert.equal(admit(4, 0, limits), "too_many");
  assert.ok(
    DEFAULT_GUARD_LIMITS.maxPerAddress < DEFAULT_GUARD_LIMITS.maxConnections,
  );
});

/** A guarded server with small limits, and what reached the application. */
function start(limits: Parameters<typeof serveGuarded>[0]["limits"] = {}) {
  const controller = new AbortController();
  const seen: { path: string; remote: Deno.NetAddr }[] = [];
  const verdicts: GuardVerdict[] = [];
  const server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    limits: {
      headerTimeoutMs: 300,
      idleTimeoutMs: 400,
      maxHeaderBytes: 2_048,
      maxPerAddress: 3,
      ...limits,
    },
    onGuard: (verdict) => verdicts.push(verdict),
  }, async (request, info) => {
    const url = new URL(request.url);
    seen.push({ path: url.pathname, remote: info.remoteAddr });
    if (url.pathname === "/echo") {
      return new Response(await request.text());
    }
    if (url.pathname === "/stream") {
      let n = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 50));
          controller.enqueue(enc.encode(`data: ${n}\n\n`));
          if (++n === 5) controller.close();
        },
      });
      return new Response(body, {
        headers: { "content-type": "text/event-stream" },
      });
    }
    return new Response("ok");
  });
  return {
    port: server.addr.port,
    seen,
    verdicts,
    stop: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

/** Sends `text`, then reads until the server closes (or `waitMs` passes). */
async function exchange(
  port: number,
  text: string,
  waitMs = 5_000,
): Promise<{ answer: string; closedByServer: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (text.length > 0) await conn.write(enc.encode(text));
  let answer = "";
  let closedByServer = false;
  const timer = setTimeout(() => conn.close(), waitMs);
  try {
    const buffer = new Uint8Array(8_192);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) {
        closedByServer = true;
        break;
      }
      answer += dec.decode(buffer.subarray(0, n));
    }
  } catch {
    // Closed by our own timer.
  }
  clearTimeout(timer);
  try {
    conn.close();
  } catch {
    // Closed already.
  }
  return { answer, closedByServer };
}

Deno.test("a socket that never finishes its headers gets 408 and never reaches the app", async () => {
  const s = start();
  try {
    const [partial, silent] = await Promise.all([
      exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n"),
      exchange(s.port, ""),
    ]);
    for (const r of [partial, silent]) {
      assert.ok(r.closedByServer, "the server closed the socket");
      assert.match(r.answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    }
    assert.deepEqual(s.seen, []);
    assert.deepEqual(s.verdicts.sort(), ["header_timeout", "header_timeout"]);
  } finally {
    await s.stop();
  }
});

Deno.test("headers over the byte cap get 431, even while still arriving", async () => {
  const s = start();
  try {
    const big = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(4_000);
    const r = await exchange(s.port, big);
    assert.ok(r.closedByServer);
    assert.match(r.answer, /^HTTP\/1\.1 431 /);
    assert.deepEqual(s.seen, []);
  } finally {
    await s.stop();
  }
});

Deno.test("an idle kept-alive connection is closed after its answer", async () => {
  const s = start();
  try {
    const r = await exchange(s.port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(r.answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    assert.ok(r.closedByServer, "closed for idleness, not by the client");
    assert.deepEqual(s.verdicts, ["idle"]);
  } finally {
    await s.stop();
  }
});

Deno.test("one address cannot hold more than its share of sockets", async () => {
  const s = start({ headerTimeoutMs: 2_000 });
  try {
    const held = await Promise.all(
      [0, 1, 2].map(() =>
        Deno.connect({ hostname: "127.0.0.1", port: s.port })
      ),
    );
    // Let the front count them before the next one.
    await new Promise((r) => setTimeout(r, 100));
    const fourth = await exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(fourth.answer, /^HTTP\/1\.1 503 /);
    assert.ok(s.verdicts.includes("too_many_from_address"));
    for (const c of held) c.close();
    // Closing them frees the slots: a whole request is served again.
    await new Promise((r) => setTimeout(r, 100));
    const again = await fetch(`http://127.0.0.1:${s.port}/b`);
    assert.equal(await again.text(), "ok");
  } finally {
    await s.stop();
  }
});

Deno.test("whole requests pass through: keep-alive, bodies, streams, the client's address", async () => {
  const s = start({ idleTimeoutMs: 5_000 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    const body = "x".repeat(100_000);
    // Two requests on one connection, the first with a body split across
    // several writes after the headers.
    await conn.write(
      enc.encode(
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
    );
    for (let i = 0; i < body.length; i += 30_000) {
      await conn.write(enc.encode(body.slice(i, i + 30_000)));
    }
    await conn.write(enc.encode("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
    let answer = "";
    const buffer = new Uint8Array(65_536);
    while (!answer.endsWith("\r\n\r\nok")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      answer += dec.decode(buffer.subarray(0, n));
    }
    assert.ok(answer.includes(body), "the echoed body came back whole");
    assert.ok(answer.endsWith("\r\n\r\nok"), "the second request was answered");
    const local = conn.localAddr as Deno.NetAddr;
    conn.close();
    assert.deepEqual(s.seen.map((x) => x.path), ["/echo", "/c"]);
    for (const x of s.seen) {
      assert.equal(x.remote.hostname, "127.0.0.1");
      assert.equal(x.remote.port, local.port, "the app sees the client's port");
    }
    const stream = await fetch(`http://127.0.0.1:${s.port}/stream`);
    assert.equal(
      await stream.text(),
      [0, 1, 2, 3, 4].map((n) => `data: ${n}\n\n`).join(""),
    );
  } finally {
    await s.stop();
  }
});

Deno.test("stopping closes held sockets and ends the server", async () => {
  const s = start({ headerTimeoutMs: 60_000 });
  const held = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await held.write(enc.encode("GET / HT"));
  await new Promise((r) => setTimeout(r, 50));
  await s.stop();
  const n = await held.read(new Uint8Array(16)).catch(() => null);
  assert.equal(n, null, "the held socket was closed by the stop");
  held.close();
});
