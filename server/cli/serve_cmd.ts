/**
 * `krakked serve`: its flags and help, and running the server until Ctrl+C.
 * The server itself is `startServe` (../serve.ts); this file only reads the
 * command line and keeps the process alive.
 *
 * @module
 */

import { systemClock } from "@krakked/core/clock";
import { LineBuffer } from "@krakked/core/log";
// The constant only: importing "@krakked/sim" would load the whole simulator
// into every server, live ones included.
import { MAX_SYNTHETIC_PAIRS } from "../sim/exchange/pairs.ts";
import {
  integerFlag,
  isUsageError,
  type Parsed,
  parseFlags,
  usageError,
} from "./args.ts";
import type { ServeSettings } from "../serve.ts";
import type { Command } from "./command.ts";
import { type CliIo, writeLine } from "./io.ts";
import { untilStopped } from "./stop_signal.ts";

/** Parsed `serve` flags: the server's settings, tagged for the command table. */
export interface ServeFlags extends ServeSettings {
  /** Discriminator: the command. */
  kind: "serve";
}

/** What {@linkcode parseServeArgs} returns. */
export type ServeArgs = Parsed<ServeFlags>;

/** Help text of `krakked serve`. */
export const SERVE_HELP =
  `Usage: krakked serve [--sim [--seed S] [--sim-pairs N] [--sim-port N]] [--port N] [--host H --token T] [--log-file PATH]

Runs the local server and market-watch page on http://127.0.0.1:8787.

  --sim         run fully offline against the built-in Kraken simulator (the page says SIMULATED)
  --seed S      simulator seed (with --sim; default 1)
  --sim-pairs N add N synthetic USD markets SYN001/USD… to the simulator (with --sim; 0 to ${MAX_SYNTHETIC_PAIRS})
  --sim-port N  the simulator's port on 127.0.0.1 (with --sim; default: any free port)
  --port N      port (default: server.port in config.yaml, 8787; 0 takes any free one)
  --host H      bind address (default 127.0.0.1); a non-loopback host needs --token
  --token T     access token required on every request (for non-loopback binds)
  --live        second switch for live orders (also KRAKKED_LIVE=1)
  --log-file PATH  also append the JSON log lines to PATH (rotated to PATH.1 at
                10 MiB); 'krakked logs --order ID --log-file PATH' reads it
  --help        this text`;

/** The shortest `--token` accepted. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Parse `serve` flags. Pure.
 *
 * @param args Arguments after `serve`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseServeArgs } from "./serve_cmd.ts";
 * parseServeArgs(["--sim", "--port", "9000"]);
 * // { kind: "serve", host: undefined, port: 9000, token: undefined, sim: true, seed: undefined, live: false }
 * ```
 */
export function parseServeArgs(args: readonly string[]): ServeArgs {
  const parsed = parseFlags(args, {
    booleans: ["sim", "live"],
    values: [
      "host",
      "token",
      "port",
      "seed",
      "sim-pairs",
      "sim-port",
      "log-file",
    ],
  });
  if (parsed.kind !== "flags") return parsed;
  const port = integerFlag(parsed, "port", { min: 0, max: 65_535 });
  if (isUsageError(port)) return port;
  const seed = integerFlag(parsed, "seed", {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  });
  if (isUsageError(seed)) return seed;
  const simPairs = integerFlag(parsed, "sim-pairs", {
    min: 0,
    max: MAX_SYNTHETIC_PAIRS,
  });
  if (isUsageError(simPairs)) return simPairs;
  const simPort = integerFlag(parsed, "sim-port", { min: 0, max: 65_535 });
  if (isUsageError(simPort)) return simPort;
  const token = parsed.values.get("token");
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    return usageError(
      `--token needs a value of at least ${MIN_TOKEN_LENGTH} characters`,
    );
  }
  const sim = parsed.booleans.has("sim");
  if (simPairs !== undefined && !sim) {
    return usageError("--sim-pairs only works with --sim");
  }
  if (simPort !== undefined && !sim) {
    return usageError("--sim-port only works with --sim");
  }
  return {
    kind: "serve",
    host: parsed.values.get("host"),
    port,
    token,
    sim,
    seed,
    live: parsed.booleans.has("live"),
    ...(simPairs === undefined ? {} : { simPairs }),
    ...(simPort === undefined ? {} : { simPort }),
    ...(parsed.values.has("log-file")
      ? { logFile: parsed.values.get("log-file")! }
      : {}),
  };
}

/**
 * Run `krakked serve` until SIGINT/SIGTERM.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O: notes and the server log go to stderr.
 * @returns 0 after a clean stop.
 * @throws {Error} When the server cannot start (a non-loopback host without
 *   a token, an unreadable config, a port in use).
 * @example Serve
 * ```ts ignore
 * import { runServe } from "./serve_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runServe(parseServeArgs(["--sim"]) as ServeFlags, denoIo());
 * ```
 */
export async function runServe(
  flags: ServeFlags,
  io: CliIo,
): Promise<number> {
  // Loaded on demand: the other commands never pay for the HTTP stack.
  const { startServe } = await import("../serve.ts");
  const say = (line: string) => writeLine(io.stderr, line);
  // The request log is batched: one stderr write per 10 ms at most, not
  // one blocking write per request.
  const log = new LineBuffer({
    write: io.stderr,
    setTimer: systemClock.setTimer,
    delayMs: 10,
  });
  const running = await startServe(flags, { say, logSink: log.push })
    .finally(() => log.flush());
  say(
    `Krakked ${
      running.mode === "sim"
        ? `SIMULATED (offline simulator at ${running.simUrl})`
        : "LIVE"
    } — open ${running.url}`,
  );
  try {
    await untilStopped();
  } finally {
    await running.close();
    await log.flush();
  }
  return 0;
}

/** `krakked serve`, for the command table. */
export const serveCommand: Command<ServeFlags> = {
  name: "serve",
  summary:
    "Run the local server and market-watch page (add --sim for the offline simulator)",
  help: SERVE_HELP,
  parse: parseServeArgs,
  run: runServe,
};
