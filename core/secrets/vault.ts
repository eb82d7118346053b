/**
 * The secrets vault: an API key and secret sealed with AES-256-GCM under a
 * key derived from a master password (PBKDF2-SHA-256).
 *
 * File format (versioned JSON, UTF-8):
 *
 * ```json
 * {
 *   "format": "krakked-secrets",
 *   "version": 1,
 *   "kdf": { "name": "PBKDF2", "hash": "SHA-256", "iterations": 600000 },
 *   "salt": "<base64, 16 bytes>",
 *   "iv": "<base64, 12 bytes>",
 *   "validated": true,
 *   "validatedAt": "2026-11-21T17:00:00.000Z",
 *   "ciphertext": "<base64, AES-GCM output incl. 16-byte tag>"
 * }
 * ```
 *
 * Everything except `ciphertext` is the header. The header is serialised in a
 * fixed key order and bound as GCM additional data, so changing any of it
 * (for example flipping `validated` or lowering the iteration count) makes
 * decryption fail. Any failure to open gives one {@linkcode VaultError}
 * ("wrong password or corrupted secrets file") and never partial data.
 *
 * @module
 */

import { type Now, systemClock } from "../clock.ts";
import { decodeBase64, encodeBase64 } from "../auth/base64.ts";
import { Secret } from "./secret.ts";

/** The minimum PBKDF2 iteration count accepted for sealing and opening. */
export const MIN_PBKDF2_ITERATIONS = 600_000;

/**
 * The maximum PBKDF2 iteration count accepted (about 1 s of derivation on a
 * slow machine): a header claiming more is refused before any work, so a
 * tampered file cannot stall the process for minutes.
 */
export const MAX_PBKDF2_ITERATIONS = 5_000_000;

const FORMAT: VaultHeader["format"] = "krakked-secrets";
const VERSION: VaultHeader["version"] = 1;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** An API key and its secret. The secret is always wrapped. */
export interface ApiCredentials {
  /** The API key (kept wrapped: it identifies the account). */
  key: Secret;
  /** The base64 private key. */
  secret: Secret;
}

/** The authenticated header of a sealed file. */
export interface VaultHeader {
  /** Always `krakked-secrets`: what the file is. */
  format: "krakked-secrets";
  /** File format version; only 1 exists, others fail to open. */
  version: 1;
  /** Key derivation: PBKDF2-SHA-256 with its iteration count. */
  kdf: {
    /** Always `PBKDF2`. */
    name: "PBKDF2";
    /** Always `SHA-256`. */
    hash: "SHA-256";
    /** Iterations, {@linkcode MIN_PBKDF2_ITERATIONS} to {@linkcode MAX_PBKDF2_ITERATIONS}. */
    iterations: number;
  };
  /** The PBKDF2 salt: 16 random bytes, base64. */
  salt: string;
  /** The AES-GCM IV: 12 random bytes, base64. */
  iv: string;
  /** Whether the key answered a read-only private call before it was saved. */
  validated: boolean;
  /** When it was validated (ISO 8601), or `null`. */
  validatedAt: string | null;
}

/** A sealed secrets file. */
export interface SealedVault extends VaultHeader {
  /** AES-256-GCM output over the credentials JSON, with its 16-byte tag, base64. */
  ciphertext: string;
}

/** The shortest master password the vault accepts, in characters. */
export const MIN_MASTER_PASSWORD_LENGTH = 8;

/** Why a vault could not be used. */
export type VaultErrorKind = "wrong_password_or_corrupted" | "weak_password";

/**
 * The vault could not be opened or sealed. Opening failures of any cause
 * (wrong password, truncated file, tampered header or ciphertext, unknown
 * version) share one message on purpose.
 */
export class VaultError extends Error {
  /** Always `VaultError`. */
  override name = "VaultError";
  /** The failure kind. */
  readonly kind: VaultErrorKind;

  /**
   * Create the error.
   *
   * @param kind The failure kind.
   * @param message What failed.
   */
  constructor(kind: VaultErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Options of {@linkcode sealCredentials}. */
export interface SealOptions {
  /** Whether the credentials were validated against Kraken. */
  validated?: boolean;
  /** When they were validated (ISO 8601); defaults to now when validated. */
  validatedAt?: string;
  /** PBKDF2 iterations (at least {@linkcode MIN_PBKDF2_ITERATIONS}). */
  iterations?: number;
  /** Random source; defaults to `crypto.getRandomValues`. */
  randomBytes?: (n: number) => Uint8Array;
  /** Clock for `validatedAt`. */
  now?: Now;
}

/**
 * Seal credentials under a master password.
 *
 * @param credentials The key and secret.
 * @param password The master password (at least 8 characters).
 * @param options Validation flag, KDF cost and injected randomness.
 * @returns The sealed vault object (serialise with {@linkcode serializeVault}).
 * @throws {VaultError} When the password is too short.
 * @throws {RangeError} When the iteration count is below the minimum.
 * @example Seal and open
 * ```ts
 * import { openVault, sealCredentials } from "./vault.ts";
 * import { Secret } from "./secret.ts";
 * const sealed = await sealCredentials(
 *   { key: new Secret("k"), secret: new Secret("c2VjcmV0") },
 *   new Secret("correct horse"),
 * );
 * const { credentials } = await openVault(sealed, new Secret("correct horse"));
 * ```
 */
export async function sealCredentials(
  credentials: ApiCredentials,
  password: Secret,
  options: SealOptions = {},
): Promise<SealedVault> {
  if (password.length < MIN_MASTER_PASSWORD_LENGTH) {
    throw new VaultError(
      "weak_password",
      `Master password is too short: ${password.length} characters, at least ${MIN_MASTER_PASSWORD_LENGTH} needed`,
    );
  }
  const iterations = options.iterations ?? MIN_PBKDF2_ITERATIONS;
  if (
    !Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS ||
    iterations > MAX_PBKDF2_ITERATIONS
  ) {
    throw new RangeError(
      `PBKDF2 iterations must be an integer from ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}: got ${iterations}`,
    );
  }
  const random = options.randomBytes ??
    ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const salt = random(SALT_BYTES);
  const iv = random(IV_BYTES);
  const validated = options.validated ?? false;
  const header: VaultHeader = {
    format: FORMAT,
    version: VERSION,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations },
    salt: encodeBase64(salt),
    iv: encodeBase64(iv),
    validated,
    validatedAt: validated
      ? options.validatedAt ??
        new Date((options.now ?? systemClock.now)()).toISOString()
      : null,
  };
  const key = await deriveKey(password, salt, iterations);
  const plaintext = encoder.encode(
    JSON.stringify({
      key: credentials.key.reveal(),
      secret: credentials.secret.reveal(),
    }),
  );
  const ciphertext = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv: iv as Uint8Array<ArrayBuffer>,
      additionalData: headerBytes(header),
    },
    key,
    plaintext,
  );
  plaintext.fill(0);
  return { ...header, ciphertext: encodeBase64(new Uint8Array(ciphertext)) };
}

/**
 * Read a secrets file's header without the password: whether the text is a
 * well-formed vault of this version, and its validated flag and time. The
 * header is only authenticated when the vault is opened, so use this for
 * decisions about the file (ask before replacing it), never to trust it.
 *
 * @param text The file text.
 * @returns The header, or `undefined` when the text is not a vault.
 * @example Peek
 * ```ts
 * import { readVaultHeader } from "./vault.ts";
 * readVaultHeader("{}"); // undefined
 * ```
 */
export function readVaultHeader(text: string): VaultHeader | undefined {
  const vault = parseVaultText(text);
  return vault ? checkShape(vault)?.header : undefined;
}

/** What {@linkcode openVault} returns. */
export interface OpenedVault {
  /** The decrypted credentials. */
  credentials: ApiCredentials;
  /** The authenticated header (validated flag and time). */
  header: VaultHeader;
}

/**
 * Open a sealed vault (object or file text).
 *
 * @param sealed The sealed vault, as an object or its JSON text.
 * @param password The master password.
 * @returns The credentials and the authenticated header.
 * @throws {VaultError} For a wrong password or any corruption, with one message.
 * @example Open file text
 * ```ts
 * import { openVault } from "./vault.ts";
 * import { Secret } from "./secret.ts";
 * declare const fileText: string;
 * const { credentials, header } = await openVault(fileText, new Secret("pw"));
 * ```
 */
export async function openVault(
  sealed: SealedVault | string,
  password: Secret,
): Promise<OpenedVault> {
  const vault = typeof sealed === "string" ? parseVaultText(sealed) : sealed;
  const parsed = vault && checkShape(vault);
  if (!parsed) throw corrupted();
  const { header, salt, iv, ciphertext } = parsed;
  let plain: Uint8Array;
  try {
    const key = await deriveKey(password, salt, header.kdf.iterations);
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: iv as Uint8Array<ArrayBuffer>,
          additionalData: headerBytes(header),
        },
        key,
        ciphertext as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    throw corrupted();
  }
  try {
    const data: unknown = JSON.parse(decoder.decode(plain));
    if (
      typeof data !== "object" || data === null ||
      typeof (data as { key?: unknown }).key !== "string" ||
      typeof (data as { secret?: unknown }).secret !== "string"
    ) throw corrupted();
    const { key, secret } = data as { key: string; secret: string };
    return {
      credentials: { key: new Secret(key), secret: new Secret(secret) },
      header,
    };
  } catch {
    throw corrupted();
  } finally {
    plain.fill(0);
  }
}

/**
 * Serialise a sealed vault as file text (pretty JSON, trailing newline).
 *
 * @param vault The sealed vault.
 * @returns The file text.
 * @example Serialise
 * ```ts
 * import { serializeVault, type SealedVault } from "./vault.ts";
 * declare const vault: SealedVault;
 * const text = serializeVault(vault);
 * ```
 */
export function serializeVault(vault: SealedVault): string {
  return JSON.stringify(vault, null, 2) + "\n";
}

function corrupted(): VaultError {
  return new VaultError(
    "wrong_password_or_corrupted",
    "Wrong password or corrupted secrets file",
  );
}

function parseVaultText(text: string): SealedVault | undefined {
  try {
    return JSON.parse(text) as SealedVault;
  } catch {
    return undefined;
  }
}

interface CheckedVault {
  header: VaultHeader;
  salt: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function checkShape(v: SealedVault): CheckedVault | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  if (v.format !== FORMAT || v.version !== VERSION) return undefined;
  const kdf = v.kdf;
  if (
    typeof kdf !== "object" || kdf === null || kdf.name !== "PBKDF2" ||
    kdf.hash !== "SHA-256" || !Number.isInteger(kdf.iterations) ||
    kdf.iterations < MIN_PBKDF2_ITERATIONS ||
    kdf.iterations > MAX_PBKDF2_ITERATIONS
  ) return undefined;
  if (typeof v.validated !== "boolean") return undefined;
  if (v.validatedAt !== null && typeof v.validatedAt !== "string") {
    return undefined;
  }
  const salt = typeof v.salt === "string" ? decodeBase64(v.salt) : undefined;
  const iv = typeof v.iv === "string" ? decodeBase64(v.iv) : undefined;
  const ciphertext = typeof v.ciphertext === "string"
    ? decodeBase64(v.ciphertext)
    : undefined;
  if (!salt || salt.length !== SALT_BYTES) return undefined;
  if (!iv || iv.length !== IV_BYTES) return undefined;
  if (!ciphertext || ciphertext.length < 17) return undefined;
  const header: VaultHeader = {
    format: FORMAT,
    version: VERSION,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations: kdf.iterations },
    salt: v.salt,
    iv: v.iv,
    validated: v.validated,
    validatedAt: v.validatedAt,
  };
  return { header, salt, iv, ciphertext };
}

/** The header in a fixed key order: the GCM additional data. */
function headerBytes(h: VaultHeader): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify([
    h.format,
    h.version,
    h.kdf.name,
    h.kdf.hash,
    h.kdf.iterations,
    h.salt,
    h.iv,
    h.validated,
    h.validatedAt,
  ]));
}

async function deriveKey(
  password: Secret,
  salt: Uint8Array,
  iterations: number,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password.reveal()),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return await crypto.subtle.deriveKey(
    {
      name: "PBKDF2",
      hash: "SHA-256",
      salt: salt as Uint8Array<ArrayBuffer>,
      iterations,
    },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
