import assert from "node:assert/strict";
import {
  errorAnswer,
  HttpError,
  upstreamStatus,
} from "../../../server/http/errors.ts";
import { ProxyParamError } from "../../../server/http/public_proxy.ts";
import { TicketError } from "../../../server/trading/orders.ts";
import {
  KrakenError,
  type KrakenErrorKind,
} from "../../../core/rest/errors.ts";

const SECRET = "SECRET-VALUE-THAT-MUST-NOT-SHOW";
const redact = (text: string) => text.replaceAll(SECRET, "[redacted]");

Deno.test("upstreamStatus() maps every Kraken error kind to one status", () => {
  const table: Record<KrakenErrorKind, number> = {
    "invalid_request": 400,
    order: 400,
    auth: 401,
    nonce: 401,
    permission: 403,
    "rate_limit": 429,
    service: 503,
    network: 504,
    unknown: 502,
  };
  for (const [kind, status] of Object.entries(table)) {
    assert.equal(upstreamStatus(kind as KrakenErrorKind), status, kind);
  }
});

Deno.test("errorAnswer() maps each error type to its status and body", async (t) => {
  await t.step("a refused request keeps its status, code and message", () => {
    const answer = errorAnswer(
      new HttpError(415, "bad_content_type", "Send the order as JSON"),
      redact,
    );
    assert.deepEqual(answer, {
      status: 415,
      body: {
        error: { code: "bad_content_type", message: "Send the order as JSON" },
      },
    });
  });
  await t.step("a bad ticket is a 400 bad_order", () => {
    assert.deepEqual(
      errorAnswer(new TicketError("volume must be decimal text"), redact),
      {
        status: 400,
        body: {
          error: { code: "bad_order", message: "volume must be decimal text" },
        },
      },
    );
  });
  await t.step("a refused proxy parameter is a 400 with its code", () => {
    const answer = errorAnswer(
      new ProxyParamError("missing_param", 'Missing parameter "pair"'),
      redact,
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, "missing_param");
    assert.equal(answer.log, undefined, "refused input is not logged");
  });
  await t.step(
    "a Kraken error keeps code and kind, loses secrets, logs a warning",
    () => {
      const error = KrakenError.fromCodes(["EGeneral:Too many requests"], {
        method: "Ticker",
      });
      error.message = `Kraken said no to ${SECRET}`;
      const answer = errorAnswer(error, redact);
      assert.equal(answer.status, 429);
      assert.deepEqual(answer.body.error, {
        code: "EGeneral:Too many requests",
        kind: "rate_limit",
        message: "Kraken said no to [redacted]",
      });
      assert.deepEqual(answer.log, {
        level: "warn",
        msg: "upstream",
        fields: { kind: "rate_limit", code: "EGeneral:Too many requests" },
      });
    },
  );
  await t.step(
    "anything else is a bare 500; details go to the log only",
    () => {
      const error = new Error(`boom ${SECRET}`);
      const answer = errorAnswer(error, redact);
      assert.deepEqual(answer.status, 500);
      assert.deepEqual(answer.body, {
        error: { code: "internal", message: "Internal error" },
      });
      assert.equal(answer.log?.level, "error");
      assert.equal(answer.log?.fields.error, error);
      assert.ok(!JSON.stringify(answer.body).includes(SECRET));
    },
  );
});
