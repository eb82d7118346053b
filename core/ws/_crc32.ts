/**
 * Standard CRC-32 (ISO 3309 / zlib / PNG: reflected polynomial `0xEDB88320`,
 * initial value and final xor `0xFFFFFFFF`), table driven and incremental.
 *
 * Kraken's WebSocket v2 book checksum is this CRC over an ASCII string of
 * digits. The hot path of the order book never builds that string: it keeps a
 * running state (a signed 32-bit integer) and feeds it single bytes, slices of
 * a text, or the decimal digits of an integer straight from a `number`.
 *
 * ```text
 * state = CRC32_INITIAL
 * state = crc32UpdateAscii(state, "4528")
 * state = crc32UpdateDigits(state, 52100000)   // same as the text "52100000"
 * crc32Final(state)                            // unsigned 32-bit result
 * ```
 *
 * Private to `core/ws/` (not in `@krakked/core`'s exports): `bookChecksum`
 * and `BookSet` in `book.ts` are the public use.
 *
 * @module
 */

/** Builds the byte-at-a-time table and the slicing-by-4 tables. */
function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let s = 1; s < 4; s++) {
    const prev = tables[s - 1] as Int32Array;
    const next = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      next[n] = (p >>> 8) ^ (t0[p & 0xff] as number);
    }
    tables.push(next);
  }
  return tables;
}

const TABLES = buildTables();
// Slicing-by-4: T0 is the classic table; Tk advances a byte k more positions.
const T0 = TABLES[0] as Int32Array;
const T1 = TABLES[1] as Int32Array;
const T2 = TABLES[2] as Int32Array;
const T3 = TABLES[3] as Int32Array;

/**
 * ASCII codes of every four-digit group `0000`..`9999`, packed little-endian
 * so the first (most significant) digit is the lowest byte: the order in which
 * a CRC consumes them.
 */
const QUADS = (() => {
  const q = new Int32Array(10000);
  for (let n = 0; n < 10000; n++) {
    const d0 = (n / 1000) | 0;
    const d1 = ((n / 100) | 0) % 10;
    const d2 = ((n / 10) | 0) % 10;
    const d3 = n % 10;
    q[n] = (48 + d0) | ((48 + d1) << 8) | ((48 + d2) << 16) | ((48 + d3) << 24);
  }
  return q;
})();

/** Scratch digits for {@linkcode crc32UpdatePaddedDigits} (never escapes). */
const PAD_SCRATCH = new Uint8Array(16);

/** Initial CRC-32 state, to pass to the first `crc32Update*` call. */
export const CRC32_INITIAL: number = -1;

/**
 * Feed one byte (0–255) into a running CRC-32 state.
 *
 * @param state The running state (start with {@linkcode CRC32_INITIAL}).
 * @param byte The byte value; only the low 8 bits are used.
 * @returns The new running state (finish with {@linkcode crc32Final}).
 * @example One byte
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32UpdateByte } from "./_crc32.ts";
 * crc32Final(crc32UpdateByte(CRC32_INITIAL, 0x30)); // CRC-32 of "0"
 * ```
 */
export function crc32UpdateByte(state: number, byte: number): number {
  return (T0[(state ^ byte) & 0xff] as number) ^ (state >>> 8);
}

/**
 * Feed the char codes of `text[start..end)` into a running CRC-32 state.
 * Each char code is taken as one byte (low 8 bits), which is exact for ASCII.
 *
 * @param state The running state.
 * @param text The text; only ASCII is meaningful.
 * @param start First index to feed (default 0).
 * @param end Index after the last one to feed (default `text.length`).
 * @returns The new running state.
 * @example A check value
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32UpdateAscii } from "./_crc32.ts";
 * crc32Final(crc32UpdateAscii(CRC32_INITIAL, "123456789")); // 0xcbf43926
 * ```
 */
export function crc32UpdateAscii(
  state: number,
  text: string,
  start = 0,
  end: number = text.length,
): number {
  let c = state;
  for (let i = start; i < end; i++) {
    c = (T0[(c ^ text.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8);
  }
  return c;
}

/**
 * Feed bytes into a running CRC-32 state.
 *
 * @param state The running state.
 * @param bytes The bytes to feed.
 * @returns The new running state.
 * @example Bytes
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32UpdateBytes } from "./_crc32.ts";
 * crc32Final(crc32UpdateBytes(CRC32_INITIAL, new TextEncoder().encode("abc")));
 * ```
 */
export function crc32UpdateBytes(state: number, bytes: Uint8Array): number {
  let c = state;
  for (let i = 0; i < bytes.length; i++) {
    c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return c;
}

/** Feeds four packed ASCII bytes (first byte lowest) with slicing-by-4. */
function feedQuad(c: number, quad: number): number {
  const x = c ^ quad;
  return (T3[x & 0xff] as number) ^ (T2[(x >>> 8) & 0xff] as number) ^
    (T1[(x >>> 16) & 0xff] as number) ^ (T0[x >>> 24] as number);
}

/** Feeds the digits of 0 <= n < 10^8 without leading zeros (nothing for 0). */
function feedSmall(c: number, n: number): number {
  if (n >= 10000) {
    const hi = (n / 10000) | 0;
    return feedQuad(feedHead(c, hi), QUADS[n - hi * 10000] as number);
  }
  return feedHead(c, n);
}

/** Feeds the digits of 0 <= n < 10^4 without leading zeros (nothing for 0). */
function feedHead(c: number, n: number): number {
  if (n >= 1000) return feedQuad(c, QUADS[n] as number);
  if (n >= 100) {
    c = (T0[(c ^ (48 + ((n / 100) | 0))) & 0xff] as number) ^ (c >>> 8);
    n = n % 100;
    c = (T0[(c ^ (48 + ((n / 10) | 0))) & 0xff] as number) ^ (c >>> 8);
    return (T0[(c ^ (48 + (n % 10))) & 0xff] as number) ^ (c >>> 8);
  }
  if (n >= 10) {
    c = (T0[(c ^ (48 + ((n / 10) | 0))) & 0xff] as number) ^ (c >>> 8);
    return (T0[(c ^ (48 + (n % 10))) & 0xff] as number) ^ (c >>> 8);
  }
  if (n > 0) return (T0[(c ^ (48 + n)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** Feeds exactly eight digits of 0 <= n < 10^8, zero padded. */
function feedEight(c: number, n: number): number {
  const hi = (n / 10000) | 0;
  return feedQuad(
    feedQuad(c, QUADS[hi] as number),
    QUADS[n - hi * 10000] as number,
  );
}

/**
 * Feed the decimal digits of a non-negative safe integer, most significant
 * first and without leading zeros, into a running CRC-32 state. Zero feeds
 * nothing: Kraken strips every leading zero, so `0` has no digits left.
 * No string is built.
 *
 * For a fixed-point decimal, "remove the `.` and strip leading zeros" is
 * exactly the digits of its integer mantissa (`0.00100000` has mantissa
 * 100000), so this is how the order book feeds the checksum.
 *
 * @param state The running state.
 * @param n An integer in `0..Number.MAX_SAFE_INTEGER`; other values give
 *   unspecified digits.
 * @returns The new running state.
 * @example Digits of a mantissa
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32UpdateAscii, crc32UpdateDigits } from "./_crc32.ts";
 * const a = crc32Final(crc32UpdateDigits(CRC32_INITIAL, 452852));
 * const b = crc32Final(crc32UpdateAscii(CRC32_INITIAL, "452852"));
 * console.assert(a === b);
 * ```
 */
export function crc32UpdateDigits(state: number, n: number): number {
  if (n < 1e8) return feedSmall(state, n | 0);
  // Split at 10^8 so every digit step stays in small-integer arithmetic.
  const hi = Math.floor(n / 1e8);
  const lo = n - hi * 1e8;
  return feedEight(feedSmall(state, hi | 0), lo | 0);
}

/**
 * Feed exactly `width` decimal digits of a non-negative integer, zero padded
 * on the left (e.g. the low part of a mantissa split into two numbers).
 *
 * @param state The running state.
 * @param n An integer in `0..10^width - 1`, at most `Number.MAX_SAFE_INTEGER`.
 * @param width How many digits to feed (0–16).
 * @returns The new running state.
 * @example Padded digits
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32UpdateAscii, crc32UpdatePaddedDigits } from "./_crc32.ts";
 * const a = crc32Final(crc32UpdatePaddedDigits(CRC32_INITIAL, 42, 5));
 * console.assert(a === crc32Final(crc32UpdateAscii(CRC32_INITIAL, "00042")));
 * ```
 */
export function crc32UpdatePaddedDigits(
  state: number,
  n: number,
  width: number,
): number {
  // `%` and division by 10 of a double below 2^53 are exact: no rounding.
  let rest = n;
  for (let k = width - 1; k >= 0; k--) {
    const digit = rest % 10;
    PAD_SCRATCH[k] = 48 + digit;
    rest = (rest - digit) / 10;
  }
  let c = state;
  for (let k = 0; k < width; k++) {
    c = (T0[(c ^ (PAD_SCRATCH[k] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return c;
}

/** Longest zero run {@linkcode crc32ShiftZeros} accepts. */
export const CRC32_MAX_SHIFT = 64;

/** Lazily built tables for `crc32ShiftZeros`, one per length. */
const SHIFT_TABLES: (Int32Array | null)[] = new Array<Int32Array | null>(
  CRC32_MAX_SHIFT + 1,
).fill(null);

/** Builds the table that advances any state over `length` zero bytes. */
function buildShiftTable(length: number): Int32Array {
  // The CRC register update is linear over GF(2), so "feed `length` zero
  // bytes" is a linear map of the 32-bit state: tabulate it per state byte.
  const table = new Int32Array(1024);
  for (let j = 0; j < 4; j++) {
    for (let b = 0; b < 256; b++) {
      let c = b << (8 * j);
      for (let k = 0; k < length; k++) c = (T0[c & 0xff] as number) ^ (c >>> 8);
      table[j * 256 + b] = c;
    }
  }
  SHIFT_TABLES[length] = table;
  return table;
}

/**
 * Advance a running state over `length` zero bytes in four table lookups.
 *
 * With it, CRC pieces can be computed apart and joined: the register after
 * feeding `a` then `b` (from any state `s`) equals
 * `crc32ShiftZeros(s_after_a, b.length) ^ crc32UpdateAscii(0, b)`, because
 * the register update is linear. The order book keeps each level's piece
 * (its digits fed from state 0) and joins the top levels with this, so a
 * checksum after a small change costs a few lookups per level.
 *
 * @param state The running state.
 * @param length Number of zero bytes, `0..CRC32_MAX_SHIFT`.
 * @returns The state after those bytes.
 * @throws {RangeError} When `length` is outside `0..CRC32_MAX_SHIFT`.
 * @example Join two pieces
 * ```ts
 * import { CRC32_INITIAL, crc32Final, crc32ShiftZeros, crc32UpdateAscii } from "./_crc32.ts";
 * const head = crc32UpdateAscii(CRC32_INITIAL, "4528");
 * const tail = crc32UpdateAscii(0, "52");
 * const joined = crc32ShiftZeros(head, 2) ^ tail;
 * console.assert(crc32Final(joined) === crc32Final(crc32UpdateAscii(CRC32_INITIAL, "452852")));
 * ```
 */
export function crc32ShiftZeros(state: number, length: number): number {
  if (length === 0) return state;
  let table = SHIFT_TABLES[length];
  if (table === undefined) {
    throw new RangeError(
      `Cannot shift CRC-32 state: length must be 0 to ${CRC32_MAX_SHIFT}, got ${length}`,
    );
  }
  if (table === null) table = buildShiftTable(length);
  return (table[state & 0xff] as number) ^
    (table[256 + ((state >>> 8) & 0xff)] as number) ^
    (table[512 + ((state >>> 16) & 0xff)] as number) ^
    (table[768 + (state >>> 24)] as number);
}

/**
 * Finish a running CRC-32 state.
 *
 * @param state The running state.
 * @returns The CRC-32 as an unsigned 32-bit integer (what Kraken sends).
 * @example Finish
 * ```ts
 * import { CRC32_INITIAL, crc32Final } from "./_crc32.ts";
 * crc32Final(CRC32_INITIAL); // 0, the CRC-32 of no bytes
 * ```
 */
export function crc32Final(state: number): number {
  return ~state >>> 0;
}

/**
 * CRC-32 of a whole ASCII text or byte array in one call.
 *
 * @param data ASCII text (one byte per char code) or bytes.
 * @returns The CRC-32 as an unsigned 32-bit integer.
 * @example Check value
 * ```ts
 * import { crc32 } from "./_crc32.ts";
 * crc32("123456789"); // 3421780262 (0xcbf43926)
 * ```
 */
export function crc32(data: string | Uint8Array): number {
  return crc32Final(
    typeof data === "string"
      ? crc32UpdateAscii(CRC32_INITIAL, data)
      : crc32UpdateBytes(CRC32_INITIAL, data),
  );
}
