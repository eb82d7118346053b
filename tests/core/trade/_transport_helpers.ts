/**
 * Helpers for the transport, stream and order-client tests: live-routed
 * prepared orders, a recording REST caller, and a private WS session on a
 * fake clock and fake sockets with scripted tokens.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CallParams, RestAnswer } from "../../../core/rest/client.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import { type PreparedOrder, prepareOrder } from "../../../core/trade/gates.ts";
import type { PrivateCaller } from "../../../core/trade/rest_transport.ts";
import { PrivateWsSession } from "../../../core/trade/ws_session.ts";
import { FakeClock } from "../../fakes/clock.ts";
import {
  type FakeWebSocket,
  FakeWebSocketFactory,
} from "../../fakes/websocket.ts";
import {
  context,
  entry,
  gateConfig,
  NOW_MS,
  type OrderOverrides,
} from "./_fixtures.ts";

/** A live-mode gate config (both switches on). */
export const LIVE_CONFIG = gateConfig({
  mode: "live",
  enable_live_orders: true,
});

/**
 * A prepared live order (default: the XBTUSD entry of `_fixtures.ts`).
 *
 * @param overrides Order overrides.
 * @param extra Gate context overrides.
 * @returns The prepared order.
 */
export function live(
  overrides: OrderOverrides = {},
  extra: Parameters<typeof context>[0] = {},
): PreparedOrder {
  const result = prepareOrder(
    entry(overrides),
    context({ config: LIVE_CONFIG, liveSwitch: true, ...extra }),
  );
  assert.ok(result.ok, result.ok ? "" : result.rejection.message);
  return result.prepared;
}

/** One call seen by {@linkcode FakeCaller}. */
export interface SeenCall {
  /** Method. */
  method: string;
  /** Params. */
  params: CallParams;
  /** Options. */
  options: { signal?: AbortSignal; pair?: string; tradingCost?: number };
}

/** Answers one call: a result, or throw. */
export type CallHandler = (call: SeenCall) => unknown | Promise<unknown>;

/** A REST caller that records calls and answers from a handler. */
export class FakeCaller implements PrivateCaller {
  /** Every call, in order. */
  readonly calls: SeenCall[] = [];
  /** The handler (replaceable). */
  handler: CallHandler;

  /**
   * Create the fake.
   *
   * @param handler Answers each call with its `result`.
   */
  constructor(handler: CallHandler = () => ({})) {
    this.handler = handler;
  }

  /**
   * Record and answer.
   *
   * @param method Method.
   * @param params Params.
   * @param options Options.
   * @returns The handler's result.
   */
  async callPrivate(
    method: string,
    params: CallParams = {},
    options: SeenCall["options"] = {},
  ): Promise<RestAnswer<unknown>> {
    const call = { method, params, options };
    this.calls.push(call);
    const result = await this.handler(call);
    return { result, warnings: [] };
  }

  /**
   * Calls of one method.
   *
   * @param method The method.
   * @returns The calls.
   */
  of(method: string): SeenCall[] {
    return this.calls.filter((c) => c.method === method);
  }
}

/**
 * A Kraken error as `RestClient` would throw it.
 *
 * @param code The code.
 * @returns The error.
 */
export function krakenError(code: string): KrakenError {
  return KrakenError.fromCodes([code], { method: "AddOrder" });
}

/** A private session on fake sockets and a fake clock. */
export interface WsHarness extends Disposable {
  /** The clock. */
  clock: FakeClock;
  /** The sockets. */
  sockets: FakeWebSocketFactory;
  /** The session. */
  session: PrivateWsSession;
  /** Tokens handed out so far. */
  tokens: string[];
  /** Make the next token fetch fail. */
  failNextToken(): void;
  /** Open the newest socket and let the token arrive. */
  open(): Promise<FakeWebSocket>;
  /** Requests sent on a socket with a method (parsed). */
  sent(socket: FakeWebSocket, method: string): Array<Record<string, unknown>>;
  /** Answer a request. */
  answer(
    socket: FakeWebSocket,
    reqId: unknown,
    method: string,
    body: { result?: unknown; error?: string },
  ): void;
}

/**
 * Builds a {@linkcode WsHarness}.
 *
 * @param options Request timeout.
 * @returns The harness; dispose it to close the session.
 */
export function wsHarness(
  options: { requestTimeoutMs?: number } = {},
): WsHarness {
  const clock = new FakeClock(NOW_MS);
  const sockets = new FakeWebSocketFactory();
  const tokens: string[] = [];
  let fail = false;
  const session = new PrivateWsSession("wss://ws-auth.example.test/v2", {
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0.5,
    getToken: () => {
      if (fail) {
        fail = false;
        return Promise.reject(new Error("token service down"));
      }
      const token = `token-${tokens.length + 1}-0123456789abcdef`;
      tokens.push(token);
      return Promise.resolve(new Secret(token));
    },
    ...options,
  });
  const harness: WsHarness = {
    clock,
    sockets,
    session,
    tokens,
    failNextToken() {
      fail = true;
    },
    async open() {
      const socket = sockets.last();
      socket.open();
      await clock.flush();
      return socket;
    },
    sent(socket, method) {
      return socket.sentMethod(method);
    },
    answer(socket, reqId, method, body) {
      socket.receive({
        method,
        "req_id": reqId,
        success: body.error === undefined,
        ...(body.result === undefined ? {} : { result: body.result }),
        ...(body.error === undefined ? {} : { error: body.error }),
        "time_in": "2025-03-04T10:30:00.000001Z",
        "time_out": "2025-03-04T10:30:00.000002Z",
      });
    },
    [Symbol.dispose]() {
      session.close();
    },
  };
  return harness;
}

/**
 * Waits (without moving fake time) until a socket has sent `count`
 * requests of a method.
 *
 * @param clock The clock.
 * @param socket The socket.
 * @param method The method.
 * @param count How many.
 * @returns The requests.
 */
export async function sentRequests(
  clock: FakeClock,
  socket: FakeWebSocket,
  method: string,
  count = 1,
): Promise<Array<Record<string, unknown>>> {
  await clock.until(() => socket.sentMethod(method).length >= count);
  return socket.sentMethod(method);
}
