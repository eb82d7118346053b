/**
 * A throwaway three-node NATS JetStream cluster on loopback, for the
 * failover test: each `nats-server` gets its own client port, cluster
 * (route) port and store directory, a config file naming it (`n1`…`n3`,
 * JetStream clustering needs server names) and routes to the other two.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, waitForPort } from "./_nats.ts";

interface Node {
  name: string;
  port: number;
  proc: Deno.ChildProcess;
  alive: boolean;
}

export class NatsCluster implements AsyncDisposable {
  #nodes: Node[];
  #dir: string;

  private constructor(nodes: Node[], dir: string) {
    this.#nodes = nodes;
    this.#dir = dir;
  }

  /** Every node's client URL, comma-separated (what `TradeLog.connect` takes). */
  get url(): string {
    return this.#nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(",");
  }

  /**
   * One node's client URL.
   *
   * @param name Node name (`n1`…).
   */
  urlOf(name: string): string {
    const node = this.#nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return `nats://127.0.0.1:${node.port}`;
  }

  /**
   * The last lines of every node's log (for a failure message).
   *
   * @param lines Lines per node.
   */
  async logTail(lines = 25): Promise<string> {
    const out: string[] = [];
    for (const n of this.#nodes) {
      let text = "";
      try {
        text = await Deno.readTextFile(`${this.#dir}/${n.name}.log`);
      } catch {
        text = "(no log)";
      }
      out.push(
        `--- ${n.name}${n.alive ? "" : " (killed)"}`,
        ...text.trimEnd().split("\n").slice(-lines),
      );
    }
    return out.join("\n");
  }

  /** Names of the nodes still running. */
  get alive(): string[] {
    return this.#nodes.filter((n) => n.alive).map((n) => n.name);
  }

  /**
   * Start three nodes and wait until JetStream has a meta leader that knows
   * all three peers (so an R3 stream can be placed).
   */
  static async start(size = 3): Promise<NatsCluster> {
    const dir = await Deno.makeTempDir({ prefix: "krakked_nats_cluster_" });
    const ports = Array.from({ length: size }, () => ({
      client: freePort(),
      route: freePort(),
    }));
    const nodes: Node[] = [];
    const cluster = new NatsCluster(nodes, dir);
    try {
      for (let i = 0; i < size; i++) {
        const name = `n${i + 1}`;
        const store = `${dir}/${name}`;
        await Deno.mkdir(store);
        const routes = ports.filter((_, j) => j !== i)
          .map((p) => `"nats-route://127.0.0.1:${p.route}"`).join(", ");
        const conf = `${dir}/${name}.conf`;
        await Deno.writeTextFile(
          conf,
          `server_name: ${name}
log_file: "${dir}/${name}.log"
listen: "127.0.0.1:${ports[i]!.client}"
jetstream { store_dir: "${store}" }
cluster {
  name: krakked
  listen: "127.0.0.1:${ports[i]!.route}"
  routes: [${routes}]
}
`,
        );
        const proc = new Deno.Command("nats-server", {
          args: ["-c", conf],
          stdout: "null",
          stderr: "null",
        }).spawn();
        nodes.push({ name, port: ports[i]!.client, proc, alive: true });
      }
      for (const n of nodes) await waitForPort(n.port);
      await cluster.#waitForMeta(size);
      return cluster;
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Polls JetStream's account info until the meta group has `size` peers and a leader. */
  async #waitForMeta(size: number): Promise<void> {
    const nc = await connect({ servers: this.url.split(",") });
    try {
      const deadline = Date.now() + 20_000;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 1000 });
          // `$JS.API.INFO` answers only with a meta leader; the peer count
          // comes from a server's /jsz, which needs a monitor port, so an R3
          // probe stream stands in: it is placed only when all three peers
          // are known.
          await jsm.streams.add({
            name: "PROBE",
            subjects: ["probe.>"],
            num_replicas: size,
          });
          await jsm.streams.delete("PROBE");
          return;
        } catch (error) {
          last = error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw new Error(`JetStream cluster not ready: ${String(last)}`);
    } finally {
      await nc.close();
    }
  }

  /**
   * `kill -9` one node.
   *
   * @param name Node name (`n1`…), e.g. a stream's `cluster.leader`.
   */
  async kill(name: string): Promise<void> {
    const node = this.#nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    if (!node.alive) return;
    node.proc.kill("SIGKILL");
    await node.proc.status;
    node.alive = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const n of this.#nodes) {
      if (!n.alive) continue;
      n.proc.kill("SIGTERM");
      await n.proc.status;
      n.alive = false;
    }
    await Deno.remove(this.#dir, { recursive: true });
  }
}
