import assert from "node:assert/strict";
import {
  MAX_PBKDF2_ITERATIONS,
  MIN_PBKDF2_ITERATIONS,
  openVault,
  sealCredentials,
  type SealedVault,
  serializeVault,
  VaultError,
} from "../../../core/secrets/vault.ts";
import { Secret } from "../../../core/secrets/secret.ts";

const KEY = "KRAKKED-TEST-API-KEY-1234567890abcdef";
const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const PASSWORD = new Secret("correct horse battery staple");

async function sealed(validated = true): Promise<SealedVault> {
  return await sealCredentials(
    { key: new Secret(KEY), secret: new Secret(SECRET) },
    PASSWORD,
    {
      validated,
      now: () => Date.UTC(2026, 10, 21, 12),
    },
  );
}

async function expectCorrupted(
  input: SealedVault | string,
  password = PASSWORD,
) {
  const error = await openVault(input, password).then(
    (v) =>
      assert.fail(
        `expected failure, got credentials for ${v.credentials.key.length}-char key`,
      ),
    (e: unknown) => e,
  );
  assert.ok(error instanceof VaultError);
  assert.equal(error.kind, "wrong_password_or_corrupted");
  assert.equal(error.message, "Wrong password or corrupted secrets file");
  for (
    const text of [
      error.message,
      String(error),
      JSON.stringify(error),
      error.stack ?? "",
    ]
  ) {
    assert.ok(!text.includes(SECRET) && !text.includes(KEY));
  }
}

Deno.test("sealCredentials() and openVault() round-trip key, secret and the validated header", async () => {
  const vault = await sealed(true);
  const text = serializeVault(vault);
  const { credentials, header } = await openVault(text, PASSWORD);
  assert.equal(credentials.key.reveal(), KEY);
  assert.equal(credentials.secret.reveal(), SECRET);
  assert.equal(header.validated, true);
  assert.equal(header.validatedAt, "2026-11-21T12:00:00.000Z");
  assert.equal(header.kdf.iterations, MIN_PBKDF2_ITERATIONS);
  assert.ok(
    !text.includes(SECRET) && !text.includes(KEY),
    "the file holds neither key nor secret",
  );
});

Deno.test("sealCredentials() uses a fresh random salt and IV every time", async () => {
  const a = await sealed();
  const b = await sealed();
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.iv, b.iv);
  assert.notEqual(a.ciphertext, b.ciphertext);
});

Deno.test("an unvalidated vault records validated false and no time", async () => {
  const vault = await sealed(false);
  assert.equal(vault.validated, false);
  assert.equal(vault.validatedAt, null);
  assert.equal((await openVault(vault, PASSWORD)).header.validated, false);
});

Deno.test("openVault() gives one clear error for every kind of damage", async (t) => {
  const vault = await sealed(false);
  const text = serializeVault(vault);
  await t.step(
    "wrong password",
    () => expectCorrupted(vault, new Secret("wrong password!!")),
  );
  await t.step(
    "truncated file",
    () => expectCorrupted(text.slice(0, text.length / 2)),
  );
  await t.step("empty file", () => expectCorrupted(""));
  await t.step("not JSON", () => expectCorrupted("<html>oops</html>"));
  await t.step("flipped byte in the ciphertext", async () => {
    const raw = Uint8Array.from(atob(vault.ciphertext), (c) => c.charCodeAt(0));
    raw[3]! ^= 0x01;
    await expectCorrupted({
      ...vault,
      ciphertext: btoa(String.fromCharCode(...raw)),
    });
  });
  await t.step(
    "flipped validated flag in the header",
    () => expectCorrupted({ ...vault, validated: true }),
  );
  await t.step(
    "forged validated time",
    () =>
      expectCorrupted({ ...vault, validatedAt: "2020-01-01T00:00:00.000Z" }),
  );
  await t.step(
    "changed iteration count",
    () =>
      expectCorrupted({ ...vault, kdf: { ...vault.kdf, iterations: 700_000 } }),
  );
  await t.step(
    "iteration count below the minimum",
    () =>
      expectCorrupted({ ...vault, kdf: { ...vault.kdf, iterations: 1_000 } }),
  );
  await t.step(
    "iteration count far above the maximum is refused before any derivation",
    // Before the bound, 100 M iterations were derived (~15 s) before the
    // file failed: count the derivations instead of timing them.
    async () => {
      const subtle = crypto.subtle;
      const original = subtle.deriveKey;
      let derivations = 0;
      subtle.deriveKey = ((...args: Parameters<typeof original>) => {
        derivations++;
        return original.apply(subtle, args);
      }) as typeof original;
      try {
        await expectCorrupted({
          ...vault,
          kdf: { ...vault.kdf, iterations: 100_000_000 },
        });
      } finally {
        subtle.deriveKey = original;
      }
      assert.equal(derivations, 0);
    },
  );
  await t.step(
    "changed salt",
    () => expectCorrupted({ ...vault, salt: btoa("0123456789abcdef") }),
  );
  await t.step(
    "changed IV",
    () => expectCorrupted({ ...vault, iv: btoa("0123456789ab") }),
  );
  await t.step(
    "unknown version",
    () => expectCorrupted({ ...vault, version: 2 } as unknown as SealedVault),
  );
  await t.step(
    "unknown format",
    () =>
      expectCorrupted({ ...vault, format: "other" } as unknown as SealedVault),
  );
  await t.step(
    "missing fields",
    () =>
      expectCorrupted(
        { format: "krakked-secrets", version: 1 } as unknown as SealedVault,
      ),
  );
  await t.step(
    "wrong field types",
    () =>
      expectCorrupted({ ...vault, validated: "yes" } as unknown as SealedVault),
  );
  await t.step(
    "ciphertext too short",
    () => expectCorrupted({ ...vault, ciphertext: "AAAA" }),
  );
});

Deno.test("sealCredentials() refuses a short password and a weak KDF", async () => {
  const creds = { key: new Secret(KEY), secret: new Secret(SECRET) };
  await assert.rejects(
    () => sealCredentials(creds, new Secret("short")),
    (e: unknown) => e instanceof VaultError && e.kind === "weak_password",
  );
  await assert.rejects(
    () => sealCredentials(creds, PASSWORD, { iterations: 10_000 }),
    RangeError,
  );
  await assert.rejects(
    () =>
      sealCredentials(creds, PASSWORD, {
        iterations: MAX_PBKDF2_ITERATIONS + 1,
      }),
    RangeError,
  );
});
