import assert from "node:assert/strict";
import {
  type CredentialSources,
  resolveCredentials,
} from "../../../core/secrets/credentials.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import {
  sealCredentials,
  serializeVault,
} from "../../../core/secrets/vault.ts";

const ENV_KEY = "env-key-AAAAAAAAAAAAAAAAAAAA";
const ENV_SECRET = "ZW52LXNlY3JldC1lbnYtc2VjcmV0LWVudi1zZWNyZXQ=";
const FILE_KEY = "file-key-BBBBBBBBBBBBBBBBBBB";
const FILE_SECRET = "ZmlsZS1zZWNyZXQtZmlsZS1zZWNyZXQtZmlsZS1zZWNyZXQ=";
const PASSWORD = "master password 123";

const fileText = serializeVault(
  await sealCredentials(
    { key: new Secret(FILE_KEY), secret: new Secret(FILE_SECRET) },
    new Secret(PASSWORD),
    {
      validated: true,
    },
  ),
);

function sources(
  env: Record<string, string>,
  options: { file?: string; password?: string } = {},
): CredentialSources & { prompts: number } {
  const s = {
    prompts: 0,
    env: (name: string) => env[name],
    readSecretsFile: () => Promise.resolve(options.file),
    getPassword: () => {
      s.prompts++;
      return Promise.resolve(
        options.password === undefined
          ? undefined
          : new Secret(options.password),
      );
    },
  };
  return s;
}

function assertNoSecrets(value: unknown) {
  const text = JSON.stringify(value) + String(value);
  for (const s of [ENV_SECRET, FILE_SECRET, PASSWORD]) {
    assert.ok(!text.includes(s));
  }
}

Deno.test("resolveCredentials() uses the environment when both variables are set", async () => {
  const src = sources({
    KRAKEN_API_KEY: ENV_KEY,
    KRAKEN_API_SECRET: ENV_SECRET,
  });
  const r = await resolveCredentials(src);
  assert.equal(r.kind, "found");
  assert.ok(r.kind === "found");
  assert.equal(r.source, "env");
  assert.equal(r.credentials.key.reveal(), ENV_KEY);
  assert.equal(r.credentials.secret.reveal(), ENV_SECRET);
  assert.equal(src.prompts, 0);
  assertNoSecrets(r);
});

Deno.test("resolveCredentials() opens the secrets file when the environment has none", async () => {
  const r = await resolveCredentials(
    sources({}, { file: fileText, password: PASSWORD }),
  );
  assert.ok(r.kind === "found");
  assert.equal(r.source, "file");
  assert.equal(r.credentials.key.reveal(), FILE_KEY);
  assert.equal(r.credentials.secret.reveal(), FILE_SECRET);
  assert.equal(r.header?.validated, true);
  assertNoSecrets(r);
});

Deno.test("resolveCredentials() prefers the environment over the file", async () => {
  const src = sources(
    { KRAKEN_API_KEY: ENV_KEY, KRAKEN_API_SECRET: ENV_SECRET },
    { file: fileText, password: PASSWORD },
  );
  const r = await resolveCredentials(src);
  assert.ok(r.kind === "found");
  assert.equal(r.source, "env");
  assert.equal(src.prompts, 0, "no password prompt when env wins");
});

Deno.test("resolveCredentials() reports one env var alone as incomplete and falls through", async (t) => {
  await t.step("key only, file present", async () => {
    const r = await resolveCredentials(
      sources({ KRAKEN_API_KEY: ENV_KEY }, {
        file: fileText,
        password: PASSWORD,
      }),
    );
    assert.ok(r.kind === "found");
    assert.equal(r.source, "file");
    assert.equal(r.credentials.key.reveal(), FILE_KEY);
    assert.match(
      r.warnings[0]!,
      /Incomplete credentials.*KRAKEN_API_KEY is set but KRAKEN_API_SECRET is not/,
    );
  });
  await t.step("secret only, no file", async () => {
    const r = await resolveCredentials(
      sources({ KRAKEN_API_SECRET: ENV_SECRET }),
    );
    assert.equal(r.kind, "none");
    assert.match(
      r.warnings[0]!,
      /KRAKEN_API_SECRET is set but KRAKEN_API_KEY is not/,
    );
    assertNoSecrets(r);
  });
  await t.step("blank values count as unset", async () => {
    const r = await resolveCredentials(
      sources({ KRAKEN_API_KEY: "  ", KRAKEN_API_SECRET: "" }),
    );
    assert.equal(r.kind, "none");
    assert.equal(r.warnings.length, 0);
  });
});

Deno.test("resolveCredentials() returns a typed none without env or file", async () => {
  const r = await resolveCredentials(sources({}));
  assert.equal(r.kind, "none");
  assert.ok(r.kind === "none");
  assert.match(r.reason, /krakked setup/);
});

Deno.test("resolveCredentials() returns none when a file exists but no password can be had", async () => {
  const r = await resolveCredentials(sources({}, { file: fileText }));
  assert.ok(r.kind === "none");
  assert.match(r.reason, /KRAKKED_MASTER_PASSWORD/);
});

Deno.test("resolveCredentials() gives a typed error for a wrong password or corrupted file", async (t) => {
  for (
    const [name, file, password] of [
      ["wrong password", fileText, "not the password"],
      [
        "corrupted file",
        fileText.replace(/"ciphertext": "../, '"ciphertext": "zz'),
        PASSWORD,
      ],
      ["garbage", "\u0000\u0001garbage", PASSWORD],
    ] as const
  ) {
    await t.step(name, async () => {
      const r = await resolveCredentials(sources({}, { file, password }));
      assert.ok(r.kind === "error");
      assert.equal(r.error.message, "Wrong password or corrupted secrets file");
      assertNoSecrets(r);
      assertNoSecrets(r.error.stack);
    });
  }
});
