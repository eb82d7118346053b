/**
 * Request bodies read with a byte budget enforced while they stream in: a
 * body over the limit is refused as soon as its `Content-Length` says so, or
 * as soon as the bytes received pass the limit, never after reading it all.
 *
 * @module
 */

import { HttpError } from "./errors.ts";

/**
 * Read a request body as UTF-8 text of at most `maxBytes` bytes.
 *
 * @param request The request.
 * @param maxBytes The largest body accepted, in bytes (not UTF-16 units).
 * @returns The text ("" for no body).
 * @throws {HttpError} 413 `too_large` past the limit; 400 `bad_encoding`
 *   for bytes that are not UTF-8.
 * @example Read an order ticket
 * ```ts ignore
 * const text = await readBodyText(c.req.raw, 4096);
 * ```
 */
export async function readBodyText(
  request: Request,
  maxBytes: number,
): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  const body = request.body;
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "bad_encoding", "The body is not UTF-8 text");
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "too_large",
    `The body is too large: at most ${maxBytes} bytes`,
  );
}
