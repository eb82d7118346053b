import assert from "node:assert/strict";
import { nextNonce, NonceSource } from "../../../core/auth/nonce.ts";

Deno.test("nextNonce() uses microseconds from the clock when it is ahead", () => {
  assert.equal(nextNonce(0, 1_763_740_800_123), 1_763_740_800_123_000);
  assert.equal(nextNonce(5, 1_000.9), 1_000_000);
});

Deno.test("nextNonce() goes one past the last nonce when the clock is not ahead", () => {
  assert.equal(
    nextNonce(1_763_740_800_123_000, 1_763_740_800_123),
    1_763_740_800_123_001,
  );
  assert.equal(
    nextNonce(1_763_740_800_123_000, 1_700_000_000_000),
    1_763_740_800_123_001,
  );
});

Deno.test("NonceSource is strictly increasing for 100,000 calls in one millisecond", () => {
  const nonces = new NonceSource({ now: () => 1_763_740_800_000 });
  let last = 0;
  for (let i = 0; i < 100_000; i++) {
    const n = nonces.next();
    assert.ok(n > last, `nonce ${i} (${n}) must exceed ${last}`);
    assert.ok(Number.isSafeInteger(n));
    last = n;
  }
  assert.ok(last < 2 ** 53 / 4, "well under 2^53");
});

Deno.test("NonceSource stays strictly increasing when the clock steps backwards", () => {
  let now = 1_763_740_800_000;
  const nonces = new NonceSource({ now: () => now });
  const seen: number[] = [];
  for (const step of [0, 5, -60_000, 1, -1, 3_600_000, -7_200_000, 0, 10]) {
    now += step;
    seen.push(nonces.next());
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
  assert.equal(nonces.last, seen.at(-1));
});

Deno.test("NonceSource starts above a persisted floor", () => {
  const nonces = new NonceSource({
    now: () => 1_000,
    floor: 9_000_000_000_000_000,
  });
  assert.equal(nonces.next(), 9_000_000_000_000_001);
});

Deno.test("NonceSource uses the real clock by default", () => {
  const before = Date.now() * 1000;
  const n = new NonceSource().next();
  assert.ok(n >= before && n < before + 60_000_000);
});
