/**
 * `krakked logs --order ID`: one order's whole trail from the server's log
 * file (`serve --log-file PATH`): the HTTP request that placed it (by its
 * correlation id `rid`), the upstream REST calls that name it (its
 * `userref` / `cl_ord_id`, or its Kraken id), and every lifecycle step and
 * fill the order service logged, in the order they were written.
 *
 * The trail is found in two passes over `PATH.1` then `PATH`: the lines
 * that name the order (`order` key or `orderId`) give its Kraken ids and
 * the request ids that acted on it; the second pass takes every line with
 * any of those keys, Kraken ids or request ids.
 *
 * @module
 */

import { join } from "node:path";
import { configDir } from "../deno/config_dir.ts";
import { type Parsed, parseFlags, usageError } from "./args.ts";
import type { Command } from "./command.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/** Help text of `krakked logs`. */
export const LOGS_HELP =
  `Usage: krakked logs --order ID [--log-file PATH] [--json]

Prints one order's trail from the server's log file: the request that placed
it, its REST calls to Kraken, its acknowledgement, executions and fills, and
its lifecycle steps, in the order they happened.

  --order ID       the order: its tracking key (userref:42, cl_ord_id:…), a
                   bare userref (42), or its Kraken order id (OABCDE-…)
  --log-file PATH  the file 'krakked serve --log-file PATH' writes (default:
                   serve.log in the config directory); PATH.1 is read first.
                   A CLI log works too: with KRAKKED_LOG_FILE=PATH each
                   command appends its lines, named by its run's id, so an
                   order placed by 'krakked order' is found with the run
                   that placed it
  --json           print {"order", "orderIds", "requestIds", "entries": [...]}
                   where each entry is one log line as the server wrote it

Exit codes: 0 trail printed, 1 no line names the order or the file is
missing, 2 usage.`;

/** Parsed `logs` flags. */
export interface LogsFlags {
  /** Discriminator: the command. */
  kind: "logs";
  /** `--order`. */
  order: string;
  /** `--log-file`, when given. */
  logFile: string | undefined;
  /** `--json`. */
  json: boolean;
}

const ORDER_ID = /^[A-Za-z0-9:_.-]{1,80}$/;

/**
 * Parse `logs` arguments. Pure.
 *
 * @param args Arguments after `logs`.
 * @returns The flags, help, or a usage error.
 * @example
 * ```ts
 * import { parseLogsArgs } from "./logs_cmd.ts";
 * parseLogsArgs(["--order", "userref:42"]);
 * // { kind: "logs", order: "userref:42", logFile: undefined, json: false }
 * ```
 */
export function parseLogsArgs(args: readonly string[]): Parsed<LogsFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json"],
    values: ["order", "log-file"],
  });
  if (parsed.kind !== "flags") return parsed;
  if (parsed.positionals.length > 0) {
    return usageError(`Unexpected argument "${parsed.positionals[0]}"`);
  }
  const order = parsed.values.get("order");
  if (order === undefined) return usageError("Missing --order ID");
  if (!ORDER_ID.test(order)) {
    return usageError(
      "--order must be a tracking key (userref:42), a userref or a Kraken order id",
    );
  }
  return {
    kind: "logs",
    order,
    logFile: parsed.values.get("log-file"),
    json: parsed.booleans.has("json"),
  };
}

/** One order's trail. */
export interface OrderTrail {
  /** The tracking key, when found (`userref:42`). */
  order: string | null;
  /** Kraken order ids seen for it. */
  orderIds: string[];
  /** Correlation ids of the requests that acted on it. */
  requestIds: string[];
  /** The log lines, in file order. */
  entries: Record<string, unknown>[];
}

/**
 * Find one order's trail in parsed log lines. Pure.
 *
 * @param lines Log lines (objects), in file order.
 * @param id Tracking key, bare userref or Kraken order id.
 * @returns The trail (empty `entries` when nothing names the order).
 */
export function orderTrail(
  lines: readonly Record<string, unknown>[],
  id: string,
): OrderTrail {
  const key = /^-?\d{1,10}$/.test(id) ? `userref:${id}` : id;
  const keys = new Set<string>([key]);
  const orderIds = new Set<string>();
  if (!key.includes(":")) orderIds.add(key);
  const rids = new Set<string>();
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  // Pass 1 (twice: a Kraken id gives the key, the key gives more ids).
  for (let round = 0; round < 2; round++) {
    for (const line of lines) {
      const order = str(line.order);
      const orderId = str(line.orderId);
      const named = (order !== undefined && keys.has(order)) ||
        (orderId !== undefined && orderIds.has(orderId));
      if (!named) continue;
      if (order !== undefined) keys.add(order);
      if (orderId !== undefined) orderIds.add(orderId);
      const rid = str(line.rid);
      if (rid !== undefined) rids.add(rid);
    }
  }
  const entries = lines.filter((line) => {
    const order = str(line.order);
    const orderId = str(line.orderId);
    const rid = str(line.rid);
    return (order !== undefined && keys.has(order)) ||
      (orderId !== undefined && orderIds.has(orderId)) ||
      (rid !== undefined && rids.has(rid));
  });
  const found = [...keys].find((k) => k.includes(":")) ?? null;
  return {
    order: entries.length > 0 ? found : null,
    orderIds: [...orderIds].filter((o) => o !== key || entries.length > 0),
    requestIds: [...rids],
    entries,
  };
}

/**
 * Parse JSON log text; lines that are not JSON objects are skipped.
 *
 * @param text The file's text.
 * @returns The objects.
 */
export function parseLogLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const value = JSON.parse(line);
      if (value !== null && typeof value === "object") out.push(value);
    } catch {
      // A line cut by a crash, or not ours.
    }
  }
  return out;
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

const SKIP = new Set(["ts", "level", "msg"]);

/**
 * One entry as a text line: time, level, message, then its fields.
 *
 * @param entry A log line.
 * @returns The text.
 */
export function trailLine(entry: Record<string, unknown>): string {
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${entry.ts ?? "?"} ${String(entry.level ?? "?").padEnd(5)} ${
    entry.msg ?? ""
  } ${fields.join(" ")}`.trimEnd();
}

/** No log file, or no line in it names the order (exit 1; with `--json`, one error object). */
export class LogsError extends Error {
  /** Always `LogsError`. */
  override name = "LogsError";
}

/**
 * Run `krakked logs`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @returns 0 with a trail.
 * @throws {LogsError} Without a log file, or when no line names the order.
 */
export async function runLogs(flags: LogsFlags, io: CliIo): Promise<number> {
  const path = flags.logFile ??
    join(configDir(io.os, io.env), "serve.log");
  const older = await readIfThere(`${path}.1`);
  const newer = await readIfThere(path);
  if (older === undefined && newer === undefined) {
    throw new LogsError(
      `No log file at ${path}: start the server with 'krakked serve --log-file ${path}'`,
    );
  }
  const lines = parseLogLines(`${older ?? ""}\n${newer ?? ""}`);
  const trail = orderTrail(lines, flags.order);
  if (trail.entries.length === 0) {
    throw new LogsError(`No log line in ${path} names order ${flags.order}`);
  }
  if (flags.json) {
    writeJson(io, trail);
  } else {
    for (const entry of trail.entries) writeLine(io.stdout, trailLine(entry));
  }
  return 0;
}

/** `krakked logs`, for the command table. */
export const logsCommand: Command<LogsFlags> = {
  name: "logs",
  summary: "Print one order's trail from the server's log file",
  help: LOGS_HELP,
  parse: parseLogsArgs,
  run: runLogs,
};
