/**
 * Slow-client limits for a server bound beyond loopback: header and idle
 * timeouts and connection caps, which `Deno.serve` (Deno 2.9) has no
 * option for (a socket that sends half a request line, or nothing, stays
 * open; measured: 70 s and counting).
 *
 * How: the public port is a small TCP front (`Deno.listen`). Each
 * connection must send its first request's headers (up to the blank line)
 * within {@linkcode GuardLimits.headerTimeoutMs} and
 * {@linkcode GuardLimits.maxHeaderBytes}, or it gets `408`/`431` and is
 * closed without ever reaching the application. Only then is it joined to
 * the real `Deno.serve`, listening on a loopback port of its own, and the
 * bytes are copied both ways; a connection that moves no byte either way
 * for {@linkcode GuardLimits.idleTimeoutMs} is closed. At most
 * {@linkcode GuardLimits.maxConnections} connections are open at once, and
 * {@linkcode GuardLimits.maxPerAddress} from one address, so a slow
 * client cannot hold every socket. The application sees the client's own
 * address (the front maps its inner socket back to the client).
 *
 * What it does not do: it does not parse later requests on a kept-alive
 * connection, so a client that sent one request promptly can trickle the
 * next; the idle timeout and the per-address cap bound what that holds.
 *
 * Why only beyond loopback: the copy costs about half of a bare server's
 * throughput (measured with wrk at 16 connections: 30–38k req/s through
 * the front against 66–75k direct), and on loopback the only peers are
 * local processes, which need no slow socket to stop a server they can
 * signal; a browser always sends whole requests.
 *
 * @module
 */

/** The limits. */
export interface GuardLimits {
  /** Time to receive the first request's headers, ms. */
  headerTimeoutMs: number;
  /** No byte either way for this long closes the connection, ms. */
  idleTimeoutMs: number;
  /** Bytes allowed before the end of the first request's headers. */
  maxHeaderBytes: number;
  /** Open connections at once. */
  maxConnections: number;
  /** Open connections from one address. */
  maxPerAddress: number;
}

/**
 * The defaults: 10 s for headers (Go servers commonly use 5–10 s; nginx
 * 60 s), 75 s idle (nginx's keep-alive; the event streams send a comment
 * every 25 s, see `SSE_HEARTBEAT_MS`), 64 KiB of headers, 512 connections,
 * 32 per address.
 */
export const DEFAULT_GUARD_LIMITS: Readonly<GuardLimits> = Object.freeze({
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 75_000,
  maxHeaderBytes: 65_536,
  maxConnections: 512,
  maxPerAddress: 32,
});

/** Why a connection was refused or closed by the guard. */
export type GuardVerdict =
  | "header_timeout"
  | "header_too_large"
  | "idle"
  | "too_many"
  | "too_many_from_address";

/**
 * Where the blank line ending a request's headers is, scanning `chunk`
 * after `carry` (how many of `\r\n\r\n` the bytes before it ended with).
 *
 * @param chunk The new bytes.
 * @param carry Bytes of the terminator matched at the end of earlier chunks (0–3).
 * @returns `end`: the index just past the terminator in `chunk`, or -1;
 *   `carry`: the terminator bytes matched at the end of `chunk`.
 * @example Split across two chunks
 * ```ts
 * import { scanHeaderEnd } from "./connection_guard.ts";
 * const enc = new TextEncoder();
 * const a = scanHeaderEnd(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"), 0); // { end: -1, carry: 2 }
 * scanHeaderEnd(enc.encode("\r\nbody"), a.carry); // { end: 2, carry: 0 }
 * ```
 */
export function scanHeaderEnd(
  chunk: Uint8Array,
  carry: number,
): { end: number; carry: number } {
  let matched = carry;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i];
    // The terminator is CR LF CR LF: even positions want CR, odd ones LF.
    const want = matched % 2 === 0 ? 13 : 10;
    if (byte === want) {
      matched++;
      if (matched === 4) return { end: i + 1, carry: 0 };
    } else {
      matched = byte === 13 ? 1 : 0;
    }
  }
  return { end: -1, carry: matched };
}

/**
 * Whether one more connection from `address` may open.
 *
 * @param open Open connections in all.
 * @param fromAddress Open connections from this address.
 * @param limits The caps.
 * @returns `undefined` to admit, or why not.
 */
export function admit(
  open: number,
  fromAddress: number,
  limits: Pick<GuardLimits, "maxConnections" | "maxPerAddress">,
): GuardVerdict | undefined {
  if (open >= limits.maxConnections) return "too_many";
  if (fromAddress >= limits.maxPerAddress) return "too_many_from_address";
  return undefined;
}

/** The answer written before closing a refused connection. */
function refusal(verdict: GuardVerdict): Uint8Array {
  const [status, reason] = verdict === "header_timeout"
    ? [408, "Request Timeout"]
    : verdict === "header_too_large"
    ? [431, "Request Header Fields Too Large"]
    : [503, "Service Unavailable"];
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  );
}

/** Options of {@linkcode serveGuarded}. */
export interface GuardedServeOptions {
  /** Public bind address. */
  hostname: string;
  /** Public port (0: any free one). */
  port: number;
  /** Aborting it stops the front and the inner server. */
  signal: AbortSignal;
  /** Limits (defaults: {@linkcode DEFAULT_GUARD_LIMITS}). */
  limits?: Partial<GuardLimits>;
  /** Told of each refused or closed connection (for the log). */
  onGuard?: (verdict: GuardVerdict, address: string) => void;
}

/** A running guarded server. */
export interface GuardedServer {
  /** The public address. */
  addr: Deno.NetAddr;
  /** Resolves when both the front and the inner server have stopped. */
  finished: Promise<void>;
}

/** One client connection through the front. */
interface Link {
  client: Deno.TcpConn;
  inner?: Deno.TcpConn;
  address: string;
  lastMs: number;
  closed: boolean;
}

/**
 * Serve `handler` on a public address behind the slow-client front.
 *
 * @param options Where to listen and the limits.
 * @param handler The application (it sees the client's own address).
 * @returns The public address and a promise of the end.
 * @throws {Deno.errors.AddrInUse} When the public port is taken.
 */
export function serveGuarded(
  options: GuardedServeOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): GuardedServer {
  const limits = { ...DEFAULT_GUARD_LIMITS, ...options.limits };
  // The public port first: a taken port fails before anything starts.
  const front = Deno.listen({
    hostname: options.hostname,
    port: options.port,
  });
  /** Inner socket's local port → the client's address. */
  const origins = new Map<number, Deno.NetAddr>();
  const inner = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: options.signal,
    onListen: () => {},
  }, (request, info) => {
    const origin = origins.get(info.remoteAddr.port);
    return handler(
      request,
      origin ? { ...info, remoteAddr: origin } : info,
    );
  });
  const innerPort = inner.addr.port;
  const links = new Set<Link>();
  const perAddress = new Map<string, number>();

  const close = (link: Link, verdict?: GuardVerdict) => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    const left = (perAddress.get(link.address) ?? 1) - 1;
    if (left <= 0) perAddress.delete(link.address);
    else perAddress.set(link.address, left);
    if (link.inner) origins.delete((link.inner.localAddr as Deno.NetAddr).port);
    for (const conn of [link.client, link.inner]) {
      try {
        conn?.close();
      } catch {
        // Closed by the other side already.
      }
    }
    if (verdict) options.onGuard?.(verdict, link.address);
  };

  const refuse = async (link: Link, verdict: GuardVerdict) => {
    try {
      await link.client.write(refusal(verdict));
    } catch {
      // The client is gone; nothing to tell.
    }
    close(link, verdict);
  };

  /** Copies `from` to `to` until either ends; marks activity. */
  const pump = async (link: Link, from: Deno.TcpConn, to: Deno.TcpConn) => {
    const buffer = new Uint8Array(16_384);
    try {
      while (!link.closed) {
        const n = await from.read(buffer);
        if (n === null) break;
        link.lastMs = Date.now();
        let written = 0;
        while (written < n) {
          written += await to.write(buffer.subarray(written, n));
        }
      }
    } catch {
      // Either side reset: the link ends.
    }
    close(link);
  };

  const serveLink = async (link: Link) => {
    // Headers of the first request, bounded in time and size, before the
    // application sees anything.
    const parts: Uint8Array[] = [];
    let size = 0;
    let carry = 0;
    const deadline = setTimeout(
      () => refuse(link, "header_timeout"),
      limits.headerTimeoutMs,
    );
    const buffer = new Uint8Array(16_384);
    try {
      while (true) {
        const n = await link.client.read(buffer);
        if (n === null || link.closed) return close(link);
        const chunk = buffer.slice(0, n);
        parts.push(chunk);
        size += n;
        const scan = scanHeaderEnd(chunk, carry);
        carry = scan.carry;
        const headerBytes = scan.end === -1 ? size : size - n + scan.end;
        if (headerBytes > limits.maxHeaderBytes) {
          return await refuse(link, "header_too_large");
        }
        if (scan.end !== -1) break;
      }
    } catch {
      return close(link);
    } finally {
      clearTimeout(deadline);
    }
    if (link.closed) return;
    try {
      link.inner = await Deno.connect({
        hostname: "127.0.0.1",
        port: innerPort,
      });
    } catch {
      return close(link);
    }
    if (link.closed) return close(link);
    origins.set(
      (link.inner.localAddr as Deno.NetAddr).port,
      link.client.remoteAddr as Deno.NetAddr,
    );
    link.lastMs = Date.now();
    try {
      for (const part of parts) {
        let written = 0;
        while (written < part.length) {
          written += await link.inner.write(part.subarray(written));
        }
      }
    } catch {
      return close(link);
    }
    void pump(link, link.client, link.inner);
    void pump(link, link.inner, link.client);
  };

  // One sweep for every idle connection instead of a timer per byte.
  const sweep = setInterval(() => {
    const cutoff = Date.now() - limits.idleTimeoutMs;
    for (const link of links) {
      if (link.inner && link.lastMs < cutoff) close(link, "idle");
    }
  }, Math.max(50, Math.min(1_000, limits.idleTimeoutMs / 4)));
  Deno.unrefTimer(sweep);

  const accepting = (async () => {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await front.accept();
      } catch {
        break; // The front was closed.
      }
      const address = (client.remoteAddr as Deno.NetAddr).hostname;
      const link: Link = {
        client,
        address,
        lastMs: Date.now(),
        closed: false,
      };
      const verdict = admit(
        links.size,
        perAddress.get(address) ?? 0,
        limits,
      );
      links.add(link);
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      if (verdict) void refuse(link, verdict);
      else void serveLink(link);
    }
  })();

  const stop = () => {
    clearInterval(sweep);
    try {
      front.close();
    } catch {
      // Closed already.
    }
    for (const link of [...links]) close(link);
  };
  if (options.signal.aborted) stop();
  else options.signal.addEventListener("abort", stop, { once: true });

  return {
    addr: front.addr as Deno.NetAddr,
    finished: Promise.all([accepting, inner.finished]).then(() => {}),
  };
}
