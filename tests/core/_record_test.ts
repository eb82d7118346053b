import assert from "node:assert/strict";
import { isRecord, record } from "../../core/_record.ts";

Deno.test("isRecord() accepts objects with keys and nothing else", () => {
  assert.equal(isRecord({}), true);
  assert.equal(isRecord({ error: [] }), true);
  for (const value of [null, undefined, [], [1], "{}", 1, true]) {
    assert.equal(isRecord(value), false, JSON.stringify(value) ?? "undefined");
  }
});

Deno.test("record() returns the object itself, or {} for anything else", () => {
  const answer = { txid: ["O1"] };
  assert.equal(record(answer), answer);
  for (const value of [null, undefined, ["O1"], "oops", 42]) {
    assert.deepEqual(record(value), {});
  }
});
