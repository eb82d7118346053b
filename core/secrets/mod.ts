/**
 * Secrets: a holder that never prints its value, the AES-256-GCM vault for
 * the API key and secret, credential precedence, first-time setup and log
 * redaction. All I/O (environment, files, prompts) is injected.
 *
 * - {@linkcode Secret}: `String()`, `JSON.stringify` and inspection print
 *   `[redacted]`; only `reveal()` returns the value.
 * - The vault: {@linkcode sealCredentials}, {@linkcode openVault} and
 *   {@linkcode serializeVault} (PBKDF2-SHA-256, header bound as GCM
 *   additional data); every opening failure is one {@linkcode VaultError}.
 * - {@linkcode resolveCredentials}: environment → secrets file → none.
 * - {@linkcode runSetup}: validate a key with a read-only call, then seal it.
 * - {@linkcode Redactor}: scrubs registered secret values and secret-named
 *   fields from log lines and errors.
 *
 * @example Seal, serialise and open
 * ```ts
 * import { openVault, sealCredentials, Secret, serializeVault } from "./mod.ts";
 * const password = new Secret("correct horse battery");
 * const sealed = await sealCredentials(
 *   { key: new Secret("api-key"), secret: new Secret("c2VjcmV0") },
 *   password,
 * );
 * const fileText = serializeVault(sealed);
 * const { credentials } = await openVault(fileText, password);
 * credentials.secret.reveal(); // "c2VjcmV0"
 * ```
 *
 * @module
 */
export { Secret, timingSafeEqual } from "./secret.ts";
export {
  type ApiCredentials,
  MAX_PBKDF2_ITERATIONS,
  MIN_PBKDF2_ITERATIONS,
  type OpenedVault,
  openVault,
  sealCredentials,
  type SealedVault,
  type SealOptions,
  serializeVault,
  VaultError,
  type VaultErrorKind,
  type VaultHeader,
} from "./vault.ts";
export {
  type CredentialSources,
  type CredentialsResult,
  ENV_API_KEY,
  ENV_API_SECRET,
  ENV_MASTER_PASSWORD,
  resolveCredentials,
} from "./credentials.ts";
export {
  classifyValidationError,
  runSetup,
  type SetupOptions,
  type SetupResult,
  type ValidationFailureKind,
} from "./setup.ts";
export {
  isSecretFieldName,
  MIN_REDACTED_LENGTH,
  redactAll,
  Redactor,
  secretSpellings,
} from "./redact.ts";
