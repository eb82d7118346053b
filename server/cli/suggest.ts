/**
 * "Did you mean …?" for a mistyped command name.
 *
 * @module
 */

/**
 * The optimal-string-alignment distance of two words: insertions,
 * deletions, substitutions and swaps of two neighbours each cost 1, so
 * `balnace` is 1 away from `balance`.
 *
 * @param a One word.
 * @param b The other.
 * @returns The number of edits.
 * @example Distance
 * ```ts
 * import { typoDistance } from "./suggest.ts";
 * typoDistance("balnace", "balance"); // 1
 * ```
 */
export function typoDistance(a: string, b: string): number {
  // rows[i][j]: distance between a[0, i) and b[0, j).
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const same = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        rows[i - 1]![j]! + 1,
        row[j - 1]! + 1,
        rows[i - 1]![j - 1]! + same,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known name closest to a mistyped one, when it is close enough to be
 * a typo: at most 2 edits, and fewer than half the word's letters. A word
 * that starts a known name (`bal` → `balance`) also counts.
 *
 * @param word What was typed.
 * @param names The known names.
 * @returns The suggestion, or `undefined`.
 * @example Suggest
 * ```ts
 * import { closestName } from "./suggest.ts";
 * closestName("tikcer", ["ticker", "balance"]); // "ticker"
 * closestName("frob", ["ticker", "balance"]); // undefined
 * ```
 */
export function closestName(
  word: string,
  names: readonly string[],
): string | undefined {
  const typed = word.toLowerCase();
  const prefixed = names.filter((n) =>
    typed.length >= 3 && n.startsWith(typed)
  );
  if (prefixed.length === 1) return prefixed[0];
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = typoDistance(typed, name);
    if (best === undefined || distance < best.distance) {
      best = { name, distance };
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(2, Math.ceil(typed.length / 2) - 1);
  return best.distance <= limit ? best.name : undefined;
}
