import assert from "node:assert/strict";
import { numberText } from "../../../server/sim/exchange/units.ts";
import { prng } from "../../fakes/prng.ts";

Deno.test("numberText() writes exponents out and keeps every digit", async (t) => {
  await t.step("plain numbers are JavaScript's own text", () => {
    assert.equal(numberText(0), "0");
    assert.equal(numberText(-0), "0");
    assert.equal(numberText(0.1), "0.1");
    assert.equal(numberText(45281), "45281");
    assert.equal(numberText(-1.25), "-1.25");
  });
  await t.step("small numbers (below 1e-6)", () => {
    assert.equal(numberText(1e-8), "0.00000001");
    assert.equal(numberText(1.5e-7), "0.00000015");
    assert.equal(numberText(-2.345e-7), "-0.0000002345");
  });
  await t.step("large numbers (from 1e21)", () => {
    assert.equal(numberText(1e21), "1000000000000000000000");
    assert.equal(numberText(2.5e21), "2500000000000000000000");
    assert.equal(numberText(-1.2345e22), "-12345000000000000000000");
  });
  await t.step("non-finite numbers are refused", () => {
    assert.throws(() => numberText(Number.NaN), RangeError);
    assert.throws(() => numberText(Number.POSITIVE_INFINITY), RangeError);
  });
});

Deno.test("numberText() round-trips through Number() and never has an exponent", () => {
  const next = prng(7);
  for (let i = 0; i < 2000; i++) {
    const value = (next() - 0.5) * 10 ** Math.floor(next() * 50 - 25);
    const text = numberText(value);
    assert.doesNotMatch(text, /e/i, text);
    assert.equal(Number(text), value, `${value} → ${text}`);
  }
});
