/**
 * What the HTTP app is built from: the REST client, tokens, the built
 * page, the logger and the services behind the API areas.
 *
 * @module
 */

import type { CallParams, RestAnswer } from "@krakked/core/rest/client";
import type { Logger } from "@krakked/core/log";
import type { KrakkedConfig } from "@krakked/core/config/config";
import type { StaticFile } from "./static_files.ts";
import type { OrderService } from "../trading/orders.ts";
import type { AccountEvents } from "../trading/account_relay.ts";
import type { OpsSource } from "./routes/ops.ts";
import type { IdMint } from "./request_id.ts";
import type { AccountService } from "../trading/account_service.ts";

/** What the app needs from the REST client. */
export interface AppRest {
  callPublic(method: string, params?: CallParams): Promise<RestAnswer<unknown>>;
  callPrivate(
    method: string,
    params?: CallParams,
    options?: { signal?: AbortSignal },
  ): Promise<RestAnswer<unknown>>;
  readonly hasCredentials: boolean;
}

/** What the order routes need from the order service. */
export type AppOrders = Pick<
  OrderService,
  | "info"
  | "place"
  | "cancel"
  | "cancelAll"
  | "closePosition"
  | "orders"
  | "paperSummary"
>;

/** Dependencies of `createApp`. */
export interface AppDeps {
  /** `sim` when the simulator backs everything. */
  mode: "live" | "sim";
  config: KrakkedConfig;
  rest: AppRest;
  /** The per-run session token (cookie value). */
  sessionToken: string;
  /** Required on every request when set (non-loopback binds). */
  accessToken?: string;
  /** Accepted `Host` header values (`host:port`, lower case). */
  allowedHosts: readonly string[];
  /** WS public URL handed to the worker (and allowed by the CSP). */
  wsPublicUrl: string;
  /** Built page files keyed by URL path. */
  staticFiles: ReadonlyMap<string, StaticFile>;
  logger: Logger;
  version: string;
  now?: () => number;
  /** Extra status (e.g. upstream WS state) for /api/status. */
  status?: () => Record<string, unknown>;
  /** Private account events, when credentials exist. */
  accountEvents?: AccountEvents;
  /** The order service behind `/api/orders` and `/api/paper`. */
  orders?: AppOrders;
  /** The ops monitor behind `/api/ops` (and its event stream). */
  ops?: OpsSource;
  /** Mints request correlation ids (default: a new mint). */
  requestIds?: IdMint;
  /** The account behind `/api/account` (and the order gate). */
  account?:
    & Pick<AccountService, "document" | "ordersAllowed" | "phase" | "whenReady">
    // Changes for `/api/account/events` (without it the stream sends one document).
    & Partial<Pick<AccountService, "subscribe">>;
}
