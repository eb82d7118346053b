/**
 * Registry of WebSocket tokens issued by `GetWebSocketsToken`, shared with
 * the simulator's private WebSocket endpoint.
 *
 * Kraken's rule (REST.md §3.2, WS_V2.md §1.3): a token must be used within
 * 15 minutes of creation; once used for a private subscription it stays
 * valid while that connection is kept. The WS side calls
 * {@linkcode WsTokenRegistry.check} on every private request and
 * {@linkcode WsTokenRegistry.attach}/{@linkcode WsTokenRegistry.detach}
 * around a connection's lifetime.
 *
 * @module
 */

import { constantTimeEqual } from "../rest/signature.ts";
import { newToken } from "../exchange/ids.ts";
import type { SeededRandom } from "../exchange/prng.ts";

/** Token lifetime before first use, in seconds (Kraken's `expires`). */
export const WS_TOKEN_TTL_SEC = 900;

interface TokenRecord {
  readonly token: string;
  readonly keyId: string;
  readonly expiresMs: number;
  connections: number;
}

/** Result of {@linkcode WsTokenRegistry.check}. */
export type TokenCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: "unknown" | "expired" };

/**
 * Issued WebSocket tokens and their validity.
 *
 * @example Issue and check
 * ```ts
 * import { SeededRandom } from "../exchange/prng.ts";
 * import { WsTokenRegistry } from "./tokens.ts";
 * const tokens = new WsTokenRegistry(new SeededRandom(1));
 * const { token } = tokens.issue("key-1", 0);
 * tokens.check(token, 1_000).ok; // true
 * tokens.check(token, 901_000).ok; // false: expired, never attached
 * ```
 */
export class WsTokenRegistry {
  #random: SeededRandom;
  #records: TokenRecord[] = [];

  /**
   * Create an empty registry.
   *
   * @param random Seeded stream the tokens are drawn from.
   */
  constructor(random: SeededRandom) {
    this.#random = random;
  }

  /**
   * Issue a token for an API key.
   *
   * @param keyId Which configured key asked (not the key text).
   * @param nowMs Current time, ms.
   * @returns The token and `expires` in seconds (900).
   */
  issue(keyId: string, nowMs: number): { token: string; expires: number } {
    this.#prune(nowMs);
    const token = newToken(this.#random);
    this.#records.push({
      token,
      keyId,
      expiresMs: nowMs + WS_TOKEN_TTL_SEC * 1000,
      connections: 0,
    });
    return { token, expires: WS_TOKEN_TTL_SEC };
  }

  /**
   * Whether a token is valid now: issued here, and either attached to a live
   * connection or within 15 minutes of issue. Compares in constant time.
   *
   * @param token The token text.
   * @param nowMs Current time, ms.
   * @returns The key it belongs to, or why it is refused.
   */
  check(token: string, nowMs: number): TokenCheck {
    let found: TokenRecord | undefined;
    for (const record of this.#records) {
      if (constantTimeEqual(record.token, token)) found = record;
    }
    if (!found) return { ok: false, reason: "unknown" };
    if (found.connections === 0 && nowMs >= found.expiresMs) {
      return { ok: false, reason: "expired" };
    }
    return { ok: true, keyId: found.keyId };
  }

  /**
   * Note that a connection uses the token: it then stays valid until the
   * last such connection detaches.
   *
   * @param token The token text (must be valid).
   */
  attach(token: string): void {
    const record = this.#records.find((r) => constantTimeEqual(r.token, token));
    if (record) record.connections++;
  }

  /**
   * Note that a connection using the token closed.
   *
   * @param token The token text.
   */
  detach(token: string): void {
    const record = this.#records.find((r) => constantTimeEqual(r.token, token));
    if (record && record.connections > 0) record.connections--;
  }

  /** Number of tokens still tracked (for tests). */
  get size(): number {
    return this.#records.length;
  }

  #prune(nowMs: number): void {
    this.#records = this.#records.filter((r) =>
      r.connections > 0 || nowMs < r.expiresMs
    );
  }
}
