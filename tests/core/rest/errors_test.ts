import assert from "node:assert/strict";
import {
  classifyKrakenError,
  isKrakenWarning,
  KrakenError,
  type KrakenErrorKind,
  LOCAL_CODES,
} from "../../../core/rest/errors.ts";

/** Every row of REST.md §8, one string per line: [string, kind, retryable]. */
const CATALOG: ReadonlyArray<[string, KrakenErrorKind, boolean]> = [
  ["EGeneral:Invalid arguments", "invalid_request", false],
  ["EGeneral:Invalid arguments:volume", "invalid_request", false],
  ["EGeneral:Invalid arguments:Index unavailable", "invalid_request", false],
  ["EGeneral:Permission denied", "permission", false],
  ["EGeneral:Temporary lockout", "auth", false],
  ["EGeneral:Unknown method", "invalid_request", false],
  ["EGeneral:Internal error", "service", true],
  ["EGeneral:Internal error:1234", "service", true],
  ["EGeneral:Too many requests", "rate_limit", true],
  ["EAPI:Invalid key", "auth", false],
  ["EAPI:Invalid signature", "auth", false],
  ["EAPI:Invalid nonce", "nonce", true],
  ["EAPI:Rate limit exceeded", "rate_limit", true],
  ["EAPI:Bad request", "invalid_request", false],
  ["EAPI:Invalid token", "auth", false],
  ["ESession:Invalid session", "auth", false],
  ["EAuth:Account temporary disabled", "auth", false],
  ["EAuth:Account unconfirmed", "auth", false],
  ["EAuth:Rate limit exceeded", "rate_limit", true],
  ["EAuth:Too many requests", "rate_limit", true],
  ["EAccount:Invalid permissions", "permission", false],
  ["EQuery:Unknown asset pair", "invalid_request", false],
  ["EQuery:Unknown asset", "invalid_request", false],
  ["EQuery:Invalid asset pair", "invalid_request", false],
  ["EOrder:Insufficient funds", "order", false],
  ["EOrder:Order minimum not met", "order", false],
  ["EOrder:Cost minimum not met", "order", false],
  ["EOrder:Tick size check failed", "order", false],
  ["EOrder:Invalid price", "order", false],
  ["EOrder:Invalid order", "order", false],
  ["EOrder:Unknown order", "order", false],
  ["EOrder:Orders limit exceeded", "order", false],
  ["EOrder:Rate limit exceeded", "rate_limit", true],
  ["EOrder:Domain rate limit exceeded", "rate_limit", true],
  ["EOrder:Scheduled orders limit exceeded", "order", false],
  ["EOrder:Cannot open position", "order", false],
  ["EOrder:Cannot open opposing position", "order", false],
  ["EOrder:Margin allowance exceeded", "order", false],
  ["EOrder:Margin level too low", "order", false],
  ["EOrder:Margin position size exceeded", "order", false],
  ["EOrder:Insufficient margin", "order", false],
  ["EOrder:Positions limit exceeded", "order", false],
  ["EOrder:Unknown position", "order", false],
  ["EOrder:Reduce only:Non-PC", "order", false],
  ["EOrder:Reduce only:No position exists", "order", false],
  ["EOrder:Reduce only:Position is closed", "order", false],
  ["EOrder:Trading agreement required", "order", false],
  ["EService:Unavailable", "service", true],
  ["EService:Busy", "service", true],
  ["EService:Market in cancel_only mode", "service", false],
  ["EService:Market in post_only mode", "service", false],
  ["EService:Deadline elapsed", "service", true],
  ["EService: Throttled: 1700000000", "rate_limit", true],
  ["ETrade:Invalid request", "invalid_request", false],
  ["ETrade:Locked", "order", false],
  ["EDatabase:Internal error", "service", true],
  ["EBM:limit exceeded:CAL", "order", false],
  ["EFunding:Max fee exceeded", "invalid_request", false],
  ["EFunding:Unknown withdraw key", "invalid_request", false],
  ["EFunding:Invalid amount", "invalid_request", false],
  ["EFunding:Unknown reference id", "invalid_request", false],
  ["EFunding:Invalid reference id", "invalid_request", false],
  ["EFunding:Unknown asset", "invalid_request", false],
  ["EFunding:No funding method", "invalid_request", false],
  ["EFunding:Too many addresses", "invalid_request", false],
];

Deno.test("classifyKrakenError() maps every string of the REST error catalog", async (t) => {
  for (const [code, kind, retryable] of CATALOG) {
    await t.step(code, () => {
      const info = classifyKrakenError(code);
      assert.equal(
        info.kind,
        kind,
        `${code} should be ${kind} (REST.md §8 class), got ${info.kind}`,
      );
      assert.equal(info.retryable, retryable, `${code} retryable`);
    });
  }
});

Deno.test("classifyKrakenError() tolerates spacing and case variants", async (t) => {
  await t.step("spaces after the colons", () => {
    assert.equal(classifyKrakenError("EAPI: Invalid nonce").kind, "nonce");
    assert.equal(
      classifyKrakenError(" EOrder : Insufficient funds ").kind,
      "order",
    );
  });
  await t.step("different case", () => {
    assert.equal(classifyKrakenError("EAPI:invalid KEY").kind, "auth");
  });
});

Deno.test("classifyKrakenError() reads the retry time of a throttling answer", async (t) => {
  await t.step("documented spacing", () => {
    assert.deepEqual(classifyKrakenError("EService: Throttled: 1700000000"), {
      kind: "rate_limit",
      retryable: true,
      retryAtMs: 1_700_000_000_000,
    });
  });
  await t.step("no spaces", () => {
    assert.equal(
      classifyKrakenError("EService:Throttled:1700000005").retryAtMs,
      1_700_000_005_000,
    );
  });
  await t.step("fractional seconds", () => {
    assert.equal(
      classifyKrakenError("EService:Throttled:1700000005.25").retryAtMs,
      1_700_000_005_250,
    );
  });
  await t.step("no timestamp", () => {
    const info = classifyKrakenError("EService:Throttled");
    assert.equal(info.kind, "rate_limit");
    assert.equal(info.retryAtMs, undefined);
  });
  await t.step("garbage timestamp", () => {
    assert.equal(
      classifyKrakenError("EService:Throttled:soon").retryAtMs,
      undefined,
    );
  });
});

Deno.test("classifyKrakenError() calls unknown strings unknown and not retryable", () => {
  for (const code of ["", "EGeneral:Something new", "ENew:Thing", "garbage"]) {
    assert.deepEqual(classifyKrakenError(code), {
      kind: "unknown",
      retryable: false,
    });
  }
});

Deno.test("classifyKrakenError() classifies Krakked's local codes", () => {
  const expected: Record<string, [KrakenErrorKind, boolean]> = {
    [LOCAL_CODES.timeout]: ["network", true],
    [LOCAL_CODES.aborted]: ["network", false],
    [LOCAL_CODES.fetchFailed]: ["network", true],
    [LOCAL_CODES.httpStatus]: ["service", true],
    [LOCAL_CODES.emptyBody]: ["service", true],
    [LOCAL_CODES.invalidJson]: ["service", true],
    [LOCAL_CODES.badEnvelope]: ["service", false],
    [LOCAL_CODES.unexpectedResult]: ["service", false],
    [LOCAL_CODES.methodNotAllowed]: ["invalid_request", false],
    [LOCAL_CODES.noCredentials]: ["auth", false],
    [LOCAL_CODES.invalidSecret]: ["auth", false],
  };
  for (const [code, [kind, retryable]] of Object.entries(expected)) {
    assert.deepEqual(classifyKrakenError(code), { kind, retryable }, code);
  }
});

Deno.test("isKrakenWarning() recognises W strings only", () => {
  assert.equal(isKrakenWarning("WDatabase:No change"), true);
  assert.equal(isKrakenWarning(" WGeneral:Something"), true);
  assert.equal(isKrakenWarning("EGeneral:Invalid arguments"), false);
});

Deno.test("KrakenError carries kind, codes and status", async (t) => {
  await t.step("from codes", () => {
    const err = KrakenError.fromCodes(
      ["EService: Throttled: 1700000000", "EGeneral:Internal error"],
      { method: "Balance" },
    );
    assert.ok(err instanceof Error);
    assert.equal(err.name, "KrakenError");
    assert.equal(err.kind, "rate_limit");
    assert.equal(err.code, "EService: Throttled: 1700000000");
    assert.deepEqual(err.codes, [
      "EService: Throttled: 1700000000",
      "EGeneral:Internal error",
    ]);
    assert.equal(err.retryable, true);
    assert.equal(err.retryAtMs, 1_700_000_000_000);
    assert.equal(err.method, "Balance");
    assert.equal(err.httpStatus, undefined);
    assert.equal(
      err.message,
      "Kraken Balance call failed: EService: Throttled: 1700000000, EGeneral:Internal error",
    );
    assert.ok(
      String(err).startsWith("KrakenError: Kraken Balance call failed"),
    );
  });
  await t.step("without a method", () => {
    const err = KrakenError.fromCodes(["EAPI:Invalid key"], {
      httpStatus: 403,
    });
    assert.equal(err.message, "Kraken call failed: EAPI:Invalid key");
    assert.equal(err.httpStatus, 403);
    assert.equal(err.kind, "auth");
  });
  await t.step("overrides and cause", () => {
    const cause = new TypeError("connection reset");
    const err = new KrakenError("Kraken Time call failed", {
      codes: [LOCAL_CODES.httpStatus],
      retryable: false,
      kind: "unknown",
      cause,
    });
    assert.equal(err.kind, "unknown");
    assert.equal(err.retryable, false);
    assert.equal(err.cause, cause);
  });
  await t.step("no codes", () => {
    const err = new KrakenError("Kraken call failed", { codes: [] });
    assert.equal(err.kind, "unknown");
    assert.deepEqual(err.codes, ["unknown"]);
  });
  await t.step("JSON keeps the discriminating fields", () => {
    const err = KrakenError.fromCodes(["EAPI:Invalid nonce"], {
      method: "Balance",
    });
    const json = JSON.parse(JSON.stringify(err));
    assert.equal(json.kind, "nonce");
    assert.equal(json.code, "EAPI:Invalid nonce");
    assert.equal(json.retryable, true);
  });
});
