/**
 * What happens when an event listener throws. The emitters in core (the
 * WebSocket connection, the private stream, the order client) call every
 * listener even when one throws, then hand the error to a
 * {@linkcode ListenerErrorHandler}. The default rethrows it from a microtask,
 * as `EventTarget` reports a listener's error: in a browser that is a console
 * message; in Deno or Node it ends the process, so long-running hosts (the
 * server) inject a handler that logs instead.
 *
 * @module
 */

/**
 * Receives an exception thrown by a listener.
 *
 * @param error What the listener threw.
 * @param source The emitter and event, e.g. `"WsConnection frame"`.
 */
export type ListenerErrorHandler = (error: unknown, source: string) => void;

/**
 * The default handler: rethrow from a microtask, so the emitter's own state
 * stays consistent and the error is still reported by the host.
 *
 * @param error What the listener threw.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * Calls every listener with `event`; a throwing listener neither stops the
 * others nor escapes: its error goes to `onError` (at most one report per
 * listener per call).
 *
 * @param listeners A snapshot is taken, so listeners may unsubscribe while called.
 * @param event The payload.
 * @param onError Where listener exceptions go.
 * @param source Names the emitter and event in the report.
 */
export function callListeners<E>(
  listeners: Iterable<(event: E) => void>,
  event: E,
  onError: ListenerErrorHandler,
  source: string,
): void {
  for (const listener of [...listeners]) {
    try {
      listener(event);
    } catch (error) {
      try {
        onError(error, source);
      } catch {
        // A failing error handler must not break the emitter either.
      }
    }
  }
}
