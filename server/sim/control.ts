/**
 * Fault injection and switches for tests: the in-process control object the
 * simulator consults on every REST request, also reachable as JSON over
 * `/_sim/*` routes (loopback only, and only when control is enabled).
 *
 * Faults (see `server/sim/README.md`):
 *
 * | Setting | Effect |
 * |---|---|
 * | `latencyMs` | every `/0/*` request waits this long first |
 * | `stall: true` | every `/0/*` request waits until {@linkcode SimControl.release} (or `stall: false`, clear, close) |
 * | `unavailable: N` | next N requests answer `{"error":["EService:Unavailable"]}` (HTTP 200) |
 * | `busy: N` | next N requests answer `{"error":["EService:Busy"]}` |
 * | `html520: N` | next N requests answer a Cloudflare-like HTML page, status 520 |
 * | `drop: N` | next N requests lose their connection (see below) |
 * | `rateLimitStorm: N` | next N authenticated private calls answer `EAPI:Rate limit exceeded` |
 * | `dropAfterAccept: N` | next N accepted orders (REST AddOrder/AddOrderBatch/EditOrder, WS add_order/batch_add/edit_order): the order is placed, then the connection drops before the answer (REST: reset; WS: socket closed) |
 * | `scope` | which requests count for the N-request faults: `all` (default), `public`, `private` |
 * | `systemStatus` | `online`, `maintenance`, `cancel_only`, `post_only` (SystemStatus; maintenance also refuses private calls with `EService:Unavailable`) |
 * | `upcomingMaintenance` | array of JSON objects, sent verbatim as SystemStatus `upcoming_maintenance` (default `[]`) |
 * | `emergency` | array of JSON objects, sent verbatim as SystemStatus `emergency` (default `[]`) |
 *
 * When several N-request faults are armed, one request consumes one fault,
 * in this order: drop, html520, unavailable, busy.
 *
 * Dropped connections: `Deno.serve` cannot close a socket before writing
 * the status line, so a dropped request gets `200` headers and then the
 * connection is reset in the middle of a chunked body. Clients see a
 * network error while reading the body (Deno/undici: "error reading a body
 * from connection", curl: exit 18), never a usable answer.
 *
 * @module
 */

/** Kraken's system status values. */
export type SystemStatusValue =
  | "online"
  | "maintenance"
  | "cancel_only"
  | "post_only";

/** Which requests an N-request fault applies to. */
export type FaultScope = "all" | "public" | "private";

/** A fault chosen for one request. */
export type RequestFault = "drop" | "html520" | "unavailable" | "busy";

/** The settings accepted by {@linkcode SimControl.set} and `POST /_sim/faults`. */
export interface FaultSettings {
  /** Delay before every `/0/*` answer, ms (0 = none). */
  latencyMs?: number;
  /** Hold every `/0/*` request until released. */
  stall?: boolean;
  /** Next N requests: `EService:Unavailable`. */
  unavailable?: number;
  /** Next N requests: `EService:Busy`. */
  busy?: number;
  /** Next N requests: HTML 520 page. */
  html520?: number;
  /** Next N requests: connection dropped. */
  drop?: number;
  /** Next N authenticated private calls: `EAPI:Rate limit exceeded`. */
  rateLimitStorm?: number;
  /** Next N accepted orders: placed, then the connection drops before the answer. */
  dropAfterAccept?: number;
  /** Requests the N-request faults apply to. */
  scope?: FaultScope;
  /** System status reported by `SystemStatus`. */
  systemStatus?: SystemStatusValue;
  /** SystemStatus `upcoming_maintenance` advisories, sent verbatim. */
  upcomingMaintenance?: readonly Advisory[];
  /** SystemStatus `emergency` advisories, sent verbatim. */
  emergency?: readonly Advisory[];
}

/**
 * One SystemStatus advisory (an `upcoming_maintenance` or `emergency`
 * entry). Kraken documents both fields as arrays but not the entries'
 * fields, so the simulator sends whatever object a test sets, verbatim.
 */
export type Advisory = Readonly<Record<string, unknown>>;

/** The full fault state (what `GET /_sim/faults` returns). */
export interface FaultState {
  /** Delay before every `/0/*` answer, ms. */
  readonly latencyMs: number;
  /** Whether `/0/*` requests are held. */
  readonly stall: boolean;
  /** Remaining `EService:Unavailable` answers. */
  readonly unavailable: number;
  /** Remaining `EService:Busy` answers. */
  readonly busy: number;
  /** Remaining HTML 520 answers. */
  readonly html520: number;
  /** Remaining dropped connections. */
  readonly drop: number;
  /** Remaining `EAPI:Rate limit exceeded` private answers. */
  readonly rateLimitStorm: number;
  /** Remaining orders whose answer is lost after they were placed. */
  readonly dropAfterAccept: number;
  /** Requests the counted faults apply to. */
  readonly scope: FaultScope;
  /** Reported system status. */
  readonly systemStatus: SystemStatusValue;
  /** SystemStatus `upcoming_maintenance` (empty: no advisory). */
  readonly upcomingMaintenance: readonly Advisory[];
  /** SystemStatus `emergency` (empty: no advisory). */
  readonly emergency: readonly Advisory[];
}

/** Counts of faults applied so far (for tests). */
export interface FaultStats {
  /** Requests delayed by `latencyMs`. */
  delayed: number;
  /** Requests held by `stall`. */
  stalled: number;
  /** `EService:Unavailable` answers sent. */
  unavailable: number;
  /** `EService:Busy` answers sent. */
  busy: number;
  /** HTML 520 pages sent. */
  html520: number;
  /** Connections dropped. */
  drop: number;
  /** Rate-limit-storm answers sent. */
  rateLimitStorm: number;
  /** Orders placed whose answer was dropped. */
  dropAfterAccept: number;
}

/** The state with no faults and status `online`. */
export const NO_FAULTS: FaultState = Object.freeze({
  latencyMs: 0,
  stall: false,
  unavailable: 0,
  busy: 0,
  html520: 0,
  drop: 0,
  rateLimitStorm: 0,
  dropAfterAccept: 0,
  scope: "all",
  systemStatus: "online",
  upcomingMaintenance: Object.freeze([]),
  emergency: Object.freeze([]),
});

const STATUS_VALUES: readonly string[] = [
  "online",
  "maintenance",
  "cancel_only",
  "post_only",
];
const SCOPES: readonly string[] = ["all", "public", "private"];
const COUNT_KEYS = [
  "unavailable",
  "busy",
  "html520",
  "drop",
  "rateLimitStorm",
  "dropAfterAccept",
] as const;

/**
 * Validate untrusted settings (the JSON body of `POST /_sim/faults`).
 *
 * @param input Parsed JSON.
 * @returns The settings, or an error message naming the bad field.
 * @example Parse
 * ```ts
 * import { parseFaultSettings } from "./control.ts";
 * parseFaultSettings({ unavailable: 2 }); // { ok: true, settings: { unavailable: 2 } }
 * parseFaultSettings({ busy: -1 }).ok; // false
 * ```
 */
export function parseFaultSettings(
  input: unknown,
): { ok: true; settings: FaultSettings } | { ok: false; message: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, message: "Fault settings must be a JSON object" };
  }
  const record = input as Record<string, unknown>;
  const settings: FaultSettings = {};
  for (const [key, value] of Object.entries(record)) {
    if (
      (COUNT_KEYS as readonly string[]).includes(key) || key === "latencyMs"
    ) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
        return {
          ok: false,
          message: `Fault setting "${key}" must be an integer ≥ 0`,
        };
      }
      (settings as Record<string, number>)[key] = value;
    } else if (key === "stall") {
      if (typeof value !== "boolean") {
        return {
          ok: false,
          message: `Fault setting "stall" must be a boolean`,
        };
      }
      settings.stall = value;
    } else if (key === "scope") {
      if (typeof value !== "string" || !SCOPES.includes(value)) {
        return {
          ok: false,
          message: `Fault setting "scope" must be one of ${SCOPES.join(", ")}`,
        };
      }
      settings.scope = value as FaultScope;
    } else if (key === "systemStatus") {
      if (typeof value !== "string" || !STATUS_VALUES.includes(value)) {
        return {
          ok: false,
          message: `Fault setting "systemStatus" must be one of ${
            STATUS_VALUES.join(", ")
          }`,
        };
      }
      settings.systemStatus = value as SystemStatusValue;
    } else if (key === "upcomingMaintenance" || key === "emergency") {
      if (
        !Array.isArray(value) ||
        !value.every((v) =>
          typeof v === "object" && v !== null && !Array.isArray(v)
        )
      ) {
        return {
          ok: false,
          message: `Fault setting "${key}" must be an array of JSON objects`,
        };
      }
      settings[key] = value as Advisory[];
    } else {
      return { ok: false, message: `Unknown fault setting "${key}"` };
    }
  }
  return { ok: true, settings };
}

/**
 * Decide which N-request fault (if any) a request gets, and consume it.
 * Pure: returns the new state.
 *
 * @param state Current state.
 * @param kind Whether the request is public or private.
 * @returns The new state and the fault.
 * @example Consume
 * ```ts
 * import { NO_FAULTS, takeRequestFault } from "./control.ts";
 * const { state, fault } = takeRequestFault({ ...NO_FAULTS, busy: 1 }, "public");
 * fault; // "busy"
 * state.busy; // 0
 * ```
 */
export function takeRequestFault(
  state: FaultState,
  kind: "public" | "private",
): { state: FaultState; fault: RequestFault | undefined } {
  if (state.scope !== "all" && state.scope !== kind) {
    return { state, fault: undefined };
  }
  for (const fault of ["drop", "html520", "unavailable", "busy"] as const) {
    if (state[fault] > 0) {
      return { state: { ...state, [fault]: state[fault] - 1 }, fault };
    }
  }
  return { state, fault: undefined };
}

interface Waiter {
  resolve: () => void;
}

/**
 * The simulator's control object: fault state, system status, stall gate.
 *
 * @example Inject faults in a test
 * ```ts
 * import { SimControl } from "./control.ts";
 * const control = new SimControl();
 * control.set({ unavailable: 2, systemStatus: "maintenance" });
 * control.state.unavailable; // 2
 * control.clear();
 * ```
 */
export class SimControl {
  #state: FaultState = NO_FAULTS;
  #waiters = new Set<Waiter>();
  #stallWatchers: Array<{ count: number; resolve: () => void }> = [];
  #stats: FaultStats = {
    delayed: 0,
    stalled: 0,
    unavailable: 0,
    busy: 0,
    html520: 0,
    drop: 0,
    rateLimitStorm: 0,
    dropAfterAccept: 0,
  };

  /** The current fault state. */
  get state(): FaultState {
    return this.#state;
  }

  /** The system status reported by `SystemStatus` (and used by the engine). */
  get systemStatus(): SystemStatusValue {
    return this.#state.systemStatus;
  }

  /** SystemStatus advisories: `upcoming_maintenance` and `emergency`. */
  get advisories(): {
    upcomingMaintenance: readonly Advisory[];
    emergency: readonly Advisory[];
  } {
    return {
      upcomingMaintenance: this.#state.upcomingMaintenance,
      emergency: this.#state.emergency,
    };
  }

  /** Counts of faults applied so far. */
  get stats(): Readonly<FaultStats> {
    return { ...this.#stats };
  }

  /** Requests currently held by `stall`. */
  get stalledCount(): number {
    return this.#waiters.size;
  }

  /**
   * Merge settings into the state (counts replace, they do not add).
   * Turning `stall` off releases held requests.
   *
   * @param settings What to change.
   */
  set(settings: FaultSettings): void {
    this.#state = { ...this.#state, ...settings };
    if (settings.stall === false) this.release();
  }

  /** Remove every fault, set status `online` and release held requests. */
  clear(): void {
    this.#state = NO_FAULTS;
    this.release();
  }

  /**
   * Consume the N-request fault for one request, if any.
   *
   * @param kind Public or private request.
   * @returns The fault to apply.
   */
  takeRequestFault(kind: "public" | "private"): RequestFault | undefined {
    const { state, fault } = takeRequestFault(this.#state, kind);
    this.#state = state;
    if (fault) this.#stats[fault]++;
    return fault;
  }

  /**
   * Consume one rate-limit-storm answer, if armed.
   *
   * @returns Whether this private call must answer `EAPI:Rate limit exceeded`.
   */
  takeRateLimitStorm(): boolean {
    if (this.#state.rateLimitStorm <= 0) return false;
    this.#state = {
      ...this.#state,
      rateLimitStorm: this.#state.rateLimitStorm - 1,
    };
    this.#stats.rateLimitStorm++;
    return true;
  }

  /**
   * Consume one drop-after-accept fault, if armed (the matching engine asks
   * once an order is placed, before it answers).
   *
   * @returns Whether the answer must be lost (connection dropped).
   */
  takeDropAfterAccept(): boolean {
    if (this.#state.dropAfterAccept <= 0) return false;
    this.#state = {
      ...this.#state,
      dropAfterAccept: this.#state.dropAfterAccept - 1,
    };
    this.#stats.dropAfterAccept++;
    return true;
  }

  /**
   * Apply `stall` and `latencyMs` to one request. Resolves when the request
   * may go on; an aborted request stops waiting.
   *
   * @param signal The request's abort signal.
   * @returns A promise that resolves when the request may proceed.
   */
  async hold(signal?: AbortSignal): Promise<void> {
    if (this.#state.stall) {
      this.#stats.stalled++;
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          resolve: () => {
            this.#waiters.delete(waiter);
            signal?.removeEventListener("abort", waiter.resolve);
            resolve();
          },
        };
        this.#waiters.add(waiter);
        signal?.addEventListener("abort", waiter.resolve, { once: true });
        this.#notifyStalled();
      });
    }
    const latencyMs = this.#state.latencyMs;
    if (latencyMs > 0 && !signal?.aborted) {
      this.#stats.delayed++;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(id);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const id = setTimeout(done, latencyMs);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Let every stalled request go on. */
  release(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  /**
   * Resolve once at least `count` requests are held by `stall` (lets a test
   * wait for a request to arrive without sleeping).
   *
   * @param count Number of held requests to wait for (default 1).
   * @returns A promise that resolves when that many are held.
   */
  whenStalled(count = 1): Promise<void> {
    if (this.#waiters.size >= count) return Promise.resolve();
    return new Promise((resolve) =>
      this.#stallWatchers.push({ count, resolve })
    );
  }

  #notifyStalled(): void {
    const size = this.#waiters.size;
    this.#stallWatchers = this.#stallWatchers.filter((w) => {
      if (size >= w.count) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
