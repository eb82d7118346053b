/**
 * File I/O for the config directory: reading optional files and writing
 * private files atomically (temp file + rename, mode 0600, directory 0700 on
 * POSIX).
 *
 * @module
 */

import { dirname, join } from "node:path";

/** The default size cap of {@linkcode readOptionalText}: 1 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Size caps of the files Krakked reads, in bytes. */
export const FILE_LIMITS = Object.freeze({
  /** `config.yaml`: a hand-written file of a few KiB. */
  config: 256 * 1024,
  /** `secrets.enc`: one sealed key pair, well under 1 KiB. */
  secrets: 64 * 1024,
  /** The paper account: balances, positions, open orders and recent fills. */
  paper: 16 * 1024 * 1024,
});

/** Why {@linkcode InputFileError} refused a file. */
export type InputFileErrorKind = "not_regular" | "too_large" | "not_utf8";

/**
 * A file Krakked reads is not what it should be: not a regular file (a
 * directory, `/dev/zero`, a FIFO, a socket), larger than its cap, or not
 * UTF-8 text. Nothing of it was used.
 *
 * @example Refuse /dev/zero
 * ```ts ignore
 * await readOptionalText("/dev/zero"); // throws InputFileError, kind "not_regular"
 * ```
 */
export class InputFileError extends Error {
  override name = "InputFileError";

  /**
   * Create the error.
   *
   * @param kind Why the file was refused.
   * @param path The file.
   * @param message What is wrong, naming the file.
   */
  constructor(
    readonly kind: InputFileErrorKind,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@linkcode readOptionalText}. */
export interface ReadTextOptions {
  /** The largest file accepted (default {@linkcode DEFAULT_MAX_FILE_BYTES}). */
  maxBytes?: number;
}

/**
 * Read a text file, or `undefined` when it does not exist. Only a regular
 * file (a symlink to one is fine) of at most `maxBytes` bytes is read, and
 * never more than that many bytes: a path to `/dev/zero`, a FIFO or a
 * directory is refused before it is opened.
 *
 * @param path File path.
 * @param options The size cap.
 * @returns The text or `undefined`.
 * @throws {InputFileError} For a file that is not regular, too large or not UTF-8.
 * @throws {Deno.errors.PermissionDenied} And other I/O errors besides "not found".
 * @example Read
 * ```ts
 * import { readOptionalText } from "./files.ts";
 * const text = await readOptionalText("/etc/hostname");
 * ```
 */
export async function readOptionalText(
  path: string,
  options: ReadTextOptions = {},
): Promise<string | undefined> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  // Checked before opening: opening a FIFO for reading blocks until a
  // writer appears, and /dev/zero never ends.
  if (!info.isFile) throw notRegular(path);
  if (info.size > maxBytes) throw tooLarge(path, info.size, maxBytes);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    // The path may have been swapped since the stat: check what was opened.
    const opened = await file.stat();
    if (!opened.isFile) throw notRegular(path);
    const buffer = new Uint8Array(maxBytes + 1);
    let size = 0;
    for (;;) {
      const n = await file.read(buffer.subarray(size));
      if (n === null) break;
      size += n;
      if (size > maxBytes) throw tooLarge(path, size, maxBytes);
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(
        buffer.subarray(0, size),
      );
    } catch {
      throw new InputFileError(
        "not_utf8",
        path,
        `Cannot read "${path}": it is not UTF-8 text`,
      );
    }
  } finally {
    file.close();
  }
}

function notRegular(path: string): InputFileError {
  return new InputFileError(
    "not_regular",
    path,
    `Cannot read "${path}": it is not a regular file (a directory, device or pipe)`,
  );
}

function tooLarge(
  path: string,
  size: number,
  maxBytes: number,
): InputFileError {
  return new InputFileError(
    "too_large",
    path,
    `Cannot read "${path}": it is larger than ${maxBytes} bytes${
      size > maxBytes + 1 ? ` (${size} bytes)` : ""
    }`,
  );
}

/**
 * Tighten an existing config directory to 0700 and the secrets file in it
 * to 0600 when they are open to the group or others (POSIX only; a no-op
 * on Windows and for missing paths). New ones are created that way.
 *
 * @param dir The config directory.
 * @param secretsPath The secrets file (optional).
 * @returns What was tightened (paths), for a note to the operator.
 * @example Tighten
 * ```ts ignore
 * await tightenConfigDir("/home/me/.config/kraken_bot", "/home/me/.config/kraken_bot/secrets.enc");
 * ```
 */
export async function tightenConfigDir(
  dir: string,
  secretsPath?: string,
): Promise<string[]> {
  if (Deno.build.os === "windows") return [];
  const tightened: string[] = [];
  for (
    const [path, mode] of [[dir, 0o700], [secretsPath, 0o600]] as const
  ) {
    if (path === undefined) continue;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    // A symlink is left alone: its target may be anything.
    if (info.isSymlink || info.mode === null) continue;
    if ((info.mode & 0o077) !== 0) {
      await Deno.chmod(path, mode);
      tightened.push(path);
    }
  }
  return tightened;
}

/**
 * Write a file atomically with private permissions: the text goes to a temp
 * file in the same directory (mode 0600), is synced, then renamed over the
 * target, so a crash leaves either the old or the new file. The directory is
 * created with mode 0700 if missing, and tightened to 0700 if it exists
 * open to the group or others.
 *
 * @param path Target path.
 * @param text File content.
 * @example Write secrets
 * ```ts
 * import { writePrivateFileAtomic } from "./files.ts";
 * await writePrivateFileAtomic("/tmp/krakked-demo/secrets.enc", "{}");
 * ```
 */
export async function writePrivateFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  const dir = dirname(path);
  const posixOs = Deno.build.os !== "windows";
  await Deno.mkdir(dir, {
    recursive: true,
    ...(posixOs ? { mode: 0o700 } : {}),
  });
  // mkdir leaves an existing directory as it was: tighten it too.
  await tightenConfigDir(dir);
  const tmp = join(dir, `.${crypto.randomUUID()}.tmp`);
  try {
    const file = await Deno.open(tmp, {
      write: true,
      createNew: true,
      ...(posixOs ? { mode: 0o600 } : {}),
    });
    try {
      await file.write(new TextEncoder().encode(text));
      await file.sync();
    } finally {
      file.close();
    }
    if (posixOs) await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}
