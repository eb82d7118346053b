/**
 * The server REST client's fetch, traced: every upstream call gets its own
 * id (`…-u<n>`), carries the correlation id of the request that caused it
 * (`rid`, when the request is scoped, see `../http/request_id.ts`), and is
 * written as one `upstream` log line with the Kraken method, status and
 * time. A private order call also names its order: the `userref` or
 * `cl_ord_id` (the tracking key `userref:42` / `cl_ord_id:…`), and the
 * Kraken id (`txid`) of a cancel or of a placed order (read from a copy of
 * the `AddOrder` answer), so `krakked logs --order` links the REST
 * requests to the order's lifecycle lines. The body is read for those few
 * fields only; nothing else from it (nonce, otp) is ever logged, and the
 * signature headers are never looked at.
 *
 * @module
 */

import type { FetchLike } from "@krakked/core/rest/client";
import type { Logger, LogLevel } from "@krakked/core/log";
import { currentRequestId, type IdMint } from "../http/request_id.ts";
import type { OpsMonitor } from "./ops.ts";

/** Private methods charged to the per-pair trading-engine counter. */
const TRADING = new Set([
  "AddOrder",
  "AddOrderBatch",
  "AmendOrder",
  "EditOrder",
  "CancelOrder",
]);

/** What an order call names. */
interface OrderFields {
  order?: string;
  orderId?: string;
  pair?: string;
}

function orderFields(body: unknown): OrderFields {
  if (typeof body !== "string" || body.length > 16_384) return {};
  let get: (name: string) => unknown;
  if (body.startsWith("{")) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      get = (name) => parsed[name];
    } catch {
      return {};
    }
  } else {
    const form = new URLSearchParams(body);
    get = (name) => form.get(name) ?? undefined;
  }
  const out: OrderFields = {};
  const userref = get("userref");
  const clOrdId = get("cl_ord_id");
  if (typeof clOrdId === "string" && clOrdId !== "") {
    out.order = `cl_ord_id:${clOrdId}`;
  } else if (
    (typeof userref === "string" && /^-?\d{1,10}$/.test(userref)) ||
    typeof userref === "number"
  ) out.order = `userref:${userref}`;
  const txid = get("txid");
  if (typeof txid === "string" && /^[A-Z0-9-]{6,40}$/.test(txid)) {
    out.orderId = txid;
  }
  const pair = get("pair");
  if (typeof pair === "string" && /^[A-Za-z0-9./]{2,24}$/.test(pair)) {
    out.pair = pair;
  }
  return out;
}

/** The first `txid` of an `AddOrder` answer, read from a copy. */
async function placedOrderId(response: Response): Promise<string | undefined> {
  try {
    const text = await response.clone().text();
    if (text.length > 16_384) return undefined;
    const txid = (JSON.parse(text) as { result?: { txid?: unknown } })?.result
      ?.txid;
    const first = Array.isArray(txid) ? txid[0] : undefined;
    return typeof first === "string" && /^[A-Z0-9-]{6,40}$/.test(first)
      ? first
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wrap a fetch for the server's REST client.
 *
 * @param inner The real fetch.
 * @param options Logger, id mint, the ops monitor and the level of public
 *   calls' lines.
 * @returns The traced fetch.
 * @example
 * ```ts ignore
 * const rest = new RestClient({ fetch: tracedFetch(fetch, { logger, mint, ops }) });
 * ```
 */
export function tracedFetch(
  inner: FetchLike,
  options: {
    logger: Logger;
    mint: IdMint;
    ops?: OpsMonitor;
    /**
     * Level of a successful public call's line (default `debug`: the
     * server caches and coalesces them across callers; a CLI run, whose
     * calls are its own, logs them at `info`).
     */
    publicLevel?: LogLevel;
  },
): FetchLike {
  const { logger, mint, ops } = options;
  const publicLevel = options.publicLevel ?? "debug";
  return async (input, init) => {
    const url = typeof input === "string"
      ? input
      : input instanceof URL
      ? input.href
      : input.url;
    const path = new URL(url).pathname;
    const method = path.slice(path.lastIndexOf("/") + 1);
    const isPrivate = path.includes("/private/");
    const fields = isPrivate ? orderFields(init?.body) : {};
    const uid = mint.next("u");
    const rid = currentRequestId();
    const t0 = performance.now();
    const base = {
      uid,
      ...(rid === undefined ? {} : { rid }),
      call: method,
      ...(fields.order === undefined ? {} : { order: fields.order }),
      ...(fields.orderId === undefined ? {} : { orderId: fields.orderId }),
    };
    const tradingPair = TRADING.has(method) ? fields.pair ?? "*" : undefined;
    try {
      const response = await inner(input, init);
      ops?.upstreamCall(method, response.status < 500, tradingPair);
      // A new order's Kraken id, from a copy of the (small) answer: the
      // line then names both ids, and `krakked logs --order OXXXX-…` finds
      // the request that placed it.
      const placed = method === "AddOrder" && response.ok
        ? await placedOrderId(response)
        : undefined;
      // Public calls are cached and coalesced across callers: debug only.
      logger.log(
        isPrivate || response.status >= 400 ? "info" : publicLevel,
        "upstream",
        {
          ...base,
          ...(placed === undefined ? {} : { orderId: placed }),
          status: response.status,
          durationMs: Math.round((performance.now() - t0) * 10) / 10,
        },
      );
      return response;
    } catch (error) {
      ops?.upstreamCall(method, false, tradingPair);
      // Aborts are callers going away, not faults of the upstream.
      if (!(error instanceof DOMException && error.name === "AbortError")) {
        ops?.error("upstream", `REST ${method}`, error);
      }
      logger.warn("upstream", {
        ...base,
        error: error instanceof Error ? error.name : "unknown",
        durationMs: Math.round((performance.now() - t0) * 10) / 10,
      });
      throw error;
    }
  };
}
