import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FILE_LIMITS,
  InputFileError,
  readOptionalText,
  tightenConfigDir,
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

Deno.test("readOptionalText() reads only regular files under its cap, with a typed error", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await t.step("/dev/zero is refused before it is read", async () => {
      const error = await readOptionalText("/dev/zero").catch((e) => e);
      assert.ok(error instanceof InputFileError, String(error));
      assert.equal(error.kind, "not_regular");
      assert.match(error.message, /\/dev\/zero/);
    });
    await t.step("a directory is refused", async () => {
      const error = await readOptionalText(root).catch((e) => e);
      assert.ok(error instanceof InputFileError);
      assert.equal(error.kind, "not_regular");
    });
    await t.step("a FIFO is refused without blocking on it", async () => {
      const fifo = join(root, "config.yaml");
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.equal(made.code, 0);
      const error = await readOptionalText(fifo).catch((e) => e);
      assert.ok(error instanceof InputFileError);
      assert.equal(error.kind, "not_regular");
    });
    await t.step("a file over the cap is refused", async () => {
      const big = join(root, "big.yaml");
      await Deno.writeTextFile(big, "x".repeat(2048));
      const error = await readOptionalText(big, { maxBytes: 1024 }).catch((
        e,
      ) => e);
      assert.ok(error instanceof InputFileError);
      assert.equal(error.kind, "too_large");
      assert.equal(
        await readOptionalText(big, { maxBytes: 2048 }),
        "x".repeat(2048),
      );
    });
    await t.step(
      "a symlink to a regular file is read; a missing file is undefined",
      async () => {
        const target = join(root, "real.yaml");
        await Deno.writeTextFile(target, "a: 1\n");
        const link = join(root, "link.yaml");
        await Deno.symlink(target, link);
        assert.equal(await readOptionalText(link), "a: 1\n");
        assert.equal(
          await readOptionalText(join(root, "none.yaml")),
          undefined,
        );
      },
    );
    await t.step("the caps are small enough to matter", () => {
      assert.ok(FILE_LIMITS.secrets <= 64 * 1024);
      assert.ok(FILE_LIMITS.config <= 1024 * 1024);
      assert.ok(FILE_LIMITS.paper <= 64 * 1024 * 1024);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "an existing config directory is tightened to 0700 and secrets.enc to 0600",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const dir = join(root, "kraken_bot");
      await Deno.mkdir(dir, { mode: 0o755 });
      await Deno.chmod(dir, 0o755);
      const secrets = join(dir, "secrets.enc");
      await Deno.writeTextFile(secrets, "{}");
      await Deno.chmod(secrets, 0o644);
      assert.deepEqual(await tightenConfigDir(dir, secrets), [dir, secrets]);
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
      assert.equal((await Deno.stat(secrets)).mode! & 0o777, 0o600);
      assert.deepEqual(await tightenConfigDir(dir, secrets), []);
      // Writing a private file into an existing open directory tightens it.
      await Deno.chmod(dir, 0o755);
      await writePrivateFileAtomic(join(dir, "paper.json"), "{}");
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
