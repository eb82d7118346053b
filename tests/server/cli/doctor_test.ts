import assert from "node:assert/strict";
import { KrakenError } from "../../../core/rest/errors.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import type { CredentialsResult } from "../../../core/secrets/credentials.ts";
import {
  checkClock,
  checkConfig,
  checkConnectivity,
  checkCredentials,
  checkNonce,
  checkPrivateCalls,
  type DoctorCheck,
  doctorExitCode,
  type DoctorInputs,
  type DoctorRest,
  formatChecks,
  runDoctor,
} from "../../../server/cli/doctor.ts";

const NOW_MS = Date.UTC(2025, 5, 15, 12, 0, 0);

function fail(code: string): () => Promise<never> {
  return () =>
    Promise.reject(new KrakenError(`Call failed: ${code}`, { codes: [code] }));
}

function rest(overrides: Partial<DoctorRest> = {}): DoctorRest {
  return {
    systemStatus: () => Promise.resolve({ status: "online" }),
    time: () => Promise.resolve({ unixtime: NOW_MS / 1000 }),
    balance: () => Promise.resolve({}),
    openOrders: () => Promise.resolve({ open: {} }),
    closedOrders: () => Promise.resolve({ closed: {}, count: 0 }),
    getWebSocketsToken: () => Promise.resolve({}),
    ...overrides,
  };
}

const FOUND: CredentialsResult = {
  kind: "found",
  source: "env",
  credentials: { key: new Secret("key"), secret: new Secret("c2VjcmV0") },
  warnings: [],
};

function inputs(overrides: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    config: { ok: true, path: "/cfg/config.yaml", exists: true, warnings: [] },
    credentials: FOUND,
    rest: rest(),
    restUrl: "http://127.0.0.1:1",
    now: () => NOW_MS,
    ...overrides,
  };
}

function byId(checks: DoctorCheck[]): Record<string, DoctorCheck> {
  return Object.fromEntries(checks.map((c) => [c.id, c]));
}

Deno.test("runDoctor() passes everything with a working key", async () => {
  const checks = await runDoctor(inputs());
  assert.ok(checks.every((c) => c.status === "ok"), JSON.stringify(checks));
  assert.equal(doctorExitCode(checks), 0);
});

Deno.test("runDoctor() warns about what works but needs attention", async (t) => {
  await t.step("config warnings and a missing file", async () => {
    const c = byId(
      await runDoctor(inputs({
        config: {
          ok: true,
          path: "/c",
          exists: true,
          warnings: ["Unknown key x"],
        },
      })),
    );
    assert.equal(c.config!.status, "warn");
    assert.match(c.config!.detail, /Unknown key x/);
    const missing = byId(
      await runDoctor(inputs({
        config: { ok: true, path: "/c", exists: false, warnings: [] },
      })),
    );
    assert.match(missing.config!.detail, /not found: using defaults/);
  });
  await t.step(
    "file credentials saved unvalidated, with warnings",
    async () => {
      const c = byId(
        await runDoctor(inputs({
          credentials: {
            ...FOUND,
            source: "file",
            header: { validated: false } as never,
            warnings: ["Incomplete credentials in the environment"],
          },
        })),
      );
      assert.equal(c.credentials!.status, "warn");
      assert.equal(c.credentials!.detail, "secrets file (saved unvalidated)");
    },
  );
  await t.step("maintenance and clock skew", async () => {
    const checks = await runDoctor(inputs({
      rest: rest({
        systemStatus: () => Promise.resolve({ status: "maintenance" }),
        time: () => Promise.resolve({ unixtime: NOW_MS / 1000 - 30 }),
      }),
    }));
    const c = byId(checks);
    assert.equal(c.connectivity!.status, "warn");
    assert.equal(c.clock!.status, "warn");
    assert.equal(c.clock!.detail, "+30 s");
    assert.match(c.clock!.hint!, /NTP/);
    assert.equal(doctorExitCode(checks), 0);
  });
});

Deno.test("runDoctor() fails and skips in order", async (t) => {
  await t.step("nonce trouble", async () => {
    const checks = await runDoctor(inputs({
      rest: rest({ openOrders: fail("EAPI:Invalid nonce") }),
    }));
    const c = byId(checks);
    assert.equal(c.perm_open_orders!.status, "fail");
    assert.match(c.perm_open_orders!.hint!, /nonce is ahead/);
    assert.equal(c.nonce!.status, "fail");
    assert.equal(doctorExitCode(checks), 3);
  });
  await t.step("a service error on a permission check", async () => {
    const c = byId(
      await runDoctor(inputs({
        rest: rest({ closedOrders: fail("EService:Unavailable") }),
      })),
    );
    assert.equal(c.perm_closed_orders!.hint, "Retry later");
  });
  await t.step("clock call failing", async () => {
    const checks = await runDoctor(inputs({
      rest: rest({ time: fail("EService:Busy") }),
    }));
    assert.equal(byId(checks).clock!.status, "fail");
    assert.equal(doctorExitCode(checks), 1);
  });
  await t.step("credential file error", async () => {
    const checks = await runDoctor(inputs({
      credentials: {
        kind: "error",
        source: "file",
        error: new Error("Wrong password or corrupted secrets file"),
        warnings: [],
      },
    }));
    const c = byId(checks);
    assert.equal(c.credentials!.status, "fail");
    assert.equal(c.auth!.status, "skip");
    assert.equal(c.nonce!.status, "skip");
    assert.equal(doctorExitCode(checks), 3);
  });
  await t.step("a non-Kraken error is described too", async () => {
    const c = byId(
      await runDoctor(inputs({
        rest: rest({ systemStatus: () => Promise.reject(new Error("boom")) }),
      })),
    );
    assert.equal(
      c.connectivity!.detail,
      "http://127.0.0.1:1: unknown (Error: boom)",
    );
  });
});

Deno.test("formatChecks() marks each status and indents hints", () => {
  const checks: DoctorCheck[] = [
    { id: "a", label: "A", status: "ok", detail: "fine" },
    { id: "b", label: "B", status: "warn", detail: "hmm", hint: "look" },
    { id: "c", label: "C", status: "fail", detail: "bad", hint: "fix" },
    { id: "d", label: "D", status: "skip", detail: "later" },
  ];
  assert.equal(
    formatChecks(checks, false),
    "✓ A: fine\n! B: hmm\n    → look\n✗ C: bad\n    → fix\n- D: later",
  );
  const colored = formatChecks(checks, true);
  for (const code of ["32", "33", "31", "90"]) {
    assert.ok(colored.includes(`\x1b[${code}m`), code);
  }
});

Deno.test("each doctor check is a named function with its own rule", async (t) => {
  const found: CredentialsResult = {
    kind: "found",
    source: "env",
    credentials: { key: new Secret("k"), secret: new Secret("s") },
    warnings: [],
  };
  const inputs = (overrides: Partial<DoctorInputs> = {}): DoctorInputs => ({
    config: { ok: true, path: "/cfg/config.yaml", exists: true, warnings: [] },
    credentials: found,
    rest: rest(),
    restUrl: "http://sim",
    now: () => NOW_MS,
    ...overrides,
  });
  await t.step("checkConfig: unknown keys warn, a broken file fails", () => {
    assert.equal(
      checkConfig({ ok: true, path: "/c", exists: true, warnings: ["x"] })
        .status,
      "warn",
    );
    assert.equal(
      checkConfig({ ok: false, path: "/c", error: "bad" }).status,
      "fail",
    );
  });
  await t.step("checkCredentials: none warns, unreadable fails", () => {
    assert.equal(checkCredentials(found).status, "ok");
    assert.equal(
      checkCredentials({ kind: "none", reason: "none", warnings: [] }).status,
      "warn",
    );
  });
  await t.step(
    "checkConnectivity: contacts nothing with a broken config",
    async () => {
      let called = false;
      const check = await checkConnectivity(inputs({
        config: { ok: false, path: "/c", error: "bad" },
        rest: rest({
          systemStatus: () => {
            called = true;
            return Promise.resolve({ status: "online" });
          },
        }),
      }));
      assert.equal(check.status, "skip");
      assert.equal(called, false);
    },
  );
  await t.step(
    "checkClock: skipped when unreachable, warns on skew",
    async () => {
      assert.equal((await checkClock(inputs(), false)).status, "skip");
      const skewed = await checkClock(
        inputs({
          rest: rest({
            time: () => Promise.resolve({ unixtime: NOW_MS / 1000 - 60 }),
          }),
        }),
        true,
      );
      assert.equal(skewed.status, "warn");
      assert.equal(skewed.detail, "+60 s");
    },
  );
  await t.step(
    "checkPrivateCalls and checkNonce: a nonce rejection fails both",
    async () => {
      const calls = await checkPrivateCalls(
        inputs({ rest: rest({ balance: fail("EAPI:Invalid nonce") }) }),
        true,
      );
      assert.equal(calls.authOk, false);
      assert.equal(calls.nonceTrouble, true);
      assert.deepEqual(calls.checks.map((c) => c.status), [
        "fail",
        "skip",
        "skip",
        "skip",
      ]);
      assert.equal(checkNonce(calls, true).status, "fail");
      assert.equal(checkNonce(calls, false).status, "skip");
    },
  );
});
