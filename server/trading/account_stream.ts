/**
 * The server's private WebSocket v2 connection: `executions` and `balances`
 * on the authenticated endpoint, relayed read-only to the page (SSE). The
 * WS token is fetched by the server through REST, given only to the
 * connection, registered with the log redactor, and never relayed.
 *
 * @module
 */

import { WsConnection, type WsSubscription } from "@krakked/core/ws/connection";
import type { Redactor } from "@krakked/core/secrets/redact";

/** A read-only account event relayed to the page. */
export interface AccountEvent {
  channel: string;
  data: unknown;
}

/** A source of read-only account events (the server's private WS). */
export interface AccountEvents {
  /** Listen; `onEnd` runs when the source closes. Returns an unsubscribe. */
  subscribe(
    listener: (event: AccountEvent) => void,
    onEnd?: () => void,
  ): () => void;
  state(): string;
}

/** The private channels relayed to the page. */
export const ACCOUNT_CHANNELS: readonly string[] = Object.freeze([
  "executions",
  "balances",
]);

/** Most events kept per channel for late listeners (the snapshot stays first). */
const MAX_REPLAY = 1_000;

/** Options of {@linkcode AccountStream}. */
export interface AccountStreamOptions {
  /** The authenticated WS v2 URL (`ws_auth_url`, or the simulator's). */
  url: string;
  /** Fetches a fresh token (REST GetWebSocketsToken), as plain text. */
  getToken: () => Promise<string>;
  /** Every token is registered here so no log line can show it. */
  redactor: Redactor;
  /** WebSocket constructor (tests). */
  WebSocket?: typeof WebSocket;
}

/**
 * Holds the private stream and fans its account events out to listeners.
 *
 * @example Relay to the page
 * ```ts ignore
 * const stream = new AccountStream({ url, getToken, redactor });
 * stream.start();
 * const off = stream.subscribe((e) => console.log(e.channel));
 * ```
 */
export class AccountStream implements AccountEvents {
  #connection: WsConnection;
  #listeners = new Map<
    (event: AccountEvent) => void,
    (() => void) | undefined
  >();
  #subscriptions: WsSubscription[] = [];
  #offFrame: (() => void) | undefined;
  /** Per channel: the last snapshot and the updates since, replayed to late listeners. */
  #history = new Map<string, AccountEvent[]>();

  /**
   * Create the stream (not connected until {@linkcode start}).
   *
   * @param options URL, token source and redactor.
   */
  constructor(options: AccountStreamOptions) {
    const { redactor, getToken } = options;
    this.#connection = new WsConnection(options.url, {
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      getToken: async () => {
        const token = await getToken();
        redactor.register(token);
        return token;
      },
    });
  }

  /** Connect and subscribe to executions and balances. */
  start(): void {
    this.#offFrame = this.#connection.on("frame", (frame) => {
      if (
        frame.kind !== "channel" || !ACCOUNT_CHANNELS.includes(frame.channel)
      ) return;
      const event: AccountEvent = {
        channel: frame.channel,
        data: {
          type: frame.type,
          sequence: frame.sequence ?? null,
          data: frame.data,
        },
      };
      const history = frame.type === "snapshot"
        ? []
        : this.#history.get(frame.channel) ?? [];
      history.push(event);
      if (history.length > MAX_REPLAY) {
        history.splice(1, history.length - MAX_REPLAY);
      }
      this.#history.set(frame.channel, history);
      for (const listener of this.#listeners.keys()) listener(event);
    });
    this.#subscriptions = [
      this.#connection.subscribe({
        channel: "executions",
        authenticated: true,
        extra: { snap_orders: true, snap_trades: false },
      }),
      this.#connection.subscribe({ channel: "balances", authenticated: true }),
    ];
    this.#connection.connect();
  }

  /**
   * Listen to account events.
   *
   * @param listener Called for every executions/balances push.
   * @param onEnd Called when the stream closes.
   * @returns A function that stops listening.
   */
  subscribe(
    listener: (event: AccountEvent) => void,
    onEnd?: () => void,
  ): () => void {
    // A page that connects late first gets each channel's snapshot and the
    // updates since, so it never starts from nothing.
    for (const history of this.#history.values()) {
      for (const event of history) listener(event);
    }
    this.#listeners.set(listener, onEnd);
    return () => void this.#listeners.delete(listener);
  }

  /** @returns The connection phase (`open`, `reconnecting`, …). */
  state(): string {
    return this.#connection.state;
  }

  /** Stop listening and close the connection. */
  close(): void {
    for (const s of this.#subscriptions) s.release();
    this.#subscriptions = [];
    this.#offFrame?.();
    const ends = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const end of ends) end?.();
    this.#connection.close();
  }
}
