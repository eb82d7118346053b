import assert from "node:assert/strict";
import {
  decimalsOf,
  divideRounded,
  formatScaled,
  parseScaled,
  pow10,
  rescale,
  toFixedDecimals,
} from "../../../core/market/_decimal.ts";

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

Deno.test("pow10() and decimalsOf() cover large exponents and integers", () => {
  assert.equal(pow10(70), 10n ** 70n);
  assert.equal(pow10(3), 1000n);
  assert.equal(decimalsOf("0.00010"), 5);
  assert.equal(decimalsOf("12"), 0);
});
