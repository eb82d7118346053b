/**
 * `deno task sim`: run the simulator standalone until SIGINT/SIGTERM.
 *
 * Prints the REST and WebSocket URLs, the seed and the simulator-only
 * credentials (they open nothing but this local simulator).
 *
 * @module
 */

import { MAX_SYNTHETIC_PAIRS } from "./exchange/pairs.ts";
import { SIM_TIERS, type SimTier } from "./exchange/rate_limits.ts";
import { startSimulator, webSocketPlugin } from "./server.ts";

/** Default port of the standalone simulator. */
export const DEFAULT_SIM_PORT = 8791;

/** Parsed command line. */
export type SimArgs =
  | { kind: "help" }
  | { kind: "error"; message: string }
  | {
    kind: "run";
    hostname: string;
    port: number;
    seed: number;
    apiKey?: string;
    apiSecret?: string;
    tier: SimTier;
    control: boolean;
    historyDays?: number;
    syntheticPairs?: number;
  };

/** Usage text of `sim`. */
export const SIM_USAGE = `Usage: krakked sim [options]

Run the offline Kraken-compatible simulator (simulated market data and account).

Options:
  --port N            Port to listen on (default ${DEFAULT_SIM_PORT}; 0 = any free port)
  --host H            Interface to bind (default 127.0.0.1)
  --seed S            Seed of the simulated market and account (default 1)
  --api-key K         API key to accept (default: derived from the seed)
  --api-secret B64    Base64 API secret to accept (default: derived from the seed)
  --tier T            REST rate-limit tier: starter, intermediate or pro (default starter)
  --history-days N    Days of market history to serve (default 40)
  --synthetic-pairs N Add N synthetic USD pairs SYN001USD… (0 to 999, default 0) for load tests
  --no-control        Disable the /_sim/ fault-injection routes
  -h, --help          Show this help
`;

/**
 * Parse `sim` arguments. Pure.
 *
 * @param args Arguments after `sim`.
 * @returns What to do.
 * @example Parse
 * ```ts
 * import { parseSimArgs } from "./main.ts";
 * parseSimArgs(["--port", "0", "--seed", "7"]); // { kind: "run", port: 0, seed: 7, … }
 * parseSimArgs(["--help"]); // { kind: "help" }
 * ```
 */
export function parseSimArgs(args: readonly string[]): SimArgs {
  let hostname = "127.0.0.1";
  let port = DEFAULT_SIM_PORT;
  let seed = 1;
  let tier: SimTier = "starter";
  let control = true;
  let apiKey: string | undefined;
  let apiSecret: string | undefined;
  let historyDays: number | undefined;
  let syntheticPairs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0
      ? arg.slice(eq + 1)
      : undefined;
    const value = (): string | undefined => inline ?? args[++i];
    const integer = (
      text: string | undefined,
      min: number,
      max: number,
    ): number | undefined => {
      if (text === undefined || !/^\d+$/.test(text)) return undefined;
      const n = Number(text);
      return n >= min && n <= max ? n : undefined;
    };
    switch (name) {
      case "-h":
      case "--help":
        return { kind: "help" };
      case "--port": {
        const n = integer(value(), 0, 65535);
        if (n === undefined) {
          return {
            kind: "error",
            message: "--port needs a number from 0 to 65535",
          };
        }
        port = n;
        break;
      }
      case "--host": {
        const v = value();
        if (!v) return { kind: "error", message: "--host needs an address" };
        hostname = v;
        break;
      }
      case "--seed": {
        const n = integer(value(), 0, 2 ** 31 - 1);
        if (n === undefined) {
          return {
            kind: "error",
            message: "--seed needs a non-negative integer",
          };
        }
        seed = n;
        break;
      }
      case "--api-key": {
        const v = value();
        if (!v) return { kind: "error", message: "--api-key needs a value" };
        apiKey = v;
        break;
      }
      case "--api-secret": {
        const v = value();
        if (!v) {
          return {
            kind: "error",
            message: "--api-secret needs a base64 value",
          };
        }
        apiSecret = v;
        break;
      }
      case "--tier": {
        const v = value();
        const known = SIM_TIERS.find((t) => t === v);
        if (known === undefined) {
          return {
            kind: "error",
            message: "--tier must be starter, intermediate or pro",
          };
        }
        tier = known;
        break;
      }
      case "--history-days": {
        const n = integer(value(), 1, 3650);
        if (n === undefined) {
          return {
            kind: "error",
            message: "--history-days needs a number from 1 to 3650",
          };
        }
        historyDays = n;
        break;
      }
      case "--synthetic-pairs": {
        const n = integer(value(), 0, MAX_SYNTHETIC_PAIRS);
        if (n === undefined) {
          return {
            kind: "error",
            message:
              `--synthetic-pairs needs a number from 0 to ${MAX_SYNTHETIC_PAIRS}`,
          };
        }
        syntheticPairs = n;
        break;
      }
      case "--no-control":
        control = false;
        break;
      default:
        return { kind: "error", message: `Unknown option: ${name}` };
    }
  }
  return {
    kind: "run",
    hostname,
    port,
    seed,
    tier,
    control,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(apiSecret !== undefined ? { apiSecret } : {}),
    ...(historyDays !== undefined ? { historyDays } : {}),
    ...(syntheticPairs !== undefined ? { syntheticPairs } : {}),
  };
}

/** I/O of {@linkcode simMain}, injectable for tests. */
export interface SimMainIo {
  /** Write one line to stdout (default: `Deno.stdout`). */
  stdout?: (line: string) => void;
  /** Write one line to stderr (default: `Deno.stderr`). */
  stderr?: (line: string) => void;
  /** Stop the simulator when aborted (in addition to SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

function writer(
  stream: { writeSync(p: Uint8Array): number },
): (line: string) => void {
  const encoder = new TextEncoder();
  return (line) => {
    const bytes = encoder.encode(line + "\n");
    let written = 0;
    while (written < bytes.length) {
      written += stream.writeSync(bytes.subarray(written));
    }
  };
}

/**
 * Run `sim`: parse flags, start the simulator, print where it listens and
 * the credentials, wait for SIGINT/SIGTERM (or `io.signal`), shut down.
 *
 * @param args Arguments after `sim`.
 * @param io Output and stop signal (defaults: real stdout/stderr, signals only).
 * @returns The exit code (0 ok, 2 bad arguments, 1 start failure).
 * @example Run until aborted
 * ```ts ignore
 * const stop = new AbortController();
 * const done = simMain(["--port", "0"], { signal: stop.signal });
 * stop.abort();
 * await done; // 0
 * ```
 */
export async function simMain(
  args: readonly string[],
  io: SimMainIo = {},
): Promise<number> {
  const out = io.stdout ?? writer(Deno.stdout);
  const err = io.stderr ?? writer(Deno.stderr);
  const parsed = parseSimArgs(args);
  switch (parsed.kind) {
    case "help":
      out(SIM_USAGE);
      return 0;
    case "error":
      err(`sim: ${parsed.message}`);
      err("Run with --help for usage.");
      return 2;
    case "run":
      break;
    default: {
      const never: never = parsed;
      throw new TypeError(`Unhandled arguments: ${String(never)}`);
    }
  }
  let sim;
  try {
    sim = await startSimulator({
      websocket: webSocketPlugin(),
      hostname: parsed.hostname,
      port: parsed.port,
      seed: parsed.seed,
      tier: parsed.tier,
      control: parsed.control,
      ...(parsed.apiKey !== undefined ? { apiKey: parsed.apiKey } : {}),
      ...(parsed.apiSecret !== undefined
        ? { apiSecret: parsed.apiSecret }
        : {}),
      ...(parsed.historyDays !== undefined
        ? { historyDays: parsed.historyDays }
        : {}),
      ...(parsed.syntheticPairs !== undefined
        ? { syntheticPairs: parsed.syntheticPairs }
        : {}),
    });
  } catch (error) {
    err(
      `sim: cannot start: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return 1;
  }
  out("Krakked Kraken simulator — offline, simulated market and account");
  out(`REST:        ${sim.url}`);
  out(`WS public:   ${sim.wsPublicUrl}`);
  out(`WS auth:     ${sim.wsAuthUrl}`);
  out(`Seed:        ${sim.seed}`);
  out(`Tier:        ${parsed.tier}`);
  if (sim.market.catalogue.syntheticPairs > 0) {
    out(
      `Pairs:       ${sim.market.pairs.length} (${sim.market.catalogue.syntheticPairs} synthetic)`,
    );
  }
  // Simulator-only credentials: printing them is the point of this command.
  out(`API key:     ${sim.credentials.apiKey}`);
  out(`API secret:  ${sim.credentials.apiSecret.reveal()}`);
  if (parsed.control) {
    out(`Control:     ${sim.url}/_sim/faults (loopback only)`);
  }
  out("Press Ctrl+C to stop.");

  await new Promise<void>((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const added: Deno.Signal[] = [];
    const stop = () => {
      for (const s of added) Deno.removeSignalListener(s, stop);
      io.signal?.removeEventListener("abort", stop);
      resolve();
    };
    for (const s of signals) {
      try {
        Deno.addSignalListener(s, stop);
        added.push(s);
      } catch {
        // SIGTERM is not available on Windows.
      }
    }
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener("abort", stop, { once: true });
  });
  await sim.close();
  out("Simulator stopped.");
  return 0;
}

if (import.meta.main) {
  Deno.exit(await simMain(Deno.args));
}
