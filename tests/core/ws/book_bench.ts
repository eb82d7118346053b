/**
 * Order book stream benchmark over the shared 200,000-message Kraken v2
 * `book` stream (/work/shared/bench/book-v2-stream.jsonl, see its README).
 *
 * Each iteration handles the next 1,000 messages (cycling through the file),
 * so `deno bench`'s "time/iter" in µs reads directly as ns per message, and
 * "iter/s" × 1,000 is messages per second. Batches smooth out per-message
 * size differences and GC pauses. The file is loaded and its sha256 checked
 * against the meta file before any bench runs.
 *
 * Group "book stream" (lines as a socket delivers them: each message its own
 * flat string):
 * - baseline: bare `JSON.parse` of the line (loses `0.10000000` → `0.1`, so
 *   it could not even verify a checksum);
 * - `BookSet.applyText`: scan + apply + truncate + CRC32 check per message;
 * - `BookFrameScanner.scan` alone;
 * - `JSON.parse` with a `context.source` reviver (exact number text).
 *
 * Group "book stream (split slices)" repeats the first two on the lines as
 * `String.split` returns them: slices of one 42 MB string, slower to index
 * char by char than the flat strings a WebSocket hands out.
 *
 * Run: deno bench --allow-read tests/core/ws/book_bench.ts
 *
 * @module
 */

import { BookSet } from "../../../core/ws/book.ts";
import { BookFrameScanner } from "../../../core/ws/_book_frame.ts";

const benchDir = new URL("../../../../shared/bench/", import.meta.url);
const meta = JSON.parse(
  await Deno.readTextFile(new URL("book-v2-stream.meta.json", benchDir)),
) as { sha256: string; messages: number; pairs: { symbol: string }[] };
const bytes = await Deno.readFile(new URL("book-v2-stream.jsonl", benchDir));
const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
if (hex !== meta.sha256) {
  throw new Error(
    `Cannot run book bench: book-v2-stream.jsonl sha256 is ${hex}, meta says ${meta.sha256}`,
  );
}

const sliced = new TextDecoder().decode(bytes).split("\n");
if (sliced.at(-1) === "") sliced.pop();
if (sliced.length !== meta.messages) {
  throw new Error(
    `Cannot run book bench: expected ${meta.messages} lines, got ${sliced.length}`,
  );
}
// A WebSocket delivers each message as its own flat string; decode each line
// separately so the bench sees the same kind of string.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const flat = sliced.map((line) => decoder.decode(encoder.encode(line)));

/** A BookSet tracking the stream's symbols at depth 10. */
function newBooks(): BookSet {
  const books = new BookSet({ defaultDepth: 10 });
  for (const pair of meta.pairs) books.track(pair.symbol);
  return books;
}

/** Messages per bench iteration: µs per iteration = ns per message. */
const BATCH = 1000;

/**
 * Returns a bench body that feeds the next BATCH lines per call, cycling
 * through the file. Lines 0..2 are the snapshots of all three symbols, so
 * each cycle restarts the books consistently.
 */
function cycle(lines: string[], handle: (line: string) => void): () => void {
  let i = 0;
  return () => {
    for (let k = 0; k < BATCH; k++) {
      handle(lines[i] as string);
      i = i + 1 === lines.length ? 0 : i + 1;
    }
  };
}

function applyAll(): (line: string) => void {
  const books = newBooks();
  return (line) => {
    const result = books.applyText(line);
    if (result.kind !== "applied") {
      throw new Error(
        `Book bench frame not applied: ${JSON.stringify(result)}`,
      );
    }
  };
}

// Results are folded into a module variable so no call can be optimised away.
let sink = 0;

Deno.bench({
  name: "JSON.parse (bare) ×1000 msgs",
  group: "book stream",
  baseline: true,
  fn: cycle(flat, (line) => {
    sink ^= (JSON.parse(line) as { data: unknown[] }).data.length;
  }),
});

Deno.bench({
  name: "BookSet.applyText (scan+apply+CRC) ×1000 msgs",
  group: "book stream",
  fn: cycle(flat, applyAll()),
});

const scanner = new BookFrameScanner();
Deno.bench({
  name: "BookFrameScanner.scan only ×1000 msgs",
  group: "book stream",
  fn: cycle(flat, (line) => {
    sink ^= scanner.scan(line);
  }),
});

Deno.bench({
  name: "JSON.parse + source reviver ×1000 msgs",
  group: "book stream",
  fn: cycle(flat, (line) => {
    const parsed = JSON.parse(
      line,
      // deno-lint-ignore no-explicit-any -- TS lib lacks the context argument
      ((_key: string, value: unknown, context: any) =>
        typeof value === "number" ? context.source : value) as (
          key: string,
          value: unknown,
        ) => unknown,
    ) as { data: unknown[] };
    sink ^= parsed.data.length;
  }),
});

Deno.bench({
  name: "JSON.parse (bare), slices ×1000 msgs",
  group: "book stream (split slices)",
  baseline: true,
  fn: cycle(sliced, (line) => {
    sink ^= (JSON.parse(line) as { data: unknown[] }).data.length;
  }),
});

Deno.bench({
  name: "BookSet.applyText, slices ×1000 msgs",
  group: "book stream (split slices)",
  fn: cycle(sliced, applyAll()),
});
