/**
 * The built page and worker, loaded once into memory with strong ETags.
 * The same code serves `web/dist` on disk and the copy embedded in the
 * compiled binary (`deno compile --include web/dist`).
 *
 * @module
 */

import { extname, join, relative } from "node:path";
import { encodeBase64 } from "@krakked/core/auth/base64";

/** One static file. */
export interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Load every file under a directory into a map keyed by URL path
 * (`/index.html`, `/worker.js`).
 *
 * @param dir The directory (e.g. `web/dist`).
 * @returns The files, or an empty map when the directory is missing.
 * @example Load
 * ```ts
 * import { loadStaticFiles } from "./static_files.ts";
 * const files = await loadStaticFiles("web/dist");
 * ```
 */
export async function loadStaticFiles(
  dir: string,
): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  async function walk(path: string): Promise<void> {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) await walk(full);
      else if (entry.isFile) {
        const body = await Deno.readFile(full);
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", body),
        );
        const urlPath = "/" + relative(dir, full).split(/[\\/]/).join("/");
        files.set(urlPath, {
          body,
          contentType: TYPES[extname(full).toLowerCase()] ??
            "application/octet-stream",
          etag: `"${encodeBase64(digest.subarray(0, 16)).replace(/=+$/, "")}"`,
        });
      }
    }
  }
  try {
    await walk(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}
