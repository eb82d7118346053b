import assert from "node:assert/strict";
import {
  classifyValidationError,
  runSetup,
} from "../../../core/secrets/setup.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import { openVault } from "../../../core/secrets/vault.ts";

const KEY = "setup-key-CCCCCCCCCCCCCCCCCCCC";
const SECRET = "c2V0dXAtc2VjcmV0LXNldHVwLXNlY3JldC1zZXR1cA==";
const PASSWORD = new Secret("setup master password");
const creds = () => ({ key: new Secret(KEY), secret: new Secret(SECRET) });

class FakeKrakenError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

function store() {
  const files: string[] = [];
  return {
    files,
    save: (text: string) => Promise.resolve(void files.push(text)),
  };
}

Deno.test("runSetup() seals, saves and marks validated when validation succeeds", async () => {
  const s = store();
  let validatedWith = "";
  const r = await runSetup(creds(), PASSWORD, {
    validate: (c) => Promise.resolve(void (validatedWith = c.key.reveal())),
    save: s.save,
    now: () => Date.UTC(2026, 10, 21),
  });
  assert.deepEqual(r, { kind: "saved", validated: true });
  assert.equal(validatedWith, KEY);
  assert.equal(s.files.length, 1);
  const opened = await openVault(s.files[0]!, PASSWORD);
  assert.equal(opened.header.validated, true);
  assert.equal(opened.header.validatedAt, "2026-11-21T00:00:00.000Z");
  assert.equal(opened.credentials.secret.reveal(), SECRET);
});

Deno.test("runSetup() saves nothing when authentication fails", async (t) => {
  for (const kind of ["auth", "permission", "nonce"]) {
    await t.step(kind, async () => {
      const s = store();
      const r = await runSetup(creds(), PASSWORD, {
        validate: () =>
          Promise.reject(
            new FakeKrakenError(kind, `EAPI:Invalid key for ${KEY}`),
          ),
        save: s.save,
      });
      assert.equal(r.kind, "auth_failed");
      assert.ok(r.kind === "auth_failed");
      assert.equal(r.saved, false);
      assert.equal(r.errorKind, kind);
      assert.equal(s.files.length, 0);
      assert.ok(
        !JSON.stringify(r).includes(KEY),
        "the key is scrubbed from the message",
      );
    });
  }
});

Deno.test("runSetup() saves as unvalidated after an auth failure only on explicit override", async () => {
  const s = store();
  const r = await runSetup(creds(), PASSWORD, {
    validate: () =>
      Promise.reject(new FakeKrakenError("auth", "EAPI:Invalid signature")),
    save: s.save,
    overrideAuthFailure: true,
  });
  assert.ok(r.kind === "auth_failed" && r.saved);
  assert.equal(
    (await openVault(s.files[0]!, PASSWORD)).header.validated,
    false,
  );
});

Deno.test("runSetup() distinguishes network and service failures from auth failures", async (t) => {
  for (const kind of ["network", "service", "rate_limit"]) {
    await t.step(
      `${kind}: default asks the caller and saves nothing`,
      async () => {
        const s = store();
        const r = await runSetup(creds(), PASSWORD, {
          validate: () =>
            Promise.reject(new FakeKrakenError(kind, "Kraken unreachable")),
          save: s.save,
        });
        assert.deepEqual(r, {
          kind: "transient_failure",
          saved: false,
          errorKind: kind,
          message: "Kraken unreachable",
        });
        assert.equal(s.files.length, 0);
      },
    );
  }
  await t.step(
    "save_unvalidated stores the file marked unvalidated",
    async () => {
      const s = store();
      const r = await runSetup(creds(), PASSWORD, {
        validate: () =>
          Promise.reject(new FakeKrakenError("network", "timeout")),
        save: s.save,
        onTransientFailure: "save_unvalidated",
      });
      assert.ok(r.kind === "transient_failure" && r.saved);
      const { header } = await openVault(s.files[0]!, PASSWORD);
      assert.equal(header.validated, false);
      assert.equal(header.validatedAt, null);
    },
  );
});

Deno.test("runSetup() reports an unclassified failure without saving and without secrets", async () => {
  const s = store();
  const r = await runSetup(creds(), PASSWORD, {
    validate: () => Promise.reject(`weird ${SECRET}`),
    save: s.save,
  });
  assert.equal(r.kind, "failed");
  assert.equal(s.files.length, 0);
  assert.ok(!JSON.stringify(r).includes(SECRET));
});

Deno.test("classifyValidationError() reads the kind of any error-like value", () => {
  assert.equal(
    classifyValidationError(new FakeKrakenError("auth", "x")),
    "auth",
  );
  assert.equal(classifyValidationError({ kind: "service" }), "transient");
  assert.equal(classifyValidationError(new Error("x")), "other");
  assert.equal(classifyValidationError(null), "other");
});

Deno.test("runSetup() with replacesValidated saves only a key that validates now", async (t) => {
  for (
    const [kind, policy] of [
      ["auth", { overrideAuthFailure: true }],
      ["network", { onTransientFailure: "save_unvalidated" as const }],
    ] as const
  ) {
    await t.step(
      `${kind} failure with the override: kept, nothing saved`,
      async () => {
        const s = store();
        const r = await runSetup(creds(), PASSWORD, {
          validate: () => Promise.reject(new FakeKrakenError(kind, "no")),
          save: s.save,
          replacesValidated: true,
          ...policy,
        });
        assert.equal(
          r.kind === "saved" || r.kind === "failed"
            ? undefined
            : r.keptExisting,
          true,
        );
        assert.equal("saved" in r && r.saved, false);
        assert.deepEqual(s.files, []);
      },
    );
  }
  await t.step(
    "a failure without the override does not claim to keep anything",
    async () => {
      const r = await runSetup(creds(), PASSWORD, {
        validate: () => Promise.reject(new FakeKrakenError("auth", "no")),
        save: store().save,
        replacesValidated: true,
      });
      assert.ok(r.kind === "auth_failed" && r.keptExisting === undefined);
    },
  );
  await t.step("a key that validates is saved", async () => {
    const s = store();
    const r = await runSetup(creds(), PASSWORD, {
      validate: () => Promise.resolve(),
      save: s.save,
      replacesValidated: true,
    });
    assert.equal(r.kind, "saved");
    assert.equal(s.files.length, 1);
  });
});
