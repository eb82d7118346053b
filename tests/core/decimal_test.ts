// Tests core/decimal.ts (shared by core/market and core/trade). It lives here
// because tests/core/trade/ is the trading helper's path; the mirror location
// is tests/core/decimal_test.ts.
import assert from "node:assert/strict";
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  divideWith,
  formatNormalized,
  isDecimalText,
  isMultipleOf,
  multiplyDecimal,
  parseScaled,
  rescale,
  roundDecimal,
  subtractDecimal,
  toFixedDecimals,
} from "../../core/decimal.ts";
import * as marketDecimal from "../../core/market/_decimal.ts";

Deno.test("core/market/_decimal.ts re-exports the shared implementation", () => {
  assert.equal(marketDecimal.parseScaled, parseScaled);
  assert.equal(marketDecimal.toFixedDecimals("0.1", 3), "0.100");
});

Deno.test("text arithmetic is exact where binary floats drift", async (t) => {
  await t.step("add and subtract", () => {
    assert.equal(addDecimal("0.1", "0.2"), "0.3"); // 0.1 + 0.2 = 0.30000000000000004 in floats
    assert.equal(subtractDecimal("1", "0.01"), "0.99");
    assert.equal(subtractDecimal("0.5", "0.50"), "0");
    assert.equal(addDecimal("-1.5", "1.5"), "0");
    assert.equal(addDecimal("+2", ".5"), "2.5");
  });
  await t.step("multiply keeps every digit", () => {
    assert.equal(multiplyDecimal("0.01", "25000.1"), "250.001");
    assert.equal(multiplyDecimal("-0.3", "3"), "-0.9");
    assert.equal(multiplyDecimal("1.10", "1.10"), "1.21");
  });
  await t.step("compare across scales", () => {
    assert.equal(compareDecimal("1.10", "1.1"), 0);
    assert.equal(compareDecimal("1.09", "1.1"), -1);
    assert.equal(compareDecimal("-1", "-2"), 1);
  });
});

Deno.test("divideDecimal() and roundDecimal() round as asked", async (t) => {
  await t.step("every rounding mode on positive and negative values", () => {
    assert.equal(divideDecimal("2", "3", 4), "0.6667");
    assert.equal(divideDecimal("2", "3", 4, "down"), "0.6666");
    assert.equal(divideDecimal("-2", "3", 4, "down"), "-0.6666");
    assert.equal(divideDecimal("-2", "3", 4, "floor"), "-0.6667");
    assert.equal(divideDecimal("-2", "3", 4, "ceiling"), "-0.6666");
    assert.equal(divideDecimal("2", "3", 4, "ceiling"), "0.6667");
    assert.equal(divideDecimal("2", "3", 4, "up"), "0.6667");
    assert.equal(divideDecimal("1", "8", 2), "0.13"); // 0.125 half up
    assert.equal(divideDecimal("1.5", "0.5", 0), "3");
  });
  await t.step("division by zero is a RangeError", () => {
    assert.throws(() => divideDecimal("1", "0", 2), RangeError);
    assert.throws(() => divideWith(1n, 0n, "down"), RangeError);
  });
  await t.step("roundDecimal", () => {
    assert.equal(roundDecimal("0.0325", 3), "0.033");
    assert.equal(roundDecimal("0.0325", 3, "down"), "0.032");
    assert.equal(roundDecimal("-0.0325", 3), "-0.033");
    assert.equal(roundDecimal("12", 3), "12");
    assert.equal(toFixedDecimals("1.99", 1, "down"), "1.9");
    assert.equal(rescale({ units: -15n, scale: 1 }, 0, "floor"), -2n);
  });
});

Deno.test("normalisation, validation and tick multiples", () => {
  assert.equal(canonicalDecimal("1.2500"), "1.25");
  assert.equal(canonicalDecimal("-0.000"), "0");
  assert.equal(canonicalDecimal("+7."), "7");
  assert.equal(formatNormalized({ units: 1500n, scale: 3 }), "1.5");
  assert.equal(isDecimalText("1e5"), false);
  assert.equal(isDecimalText("."), false);
  assert.equal(isDecimalText("-0.5"), true);
  assert.equal(isDecimalText("-0.5", { unsigned: true }), false);
  assert.equal(isDecimalText(".25", { unsigned: true }), true);
  assert.equal(isMultipleOf("25000.5", "0.5"), true);
  assert.equal(isMultipleOf("25000.3", "0.5"), false);
  assert.equal(isMultipleOf("1", "0"), false);
  assert.throws(() => addDecimal("abc", "1"), SyntaxError);
});

Deno.test("decimalFromNumber() prints the shortest exact form without exponents", () => {
  assert.equal(decimalFromNumber(0.26), "0.26");
  assert.equal(decimalFromNumber(2.5e-7), "0.00000025");
  assert.equal(decimalFromNumber(-1e-7), "-0.0000001");
  assert.equal(decimalFromNumber(1e21), "1000000000000000000000");
  assert.equal(decimalFromNumber(1.5e22), "15000000000000000000000");
  assert.equal(decimalFromNumber(500), "500");
  assert.throws(() => decimalFromNumber(Number.NaN), RangeError);
});
