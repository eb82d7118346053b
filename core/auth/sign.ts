/**
 * Kraken REST API-Sign.
 *
 * API-Sign = base64(HMAC-SHA512(key = base64decode(secret),
 *                               message = path bytes ‖ SHA-256(nonce ‖ body)))
 * (docs/kraken/REST.md §2.2). The HMAC key schedule (the inner and outer
 * padded-key blocks) is computed once per secret, and the hashing is
 * synchronous (`@noble/hashes`, audited pure JS): WebCrypto needed two
 * awaited trips through the thread pool per signature and ran at about a
 * quarter of node:crypto's HMAC.
 *
 * A signature allocates almost nothing: the keyed state is copied into one
 * scratch HMAC per signer (`_cloneInto`, the states only), SHA-256 starts
 * from a copied empty state, text is UTF-8 encoded into a reused buffer,
 * and digests land in fixed arrays. `clone()` and one-shot `sha256()` built
 * fresh hash objects, buffers and views for every request, which cost more
 * than the hashing (tests/core/auth/sign_bench.ts).
 *
 * @module
 */

import { _HMAC } from "@noble/hashes/hmac.js";
import { _SHA256, _SHA512, sha512 } from "@noble/hashes/sha2.js";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { Secret, timingSafeEqual } from "../secrets/secret.ts";

const encoder = new TextEncoder();

/**
 * The API secret is not usable (not base64, or empty). The message never
 * contains the secret.
 */
export class SecretFormatError extends TypeError {
  /** Always `SecretFormatError`. */
  override name = "SecretFormatError";
}

/** What is signed for one private request. */
export interface SignInput {
  /** URI path starting at `/0/private/…` (no host, no query). */
  path: string;
  /** The nonce as decimal text, equal to the `nonce` inside the body. */
  nonce: string;
  /** The exact body bytes that will be sent. */
  body: string;
}

type Mac = _HMAC<_SHA512>;

/** Reused hash states and buffers of one signer (signing is synchronous). */
class Scratch {
  readonly mac: Mac;
  readonly sha: _SHA256;
  readonly inner = new Uint8Array(32);
  readonly out = new Uint8Array(64);
  #text = new Uint8Array(1024);

  constructor(keyed: Mac, empty: _SHA256) {
    this.mac = keyed.clone();
    this.sha = empty.clone();
  }

  /** UTF-8 bytes of `text` in the reused buffer (valid until the next call). */
  utf8(text: string): Uint8Array {
    // Three bytes per UTF-16 unit at most.
    if (text.length * 3 > this.#text.length) {
      this.#text = new Uint8Array(text.length * 3);
    }
    const { written } = encoder.encodeInto(text, this.#text);
    return this.#text.subarray(0, written);
  }
}

const EMPTY_SHA256 = new _SHA256();

/**
 * Signs Kraken private requests with one API secret.
 *
 * @example Sign a request
 * ```ts
 * import { KrakenSigner } from "./sign.ts";
 * const signer = await KrakenSigner.create(
 *   "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
 * );
 * const sig = signer.signSync({
 *   path: "/0/private/Balance",
 *   nonce: "1616492376594",
 *   body: "nonce=1616492376594",
 * });
 * ```
 */
export class KrakenSigner {
  #mac: Mac;
  #scratch: Scratch;

  private constructor(mac: Mac) {
    this.#mac = mac;
    this.#scratch = new Scratch(mac, EMPTY_SHA256);
  }

  /**
   * Prepare the secret once as an HMAC-SHA512 key schedule.
   *
   * @param secret The base64 API secret, plain or wrapped in {@linkcode Secret}.
   * @returns A signer that reuses the key schedule.
   * @throws {SecretFormatError} When the secret is empty or not base64.
   */
  static create(secret: string | Secret): Promise<KrakenSigner> {
    try {
      return Promise.resolve(KrakenSigner.createSync(secret));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Same as {@linkcode KrakenSigner.create}, synchronously.
   *
   * @param secret The base64 API secret, plain or wrapped in {@linkcode Secret}.
   * @returns A signer that reuses the key schedule.
   * @throws {SecretFormatError} When the secret is empty or not base64.
   */
  static createSync(secret: string | Secret): KrakenSigner {
    const text = typeof secret === "string" ? secret : secret.reveal();
    const raw = decodeBase64(text.trim());
    if (raw === undefined || raw.length === 0) {
      throw new SecretFormatError(
        "API secret is not valid base64: copy the private key exactly as Kraken shows it",
      );
    }
    const mac = new _HMAC<_SHA512>(sha512, raw);
    raw.fill(0);
    return new KrakenSigner(mac);
  }

  /**
   * Compute API-Sign for one request.
   *
   * @param input Path, nonce and exact body.
   * @returns The 88-character base64 signature.
   */
  sign(input: SignInput): Promise<string> {
    return Promise.resolve(this.signSync(input));
  }

  /**
   * Compute API-Sign for one request, synchronously.
   *
   * @param input Path, nonce and exact body.
   * @returns The 88-character base64 signature.
   */
  signSync(input: SignInput): string {
    return encodeBase64(this.#digest(input));
  }

  /**
   * Check a signature in constant time.
   *
   * @param input Path, nonce and exact body as received.
   * @param signature The API-Sign header value.
   * @returns Whether the signature matches.
   */
  verify(input: SignInput, signature: string): Promise<boolean> {
    const mac = decodeBase64(signature);
    if (mac === undefined || mac.length !== 64) return Promise.resolve(false);
    return Promise.resolve(
      timingSafeEqual(encodeBase64(mac), this.signSync(input)),
    );
  }

  /** The 64-byte MAC, in the scratch's buffer (read it before the next call). */
  #digest(input: SignInput): Uint8Array {
    const s = this.#scratch;
    EMPTY_SHA256._cloneInto(s.sha);
    s.sha.update(s.utf8(input.nonce + input.body));
    s.sha.digestInto(s.inner);
    this.#mac._cloneInto(s.mac);
    s.mac.update(s.utf8(input.path));
    s.mac.update(s.inner);
    s.mac.digestInto(s.out);
    return s.out;
  }
}

/** A form parameter value; arrays and nested objects use bracket keys. */
export type FormValue = string | number | boolean | bigint;

/**
 * Encode parameters as an `application/x-www-form-urlencoded` body, keeping
 * their order. Nested keys are written with brackets (`close[price]`), which
 * encode as `close%5Bprice%5D`; `+` encodes as `%2B`, space as `+`, other
 * non-ASCII as UTF-8 percent escapes. The returned text is exactly what is
 * both signed and sent.
 *
 * @param params Ordered parameters.
 * @returns The body text.
 * @example Encode
 * ```ts
 * import { encodeForm } from "./sign.ts";
 * encodeForm([["nonce", "1"], ["close[price]", "+5%"]]);
 * // "nonce=1&close%5Bprice%5D=%2B5%25"
 * ```
 */
export function encodeForm(
  params: Iterable<readonly [string, FormValue]>,
): string {
  const out = new URLSearchParams();
  for (const [k, v] of params) out.append(k, String(v));
  return out.toString();
}
