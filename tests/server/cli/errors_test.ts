import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../../core/config/config.ts";
import { UnknownTimeframeError } from "../../../core/market/ohlc.ts";
import { UnknownPairError } from "../../../core/market/pairs.ts";
import {
  KrakenError,
  type KrakenErrorKind,
} from "../../../core/rest/errors.ts";
import {
  CredentialsError,
  errorLine,
  EXIT,
  exitCodeForError,
  exitCodeForKind,
  UsageError,
} from "../../../server/cli/errors.ts";

Deno.test("EXIT is the documented exit code table", () => {
  assert.deepEqual(EXIT, { ok: 0, error: 1, usage: 2, auth: 3, network: 4 });
});

Deno.test("exitCodeForKind() maps every KrakenError kind", () => {
  const table: Record<KrakenErrorKind, number> = {
    auth: 3,
    permission: 3,
    nonce: 3,
    network: 4,
    service: 4,
    "rate_limit": 4,
    "invalid_request": 1,
    order: 1,
    unknown: 1,
  };
  for (const [kind, code] of Object.entries(table)) {
    assert.equal(exitCodeForKind(kind as KrakenErrorKind), code, kind);
  }
});

Deno.test("exitCodeForError() maps what commands throw", async (t) => {
  await t.step("Kraken errors by kind", () => {
    assert.equal(
      exitCodeForError(new KrakenError("x", { codes: ["EAPI:Invalid key"] })),
      3,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["Krakked:Fetch failed"] }),
      ),
      4,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["EService:Unavailable"] }),
      ),
      4,
    );
    assert.equal(
      exitCodeForError(
        new KrakenError("x", { codes: ["EGeneral:Invalid arguments"] }),
      ),
      1,
    );
  });
  await t.step("bad command lines", () => {
    assert.equal(exitCodeForError(new UsageError("x")), 2);
    assert.equal(exitCodeForError(new UnknownPairError("NOPE")), 2);
    assert.equal(exitCodeForError(new UnknownTimeframeError("2h")), 2);
  });
  await t.step("credentials and the rest", () => {
    assert.equal(exitCodeForError(new CredentialsError("none")), 3);
    assert.equal(exitCodeForError(new Error("boom")), 1);
    assert.equal(exitCodeForError("boom"), 1);
  });
});

Deno.test("errorLine() gives one line with the kind and a hint", () => {
  const auth = new KrakenError("Kraken Balance call failed: EAPI:Invalid key", {
    codes: ["EAPI:Invalid key"],
  });
  assert.equal(
    errorLine(auth),
    "Kraken Balance call failed: EAPI:Invalid key (auth); run 'krakked doctor' to check the key",
  );
  const network = new KrakenError("Kraken Time call failed", {
    codes: ["Krakked:Fetch failed"],
  });
  assert.equal(
    errorLine(network),
    "Kraken Time call failed (network); check the network or connection.rest_url",
  );
  const order = new KrakenError("Kraken AddOrder call failed", {
    codes: ["EOrder:Insufficient funds"],
  });
  assert.equal(errorLine(order), "Kraken AddOrder call failed (order)");
  assert.equal(errorLine(new Error("two\n  lines")), "two lines");
  assert.equal(errorLine(42), "42");
  let configError: unknown;
  try {
    parseConfig("connection:\n  rest_url: 5\n");
  } catch (error) {
    configError = error;
  }
  assert.ok(configError instanceof ConfigError);
  assert.ok(!errorLine(configError).includes("\n"));
});
