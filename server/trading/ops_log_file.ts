/**
 * The server's log file (`serve --log-file PATH`): JSON lines appended to
 * PATH, rotated by size. When a write would take the file past `maxBytes`,
 * PATH becomes `PATH.1` (the previous `PATH.1` is dropped) and a new PATH
 * is started, so the log never holds more than about twice `maxBytes`.
 * `krakked logs` reads `PATH.1` then PATH. Writes are batched by
 * {@linkcode LineBuffer} (one write per turn, never blocking a request).
 *
 * @module
 */

import { LineBuffer } from "@krakked/core/log";

/** Default rotation size: 10 MiB. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;

const encoder = new TextEncoder();

/** A rotating JSON-lines file. */
export class RotatingLogFile {
  #path: string;
  #maxBytes: number;
  #file: Deno.FsFile;
  #size: number;
  #buffer: LineBuffer;
  #closed = false;

  /**
   * Open (append) the file; the directory must exist.
   *
   * @param path The log file.
   * @param options `maxBytes` (default {@linkcode DEFAULT_LOG_MAX_BYTES})
   *   and where write errors go.
   * @throws {RangeError} For a `maxBytes` below 1 KiB.
   * @throws {Deno.errors.NotFound} When the directory does not exist.
   */
  constructor(
    path: string,
    options: { maxBytes?: number; onError?: (error: unknown) => void } = {},
  ) {
    const maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1024) {
      throw new RangeError(
        `The log file's maxBytes must be a whole number of at least 1024, not ${maxBytes}`,
      );
    }
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.#file = Deno.openSync(path, {
      append: true,
      create: true,
      mode: 0o600,
    });
    this.#size = this.#file.statSync().size;
    this.#buffer = new LineBuffer({
      write: (text) => this.#write(text),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** The file's path. */
  get path(): string {
    return this.#path;
  }

  /** Append one line (without its newline); bound, usable as a sink. */
  push = (line: string): void => {
    if (!this.#closed) this.#buffer.push(line);
  };

  /** Write what is queued, then close the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#buffer.flush();
    this.#file.close();
  }

  async #write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) {
      this.#file.close();
      await Deno.rename(this.#path, `${this.#path}.1`);
      this.#file = await Deno.open(this.#path, {
        append: true,
        create: true,
        mode: 0o600,
      });
      this.#size = 0;
    }
    let written = 0;
    while (written < bytes.length) {
      written += await this.#file.write(bytes.subarray(written));
    }
    this.#size += bytes.length;
  }
}
