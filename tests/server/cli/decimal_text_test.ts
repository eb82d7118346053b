import assert from "node:assert/strict";
import { subtractDecimalText } from "../../../server/cli/decimal_text.ts";

Deno.test("subtractDecimalText() subtracts exactly at the larger scale", () => {
  const cases: Array<[string, string, string]> = [
    ["33194.1921", "1664.3252", "31529.8669"],
    ["0.1", "0.2", "-0.1"],
    ["1.0000000001", "0.3", "0.7000000001"],
    ["5", "2", "3"],
    ["5", "0.25", "4.75"],
    ["0.000", "0", "0.000"],
    ["-1.5", "-2", "0.5"],
    ["0.00000001", "0.00000002", "-0.00000001"],
    ["123456789012345678.9", "0.1", "123456789012345678.8"],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(subtractDecimalText(a, b), want, `${a} - ${b}`);
  }
});

Deno.test("subtractDecimalText() rejects text that is not a plain decimal", () => {
  for (const bad of ["1e5", "", "abc", "1.", ".5"]) {
    assert.throws(() => subtractDecimalText(bad, "0"), SyntaxError, bad);
  }
});
