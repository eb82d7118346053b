/**
 * File I/O for the config directory: reading optional files and writing
 * private files atomically (temp file + rename, mode 0600, directory 0700 on
 * POSIX).
 *
 * @module
 */

import { dirname, join } from "node:path";

/**
 * Read a text file, or `undefined` when it does not exist.
 *
 * @param path File path.
 * @returns The text or `undefined`.
 * @throws {Deno.errors.PermissionDenied} And other I/O errors besides "not found".
 * @example Read
 * ```ts
 * import { readOptionalText } from "./files.ts";
 * const text = await readOptionalText("/etc/hostname");
 * ```
 */
export async function readOptionalText(
  path: string,
): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Write a file atomically with private permissions: the text goes to a temp
 * file in the same directory (mode 0600), is synced, then renamed over the
 * target, so a crash leaves either the old or the new file. The directory is
 * created with mode 0700 if missing.
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
