/**
 * Kraken REST API-Sign with WebCrypto.
 *
 * API-Sign = base64(HMAC-SHA512(key = base64decode(secret),
 *                               message = path bytes ‖ SHA-256(nonce ‖ body)))
 * (docs/kraken/REST.md §2.2). The HMAC key is imported once per secret
 * and reused for every request.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./base64.ts";
import { Secret } from "../secrets/secret.ts";

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

/**
 * Signs Kraken private requests with one API secret.
 *
 * @example Sign a request
 * ```ts
 * import { KrakenSigner } from "./sign.ts";
 * const signer = await KrakenSigner.create(
 *   "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
 * );
 * const sig = await signer.sign({
 *   path: "/0/private/Balance",
 *   nonce: "1616492376594",
 *   body: "nonce=1616492376594",
 * });
 * ```
 */
export class KrakenSigner {
  #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /**
   * Import the secret once as an HMAC-SHA512 key.
   *
   * @param secret The base64 API secret, plain or wrapped in {@linkcode Secret}.
   * @returns A signer that reuses the imported key.
   * @throws {SecretFormatError} When the secret is empty or not base64.
   */
  static async create(secret: string | Secret): Promise<KrakenSigner> {
    const text = typeof secret === "string" ? secret : secret.reveal();
    const raw = decodeBase64(text.trim());
    if (raw === undefined || raw.length === 0) {
      throw new SecretFormatError(
        "API secret is not valid base64: copy the private key exactly as Kraken shows it",
      );
    }
    const key = await crypto.subtle.importKey(
      "raw",
      raw as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-512" },
      false,
      ["sign", "verify"],
    );
    return new KrakenSigner(key);
  }

  /**
   * Compute API-Sign for one request.
   *
   * @param input Path, nonce and exact body.
   * @returns The 88-character base64 signature.
   */
  async sign(input: SignInput): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      this.#key,
      await signedMessage(input),
    );
    return encodeBase64(new Uint8Array(mac));
  }

  /**
   * Check a signature in constant time (used by the simulator's verifier).
   *
   * @param input Path, nonce and exact body as received.
   * @param signature The API-Sign header value.
   * @returns Whether the signature matches.
   */
  async verify(input: SignInput, signature: string): Promise<boolean> {
    const mac = decodeBase64(signature);
    if (mac === undefined || mac.length !== 64) return false;
    return await crypto.subtle.verify(
      "HMAC",
      this.#key,
      mac as Uint8Array<ArrayBuffer>,
      await signedMessage(input),
    );
  }
}

async function signedMessage(
  input: SignInput,
): Promise<Uint8Array<ArrayBuffer>> {
  const inner = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      encoder.encode(input.nonce + input.body),
    ),
  );
  const path = encoder.encode(input.path);
  const message = new Uint8Array(path.length + inner.length);
  message.set(path, 0);
  message.set(inner, path.length);
  return message;
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
