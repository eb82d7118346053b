/**
 * A config directory pointing every endpoint at a running simulator, for
 * tests and scripts that start `krakked` as a process (`KRAKKED_CONFIG_DIR`).
 */
import { join } from "node:path";
import { startSimulatorWithWs } from "@krakked/sim";

/** The simulator's endpoints (what `startSimulatorWithWs` returns). */
export interface SimEndpoints {
  url: string;
  wsPublicUrl: string;
}

/**
 * Write `config.yaml` into `dir`: REST and both WebSockets at the simulator.
 *
 * @param dir The config directory.
 * @param sim The running simulator.
 */
export async function writeSimConfig(
  dir: string,
  sim: SimEndpoints,
): Promise<void> {
  await Deno.writeTextFile(
    join(dir, "config.yaml"),
    [
      "connection:",
      `  rest_url: ${sim.url}`,
      `  ws_public_url: ${sim.wsPublicUrl}`,
      `  ws_auth_url: ${sim.wsPublicUrl}`,
      "",
    ].join("\n"),
  );
}

/** `server/main.ts`, the program `deno task krakked` runs. */
export const MAIN_TS = new URL("../../../server/main.ts", import.meta.url)
  .pathname;

/**
 * The permission flags of the `krakked` task in deno.json, read from it, so
 * a process test runs with what users run, not `-A`.
 */
export function krakkedTaskFlags(): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, { command: string }> };
  return config.tasks.krakked!.command.split(/\s+/)
    .filter((word) => word.startsWith("--allow-"));
}

/**
 * A simulator at `--activity busy` and a config dir pointing at it, for a
 * recorder started as a process.
 *
 * @param prefix The temp dir's prefix.
 * @param seed The simulator's seed.
 */
export async function recorderSim(prefix: string, seed: number): Promise<
  AsyncDisposable & {
    dir: string;
    store: string;
    env: Record<string, string>;
  }
> {
  const dir = await Deno.makeTempDir({ prefix });
  const sim = await startSimulatorWithWs({ port: 0, seed, activity: "busy" });
  await writeSimConfig(dir, sim);
  return {
    dir,
    store: join(dir, "rec.duckdb"),
    env: { KRAKKED_CONFIG_DIR: dir, NO_COLOR: "1" },
    async [Symbol.asyncDispose]() {
      await sim[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * `krakked record <args>` as its own process, with the task's permissions
 * (stdout dropped, stderr piped).
 */
export function spawnRecorder(
  args: readonly string[],
  env: Record<string, string>,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...krakkedTaskFlags(), MAIN_TS, "record", ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}
