/**
 * Harness for driving the core WebSocket v2 client ({@linkcode WsConnection})
 * against the simulator's WS side over real loopback sockets.
 *
 * - The simulator runs on a fake clock with its feed timer off
 *   (`tickMs: 0`): {@linkcode ClientHarness.step} moves that clock and runs
 *   one feed step, so the data is counted in steps, not wall time.
 * - The client's clock and timers are a {@linkcode FakeClock} by default
 *   (watchdog, backoff and silent-subscription checks fire only when a test
 *   advances it); `realTimers: true` uses the real `setTimeout` instead.
 * - The client uses the real global `WebSocket`, subclassed only to record
 *   what it sends and to know when each socket has closed (so disposal can
 *   wait for every close handshake and Deno's sanitizers stay quiet).
 * - Waiting is always on an event with a generous bound; a ping/pong round
 *   trip is the barrier after which every frame the simulator sent before
 *   it has been handled (frames on one socket arrive in order).
 *
 * @module
 */

import {
  WsConnection,
  type WsConnectionEventName,
  type WsConnectionEvents,
  type WsConnectionOptions,
} from "../../../core/ws/connection.ts";
import { buildPing } from "../../../core/ws/protocol.ts";
import { type SimulatorWithWs, startSimulatorWithWs } from "@krakked/sim";
import { FakeClock } from "../../fakes/clock.ts";

/** The simulator's start time (a weekday noon, well inside its history). */
export const START_MS = Date.UTC(2025, 0, 10, 12, 0, 0);
/** Bound of every wait on a real event (generous: only a hang reaches it). */
export const WAIT_MS = 10_000;

/** Options of {@linkcode startClientHarness}. */
export interface ClientHarnessOptions {
  /** Simulator seed (default 3). */
  seed?: number;
  /** Use real timers and `Date.now` for the client instead of a fake clock. */
  realTimers?: boolean;
  /** Connection options (tunables); clock and WebSocket are set here. */
  connection?: WsConnectionOptions;
}

/** A running simulator, a client connection and the means to drive both. */
export class ClientHarness implements AsyncDisposable {
  /** The simulator. */
  readonly sim: SimulatorWithWs;
  /** The simulator's clock, ms. */
  readonly market: { nowMs: number };
  /** The client's fake clock (`undefined` with real timers). */
  readonly clientClock: FakeClock | undefined;
  /** The client under test. */
  readonly connection: WsConnection;
  /** Every text frame the client sent, on any socket, in order. */
  readonly sent: string[];
  #sockets: Promise<void>[];
  #cancels = new Set<() => void>();

  constructor(parts: {
    sim: SimulatorWithWs;
    market: { nowMs: number };
    clientClock: FakeClock | undefined;
    connection: WsConnection;
    sent: string[];
    sockets: Promise<void>[];
  }) {
    this.sim = parts.sim;
    this.market = parts.market;
    this.clientClock = parts.clientClock;
    this.connection = parts.connection;
    this.sent = parts.sent;
    this.#sockets = parts.sockets;
  }

  /** The client's fake clock; throws when the harness uses real timers. */
  get clock(): FakeClock {
    if (this.clientClock === undefined) {
      throw new TypeError("This harness uses real timers: no fake clock");
    }
    return this.clientClock;
  }

  /** Sockets the client has opened so far. */
  get socketCount(): number {
    return this.#sockets.length;
  }

  /**
   * Move the simulator's clock and run one feed step.
   *
   * @param ms How far to move, ms.
   */
  step(ms: number): void {
    this.market.nowMs += ms;
    this.sim.ws.tick();
  }

  /**
   * Resolve with the next payload of `event` that matches. Call before the
   * action that causes the event.
   *
   * @param event Event name.
   * @param match Filter.
   * @param what Description for the timeout error.
   * @returns The payload.
   */
  next<K extends WsConnectionEventName>(
    event: K,
    match: (payload: WsConnectionEvents[K]) => boolean = () => true,
    what: string = event,
  ): Promise<WsConnectionEvents[K]> {
    return this.#bounded<WsConnectionEvents[K]>(
      what,
      (resolve) =>
        this.connection.on(event, (payload) => {
          if (match(payload)) resolve(payload);
        }),
    );
  }

  /**
   * Resolve once `condition()` holds, checking now and after every listed
   * event.
   *
   * @param condition What to wait for.
   * @param events Events after which to check again.
   * @param what Description for the timeout error.
   */
  until(
    condition: () => boolean,
    events: readonly WsConnectionEventName[],
    what: string,
  ): Promise<void> {
    if (condition()) return Promise.resolve();
    return this.#bounded<void>(what, (resolve) => {
      const offs = events.map((event) =>
        this.connection.on(event, () => {
          if (condition()) resolve();
        })
      );
      return () => offs.forEach((off) => off());
    });
  }

  /**
   * Barrier: send a ping and wait for its pong, so every frame the simulator
   * sent before answering has been handled by the client.
   */
  async sync(): Promise<void> {
    const reqId = this.connection.nextReqId();
    const pong = this.next(
      "frame",
      (f) => f.kind === "pong" && f.reqId === reqId,
      `pong ${reqId}`,
    );
    if (!this.connection.send(buildPing({ reqId }))) {
      pong.catch(() => {}); // its timer is cleared on dispose
      throw new Error(`Cannot sync: no open socket (${this.connection.state})`);
    }
    await pong;
  }

  /**
   * Frames the client sent from index `from` on, parsed.
   *
   * @param from Index into {@linkcode ClientHarness.sent}.
   * @param method Only this method (`subscribe`, `unsubscribe`, `ping`).
   * @returns The requests.
   */
  sentSince(
    from: number,
    method?: string,
  ): { method: string; params: Record<string, unknown> }[] {
    return this.sent.slice(from)
      .map((text) =>
        JSON.parse(text) as { method: string; params: Record<string, unknown> }
      )
      .filter((r) => method === undefined || r.method === method);
  }

  #bounded<T>(
    what: string,
    listen: (resolve: (value: T) => void) => () => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let off: () => void = () => {};
      const cancel = () => {
        clearTimeout(timer);
        off();
        this.#cancels.delete(cancel);
      };
      const timer = setTimeout(() => {
        cancel();
        reject(new Error(`Timed out waiting for ${what}`));
      }, WAIT_MS);
      this.#cancels.add(cancel);
      off = listen((value) => {
        cancel();
        resolve(value);
      });
    });
  }

  #cancelAll(): void {
    for (const cancel of [...this.#cancels]) cancel();
  }

  /** Close the client, wait for every socket to close, stop the simulator. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#cancelAll();
    this.connection.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.all(this.#sockets),
        new Promise((resolve) => (timer = setTimeout(resolve, WAIT_MS))),
      ]);
    } finally {
      clearTimeout(timer);
      await this.sim.close();
    }
  }
}

/**
 * Start a simulator with its WS side and a client connection (not yet
 * connected: subscribe, then call `connection.connect()`).
 *
 * @param options Seed, timers and connection tunables.
 * @returns The harness; `await using` closes everything.
 */
export async function startClientHarness(
  options: ClientHarnessOptions = {},
): Promise<ClientHarness> {
  const market = { nowMs: START_MS };
  const sim = await startSimulatorWithWs({
    port: 0,
    seed: options.seed ?? 3,
    now: () => market.nowMs,
    closedOrders: 4,
    ws: { tickMs: 0 },
  });
  const sent: string[] = [];
  const sockets: Promise<void>[] = [];
  // The real WebSocket, spied on: records sends and each socket's close.
  class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(
        new Promise((resolve) =>
          this.addEventListener("close", () => resolve())
        ),
      );
    }
    override send(
      data: string | ArrayBufferLike | Blob | ArrayBufferView,
    ): void {
      if (typeof data === "string") sent.push(data);
      super.send(data);
    }
  }
  const clientClock = options.realTimers ? undefined : new FakeClock(START_MS);
  const connection = new WsConnection(sim.wsPublicUrl, {
    random: () => 0.5,
    ...options.connection,
    WebSocket: RecordingWebSocket,
    ...(clientClock
      ? { now: clientClock.now, setTimer: clientClock.setTimer }
      : {}),
  });
  return new ClientHarness({
    sim,
    market,
    clientClock,
    connection,
    sent,
    sockets,
  });
}
