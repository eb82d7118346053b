/**
 * Test helpers for the simulator: a fixed clock, plain-fetch public and
 * signed private calls, and decimal-text assertions.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KrakenSigner } from "../../core/auth/sign.ts";

/** A fixed instant the tests run at: Sunday 2025-06-15 12:34:56.789 UTC. */
export const NOW_MS = Date.UTC(2025, 5, 15, 12, 34, 56, 789);

/** A clock tests can move forward. */
export class TestClock {
  ms: number;
  constructor(ms = NOW_MS) {
    this.ms = ms;
  }
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A Kraken answer. */
export interface Envelope {
  error: string[];
  // deno-lint-ignore no-explicit-any -- tests index into arbitrary result shapes
  result?: any;
}

/**
 * GET a public method.
 *
 * @param baseUrl Simulator URL.
 * @param method Method name.
 * @param params Query parameters.
 * @returns The parsed envelope.
 */
export async function publicCall(
  baseUrl: string,
  method: string,
  params: Record<string, string> = {},
): Promise<Envelope> {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(
    `${baseUrl}/0/public/${method}${query ? `?${query}` : ""}`,
  );
  assert.equal(response.status, 200);
  return await response.json();
}

let lastNonce = 1_700_000_000_000_000;

/** A strictly increasing µs-style nonce shared by all tests in a process. */
export function freshNonce(): string {
  lastNonce += 1;
  return String(lastNonce);
}

/** Options of {@linkcode privateCall}. */
export interface PrivateCallOptions {
  /** Secret to sign with (base64). */
  secret: string;
  /** API key header. */
  key: string;
  /** Nonce text (default fresh). */
  nonce?: string;
  /** Send a JSON body instead of a form. */
  json?: boolean;
  /** Replace the signature. */
  sign?: string;
}

/**
 * POST a signed private call.
 *
 * @param baseUrl Simulator URL.
 * @param method Method name.
 * @param params Body parameters (after the nonce).
 * @param options Credentials and variants.
 * @returns The parsed envelope.
 */
export async function privateCall(
  baseUrl: string,
  method: string,
  params: Record<string, string>,
  options: PrivateCallOptions,
): Promise<Envelope> {
  const nonce = options.nonce ?? freshNonce();
  const body = options.json
    ? JSON.stringify({ nonce, ...params })
    : new URLSearchParams({ nonce, ...params }).toString();
  const path = `/0/private/${method}`;
  const signer = await KrakenSigner.create(options.secret);
  const sign = options.sign ?? await signer.sign({ path, nonce, body });
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    body,
    headers: {
      "API-Key": options.key,
      "API-Sign": sign,
      "Content-Type": options.json
        ? "application/json"
        : "application/x-www-form-urlencoded; charset=utf-8",
      "User-Agent": "krakked-tests",
    },
  });
  assert.equal(response.status, 200);
  return await response.json();
}

/**
 * Assert decimal text with exactly `decimals` digits after the point.
 *
 * @param text The value.
 * @param decimals Expected fraction digits.
 * @param label What it is, for the message.
 */
export function assertDecimal(
  text: unknown,
  decimals: number,
  label = "value",
): void {
  assert.equal(
    typeof text,
    "string",
    `${label} must be a string, got ${typeof text}`,
  );
  const pattern = decimals === 0
    ? /^-?\d+$/
    : new RegExp(`^-?\\d+\\.\\d{${decimals}}$`);
  assert.match(
    text as string,
    pattern,
    `${label} "${text}" must have ${decimals} decimals`,
  );
}

/**
 * Parse decimal text into integer units of `10^-decimals` (exact; extra
 * digits must be zeros).
 *
 * @param text Decimal text.
 * @param decimals Scale.
 * @returns The units.
 */
export function units(text: string, decimals: number): bigint {
  const [whole, frac = ""] = text.split(".");
  const kept = frac.slice(0, decimals).padEnd(decimals, "0");
  assert.match(
    frac.slice(decimals),
    /^0*$/,
    `${text} has more than ${decimals} significant decimals`,
  );
  return BigInt(`${whole}${kept}`);
}

/** Order, trade and ledger id pattern (6-5-6 base32). */
export const ID_PATTERN = /^[OTL][A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/;
