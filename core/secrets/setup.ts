/**
 * First-time setup: validate credentials against a private read-only
 * endpoint, then seal and save them.
 *
 * - Authentication or permission failure: nothing is saved, unless the
 *   caller explicitly overrides (then saved as unvalidated).
 * - Network or service failure: distinguished from authentication; the
 *   caller chooses to retry or to save as unvalidated. The validated flag
 *   lives in the vault's authenticated header.
 * - Success: sealed, saved and marked validated.
 *
 * @module
 */

import type { Now } from "../clock.ts";
import {
  type ApiCredentials,
  sealCredentials,
  serializeVault,
} from "./vault.ts";
import type { Secret } from "./secret.ts";
import { redactAll } from "./redact.ts";

/** How a validation failure is classified. */
export type ValidationFailureKind = "auth" | "transient" | "other";

/** Error kinds (as in `KrakenError.kind`) that mean the key itself is bad. */
const AUTH_KINDS = new Set(["auth", "permission", "nonce"]);
/** Error kinds that mean Kraken could not be reached or was busy. */
const TRANSIENT_KINDS = new Set(["network", "service", "rate_limit"]);

/**
 * Classify an error thrown by the validation call by its `kind` property
 * (the REST client's `KrakenError` carries one).
 *
 * @param error What the validation call threw.
 * @returns `auth`, `transient` or `other`.
 * @example Classify
 * ```ts
 * import { classifyValidationError } from "./setup.ts";
 * classifyValidationError({ kind: "network" }); // "transient"
 * ```
 */
export function classifyValidationError(error: unknown): ValidationFailureKind {
  const kind = typeof error === "object" && error !== null &&
      "kind" in error && typeof error.kind === "string"
    ? error.kind
    : undefined;
  if (kind !== undefined && AUTH_KINDS.has(kind)) return "auth";
  if (kind !== undefined && TRANSIENT_KINDS.has(kind)) return "transient";
  return "other";
}

/** Options of {@linkcode runSetup}. */
export interface SetupOptions {
  /** Calls a private read-only endpoint (e.g. Balance) with the credentials; throws on failure. */
  validate: (credentials: ApiCredentials) => Promise<void>;
  /** Persists the sealed file text (atomically, with private permissions). */
  save: (fileText: string) => Promise<void>;
  /** When validation fails for a network/service reason: what to do. Default `"ask"` returns without saving. */
  onTransientFailure?: "ask" | "save_unvalidated";
  /** Save even when authentication failed (explicit override), marked unvalidated. */
  overrideAuthFailure?: boolean;
  /**
   * The file being replaced holds a validated key: save only a key that
   * validates now. An unvalidated key (an overridden auth failure, or a
   * transient failure saved unvalidated) then saves nothing and reports
   * `keptExisting`, so a rejected key can never replace a good one.
   */
  replacesValidated?: boolean;
  /** Clock for the validated-at time. */
  now?: Now;
  /** PBKDF2 iterations (tests never lower it below the minimum). */
  iterations?: number;
}

/**
 * The outcome of {@linkcode runSetup}. `keptExisting` is set when saving
 * unvalidated was asked for but refused because it would have replaced a
 * validated file ({@linkcode SetupOptions.replacesValidated}).
 */
export type SetupResult =
  | { kind: "saved"; validated: boolean }
  | {
    kind: "auth_failed";
    saved: boolean;
    errorKind: string;
    message: string;
    keptExisting?: true;
  }
  | {
    kind: "transient_failure";
    saved: boolean;
    errorKind: string;
    message: string;
    keptExisting?: true;
  }
  | { kind: "failed"; saved: false; message: string };

/**
 * Validate, then seal and save credentials.
 *
 * @param credentials The key and secret to store.
 * @param password The master password.
 * @param options The validation call, the writer and the failure policy.
 * @returns What happened; `saved` says whether a file was written.
 * @example Setup with a validation call
 * ```ts
 * import { runSetup } from "./setup.ts";
 * import { Secret } from "./secret.ts";
 * const result = await runSetup(
 *   { key: new Secret("k"), secret: new Secret("czM=") },
 *   new Secret("long enough password"),
 *   { validate: async () => {}, save: async (_text) => {} },
 * );
 * // result.kind === "saved"
 * ```
 */
export async function runSetup(
  credentials: ApiCredentials,
  password: Secret,
  options: SetupOptions,
): Promise<SetupResult> {
  const seal = async (validated: boolean) => {
    const sealed = await sealCredentials(credentials, password, {
      validated,
      ...(options.now ? { now: options.now } : {}),
      ...(options.iterations ? { iterations: options.iterations } : {}),
    });
    await options.save(serializeVault(sealed));
  };
  try {
    await options.validate(credentials);
  } catch (error) {
    const cls = classifyValidationError(error);
    const errorKind = kindOf(error);
    const message = safeMessage(error, credentials);
    const kept = options.replacesValidated === true
      ? { keptExisting: true as const }
      : {};
    if (cls === "auth") {
      const wanted = options.overrideAuthFailure === true;
      const saved = wanted && options.replacesValidated !== true;
      if (saved) await seal(false);
      return {
        kind: "auth_failed",
        saved,
        errorKind,
        message,
        ...(wanted && !saved ? kept : {}),
      };
    }
    if (cls === "transient") {
      const wanted = options.onTransientFailure === "save_unvalidated";
      const saved = wanted && options.replacesValidated !== true;
      if (saved) await seal(false);
      return {
        kind: "transient_failure",
        saved,
        errorKind,
        message,
        ...(wanted && !saved ? kept : {}),
      };
    }
    return { kind: "failed", saved: false, message };
  }
  await seal(true);
  return { kind: "saved", validated: true };
}

function kindOf(error: unknown): string {
  return typeof error === "object" && error !== null && "kind" in error &&
      typeof error.kind === "string"
    ? error.kind
    : "unknown";
}

/** The error's message with the key and secret removed, whatever the caller threw. */
function safeMessage(error: unknown, credentials: ApiCredentials): string {
  const raw = error instanceof Error ? error.message : String(error);
  return redactAll(raw, [credentials.key, credentials.secret]);
}
