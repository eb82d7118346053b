import assert from "node:assert/strict";
import {
  contentSecurityPolicy,
  isSameOrigin,
  newToken,
  tokenMatches,
} from "../../../server/http/security.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";
import { parseServeArgs } from "../../../server/cli/serve_cmd.ts";

Deno.test("isSameOrigin() accepts our origins and refuses the rest", () => {
  const hosts = allowedHosts("127.0.0.1", 8787);
  assert.ok(isSameOrigin(null, hosts, null));
  assert.ok(isSameOrigin("http://127.0.0.1:8787", hosts, "same-origin"));
  assert.ok(isSameOrigin("http://localhost:8787", hosts, "none"));
  assert.ok(!isSameOrigin("http://127.0.0.1:9999", hosts, null));
  assert.ok(!isSameOrigin("http://evil.example", hosts, null));
  assert.ok(!isSameOrigin("null", hosts, null));
  assert.ok(!isSameOrigin("file://x", hosts, null));
  assert.ok(!isSameOrigin(null, hosts, "cross-site"));
  assert.ok(!isSameOrigin(null, hosts, "same-site"));
});

Deno.test("tokenMatches() and newToken() handle tokens safely", () => {
  const t = newToken();
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(t, newToken());
  assert.ok(tokenMatches(t, t));
  assert.ok(!tokenMatches(undefined, t));
  assert.ok(!tokenMatches("", t));
  assert.ok(!tokenMatches(t.slice(1), t));
});

Deno.test("contentSecurityPolicy() allows self and the WS origins only", () => {
  const csp = contentSecurityPolicy([
    "wss://ws.kraken.com/v2",
    "not a url",
    "wss://ws.kraken.com/other",
  ]);
  assert.match(csp, /connect-src 'self' wss:\/\/ws\.kraken\.com;/);
  assert.ok(!csp.includes("unsafe"));
});

Deno.test("parseServeArgs() parses flags and rejects bad ones", () => {
  assert.deepEqual(parseServeArgs(["--sim", "--port", "0", "--seed=7"]), {
    kind: "serve",
    host: undefined,
    port: 0,
    token: undefined,
    sim: true,
    seed: 7,
    live: false,
  });
  assert.equal(parseServeArgs(["--help"]).kind, "help");
  for (
    const bad of [
      ["--port"],
      ["--port", "x"],
      ["--port", "70000"],
      ["--token", "short"],
      ["--host"],
      ["--wat"],
    ]
  ) {
    assert.equal(parseServeArgs(bad).kind, "usage_error", bad.join(" "));
  }
  const withToken = parseServeArgs([
    "--host",
    "0.0.0.0",
    "--token",
    "0123456789abcdef",
    "--live",
  ]);
  assert.ok(
    withToken.kind === "serve" && withToken.live &&
      withToken.host === "0.0.0.0",
  );
});
