/**
 * The account relay: the page's view of the server's one private stream.
 * Core's {@linkcode PrivateStream} owns the private WebSocket v2 connection
 * (`executions`, `balances`), checks each channel's `sequence` and resyncs
 * from REST after a gap or a reconnect; the order service follows the same
 * stream. The relay forwards its normalized events, as they are, to every
 * listener (the page's server-sent events), and replays them to a listener
 * that arrives late. The WS token never reaches it.
 *
 * Relayed events, by `channel`: `executions` and `balances` (snapshots and
 * updates), `resync` (REST's open orders and balances, which replace what
 * the page holds) and `gap` (for the page's counter). The account service
 * adds its own through {@linkcode AccountRelay.publish}: `account` (the
 * `/api/account` document; the newest one is replayed) and
 * `account_drift` (a reconciliation that found drift).
 *
 * @module
 */

import type {
  PrivateChannel,
  PrivateStream,
  PrivateStreamEvent,
} from "@krakked/core/trade/private_stream";

/** A read-only account event relayed to the page. */
export interface AccountEvent {
  /** The SSE event name: the core event's `type`. */
  channel: string;
  /** The core event, as JSON. */
  data: unknown;
}

/** A source of read-only account events (the server's private stream). */
export interface AccountEvents {
  /** Listen; `onEnd` runs when the source closes. Returns an unsubscribe. */
  subscribe(
    listener: (event: AccountEvent) => void,
    onEnd?: () => void,
  ): () => void;
  /** The private connection's phase (`open`, `reconnecting`, …). */
  state(): string;
}

/** The core events the page gets. */
type RelayedEvent = Extract<
  PrivateStreamEvent,
  { type: "executions" | "balances" | "resync" | "gap" }
>;

/** One replayable event and the channels it still describes. */
interface Entry {
  event: AccountEvent;
  channels: Set<PrivateChannel>;
}

/** Options of {@linkcode AccountRelay}. */
export interface AccountRelayOptions {
  /** The private connection's phase, for `/api/status`. */
  state: () => string;
  /**
   * Most events kept for late listeners before the relay asks the stream
   * to resync, whose answer replaces them (default 1000).
   */
  maxReplay?: number;
}

/**
 * Fans the private stream's account events out to listeners.
 *
 * A late listener gets the events that make up the account now: the newest
 * snapshot or resync of each channel and the updates since. An older event
 * is dropped once a newer snapshot or resync covers every channel it
 * touched.
 *
 * @example Relay to the page
 * ```ts ignore
 * const relay = new AccountRelay(stream, { state: () => session.connection.state });
 * const off = relay.subscribe((e) => console.log(e.channel));
 * ```
 */
export class AccountRelay implements AccountEvents {
  #stream: Pick<PrivateStream, "on" | "resync">;
  #state: () => string;
  #maxReplay: number;
  #off: () => void;
  #listeners = new Map<
    (event: AccountEvent) => void,
    (() => void) | undefined
  >();
  #log: Entry[] = [];
  #resyncAsked = false;
  #latest = new Map<string, AccountEvent>();

  /**
   * Start relaying (the stream itself is started by its owner).
   *
   * @param stream The server's private stream.
   * @param options The connection's phase and the replay bound.
   */
  constructor(
    stream: Pick<PrivateStream, "on" | "resync">,
    options: AccountRelayOptions,
  ) {
    this.#stream = stream;
    this.#state = options.state;
    this.#maxReplay = options.maxReplay ?? 1_000;
    this.#off = stream.on((event) => this.#onEvent(event));
  }

  /**
   * Listen to account events. The replay comes first, synchronously.
   *
   * @param listener Called for every relayed event.
   * @param onEnd Called when the relay closes.
   * @returns A function that stops listening.
   */
  subscribe(
    listener: (event: AccountEvent) => void,
    onEnd?: () => void,
  ): () => void {
    for (const entry of this.#log) listener(entry.event);
    for (const event of this.#latest.values()) listener(event);
    this.#listeners.set(listener, onEnd);
    return () => void this.#listeners.delete(listener);
  }

  /** @returns The private connection's phase. */
  state(): string {
    return this.#state();
  }

  /** Events kept for late listeners. */
  get replayLength(): number {
    return this.#log.length;
  }

  /**
   * Sends an event that does not come from the stream (the account
   * service's document and drift reports) to every listener.
   *
   * @param event The event.
   * @param replay Keep it (replacing the previous one of its channel) for
   *   late listeners.
   */
  publish(event: AccountEvent, replay = false): void {
    if (replay) this.#latest.set(event.channel, event);
    for (const listener of [...this.#listeners.keys()]) listener(event);
  }

  /** Stop relaying and end every listener (the stream is closed by its owner). */
  close(): void {
    this.#off();
    this.#log = [];
    this.#latest.clear();
    const ends = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const end of ends) end?.();
  }

  #onEvent(event: PrivateStreamEvent): void {
    if (!isRelayed(event)) {
      if (event.type === "resync_failed") this.#resyncAsked = false;
      return;
    }
    const relayed: AccountEvent = { channel: event.type, data: event };
    this.#remember(event, relayed);
    for (const listener of [...this.#listeners.keys()]) listener(relayed);
  }

  #remember(event: RelayedEvent, relayed: AccountEvent): void {
    switch (event.type) {
      case "gap":
        // Not account state: nothing to replay.
        return;
      case "resync":
        this.#resyncAsked = false;
        this.#base(
          event.result.balances === null
            ? ["executions"]
            : ["executions", "balances"],
          relayed,
        );
        return;
      case "executions":
      case "balances":
        if (event.kind === "snapshot") this.#base([event.type], relayed);
        else {
          this.#log.push({ event: relayed, channels: new Set([event.type]) });
        }
    }
    if (this.#log.length > this.#maxReplay && !this.#resyncAsked) {
      // A resync replaces the log with one event; until it answers, keep all.
      this.#resyncAsked = true;
      void this.#stream.resync("manual");
    }
  }

  /** A snapshot or resync: older events about these channels are superseded. */
  #base(channels: PrivateChannel[], relayed: AccountEvent): void {
    this.#log = this.#log.filter((entry) => {
      for (const channel of channels) entry.channels.delete(channel);
      return entry.channels.size > 0;
    });
    this.#log.push({ event: relayed, channels: new Set(channels) });
  }
}

function isRelayed(event: PrivateStreamEvent): event is RelayedEvent {
  return event.type === "executions" || event.type === "balances" ||
    event.type === "resync" || event.type === "gap";
}
