/**
 * What a private call sends never comes back out of the client, and a call
 * whose caller went away is never signed nor sent.
 */
import assert from "node:assert/strict";
import { Secret } from "../../../core/secrets/secret.ts";
import { RestClient } from "../../../core/rest/client.ts";
import { KrakenError, LOCAL_CODES } from "../../../core/rest/errors.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { FakeClock } from "../../fakes/clock.ts";
import {
  FakeFetch,
  type FetchHandler,
  jsonResponse,
  krakenResult,
  type RecordedRequest,
} from "../../fakes/fetch.ts";

const BASE = "https://api.kraken.test";
// A key with characters JSON and URLs escape; a base64 secret with `/`,
// which PHP-style JSON writes as `\/`.
const KEY = 'echo-key-"q"/+ 7d1c0a9b8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b';
const SECRET = btoa("a secret whose base64 has / and + in it: ?>?>?>~~~");
const OTP = "otp-static-2fa-password";

/** Every spelling of what a request carried, as an echo might print it. */
function sentForms(req: RecordedRequest): string[] {
  const nonce = new URLSearchParams(req.body).get("nonce")!;
  const sign = req.headers.get("API-Sign")!;
  const values = [KEY, SECRET, OTP, sign, nonce];
  return values.flatMap((v) => [
    v,
    JSON.stringify(v).slice(1, -1),
    JSON.stringify(v).slice(1, -1).replaceAll("/", "\\/"),
    encodeURIComponent(v),
  ]);
}

/** Echo the request everywhere: error strings, result values and keys. */
function echo(kind: "error" | "result" | "http500"): FetchHandler {
  return (_request, req) => {
    const sign = req.headers.get("API-Sign")!;
    const key = req.headers.get("API-Key")!;
    const said = `key=${key} sign=${sign} body=${req.body} secret=${SECRET}`;
    const escaped = JSON.stringify({ said }).replaceAll("/", "\\/");
    switch (kind) {
      case "error":
        return new Response(
          `{"error":["EGeneral:Internal error: ${
            said.replaceAll('"', '\\"')
          }",` +
            `"EAPI:Invalid key ${encodeURIComponent(key)}"],"echo":${escaped}}`,
          { headers: { "content-type": "application/json" } },
        );
      case "result":
        return new Response(
          JSON.stringify({
            error: [`WGeneral:echo ${said}`],
            result: {
              [key]: said,
              nested: [{
                sign,
                nonce: new URLSearchParams(req.body).get("nonce"),
              }],
            },
          }).replaceAll("/", "\\/"),
          { headers: { "content-type": "application/json" } },
        );
      case "http500":
        return jsonResponse({ error: [`EService:Unavailable ${said}`] }, {
          status: 500,
        });
    }
  };
}

function client(fake: FakeFetch): RestClient {
  return new RestClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    otp: () => new Secret(OTP),
    retry: { maxAttempts: 1 },
  });
}

Deno.test("an upstream that echoes the request gets none of it out of the client", async (t) => {
  for (const kind of ["error", "result", "http500"] as const) {
    await t.step(kind, async () => {
      const fake = new FakeFetch(echo(kind));
      using rest = client(fake);
      let out: unknown;
      try {
        out = await rest.callPrivate("Balance");
      } catch (error) {
        assert.ok(error instanceof KrakenError, String(error));
        out = {
          message: error.message,
          code: error.code,
          codes: error.codes,
          string: String(error),
          stack: error.stack,
          kind: error.kind,
        };
      }
      const text = JSON.stringify(out) + Deno.inspect(out, { depth: 20 });
      assert.ok(text.includes("[redacted]"), text);
      const forms = sentForms(fake.calls[0]!);
      for (const form of forms) {
        assert.ok(!text.includes(form), `${kind} leaked ${form}: ${text}`);
      }
    });
  }
  await t.step("the error keeps its kind after scrubbing", async () => {
    using rest = client(new FakeFetch(echo("error")));
    const error = await rest.callPrivate("Balance").catch((e) => e);
    assert.equal(error.kind, "service");
    assert.equal(error.code.startsWith("EGeneral:Internal error"), true);
  });
});

Deno.test("20 abandoned private calls waiting in the nonce lane are never signed or sent", async () => {
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const fake = new FakeFetch(async () => {
    calls++;
    if (calls === 1) await first;
    return krakenResult({ ZUSD: "1" });
  });
  using rest = client(fake);
  // The first call holds the lane until its answer's headers arrive.
  const holding = rest.callPrivate("Balance");
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
  const abandoned = Array.from({ length: 20 }, () => {
    const controller = new AbortController();
    const call = rest.callPrivate("Balance", {}, { signal: controller.signal });
    return { controller, call: call.then(() => "sent", (e) => e) };
  });
  // Let every one of them reach the lane (signer, limiter) before the
  // callers go away.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  for (const a of abandoned) a.controller.abort();
  release();
  await holding;
  for (const a of abandoned) {
    const outcome = await a.call;
    assert.ok(outcome instanceof KrakenError, String(outcome));
    assert.equal(outcome.code, LOCAL_CODES.aborted);
  }
  const next = await rest.callPrivate("Balance");
  assert.deepEqual(next.result, { ZUSD: "1" });
  // The first and the next real one: nothing in between was sent, and the
  // budget the abandoned ones were charged was given back.
  assert.equal(fake.calls.length, 2);
  assert.ok(rest.limiter.snapshot("rest").level <= 2);
});

Deno.test("a call past its deadline while queued fails as a timeout and is never sent", async () => {
  const clock = new FakeClock();
  const fake = new FakeFetch(() => krakenResult({}));
  const limiter = new RateLimiter({
    tier: "starter",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  using rest = new RestClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    limiter,
    deadlineMs: 1_000,
  });
  // Kraken said "rate limit exceeded": the REST counter is full for a while.
  limiter.backoff("rest");
  const call = rest.callPrivate("Balance").catch((e) => e);
  const error = await clock.settle(call, { turns: 10 });
  assert.ok(error instanceof KrakenError);
  assert.equal(error.code, LOCAL_CODES.timeout);
  assert.match(error.message, /deadline of 1000 ms/);
  assert.equal(fake.calls.length, 0);
  limiter.close();
});

Deno.test("RestClient refuses a deadline that is not positive", () => {
  assert.throws(() => new RestClient({ deadlineMs: 0 }), RangeError);
});
