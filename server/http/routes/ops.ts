/**
 * The ops routes: `GET /api/ops` answers the {@linkcode OpsSnapshot} of
 * the server's {@linkcode OpsMonitor} (read from the live limiter,
 * connections and order service at that moment), and `GET /api/ops/events`
 * streams one `ops` server-sent event per change (and one a second, as
 * counters decay). Like `/api/status`, they pass the host guard (a loopback
 * `Host`, or the access token) so `krakked status` can read them; they
 * never hold a key, secret or token (every text passes the redactor).
 *
 * @module
 */

import { Hono } from "hono";
import type { Redactor } from "@krakked/core/secrets/redact";
import { HttpError } from "../errors.ts";
import type { OpsMonitor, OpsSnapshot } from "../../trading/ops.ts";

/** What the routes need from the monitor. */
export type OpsSource = Pick<OpsMonitor, "snapshot" | "subscribe">;

/**
 * Build the routes.
 *
 * @param ops The monitor, or `undefined` (the routes answer 404).
 * @param redactor Scrubs every answer.
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/", opsRoutes(deps.ops, deps.logger.redactor));
 * ```
 */
export function opsRoutes(
  ops: OpsSource | undefined,
  redactor: Redactor,
): Hono {
  const app = new Hono();
  const need = (): OpsSource => {
    if (ops === undefined) {
      throw new HttpError(404, "no_ops", "The ops monitor is not running");
    }
    return ops;
  };
  const body = (s: OpsSnapshot) => redactor.json(s);

  app.get("/api/ops", () => {
    return new Response(body(need().snapshot()), {
      headers: {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
      },
    });
  });

  app.get("/api/ops/events", () => {
    const source = need();
    let cleanup = () => {};
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(enc.encode(`: connected\n\n`));
        cleanup = source.subscribe((snapshot) => {
          try {
            controller.enqueue(
              enc.encode(`event: ops\ndata: ${body(snapshot)}\n\n`),
            );
          } catch {
            // The client went away between two pushes.
            cleanup();
          }
        }, () => controller.close());
      },
      cancel() {
        cleanup();
      },
    });
    return new Response(stream, {
      headers: {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
      },
    });
  });

  return app;
}
