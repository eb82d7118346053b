/**
 * Terminal prompts, including hidden input for secrets and passwords.
 *
 * @module
 */

import { Secret } from "@krakked/core/secrets/secret";

const encoder = new TextEncoder();

/**
 * Whether standard input is an interactive terminal.
 *
 * @returns `true` on a TTY.
 * @example Check
 * ```ts
 * import { isInteractive } from "./prompt.ts";
 * if (!isInteractive()) console.error("no TTY");
 * ```
 */
export function isInteractive(): boolean {
  return Deno.stdin.isTerminal();
}

/**
 * Ask for a secret without echoing it (raw mode; Backspace edits, Ctrl-C
 * aborts). Returns `undefined` when standard input is not a terminal.
 *
 * @param message The prompt text (written to stderr).
 * @returns The typed value wrapped in a {@linkcode Secret}, or `undefined`.
 * @example Ask for the master password
 * ```ts
 * import { promptSecret } from "./prompt.ts";
 * const password = await promptSecret("Master password: ");
 * ```
 */
export async function promptSecret(
  message: string,
): Promise<Secret | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  Deno.stderr.writeSync(encoder.encode(message));
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  const buf = new Uint8Array(64);
  const decoder = new TextDecoder();
  try {
    loop: while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      for (const ch of decoder.decode(buf.subarray(0, n), { stream: true })) {
        if (ch === "\r" || ch === "\n") break loop;
        if (ch === "\u0003") {
          throw new Deno.errors.Interrupted("Prompt cancelled");
        }
        if (ch === "\u007f" || ch === "\b") chars.pop();
        else if (ch === "\u0004") break loop;
        else if (ch >= " ") chars.push(ch);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    buf.fill(0);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  const value = chars.join("");
  chars.length = 0;
  return new Secret(value);
}

/**
 * Ask for a visible line of text. Returns `undefined` without a TTY.
 *
 * @param message The prompt text.
 * @returns The trimmed answer or `undefined`.
 * @example Ask
 * ```ts
 * import { promptLine } from "./prompt.ts";
 * const key = await promptLine("API key: ");
 * ```
 */
export function promptLine(message: string): string | undefined {
  if (!Deno.stdin.isTerminal()) return undefined;
  const answer = prompt(message);
  return answer === null ? undefined : answer.trim();
}
