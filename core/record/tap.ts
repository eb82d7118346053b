/**
 * A WebSocket constructor that shows every received text frame to a
 * listener before the client sees it. The recorder needs the raw frame for
 * bronze (the WS client hands out parsed frames only) and which socket it
 * came on; wrapping the injected constructor gives both without touching the
 * client, which still does connecting, heartbeats, reconnects and
 * resubscribing.
 *
 * @module
 */

import type {
  SocketHandler,
  WebSocketConstructor,
  WebSocketLike,
} from "../ws/connection.ts";

/** Called with each text frame and the number of the socket (1, 2, …). */
export type FrameTap = (text: string, socket: number) => void;

/**
 * Wrap a WebSocket constructor so `tap` sees every text frame first.
 *
 * @param Inner The real constructor (e.g. `globalThis.WebSocket`).
 * @param tap Receives each text frame and its socket's number (sockets are
 *   numbered from 1 in the order they are opened).
 * @returns A constructor to give the WS client.
 * @example Tap
 * ```ts ignore
 * import { tapWebSocket } from "./tap.ts";
 * import { WsConnection } from "../ws/connection.ts";
 * const ws = new WsConnection(url, {
 *   WebSocket: tapWebSocket(WebSocket, (text, n) => record(text, n)),
 * });
 * ```
 */
export function tapWebSocket(
  Inner: WebSocketConstructor,
  tap: FrameTap,
): WebSocketConstructor {
  let sockets = 0;
  return class TappedSocket implements WebSocketLike {
    #inner: WebSocketLike;
    #number: number;
    #onmessage: SocketHandler<{ data: unknown }> | null = null;

    constructor(url: string) {
      this.#inner = new Inner(url);
      this.#number = ++sockets;
      this.#inner.onmessage = (event: { data: unknown }) => {
        if (typeof event.data === "string") tap(event.data, this.#number);
        this.#onmessage?.(event);
      };
    }

    get readyState(): number {
      return this.#inner.readyState;
    }
    get onopen(): SocketHandler<unknown> | null {
      return this.#inner.onopen;
    }
    set onopen(fn: SocketHandler<unknown> | null) {
      this.#inner.onopen = fn;
    }
    get onmessage(): SocketHandler<{ data: unknown }> | null {
      return this.#onmessage;
    }
    set onmessage(fn: SocketHandler<{ data: unknown }> | null) {
      this.#onmessage = fn;
    }
    get onclose(): SocketHandler<{ code: number; reason: string }> | null {
      return this.#inner.onclose;
    }
    set onclose(fn: SocketHandler<{ code: number; reason: string }> | null) {
      this.#inner.onclose = fn;
    }
    get onerror(): SocketHandler<unknown> | null {
      return this.#inner.onerror;
    }
    set onerror(fn: SocketHandler<unknown> | null) {
      this.#inner.onerror = fn;
    }
    send(data: string): void {
      this.#inner.send(data);
    }
    close(code?: number, reason?: string): void {
      this.#inner.close(code, reason);
    }
  };
}
