/**
 * Drives every failure path of the security core and asserts that the key,
 * the secret and the password never appear in messages, String(error),
 * JSON.stringify(error), stack traces or captured log output.
 */
import assert from "node:assert/strict";
import { KrakenSigner } from "../../../core/auth/sign.ts";
import { resolveCredentials } from "../../../core/secrets/credentials.ts";
import { runSetup } from "../../../core/secrets/setup.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import {
  openVault,
  sealCredentials,
  serializeVault,
} from "../../../core/secrets/vault.ts";
import { Logger } from "../../../core/log.ts";

const KEY = "SECRECY-KEY-Q1w2E3r4T5y6U7i8O9p0";
const SECRET = "U0VDUkVDWS1TRUNSRVQtVkFMVUUtMTIzNDU2Nzg5MA==";
const BAD_SECRET = "NOT-BASE64-SECRET-!!-" + "x".repeat(20);
const PASSWORD = "secrecy master password";
const NEEDLES = [KEY, SECRET, BAD_SECRET, PASSWORD];

function assertClean(label: string, ...values: unknown[]) {
  for (const v of values) {
    const forms = [
      String(v),
      JSON.stringify(v) ?? "",
      v instanceof Error ? v.stack ?? "" : "",
      v instanceof Error ? String(v.cause ?? "") : "",
      Deno.inspect(v, { depth: 10 }),
    ];
    for (const f of forms) {
      for (const n of NEEDLES) {
        assert.ok(
          !f.includes(n),
          `${label}: leaked a secret in ${f.slice(0, 80)}`,
        );
      }
    }
  }
}

Deno.test("no failure path of the security core reveals a key, secret or password", async (t) => {
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l), level: "debug" });
  for (const n of NEEDLES) log.redactor.register(n);
  const creds = { key: new Secret(KEY), secret: new Secret(SECRET) };
  const sealed = serializeVault(
    await sealCredentials(creds, new Secret(PASSWORD)),
  );

  await t.step("malformed secret", async () => {
    const e = await KrakenSigner.create(BAD_SECRET).catch((e) => e);
    assertClean("sign", e);
    log.error("sign failed", { error: e, secret: BAD_SECRET });
  });
  await t.step("wrong password and corruption", async () => {
    for (
      const text of [
        sealed,
        sealed.slice(0, 50),
        sealed.replace('"validated": false', '"validated": true'),
      ]
    ) {
      const e = await openVault(text, new Secret(PASSWORD + "x")).catch((e) =>
        e
      );
      assertClean("vault", e);
      log.warn("vault failed", { error: e, password: PASSWORD });
    }
  });
  await t.step("credential resolution results", async () => {
    const results = await Promise.all([
      resolveCredentials({
        env: (n) => ({ KRAKEN_API_KEY: KEY, KRAKEN_API_SECRET: SECRET })[n],
        readSecretsFile: () => Promise.resolve(undefined),
        getPassword: () => Promise.resolve(undefined),
      }),
      resolveCredentials({
        env: (n) => ({ KRAKEN_API_SECRET: SECRET })[n],
        readSecretsFile: () => Promise.resolve(sealed),
        getPassword: () => Promise.resolve(new Secret("wrong password")),
      }),
    ]);
    assertClean("credentials", ...results);
    log.info("resolved", { results });
  });
  await t.step("setup failures that echo the key or secret", async () => {
    for (const kind of ["auth", "network", "mystery"]) {
      const r = await runSetup(creds, new Secret(PASSWORD), {
        validate: () =>
          Promise.reject(
            Object.assign(new Error(`${kind} ${KEY} ${SECRET}`), { kind }),
          ),
        save: () => Promise.resolve(),
      });
      assertClean("setup", r);
      log.error("setup", { result: r });
    }
  });
  await t.step("captured log output", () => {
    assert.ok(lines.length >= 6);
    for (const line of lines) {
      for (const n of NEEDLES) assert.ok(!line.includes(n), line);
    }
  });
});
