/**
 * A scripted WebSocket for tests: records what the client sends, lets the
 * test open, feed, error and close it, and a factory that records every
 * instance a client creates. Events fire synchronously, so a test needs no
 * sleeps. Shape: the standard `WebSocket` (`on*` handlers and
 * `addEventListener`).
 *
 * @module
 */

type Handler = (event: unknown) => void;

/** The close details a fake socket received from the client. */
export interface FakeCloseCall {
  /** Close code passed to `close()`. */
  code: number | undefined;
  /** Reason passed to `close()`. */
  reason: string | undefined;
}

/** One scripted socket. */
export class FakeWebSocket {
  /** `readyState` while connecting. */
  static readonly CONNECTING = 0;
  /** `readyState` while open. */
  static readonly OPEN = 1;
  /** `readyState` while closing. */
  static readonly CLOSING = 2;
  /** `readyState` once closed. */
  static readonly CLOSED = 3;

  /** The URL it was created with. */
  readonly url: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readyState = FakeWebSocket.CONNECTING;
  /** Every text the client sent, in order. */
  readonly sent: string[] = [];
  /** Set when the client called `close()`. */
  closedByClient: FakeCloseCall | undefined;

  /** Handler property, as on the standard WebSocket. */
  onopen: ((event: unknown) => void) | null = null;
  /** Handler property, as on the standard WebSocket. */
  onmessage: ((event: { data: unknown }) => void) | null = null;
  /** Handler property, as on the standard WebSocket. */
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  /** Handler property, as on the standard WebSocket. */
  onerror: ((event: unknown) => void) | null = null;

  #listeners = new Map<string, Set<Handler>>();

  /**
   * Create a socket in the CONNECTING state.
   *
   * @param url The URL.
   */
  constructor(url: string) {
    this.url = url;
  }

  /**
   * Add a listener, as on the standard WebSocket.
   *
   * @param type `open`, `message`, `close` or `error`.
   * @param fn The listener.
   */
  addEventListener(type: string, fn: Handler): void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(fn);
  }

  /**
   * Remove a listener.
   *
   * @param type Event type.
   * @param fn The listener.
   */
  removeEventListener(type: string, fn: Handler): void {
    this.#listeners.get(type)?.delete(fn);
  }

  /**
   * Record a frame; like a real socket, throws while connecting.
   *
   * @param data The frame text.
   * @throws {DOMException} When the socket is not open yet.
   */
  send(data: string): void {
    if (this.readyState === FakeWebSocket.CONNECTING) {
      throw new DOMException("Still in CONNECTING state", "InvalidStateError");
    }
    if (this.readyState !== FakeWebSocket.OPEN) return;
    this.sent.push(data);
  }

  /**
   * Client-side close: records the call and fires `close` (code 1005 when
   * none was given), as a real socket eventually does.
   *
   * @param code Close code.
   * @param reason Close reason.
   */
  close(code?: number, reason?: string): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.closedByClient = { code, reason };
    this.readyState = FakeWebSocket.CLOSED;
    this.#fire("close", { code: code ?? 1005, reason: reason ?? "" });
  }

  // ---- test controls ----

  /** Server accepted: fire `open`. */
  open(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.#fire("open", {});
  }

  /**
   * Play a frame from the server.
   *
   * @param frame Text, or a value sent as its JSON text.
   */
  receive(frame: unknown): void {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.#fire("message", { data });
  }

  /**
   * Play a frame whose data is not text (a binary frame).
   *
   * @param data The data.
   */
  receiveRaw(data: unknown): void {
    this.#fire("message", { data });
  }

  /**
   * Server-side drop: fire `close`.
   *
   * @param code Close code (default 1006, abnormal).
   * @param reason Close reason.
   */
  drop(code = 1006, reason = ""): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.#fire("close", { code, reason });
  }

  /** Fire `error` (a real socket then closes; call `drop()` for that). */
  error(): void {
    this.#fire("error", {});
  }

  /**
   * The sent frames parsed as JSON.
   *
   * @returns One value per sent frame.
   */
  sentJson(): Record<string, unknown>[] {
    return this.sent.map((text) => JSON.parse(text));
  }

  /**
   * The sent requests with a given method.
   *
   * @param method E.g. `subscribe`.
   * @returns The parsed requests.
   */
  sentMethod(method: string): Record<string, unknown>[] {
    return this.sentJson().filter((m) => m.method === method);
  }

  #fire(type: string, event: unknown): void {
    const property = (this as unknown as Record<string, unknown>)[`on${type}`];
    if (typeof property === "function") property.call(this, event);
    for (const fn of [...(this.#listeners.get(type) ?? [])]) fn(event);
  }
}

/** Records every socket created through its `WebSocket` constructor. */
export class FakeWebSocketFactory {
  /** Every socket created, in order. */
  readonly instances: FakeWebSocket[] = [];
  /** A constructor to inject as `WebSocket`. */
  readonly WebSocket: new (url: string) => FakeWebSocket;

  /** Create a factory. */
  constructor() {
    const instances = this.instances;
    this.WebSocket = class extends FakeWebSocket {
      constructor(url: string) {
        super(url);
        instances.push(this);
      }
    };
  }

  /**
   * The most recently created socket.
   *
   * @returns The socket.
   * @throws {Error} When none was created.
   */
  last(): FakeWebSocket {
    const socket = this.instances.at(-1);
    if (socket === undefined) throw new Error("No socket was created");
    return socket;
  }
}
