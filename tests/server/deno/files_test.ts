import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readOptionalText,
  writePrivateFileAtomic,
} from "../../../server/deno/files.ts";
import { denoCredentialSources } from "../../../server/deno/credentials_source.ts";
import { resolveCredentials } from "../../../core/secrets/credentials.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import {
  sealCredentials,
  serializeVault,
} from "../../../core/secrets/vault.ts";

const KEY = "FILES-TEST-KEY-ZZZZZZZZZZZZZZZZZZ";
const SECRET = "RklMRVMtVEVTVC1TRUNSRVQtRklMRVMtVEVTVC1TRUNSRVQ=";

Deno.test("writePrivateFileAtomic() writes secrets.enc with 0600 in a 0700 directory, holding neither key nor secret", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "kraken_bot");
    const path = join(dir, "secrets.enc");
    const text = serializeVault(
      await sealCredentials({
        key: new Secret(KEY),
        secret: new Secret(SECRET),
      }, new Secret("a good password")),
    );
    await writePrivateFileAtomic(path, text);
    const bytes = await Deno.readFile(path);
    const onDisk = new TextDecoder().decode(bytes);
    assert.equal(onDisk, text);
    assert.ok(!onDisk.includes(KEY) && !onDisk.includes(SECRET));
    assert.ok(!onDisk.includes(btoa(KEY)), "not even base64 of the key");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    }
    // Overwrite atomically: no temp files remain.
    await writePrivateFileAtomic(path, "second");
    assert.equal(await Deno.readTextFile(path), "second");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["secrets.enc"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writePrivateFileAtomic() leaves no temp file when the rename fails", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "is-a-dir");
    await Deno.mkdir(join(target, "child"), { recursive: true });
    await assert.rejects(() => writePrivateFileAtomic(target, "x"));
    const names = [];
    for await (const e of Deno.readDir(root)) names.push(e.name);
    assert.deepEqual(names, ["is-a-dir"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readOptionalText() returns undefined for a missing file", async () => {
  assert.equal(
    await readOptionalText("/nonexistent/krakked/config.yaml"),
    undefined,
  );
});

Deno.test("denoCredentialSources() reads the file and takes the password from the environment first", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "secrets.enc");
    await writePrivateFileAtomic(
      path,
      serializeVault(
        await sealCredentials({
          key: new Secret(KEY),
          secret: new Secret(SECRET),
        }, new Secret("env password 1")),
      ),
    );
    let prompted = 0;
    const fromEnv = await resolveCredentials(denoCredentialSources({
      secretsPath: path,
      env: (n) => ({ KRAKKED_MASTER_PASSWORD: "env password 1" })[n],
      prompt: () => Promise.resolve(void prompted++),
    }));
    assert.ok(fromEnv.kind === "found" && fromEnv.source === "file");
    assert.equal(prompted, 0);
    const fromPrompt = await resolveCredentials(denoCredentialSources({
      secretsPath: path,
      env: () => undefined,
      prompt: () => Promise.resolve(new Secret("env password 1")),
    }));
    assert.ok(fromPrompt.kind === "found");
    assert.equal(fromPrompt.credentials.key.reveal(), KEY);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
