/**
 * Test harness for the CLI: a temp config directory whose config.yaml points
 * `connection.rest_url` at a simulator (or any URL), and `main` run in the
 * process with captured stdout/stderr and an injected environment.
 *
 * @module
 */

import { join } from "node:path";
import { main } from "../../../server/main.ts";
import type { CliIo } from "../../../server/cli/io.ts";
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
  startSimulatorWithWs,
} from "@krakked/sim";
import type { Secret } from "../../../core/secrets/secret.ts";

/** The outcome of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Per-run overrides. */
export interface RunOptions {
  /** Extra environment (merged over the harness's). */
  env?: Record<string, string | undefined>;
  /** I/O overrides (prompts, TTY flags). */
  io?: Partial<CliIo>;
}

/**
 * A simulated market clock: a fixed instant a few minutes after an hour
 * boundary that advances in real time, so candle boundaries are not crossed
 * during a test and the simulator's rate-limit counters still decay.
 */
export function marketClock(
  startMs = Date.UTC(2025, 5, 15, 12, 5, 0),
): () => number {
  const t0 = Date.now();
  return () => startMs + (Date.now() - t0);
}

/** A temp config directory, optionally with a simulator, and a CLI runner. */
export class CliHarness implements AsyncDisposable {
  readonly dir: string;
  readonly sim: Simulator | undefined;
  readonly restUrl: string;
  readonly now: () => number;
  readonly env: Record<string, string | undefined>;

  private constructor(
    dir: string,
    sim: Simulator | undefined,
    restUrl: string,
    now: () => number,
  ) {
    this.dir = dir;
    this.sim = sim;
    this.restUrl = restUrl;
    this.now = now;
    this.env = { KRAKKED_CONFIG_DIR: dir, HOME: dir };
  }

  /**
   * Start a simulator (unless `restUrl` is given) and write config.yaml.
   *
   * @param options Simulator options, or a REST URL to use instead, and extra config.
   * @returns The harness; `await using` removes everything.
   */
  static async start(
    options: {
      sim?: SimulatorOptions;
      restUrl?: string;
      extraConfig?: string;
      /** Start the simulator's WebSocket v2 side too (for `--watch`). */
      ws?: boolean;
    } = {},
  ): Promise<CliHarness> {
    const dir = await Deno.makeTempDir({ prefix: "krakked_cli_" });
    const now = marketClock();
    let sim: Simulator | undefined;
    let restUrl = options.restUrl;
    if (restUrl === undefined) {
      sim = options.ws
        ? await startSimulatorWithWs({ now, ...options.sim })
        : await startSimulator({ now, ...options.sim });
      restUrl = sim.url;
    }
    // The public WebSocket too, so --watch streams from the simulator.
    const ws = sim === undefined || !options.ws
      ? ""
      : `  ws_public_url: ${sim.wsPublicUrl}\n  ws_auth_url: ${sim.wsAuthUrl}\n`;
    await Deno.writeTextFile(
      join(dir, "config.yaml"),
      `connection:\n  rest_url: ${restUrl}\n  timeout_ms: 5000\n${ws}${
        options.extraConfig ?? ""
      }`,
    );
    return new CliHarness(dir, sim, restUrl, now);
  }

  /** Environment with the simulator's own key and secret. */
  get simCredentialsEnv(): {
    KRAKEN_API_KEY: string;
    KRAKEN_API_SECRET: string;
  } {
    if (!this.sim) throw new Error("No simulator");
    return {
      KRAKEN_API_KEY: this.sim.credentials.apiKey,
      KRAKEN_API_SECRET: this.sim.credentials.apiSecret.reveal(),
    };
  }

  /**
   * Run the CLI in the process.
   *
   * @param argv Arguments after the program name.
   * @param options Extra environment and I/O overrides.
   * @returns Exit code and captured output.
   */
  async run(
    argv: readonly string[],
    options: RunOptions = {},
  ): Promise<CliRun> {
    let stdout = "";
    let stderr = "";
    const env = { ...this.env, ...options.env };
    const code = await main(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: (name) => env[name],
      interactive: false,
      stdoutIsTerminal: false,
      stderrIsTerminal: false,
      promptLine: () => undefined,
      promptSecret: () => Promise.resolve<Secret | undefined>(undefined),
      now: this.now,
      os: "linux",
      // One attempt: an unreachable server fails at once instead of after backoff.
      retry: { maxAttempts: 1 },
      ...options.io,
    });
    return { code, stdout, stderr };
  }

  /** Stop the simulator and remove the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.sim?.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * A loopback URL where nothing listens (a port bound, then released).
 *
 * @returns `http://127.0.0.1:<port>`.
 */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/**
 * Assert-friendly check that no text holds any of the secret values.
 *
 * @param texts Output to scan.
 * @param secrets Values that must not appear.
 * @returns The secrets found (empty when clean).
 */
export function leakedSecrets(
  texts: readonly string[],
  secrets: readonly string[],
): string[] {
  return secrets.filter((s) => texts.some((t) => t.includes(s)));
}

/** `trading.*` for paper mode (append to config.yaml with `extraConfig`). */
export const PAPER_CONFIG = "trading:\n  mode: paper\n";

/** `trading.*` for live mode with live orders enabled (`--live` still needed). */
export const LIVE_CONFIG =
  "trading:\n  mode: live\n  enable_live_orders: true\n";

/**
 * Best bid and ask straight from the simulator's public `Depth`.
 *
 * @param restUrl The simulator's REST URL.
 * @param pair Any spelling Kraken's REST accepts.
 * @returns The best ask and bid.
 */
export async function simQuote(
  restUrl: string,
  pair = "XBTUSD",
): Promise<{ ask: number; bid: number }> {
  const res = await fetch(`${restUrl}/0/public/Depth?pair=${pair}&count=1`);
  const book = Object.values((await res.json()).result)[0] as {
    asks: [string][];
    bids: [string][];
  };
  return { ask: Number(book.asks[0]![0]), bid: Number(book.bids[0]![0]) };
}

/**
 * Wait until the simulator's REST counter of a key has room for `points`
 * more calls. Every CLI run is a new process whose client starts with an
 * empty rate-limit model while the exchange's counter still holds the
 * previous runs' calls, so tests that chain many private commands wait
 * here instead of failing with `EAPI:Rate limit exceeded`.
 *
 * @param h The harness (with a simulator).
 * @param points Counter points needed (a live close costs about 11).
 * @param keyId The simulator key (default the main key).
 */
export async function restBudget(
  h: CliHarness,
  points: number,
  keyId = "key-1",
): Promise<void> {
  for (;;) {
    const counter = h.sim!.keys.counter(keyId)!;
    const free = counter.max - counter.level;
    if (free >= points) return;
    const waitMs = Math.ceil(((points - free) / counter.decayPerSec) * 1000);
    await new Promise((resolve) => setTimeout(resolve, waitMs + 20));
  }
}
