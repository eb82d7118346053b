/**
 * The ops routes and the ops topic of the page's event stream.
 *
 * - `GET /api/ops` answers the {@linkcode OpsSnapshot} of the server's
 *   {@linkcode OpsMonitor} (read from the live limiter, connections and
 *   order service at that moment): a one-shot read for `krakked status
 *   --ops`.
 * - Live numbers are not a route of their own: they ride the server's one
 *   event stream, `GET /api/private/events?topics=ops` (see
 *   `./private.ts`), as `ops` events: the whole snapshot first, then only
 *   the sections that changed ({@linkcode OpsDeltas}), at most one push per
 *   250 ms and one a second while counters decay (the monitor coalesces).
 *
 * Both sit behind the session guard like the other private areas: the
 * rate-limit counters, errors and order trails are the operator's, so a
 * request without the per-run session cookie (or from another site) is
 * refused with the standard JSON error. The CLI gets the session the way
 * the page does (`GET /`, see `../../cli/status_cmd.ts`). Every text passes
 * the redactor.
 *
 * @module
 */

import { Hono } from "hono";
import type { Redactor } from "@krakked/core/secrets/redact";
import { HttpError } from "../errors.ts";
import { sessionGuard } from "../guard.ts";
import type { AppDeps } from "../deps.ts";
import type { OpsMonitor, OpsSnapshot } from "../../trading/ops.ts";

/** What the routes need from the monitor. */
export type OpsSource = Pick<OpsMonitor, "snapshot" | "subscribe">;

/** The topics of the event stream (`?topics=account,ops`). */
export type EventTopic = "account" | "ops";

const TOPICS: readonly EventTopic[] = ["account", "ops"];

/**
 * Read the event stream's `topics` query: a comma list of `account` and
 * `ops`; absent means `account` (what the worker's account feed opens).
 *
 * @param url The request URL.
 * @returns The topics, at least one.
 * @throws {HttpError} 400 `bad_param` for an unknown or empty topic list.
 * @example
 * ```ts
 * import { eventTopics } from "./ops.ts";
 * eventTopics("http://127.0.0.1:8787/api/private/events?topics=ops"); // Set {"ops"}
 * ```
 */
export function eventTopics(url: string): Set<EventTopic> {
  const raw = new URL(url).searchParams.get("topics");
  if (raw === null) return new Set(["account"]);
  const topics = new Set<EventTopic>();
  for (const part of raw.split(",")) {
    const topic = TOPICS.find((t) => t === part.trim());
    if (topic === undefined) {
      throw new HttpError(
        400,
        "bad_param",
        `Unknown event topic "${
          part.slice(0, 20)
        }": use account, ops or both (account,ops)`,
      );
    }
    topics.add(topic);
  }
  return topics;
}

/**
 * Per-subscriber delta encoding of ops snapshots: the first call returns
 * the whole snapshot, later calls only the top-level sections whose JSON
 * changed (`atMs` always; a connection's growing `uptimeMs` alone is no
 * change, see `openedAtMs`), so a quiet server pushes a few hundred bytes,
 * not its connections, subscriptions and event rings each time. Every
 * section is redacted. The page merges them (`Object.assign`).
 */
export class OpsDeltas {
  #redactor: Redactor;
  #last = new Map<string, string>();

  /** @param redactor Scrubs every section. */
  constructor(redactor: Redactor) {
    this.#redactor = redactor;
  }

  /**
   * The JSON text of the sections that changed since the last call.
   *
   * @param snapshot The monitor's snapshot.
   * @returns A JSON object text (`{"atMs":…,"rest":{…}}`).
   */
  next(snapshot: OpsSnapshot): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(snapshot)) {
      const json = this.#redactor.json(value);
      // A connection's uptime grows every push; the viewer derives it from
      // `openedAtMs` and `atMs`, so it alone is not a change.
      const same = key === "connections"
        ? this.#redactor.json(
          snapshot.connections.map(({ uptimeMs: _, ...rest }) => rest),
        )
        : json;
      if (key !== "atMs" && this.#last.get(key) === same) continue;
      this.#last.set(key, same);
      parts.push(`${JSON.stringify(key)}:${json}`);
    }
    return `{${parts.join(",")}}`;
  }
}

/**
 * The guard of `/api/ops` and of the ops topic: same origin and the session
 * (as `/api/private/*`), and a running monitor.
 *
 * @param deps The app's dependencies.
 * @returns The middleware.
 */
export function opsGuard(
  deps: Pick<AppDeps, "sessionToken" | "allowedHosts" | "ops">,
): ReturnType<typeof sessionGuard> {
  return sessionGuard({
    area: "ops",
    sessionToken: deps.sessionToken,
    allowedHosts: () => deps.allowedHosts,
    available: () => deps.ops !== undefined,
    unavailable: () =>
      new HttpError(404, "no_ops", "The ops monitor is not running"),
  });
}

/**
 * Build the routes.
 *
 * @param deps The app's dependencies (the monitor, the session, the logger).
 * @returns The routes.
 * @example
 * ```ts ignore
 * app.route("/", opsRoutes(deps));
 * ```
 */
export function opsRoutes(
  deps: Pick<AppDeps, "sessionToken" | "allowedHosts" | "ops" | "logger">,
): Hono {
  const app = new Hono();
  app.use("/api/ops", opsGuard(deps));
  app.use("/api/ops/*", opsGuard(deps));
  app.get(
    "/api/ops",
    () =>
      new Response(deps.logger.redactor.json(deps.ops!.snapshot()), {
        headers: {
          "Content-Type": "application/json",
          "Cache-Control": "no-store",
        },
      }),
  );
  return app;
}
