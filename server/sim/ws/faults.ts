/**
 * Fault injection for the simulator's WebSocket v2 endpoints, driven by
 * tests in process (`simulator.ws.faults`) or over HTTP
 * (`POST /_sim/ws/faults`, see {@linkcode handleWsControlRequest}).
 *
 * | Fault | Effect |
 * |---|---|
 * | {@linkcode WsFaults.drop} | close matching connections now (code 1011 by default; Deno cannot send 1006) |
 * | {@linkcode WsFaults.stall} | stop sending any frame (data, heartbeat, pong, acks) on matching connections, new ones included; sockets stay open and requests are still processed; frames are lost, not queued |
 * | {@linkcode WsFaults.resume} | end a stall |
 * | {@linkcode WsFaults.silence} | the next N matching subscriptions are acked, then get no snapshot and no updates |
 * | {@linkcode WsFaults.corruptChecksum} | the next book update for a symbol carries a wrong (still u32) checksum, on every connection subscribed |
 * | {@linkcode WsFaults.setSystemStatus} | push a `status` update (`maintenance`, …) to every connection; new connections get it too |
 * | {@linkcode WsFaults.sendMalformed} | send N malformed frames (truncated JSON, not JSON, wrong types) to matching connections |
 *
 * @module
 */

/** Which connections a fault applies to. */
export type WsFaultScope = "all" | "public" | "private";

/** The system status values of the `status` channel. */
export type WsSystemStatus =
  | "online"
  | "maintenance"
  | "cancel_only"
  | "post_only";

const SYSTEM_STATUSES: readonly string[] = [
  "online",
  "maintenance",
  "cancel_only",
  "post_only",
];

/** Filter of {@linkcode WsFaults.silence}. */
export interface SilenceFilter {
  /** Channel to match (any when absent). */
  channel?: string;
  /** v2 symbol to match (any when absent). */
  symbol?: string;
  /** How many subscriptions to silence (default 1). */
  count?: number;
}

/** Counts of faults applied so far. */
export interface WsFaultStats {
  /** Connections closed by {@linkcode WsFaults.drop}. */
  dropped: number;
  /** Frames discarded because of a stall. */
  stalledFrames: number;
  /** Subscriptions silenced. */
  silenced: number;
  /** Book updates sent with a wrong checksum. */
  corruptChecksums: number;
  /** Malformed frames sent. */
  malformed: number;
  /** Status pushes caused by a status change. */
  statusPushes: number;
}

/** What the connection layer does for the faults (implemented by `server.ts`). */
export interface WsFaultHost {
  /** Close matching connections; returns how many. */
  dropConnections(scope: WsFaultScope, code: number, reason: string): number;
  /** Send a raw frame to matching connections; returns how many got it. */
  sendRaw(scope: WsFaultScope, text: string): number;
  /** Push the current status to every connection. */
  pushStatus(): void;
}

/**
 * Malformed frames, sent in turn: a truncated book frame, text that is not
 * JSON, a ticker whose `data` is not an array, a JSON array, an empty frame.
 */
export const MALFORMED_FRAMES: readonly string[] = Object.freeze([
  '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":',
  "this is not json",
  '{"channel":"ticker","type":"update","data":"oops"}',
  "[1,2,3]",
  "",
]);

function scopeMatches(
  scope: WsFaultScope,
  endpoint: "public" | "private",
): boolean {
  return scope === "all" || scope === endpoint;
}

/**
 * The fault switches of one simulator's WebSocket side.
 *
 * @example Corrupt one checksum, then stall
 * ```ts ignore
 * simulator.ws.faults.corruptChecksum("BTC/USD");
 * simulator.ws.faults.stall();
 * simulator.ws.faults.resume();
 * ```
 */
export class WsFaults {
  #host: WsFaultHost;
  #stall: WsFaultScope | undefined;
  #silences: Array<{ channel?: string; symbol?: string; left: number }> = [];
  #corrupt = new Set<string>();
  #status: WsSystemStatus = "online";
  #malformedNext = 0;
  #stallWatchers: Array<{ count: number; resolve: () => void }> = [];
  #stats: WsFaultStats = {
    dropped: 0,
    stalledFrames: 0,
    silenced: 0,
    corruptChecksums: 0,
    malformed: 0,
    statusPushes: 0,
  };

  /**
   * Create the switches.
   *
   * @param host The connection layer.
   */
  constructor(host: WsFaultHost) {
    this.#host = host;
  }

  /** Counts of faults applied so far. */
  get stats(): Readonly<WsFaultStats> {
    return { ...this.#stats };
  }

  /** The system status every `status` frame carries. */
  get systemStatus(): WsSystemStatus {
    return this.#status;
  }

  /**
   * Close matching connections now.
   *
   * @param options `scope` (default `all`) and close `code` (default 1011;
   *   Deno's server sockets only send 1000 and 1001–1014/3000–4999).
   * @returns How many connections were closed.
   */
  drop(options: { scope?: WsFaultScope; code?: number } = {}): number {
    const count = this.#host.dropConnections(
      options.scope ?? "all",
      options.code ?? 1011,
      "Simulated drop",
    );
    this.#stats.dropped += count;
    return count;
  }

  /**
   * Stop sending frames on matching connections (including ones that open
   * later) until {@linkcode WsFaults.resume}.
   *
   * @param options `scope` (default `all`).
   */
  stall(options: { scope?: WsFaultScope } = {}): void {
    this.#stall = options.scope ?? "all";
  }

  /** End a stall; frames withheld meanwhile are lost. */
  resume(): void {
    this.#stall = undefined;
  }

  /**
   * Whether frames to a connection are withheld now.
   *
   * @param endpoint The connection's endpoint.
   * @returns True while a matching stall is on.
   */
  isStalled(endpoint: "public" | "private"): boolean {
    return this.#stall !== undefined && scopeMatches(this.#stall, endpoint);
  }

  /** Count one withheld frame. */
  countStalledFrame(): void {
    this.#stats.stalledFrames++;
    this.#stallWatchers = this.#stallWatchers.filter((w) => {
      if (this.#stats.stalledFrames < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /**
   * Resolve once at least `count` frames in total have been withheld by a
   * stall (lets a test know a request reached the server without sleeping).
   *
   * @param count Total withheld frames to wait for.
   * @returns A promise.
   */
  whenStalledFrames(count: number): Promise<void> {
    if (this.#stats.stalledFrames >= count) return Promise.resolve();
    return new Promise((resolve) =>
      this.#stallWatchers.push({ count, resolve })
    );
  }

  /**
   * Ack the next matching subscription(s), then send nothing for them.
   *
   * @param filter Channel, symbol and count.
   */
  silence(filter: SilenceFilter = {}): void {
    this.#silences.push({
      ...(filter.channel !== undefined ? { channel: filter.channel } : {}),
      ...(filter.symbol !== undefined ? { symbol: filter.symbol } : {}),
      left: Math.max(1, Math.trunc(filter.count ?? 1)),
    });
  }

  /**
   * Consume a silence for a new subscription, if one matches.
   *
   * @param channel The subscription's channel.
   * @param symbol Its v2 symbol, when it has one.
   * @returns Whether the subscription must stay silent.
   */
  takeSilence(channel: string, symbol: string | undefined): boolean {
    for (const s of this.#silences) {
      if (s.left <= 0) continue;
      if (s.channel !== undefined && s.channel !== channel) continue;
      if (s.symbol !== undefined && s.symbol !== symbol) continue;
      s.left--;
      this.#silences = this.#silences.filter((x) => x.left > 0);
      this.#stats.silenced++;
      return true;
    }
    return false;
  }

  /**
   * Make the next book update for a symbol carry a wrong checksum.
   *
   * @param symbol v2 symbol (`BTC/USD`).
   */
  corruptChecksum(symbol: string): void {
    this.#corrupt.add(symbol.toUpperCase());
  }

  /**
   * Whether the next book update for a symbol must be corrupted.
   *
   * @param symbol v2 symbol.
   * @returns True when armed.
   */
  wantsCorrupt(symbol: string): boolean {
    return this.#corrupt.has(symbol);
  }

  /**
   * Disarm the corruption for a symbol after its update went out.
   *
   * @param symbol v2 symbol.
   */
  corrupted(symbol: string): void {
    if (this.#corrupt.delete(symbol)) this.#stats.corruptChecksums++;
  }

  /**
   * Change the system status and push it to every connection.
   *
   * @param status The new status.
   * @throws {RangeError} For a value Kraken does not use.
   */
  setSystemStatus(status: WsSystemStatus): void {
    if (!SYSTEM_STATUSES.includes(status)) {
      throw new RangeError(`Unknown system status: ${JSON.stringify(status)}`);
    }
    if (status === this.#status) return;
    this.#status = status;
    this.#stats.statusPushes++;
    this.#host.pushStatus();
  }

  /**
   * Send malformed frames to matching connections.
   *
   * @param count How many frames each connection gets.
   * @param options `scope` (default `all`).
   * @returns Frames sent in total.
   */
  sendMalformed(count: number, options: { scope?: WsFaultScope } = {}): number {
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const text =
        MALFORMED_FRAMES[this.#malformedNext++ % MALFORMED_FRAMES.length]!;
      sent += this.#host.sendRaw(options.scope ?? "all", text);
    }
    this.#stats.malformed += sent;
    return sent;
  }

  /** Turn every fault off (status back to `online`, pushed if it changed). */
  clear(): void {
    this.#stall = undefined;
    this.#silences = [];
    this.#corrupt.clear();
    this.setSystemStatus("online");
  }
}

/** A fault command of `POST /_sim/ws/faults`. */
export type WsFaultCommand =
  | { action: "drop"; scope?: WsFaultScope; code?: number }
  | { action: "stall"; scope?: WsFaultScope }
  | { action: "resume" }
  | { action: "silence"; channel?: string; symbol?: string; count?: number }
  | { action: "corruptChecksum"; symbol: string }
  | { action: "systemStatus"; status: WsSystemStatus }
  | { action: "malformed"; count: number; scope?: WsFaultScope }
  | { action: "clear" };

function isScope(value: unknown): value is WsFaultScope | undefined {
  return value === undefined || value === "all" || value === "public" ||
    value === "private";
}

/**
 * Validate an untrusted fault command (the JSON body of
 * `POST /_sim/ws/faults`).
 *
 * @param input Parsed JSON.
 * @returns The command, or a message naming what is wrong.
 * @example Parse
 * ```ts
 * import { parseWsFaultCommand } from "./faults.ts";
 * parseWsFaultCommand({ action: "corruptChecksum", symbol: "BTC/USD" }).ok; // true
 * parseWsFaultCommand({ action: "explode" }).ok; // false
 * ```
 */
export function parseWsFaultCommand(
  input: unknown,
): { ok: true; command: WsFaultCommand } | { ok: false; message: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, message: "WS fault command must be a JSON object" };
  }
  const r = input as Record<string, unknown>;
  const bad = (field: string) => ({
    ok: false as const,
    message: `Invalid WS fault field "${field}"`,
  });
  if (!isScope(r.scope)) return bad("scope");
  const scope = r.scope === undefined ? {} : { scope: r.scope };
  const int = (v: unknown) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  switch (r.action) {
    case "drop":
      if (r.code !== undefined && !int(r.code)) return bad("code");
      return {
        ok: true,
        command: {
          action: "drop",
          ...scope,
          ...(r.code !== undefined ? { code: r.code as number } : {}),
        },
      };
    case "stall":
      return { ok: true, command: { action: "stall", ...scope } };
    case "resume":
    case "clear":
      return { ok: true, command: { action: r.action } };
    case "silence": {
      if (r.channel !== undefined && typeof r.channel !== "string") {
        return bad("channel");
      }
      if (r.symbol !== undefined && typeof r.symbol !== "string") {
        return bad("symbol");
      }
      if (r.count !== undefined && !int(r.count)) return bad("count");
      return {
        ok: true,
        command: {
          action: "silence",
          ...(r.channel !== undefined ? { channel: r.channel as string } : {}),
          ...(r.symbol !== undefined ? { symbol: r.symbol as string } : {}),
          ...(r.count !== undefined ? { count: r.count as number } : {}),
        },
      };
    }
    case "corruptChecksum":
      if (typeof r.symbol !== "string") return bad("symbol");
      return {
        ok: true,
        command: { action: "corruptChecksum", symbol: r.symbol },
      };
    case "systemStatus":
      if (typeof r.status !== "string" || !SYSTEM_STATUSES.includes(r.status)) {
        return bad("status");
      }
      return {
        ok: true,
        command: { action: "systemStatus", status: r.status as WsSystemStatus },
      };
    case "malformed":
      if (!int(r.count)) return bad("count");
      return {
        ok: true,
        command: { action: "malformed", count: r.count as number, ...scope },
      };
    default:
      return bad("action");
  }
}

/**
 * Apply a validated command.
 *
 * @param faults The switches.
 * @param command The command.
 * @returns A JSON-able summary (e.g. how many connections were dropped).
 * @example Apply
 * ```ts ignore
 * applyWsFaultCommand(simulator.ws.faults, { action: "stall" });
 * ```
 */
export function applyWsFaultCommand(
  faults: WsFaults,
  command: WsFaultCommand,
): Record<string, unknown> {
  switch (command.action) {
    case "drop":
      return { dropped: faults.drop(command) };
    case "stall":
      faults.stall(command);
      return { stalled: true };
    case "resume":
      faults.resume();
      return { stalled: false };
    case "silence":
      faults.silence(command);
      return { silenced: command.count ?? 1 };
    case "corruptChecksum":
      faults.corruptChecksum(command.symbol);
      return { armed: command.symbol };
    case "systemStatus":
      faults.setSystemStatus(command.status);
      return { systemStatus: command.status };
    case "malformed":
      return { sent: faults.sendMalformed(command.count, command) };
    case "clear":
      faults.clear();
      return { cleared: true };
  }
}

/**
 * Serve the WebSocket fault routes: `GET /_sim/ws/faults` (stats and status)
 * and `POST /_sim/ws/faults` with a {@linkcode WsFaultCommand} body. Mount it
 * under the simulator's `/_sim/` control routes (loopback only, control
 * enabled); other paths give `undefined`.
 *
 * @param faults The switches.
 * @param request The HTTP request.
 * @returns The JSON response, or `undefined` when the path is not ours.
 * @example Mount
 * ```ts ignore
 * const answer = await handleWsControlRequest(simulator.ws.faults, request);
 * if (answer) return answer;
 * ```
 */
export async function handleWsControlRequest(
  faults: WsFaults,
  request: Request,
): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (url.pathname !== "/_sim/ws/faults") return undefined;
  if (request.method === "GET") {
    return Response.json({
      systemStatus: faults.systemStatus,
      stats: faults.stats,
    });
  }
  if (request.method !== "POST") {
    return Response.json({ error: "Method not allowed" }, {
      status: 405,
      headers: { allow: "GET, POST" },
    });
  }
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return Response.json({ error: "Body must be JSON" }, { status: 400 });
  }
  const parsed = parseWsFaultCommand(body);
  if (!parsed.ok) {
    return Response.json({ error: parsed.message }, { status: 400 });
  }
  return Response.json(applyWsFaultCommand(faults, parsed.command));
}
