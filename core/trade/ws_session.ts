/**
 * One authenticated WebSocket v2 session (`wss://ws-auth.kraken.com/v2`)
 * shared by the order transport and the private streams: the
 * {@linkcode WsConnection} (reconnects, resubscribes), one session token per
 * connection fetched through REST `GetWebSocketsToken`, and request/answer
 * matching by `req_id` with a per-request timeout.
 *
 * Token rules (WS_V2.md §1.3, §8.2): a fresh token for every new connection;
 * an answer `EAPI:Invalid token` or `ESession:Invalid session` drops the
 * token and replaces the connection, which fetches a new one. The token is
 * only ever put into outgoing frames; it never appears in errors or events.
 *
 * @module
 */

import {
  type CancelTimer,
  type Now,
  type SetTimer,
  systemClock,
} from "../clock.ts";
import type { KrakenError } from "../rest/errors.ts";
import {
  KrakenError as KrakenErrorClass,
  LOCAL_CODES,
} from "../rest/errors.ts";
import type { Secret } from "../secrets/secret.ts";
import { WsConnection, type WsConnectionOptions } from "../ws/connection.ts";
import type { MethodResponseFrame } from "../ws/protocol.ts";
import { CONNECTION_LOST_CODE, notSentError } from "./transport.ts";

/** Where a session token comes from (e.g. `RestClient.getWebSocketsToken`). */
export type TokenSource = () => Promise<Secret | string>;

/** Options of {@linkcode PrivateWsSession}. */
export interface PrivateWsSessionOptions
  extends Omit<WsConnectionOptions, "getToken"> {
  /** Fetches a fresh token. */
  getToken: TokenSource;
  /**
   * Per-request timeout, ms (default 10 000): for the socket to open, then
   * again from the moment the frame is written to its last answer.
   */
  requestTimeoutMs?: number;
  /** Use this connection instead of creating one (its `getToken` must call {@linkcode PrivateWsSession.token}). */
  connection?: WsConnection;
}

/** Options of {@linkcode PrivateWsSession.request}. */
export interface WsRequestOptions {
  /**
   * Answer frames to collect before resolving (default 1). `cancel_order`
   * answers once per cancelled order with the same `req_id`.
   */
  frames?: number;
  /** Abort while waiting to send (a sent request stays sent). */
  signal?: AbortSignal;
  /** Timeout override, ms. */
  timeoutMs?: number;
  /** Called right before the frame is written (e.g. a rate limiter). */
  beforeSend?: () => Promise<void>;
}

/** The answer frames of one request. */
export interface WsAnswer {
  /** The frames, in arrival order (fewer than asked when the timeout cut a multi-frame answer short). */
  frames: MethodResponseFrame[];
  /** When the request was written, ms. */
  sentAtMs: number;
}

interface Waiting {
  method: string;
  frames: MethodResponseFrame[];
  expected: number;
  resolve: (answer: WsAnswer) => void;
  reject: (error: KrakenError) => void;
  cancelTimer: CancelTimer;
  sentAtMs: number;
}

const STALE_TOKEN =
  /^\s*(EAPI\s*:\s*Invalid token|ESession\s*:\s*Invalid session)/i;

/**
 * Whether an error string says the session token is stale.
 *
 * @param error The error string.
 * @returns `true` for `EAPI:Invalid token` and `ESession:Invalid session`.
 * @example Stale
 * ```ts
 * import { isStaleTokenError } from "./ws_session.ts";
 * isStaleTokenError("EAPI:Invalid token"); // true
 * ```
 */
export function isStaleTokenError(error: string | undefined): boolean {
  return error !== undefined && STALE_TOKEN.test(error);
}

function reveal(token: Secret | string): string {
  return typeof token === "string" ? token : token.reveal();
}

/** A failure of a WS request that Kraken answered. */
function answerError(method: string, error: string | undefined): KrakenError {
  const code = error ?? "Krakked:Bad envelope";
  return new KrakenErrorClass(`Kraken ${method} request failed: ${code}`, {
    codes: [code],
    method,
  });
}

/**
 * The authenticated WebSocket v2 session.
 *
 * @example Send a trading request
 * ```ts ignore
 * import { PrivateWsSession } from "./ws_session.ts";
 * const session = new PrivateWsSession("wss://ws-auth.kraken.com/v2", {
 *   getToken: async () => (await rest.getWebSocketsToken()).token,
 * });
 * session.connect();
 * const answer = await session.request("cancel_all", {});
 * session.close();
 * ```
 */
export class PrivateWsSession {
  #connection: WsConnection;
  #getToken: TokenSource;
  #timeoutMs: number;
  #now: Now;
  #setTimer: SetTimer;
  #token: { generation: number; value: Promise<string> } | undefined;
  #generation = 0;
  #waiting = new Map<number, Waiting>();
  #openWaiters = new Set<() => void>();
  #offs: Array<() => void> = [];
  #tokenRefreshes = 0;
  #closed = false;

  /**
   * Creates the session; nothing happens until {@linkcode connect}.
   *
   * @param url The authenticated endpoint.
   * @param options Token source, timeouts and the connection's options.
   * @throws {RangeError} For a non-positive timeout.
   */
  constructor(url: string, options: PrivateWsSessionOptions) {
    const {
      getToken,
      requestTimeoutMs,
      connection,
      ...connectionOptions
    } = options;
    this.#getToken = getToken;
    this.#timeoutMs = requestTimeoutMs ?? 10_000;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(
        `Cannot create a private WebSocket session: requestTimeoutMs must be > 0, got ${this.#timeoutMs}`,
      );
    }
    this.#now = options.now ?? systemClock.now;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#connection = connection ?? new WsConnection(url, {
      ...connectionOptions,
      getToken: () => this.token(),
    });
    const ws = this.#connection;
    // A new socket is a new session: its first private request needs a new token.
    this.#offs.push(ws.on("connecting", () => this.#newGeneration()));
    this.#offs.push(ws.on("closed", () => {
      this.#newGeneration();
      this.#failAll();
    }));
    this.#offs.push(ws.on("open", () => {
      for (const wake of [...this.#openWaiters]) wake();
    }));
    this.#offs.push(ws.on("frame", (frame) => {
      if (frame.kind === "response") this.#onResponse(frame);
    }));
    this.#offs.push(ws.on("subscription_error", (event) => {
      if (isStaleTokenError(event.error)) this.refreshToken();
    }));
  }

  /** The underlying connection (for subscriptions and events). */
  get connection(): WsConnection {
    return this.#connection;
  }

  /** Tokens dropped because Kraken called them stale. */
  get tokenRefreshes(): number {
    return this.#tokenRefreshes;
  }

  /** Requests awaiting an answer. */
  get inflight(): number {
    return this.#waiting.size;
  }

  /** Starts connecting (and reconnecting until {@linkcode close}). */
  connect(): void {
    this.#connection.connect();
  }

  /** Closes the connection; pending requests fail as connection lost. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close();
    for (const off of this.#offs) off();
    this.#failAll();
    for (const wake of [...this.#openWaiters]) wake();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The token of the current connection, fetched on first need. Every new
   * connection gets a fresh one.
   *
   * @returns The token text (only ever put into outgoing frames).
   * @throws {Error} Whatever the token source threw.
   */
  token(): Promise<string> {
    const current = this.#token;
    if (current !== undefined && current.generation === this.#generation) {
      return current.value;
    }
    const generation = this.#generation;
    const value = this.#getToken().then(reveal);
    // A failed fetch is not cached: the next request asks again.
    value.catch(() => {
      if (this.#token?.value === value) this.#token = undefined;
    });
    this.#token = { generation, value };
    return value;
  }

  /**
   * Drops the token and replaces the connection (which fetches a new one).
   *
   * @example After `EAPI:Invalid token`
   * ```ts ignore
   * session.refreshToken();
   * ```
   */
  refreshToken(): void {
    this.#tokenRefreshes++;
    this.#token = undefined;
    if (!this.#closed) this.#connection.reconnect("Session token is stale");
  }

  /**
   * Sends one request with the session token and waits for its answer
   * frame(s), matched by `req_id`.
   *
   * Fails with {@linkcode notSentError} when the socket did not open in
   * time, the token could not be had or `signal` aborted before sending;
   * with `Krakked:Timeout` when sent but unanswered in time; with
   * `Krakked:Connection lost` when the socket closed before the answer; and
   * with Kraken's own error string when Kraken refused. A stale-token answer
   * also triggers {@linkcode refreshToken}.
   *
   * @param method The method, e.g. `add_order`.
   * @param params The params without `token`.
   * @param options Frames to collect, timeout, signal, pre-send hook.
   * @returns The answer frames (every one successful for single-frame requests).
   * @throws {KrakenError} As described.
   */
  request(
    method: string,
    params: Readonly<Record<string, unknown>>,
    options: WsRequestOptions = {},
  ): Promise<WsAnswer> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadlineMs = this.#now() + timeoutMs;
    return this.#send(method, params, options, deadlineMs, timeoutMs);
  }

  async #send(
    method: string,
    params: Readonly<Record<string, unknown>>,
    options: WsRequestOptions,
    deadlineMs: number,
    timeoutMs: number,
  ): Promise<WsAnswer> {
    const signal = options.signal;
    const token = await this.#ready(method, deadlineMs, signal);
    if (options.beforeSend !== undefined) {
      try {
        await options.beforeSend();
      } catch (error) {
        throw notSentError(method, "the pre-send wait failed", error);
      }
      if (signal?.aborted) throw notSentError(method, "aborted by the caller");
    }
    if (this.#closed || this.#connection.state !== "open") {
      throw notSentError(method, "the connection is not open");
    }
    const reqId = this.#connection.nextReqId();
    const frame = JSON.stringify({
      method,
      params: { ...params, token },
      "req_id": reqId,
    });
    return await new Promise<WsAnswer>((resolve, reject) => {
      const waiting: Waiting = {
        method,
        frames: [],
        expected: Math.max(1, options.frames ?? 1),
        resolve,
        reject,
        cancelTimer: () => {},
        sentAtMs: this.#now(),
      };
      this.#waiting.set(reqId, waiting);
      if (!this.#connection.send(frame)) {
        this.#waiting.delete(reqId);
        reject(notSentError(method, "the socket refused the frame"));
        return;
      }
      waiting.cancelTimer = this.#setTimer(() => {
        if (this.#waiting.get(reqId) !== waiting) return;
        this.#waiting.delete(reqId);
        if (waiting.frames.length > 0) {
          resolve({ frames: waiting.frames, sentAtMs: waiting.sentAtMs });
          return;
        }
        reject(
          new KrakenErrorClass(
            `Kraken ${method} request got no answer within ${timeoutMs} ms`,
            { codes: [LOCAL_CODES.timeout], method },
          ),
        );
      }, timeoutMs);
    });
  }

  /** Waits for an open socket and its token, within the deadline. */
  async #ready(
    method: string,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    for (;;) {
      if (signal?.aborted) throw notSentError(method, "aborted by the caller");
      if (this.#closed) {
        throw notSentError(method, "the session is closed");
      }
      if (this.#connection.state === "open") {
        const generation = this.#generation;
        let token: string;
        try {
          token = await this.token();
        } catch (error) {
          throw notSentError(
            method,
            `no session token (${
              error instanceof Error ? error.name : typeof error
            })`,
            error,
          );
        }
        if (
          generation === this.#generation &&
          this.#connection.state === "open"
        ) {
          return token;
        }
        continue;
      }
      const waitMs = deadlineMs - this.#now();
      if (waitMs <= 0) {
        throw notSentError(method, "the socket did not open in time");
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#openWaiters.delete(done);
          cancel();
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const cancel = this.#setTimer(done, waitMs);
        this.#openWaiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  #onResponse(frame: MethodResponseFrame): void {
    if (frame.reqId === undefined) return;
    const waiting = this.#waiting.get(frame.reqId);
    if (waiting === undefined) return;
    if (!frame.success && isStaleTokenError(frame.error)) {
      this.#waiting.delete(frame.reqId);
      waiting.cancelTimer();
      waiting.reject(answerError(waiting.method, frame.error));
      this.refreshToken();
      return;
    }
    waiting.frames.push(frame);
    if (waiting.expected === 1 && !frame.success) {
      this.#waiting.delete(frame.reqId);
      waiting.cancelTimer();
      waiting.reject(answerError(waiting.method, frame.error));
      return;
    }
    if (waiting.frames.length >= waiting.expected) {
      this.#waiting.delete(frame.reqId);
      waiting.cancelTimer();
      waiting.resolve({ frames: waiting.frames, sentAtMs: waiting.sentAtMs });
    }
  }

  #newGeneration(): void {
    this.#generation++;
    this.#token = undefined;
  }

  #failAll(): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) {
      w.cancelTimer();
      if (w.frames.length > 0) {
        w.resolve({ frames: w.frames, sentAtMs: w.sentAtMs });
        continue;
      }
      w.reject(
        new KrakenErrorClass(
          `Kraken ${w.method} request lost its connection before the answer`,
          { codes: [CONNECTION_LOST_CODE], method: w.method, kind: "network" },
        ),
      );
    }
  }
}
