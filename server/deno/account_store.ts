/**
 * The account history cache on disk: one JSON-lines file per history
 * (`trades.jsonl`, `ledger.jsonl`) in `<config dir>/account/<account>/`,
 * where `<account>` is a hash of the REST URL and API key (never the key),
 * so a simulator and the real account, or two keys, never share a cache.
 *
 * Saving appends the new rows, one `{"id","row"}` line each, then a
 * `{"complete":true}` line. Loading keeps what it can parse and calls the
 * cache complete only when the last line is that marker: a save cut short
 * (a crash, a full disk) makes the next run hydrate cold instead of trusting
 * a cache with holes. Files are private (0600), the folder 0700.
 *
 * @module
 */

import { join } from "node:path";
import type {
  CachedHistory,
  HistoryStore,
} from "@krakked/core/account/history_cache";

const COMPLETE = '{"complete":true}';

/**
 * A file-backed history store.
 *
 * @param path The JSON-lines file.
 * @returns The store.
 * @example Store trades
 * ```ts ignore
 * import { fileHistoryStore } from "./account_store.ts";
 * const store = fileHistoryStore<unknown>("/tmp/krakked/account/abc/trades.jsonl");
 * await store.load(); // undefined the first time
 * ```
 */
export function fileHistoryStore<T>(path: string): HistoryStore<T> {
  const posixOs = Deno.build.os !== "windows";
  return {
    async load(): Promise<CachedHistory<T> | undefined> {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
      const rows: Record<string, T> = {};
      let complete = false;
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        complete = false;
        if (line === COMPLETE) {
          complete = true;
          continue;
        }
        try {
          const parsed = JSON.parse(line) as { id?: unknown; row?: unknown };
          if (typeof parsed.id === "string" && parsed.row !== undefined) {
            rows[parsed.id] = parsed.row as T;
          }
        } catch {
          // A torn last line: the cache stays incomplete and rehydrates.
        }
      }
      return { rows, complete };
    },
    async save(added: Record<string, T>, all: CachedHistory<T>) {
      await Deno.mkdir(join(path, ".."), {
        recursive: true,
        ...(posixOs ? { mode: 0o700 } : {}),
      });
      const existing = await this.load().catch(() => undefined);
      // A cache that was not complete is rewritten whole, not appended to.
      const rows = existing?.complete ? added : all.rows;
      const lines = Object.entries(rows).map(([id, row]) =>
        JSON.stringify({ id, row })
      );
      lines.push(COMPLETE);
      const text = lines.join("\n") + "\n";
      if (existing?.complete) {
        await Deno.writeTextFile(path, text, { append: true });
      } else {
        await Deno.writeTextFile(path, text, {
          ...(posixOs ? { mode: 0o600 } : {}),
        });
      }
    },
  };
}

/**
 * The cache folder of one account.
 *
 * @param configDir The config directory.
 * @param restUrl The REST base URL the account lives at.
 * @param apiKey The API key (hashed, never written).
 * @returns `<configDir>/account/<16 hex digits>`.
 * @example Folder
 * ```ts
 * import { accountCacheDir } from "./account_store.ts";
 * await accountCacheDir("/tmp/cfg", "http://127.0.0.1:1", "key");
 * ```
 */
export async function accountCacheDir(
  configDir: string,
  restUrl: string,
  apiKey: string,
): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${restUrl}\n${apiKey}`),
  );
  const hex = [...new Uint8Array(digest).slice(0, 8)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return join(configDir, "account", hex);
}
