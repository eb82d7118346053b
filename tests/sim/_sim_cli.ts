/**
 * `krakked sim …` run in-process by the CLI harness until disposed: waits
 * for the banner's REST URL, keeps the output, and on dispose stops the
 * command (as Ctrl+C does) and expects a clean exit.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CliHarness } from "../server/cli/_harness.ts";

/** A running `krakked sim`. */
export interface RunningSim extends AsyncDisposable {
  /** The REST URL from its banner. */
  readonly url: string;
  /** Everything it printed on stdout so far. */
  output(): string;
}

/**
 * Start `krakked sim` with arguments, and wait for its REST URL.
 *
 * @param h The harness.
 * @param args Arguments after `sim`.
 * @returns The running simulator.
 */
export async function startSimCli(
  h: CliHarness,
  args: readonly string[],
): Promise<RunningSim> {
  const stop = new AbortController();
  let out = "";
  const run = h.run(["sim", ...args], {
    io: { stdout: (t) => (out += t), stop: stop.signal },
  });
  const dispose = async () => {
    stop.abort();
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
  };
  let url: string | undefined;
  for (let i = 0; i < 200 && url === undefined; i++) {
    url = /REST:\s+(\S+)/.exec(out)?.[1];
    if (url === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  if (url === undefined) {
    await dispose();
    assert.fail(`no REST URL in: ${out}`);
  }
  return {
    url,
    output: () => out,
    [Symbol.asyncDispose]: dispose,
  };
}
