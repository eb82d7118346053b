/**
 * Server-sent event streams stay visibly alive: a comment line every
 * {@linkcode SSE_HEARTBEAT_MS}, which `EventSource` ignores. A quiet
 * account or ops stream would otherwise move no byte for minutes, and
 * anything between the page and the server that closes idle connections
 * (the slow-client front's 75 s idle timeout, a reverse proxy) would cut
 * it and make the page reconnect and re-read the whole snapshot.
 *
 * @module
 */

/** How often an event stream sends a heartbeat comment, ms. */
export const SSE_HEARTBEAT_MS = 25_000;

const PING = new TextEncoder().encode(": ping\n\n");

/**
 * Send a heartbeat comment on `controller` every `everyMs` until stopped
 * or the stream closes. The timer does not keep the process alive.
 *
 * @param controller The event stream's controller.
 * @param everyMs Interval, ms.
 * @returns Stops the heartbeat.
 */
export function sseHeartbeat(
  controller: ReadableStreamDefaultController<Uint8Array>,
  everyMs: number = SSE_HEARTBEAT_MS,
): () => void {
  const timer = setInterval(() => {
    try {
      controller.enqueue(PING);
    } catch {
      // The stream closed: nothing more to keep alive.
      clearInterval(timer);
    }
  }, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
