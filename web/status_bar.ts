/**
 * The status bar: mode (a loud SIMULATED banner in sim mode), WebSocket
 * state and reconnects, REST reachability, heartbeat age, cache storage.
 * State changes (not the ticking ages) are announced through a polite live
 * region.
 *
 * @module
 */

import type { StatusView } from "../worker/protocol.ts";
import { formatAge } from "./format.ts";

/** The elements the status bar writes to. */
export interface StatusElements {
  /** WebSocket state text. */
  ws: HTMLElement;
  /** Reconnect count. */
  reconnects: HTMLElement;
  /** REST reachability. */
  rest: HTMLElement;
  /** Heartbeat age. */
  heartbeat: HTMLElement;
  /** Cache storage. */
  storage: HTMLElement;
  /** Exchange system status. */
  system: HTMLElement;
  /** Polite live region for announcements. */
  announcer: HTMLElement;
}

function wsLabel(status: StatusView): string {
  switch (status.wsState) {
    case "open":
      return "live";
    case "connecting":
      return status.reconnects > 0 || status.attempt > 0
        ? "reconnecting"
        : "connecting";
    case "waiting":
      return `reconnecting (attempt ${status.attempt + 1})`;
    case "closed":
      return "closed";
    default:
      return status.wsState;
  }
}

function set(el: HTMLElement, text: string, state?: string): void {
  if (el.textContent !== text) el.textContent = text;
  if (state !== undefined && el.dataset.state !== state) {
    el.dataset.state = state;
  }
}

/**
 * The status bar.
 *
 * @example Show status
 * ```ts ignore
 * const bar = new StatusBar(elements);
 * bar.show(batch.status);
 * ```
 */
export class StatusBar {
  #el: StatusElements;
  #last: StatusView | undefined;
  #announcedWs: string | undefined;
  #announcedStorage: string | undefined;

  /**
   * Attach to the elements.
   *
   * @param elements Where to write.
   */
  constructor(elements: StatusElements) {
    this.#el = elements;
  }

  /** The last status shown. */
  get last(): StatusView | undefined {
    return this.#last;
  }

  /**
   * Show a status.
   *
   * @param status The status from the worker.
   */
  show(status: StatusView): void {
    this.#last = status;
    const label = wsLabel(status);
    set(this.#el.ws, label, status.wsState === "open" ? "ok" : "warn");
    if (this.#el.ws.dataset.ws !== status.wsState) {
      this.#el.ws.dataset.ws = status.wsState;
      // Every phase seen, in order (tests and diagnostics read it).
      const seen = this.#el.ws.dataset.seen ?? "";
      this.#el.ws.dataset.seen = seen === ""
        ? status.wsState
        : `${seen} ${status.wsState}`.split(" ").slice(-40).join(" ");
    }
    set(this.#el.reconnects, String(status.reconnects));
    set(
      this.#el.rest,
      status.restReachable === null
        ? "checking"
        : status.restReachable
        ? "reachable"
        : "unreachable",
      status.restReachable === false ? "bad" : "ok",
    );
    const restHint = status.restReachable === false
      ? `Kraken did not answer the server${
        status.restError === undefined ? "" : ` (${status.restError})`
      }. To work offline: deno task serve --sim`
      : "";
    if (this.#el.rest.title !== restHint) this.#el.rest.title = restHint;
    set(
      this.#el.storage,
      status.storage.kind === "indexeddb" ? "IndexedDB" : "memory only",
      status.storage.kind === "indexeddb" ? "ok" : "warn",
    );
    if (status.storage.reason !== undefined) {
      this.#el.storage.title = status.storage.reason;
    }
    set(
      this.#el.system,
      status.system ?? "—",
      status.system === undefined || status.system === "online" ? "ok" : "warn",
    );
    this.tick();
    const wsSummary = status.wsState === "open" ? "live" : "down";
    if (this.#announcedWs !== undefined && wsSummary !== this.#announcedWs) {
      this.#announce(
        wsSummary === "live"
          ? "Market stream is live again"
          : "Market stream lost, reconnecting",
      );
    }
    this.#announcedWs = wsSummary;
    if (
      status.storage.kind !== this.#announcedStorage &&
      this.#announcedStorage !== undefined
    ) {
      this.#announce("Candle cache storage failed; keeping history in memory");
    }
    this.#announcedStorage = status.storage.kind;
  }

  /** Refresh the ages (call once a second). */
  tick(): void {
    const status = this.#last;
    if (status === undefined) return;
    const at = status.lastHeartbeatAtMs ?? status.lastFrameAtMs;
    set(
      this.#el.heartbeat,
      at === undefined ? "—" : `${formatAge(Date.now() - at)} ago`,
    );
  }

  #announce(text: string): void {
    this.#el.announcer.textContent = text;
  }
}
