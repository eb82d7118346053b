import assert from "node:assert/strict";
import { allowedHosts, isLoopbackHost } from "../../../server/http/loopback.ts";
import { createApp } from "../../../server/http/app.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";

Deno.test("isLoopbackHost() accepts loopback names and canonical 127.0.0.0/8 only", async (t) => {
  await t.step("loopback", () => {
    for (
      const h of [
        "127.0.0.1",
        "127.1.2.3",
        "127.255.255.255",
        "127.0.0.0",
        "localhost",
        "LOCALHOST",
        "::1",
        "[::1]",
      ]
    ) assert.ok(isLoopbackHost(h), h);
  });
  await t.step("not loopback", () => {
    for (
      const h of ["0.0.0.0", "::", "192.168.1.2", "128.0.0.1", "10.127.0.1"]
    ) assert.ok(!isLoopbackHost(h), h);
  });
  await t.step("names that only look like loopback", () => {
    for (
      const h of [
        "localhost.evil.com",
        "evil.localhost.example",
        "127.0.0.1.evil.example",
        "evil.example",
      ]
    ) assert.ok(!isLoopbackHost(h), h);
  });
  await t.step("other spellings are not trusted without a token", () => {
    for (
      const h of [
        "127.0.0.256",
        "127.999.1.1",
        "127.00.0.1",
        "0127.0.0.1",
        "127.1",
        "127.0.0.1 ",
        "0x7f.0.0.1",
        "::ffff:127.0.0.1",
        "localhost.",
        "",
      ]
    ) assert.ok(!isLoopbackHost(h), JSON.stringify(h));
  });
});

Deno.test("allowedHosts() adds the bind host unless it is a wildcard or already listed", () => {
  assert.deepEqual(allowedHosts("127.0.0.1", 1), [
    "127.0.0.1:1",
    "localhost:1",
    "[::1]:1",
  ]);
  assert.deepEqual(allowedHosts("0.0.0.0", 2), [
    "127.0.0.1:2",
    "localhost:2",
    "[::1]:2",
  ]);
  assert.deepEqual(allowedHosts("::", 2).length, 3);
  assert.deepEqual(allowedHosts("::1", 2).length, 3);
  assert.deepEqual(allowedHosts("[::1]", 2).length, 3);
  assert.deepEqual(allowedHosts("LocalHost", 2).length, 3);
  assert.deepEqual(allowedHosts("127.0.0.2", 5).at(-1), "127.0.0.2:5");
  assert.deepEqual(allowedHosts("Box.LAN", 3).at(-1), "box.lan:3");
  assert.deepEqual(allowedHosts("fe80::1", 4).at(-1), "[fe80::1]:4");
});

Deno.test("a server bound to any loopback address answers requests addressed to it", async () => {
  // The bind check and the Host check agree: 127.0.0.2 may be bound without
  // a token, so a request with Host 127.0.0.2 must not be refused as foreign.
  assert.ok(isLoopbackHost("127.0.0.2"));
  const { app } = createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest: {
      hasCredentials: false,
      callPublic: () => Promise.reject(new Error("unused")),
      callPrivate: () => Promise.reject(new Error("unused")),
    },
    sessionToken: "session-token-for-tests-AAAAAAAAAAAAAAAA",
    allowedHosts: allowedHosts("127.0.0.2", 8787),
    wsPublicUrl: "ws://127.0.0.1:9999/v2",
    staticFiles: new Map(),
    logger: new Logger({ sink: () => {} }),
    version: "0.1.0-test",
  });
  const status = async (host: string) =>
    (await app.request("http://127.0.0.2:8787/api/health", {
      headers: { host },
    })).status;
  assert.equal(await status("127.0.0.2:8787"), 200);
  assert.equal(await status("127.0.0.1:8787"), 200);
  assert.equal(await status("127.0.0.3:8787"), 421);
  assert.equal(await status("evil.example:8787"), 421);
});
