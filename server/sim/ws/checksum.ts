/**
 * Kraken's WebSocket v2 book checksum, the exchange's side
 * (docs/kraken/WS_V2.md §5.2):
 *
 * 1. the top 10 asks (lowest first), then the top 10 bids (highest first);
 * 2. for each level, the price text without its `.` and without leading
 *    zeros, then the quantity text the same way, all appended;
 * 3. CRC-32 (the IEEE/zlib polynomial `0xEDB88320`, initial value and final
 *    xor `0xFFFFFFFF`) of that ASCII string, as an unsigned 32-bit number.
 *
 * The simulator builds the string and the CRC with this code, not with the
 * client's incremental CRC in core: the client verifies these checksums, so
 * the simulator must compute them independently, or a bug in the client's
 * checksum would pass every test against it. Its tests use WS_V2.md §5.3's
 * official and derived vectors.
 *
 * @module
 */

/** Levels per side that the checksum covers. */
export const CHECKSUM_DEPTH = 10;

/** The byte-at-a-time CRC-32 table of the reflected polynomial 0xEDB88320. */
const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
    table[byte] = crc;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3 / zlib / PNG) of an ASCII string.
 *
 * @param ascii The text; every character must be below U+0080.
 * @returns The unsigned 32-bit CRC.
 * @throws {RangeError} When the text is not ASCII.
 * @example The standard check value
 * ```ts
 * import { crc32 } from "./checksum.ts";
 * crc32("123456789"); // 3421780262 (0xCBF43926)
 * ```
 */
export function crc32(ascii: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < ascii.length; i++) {
    const code = ascii.charCodeAt(i);
    if (code > 0x7f) {
      throw new RangeError("The book checksum covers ASCII text only");
    }
    crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ code) & 0xff]!;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * One price or quantity as the checksum string has it: the decimal point
 * removed, then the leading zeros (`"0.00100000"` → `"100000"`). Trailing
 * zeros stay, so the text must carry the pair's full precision.
 *
 * @param decimal Decimal text exactly as sent on the wire.
 * @returns The digits the checksum covers.
 * @example Fields
 * ```ts
 * import { checksumField } from "./checksum.ts";
 * checksumField("45285.2"); // "452852"
 * checksumField("0.00100000"); // "100000"
 * ```
 */
export function checksumField(decimal: string): string {
  return decimal.replace(".", "").replace(/^0+/, "");
}

/** A book level as the checksum needs it: the exact wire text. */
export interface ChecksumLevel {
  /** Price text at the pair's price precision. */
  readonly price: string;
  /** Quantity text at the pair's quantity precision. */
  readonly qty: string;
}

/**
 * The string the checksum is computed over (WS_V2.md §5.2 steps 1–2).
 *
 * @param asks Asks, best (lowest) first; only the first 10 count.
 * @param bids Bids, best (highest) first; only the first 10 count.
 * @returns Ask chunks, then bid chunks.
 * @example One level each
 * ```ts
 * import { checksumText } from "./checksum.ts";
 * checksumText(
 *   [{ price: "45285.2", qty: "0.00100000" }],
 *   [{ price: "45283.5", qty: "0.10000000" }],
 * ); // "452852100000" + "45283510000000"
 * ```
 */
export function checksumText(
  asks: readonly ChecksumLevel[],
  bids: readonly ChecksumLevel[],
): string {
  let text = "";
  for (const side of [asks, bids]) {
    for (const level of side.slice(0, CHECKSUM_DEPTH)) {
      text += checksumField(level.price) + checksumField(level.qty);
    }
  }
  return text;
}

/**
 * The `checksum` of a v2 `book` message for the book after it is applied.
 *
 * @param asks Asks, best first, exact wire text.
 * @param bids Bids, best first, exact wire text.
 * @returns The unsigned 32-bit checksum.
 * @example Checksum
 * ```ts
 * import { bookChecksum } from "./checksum.ts";
 * bookChecksum([{ price: "45285.2", qty: "0.00100000" }], []);
 * ```
 */
export function bookChecksum(
  asks: readonly ChecksumLevel[],
  bids: readonly ChecksumLevel[],
): number {
  return crc32(checksumText(asks, bids));
}
