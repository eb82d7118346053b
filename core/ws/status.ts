/**
 * The data status: one plain object that says how healthy the live data is
 * (WS state, reconnects, subscriptions, fresh and stale pairs, book
 * integrity, malformed frames, heartbeat age, exchange status). It is built
 * from snapshots by a pure function, so the server's `/api/health`, the
 * worker and tests all compute it the same way, and it serialises to JSON.
 *
 * @module
 */

import type { BookInfo, WsConnectionSnapshot } from "./connection.ts";
import type { ConnectionPhase } from "./_connection_fsm.ts";
import type { LiveFreshness } from "./live.ts";

/** Counts of subscription entries by state. */
export interface SubscriptionCounts {
  /** All entries. */
  total: number;
  /** Acknowledged. */
  active: number;
  /** Sent, awaiting an ack. */
  pending: number;
  /** Not sent yet (no socket, or waiting for a token). */
  idle: number;
  /** Refused by the exchange (see `errors`). */
  failed: number;
  /** Acked but delivered nothing even after a resubscribe. */
  silent: number;
  /** The refused entries. */
  errors: { channel: string; symbol: string | undefined; error: string }[];
}

/** Totals over all books. */
export interface BookTotals {
  /** Books with a verified checksum. */
  ok: number;
  /** Books waiting for a fresh snapshot. */
  resyncing: number;
  /** Books with no snapshot yet. */
  empty: number;
  /** Checksum mismatches over all tracked books. */
  checksumFailures: number;
  /** Re-snapshot requests sent. */
  resubscribes: number;
}

/** The data status. */
export interface WsDataStatus {
  /** WS lifecycle phase. */
  state: ConnectionPhase;
  /** Whether the socket is open. */
  connected: boolean;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Consecutive attempts since the connection was last healthy. */
  attempt: number;
  /** Subscription entries by state. */
  subscriptions: SubscriptionCounts;
  /** Pairs with data within the stale tolerance, and those without. */
  pairs: { fresh: number; stale: number; stalePairs: string[] };
  /** Per-pair book integrity. */
  books: BookInfo[];
  /** Totals over `books`. */
  bookTotals: BookTotals;
  /** Frames dropped as malformed. */
  malformedFrames: number;
  /** Age of the last heartbeat frame. */
  lastHeartbeatAgeMs: number | undefined;
  /** Age of the last frame of any kind. */
  lastFrameAgeMs: number | undefined;
  /** Round trip of the last answered ping. */
  lastPongLatencyMs: number | undefined;
  /** Exchange system status (`online`, `maintenance`, `cancel_only`, `post_only`). */
  system: string | undefined;
  /** WS service version the exchange reported. */
  systemVersion: string | undefined;
  /** Whether the REST API answered lately, when the caller knows. */
  restReachable: boolean | undefined;
  /** When the status was computed (ms). */
  atMs: number;
}

/** Inputs of {@linkcode buildDataStatus} besides the connection. */
export interface DataStatusInputs {
  /** Fresh and stale pairs from `LiveCache.freshness()`. */
  live?: LiveFreshness;
  /** Whether the REST API answered lately. */
  restReachable?: boolean;
}

/**
 * Build the data status from a connection snapshot and, optionally, the
 * live cache's freshness.
 *
 * @param connection `WsConnection.snapshot()`.
 * @param inputs Live freshness and REST reachability.
 * @returns The status (plain data, JSON-safe).
 * @example Build
 * ```ts ignore
 * import { buildDataStatus } from "./status.ts";
 * const status = buildDataStatus(ws.snapshot(), { live: live.freshness() });
 * status.pairs.stale;
 * ```
 */
export function buildDataStatus(
  connection: WsConnectionSnapshot,
  inputs: DataStatusInputs = {},
): WsDataStatus {
  const subscriptions: SubscriptionCounts = {
    total: connection.subscriptions.length,
    active: 0,
    pending: 0,
    idle: 0,
    failed: 0,
    silent: 0,
    errors: [],
  };
  for (const s of connection.subscriptions) {
    subscriptions[s.state]++;
    if (s.silent) subscriptions.silent++;
    if (s.state === "failed") {
      subscriptions.errors.push({
        channel: s.channel,
        symbol: s.symbol,
        error: s.error ?? "Unknown error",
      });
    }
  }
  const bookTotals: BookTotals = {
    ok: 0,
    resyncing: 0,
    empty: 0,
    checksumFailures: 0,
    resubscribes: 0,
  };
  for (const book of connection.books) {
    bookTotals[book.integrity]++;
    bookTotals.checksumFailures += book.checksumFailures;
    bookTotals.resubscribes += book.resubscribes;
  }
  const age = (atMs: number | undefined) =>
    atMs === undefined ? undefined : Math.max(0, connection.atMs - atMs);
  const stalePairs = [...(inputs.live?.stale ?? [])];
  return {
    state: connection.state,
    connected: connection.state === "open",
    reconnects: connection.reconnects,
    attempt: connection.attempt,
    subscriptions,
    pairs: {
      fresh: inputs.live?.fresh.length ?? 0,
      stale: stalePairs.length,
      stalePairs,
    },
    books: connection.books.map((b) => ({ ...b })),
    bookTotals,
    malformedFrames: connection.malformedFrames,
    lastHeartbeatAgeMs: age(connection.lastHeartbeatAtMs),
    lastFrameAgeMs: age(connection.lastFrameAtMs),
    lastPongLatencyMs: connection.lastPongLatencyMs,
    system: connection.system?.system,
    systemVersion: connection.system?.version,
    restReachable: inputs.restReachable,
    atMs: connection.atMs,
  };
}

/** What {@linkcode dataStatus} reads from. */
export interface DataStatusSources {
  /** The connection. */
  connection: { snapshot(): WsConnectionSnapshot };
  /** The live cache, if any. */
  live?: { freshness(): LiveFreshness };
  /** Whether the REST API answered lately. */
  restReachable?: boolean;
}

/**
 * Build the data status from live objects (snapshots them first).
 *
 * @param sources Connection, live cache and REST reachability.
 * @returns The status.
 * @example Health endpoint
 * ```ts ignore
 * import { dataStatus } from "./status.ts";
 * JSON.stringify(dataStatus({ connection: ws, live }));
 * ```
 */
export function dataStatus(sources: DataStatusSources): WsDataStatus {
  const inputs: DataStatusInputs = {};
  if (sources.live !== undefined) inputs.live = sources.live.freshness();
  if (sources.restReachable !== undefined) {
    inputs.restReachable = sources.restReachable;
  }
  return buildDataStatus(sources.connection.snapshot(), inputs);
}
