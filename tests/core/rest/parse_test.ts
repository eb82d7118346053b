import assert from "node:assert/strict";
import { KrakenError, LOCAL_CODES } from "../../../core/rest/errors.ts";
import {
  expectMember,
  expectRecord,
  parseAnswer,
  parseDepthResult,
  parseOhlcResult,
  parseSpreadResult,
  parseTradesResult,
} from "../../../core/rest/parse.ts";

const OK = { method: "Ticker", httpStatus: 200 };

function rejects(
  fn: () => unknown,
  code: string,
  extra: Partial<KrakenError> = {},
): KrakenError {
  try {
    fn();
  } catch (error) {
    assert.ok(
      error instanceof KrakenError,
      `expected KrakenError, got ${error}`,
    );
    assert.equal(error.code, code);
    for (const [k, v] of Object.entries(extra)) {
      assert.equal((error as unknown as Record<string, unknown>)[k], v, k);
    }
    return error;
  }
  assert.fail("expected a KrakenError");
}

Deno.test("parseAnswer() returns the result and keeps warnings", () => {
  assert.deepEqual(parseAnswer('{"error":[],"result":{"a":1}}', OK), {
    result: { a: 1 },
    warnings: [],
  });
  assert.deepEqual(
    parseAnswer('{"error":["WDatabase:No change"],"result":{"count":0}}', OK),
    { result: { count: 0 }, warnings: ["WDatabase:No change"] },
  );
});

Deno.test("parseAnswer() throws Kraken errors, ignoring warnings beside them", () => {
  const err = rejects(
    () =>
      parseAnswer(
        '{"error":["WGeneral:x","EQuery:Unknown asset pair"],"result":{}}',
        OK,
      ),
    "EQuery:Unknown asset pair",
    { kind: "invalid_request", method: "Ticker" },
  );
  assert.deepEqual(err.codes, ["EQuery:Unknown asset pair"]);
  assert.equal(err.httpStatus, undefined);
});

Deno.test("parseAnswer() turns broken answers into service errors", async (t) => {
  const cloudflare = await Deno.readTextFile(
    new URL("./testdata/cloudflare_520.html", import.meta.url),
  );
  await t.step("Cloudflare 520 HTML page", () => {
    const err = rejects(
      () =>
        parseAnswer(cloudflare, {
          ...OK,
          httpStatus: 520,
          contentType: "text/html; charset=UTF-8",
        }),
      LOCAL_CODES.httpStatus,
      { kind: "service", retryable: true, httpStatus: 520 },
    );
    assert.equal(
      err.message,
      "Kraken Ticker call failed: HTTP 520 with a text/html body",
    );
    assert.doesNotMatch(err.message, /DOCTYPE|cloudflare/i);
  });
  await t.step("HTML with status 200", () => {
    const err = rejects(
      () => parseAnswer(cloudflare, { ...OK, contentType: "text/html" }),
      LOCAL_CODES.invalidJson,
      { kind: "service", retryable: true },
    );
    assert.equal(
      err.cause,
      undefined,
      "a SyntaxError quoting the body must not be the cause",
    );
    assert.doesNotMatch(err.message, /DOCTYPE/);
  });
  await t.step("403 without a body type", () => {
    rejects(
      () => parseAnswer("", { ...OK, httpStatus: 403 }),
      LOCAL_CODES.httpStatus,
      {
        retryable: false,
        httpStatus: 403,
      },
    );
  });
  await t.step("429 and 502 are transient", () => {
    rejects(
      () => parseAnswer("x", { ...OK, httpStatus: 429 }),
      LOCAL_CODES.httpStatus,
      { retryable: true },
    );
    rejects(
      () => parseAnswer("", { ...OK, httpStatus: 502 }),
      LOCAL_CODES.httpStatus,
      { retryable: true },
    );
  });
  await t.step("Kraken errors under a non-200 status keep the status", () => {
    rejects(
      () =>
        parseAnswer('{"error":["EService:Unavailable"]}', {
          ...OK,
          httpStatus: 503,
        }),
      "EService:Unavailable",
      { httpStatus: 503, kind: "service" },
    );
  });
  await t.step("empty body", () => {
    rejects(() => parseAnswer("", OK), LOCAL_CODES.emptyBody, {
      kind: "service",
    });
    rejects(() => parseAnswer("  \n", OK), LOCAL_CODES.emptyBody);
  });
  await t.step("truncated JSON", () => {
    const err = rejects(
      () => parseAnswer('{"error":[],"result":{"token":"sEcReTtOkEn', OK),
      LOCAL_CODES.invalidJson,
    );
    assert.doesNotMatch(err.message + String(err.stack), /sEcReTtOkEn/);
    assert.equal(err.cause, undefined);
  });
  await t.step("JSON that is not an envelope", () => {
    rejects(() => parseAnswer("[1,2]", OK), LOCAL_CODES.badEnvelope, {
      retryable: false,
    });
    rejects(() => parseAnswer('"hi"', OK), LOCAL_CODES.badEnvelope);
    rejects(() => parseAnswer('{"result":{}}', OK), LOCAL_CODES.badEnvelope);
    rejects(() => parseAnswer('{"error":[]}', OK), LOCAL_CODES.badEnvelope);
  });
  await t.step(
    "the spec's structured error objects are not the wire format",
    async () => {
      const { parse } = await import("yaml");
      for (
        const name of [
          "internalError",
          "invalidApiKey",
          "invalidApiNonce",
          "invalidApiSignature",
        ]
      ) {
        const doc = parse(
          await Deno.readTextFile(
            new URL(`./testdata/examples/errors/${name}.yaml`, import.meta.url),
          ),
        );
        rejects(
          () => parseAnswer(JSON.stringify(doc), OK),
          LOCAL_CODES.badEnvelope,
        );
      }
    },
  );
});

Deno.test("expectRecord() and expectMember() check the result shape", () => {
  assert.deepEqual(expectRecord({ a: 1 }, "Balance"), { a: 1 });
  const err = rejects(
    () => expectRecord([1], "Balance"),
    LOCAL_CODES.unexpectedResult,
  );
  assert.equal(
    err.message,
    "Kraken Balance answer has an unexpected shape: expected an object, got an array",
  );
  rejects(() => expectRecord(null, "Balance"), LOCAL_CODES.unexpectedResult);
  rejects(() => expectRecord("x", "Balance"), LOCAL_CODES.unexpectedResult);
  assert.deepEqual(expectMember({ open: {} }, "open", "OpenOrders"), {
    open: {},
  });
  rejects(
    () => expectMember({ open: [] }, "open", "OpenOrders"),
    LOCAL_CODES.unexpectedResult,
  );
  rejects(
    () => expectMember({}, "open", "OpenOrders"),
    LOCAL_CODES.unexpectedResult,
  );
});

Deno.test("parseTradesResult() keeps the 19-digit cursor exact", async (t) => {
  await t.step("string cursor", () => {
    const r = parseTradesResult({
      XXBTZUSD: [["1.0", "2.0", 1.5, "b", "m", "", 7]],
      last: "1688671969993150842",
    });
    assert.equal(r.pair, "XXBTZUSD");
    assert.equal(r.last, "1688671969993150842");
    assert.equal(r.rows.length, 1);
  });
  await t.step("a bare number cursor is recovered from the raw text", () => {
    const raw =
      '{"error":[],"result":{"XXBTZUSD":[],"last":1688671969993150842}}';
    const parsed = JSON.parse(raw).result;
    assert.notEqual(String(parsed.last), "1688671969993150842"); // JSON.parse rounds it
    assert.equal(parseTradesResult(parsed, raw).last, "1688671969993150842");
  });
  await t.step("a safe number cursor without raw text", () => {
    assert.equal(
      parseTradesResult({ X: [], last: 1548121745 }).last,
      "1548121745",
    );
  });
  await t.step("bad cursors", () => {
    rejects(
      () => parseTradesResult({ X: [], last: "abc" }),
      LOCAL_CODES.unexpectedResult,
    );
    rejects(
      () => parseTradesResult({ X: [], last: -1 }),
      LOCAL_CODES.unexpectedResult,
    );
    rejects(() => parseTradesResult({ X: [] }), LOCAL_CODES.unexpectedResult);
  });
  await t.step("bad rows", () => {
    rejects(
      () => parseTradesResult({ last: "1" }),
      LOCAL_CODES.unexpectedResult,
    );
    rejects(
      () => parseTradesResult({ A: [], B: [], last: "1" }),
      LOCAL_CODES.unexpectedResult,
    );
    rejects(
      () => parseTradesResult({ A: {}, last: "1" }),
      LOCAL_CODES.unexpectedResult,
    );
    rejects(
      () => parseTradesResult({ A: [1, 2], last: "1" }),
      LOCAL_CODES.unexpectedResult,
    );
  });
});

Deno.test("parseOhlcResult() and parseSpreadResult() need an integer cursor", () => {
  assert.deepEqual(
    parseOhlcResult({ X: [[1, "1", "1", "1", "1", "1", "1", 1]], last: 5 })
      .last,
    5,
  );
  rejects(
    () => parseOhlcResult({ X: [], last: "5" }),
    LOCAL_CODES.unexpectedResult,
  );
  for (
    const row of [
      [1, "a"],
      [null, null, null, null, null, null, null, null],
      ["1", "1", "1", "1", "1", "1", "1", 1],
      [1, "1", "1", "1", 1, "1", "1", 1],
      [1.5, "1", "1", "1", "1", "1", "1", 1],
      [1, "1", "1", "1", "1", "1", "1", "1"],
    ]
  ) {
    const error = rejects(
      () =>
        parseOhlcResult({
          X: [[1, "1", "1", "1", "1", "1", "1", 1], row],
          last: 5,
        }),
      LOCAL_CODES.unexpectedResult,
    );
    assert.match(error.message, /row 1 under "X"/);
  }
  assert.equal(parseSpreadResult({ X: [[1, "1", "2"]], last: 9 }).pair, "X");
  rejects(() => parseSpreadResult({ X: [] }), LOCAL_CODES.unexpectedResult);
});

Deno.test("parseDepthResult() accepts any single pair key", () => {
  assert.deepEqual(
    parseDepthResult({ "XBT/USD": { asks: [], bids: [["1", "2", 3]] } }),
    {
      pair: "XBT/USD",
      asks: [],
      bids: [["1", "2", 3]],
    },
  );
  rejects(() => parseDepthResult({}), LOCAL_CODES.unexpectedResult);
  rejects(
    () => parseDepthResult({ X: { asks: [] } }),
    LOCAL_CODES.unexpectedResult,
  );
  rejects(() => parseDepthResult({ X: [] }), LOCAL_CODES.unexpectedResult);
});
