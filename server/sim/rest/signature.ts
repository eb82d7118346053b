/**
 * The exchange's side of `API-Sign` (docs/kraken/REST.md §2.2):
 *
 * ```text
 * API-Sign = base64(HMAC-SHA512(key     = base64-decode(API secret),
 *                               message = URI path ‖ SHA-256(nonce ‖ body)))
 * ```
 *
 * The simulator recomputes the signature it expects with WebCrypto and the
 * platform's base64 (`atob`/`btoa`), and compares it with what the request
 * presents in constant time. None of this comes from the client's signer
 * in core: the simulator is the oracle the client is tested against, and a
 * shared signer would accept the client's mistakes as correct. Its own
 * tests use the published vectors of REST.md §2.3, never the client.
 *
 * @module
 */

const utf8 = new TextEncoder();

/** The API secret cannot be used: empty or not base64. Never contains it. */
export class SecretFormatError extends TypeError {
  /** Always `SecretFormatError`. */
  override name = "SecretFormatError";
}

/**
 * Compare two strings without an early exit: the time depends on the
 * longer length only, not on where they differ.
 *
 * @param a One string.
 * @param b The other.
 * @returns Whether they are equal.
 * @example Compare
 * ```ts
 * import { constantTimeEqual } from "./signature.ts";
 * constantTimeEqual("abc", "abc"); // true
 * constantTimeEqual("abc", "abd"); // false
 * ```
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.max(x.length, y.length);
  let difference = x.length === y.length ? 0 : 1;
  for (let i = 0; i < n; i++) {
    difference |= (i < x.length ? x[i]! : 0) ^ (i < y.length ? y[i]! : 0);
  }
  return difference === 0;
}

/**
 * Standard base64 (with padding) of bytes, by the platform's `btoa`.
 *
 * @param bytes The bytes.
 * @returns The base64 text.
 * @example Encode
 * ```ts
 * import { toBase64 } from "./signature.ts";
 * toBase64(new Uint8Array([1, 2, 3])); // "AQID"
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** What one private request signs. */
export interface SignedParts {
  /** URI path, `/0/private/<Method>` (no host, no query). */
  path: string;
  /** The nonce text, as found in the body. */
  nonce: string;
  /** The exact body text as received. */
  body: string;
}

/**
 * One API secret, imported once as an HMAC-SHA512 key.
 *
 * @example Verify Kraken's published vector (REST.md §2.3, vector A)
 * ```ts
 * import { ApiSecretKey } from "./signature.ts";
 * const key = await ApiSecretKey.import(
 *   "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
 * );
 * await key.verify(
 *   {
 *     path: "/0/private/AddOrder",
 *     nonce: "1616492376594",
 *     body: "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
 *   },
 *   "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==",
 * ); // true
 * ```
 */
export class ApiSecretKey {
  #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /**
   * Import a base64 API secret.
   *
   * @param secret The secret as Kraken shows it (surrounding space ignored).
   * @returns The key.
   * @throws {SecretFormatError} When the secret is empty or not base64.
   */
  static async import(secret: string): Promise<ApiSecretKey> {
    const raw = fromBase64(secret.trim());
    if (raw === undefined || raw.length === 0) {
      throw new SecretFormatError("The API secret is not base64");
    }
    const key = await crypto.subtle.importKey(
      "raw",
      raw,
      { name: "HMAC", hash: "SHA-512" },
      false,
      ["sign"],
    );
    return new ApiSecretKey(key);
  }

  /**
   * The `API-Sign` value this secret gives a request.
   *
   * @param parts Path, nonce and exact body.
   * @returns 88 characters of base64.
   */
  async expected(parts: SignedParts): Promise<string> {
    const inner = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        utf8.encode(parts.nonce + parts.body),
      ),
    );
    const path = utf8.encode(parts.path);
    const message = new Uint8Array(path.length + inner.length);
    message.set(path);
    message.set(inner, path.length);
    const mac = await crypto.subtle.sign("HMAC", this.#key, message);
    return toBase64(new Uint8Array(mac));
  }

  /**
   * Whether a presented `API-Sign` is this secret's signature of the
   * request, compared in constant time with the canonical base64 text.
   *
   * @param parts Path, nonce and exact body as received.
   * @param presented The `API-Sign` header.
   * @returns `true` when it matches.
   */
  async verify(parts: SignedParts, presented: string): Promise<boolean> {
    return constantTimeEqual(await this.expected(parts), presented);
  }
}
