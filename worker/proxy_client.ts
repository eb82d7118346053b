/**
 * The worker's HTTP side: the server's `/api/config`, `/api/status`, the
 * public proxy `/api/public/:method` and the read-only private routes, with
 * plain `fetch` on the page's own origin. The worker never holds a key,
 * secret or WebSocket token; private routes work through the session cookie
 * the server set when the page loaded.
 *
 * @module
 */

import type { OhlcResult, TradesResult } from "@krakked/core/rest/types";
import { parseOhlcResult, parseTradesResult } from "@krakked/core/rest/parse";
import type {
  OhlcSource,
  TradesSource,
} from "@krakked/core/market/ohlc_history";
import type { WorkerError, WorkerErrorKind } from "./protocol.ts";

/** A failed call, carrying the error value the protocol sends. */
export class ProxyCallError extends Error {
  override name = "ProxyCallError";
  /** The error as a protocol value. */
  readonly value: WorkerError;

  /**
   * Create the error.
   *
   * @param value The error value.
   * @param options The cause.
   */
  constructor(value: WorkerError, options?: ErrorOptions) {
    super(value.message, options);
    this.value = value;
  }

  /** Discriminator of the failure. */
  get kind(): WorkerErrorKind {
    return this.value.kind;
  }
}

/** `/api/config` as the server sends it. */
export interface ServerConfig {
  /** `live` or `sim`. */
  mode: "live" | "sim";
  /** Whether the data is simulated. */
  simulated: boolean;
  /** Server version. */
  version: string;
  /** Public WS v2 URL. */
  wsPublicUrl: string;
  /** Stale tolerance, seconds. */
  staleToleranceSec: number;
  /** Chart timeframes. */
  timeframes: string[];
  /** Quote currency. */
  quote: string;
  /** Whether the server has credentials. */
  privateData: boolean;
  /** Trading mode. */
  tradingMode: string;
}

/** The REST part of `/api/status`. */
export interface ServerRestStatus {
  /** Whether Kraken REST answered last time (`null` before any call). */
  reachable: boolean | null;
  /** The last error code. */
  lastError: string | null;
}

/** Options of {@linkcode ProxyClient}. */
export interface ProxyClientOptions {
  /** `fetch`; defaults to `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Called after every call with its outcome (REST reachability). */
  onOutcome?: (ok: boolean, error?: WorkerError) => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Calls the local server.
 *
 * @example Read the config
 * ```ts ignore
 * const client = new ProxyClient("http://127.0.0.1:8787");
 * const config = await client.config();
 * ```
 */
export class ProxyClient implements OhlcSource, TradesSource {
  #base: string;
  #fetch: typeof globalThis.fetch;
  #onOutcome: ((ok: boolean, error?: WorkerError) => void) | undefined;

  /**
   * Create a client.
   *
   * @param baseUrl The server origin, e.g. `self.location.origin`.
   * @param options Injected fetch and outcome callback.
   */
  constructor(baseUrl: string, options: ProxyClientOptions = {}) {
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#onOutcome = options.onOutcome;
  }

  /**
   * GET a JSON document from the server.
   *
   * @param path Path and query, e.g. `/api/config`.
   * @returns The parsed body and its text.
   * @throws {ProxyCallError} On a network failure, a non-2xx answer or bad JSON.
   */
  async getJson(path: string): Promise<{ body: unknown; text: string }> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (error) {
      throw new ProxyCallError({
        kind: "network",
        message: `Cannot reach the server for ${pathOnly(path)}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      }, { cause: error });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ProxyCallError({
        kind: "http",
        status: response.status,
        message: `Cannot read ${
          pathOnly(path)
        }: the answer is not JSON (HTTP ${response.status})`,
      }, { cause: error });
    }
    if (!response.ok) {
      const info = isRecord(body) && isRecord(body.error) ? body.error : {};
      const code = typeof info.code === "string" ? info.code : undefined;
      const message = typeof info.message === "string"
        ? info.message
        : `HTTP ${response.status}`;
      // The proxy answers a Kraken it cannot reach with its error `kind`
      // "network" (HTTP 504): the page says so instead of "HTTP 504".
      const kind: WorkerErrorKind = code === "no_credentials"
        ? "no_credentials"
        : info.kind === "network"
        ? "upstream_unreachable"
        : "http";
      throw new ProxyCallError({
        kind,
        status: response.status,
        message: `${pathOnly(path)} failed: ${message}`,
        ...(code === undefined ? {} : { code }),
      });
    }
    return { body, text };
  }

  /**
   * Call a public Kraken method through the proxy.
   *
   * @param method E.g. `AssetPairs`.
   * @param params Query parameters.
   * @returns The Kraken `result` and the raw body text.
   * @throws {ProxyCallError} On any failure.
   */
  async publicCall(
    method: string,
    params: Record<string, string> = {},
  ): Promise<{ result: unknown; text: string }> {
    const query = new URLSearchParams(params).toString();
    try {
      const { body, text } = await this.getJson(
        `/api/public/${method}${query === "" ? "" : `?${query}`}`,
      );
      if (!isRecord(body) || !("result" in body)) {
        throw new ProxyCallError({
          kind: "http",
          message: `Cannot read ${method}: no result in the answer`,
        });
      }
      this.#onOutcome?.(true);
      return { result: body.result, text };
    } catch (error) {
      const value = error instanceof ProxyCallError ? error.value : {
        kind: "internal" as const,
        message: String(error),
      };
      this.#onOutcome?.(false, value);
      throw error;
    }
  }

  /**
   * Read `/api/config`.
   *
   * @returns The server configuration.
   * @throws {ProxyCallError} On any failure or a bad shape.
   */
  async config(): Promise<ServerConfig> {
    const { body } = await this.getJson("/api/config");
    if (
      !isRecord(body) || typeof body.wsPublicUrl !== "string" ||
      (body.mode !== "live" && body.mode !== "sim")
    ) {
      throw new ProxyCallError({
        kind: "http",
        message: "Cannot read /api/config: unexpected shape",
      });
    }
    return {
      mode: body.mode,
      simulated: body.simulated === true,
      version: String(body.version ?? ""),
      wsPublicUrl: body.wsPublicUrl,
      staleToleranceSec: typeof body.staleToleranceSec === "number" &&
          body.staleToleranceSec > 0
        ? body.staleToleranceSec
        : 60,
      timeframes: Array.isArray(body.timeframes)
        ? body.timeframes.filter((t): t is string => typeof t === "string")
        : [],
      quote: typeof body.quote === "string" ? body.quote : "USD",
      privateData: body.privateData === true,
      tradingMode: String(body.tradingMode ?? "read_only"),
    };
  }

  /**
   * Read the REST part of `/api/status`.
   *
   * @returns Reachability and last error.
   * @throws {ProxyCallError} On any failure.
   */
  async restStatus(): Promise<ServerRestStatus> {
    const { body } = await this.getJson("/api/status");
    const rest = isRecord(body) && isRecord(body.rest) ? body.rest : {};
    return {
      reachable: typeof rest.reachable === "boolean" ? rest.reachable : null,
      lastError: typeof rest.lastError === "string" ? rest.lastError : null,
    };
  }

  /**
   * One `OHLC` page through the proxy.
   *
   * @param pair Pair id.
   * @param options Interval in minutes and `since`.
   * @returns The parsed result.
   * @throws {ProxyCallError} On a failed call.
   */
  async ohlc(
    pair: string,
    options: { interval: number; since?: number },
  ): Promise<OhlcResult> {
    const params: Record<string, string> = {
      pair,
      interval: String(options.interval),
    };
    if (options.since !== undefined) params.since = String(options.since);
    const { result } = await this.publicCall("OHLC", params);
    return parseOhlcResult(result);
  }

  /**
   * One `Trades` page through the proxy.
   *
   * @param pair Pair id.
   * @param options `since` cursor and count.
   * @returns The parsed result.
   * @throws {ProxyCallError} On a failed call.
   */
  async trades(
    pair: string,
    options: { since?: string; count?: number },
  ): Promise<TradesResult> {
    const params: Record<string, string> = { pair };
    if (options.since !== undefined) params.since = options.since;
    if (options.count !== undefined) params.count = String(options.count);
    const { result, text } = await this.publicCall("Trades", params);
    return parseTradesResult(result, text);
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf("?");
  return q === -1 ? path : path.slice(0, q);
}
