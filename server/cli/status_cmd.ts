/**
 * `krakked status`: is Kraken (or the simulator) up, and how does this
 * machine reach it. Kraken's `SystemStatus` and `Time`, the round trip and
 * clock offset measured on that call, and the configured endpoints; with
 * `--watch`, the WS v2 `status` channel streamed until Ctrl+C.
 *
 * The report is a list of sections ({@linkcode STATUS_SECTIONS}), each one
 * read on its own and printed as a block of lines and one key of the JSON
 * object, so more (the server's own counters, say) is one more entry.
 *
 * @module
 */

import type { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import { type Command, currentCommand, newCommandId } from "./command.ts";
import { REQUEST_ID_HEADER } from "../http/request_id.ts";
import { SESSION_COOKIE } from "../http/security.ts";
import { type CliContext, loadCommandContext } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { watchFlags } from "./orderbook_cmd.ts";
import { runWatch } from "./watch.ts";
import { isUsageError, usageError } from "./args.ts";

/** Help text of `krakked status`. */
export const STATUS_HELP =
  `Usage: krakked status [--json] [--ops [--server URL]] [--watch [--updates N]]

Shows whether Kraken (or the simulator connection.rest_url points at) is up
and how this machine reaches it:

  exchange     Kraken's SystemStatus: online, maintenance, cancel_only or
               post_only, and when Kraken reported it
  time         Kraken's server time, the REST round trip of that call, and
               this clock's offset from Kraken's (Kraken reports whole seconds)
  connection   the REST and WebSocket URLs, timeout and rate-limit tier in use

  --json        print {"exchange": {status, timestamp}, "time": {serverTime,
                serverUnix, localTime, offsetMs, roundTripMs}, "connection":
                {restUrl, wsPublicUrl, wsAuthUrl, timeoutMs, apiTier}}
  --watch       stream the WebSocket v2 status channel until Ctrl+C (one line,
                or one JSON object, per status Kraken sends)
  --updates N   with --watch: stop after N status messages
  --ops         also read the running server's ops view (GET /api/ops): the
                REST counter with its decay and tier, trading-engine
                counters per pair, queued calls, the public budget, the
                WebSocket connections (state, uptime, reconnects and their
                reasons, subscriptions), book checksum failures and resyncs,
                the last errors, order events, the dead-man switch and a
                'krakked record' on this machine (default store); the
                JSON gains a "server" key ({url, running, ...the snapshot}).
                The ops view is private: the command takes the server's
                session as the page does (loading its page)
  --server URL  the server to read with --ops (default: server.host and
                server.port of config.yaml, http://127.0.0.1:8787); a server
                started with --token T needs KRAKKED_SERVER_TOKEN=T

Exit codes: 0 ok (also when Kraken reports maintenance: the status is the
answer), 1 error, 2 usage, 4 Kraken unreachable.`;

/** Parsed `status` flags. */
export interface StatusFlags {
  /** Discriminator: the command. */
  kind: "status";
  /** `--json`. */
  json: boolean;
  /** `--watch`. */
  watch: boolean;
  /** `--updates N`. */
  updates: number | undefined;
  /** `--ops` (or `--server URL`): the running server's ops view. */
  ops?: true;
  /** `--server URL`. */
  server?: string;
}

/**
 * Parse `status` arguments. Pure.
 *
 * @param args Arguments after `status`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseStatusArgs } from "./status_cmd.ts";
 * parseStatusArgs(["--json"]); // { kind: "status", json: true, watch: false, updates: undefined }
 * ```
 */
export function parseStatusArgs(args: readonly string[]): Parsed<StatusFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "watch", "ops"],
    values: ["updates", "server"],
  });
  if (parsed.kind !== "flags") return parsed;
  const watch = watchFlags(parsed);
  if (isUsageError(watch)) return watch;
  const server = parsed.values.get("server");
  if (server !== undefined && !/^https?:\/\/[^\s/?#]+\/?$/.test(server)) {
    return usageError("--server needs a URL such as http://127.0.0.1:8787");
  }
  const ops = parsed.booleans.has("ops") || server !== undefined;
  return {
    kind: "status",
    json: parsed.booleans.has("json"),
    ...watch,
    ...(ops ? { ops: true as const } : {}),
    ...(server === undefined ? {} : { server: server.replace(/\/$/, "") }),
  };
}

/** One section of the report: its JSON value and its text lines. */
export interface StatusBlock {
  /** The section's JSON value. */
  json: Record<string, unknown>;
  /** Its text lines (without the section name). */
  lines: string[];
}

/** What a section may read. */
export interface StatusInputs {
  /** The command's context (config, REST client). */
  ctx: CliContext;
  /** Clock, ms since the epoch. */
  now: () => number;
  /** The server whose ops view the `server` section reads. */
  serverUrl?: string;
  /**
   * The server's access token (`serve --token T`, from
   * {@linkcode ENV_SERVER_TOKEN}), sent as a bearer token.
   */
  serverToken?: string;
}

/** Environment variable: the access token of a server started with `--token`. */
export const ENV_SERVER_TOKEN = "KRAKKED_SERVER_TOKEN";

/** One section of `krakked status`. */
export interface StatusSection {
  /** Its key in the JSON object and its label in the text. */
  name: string;
  /** Read it. Throw what fails; `main` reports it. */
  read(inputs: StatusInputs): Promise<StatusBlock>;
}

/** Kraken's `SystemStatus`. */
const exchangeSection: StatusSection = {
  name: "exchange",
  async read({ ctx }) {
    const s = await ctx.rest.systemStatus();
    return {
      json: { status: s.status, timestamp: s.timestamp },
      lines: [`${s.status} (reported ${s.timestamp})`],
    };
  },
};

/** Kraken's `Time`, with the round trip and the clock offset. */
const timeSection: StatusSection = {
  name: "time",
  async read({ ctx, now }) {
    const sentMs = now();
    const t = await ctx.rest.time();
    const receivedMs = now();
    const roundTripMs = receivedMs - sentMs;
    // The server's whole second was read about half a round trip ago.
    const offsetMs = Math.round(
      t.unixtime * 1000 - (sentMs + roundTripMs / 2),
    );
    const serverTime = new Date(t.unixtime * 1000).toISOString();
    return {
      json: {
        serverTime,
        serverUnix: t.unixtime,
        localTime: new Date(receivedMs).toISOString(),
        offsetMs,
        roundTripMs,
      },
      lines: [
        `server ${serverTime}, REST round trip ${roundTripMs} ms`,
        `this clock is ${Math.abs(offsetMs)} ms ${
          offsetMs > 0 ? "behind" : "ahead of"
        } Kraken's (whole seconds, so ±1000 ms is normal)`,
      ],
    };
  },
};

/** The endpoints and limits in use (no call). */
const connectionSection: StatusSection = {
  name: "connection",
  read({ ctx }) {
    const c = ctx.config.connection;
    return Promise.resolve({
      json: {
        restUrl: c.rest_url,
        wsPublicUrl: c.ws_public_url,
        wsAuthUrl: c.ws_auth_url,
        timeoutMs: c.timeout_ms,
        apiTier: c.api_tier,
      },
      lines: [
        `REST ${c.rest_url} (timeout ${c.timeout_ms} ms, tier ${c.api_tier})`,
        `WebSocket ${c.ws_public_url}, private ${c.ws_auth_url}`,
      ],
    });
  },
};

// deno-lint-ignore no-explicit-any -- the server's JSON, read field by field
type Json = any;

const num = (v: unknown, digits = 1) =>
  typeof v === "number" ? v.toFixed(digits) : "?";

function counterText(c: Json): string {
  return `${num(c?.level)}/${c?.max ?? "?"} (−${c?.decayPerSec ?? "?"}/s${
    c?.queued > 0 ? `, ${c.queued} queued` : ""
  })`;
}

function durationText(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Text lines of an ops snapshot (`GET /api/ops`).
 *
 * @param url The server.
 * @param ops The snapshot.
 * @returns The lines.
 */
export function opsLines(url: string, ops: Json): string[] {
  const lines = [`${url} (tier ${ops.tier})`];
  lines.push(
    `REST ${counterText(ops.rest)}; public ${counterText(ops.public)}; ${
      ops.upstream?.calls ?? 0
    } upstream calls, ${ops.upstream?.failures ?? 0} failed`,
  );
  const trading = Object.entries(ops.trading ?? {});
  if (trading.length > 0) {
    lines.push(
      `trading ${
        trading.map(([pair, c]) => `${pair} ${counterText(c)}`).join("; ")
      }`,
    );
  }
  for (const c of ops.connections ?? []) {
    const last = c.reasons?.at(-1);
    const subs = c.subscriptions ?? [];
    const unhealthy = subs.filter((s: Json) =>
      s.state !== "active" || s.silent
    ).length;
    lines.push(
      `WS ${c.name} ${c.state}${
        c.uptimeMs === null ? "" : ` for ${durationText(c.uptimeMs)}`
      }, ${c.reconnects} reconnect${c.reconnects === 1 ? "" : "s"}${
        last ? ` (last: ${last.reason})` : ""
      }, ${subs.length} subscription${subs.length === 1 ? "" : "s"}${
        unhealthy > 0 ? ` (${unhealthy} not active)` : ""
      }`,
    );
    for (const b of c.books ?? []) {
      if (b.checksumFailures > 0 || b.resyncs > 0) {
        lines.push(
          `book ${b.symbol}: ${b.checksumFailures} checksum failures, ${b.resyncs} resyncs (${b.integrity})`,
        );
      }
    }
  }
  const kinds = Object.entries(ops.errorsByKind ?? {});
  const lastError = ops.errors?.at(-1);
  lines.push(
    kinds.length === 0
      ? "errors none"
      : `errors ${
        kinds.map(([k, n]) => `${k} ${n}`).join(", ")
      }; last: ${lastError?.kind} ${lastError?.source}: ${lastError?.message}`,
  );
  const lastOrder = ops.orders?.at(-1);
  lines.push(
    `orders ${ops.orders?.length ?? 0} events${
      lastOrder ? `; last: ${lastOrder.order ?? "-"} ${lastOrder.detail}` : ""
    }`,
  );
  lines.push(
    ops.deadMan === null || ops.deadMan === undefined
      ? "dead-man switch not armed"
      : `dead-man switch ${ops.deadMan.phase}${
        ops.deadMan.expiresAtMs
          ? `, expires ${new Date(ops.deadMan.expiresAtMs).toISOString()}`
          : ""
      }${ops.deadMan.failures > 0 ? `, ${ops.deadMan.failures} failures` : ""}`,
  );
  const r = ops.recorder;
  if (r !== null && r !== undefined) {
    const state = r.running
      ? "running"
      : r.stale
      ? "STALE (silent)"
      : "stopped";
    lines.push(
      `recorder ${state} (pid ${r.pid}, ws ${r.wsState}, ${r.reconnects} reconnects): ${r.silverRows} trades, ${r.goldRows} gold rows, gaps ${r.gapsFilled}/${r.gapsFound} filled${
        r.gapsUnfilled > 0 ? `, ${r.gapsUnfilled} open` : ""
      }${
        r.bookMismatches > 0 ? `, ${r.bookMismatches} book mismatches` : ""
      }; last write ${new Date(r.writtenAtMs).toISOString()}`,
    );
  }
  return lines;
}

/** The server answered, and refused. */
class RefusedError extends Error {
  override name = "RefusedError";
}

/**
 * The running server's per-run session, obtained the way the page gets it:
 * loading `/` sets the HttpOnly session cookie (the ops routes sit behind
 * the session guard, like every private area of the page). The CLI is a
 * same-machine client without an `Origin`, so it passes the same-origin
 * check; a cross-site page still cannot read the ops view.
 *
 * @param url The server.
 * @param headers This command's correlation id, and the access token.
 * @returns The `Cookie` header value.
 * @throws {Error} When the server sets no session (no page built, or an
 *   access token is needed).
 */
async function serverSession(
  url: string,
  headers: Record<string, string>,
): Promise<string> {
  const res = await fetch(`${url}/`, {
    signal: AbortSignal.timeout(3_000),
    headers,
  });
  await res.body?.cancel();
  const cookie = res.headers.getSetCookie()
    .map((c) => c.split(";")[0]!.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (cookie === undefined) {
    throw new RefusedError(
      `the server gave no session (HTTP ${res.status} for /${
        res.status === 503
          ? ": the page is not built, run 'deno task build'"
          : res.status === 401
          ? `: it needs its access token, set ${ENV_SERVER_TOKEN}`
          : ""
      })`,
    );
  }
  return cookie;
}

/**
 * The running server's ops view (with `--ops`). A server that does not
 * answer is reported, not an error: `running: false`. The request carries
 * this command's correlation id and the session (see `serverSession`).
 */
export const SERVER_SECTION: StatusSection = {
  name: "server",
  async read({ ctx, serverUrl, serverToken }) {
    const { host, port } = ctx.config.server;
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    const requestId = currentCommand()?.id ?? newCommandId("status");
    const url = serverUrl ??
      `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
    try {
      // The server's request lines carry this command's id.
      const headers: Record<string, string> = {
        [REQUEST_ID_HEADER]: requestId,
        ...(serverToken === undefined
          ? {}
          : { authorization: `Bearer ${serverToken}` }),
      };
      const cookie = await serverSession(url, headers);
      const res = await fetch(`${url}/api/ops`, {
        signal: AbortSignal.timeout(3_000),
        headers: { ...headers, cookie },
      });
      if (!res.ok) {
        const body = await res.json().catch(() => undefined) as Json;
        throw new RefusedError(
          `HTTP ${res.status}${
            typeof body?.error?.message === "string"
              ? `: ${body.error.message}`
              : ""
          }`,
        );
      }
      const ops = await res.json();
      return {
        json: { url, running: true, requestId, ...ops },
        lines: opsLines(url, ops),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        json: { url, running: false, requestId, error: message },
        lines: [
          error instanceof RefusedError
            ? `refused at ${url} (${message})`
            : `not answering at ${url} (${message}): is 'krakked serve' running?`,
        ],
      };
    }
  },
};

/** The sections of `krakked status`, in print order. */
export const STATUS_SECTIONS: readonly StatusSection[] = [
  exchangeSection,
  timeSection,
  connectionSection,
];

/**
 * Read every section (one after the other: the time section's round trip
 * must not share the wire with another call).
 *
 * @param inputs Context and clock.
 * @param sections The sections (default {@linkcode STATUS_SECTIONS}).
 * @returns Each section's block, by name, in order.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Read
 * ```ts ignore
 * const report = await readStatus({ ctx, now: Date.now });
 * ```
 */
export async function readStatus(
  inputs: StatusInputs,
  sections: readonly StatusSection[] = STATUS_SECTIONS,
): Promise<Map<string, StatusBlock>> {
  const report = new Map<string, StatusBlock>();
  for (const section of sections) {
    report.set(section.name, await section.read(inputs));
  }
  return report;
}

/**
 * Run `krakked status`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be reached.
 * @example Run
 * ```ts ignore
 * await runStatus({ kind: "status", json: false, watch: false, updates: undefined }, io);
 * ```
 */
export async function runStatus(
  flags: StatusFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  const serverToken = flags.ops
    ? io.env(ENV_SERVER_TOKEN)?.trim() || undefined
    : undefined;
  if (serverToken !== undefined) redactor?.register(serverToken);
  try {
    if (flags.watch) {
      await runWatch(io, {
        url: ctx.config.connection.ws_public_url,
        updates: flags.updates,
        command: "status",
        start: (connection, printed) => {
          connection.on("status", (s) => {
            const at = new Date(io.now()).toISOString();
            if (flags.json) {
              io.stdout(
                `${
                  JSON.stringify({
                    source: "ws",
                    at,
                    system: s.system,
                    apiVersion: s.apiVersion ?? null,
                    connectionId: s.connectionId ?? null,
                    version: s.version ?? null,
                  })
                }\n`,
              );
            } else {
              writeLine(
                io.stdout,
                `${at} ${s.system} (WebSocket ${s.apiVersion ?? "?"}, version ${
                  s.version ?? "?"
                }, connection ${s.connectionId ?? "?"})`,
              );
            }
            printed();
          });
        },
      });
      return 0;
    }
    const report = await readStatus(
      {
        ctx,
        now: io.now,
        ...(flags.server === undefined ? {} : { serverUrl: flags.server }),
        ...(serverToken === undefined ? {} : { serverToken }),
      },
      flags.ops ? [...STATUS_SECTIONS, SERVER_SECTION] : STATUS_SECTIONS,
    );
    if (flags.json) {
      writeJson(
        io,
        Object.fromEntries([...report].map(([name, b]) => [name, b.json])),
      );
    } else {
      for (const [name, block] of report) {
        block.lines.forEach((line, i) =>
          writeLine(
            io.stdout,
            `${i === 0 ? name.padEnd(11) : " ".repeat(11)} ${line}`,
          )
        );
      }
    }
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked status`, for the command table. */
export const statusCommand: Command<StatusFlags> = {
  name: "status",
  summary: "Show Kraken's system status, server time and the connection in use",
  help: STATUS_HELP,
  parse: parseStatusArgs,
  run: runStatus,
};
