/**
 * A config directory pointing every endpoint at a running simulator, for
 * tests and scripts that start `krakked` as a process (`KRAKKED_CONFIG_DIR`).
 */
import { join } from "node:path";

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
