/**
 * A deadline for the requests that wait on Kraken (private reads, orders,
 * the paper account): past it the client gets a 504 and the request's
 * signal aborts, so whatever the request still has queued is dropped
 * before it is signed or sent.
 *
 * Why here: `Deno.serve` (Deno 2.9) has no header-read, request or idle
 * timeout and no option for one; a connection that sends half a request
 * line, or nothing, stays open (measured: 100 s and counting). What can be
 * bounded from inside the handler is the time a request waits for an
 * answer, which this does; header and idle timeouts for slow sockets are
 * the slow-client front's (connection_guard.ts).
 *
 * @module
 */

/** The default request deadline: the REST call deadline plus a margin. */
export const DEFAULT_REQUEST_DEADLINE_MS = 45_000;

/** What a request may take beyond its REST call's deadline (answering). */
export const REQUEST_DEADLINE_MARGIN_MS = 15_000;

/**
 * The request deadline for a configuration: its REST call deadline
 * (`connection.call_deadline_ms`, or the per-request timeout if longer)
 * plus {@linkcode REQUEST_DEADLINE_MARGIN_MS}.
 *
 * @param config The configuration's connection section.
 * @returns Milliseconds.
 * @example Default
 * ```ts
 * import { requestDeadlineMs } from "./deadline.ts";
 * requestDeadlineMs({ connection: { call_deadline_ms: 30_000, timeout_ms: 10_000 } }); // 45000
 * ```
 */
export function requestDeadlineMs(config: {
  connection: { call_deadline_ms: number; timeout_ms: number };
}): number {
  return Math.max(
    config.connection.call_deadline_ms,
    config.connection.timeout_ms,
  ) +
    REQUEST_DEADLINE_MARGIN_MS;
}

/**
 * Whether a request waits on Kraken: private reads (not the event stream),
 * orders and the paper account. No allocation: this runs on every request.
 */
function bounded(url: string): boolean {
  const at = url.indexOf("/", url.indexOf("//") + 2);
  if (at === -1 || !url.startsWith("/api/", at)) return false;
  if (url.startsWith("/api/private/", at)) {
    return !url.startsWith("/api/private/events", at);
  }
  return url.startsWith("/api/orders", at) || url.startsWith("/api/paper", at);
}

/**
 * Wrap a fetch handler so the requests that wait on Kraken answer within
 * `deadlineMs`: the handler sees a request whose signal aborts when the
 * client goes away or the deadline passes; at the deadline the client gets
 * `504 {"error":{"code":"deadline", ...}}`. Other requests (the page, the
 * public proxy, the event stream) pass through untouched.
 *
 * @param handler The app's fetch handler.
 * @param deadlineMs The deadline (default {@linkcode DEFAULT_REQUEST_DEADLINE_MS}).
 * @returns The wrapped handler.
 * @example Serve with a deadline
 * ```ts ignore
 * Deno.serve(withRequestDeadline(app.fetch));
 * ```
 */
export function withRequestDeadline<I>(
  handler: (request: Request, info: I) => Response | Promise<Response>,
  deadlineMs: number = DEFAULT_REQUEST_DEADLINE_MS,
): (request: Request, info: I) => Response | Promise<Response> {
  return (request, info) =>
    bounded(request.url)
      ? withDeadline(handler, request, info, deadlineMs)
      : handler(request, info);
}

/** Run one bounded request against its deadline. */
async function withDeadline<I>(
  handler: (request: Request, info: I) => Response | Promise<Response>,
  request: Request,
  info: I,
  deadlineMs: number,
): Promise<Response> {
  const deadline = new AbortController();
  let onDeadline!: () => void;
  const expired = new Promise<Response>((resolve) => {
    onDeadline = () =>
      resolve(
        Response.json({
          error: {
            code: "deadline",
            message:
              `No answer within ${deadlineMs} ms; nothing still queued was sent`,
          },
        }, { status: 504, headers: { "Cache-Control": "no-store" } }),
      );
  });
  const timer = setTimeout(() => {
    // The 504 first: a handler that answers as its signal aborts must
    // not win the race with a late answer.
    onDeadline();
    deadline.abort(new DOMException("Request deadline", "TimeoutError"));
  }, deadlineMs);
  try {
    const bounded = new Request(request, {
      signal: AbortSignal.any([request.signal, deadline.signal]),
    });
    return await Promise.race([
      Promise.resolve(handler(bounded, info)),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
