/**
 * Authentication for Kraken's private REST API: the `API-Sign` signature,
 * per-key nonces, and the form and base64 encodings they are computed over
 * (docs/kraken/REST.md §2).
 *
 * - {@linkcode KrakenSigner}: HMAC-SHA512 `API-Sign` over path ‖
 *   SHA-256(nonce ‖ body), with the key imported once per secret.
 * - {@linkcode NonceSource}: strictly increasing microsecond nonces, one
 *   source per API key; {@linkcode nextNonce} is its pure rule.
 * - {@linkcode encodeForm}: the exact form body that is signed and sent.
 *
 * @example Sign a Balance call
 * ```ts
 * import { encodeForm, KrakenSigner, NonceSource } from "./mod.ts";
 * const signer = await KrakenSigner.create(
 *   "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
 * );
 * const nonce = String(new NonceSource().next());
 * const body = encodeForm([["nonce", nonce]]);
 * const apiSign = await signer.sign({ path: "/0/private/Balance", nonce, body });
 * ```
 *
 * @module
 */
export { decodeBase64, encodeBase64 } from "./base64.ts";
export { nextNonce, NonceSource, type NonceSourceOptions } from "./nonce.ts";
export {
  encodeForm,
  type FormValue,
  KrakenSigner,
  SecretFormatError,
  type SignInput,
} from "./sign.ts";
