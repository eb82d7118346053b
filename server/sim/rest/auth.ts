/**
 * Private-call authentication for the simulator, in Kraken's order:
 * lockout → `API-Key` → `API-Sign` over the exact body → nonce → REST call
 * counter → permission (REST.md §2, §7.1, §7.4, §8).
 *
 * The signature is checked by the simulator's own HMAC code
 * (`signature.ts`), not the client's signer. The decisions are pure
 * functions ({@linkcode acceptNonce},
 * {@linkcode recordFailure}, {@linkcode lockedUntil}); {@linkcode KeyRing}
 * keeps the per-key state. The REST counter is the exchange's own meter
 * (`../exchange/rate_limits.ts`). Nothing here logs or returns key, secret,
 * signature or nonce text.
 *
 * @module
 */

import {
  Meter,
  type MeterLimits,
  REST_LIMITS,
  type SimTier,
} from "../exchange/rate_limits.ts";
import { ApiSecretKey, constantTimeEqual } from "./signature.ts";

/** Kraken API key permissions the simulator knows (funding ones never exist here). */
export type SimPermission =
  | "query_funds"
  | "query_open"
  | "query_closed"
  | "query_ledger"
  | "export_data"
  | "create_orders"
  | "cancel_orders"
  | "websocket";

/** Every permission a simulator key can have (the default set). */
export const ALL_PERMISSIONS: readonly SimPermission[] = Object.freeze([
  "query_funds",
  "query_open",
  "query_closed",
  "query_ledger",
  "export_data",
  "create_orders",
  "cancel_orders",
  "websocket",
]);

/** One configured API key. */
export interface SimKeyConfig {
  /** The public API key text. */
  apiKey: string;
  /** The base64 API secret. */
  apiSecret: string;
  /** Granted permissions (default {@linkcode ALL_PERMISSIONS}). */
  permissions?: readonly SimPermission[];
  /** REST counter tier (default `starter`). */
  tier?: SimTier;
  /**
   * Nonce window in nonce ticks (default 0): a nonce up to this much below
   * the highest accepted one is still accepted once.
   */
  nonceWindow?: number;
}

/** Lockout after repeated authentication failures (REST.md §7.4). */
export interface LockoutPolicy {
  /** Failures within `windowMs` that trigger a lockout (default 12). */
  maxFailures: number;
  /** Window in which failures are counted, ms (default 300 000). */
  windowMs: number;
  /** Lockout duration, ms (default 900 000, Kraken's ≈15 minutes). */
  durationMs: number;
}

/** The default lockout policy. */
export const DEFAULT_LOCKOUT: LockoutPolicy = Object.freeze({
  maxFailures: 12,
  windowMs: 300_000,
  durationMs: 900_000,
});

/** Failure history of one presented key. */
export interface FailureState {
  /** Times of recent failures, ms, oldest first. */
  readonly failuresMs: readonly number[];
  /** Locked until this time, ms (0 = not locked). */
  readonly lockedUntilMs: number;
}

/** Nonce state of one key. */
export interface NonceState {
  /** Highest accepted nonce. */
  readonly highest: bigint;
  /** Accepted nonces inside the window below `highest` (replay guard). */
  readonly recent: readonly bigint[];
}

/**
 * Whether a nonce is acceptable, and the new state. Strictly greater than
 * the highest accepted nonce always passes; with a window, a lower nonce
 * passes if it is within `window` of the highest and was not used before.
 *
 * @param state The key's nonce state.
 * @param nonce The presented nonce.
 * @param window The key's nonce window (0 = strict).
 * @returns `ok` and the next state.
 * @example Strictly increasing
 * ```ts
 * import { acceptNonce } from "./auth.ts";
 * const first = acceptNonce({ highest: 0n, recent: [] }, 5n, 0);
 * acceptNonce(first.state, 5n, 0).ok; // false
 * ```
 */
export function acceptNonce(
  state: NonceState,
  nonce: bigint,
  window: number,
): { ok: boolean; state: NonceState } {
  const w = BigInt(Math.max(0, Math.trunc(window)));
  if (nonce > state.highest) {
    const recent = [...state.recent, state.highest].filter((n) =>
      n > nonce - w && n > 0n
    );
    return {
      ok: true,
      state: { highest: nonce, recent: w > 0n ? recent : [] },
    };
  }
  if (
    w > 0n && nonce > state.highest - w && nonce !== state.highest &&
    !state.recent.includes(nonce)
  ) {
    return {
      ok: true,
      state: { highest: state.highest, recent: [...state.recent, nonce] },
    };
  }
  return { ok: false, state };
}

/**
 * Record one authentication failure; locks when the window holds
 * `maxFailures` of them.
 *
 * @param state The presented key's failure state.
 * @param nowMs Current time, ms.
 * @param policy The lockout policy.
 * @returns The new state.
 * @example Lock after three
 * ```ts
 * import { recordFailure } from "./auth.ts";
 * const policy = { maxFailures: 3, windowMs: 60_000, durationMs: 900_000 };
 * import type { FailureState } from "./auth.ts";
 * let s: FailureState = { failuresMs: [], lockedUntilMs: 0 };
 * for (let i = 0; i < 3; i++) s = recordFailure(s, 1000 + i, policy);
 * s.lockedUntilMs; // 901002
 * ```
 */
export function recordFailure(
  state: FailureState,
  nowMs: number,
  policy: LockoutPolicy,
): FailureState {
  const failuresMs = [
    ...state.failuresMs.filter((t) => t > nowMs - policy.windowMs),
    nowMs,
  ];
  if (failuresMs.length >= policy.maxFailures) {
    return { failuresMs: [], lockedUntilMs: nowMs + policy.durationMs };
  }
  return { failuresMs, lockedUntilMs: state.lockedUntilMs };
}

/**
 * Whether a failure state is locked at an instant.
 *
 * @param state The failure state.
 * @param nowMs Current time, ms.
 * @returns `true` while locked.
 * @example Locked
 * ```ts
 * import { lockedUntil } from "./auth.ts";
 * lockedUntil({ failuresMs: [], lockedUntilMs: 10 }, 5); // true
 * ```
 */
export function lockedUntil(state: FailureState, nowMs: number): boolean {
  return nowMs < state.lockedUntilMs;
}

/** One configured key with its live state. */
export interface KeyState {
  /** Stable id for logs and token ownership (`key-1`, …), never the key text. */
  readonly id: string;
  /** Granted permissions. */
  readonly permissions: ReadonlySet<SimPermission>;
  /** REST counter tier. */
  readonly tier: SimTier;
  /** Nonce window in nonce ticks. */
  readonly nonceWindow: number;
  /** Nonce state (highest accepted nonce). */
  nonce: NonceState;
  /** REST call counter. */
  readonly meter: Meter;
}

interface KeyEntry {
  readonly apiKey: string;
  readonly secret: ApiSecretKey;
  readonly state: KeyState;
}

/** What a private request presents. */
export interface PrivateRequest {
  /** `API-Key` header (or `null`). */
  apiKey: string | null;
  /** `API-Sign` header (or `null`). */
  apiSign: string | null;
  /** URI path, e.g. `/0/private/Balance`. */
  path: string;
  /** Exact body text as received. */
  body: string;
  /** Nonce text from the body, or `undefined` when missing. */
  nonce: string | undefined;
}

/** Result of {@linkcode KeyRing.authenticate}. */
export type AuthResult = { ok: true; key: KeyState } | {
  ok: false;
  error: string;
};

/**
 * The configured API keys and their nonce, counter and lockout state.
 *
 * @example Authenticate a request
 * ```ts
 * import { KeyRing } from "./auth.ts";
 * const ring = await KeyRing.create([{ apiKey: "k", apiSecret: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" }], { now: () => 0 });
 * const result = await ring.authenticate({ apiKey: "x", apiSign: "y", path: "/0/private/Balance", body: "nonce=1", nonce: "1" });
 * result.ok; // false: "EAPI:Invalid key"
 * ```
 */
export class KeyRing {
  #entries: KeyEntry[];
  #now: () => number;
  #lockout: LockoutPolicy;
  #failures = new Map<string, FailureState>();

  private constructor(
    entries: KeyEntry[],
    now: () => number,
    lockout: LockoutPolicy,
  ) {
    this.#entries = entries;
    this.#now = now;
    this.#lockout = lockout;
  }

  /**
   * Import every key's secret once.
   *
   * @param keys The keys (at least one).
   * @param options Clock and lockout policy.
   * @returns The key ring.
   * @throws {TypeError} When a secret is not base64.
   */
  static async create(
    keys: readonly SimKeyConfig[],
    options: { now: () => number; lockout?: Partial<LockoutPolicy> },
  ): Promise<KeyRing> {
    const nowMs = options.now();
    const entries = await Promise.all(keys.map(async (k, i) => {
      const tier = k.tier ?? "starter";
      return {
        apiKey: k.apiKey,
        secret: await ApiSecretKey.import(k.apiSecret),
        state: {
          id: `key-${i + 1}`,
          permissions: new Set(k.permissions ?? ALL_PERMISSIONS),
          tier,
          nonceWindow: k.nonceWindow ?? 0,
          nonce: { highest: 0n, recent: [] },
          meter: new Meter(REST_LIMITS[tier], nowMs),
        },
      };
    }));
    return new KeyRing(entries, options.now, {
      ...DEFAULT_LOCKOUT,
      ...options.lockout,
    });
  }

  /**
   * Check key, signature and nonce. Failures count towards a lockout of
   * the presented key.
   *
   * @param request What the request presents.
   * @returns The key, or the Kraken error string.
   */
  async authenticate(request: PrivateRequest): Promise<AuthResult> {
    const nowMs = this.#now();
    const presented = request.apiKey ?? "";
    const failureKey = this.#find(presented)?.state.id ?? "unknown";
    const failures = this.#failures.get(failureKey) ??
      { failuresMs: [], lockedUntilMs: 0 };
    if (lockedUntil(failures, nowMs)) {
      return { ok: false, error: "EGeneral:Temporary lockout" };
    }
    const fail = (error: string): AuthResult => {
      this.#failures.set(
        failureKey,
        recordFailure(failures, nowMs, this.#lockout),
      );
      return { ok: false, error };
    };
    const entry = this.#find(presented);
    if (!entry || presented === "") return fail("EAPI:Invalid key");
    if (!request.apiSign || request.nonce === undefined) {
      return fail(
        request.apiSign ? "EAPI:Invalid nonce" : "EAPI:Invalid signature",
      );
    }
    const valid = await entry.secret.verify(
      { path: request.path, nonce: request.nonce, body: request.body },
      request.apiSign,
    );
    if (!valid) return fail("EAPI:Invalid signature");
    if (!/^\d{1,20}$/.test(request.nonce)) return fail("EAPI:Invalid nonce");
    const nonce = BigInt(request.nonce);
    if (nonce > 18446744073709551615n) return fail("EAPI:Invalid nonce");
    const accepted = acceptNonce(
      entry.state.nonce,
      nonce,
      entry.state.nonceWindow,
    );
    if (!accepted.ok) return fail("EAPI:Invalid nonce");
    entry.state.nonce = accepted.state;
    return { ok: true, key: entry.state };
  }

  /**
   * Charge the key's REST call counter; refuses (without charging) when the
   * call would exceed the tier's maximum.
   *
   * @param key The authenticated key.
   * @param cost The call's cost (1, or 2 for ledger/trade history).
   * @returns Whether the call may proceed.
   */
  chargeRest(key: KeyState, cost: number): boolean {
    if (cost <= 0) return true;
    return key.meter.tryAdd(cost, this.#now());
  }

  /**
   * The key's REST counter as of now (for tests and status).
   *
   * @param keyId The key id (`key-1`).
   * @returns The decayed counter, or `undefined` for an unknown id.
   */
  counter(
    keyId: string,
  ): (MeterLimits & { level: number; atMs: number }) | undefined {
    const entry = this.#entries.find((e) => e.state.id === keyId);
    return entry?.state.meter.snapshot(this.#now());
  }

  #find(presented: string): KeyEntry | undefined {
    let found: KeyEntry | undefined;
    for (const entry of this.#entries) {
      if (constantTimeEqual(entry.apiKey, presented)) found = entry;
    }
    return found;
  }
}
