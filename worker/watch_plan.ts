/**
 * Two-tier market watch, as pure planning: who is in focus, which
 * subscriptions go on which WebSocket connection, and the difference to
 * apply. No I/O and no clock of its own: every step takes `nowMs`, so tests
 * drive it on a fake clock and `market_worker.ts` applies the result to its
 * `WsConnection`s.
 *
 * - **Scout**: every pair of the universe (or, with the "all quotes" switch,
 *   every online pair in any quote) holds one `ticker` subscription.
 * - **Focus**: a small set — the open detail pair, pinned pairs, pairs with
 *   a position or an open order — also holds `book`, `trade` and `ohlc`.
 *   Promotion is immediate; demotion waits `lingerMs` after the last time
 *   the pair was wanted (hysteresis), so a pair flickering in and out keeps
 *   its subscriptions. The focus never exceeds `maxFocus`; the detail pair
 *   always gets a place.
 * - **Connections**: connection 0 carries the focus channels and scouts up
 *   to its remaining budget; further connections carry scouts only, each up
 *   to `maxEntriesPerConnection` subscription entries, at most
 *   `maxConnections` sockets. A scouted symbol stays on its connection until
 *   it leaves the universe (no reshuffling), and a connection left with no
 *   subscriptions is closed rather than unsubscribed entry by entry.
 *
 * The limits and their sources are in `docs/kraken/WS_V2.md` §10.
 *
 * @module
 */

/**
 * Why a pair wants focus, strongest first: the open detail, a pair the
 * person pinned (an explicit choice), an open order, a position.
 */
export type FocusReason = "detail" | "pinned" | "order" | "position";

const RANK: Readonly<Record<FocusReason, number>> = {
  detail: 0,
  pinned: 1,
  order: 2,
  position: 3,
};
/** Rank of a pair that is no longer wanted but still lingers. */
const LINGER_RANK = 4;

/** Budgets of the watch. */
export interface WatchLimits {
  /** Most focused pairs (default 8). */
  maxFocus: number;
  /** A pair no longer wanted stays focused this long, ms (default 30 000). */
  lingerMs: number;
  /** Most subscription entries (channel × symbol) on one socket (default 400). */
  maxEntriesPerConnection: number;
  /** Most public sockets (default 8). */
  maxConnections: number;
  /** Most symbols in one `subscribe` frame (default 100). */
  maxSymbolsPerRequest: number;
}

/** The defaults of {@linkcode WatchLimits} (see docs/kraken/WS_V2.md §10). */
export const DEFAULT_WATCH_LIMITS: Readonly<WatchLimits> = Object.freeze({
  maxFocus: 8,
  lingerMs: 30_000,
  maxEntriesPerConnection: 400,
  maxConnections: 8,
  maxSymbolsPerRequest: 100,
});

/** Subscription entries a focused pair adds: book, trade, ohlc. */
export const FOCUS_ENTRIES_PER_PAIR = 3;

/**
 * Check limits; bad values are a typed error.
 *
 * @param limits Partial limits over the defaults.
 * @returns Complete limits.
 * @throws {RangeError} When a limit is not a positive integer (lingerMs may
 *   be 0), or the focus does not fit on connection 0.
 */
export function watchLimits(limits: Partial<WatchLimits> = {}): WatchLimits {
  const out = { ...DEFAULT_WATCH_LIMITS, ...limits };
  for (const [name, value] of Object.entries(out)) {
    const min = name === "lingerMs" ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(
        `Watch limit ${name} must be an integer ≥ ${min}, got ${value}`,
      );
    }
  }
  if (out.maxFocus * FOCUS_ENTRIES_PER_PAIR >= out.maxEntriesPerConnection) {
    throw new RangeError(
      `Watch limits: ${out.maxFocus} focused pairs need ${
        out.maxFocus * FOCUS_ENTRIES_PER_PAIR
      } entries, more than one connection's ${out.maxEntriesPerConnection}`,
    );
  }
  return out;
}

interface FocusEntry {
  /** Last time it was wanted (ms). */
  lastWantedMs: number;
  /** Whether it is focused now. */
  focused: boolean;
}

/** What one {@linkcode FocusTracker.update} decided. */
export interface FocusDecision {
  /** The focus, strongest first (the detail pair, if any, first). */
  focus: string[];
  /** Pairs that entered the focus in this step. */
  promoted: string[];
  /** Pairs that left it in this step. */
  demoted: string[];
  /** Wanted pairs left out because the focus is full. */
  refused: string[];
  /** When a lingering pair will be demoted unless wanted again (ms), if any. */
  nextChangeAtMs: number | undefined;
}

/**
 * Chooses the focus set with hysteresis, bounded by `maxFocus`.
 *
 * @example Flicker does not churn
 * ```ts
 * import { FocusTracker } from "./watch_plan.ts";
 * const focus = new FocusTracker({ maxFocus: 2, lingerMs: 1000 });
 * focus.update([["ETH/USD", "pinned"]], 0).promoted; // ["ETH/USD"]
 * focus.update([], 500).demoted; // [] — it lingers
 * focus.update([], 1500).demoted; // ["ETH/USD"]
 * ```
 */
export class FocusTracker {
  #maxFocus: number;
  #lingerMs: number;
  #entries = new Map<string, FocusEntry>();

  /**
   * @param limits `maxFocus` and `lingerMs` (other limits are ignored).
   */
  constructor(limits: Partial<Pick<WatchLimits, "maxFocus" | "lingerMs">>) {
    const checked = watchLimits({
      ...(limits.maxFocus === undefined ? {} : { maxFocus: limits.maxFocus }),
      ...(limits.lingerMs === undefined ? {} : { lingerMs: limits.lingerMs }),
    });
    this.#maxFocus = checked.maxFocus;
    this.#lingerMs = checked.lingerMs;
  }

  /** The focused pairs now (unordered). */
  get focused(): string[] {
    return [...this.#entries].filter(([, e]) => e.focused).map(([s]) => s);
  }

  /**
   * Decide the focus from what is wanted now.
   *
   * @param wanted Pairs and why they want focus (a pair may appear with
   *   several reasons; the strongest counts).
   * @param nowMs The clock.
   * @returns The decision.
   */
  update(
    wanted: Iterable<readonly [string, FocusReason]>,
    nowMs: number,
  ): FocusDecision {
    const rankNow = new Map<string, number>();
    for (const [symbol, reason] of wanted) {
      const rank = RANK[reason];
      rankNow.set(symbol, Math.min(rank, rankNow.get(symbol) ?? rank));
    }
    for (const symbol of rankNow.keys()) {
      const entry = this.#entries.get(symbol);
      if (entry === undefined) {
        this.#entries.set(symbol, { lastWantedMs: nowMs, focused: false });
      } else entry.lastWantedMs = nowMs;
    }
    interface Candidate {
      symbol: string;
      rank: number;
      focused: boolean;
      lastWantedMs: number;
    }
    const candidates: Candidate[] = [];
    for (const [symbol, entry] of this.#entries) {
      const rank = rankNow.get(symbol);
      if (rank !== undefined) {
        candidates.push({ symbol, rank, ...entry });
      } else if (
        entry.focused && nowMs - entry.lastWantedMs < this.#lingerMs
      ) {
        candidates.push({ symbol, rank: LINGER_RANK, ...entry });
      }
    }
    // Strongest reason first; among equals the pair already focused keeps
    // its place (no churn), then the most recently wanted, then by name.
    candidates.sort((a, b) =>
      a.rank - b.rank ||
      Number(b.focused) - Number(a.focused) ||
      b.lastWantedMs - a.lastWantedMs ||
      (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0)
    );
    const chosen = candidates.slice(0, this.#maxFocus);
    const chosenSet = new Set(chosen.map((c) => c.symbol));
    const promoted: string[] = [];
    const demoted: string[] = [];
    for (const [symbol, entry] of this.#entries) {
      const now = chosenSet.has(symbol);
      if (now && !entry.focused) promoted.push(symbol);
      if (!now && entry.focused) demoted.push(symbol);
      entry.focused = now;
      if (!now && !rankNow.has(symbol)) this.#entries.delete(symbol);
    }
    const refused = candidates.slice(this.#maxFocus)
      .filter((c) => c.rank < LINGER_RANK).map((c) => c.symbol);
    // A refused pair is forgotten: it is asked for again on the next step.
    for (const symbol of refused) {
      const entry = this.#entries.get(symbol);
      if (entry !== undefined && !entry.focused) this.#entries.delete(symbol);
    }
    let nextChangeAtMs: number | undefined;
    for (const c of chosen) {
      if (c.rank !== LINGER_RANK) continue;
      const at = c.lastWantedMs + this.#lingerMs;
      nextChangeAtMs = nextChangeAtMs === undefined
        ? at
        : Math.min(nextChangeAtMs, at);
    }
    return {
      focus: chosen.map((c) => c.symbol),
      promoted,
      demoted,
      refused,
      nextChangeAtMs,
    };
  }
}

/** Parameters of the focus channels. */
export interface FocusParams {
  /** Book depth of the detail pair (others get 10). */
  detailDepth: 10 | 25;
  /** OHLC interval in minutes for every focused pair. */
  intervalMin: number;
  /** The detail pair, if any (it gets `detailDepth`). */
  detail: string | undefined;
}

/** One subscription entry of the plan. */
export interface PlannedEntry {
  /** `ticker`, `book`, `trade` or `ohlc`. */
  channel: "ticker" | "book" | "trade" | "ohlc";
  /** WS v2 symbol. */
  symbol: string;
  /** Book depth. */
  depth?: 10 | 25;
  /** OHLC interval, minutes. */
  interval?: number;
}

/**
 * The identity of an entry: channel, params and symbol.
 *
 * @param entry The entry.
 * @returns A stable key.
 * @example Key
 * ```ts
 * import { entryKey } from "./watch_plan.ts";
 * entryKey({ channel: "book", symbol: "BTC/USD", depth: 10 }); // "book:10|BTC/USD"
 * ```
 */
export function entryKey(entry: PlannedEntry): string {
  const param = entry.depth ?? entry.interval;
  return `${entry.channel}${
    param === undefined ? "" : `:${param}`
  }|${entry.symbol}`;
}

/** Which entries each connection holds. */
export interface WatchPlan {
  /** Entries per connection index (a missing index = no socket). */
  connections: Map<number, Map<string, PlannedEntry>>;
  /** Symbol → connection of its ticker. */
  scoutOn: Map<string, number>;
  /** Scouts that did not fit in `maxConnections` sockets. */
  unscouted: string[];
  /** The focus the plan holds. */
  focus: string[];
}

/** An empty plan. */
export function emptyPlan(): WatchPlan {
  return {
    connections: new Map(),
    scoutOn: new Map(),
    unscouted: [],
    focus: [],
  };
}

function focusEntries(symbol: string, params: FocusParams): PlannedEntry[] {
  return [
    {
      channel: "book",
      symbol,
      depth: symbol === params.detail ? params.detailDepth : 10,
    },
    { channel: "trade", symbol },
    { channel: "ohlc", symbol, interval: params.intervalMin },
  ];
}

/**
 * Plan the subscriptions: focus channels on connection 0, every scout's
 * ticker on exactly one connection, sticky to the previous plan.
 *
 * @param previous The plan being replaced (scouts keep their connection).
 * @param scout The symbols to scout, in preference order (the universe first).
 * @param focus The focused symbols (from {@linkcode FocusTracker}).
 * @param params Focus channel parameters.
 * @param limits Budgets.
 * @returns The new plan.
 */
export function planWatch(
  previous: WatchPlan,
  scout: readonly string[],
  focus: readonly string[],
  params: FocusParams,
  limits: WatchLimits,
): WatchPlan {
  const cap = limits.maxEntriesPerConnection;
  // Connection 0 keeps room for a full focus, so a promotion never has to
  // move a scout.
  const capacity = (index: number) =>
    index === 0 ? cap - limits.maxFocus * FOCUS_ENTRIES_PER_PAIR : cap;
  const wanted = new Set(scout);
  const load = new Array<number>(limits.maxConnections).fill(0);
  const scoutOn = new Map<string, number>();
  for (const [symbol, index] of previous.scoutOn) {
    if (!wanted.has(symbol) || index >= limits.maxConnections) continue;
    if ((load[index] as number) >= capacity(index)) continue;
    scoutOn.set(symbol, index);
    load[index] = (load[index] as number) + 1;
  }
  const unscouted: string[] = [];
  let cursor = 0;
  for (const symbol of scout) {
    if (scoutOn.has(symbol)) continue;
    while (
      cursor < limits.maxConnections &&
      (load[cursor] as number) >= capacity(cursor)
    ) cursor++;
    if (cursor >= limits.maxConnections) {
      unscouted.push(symbol);
      continue;
    }
    scoutOn.set(symbol, cursor);
    load[cursor] = (load[cursor] as number) + 1;
  }
  const connections = new Map<number, Map<string, PlannedEntry>>();
  const put = (index: number, entry: PlannedEntry) => {
    let entries = connections.get(index);
    if (entries === undefined) connections.set(index, entries = new Map());
    entries.set(entryKey(entry), entry);
  };
  for (const [symbol, index] of scoutOn) {
    put(index, { channel: "ticker", symbol });
  }
  const kept = focus.slice(0, limits.maxFocus);
  for (const symbol of kept) {
    for (const entry of focusEntries(symbol, params)) put(0, entry);
  }
  return { connections, scoutOn, unscouted, focus: kept };
}

/** What to do to go from one plan to the next. */
export interface WatchDiff {
  /** Sockets to open. */
  open: number[];
  /** Sockets to close (their subscriptions go with them, no unsubscribes). */
  close: number[];
  /** Entries to release, per connection (only on sockets that stay). */
  unsubscribe: Map<number, PlannedEntry[]>;
  /**
   * Entries to subscribe, per connection, in request-sized groups: one
   * channel and params per group, at most `maxSymbolsPerRequest` symbols.
   */
  subscribe: Map<number, PlannedEntry[][]>;
}

/**
 * The difference between two plans. Apply `unsubscribe` before `subscribe`
 * (a book changing depth must be released first: one depth per symbol per
 * connection).
 *
 * @param from The plan applied now.
 * @param to The plan wanted.
 * @param limits Budgets (for the request size).
 * @returns The operations.
 */
export function diffPlans(
  from: WatchPlan,
  to: WatchPlan,
  limits: Pick<WatchLimits, "maxSymbolsPerRequest">,
): WatchDiff {
  const open: number[] = [];
  const close: number[] = [];
  const unsubscribe = new Map<number, PlannedEntry[]>();
  const subscribe = new Map<number, PlannedEntry[][]>();
  for (const index of from.connections.keys()) {
    if (!to.connections.has(index)) close.push(index);
  }
  for (const [index, entries] of to.connections) {
    const before = from.connections.get(index);
    if (before === undefined) open.push(index);
    const gone: PlannedEntry[] = [];
    for (const [key, entry] of before ?? []) {
      if (!entries.has(key)) gone.push(entry);
    }
    if (gone.length > 0) unsubscribe.set(index, gone);
    const groups = new Map<string, PlannedEntry[][]>();
    for (const [key, entry] of entries) {
      if (before?.has(key)) continue;
      const groupKey = `${entry.channel}:${
        entry.depth ?? entry.interval ?? ""
      }`;
      let chunks = groups.get(groupKey);
      if (chunks === undefined) groups.set(groupKey, chunks = [[]]);
      let last = chunks.at(-1) as PlannedEntry[];
      if (last.length >= limits.maxSymbolsPerRequest) chunks.push(last = []);
      last.push(entry);
    }
    const requests = [...groups.values()].flat();
    if (requests.length > 0) subscribe.set(index, requests);
  }
  open.sort((a, b) => a - b);
  close.sort((a, b) => a - b);
  return { open, close, unsubscribe, subscribe };
}

/**
 * Count what a plan uses.
 *
 * @param plan The plan.
 * @returns Sockets, entries, and entries per socket.
 */
export function planUsage(
  plan: WatchPlan,
): { connections: number; entries: number; perConnection: number[] } {
  const perConnection = [...plan.connections.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, entries]) => entries.size);
  return {
    connections: plan.connections.size,
    entries: perConnection.reduce((a, b) => a + b, 0),
    perConnection,
  };
}
