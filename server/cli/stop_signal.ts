/**
 * Wait for Ctrl+C: the long-running commands (`serve`, `sim`) run until
 * SIGINT or SIGTERM (SIGTERM does not exist on Windows), or until an abort
 * signal a test passes in.
 *
 * @module
 */

/**
 * Resolve on the first SIGINT or SIGTERM, or when `signal` aborts; remove
 * the listeners again either way.
 *
 * @param signal Also stop when this aborts.
 * @returns A promise that resolves once.
 * @example Run until Ctrl+C
 * ```ts ignore
 * import { untilStopped } from "./stop_signal.ts";
 * await untilStopped();
 * ```
 */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const added: Deno.Signal[] = [];
    const stop = () => {
      for (const s of added) Deno.removeSignalListener(s, stop);
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    for (const s of ["SIGINT", "SIGTERM"] as const) {
      if (s === "SIGTERM" && Deno.build.os === "windows") continue;
      Deno.addSignalListener(s, stop);
      added.push(s);
    }
    if (signal?.aborted) stop();
    else signal?.addEventListener("abort", stop, { once: true });
  });
}
