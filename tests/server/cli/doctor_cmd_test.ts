import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeBase64 } from "../../../core/auth/base64.ts";
import { parseDoctorArgs } from "../../../server/cli/doctor_cmd.ts";
import { usageMessage } from "./_parsed.ts";
import { CliHarness, closedPortUrl, leakedSecrets } from "./_harness.ts";

const CHECK_IDS = [
  "config",
  "credentials",
  "connectivity",
  "clock",
  "auth",
  "perm_open_orders",
  "perm_closed_orders",
  "perm_ws_token",
  "nonce",
  "no_withdrawal",
];

Deno.test("parseDoctorArgs() accepts --json and --help only", () => {
  assert.deepEqual(parseDoctorArgs([]), { kind: "doctor", json: false });
  assert.deepEqual(parseDoctorArgs(["--json"]), { kind: "doctor", json: true });
  assert.deepEqual(parseDoctorArgs(["--help"]), { kind: "help" });
  assert.match(usageMessage(parseDoctorArgs(["--yes"])), /Unknown flag/);
  assert.match(
    usageMessage(parseDoctorArgs(["extra"])),
    /Unexpected argument/,
  );
});

Deno.test("doctor with the simulator's key passes every check", async (t) => {
  await using h = await CliHarness.start();
  const env = h.simCredentialsEnv;

  await t.step("text: one ✓ line per check", async () => {
    const run = await h.run(["doctor"], { env });
    assert.equal(run.code, 0, run.stdout);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, CHECK_IDS.length, run.stdout);
    for (const line of lines) assert.ok(line.startsWith("✓ "), line);
    assert.ok(!run.stdout.includes("\x1b["), "no colour without a TTY");
    assert.equal(run.stderr, "");
    assert.deepEqual(
      leakedSecrets([run.stdout, run.stderr], Object.values(env)),
      [],
    );
  });

  await t.step("--json: stable ids, all ok", async () => {
    const run = await h.run(["doctor", "--json"], { env });
    assert.equal(run.code, 0);
    const out = JSON.parse(run.stdout);
    assert.equal(out.exitCode, 0);
    assert.deepEqual(out.checks.map((c: { id: string }) => c.id), CHECK_IDS);
    for (const c of out.checks) {
      assert.equal(c.status, "ok", JSON.stringify(c));
      assert.equal(typeof c.label, "string");
      assert.equal(typeof c.detail, "string");
    }
  });

  await t.step("colour on a terminal, none with NO_COLOR", async () => {
    const tty = await h.run(["doctor"], {
      env,
      io: { stdoutIsTerminal: true },
    });
    assert.ok(tty.stdout.includes("\x1b[32m✓\x1b[0m"), tty.stdout);
    const noColor = await h.run(["doctor"], {
      env: { ...env, NO_COLOR: "1" },
      io: { stdoutIsTerminal: true },
    });
    assert.ok(!noColor.stdout.includes("\x1b["), noColor.stdout);
  });
});

Deno.test("doctor with a wrong secret fails authentication with exit 3", async () => {
  await using h = await CliHarness.start();
  const env = {
    KRAKEN_API_KEY: h.simCredentialsEnv.KRAKEN_API_KEY,
    KRAKEN_API_SECRET: encodeBase64(new Uint8Array(64).fill(9)),
  };
  const run = await h.run(["doctor"], { env });
  assert.equal(run.code, 3);
  assert.match(
    run.stdout,
    /✗ Authentication \(Balance\): auth \(EAPI:Invalid (key|signature)\)\n {4}→ Check the key and secret/,
  );
  assert.match(
    run.stdout,
    /- Permission: query open orders: authentication failed/,
  );
  assert.deepEqual(
    leakedSecrets([run.stdout, run.stderr], Object.values(env)),
    [],
  );
});

Deno.test("doctor against a closed port fails connectivity with exit 4", async () => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const run = await h.run(["doctor"], {
    env: {
      KRAKEN_API_KEY: "key-for-an-unreachable-server",
      KRAKEN_API_SECRET: encodeBase64(new Uint8Array(64).fill(1)),
    },
  });
  assert.equal(run.code, 4);
  assert.match(
    run.stdout,
    /✗ Connectivity \(SystemStatus\): http:\/\/127\.0\.0\.1:\d+: network \(Krakked:Fetch failed\)\n {4}→ Check the network or connection\.rest_url/,
  );
  assert.match(run.stdout, /- Authentication \(Balance\): server unreachable/);
});

Deno.test("doctor names a missing permission and its fix", async (t) => {
  await using h = await CliHarness.start({
    sim: { permissions: ["query_funds", "query_closed", "query_ledger"] },
  });
  const run = await h.run(["doctor"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 3);
  await t.step("open orders", () => {
    assert.match(
      run.stdout,
      /✗ Permission: query open orders: permission \(EGeneral:Permission denied\)\n {4}→ Enable "Query Open Orders & Trades" on the API key/,
    );
  });
  await t.step("WebSocket token", () => {
    assert.match(
      run.stdout,
      /✗ Permission: WebSocket token: permission \(EGeneral:Permission denied\)\n {4}→ Enable "WebSocket interface" on the API key/,
    );
  });
  await t.step("the granted ones pass", () => {
    assert.match(run.stdout, /✓ Authentication \(Balance\): allowed/);
    assert.match(run.stdout, /✓ Permission: query closed orders: allowed/);
  });
});

Deno.test("doctor without credentials warns and still checks connectivity", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["doctor"]);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /! Credentials source: No credentials/);
  assert.match(run.stdout, /✓ Connectivity \(SystemStatus\)/);
  assert.match(run.stdout, /- Authentication \(Balance\): no credentials/);
});

Deno.test("doctor with a broken config fails that check and contacts nothing", async () => {
  await using h = await CliHarness.start();
  await Deno.writeTextFile(
    join(h.dir, "config.yaml"),
    "connection:\n  rest_url: ftp://nowhere\n",
  );
  const run = await h.run(["doctor", "--json"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 1);
  const out = JSON.parse(run.stdout);
  const byId = Object.fromEntries(
    out.checks.map((c: { id: string; status: string }) => [c.id, c.status]),
  );
  assert.equal(byId.config, "fail");
  assert.equal(byId.credentials, "ok");
  assert.equal(byId.connectivity, "skip");
  assert.equal(byId.auth, "skip");
});

Deno.test("doctor with a wrong master password fails the credentials check", async () => {
  await using h = await CliHarness.start();
  const setup = await h.run(["setup", "--yes"], {
    env: {
      ...h.simCredentialsEnv,
      KRAKKED_MASTER_PASSWORD: "the right password",
    },
  });
  assert.equal(setup.code, 0, setup.stderr);
  const run = await h.run(["doctor"], {
    env: { KRAKKED_MASTER_PASSWORD: "not the password" },
  });
  assert.equal(run.code, 3);
  assert.match(
    run.stdout,
    /✗ Credentials source: .*wrong password or corrupted secrets file/i,
  );
  assert.ok(!run.stdout.includes("not the password"));
});
