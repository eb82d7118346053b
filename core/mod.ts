/**
 * Krakked core: the runtime-neutral Kraken Spot library. Only Web APIs are
 * used; clock, fetch, WebSocket, timers and storage are injected.
 *
 * - Auth: {@linkcode KrakenSigner} (API-Sign), {@linkcode NonceSource}.
 * - Secrets: {@linkcode Secret}, the AES-GCM vault, credential precedence,
 *   first-time setup, redaction.
 * - Config: {@linkcode parseConfig} and its defaults.
 * - REST: {@linkcode RestClient}, {@linkcode KrakenError}, {@linkcode RateLimiter}.
 * - Market: pairs, universe, OHLC history and stores (`./market/mod.ts`).
 * - WebSocket v2: {@linkcode WsConnection}, {@linkcode BookSet},
 *   {@linkcode LiveCache}.
 *
 * @example Public ticker over REST
 * ```ts ignore
 * import { RestClient } from "@krakked/core";
 * const kraken = new RestClient();
 * const ticker = await kraken.ticker(["XBTUSD"]);
 * ```
 *
 * @module
 */
export {
  nextNonce,
  NonceSource,
  type NonceSourceOptions,
} from "./auth/nonce.ts";
export {
  encodeForm,
  type FormValue,
  KrakenSigner,
  SecretFormatError,
  type SignInput,
} from "./auth/sign.ts";
export { Secret, timingSafeEqual } from "./secrets/secret.ts";
export * from "./secrets/vault.ts";
export * from "./secrets/credentials.ts";
export * from "./secrets/setup.ts";
export * from "./secrets/redact.ts";
export * from "./log.ts";
export * from "./config/config.ts";
export * from "./rest/types.ts";
export * from "./rest/errors.ts";
export * from "./rest/methods.ts";
export * from "./rest/ratelimit.ts";
export * from "./rest/client.ts";
export * from "./market/mod.ts";
export * from "./ws/protocol.ts";
export * from "./ws/book.ts";
export * from "./ws/connection.ts";
export * from "./ws/candles.ts";
export * from "./ws/live.ts";
export * from "./ws/status.ts";
export * from "./trade/mod.ts";
