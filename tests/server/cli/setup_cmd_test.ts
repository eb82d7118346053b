import assert from "node:assert/strict";
import { join } from "node:path";
import { openVault } from "../../../core/secrets/vault.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import { encodeBase64 } from "../../../core/auth/base64.ts";
import { parseSetupArgs } from "../../../server/cli/setup_cmd.ts";
import { usageMessage } from "./_parsed.ts";
import {
  CliHarness,
  type CliRun,
  closedPortUrl,
  leakedSecrets,
} from "./_harness.ts";

const PASSWORD = "correct horse battery staple";

/** A well-formed secret the simulator does not know. */
const WRONG_SECRET = encodeBase64(new Uint8Array(64).fill(7));

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function assertNoLeak(run: CliRun, secrets: readonly string[]): void {
  assert.deepEqual(leakedSecrets([run.stdout, run.stderr], secrets), []);
  // Nothing even tried to print one (the redactor would have masked it).
  assert.ok(!run.stdout.includes("[redacted]"), run.stdout);
  assert.ok(!run.stderr.includes("[redacted]"), run.stderr);
}

Deno.test("parseSetupArgs() reads flags, help and unknown flags", async (t) => {
  await t.step("flags", () => {
    assert.deepEqual(
      parseSetupArgs(["--yes", "--save-unvalidated", "--force", "--json"]),
      {
        kind: "setup",
        yes: true,
        saveUnvalidated: true,
        force: true,
        json: true,
      },
    );
    assert.deepEqual(parseSetupArgs(["-y"]), {
      kind: "setup",
      yes: true,
      saveUnvalidated: false,
      force: false,
      json: false,
    });
  });
  await t.step("help", () => {
    assert.deepEqual(parseSetupArgs(["--help"]), { kind: "help" });
    assert.deepEqual(parseSetupArgs(["-h"]), { kind: "help" });
  });
  await t.step("unknown flag", () => {
    assert.equal(
      usageMessage(parseSetupArgs(["--nope"])),
      'Unknown flag "--nope"',
    );
    assert.equal(
      usageMessage(parseSetupArgs(["extra"])),
      'Unexpected argument "extra"',
    );
  });
});

Deno.test("setup --yes saves and validates a key the simulator accepts", async () => {
  await using h = await CliHarness.start();
  const env = { ...h.simCredentialsEnv, KRAKKED_MASTER_PASSWORD: PASSWORD };
  const run = await h.run(["setup", "--yes"], { env });
  assert.equal(run.code, 0, run.stderr);
  const path = join(h.dir, "secrets.enc");
  assert.match(run.stdout, /Saved and validated/);
  assert.ok(run.stdout.includes(path));

  const stat = await Deno.stat(path);
  assert.equal(stat.mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(path);
  assert.ok(!text.includes(env.KRAKEN_API_KEY), "key stored as text");
  assert.ok(!text.includes(env.KRAKEN_API_SECRET), "secret stored as text");
  const opened = await openVault(text, new Secret(PASSWORD));
  assert.equal(opened.credentials.key.reveal(), env.KRAKEN_API_KEY);
  assert.equal(opened.credentials.secret.reveal(), env.KRAKEN_API_SECRET);
  assert.equal(opened.header.validated, true);
  // No temp file is left beside it.
  const names = [...Deno.readDirSync(h.dir)].map((e) => e.name).sort();
  assert.deepEqual(names, ["config.yaml", "secrets.enc"]);
  assertNoLeak(run, [env.KRAKEN_API_KEY, env.KRAKEN_API_SECRET, PASSWORD]);

  // doctor then reads the file with the master password from the environment.
  const doctor = await h.run(["doctor"], {
    env: { KRAKKED_MASTER_PASSWORD: PASSWORD },
  });
  assert.equal(doctor.code, 0, doctor.stdout);
  assert.match(doctor.stdout, /✓ Credentials source: secrets file\n/);
  assert.match(doctor.stdout, /✓ Authentication \(Balance\): allowed/);
  assertNoLeak(doctor, [env.KRAKEN_API_KEY, env.KRAKEN_API_SECRET, PASSWORD]);
});

Deno.test("setup --yes with a wrong secret exits 3 and saves nothing", async () => {
  await using h = await CliHarness.start();
  const env = {
    KRAKEN_API_KEY: h.simCredentialsEnv.KRAKEN_API_KEY,
    KRAKEN_API_SECRET: WRONG_SECRET,
    KRAKKED_MASTER_PASSWORD: PASSWORD,
  };
  const run = await h.run(["setup", "--yes"], { env });
  assert.equal(run.code, 3);
  assert.match(
    run.stderr,
    /Kraken rejected the key \(auth\).*Nothing was saved/,
  );
  assert.equal(await exists(join(h.dir, "secrets.enc")), false);
  assertNoLeak(run, [env.KRAKEN_API_KEY, WRONG_SECRET, PASSWORD]);
});

Deno.test("setup --yes --force saves a rejected key marked unvalidated", async () => {
  await using h = await CliHarness.start();
  const env = {
    KRAKEN_API_KEY: h.simCredentialsEnv.KRAKEN_API_KEY,
    KRAKEN_API_SECRET: WRONG_SECRET,
    KRAKKED_MASTER_PASSWORD: PASSWORD,
  };
  const run = await h.run(["setup", "--yes", "--force"], { env });
  assert.equal(run.code, 3);
  const text = await Deno.readTextFile(join(h.dir, "secrets.enc"));
  const opened = await openVault(text, new Secret(PASSWORD));
  assert.equal(opened.header.validated, false);
});

Deno.test("setup against an unreachable server exits 4", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const env = {
    KRAKEN_API_KEY: "k".repeat(56),
    KRAKEN_API_SECRET: WRONG_SECRET,
    KRAKKED_MASTER_PASSWORD: PASSWORD,
  };
  const path = join(h.dir, "secrets.enc");

  await t.step("and saves nothing by default", async () => {
    const run = await h.run(["setup", "--yes"], { env });
    assert.equal(run.code, 4);
    assert.match(run.stderr, /could not be reached \(network\)/);
    assert.match(run.stderr, /--save-unvalidated/);
    assert.equal(await exists(path), false);
    assertNoLeak(run, Object.values(env));
  });

  await t.step("and with --save-unvalidated saves it unvalidated", async () => {
    const run = await h.run(
      ["setup", "--yes", "--save-unvalidated", "--json"],
      {
        env,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(
      { ...out, message: undefined },
      {
        exitCode: 0,
        outcome: "transient_failure",
        saved: true,
        validated: false,
        path,
        message: undefined,
      },
    );
    const opened = await openVault(
      await Deno.readTextFile(path),
      new Secret(PASSWORD),
    );
    assert.equal(opened.header.validated, false);
    assertNoLeak(run, Object.values(env));
  });
});

Deno.test("setup without a terminal or environment variables is a usage error", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["setup"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Non-interactive setup needs KRAKEN_API_KEY/);
});

Deno.test("interactive setup asks for the key, the secret and the password twice", async () => {
  await using h = await CliHarness.start();
  const { KRAKEN_API_KEY: key, KRAKEN_API_SECRET: secret } =
    h.simCredentialsEnv;
  const asked: string[] = [];
  const answers = [secret, PASSWORD, "a different one", PASSWORD, PASSWORD];
  const run = await h.run(["setup"], {
    io: {
      interactive: true,
      promptLine: (message) => {
        asked.push(message);
        return key;
      },
      promptSecret: (message) => {
        asked.push(message);
        const next = answers.shift();
        return Promise.resolve(
          next === undefined ? undefined : new Secret(next),
        );
      },
    },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(asked, [
    "Kraken API key: ",
    "Kraken private key (hidden): ",
    "New master password (hidden, 8+ characters): ",
    "Repeat the master password: ",
    "New master password (hidden, 8+ characters): ",
    "Repeat the master password: ",
  ]);
  assert.match(run.stderr, /The passwords differ; try again/);
  const opened = await openVault(
    await Deno.readTextFile(join(h.dir, "secrets.enc")),
    new Secret(PASSWORD),
  );
  assert.equal(opened.credentials.key.reveal(), key);
  assert.equal(opened.header.validated, true);
  assertNoLeak(run, [key, secret, PASSWORD]);
});

Deno.test("interactive setup judges the password before the repeat prompt", async () => {
  await using h = await CliHarness.start();
  const { KRAKEN_API_KEY: key, KRAKEN_API_SECRET: secret } =
    h.simCredentialsEnv;
  const asked: string[] = [];
  const answers = [secret, "tiny7", PASSWORD, PASSWORD];
  const run = await h.run(["setup"], {
    io: {
      interactive: true,
      promptLine: (message) => {
        asked.push(message);
        return key;
      },
      promptSecret: (message) => {
        asked.push(message);
        const next = answers.shift();
        return Promise.resolve(
          next === undefined ? undefined : new Secret(next),
        );
      },
    },
  });
  assert.equal(run.code, 0, run.stderr);
  // The short one is refused at once: no "Repeat" follows it.
  assert.deepEqual(asked, [
    "Kraken API key: ",
    "Kraken private key (hidden): ",
    "New master password (hidden, 8+ characters): ",
    "New master password (hidden, 8+ characters): ",
    "Repeat the master password: ",
  ]);
  assert.match(
    run.stderr,
    /The master password has 5 characters, at least 8 are needed; try again\n/,
  );
  assertNoLeak(run, [key, secret, PASSWORD, "tiny7"]);
});

Deno.test("setup --yes with a short KRAKKED_MASTER_PASSWORD is refused before any call", async () => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const run = await h.run(["setup", "--yes"], {
    env: {
      KRAKEN_API_KEY: "k".repeat(56),
      KRAKEN_API_SECRET: WRONG_SECRET,
      KRAKKED_MASTER_PASSWORD: "pw",
    },
  });
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr,
    "KRAKKED_MASTER_PASSWORD has 2 characters, at least 8 are needed\n",
  );
  assert.equal(await exists(join(h.dir, "secrets.enc")), false);
});

Deno.test("setup never replaces an existing secrets file without asking", async (t) => {
  await using h = await CliHarness.start();
  const path = join(h.dir, "secrets.enc");
  const good = { ...h.simCredentialsEnv, KRAKKED_MASTER_PASSWORD: PASSWORD };
  const first = await h.run(["setup", "--yes"], { env: good });
  assert.equal(first.code, 0, first.stderr);
  const original = await Deno.readTextFile(path);
  const rejected = { ...good, KRAKEN_API_SECRET: WRONG_SECRET };
  const unchanged = async () =>
    assert.equal(await Deno.readTextFile(path), original);

  await t.step(
    "no terminal, no --yes: usage error naming the file",
    async () => {
      const run = await h.run(["setup"], { env: good });
      assert.equal(run.code, 2);
      assert.equal(
        run.stderr,
        `${path} already holds a secrets file with a key Kraken accepted (checked ${
          JSON.parse(original).validatedAt
        }): add --yes to replace it; only a key Kraken accepts can replace it (or set KRAKKED_CONFIG_DIR to another directory)\n`,
      );
      await unchanged();
    },
  );
  await t.step(
    "on a terminal: asks first; no keeps the file, exit 1",
    async () => {
      const asked: string[] = [];
      const run = await h.run(["setup"], {
        io: {
          interactive: true,
          promptLine: (message) => {
            asked.push(message);
            return "n";
          },
          promptSecret: () => {
            throw new Error("nothing may be asked after a no");
          },
        },
      });
      assert.equal(run.code, 1);
      assert.equal(asked.length, 1);
      assert.match(
        asked[0]!,
        /already holds a secrets file with a key Kraken accepted .*Replace it\? \[y\/N\] $/,
      );
      assert.equal(
        run.stderr,
        "Kept the existing secrets file; nothing was changed\n",
      );
      await unchanged();
    },
  );
  await t.step(
    "--yes --force with a rejected key keeps the validated file (exit 3)",
    async () => {
      const run = await h.run(["setup", "--yes", "--force"], { env: rejected });
      assert.equal(run.code, 3);
      assert.match(
        run.stderr,
        /^Kraken rejected the key \(auth\): .*Nothing was saved; kept the existing secrets file, whose key Kraken accepted: an unvalidated key never replaces it/m,
      );
      await unchanged();
      assertNoLeak(run, [WRONG_SECRET, PASSWORD, good.KRAKEN_API_SECRET]);
    },
  );
  await t.step("--yes --force --json says it kept the file", async () => {
    const run = await h.run(["setup", "--yes", "--force", "--json"], {
      env: rejected,
    });
    assert.equal(run.code, 3);
    const out = JSON.parse(run.stdout);
    assert.equal(out.saved, false);
    assert.equal(out.outcome, "auth_failed");
    assert.equal(out.error.category, "auth");
    assert.equal(out.error.message, out.message);
    await unchanged();
  });
  await t.step("--yes with a key Kraken accepts replaces it", async () => {
    const run = await h.run(["setup", "--yes"], {
      env: { ...good, KRAKKED_MASTER_PASSWORD: "another long password" },
    });
    assert.equal(run.code, 0, run.stderr);
    const opened = await openVault(
      await Deno.readTextFile(path),
      new Secret("another long password"),
    );
    assert.equal(opened.header.validated, true);
  });
  await t.step(
    "an unvalidated file may be replaced by --yes --force",
    async () => {
      await Deno.writeTextFile(path, "not a vault");
      const run = await h.run(["setup", "--yes", "--force"], { env: rejected });
      assert.equal(run.code, 3);
      const opened = await openVault(
        await Deno.readTextFile(path),
        new Secret(PASSWORD),
      );
      assert.equal(opened.header.validated, false);
    },
  );
});

Deno.test("setup --json failures carry the one error shape", async (t) => {
  await t.step("missing input: usage, exit 2", async () => {
    await using h = await CliHarness.start();
    const run = await h.run(["setup", "--json"]);
    assert.equal(run.code, 2);
    const out = JSON.parse(run.stdout);
    assert.equal(out.outcome, "input_error");
    assert.equal(out.error.category, "usage");
  });
  await t.step("unreachable: network, exit 4", async () => {
    await using h = await CliHarness.start({ restUrl: closedPortUrl() });
    const run = await h.run(["setup", "--yes", "--json"], {
      env: {
        KRAKEN_API_KEY: "k".repeat(56),
        KRAKEN_API_SECRET: WRONG_SECRET,
        KRAKKED_MASTER_PASSWORD: PASSWORD,
      },
    });
    assert.equal(run.code, 4);
    assert.equal(run.stderr, "");
    assert.equal(JSON.parse(run.stdout).error.category, "network");
  });
});
