import assert from "node:assert/strict";
import {
  isSecretFieldName,
  redactAll,
  Redactor,
} from "../../../core/secrets/redact.ts";
import { Secret, timingSafeEqual } from "../../../core/secrets/secret.ts";
import { Logger } from "../../../core/log.ts";

const SECRET = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr";
const KEY = "public-api-key-DDDDDDDDDDDDDDDD";

Deno.test("Secret prints [redacted] in every text form", () => {
  const s = new Secret(SECRET);
  const forms = [
    String(s),
    `${s}`,
    JSON.stringify({ s }),
    Deno.inspect(s),
    Deno.inspect({ nested: { s } }),
  ];
  for (const f of forms) {
    assert.ok(!f.includes(SECRET), f);
    assert.match(f, /\[redacted\]/);
  }
  assert.equal(s.reveal(), SECRET);
  assert.equal(s.length, SECRET.length);
});

Deno.test("timingSafeEqual() compares whole strings", () => {
  assert.ok(timingSafeEqual("token-abc", "token-abc"));
  assert.ok(!timingSafeEqual("token-abc", "token-abd"));
  assert.ok(!timingSafeEqual("token-abc", "token-ab"));
  assert.ok(!timingSafeEqual("", "x"));
});

Deno.test("redactAll() removes each value and ignores very short ones", () => {
  assert.equal(
    redactAll(`a ${SECRET} b ${SECRET}`, [SECRET]),
    "a [redacted] b [redacted]",
  );
  assert.equal(redactAll("abc", ["ab"]), "abc");
  assert.equal(redactAll(`k=${KEY}`, [new Secret(KEY)]), "k=[redacted]");
});

Deno.test("isSecretFieldName() masks secret-looking names only", () => {
  for (
    const n of [
      "secret",
      "apiSecret",
      "API-Sign",
      "api_key",
      "token",
      "wsToken",
      "password",
      "nonce",
      "otp",
      "Authorization",
      "cookie",
    ]
  ) {
    assert.ok(isSecretFieldName(n), n);
  }
  for (
    const n of ["pair", "method", "path", "status", "durationMs", "keyCount"]
  ) {
    assert.ok(!isSecretFieldName(n), n);
  }
});

Deno.test("Redactor scrubs text, structured fields and errors", async (t) => {
  const r = new Redactor();
  r.register(SECRET);
  r.register(new Secret(KEY));
  r.register("abc");
  await t.step("text", () => {
    assert.equal(
      r.text(`sig over ${SECRET} with ${KEY}`),
      "sig over [redacted] with [redacted]",
    );
  });
  await t.step("fields", () => {
    const out = r.fields({
      path: "/0/private/Balance",
      headers: { "API-Key": KEY, "API-Sign": "sig", accept: "json" },
      note: `echo ${SECRET}`,
      list: [SECRET, 1, null],
      wrapped: new Secret("zzzz"),
      err: new Error(`bad ${SECRET}`),
    });
    const text = JSON.stringify(out);
    assert.ok(
      !text.includes(SECRET) && !text.includes(KEY) && !text.includes("zzzz"),
    );
    assert.match(text, /"accept":"json"/);
    assert.match(text, /"API-Sign":"\[redacted\]"/);
  });
  await t.step("errors", () => {
    class KindError extends Error {
      kind = "auth";
    }
    const safe = r.error(new KindError(`EAPI:Invalid key ${KEY}`));
    assert.deepEqual(safe, {
      name: "Error",
      kind: "auth",
      message: "EAPI:Invalid key [redacted]",
    });
    assert.deepEqual(r.error(`thrown ${SECRET}`), {
      name: "Error",
      message: "thrown [redacted]",
    });
  });
  await t.step("forget", () => {
    r.forget(SECRET);
    assert.equal(r.text(SECRET), SECRET);
  });
});

Deno.test("Logger writes JSON lines without registered secrets or secret fields", () => {
  const lines: string[] = [];
  const log = new Logger({
    sink: (l) => lines.push(l),
    now: () => 0,
    level: "info",
  });
  log.redactor.register(SECRET);
  log.debug("hidden", { a: 1 });
  log.info("request", {
    method: "POST",
    path: "/0/private/Balance",
    status: 200,
    body: `nonce=1&x=${SECRET}`,
  });
  log.warn(`warn ${SECRET}`, { token: "tok-123456" });
  log.error("failed", { error: new Error(`boom ${SECRET}`) });
  assert.equal(lines.length, 3);
  for (const line of lines) {
    assert.ok(!line.includes(SECRET));
    assert.ok(!line.includes("tok-123456"));
    const parsed = JSON.parse(line);
    assert.equal(parsed.ts, "1970-01-01T00:00:00.000Z");
  }
  assert.deepEqual(JSON.parse(lines[0]!).status, 200);
  assert.equal(JSON.parse(lines[2]!).level, "error");
});

Deno.test("Redactor removes values, not ordinary words", async (t) => {
  await t.step(
    "a short typed password never masks the message about it",
    () => {
      const r = new Redactor();
      r.register("short");
      r.register(new Secret("too"));
      assert.equal(
        r.text("The password is too short; use at least 8 characters"),
        "The password is too short; use at least 8 characters",
      );
    },
  );
  await t.step("an 8-character value is still removed wherever it is", () => {
    const r = new Redactor();
    r.register("hunter22");
    assert.equal(r.text("x-hunter22-y"), "x-[redacted]-y");
  });
});

Deno.test("Redactor removes the spellings an echo may use", () => {
  const secret = "a/b+c=d/e+f=g/h+i==";
  const key = 'key-"quoted" with space';
  const r = new Redactor();
  r.register(secret);
  r.register(key);
  const echoes = [
    secret,
    JSON.stringify(secret),
    JSON.stringify(secret).replaceAll("/", "\\/"),
    encodeURIComponent(secret),
    JSON.stringify(key),
    encodeURIComponent(key),
    new URLSearchParams({ k: key }).toString(),
  ];
  for (const echo of echoes) {
    const out = r.text(`before ${echo} after`);
    assert.match(out, /^before .*\[redacted\].* after$/, echo);
    for (const form of echoes) assert.ok(!out.includes(form), out);
  }
});

Deno.test("Redactor.json() scrubs strings and keys of a result, and is the identity otherwise", () => {
  const r = new Redactor();
  r.register(SECRET);
  const plain = { a: [1, "two", { b: null }] };
  assert.equal(r.json(plain), JSON.stringify(plain));
  const echoed = {
    [SECRET]: { note: `sig ${SECRET}`, list: [SECRET, 3] },
    nested: { deeper: [{ s: `"${SECRET}"` }] },
  };
  const text = r.json(echoed);
  assert.ok(!text.includes(SECRET), text);
  assert.deepEqual(JSON.parse(text), {
    "[redacted]": { note: "sig [redacted]", list: ["[redacted]", 3] },
    nested: { deeper: [{ s: '"[redacted]"' }] },
  });
  assert.deepEqual(r.value(echoed.nested), {
    deeper: [{ s: '"[redacted]"' }],
  });
});
