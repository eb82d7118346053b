import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../../core/config/config.ts";
import { Redactor } from "../../../core/secrets/redact.ts";
import {
  loadContext,
  requireCredentials,
  table,
} from "../../../server/cli/context.ts";
import { CredentialsError } from "../../../server/cli/errors.ts";
import { InputFileError } from "../../../server/deno/files.ts";
import {
  colorAllowed,
  paint,
  writeJson,
  writeLine,
} from "../../../server/cli/io.ts";
import { CliHarness, closedPortUrl } from "./_harness.ts";

Deno.test("table() aligns columns by visible width", () => {
  assert.equal(
    table(["pair", "last"], [["XBTUSD", "1.5"], [
      "ETHUSD",
      "\x1b[32m12.25\x1b[0m",
    ]], [1]),
    [
      "pair     last",
      "------  -----",
      "XBTUSD    1.5",
      "ETHUSD  \x1b[32m12.25\x1b[0m",
    ].join("\n"),
  );
  assert.equal(table(["a", "b"], [["x"]]), "a  b\n-  -\nx");
});

Deno.test("loadContext() reads config.yaml from KRAKKED_CONFIG_DIR", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const env = (n: string) =>
      ({
        KRAKKED_CONFIG_DIR: dir,
        KRAKEN_API_KEY: "the-api-key",
        KRAKEN_API_SECRET: "c2VjcmV0LXNlY3JldA==",
      })[n];
    await t.step("no file: defaults", async () => {
      const ctx = await loadContext({ env, os: "linux" });
      ctx.rest.close();
      assert.equal(ctx.configExists, false);
      assert.equal(ctx.paths.config, join(dir, "config.yaml"));
      assert.equal(ctx.credentials, undefined);
      assert.equal(ctx.rest.hasCredentials, false);
    });
    await t.step(
      "credentials from the environment are registered",
      async () => {
        await Deno.writeTextFile(
          join(dir, "config.yaml"),
          "connection:\n  rest_url: http://127.0.0.1:9\nbogus: 1\n",
        );
        const redactor = new Redactor();
        const ctx = await loadContext({
          env,
          os: "linux",
          credentials: true,
          redactor,
        });
        ctx.rest.close();
        assert.equal(ctx.configExists, true);
        assert.equal(ctx.config.connection.rest_url, "http://127.0.0.1:9");
        assert.equal(ctx.warnings.length, 1);
        assert.equal(ctx.credentials?.kind, "found");
        assert.equal(ctx.rest.hasCredentials, true);
        assert.equal(
          redactor.text("the-api-key c2VjcmV0LXNlY3JldA=="),
          "[redacted] [redacted]",
        );
      },
    );
    await t.step("a bad config throws ConfigError", async () => {
      await Deno.writeTextFile(join(dir, "config.yaml"), "connection: [\n");
      await assert.rejects(
        () => loadContext({ env, os: "linux" }),
        ConfigError,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requireCredentials() passes found credentials only", () => {
  requireCredentials(undefined);
  assert.throws(
    () =>
      requireCredentials({
        kind: "none",
        reason: "No credentials",
        warnings: [],
      }),
    (e) => e instanceof CredentialsError && e.message === "No credentials",
  );
  assert.throws(
    () =>
      requireCredentials({
        kind: "error",
        source: "file",
        error: new Error("wrong password or corrupted secrets file"),
        warnings: [],
      }),
    /Cannot open the secrets file: wrong password/,
  );
});

Deno.test("colorAllowed() needs a terminal and no NO_COLOR", () => {
  const env = (v?: string) => (n: string) => (n === "NO_COLOR" ? v : undefined);
  assert.equal(colorAllowed({ env: env(), stdoutIsTerminal: true }), true);
  assert.equal(colorAllowed({ env: env(""), stdoutIsTerminal: true }), true);
  assert.equal(colorAllowed({ env: env("1"), stdoutIsTerminal: true }), false);
  assert.equal(colorAllowed({ env: env(), stdoutIsTerminal: false }), false);
  assert.equal(paint(false, "31", "x"), "x");
  assert.equal(paint(true, "31", "x"), "\x1b[31mx\x1b[0m");
});

Deno.test("writeLine() and writeJson() end with a newline", () => {
  let out = "";
  const stdout = (s: string) => (out += s);
  writeLine(stdout, "a");
  writeJson({ stdout }, { b: [1] });
  assert.equal(out, 'a\n{\n  "b": [\n    1\n  ]\n}\n');
});

Deno.test("a YAML syntax error names line, column, the line's text and a hint", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const cases = [
    [
      "connection:\n  rest_url: http://127.0.0.1:1 x: y\n",
      `Invalid config (line 2, column 13): Nested mappings are not allowed in compact mappings in "rest_url: http://127.0.0.1:1 x: y" (a value that contains ": " needs quotes, and a nested key goes on its own line, indented)`,
    ],
    [
      "connection:\n\trest_url: http://127.0.0.1:1\n",
      `Invalid config (line 2, column 1): Tabs are not allowed as indentation in "rest_url: http://127.0.0.1:1" (indent with spaces, not tabs)`,
    ],
    [
      "universe:\n  include: [XBTUSD\n",
      /^Invalid config \(line 3, column 1\): .* at the end of the file \(check the indentation and that every bracket is closed\)$/,
    ],
  ] as const;
  for (const [yaml, expected] of cases) {
    await t.step(JSON.stringify(yaml), async () => {
      await Deno.writeTextFile(join(h.dir, "config.yaml"), yaml);
      const text = await h.run(["universe"]);
      assert.equal(text.code, 1);
      assert.equal(text.stdout, "");
      const line = text.stderr.replace(/^krakked universe: /, "").trimEnd()
        .replace(/ \(id universe-[0-9a-f]{12}\)$/, "");
      assert.ok(!line.endsWith(":"), line);
      assert.ok(!line.includes("\n"), line);
      if (typeof expected === "string") assert.equal(line, expected);
      else assert.match(line, expected);
      const json = await h.run(["universe", "--json"]);
      assert.equal(json.code, 1);
      const { error } = JSON.parse(json.stdout);
      assert.equal(error.category, "config");
      assert.equal(error.message, line);
    });
  }
});

Deno.test("every command's context tightens an open config directory and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o755);
    const secrets = join(dir, "secrets.enc");
    await Deno.writeTextFile(secrets, "{}");
    await Deno.chmod(secrets, 0o644);
    const env = (n: string) => ({ KRAKKED_CONFIG_DIR: dir })[n];
    const ctx = await loadContext({ env, os: "linux" });
    ctx.rest.close();
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(secrets)).mode! & 0o777, 0o600);
    assert.deepEqual(ctx.warnings, [
      `tightened the permissions of ${dir} (0700/0600)`,
      `tightened the permissions of ${secrets} (0700/0600)`,
    ]);
    // Already private: nothing to say the next time.
    const again = await loadContext({ env, os: "linux" });
    again.rest.close();
    assert.deepEqual(again.warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadContext() refuses an oversized or non-regular config.yaml before reading it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = (n: string) => ({ KRAKKED_CONFIG_DIR: dir })[n];
    const config = join(dir, "config.yaml");
    await Deno.writeTextFile(config, "# padding\n".repeat(30_000)); // 300 KB
    await assert.rejects(
      loadContext({ env, os: "linux" }),
      (e) => e instanceof InputFileError && e.kind === "too_large",
    );
    await Deno.remove(config);
    await Deno.symlink("/dev/zero", config);
    await assert.rejects(
      loadContext({ env, os: "linux" }),
      (e) => e instanceof InputFileError && e.kind === "not_regular",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
