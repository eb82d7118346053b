/**
 * The server's errors and their one mapping to HTTP. Routes and guards
 * throw; `app.onError` calls {@linkcode errorAnswer} and answers
 * `{ error: { code, message } }` (plus `kind` for Kraken errors) with the
 * status it picks. Nothing else turns an error into a response.
 *
 * @module
 */

import { KrakenError, type KrakenErrorKind } from "@krakked/core/rest/errors";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Redactor } from "@krakked/core/secrets/redact";
import { ProxyBusyError, ProxyParamError } from "./public_proxy.ts";
import { TicketError } from "../trading/orders.ts";

/** The statuses a request can fail with. */
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 413
  | 415
  | 421
  | 429
  | 500
  | 502
  | 503
  | 504;

/**
 * A request the server refuses: bad input, a guard, a missing route. The
 * message is shown to the caller, so it never holds a secret.
 *
 * @example Refuse
 * ```ts
 * import { HttpError } from "./errors.ts";
 * throw new HttpError(404, "not_found", "No such API route");
 * ```
 */
export class HttpError extends Error {
  /** Discriminator. */
  readonly kind = "http" as const;
  override name = "HttpError";

  /**
   * Create the error.
   *
   * @param status The HTTP status to answer with.
   * @param code Stable machine-readable code (`bad_json`, `session_required`).
   * @param message What is wrong, for the caller.
   */
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; kind?: KrakenErrorKind; message: string };
}

/** How the server answers an error, and what it logs. */
export interface ErrorAnswer {
  status: ErrorStatus;
  body: ErrorBody;
  /** A log line to write (level, message, fields); none for refused input. */
  log?: {
    level: "warn" | "error";
    msg: string;
    fields: Record<string, unknown>;
  };
}

/**
 * The HTTP status for an upstream Kraken failure kind.
 *
 * @param kind The error's kind.
 * @returns 400 for a request Kraken refused, 401/403 for the key, 429, 503
 *   for Kraken's own trouble, 504 for the network, 502 for anything else.
 * @example Map
 * ```ts
 * import { upstreamStatus } from "./errors.ts";
 * upstreamStatus("rate_limit"); // 429
 * ```
 */
export function upstreamStatus(
  kind: KrakenErrorKind,
): 400 | 401 | 403 | 429 | 502 | 503 | 504 {
  switch (kind) {
    case "invalid_request":
    case "order":
      return 400;
    case "auth":
    case "nonce":
      return 401;
    case "permission":
      return 403;
    case "rate_limit":
      return 429;
    case "service":
      return 503;
    case "network":
      return 504;
    case "unknown":
      return 502;
  }
}

/**
 * Map any thrown value to the answer. Kraken's messages pass through
 * `redact` (they may quote what was sent); anything unexpected becomes a
 * bare 500 whose details go only to the log.
 *
 * @param error What a route or guard threw.
 * @param redact Scrubs registered secrets from a text.
 * @returns Status, body and the log line to write.
 * @example A refused ticket
 * ```ts
 * import { errorAnswer, HttpError } from "./errors.ts";
 * errorAnswer(new HttpError(415, "bad_content_type", "Send JSON"), (t) => t).status; // 415
 * ```
 */
export function errorAnswer(
  error: unknown,
  redact: (text: string) => string,
): ErrorAnswer {
  if (error instanceof HttpError) {
    return refused(error.status, error.code, error.message);
  }
  if (error instanceof TicketError) {
    return refused(400, "bad_order", error.message);
  }
  if (error instanceof ProxyParamError) {
    return refused(400, error.code, error.message);
  }
  if (error instanceof ProxyBusyError) {
    return refused(429, error.code, error.message);
  }
  if (error instanceof KrakenError) {
    return {
      status: upstreamStatus(error.kind),
      body: {
        error: {
          // Kraken's code is wire text too: an echoing upstream puts what
          // it was sent in it.
          code: redact(error.code),
          kind: error.kind,
          message: redact(error.message),
        },
      },
      log: {
        level: "warn",
        msg: "upstream",
        fields: { kind: error.kind, code: redact(error.code) },
      },
    };
  }
  return {
    status: 500,
    body: { error: { code: "internal", message: "Internal error" } },
    log: { level: "error", msg: "unhandled", fields: { error } },
  };
}

/**
 * A JSON answer that may carry upstream data (a Kraken result, an order
 * decision quoting Kraken's error): serialised once, with every value the
 * redactor holds removed (the key, the secret, WS tokens, the master
 * password, in all their spellings).
 *
 * @param c The request's context (headers set by guards are kept).
 * @param redactor The server's redactor.
 * @param body The JSON-serialisable body.
 * @param status The HTTP status (default 200).
 * @returns The response.
 * @example Answer a private read
 * ```ts ignore
 * return jsonAnswer(c, deps.logger.redactor, { result });
 * ```
 */
export function jsonAnswer(
  c: Context,
  redactor: Pick<Redactor, "json">,
  body: unknown,
  status: ContentfulStatusCode = 200,
): Response {
  return c.body(redactor.json(body), status, {
    "Content-Type": "application/json",
  });
}

function refused(
  status: ErrorStatus,
  code: string,
  message: string,
): ErrorAnswer {
  return { status, body: { error: { code, message } } };
}
