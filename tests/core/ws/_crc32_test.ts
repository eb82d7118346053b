import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  crc32,
  CRC32_INITIAL,
  CRC32_MAX_SHIFT,
  crc32Final,
  crc32ShiftZeros,
  crc32UpdateAscii,
  crc32UpdateByte,
  crc32UpdateBytes,
  crc32UpdateDigits,
  crc32UpdatePaddedDigits,
} from "../../../core/ws/_crc32.ts";
import { prng as random } from "../../fakes/prng.ts";

Deno.test("crc32() matches the standard check values", async (t) => {
  await t.step("CRC-32 of 123456789 is 0xcbf43926", () => {
    assert.equal(crc32("123456789"), 0xcbf43926);
  });
  await t.step("CRC-32 of nothing is 0", () => {
    assert.equal(crc32(""), 0);
    assert.equal(crc32(new Uint8Array()), 0);
    assert.equal(crc32Final(CRC32_INITIAL), 0);
  });
  await t.step("bytes and ASCII text give the same value", () => {
    const text = "The quick brown fox jumps over the lazy dog";
    assert.equal(crc32(new TextEncoder().encode(text)), crc32(text));
    assert.equal(crc32(text), 0x414fa339);
  });
});

Deno.test("crc32() agrees with node:zlib on random digit strings", () => {
  const next = random(7);
  for (let n = 0; n < 500; n++) {
    let text = "";
    const length = Math.floor(next() * 300);
    for (let i = 0; i < length; i++) text += String(Math.floor(next() * 10));
    assert.equal(crc32(text), zlib.crc32(text) >>> 0, `text ${text}`);
  }
});

Deno.test("crc32 incremental updates equal one-shot CRC", async (t) => {
  const text = "452852100000452864154571953";
  await t.step("byte by byte", () => {
    let state = CRC32_INITIAL;
    for (let i = 0; i < text.length; i++) {
      state = crc32UpdateByte(state, text.charCodeAt(i));
    }
    assert.equal(crc32Final(state), crc32(text));
  });
  await t.step("text slices", () => {
    let state = crc32UpdateAscii(CRC32_INITIAL, text, 0, 10);
    state = crc32UpdateAscii(state, text, 10);
    assert.equal(crc32Final(state), crc32(text));
  });
  await t.step("bytes in pieces", () => {
    const bytes = new TextEncoder().encode(text);
    let state = crc32UpdateBytes(CRC32_INITIAL, bytes.subarray(0, 5));
    state = crc32UpdateBytes(state, bytes.subarray(5));
    assert.equal(crc32Final(state), crc32(text));
  });
});

Deno.test("crc32UpdateDigits() feeds the same bytes as the decimal text", async (t) => {
  const cases = [
    1,
    9,
    10,
    99,
    100,
    999,
    1000,
    9999,
    10000,
    12345,
    99999999,
    100000000,
    100000001,
    452852,
    154571953,
    1200000000,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 + 5,
    1e15 - 1,
    1e15,
    Number.MAX_SAFE_INTEGER,
  ];
  await t.step("boundaries", () => {
    for (const n of cases) {
      const fed = crc32Final(crc32UpdateDigits(CRC32_INITIAL, n));
      assert.equal(fed, crc32(String(n)), `n = ${n}`);
    }
  });
  await t.step("zero feeds nothing (Kraken strips every leading zero)", () => {
    assert.equal(crc32UpdateDigits(1234, 0), 1234);
  });
  await t.step("random safe integers", () => {
    const next = random(11);
    for (let k = 0; k < 2000; k++) {
      const n = Math.floor(next() * 10 ** Math.floor(next() * 16));
      const state = crc32UpdateAscii(CRC32_INITIAL, "7");
      const expected = n === 0 ? "7" : `7${n}`;
      assert.equal(
        crc32Final(crc32UpdateDigits(state, n)),
        crc32(expected),
        `n = ${n}`,
      );
    }
  });
});

Deno.test("crc32UpdatePaddedDigits() feeds exactly width digits", () => {
  assert.equal(
    crc32Final(crc32UpdatePaddedDigits(CRC32_INITIAL, 42, 5)),
    crc32("00042"),
  );
  assert.equal(
    crc32Final(crc32UpdatePaddedDigits(CRC32_INITIAL, 999999999999999, 15)),
    crc32("999999999999999"),
  );
  assert.equal(
    crc32Final(crc32UpdatePaddedDigits(CRC32_INITIAL, 0, 15)),
    crc32("000000000000000"),
  );
  assert.equal(crc32UpdatePaddedDigits(77, 5, 0), 77);
});

Deno.test("crc32ShiftZeros() joins CRC pieces computed apart", async (t) => {
  await t.step("equals feeding zero bytes", () => {
    for (let length = 0; length <= CRC32_MAX_SHIFT; length++) {
      const state = crc32UpdateAscii(CRC32_INITIAL, "45285");
      const zeros = "\0".repeat(length);
      assert.equal(
        crc32ShiftZeros(state, length),
        crc32UpdateAscii(state, zeros),
        `length ${length}`,
      );
    }
  });
  await t.step("head then tail from state 0", () => {
    const next = random(3);
    for (let k = 0; k < 300; k++) {
      const head = String(Math.floor(next() * 1e12));
      const tail = String(Math.floor(next() * 1e15)).slice(
        0,
        1 + Math.floor(next() * 15),
      );
      const joined = crc32ShiftZeros(
        crc32UpdateAscii(CRC32_INITIAL, head),
        tail.length,
      ) ^ crc32UpdateAscii(0, tail);
      assert.equal(crc32Final(joined), crc32(head + tail), `${head}|${tail}`);
    }
  });
  await t.step("rejects lengths outside the tables", () => {
    assert.throws(
      () => crc32ShiftZeros(0, CRC32_MAX_SHIFT + 1),
      (error: unknown) =>
        error instanceof RangeError && /got 65/.test(error.message),
    );
    assert.throws(() => crc32ShiftZeros(0, -1), RangeError);
  });
});
