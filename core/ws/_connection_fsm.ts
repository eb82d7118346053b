/**
 * The lifecycle of one resilient WebSocket connection as a pure state
 * machine: `stepConnection(state, event) → { state, effects }`. Events are named by
 * their source (`call.*` from the owner, `wire.*` from the socket, `timer.*`
 * from timers the machine asked for); effects say what the shell must do
 * (open or close a socket, set or cancel a timer, send a ping, replay
 * subscriptions, notify listeners). Time and randomness come in on events,
 * so every decision is reproducible in tests.
 *
 * Policy (docs/kraken/WS_V2.md §1.2, §8.2):
 * - Reconnect after a drop with capped exponential backoff and jitter; a
 *   connection that stayed open for `stableAfterMs` resets the backoff.
 * - While the exchange reports a status other than `online`, wait at least
 *   `maintenanceMinDelayMs` (Kraken: "no faster than once every 5 s").
 * - Kraken's edge bans an IP for 10 minutes after ≈150 connection attempts in
 *   a rolling 10 minutes: a sliding window delays any attempt that would
 *   exceed `budgetMaxAttempts` per `budgetWindowMs`.
 * - Close code 1008 (policy violation) is terminal.
 * - With at least one subscription, no frame for `silenceTimeoutMs` means the
 *   socket is dead (heartbeats arrive about once per second): replace it.
 *
 * Private to `core/ws/` (not in `@krakked/core`'s exports): `WsConnection`
 * in `connection.ts` is the shell that runs it.
 *
 * @module
 */

/** Where the connection is in its lifecycle. */
export type ConnectionPhase =
  | "idle"
  | "connecting"
  | "open"
  | "waiting"
  | "closed";

/** Timers the machine can ask for. */
export type ConnectionTimer =
  | "reconnect"
  | "connect_timeout"
  | "watchdog"
  | "ping";

/** Tunables of the lifecycle; each field's default is in brackets. */
export interface ConnectionConfig {
  /** Backoff before the first reconnect attempt, before jitter (500 ms). */
  initialDelayMs: number;
  /** Cap of the backoff (60 s). */
  maxDelayMs: number;
  /** Growth factor per consecutive failure (2). */
  backoffFactor: number;
  /**
   * Share of the delay that is random: the delay lies in `[(1 − r)·d, d]`
   * (0.5).
   */
  jitterRatio: number;
  /** Minimum delay while the exchange status is not `online` (5 s). */
  maintenanceMinDelayMs: number;
  /** Most connection attempts allowed within `budgetWindowMs` (140). */
  budgetMaxAttempts: number;
  /** Length of the sliding budget window (10 min). */
  budgetWindowMs: number;
  /** Give up on an attempt that has not opened after this long (10 s). */
  connectTimeoutMs: number;
  /** Replace an open socket with subscriptions that was silent this long (10 s). */
  silenceTimeoutMs: number;
  /** Period of the watchdog check (1 s). */
  watchdogIntervalMs: number;
  /** Period of the application-level ping, keeping idle sockets alive (20 s). */
  pingIntervalMs: number;
  /** An open period this long resets the backoff (30 s). */
  stableAfterMs: number;
}

/**
 * Defaults. The budget keeps a margin under Kraken's ≈150 attempts per 10
 * minutes per IP (WS_V2.md §1.2); the silence timeout follows §8.2 (5–10 s
 * without any frame while heartbeats should arrive every second); pings every
 * 20 s stay well inside the ≈60 s idle timeout. The field docs of
 * {@linkcode ConnectionConfig} quote these values: change both.
 */
export const DEFAULT_CONNECTION_CONFIG: Readonly<ConnectionConfig> = Object
  .freeze({
    initialDelayMs: 500,
    maxDelayMs: 60_000,
    backoffFactor: 2,
    jitterRatio: 0.5,
    maintenanceMinDelayMs: 5_000,
    budgetMaxAttempts: 140,
    budgetWindowMs: 600_000,
    connectTimeoutMs: 10_000,
    silenceTimeoutMs: 10_000,
    watchdogIntervalMs: 1_000,
    pingIntervalMs: 20_000,
    stableAfterMs: 30_000,
  });

/** The machine's state. Treat as immutable. */
export interface ConnectionState {
  /** Lifecycle phase. */
  phase: ConnectionPhase;
  /** Consecutive attempts since the connection was last healthy. */
  failures: number;
  /** Sockets that opened, ever. */
  opens: number;
  /** Sockets that opened after the first one. */
  reconnects: number;
  /** Start times of recent attempts, oldest first (the budget window). */
  attemptTimesMs: readonly number[];
  /** When the current socket opened. */
  openedAtMs: number | undefined;
  /** Last exchange status seen (`online`, `maintenance`, …). */
  systemStatus: string | undefined;
}

/** Events that drive the machine. */
export type ConnectionEvent =
  | { type: "call.connect"; atMs: number }
  | { type: "call.close"; atMs: number }
  | { type: "call.reconnect"; atMs: number; random: number; reason: string }
  | { type: "wire.open"; atMs: number }
  | {
    type: "wire.close";
    atMs: number;
    random: number;
    code: number;
    reason: string;
  }
  | { type: "wire.status"; system: string }
  | { type: "timer.reconnect"; atMs: number }
  | { type: "timer.connect_timeout"; atMs: number; random: number }
  | {
    type: "timer.watchdog";
    atMs: number;
    random: number;
    /** When the last frame arrived on this socket. */
    lastFrameAtMs: number | undefined;
    /** How many subscriptions the connection holds. */
    subscriptions: number;
  }
  | { type: "timer.ping"; atMs: number };

/** Something the machine tells its listeners about. */
export type ConnectionNotice =
  | { type: "connecting"; attempt: number }
  | { type: "open"; reconnect: boolean }
  | { type: "closed"; code: number; reason: string; willReconnect: boolean }
  | {
    type: "reconnecting";
    attempt: number;
    delayMs: number;
    reason: "backoff" | "budget";
  }
  | { type: "stalled"; silentMs: number };

/** What the shell must do. */
export type ConnectionEffect =
  | { type: "open_socket"; attempt: number }
  | { type: "close_socket"; code: number; reason: string }
  | { type: "set_timer"; timer: ConnectionTimer; delayMs: number }
  | { type: "cancel_timer"; timer: ConnectionTimer }
  | { type: "send_ping" }
  | { type: "resubscribe"; reconnect: boolean }
  | { type: "notify"; notice: ConnectionNotice };

/** The result of one {@linkcode stepConnection}. */
export interface ConnectionStep {
  /** The next state. */
  state: ConnectionState;
  /** Effects to run, in order. */
  effects: ConnectionEffect[];
}

/**
 * The state before `call.connect`.
 *
 * @returns An idle state.
 * @example Start
 * ```ts
 * import { initialConnectionState, stepConnection, DEFAULT_CONNECTION_CONFIG } from "./_connection_fsm.ts";
 * const { effects } = stepConnection(initialConnectionState(), { type: "call.connect", atMs: 0 }, DEFAULT_CONNECTION_CONFIG);
 * // effects[0]: { type: "open_socket", attempt: 1 }
 * ```
 */
export function initialConnectionState(): ConnectionState {
  return {
    phase: "idle",
    failures: 0,
    opens: 0,
    reconnects: 0,
    attemptTimesMs: [],
    openedAtMs: undefined,
    systemStatus: undefined,
  };
}

/**
 * Backoff before attempt number `failures + 1`: exponential from
 * `initialDelayMs`, capped at `maxDelayMs`, with the top `jitterRatio` share
 * random.
 *
 * @param failures Consecutive failures so far (≥ 1).
 * @param random A number in `[0, 1)`.
 * @param config Backoff tunables.
 * @returns The delay in milliseconds (0 when `failures` < 1).
 * @example Grow and cap
 * ```ts
 * import { backoffDelayMs, DEFAULT_CONNECTION_CONFIG } from "./_connection_fsm.ts";
 * backoffDelayMs(1, 1, DEFAULT_CONNECTION_CONFIG); // ≈ 500
 * backoffDelayMs(20, 0, DEFAULT_CONNECTION_CONFIG); // 30000 (half of the 60 s cap)
 * ```
 */
export function backoffDelayMs(
  failures: number,
  random: number,
  config: Pick<
    ConnectionConfig,
    "initialDelayMs" | "maxDelayMs" | "backoffFactor" | "jitterRatio"
  >,
): number {
  if (failures < 1) return 0;
  const grown = config.initialDelayMs *
    Math.pow(config.backoffFactor, Math.min(failures - 1, 64));
  const capped = Math.min(config.maxDelayMs, grown);
  const jitter = Math.min(Math.max(config.jitterRatio, 0), 1);
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(capped * (1 - jitter) + capped * jitter * r);
}

/**
 * How long to wait before another connection attempt fits the sliding
 * budget window.
 *
 * @param attemptTimesMs Start times of earlier attempts, oldest first.
 * @param nowMs Now.
 * @param config Budget tunables.
 * @returns 0 when an attempt may start now, else the wait in milliseconds.
 * @example Budget exhausted
 * ```ts
 * import { budgetWaitMs } from "./_connection_fsm.ts";
 * budgetWaitMs([0, 10], 20, { budgetMaxAttempts: 2, budgetWindowMs: 100 }); // 80
 * ```
 */
export function budgetWaitMs(
  attemptTimesMs: readonly number[],
  nowMs: number,
  config: Pick<ConnectionConfig, "budgetMaxAttempts" | "budgetWindowMs">,
): number {
  const recent = attemptTimesMs.filter((t) =>
    t > nowMs - config.budgetWindowMs
  );
  if (recent.length < config.budgetMaxAttempts) return 0;
  const blocking = recent[recent.length - config.budgetMaxAttempts] as number;
  return Math.max(1, blocking + config.budgetWindowMs - nowMs);
}

/**
 * Advance the machine by one event.
 *
 * @param state The current state.
 * @param event What happened.
 * @param config Tunables.
 * @returns The next state and the effects to run.
 * @example A drop schedules a reconnect
 * ```ts
 * import { initialConnectionState, stepConnection, DEFAULT_CONNECTION_CONFIG as c } from "./_connection_fsm.ts";
 * let s = stepConnection(initialConnectionState(), { type: "call.connect", atMs: 0 }, c).state;
 * s = stepConnection(s, { type: "wire.open", atMs: 5 }, c).state;
 * const r = stepConnection(s, { type: "wire.close", atMs: 9, random: 0, code: 1006, reason: "" }, c);
 * // r.state.phase === "waiting"; a "reconnect" timer is set
 * ```
 */
export function stepConnection(
  state: ConnectionState,
  event: ConnectionEvent,
  config: ConnectionConfig,
): ConnectionStep {
  if (state.phase === "closed") return { state, effects: [] };
  switch (event.type) {
    case "call.connect":
      if (state.phase !== "idle") return { state, effects: [] };
      return attempt({ ...state, failures: 1 }, event.atMs, config, []);
    case "call.close":
      return {
        state: { ...state, phase: "closed", openedAtMs: undefined },
        effects: [
          ...cancelAll(),
          ...(state.phase === "open" || state.phase === "connecting"
            ? [{
              type: "close_socket" as const,
              code: 1000,
              reason: "Client closed",
            }]
            : []),
          notify({
            type: "closed",
            code: 1000,
            reason: "Client closed",
            willReconnect: false,
          }),
        ],
      };
    case "call.reconnect":
      if (state.phase !== "open" && state.phase !== "connecting") {
        return { state, effects: [] };
      }
      return drop(state, {
        atMs: event.atMs,
        random: event.random,
        code: 4001,
        reason: event.reason,
        closeSocket: true,
      }, config);
    case "wire.open": {
      if (state.phase !== "connecting") return { state, effects: [] };
      const reconnect = state.opens > 0;
      return {
        state: {
          ...state,
          phase: "open",
          opens: state.opens + 1,
          reconnects: state.reconnects + (reconnect ? 1 : 0),
          openedAtMs: event.atMs,
        },
        effects: [
          { type: "cancel_timer", timer: "connect_timeout" },
          {
            type: "set_timer",
            timer: "watchdog",
            delayMs: config.watchdogIntervalMs,
          },
          { type: "set_timer", timer: "ping", delayMs: config.pingIntervalMs },
          notify({ type: "open", reconnect }),
          { type: "resubscribe", reconnect },
        ],
      };
    }
    case "wire.close":
      if (state.phase !== "open" && state.phase !== "connecting") {
        return { state, effects: [] };
      }
      return drop(state, {
        atMs: event.atMs,
        random: event.random,
        code: event.code,
        reason: event.reason,
        closeSocket: false,
      }, config);
    case "wire.status":
      return { state: { ...state, systemStatus: event.system }, effects: [] };
    case "timer.reconnect":
      if (state.phase !== "waiting") return { state, effects: [] };
      return attempt(state, event.atMs, config, []);
    case "timer.connect_timeout":
      if (state.phase !== "connecting") return { state, effects: [] };
      return drop(state, {
        atMs: event.atMs,
        random: event.random,
        code: 4002,
        reason: `Connect timed out after ${config.connectTimeoutMs} ms`,
        closeSocket: true,
      }, config);
    case "timer.watchdog": {
      if (state.phase !== "open") return { state, effects: [] };
      const since = Math.max(
        event.lastFrameAtMs ?? -Infinity,
        state.openedAtMs ?? -Infinity,
      );
      const silentMs = event.atMs - since;
      if (event.subscriptions > 0 && silentMs >= config.silenceTimeoutMs) {
        const result = drop(state, {
          atMs: event.atMs,
          random: event.random,
          code: 4000,
          reason: `No frame for ${silentMs} ms`,
          closeSocket: true,
        }, config);
        return {
          state: result.state,
          effects: [notify({ type: "stalled", silentMs }), ...result.effects],
        };
      }
      return {
        state,
        effects: [{
          type: "set_timer",
          timer: "watchdog",
          delayMs: config.watchdogIntervalMs,
        }],
      };
    }
    case "timer.ping":
      if (state.phase !== "open") return { state, effects: [] };
      return {
        state,
        effects: [{ type: "send_ping" }, {
          type: "set_timer",
          timer: "ping",
          delayMs: config.pingIntervalMs,
        }],
      };
  }
}

function notify(notice: ConnectionNotice): ConnectionEffect {
  return { type: "notify", notice };
}

function cancelAll(): ConnectionEffect[] {
  return (["reconnect", "connect_timeout", "watchdog", "ping"] as const).map((
    timer,
  ) => ({ type: "cancel_timer", timer }));
}

/** Start an attempt now, or wait until the budget allows one. */
function attempt(
  state: ConnectionState,
  nowMs: number,
  config: ConnectionConfig,
  effects: ConnectionEffect[],
): ConnectionStep {
  const attemptTimesMs = state.attemptTimesMs.filter((t) =>
    t > nowMs - config.budgetWindowMs
  );
  const waitMs = budgetWaitMs(attemptTimesMs, nowMs, config);
  if (waitMs > 0) {
    return {
      state: { ...state, phase: "waiting", attemptTimesMs },
      effects: [
        ...effects,
        { type: "set_timer", timer: "reconnect", delayMs: waitMs },
        notify({
          type: "reconnecting",
          attempt: state.failures,
          delayMs: waitMs,
          reason: "budget",
        }),
      ],
    };
  }
  return {
    state: {
      ...state,
      phase: "connecting",
      attemptTimesMs: [...attemptTimesMs, nowMs],
    },
    effects: [
      ...effects,
      notify({ type: "connecting", attempt: state.failures }),
      { type: "open_socket", attempt: state.failures },
      {
        type: "set_timer",
        timer: "connect_timeout",
        delayMs: config.connectTimeoutMs,
      },
    ],
  };
}

/** The socket is gone (or being replaced): schedule the next attempt. */
function drop(
  state: ConnectionState,
  how: {
    atMs: number;
    random: number;
    code: number;
    reason: string;
    closeSocket: boolean;
  },
  config: ConnectionConfig,
): ConnectionStep {
  const effects: ConnectionEffect[] = cancelAll();
  if (how.closeSocket) {
    effects.push({ type: "close_socket", code: how.code, reason: how.reason });
  }
  // 1008 (policy violation) means Kraken refuses us: retrying makes it worse.
  if (how.code === 1008) {
    effects.push(notify({
      type: "closed",
      code: how.code,
      reason: how.reason,
      willReconnect: false,
    }));
    return {
      state: { ...state, phase: "closed", openedAtMs: undefined },
      effects,
    };
  }
  const wasStable = state.openedAtMs !== undefined &&
    how.atMs - state.openedAtMs >= config.stableAfterMs;
  const failures = (wasStable ? 0 : state.failures) + 1;
  let delayMs = backoffDelayMs(failures, how.random, config);
  if (state.systemStatus !== undefined && state.systemStatus !== "online") {
    delayMs = Math.max(delayMs, config.maintenanceMinDelayMs);
  }
  effects.push(
    notify({
      type: "closed",
      code: how.code,
      reason: how.reason,
      willReconnect: true,
    }),
    { type: "set_timer", timer: "reconnect", delayMs },
    notify({
      type: "reconnecting",
      attempt: failures,
      delayMs,
      reason: "backoff",
    }),
  );
  return {
    state: { ...state, phase: "waiting", failures, openedAtMs: undefined },
    effects,
  };
}
