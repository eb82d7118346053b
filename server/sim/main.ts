/**
 * `deno task sim`: run the simulator standalone until SIGINT/SIGTERM.
 *
 * Prints the REST and WebSocket URLs, the seed and the simulator-only
 * credentials (they open nothing but this local simulator).
 *
 * @module
 */

import type { SimTier } from "./exchange/rate_limits.ts";
import type { SimActivity } from "./exchange/market.ts";
import { startSimulator, webSocketPlugin } from "./server.ts";
import type { ReplayOptions } from "./exchange/replay.ts";

/** Default port of the standalone simulator. */
export const DEFAULT_SIM_PORT = 8791;

/** What to run; what is absent takes the simulator's default. */
export interface SimRunOptions {
  /** Interface to bind (default 127.0.0.1). */
  hostname?: string;
  /** Port (default {@linkcode DEFAULT_SIM_PORT}; 0 = any free port). */
  port?: number;
  /** Seed of the simulated market and account (default 1). */
  seed?: number;
  /** REST and trading rate-limit tier (default starter). */
  tier?: SimTier;
  /** API key to accept (default: derived from the seed). */
  apiKey?: string;
  /** Base64 API secret to accept (default: derived from the seed). */
  apiSecret?: string;
  /** Days of market history to serve (default 40). */
  historyDays?: number;
  /** Synthetic USD pairs to add (default 0). */
  syntheticPairs?: number;
  /** Market activity (default `normal`). */
  activity?: SimActivity;
  /** `/_sim/` fault-injection routes (default true). */
  control?: boolean;
  /** Replay recorded trades for the pairs they cover (`--replay`). */
  replay?: ReplayOptions;
}

/** I/O of {@linkcode runSimulator}, injectable for tests. */
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
 * Run the standalone simulator: start it, print where it listens and the
 * credentials, wait for SIGINT/SIGTERM (or `io.signal`), shut down. Flags
 * are read by the CLI (`krakked sim`); this takes typed options.
 *
 * @param options What to run.
 * @param io Output and stop signal (defaults: real stdout/stderr, signals only).
 * @returns The exit code (0 ok, 1 start failure).
 * @example Run until aborted
 * ```ts ignore
 * const stop = new AbortController();
 * const done = runSimulator({ port: 0 }, { signal: stop.signal });
 * stop.abort();
 * await done; // 0
 * ```
 */
export async function runSimulator(
  options: SimRunOptions = {},
  io: SimMainIo = {},
): Promise<number> {
  const out = io.stdout ?? writer(Deno.stdout);
  const err = io.stderr ?? writer(Deno.stderr);
  const tier = options.tier ?? "starter";
  const control = options.control ?? true;
  let sim;
  try {
    sim = await startSimulator({
      websocket: webSocketPlugin(),
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? DEFAULT_SIM_PORT,
      seed: options.seed ?? 1,
      tier,
      control,
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      ...(options.apiSecret !== undefined
        ? { apiSecret: options.apiSecret }
        : {}),
      ...(options.historyDays !== undefined
        ? { historyDays: options.historyDays }
        : {}),
      ...(options.syntheticPairs !== undefined
        ? { syntheticPairs: options.syntheticPairs }
        : {}),
      ...(options.activity !== undefined ? { activity: options.activity } : {}),
      ...(options.replay !== undefined ? { replay: options.replay } : {}),
      // A client of the standalone simulator meets Kraken's public throttle.
      publicThrottle: true,
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
  out(`Tier:        ${tier}`);
  out(`Activity:    ${sim.market.activity}`);
  if (options.replay) {
    // The market's own counts: the sources may have dropped their data.
    const placed = sim.market.replayedTrades;
    const trades = [...placed.values()].reduce((n, c) => n + c, 0);
    out(
      `Replay:      ${trades} recorded trades of ${placed.size} pairs at ${
        options.replay.speed ?? 1
      }× (${[...placed.keys()].join(", ")}); other pairs follow the model`,
    );
    for (const [symbol, c] of sim.market.replayedBooks) {
      const dropped = c.mismatched + c.skipped + c.malformed;
      out(
        `Book:        ${symbol}: ${c.verified} of ${c.frames} recorded frames verified${
          dropped === 0
            ? ""
            : ` (${c.mismatched} failed their checksum, ${c.skipped} had no verified book under them, ${c.malformed} malformed: dropped)`
        }`,
      );
    }
  }
  if (sim.market.catalogue.syntheticPairs > 0) {
    out(
      `Pairs:       ${sim.market.pairs.length} (${sim.market.catalogue.syntheticPairs} synthetic)`,
    );
  }
  // Simulator-only credentials: printing them is the point of this command.
  out(`API key:     ${sim.credentials.apiKey}`);
  out(`API secret:  ${sim.credentials.apiSecret.reveal()}`);
  if (control) {
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
