/**
 * A throwaway `nats-server -js` on a free loopback port, for the log tests
 * (Debian's nats-server; .ci/run installs it when missing).
 */

/** A free loopback TCP port (bound, read, released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves once a TCP connection to the port succeeds; throws after `tries` × 50 ms. */
export async function waitForPort(port: number, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

export class NatsServer implements AsyncDisposable {
  readonly url: string;
  #proc: Deno.ChildProcess;
  #dir: string;

  private constructor(url: string, proc: Deno.ChildProcess, dir: string) {
    this.url = url;
    this.#proc = proc;
    this.#dir = dir;
  }

  static async start(): Promise<NatsServer> {
    const port = freePort();
    const dir = await Deno.makeTempDir({ prefix: "krakked_nats_" });
    const proc = new Deno.Command("nats-server", {
      args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(port);
    } catch {
      proc.kill("SIGKILL");
      await proc.status;
      throw new Error("nats-server did not start");
    }
    return new NatsServer(`nats://127.0.0.1:${port}`, proc, dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#proc.kill("SIGTERM");
    await this.#proc.status;
    await Deno.remove(this.#dir, { recursive: true });
  }
}
