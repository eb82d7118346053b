/**
 * A small HTTP/1.1 keep-alive load generator for the proxy bench, written
 * on raw TCP (`Deno.connect`) rather than `fetch`: `fetch` costs the client
 * several times what the bare server costs, so a `fetch` loop measures the
 * client, not the server.
 *
 * Each of `concurrency` connections sends one GET, reads the whole answer
 * (headers, then `Content-Length` bytes), and sends the next: a closed loop
 * with no pipelining, like `wrk`. Latency is from the first byte written to
 * the last byte read. Run it in a different process from the server under
 * test, or the two share one event loop.
 *
 * Fairness: this is one JavaScript thread; on a 2-core machine it can drive
 * a bare `Deno.serve` at roughly wrk's rate (the bench prints both when wrk
 * is installed). When the generator, not the server, is the limit, the
 * floor is under-measured and every ratio against it looks better than it
 * is, so the bench cross-checks with wrk where it can.
 */

/** One load run's outcome. */
export interface LoadResult {
  /** Completed 2xx answers. */
  ok: number;
  /** Non-2xx answers. */
  failed: number;
  /** Wall time of the measured window, seconds. */
  seconds: number;
  /** Latencies of every completed request, ms, ascending. */
  latenciesMs: Float64Array;
}

const CRLFCRLF = [13, 10, 13, 10] as const;

function findHeaderEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < to; i++) {
    if (
      buf[i] === CRLFCRLF[0] && buf[i + 1] === CRLFCRLF[1] &&
      buf[i + 2] === CRLFCRLF[2] && buf[i + 3] === CRLFCRLF[3]
    ) return i + 4;
  }
  return -1;
}

const decoder = new TextDecoder();

function contentLength(head: string): number {
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (match === null) {
    throw new Error(
      `answer without Content-Length (chunked is not supported): ${
        head.slice(0, 200)
      }`,
    );
  }
  return Number(match[1]);
}

/**
 * Drive `concurrency` keep-alive connections for `seconds`.
 *
 * @param url The full URL to GET (http only).
 * @param concurrency Number of connections.
 * @param seconds Measured duration.
 * @param headers Extra request headers.
 * @returns Counts and sorted latencies.
 */
export async function runLoad(
  url: string,
  concurrency: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const target = new URL(url);
  const head = [
    `GET ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ].join("\r\n");
  const request = new TextEncoder().encode(head);
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let failed = 0;
  const conns = await Promise.all(
    Array.from(
      { length: concurrency },
      () =>
        Deno.connect({
          hostname: target.hostname,
          port: Number(target.port),
        }),
    ),
  );
  for (const conn of conns) conn.setNoDelay(true);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;

  async function connection(conn: Deno.TcpConn): Promise<void> {
    let buf = new Uint8Array(64 * 1024);
    while (performance.now() < deadline) {
      const started = performance.now();
      let written = 0;
      while (written < request.length) {
        written += await conn.write(request.subarray(written));
      }
      let filled = 0;
      let bodyStart = -1;
      let total = -1;
      while (total < 0 || filled < total) {
        if (filled === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const n = await conn.read(buf.subarray(filled));
        if (n === null) throw new Error("server closed the connection");
        const before = filled;
        filled += n;
        if (bodyStart < 0) {
          bodyStart = findHeaderEnd(buf, before, filled);
          if (bodyStart >= 0) {
            const headText = decoder.decode(buf.subarray(0, bodyStart));
            total = bodyStart + contentLength(headText);
            if (headText.charCodeAt(9) !== 50) failed++; // "HTTP/1.1 2xx"
          }
        }
      }
      if (filled !== total) {
        throw new Error("pipelined bytes were not asked for");
      }
      const took = performance.now() - started;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = took;
    }
  }

  try {
    await Promise.all(conns.map(connection));
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = latencies.slice(0, count).sort();
  return {
    ok: count - failed,
    failed,
    seconds: elapsed,
    latenciesMs: sorted,
  };
}

/**
 * The value at quantile `p` of ascending values.
 *
 * @param sorted Ascending values.
 * @param p Quantile in [0, 1].
 * @returns The value, or NaN for no values.
 */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
