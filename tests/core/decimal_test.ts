// Tests core/decimal.ts, the one exact-decimal module shared by core/market
// and core/trade.
import assert from "node:assert/strict";
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  divideRounded,
  divideWith,
  formatNormalized,
  formatScaled,
  fractionDigits,
  isDecimalText,
  isMultipleOf,
  multiplyDecimal,
  parseScaled,
  pow10,
  rescale,
  roundDecimal,
  subtractDecimal,
  toFixedDecimals,
} from "../../core/decimal.ts";

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

Deno.test("parseScaled() reads decimal text exactly", () => {
  assert.deepEqual(parseScaled("30010.00000"), {
    units: 3001000000n,
    scale: 5,
  });
  assert.deepEqual(parseScaled("-0.5"), { units: -5n, scale: 1 });
  assert.deepEqual(parseScaled(".25"), { units: 25n, scale: 2 });
  assert.deepEqual(parseScaled("7"), { units: 7n, scale: 0 });
  assert.deepEqual(parseScaled("+3."), { units: 3n, scale: 0 });
  for (const bad of ["", ".", "1e5", "abc", "1.2.3", "-"]) {
    assert.throws(() => parseScaled(bad), SyntaxError, bad);
  }
});

Deno.test("formatScaled() keeps trailing zeros and signs", () => {
  assert.equal(formatScaled(125000000n, 8), "1.25000000");
  assert.equal(formatScaled(5n, 3), "0.005");
  assert.equal(formatScaled(-5n, 3), "-0.005");
  assert.equal(formatScaled(42n, 0), "42");
  assert.equal(formatScaled(0n, 2), "0.00");
});

Deno.test("divideRounded() and rescale() round half away from zero", () => {
  assert.equal(divideRounded(5n, 2n), 3n);
  assert.equal(divideRounded(-5n, 2n), -3n);
  assert.equal(divideRounded(4n, 3n), 1n);
  assert.equal(divideRounded(5n, -2n), -3n);
  assert.equal(rescale({ units: 125n, scale: 2 }, 1), 13n);
  assert.equal(rescale({ units: 125n, scale: 2 }, 4), 12500n);
  assert.equal(toFixedDecimals("3535.50000", 1), "3535.5");
  assert.equal(toFixedDecimals("0.1", 8), "0.10000000");
});

Deno.test("pow10() and fractionDigits() cover large exponents and integers", () => {
  assert.equal(pow10(70), 10n ** 70n);
  assert.equal(pow10(3), 1000n);
  assert.equal(fractionDigits("0.00010"), 5);
  assert.equal(fractionDigits("12"), 0);
});
