/**
 * Kraken-style identifiers (docs/kraken/REST.md §9): orders `O…`,
 * trades `T…`, ledger entries `L…` as 6-5-6 groups of uppercase base32
 * (`A–Z`, `2–7`), funding references `Q…` as 7-6-6, and WebSocket tokens.
 *
 * @module
 */

import type { SeededRandom } from "./prng.ts";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const TOKEN_ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** What an id names: order, trade, ledger entry or funding reference. */
export type IdKind = "order" | "trade" | "ledger" | "funding";

const PREFIX: Readonly<Record<IdKind, string>> = {
  order: "O",
  trade: "T",
  ledger: "L",
  funding: "Q",
};

/** Pattern of a 6-5-6 order, trade or ledger id. */
export const ID_PATTERN: RegExp = /^[OTL][A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/;

function chars(random: SeededRandom, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += BASE32[Math.floor(random.next() * 32)];
  return out;
}

/**
 * Generate an id of the given kind from a seeded stream.
 *
 * @param random The stream (ids follow its sequence, so they are reproducible).
 * @param kind What the id names.
 * @returns E.g. `OUF4EM-FRGI2-MQMWZD` or `QGBCOYA-UNP53O-F2JDNS`.
 * @example Order id
 * ```ts
 * import { newId } from "./ids.ts";
 * import { SeededRandom } from "./prng.ts";
 * newId(new SeededRandom(1), "order"); // "O" + 5 chars + "-" + 5 + "-" + 6
 * ```
 */
export function newId(random: SeededRandom, kind: IdKind): string {
  const prefix = PREFIX[kind];
  if (kind === "funding") {
    return `${prefix}${chars(random, 6)}-${chars(random, 6)}-${
      chars(random, 6)
    }`;
  }
  return `${prefix}${chars(random, 5)}-${chars(random, 5)}-${chars(random, 6)}`;
}

/**
 * Generate a WebSocket token: 43 alphanumeric characters, like Kraken's.
 *
 * @param random The stream.
 * @returns The token text.
 * @example Token
 * ```ts
 * import { newToken } from "./ids.ts";
 * import { SeededRandom } from "./prng.ts";
 * newToken(new SeededRandom(1)).length; // 43
 * ```
 */
export function newToken(random: SeededRandom): string {
  let out = "";
  for (let i = 0; i < 43; i++) {
    out += TOKEN_ALPHABET[Math.floor(random.next() * TOKEN_ALPHABET.length)];
  }
  return out;
}
