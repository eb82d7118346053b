/**
 * Where `krakked load` writes: a ClickHouse engine behind one small
 * interface, {@linkcode ClickHouseSink} (run a statement, read rows, insert
 * a batch of JSON rows under an `insert_deduplication_token`), with two
 * implementations:
 *
 * - {@linkcode HttpSink}: a ClickHouse server over HTTP(S) through
 *   `@clickhouse/client` — `clickhouse://user:pass@host:8123/db`
 *   (`clickhouses://` for TLS, default port 8443);
 * - {@linkcode ChdbSink}: chDB, ClickHouse 26.x in-process (the native
 *   addon of npm `@chdb/lib-linux-x64-gnu`, loaded on first use, needs
 *   `--allow-ffi`), on a data directory — `chdb:///abs/dir?database=db`.
 *   libchdb binds one data directory per process: a second live session
 *   on another directory is refused.
 *
 * Both read rows as JSONEachRow with 64-bit integers and decimals quoted,
 * so exact values arrive as text.
 *
 * @module
 */

import {
  DEFAULT_CLICKHOUSE_DATABASE,
  sqlIdent,
  sqlString,
} from "./clickhouse_schema.ts";

/** Why a sink URL cannot be used. */
export type SinkUrlProblem = "bad_url" | "bad_scheme" | "bad_database";

/** A `--to` URL that names no usable ClickHouse; the URL is never echoed with its password. */
export class SinkUrlError extends Error {
  /** Discriminator. */
  readonly kind = "sink_url" as const;
  /** Error name. */
  override name = "SinkUrlError";
  /**
   * Create the error.
   *
   * @param problem What is wrong.
   * @param message The explanation (no secrets).
   */
  constructor(readonly problem: SinkUrlProblem, message: string) {
    super(message);
  }
}

/** A failed statement or insert, with ClickHouse's own message. */
export class ClickHouseError extends Error {
  /** Discriminator. */
  readonly kind = "clickhouse" as const;
  /** Error name. */
  override name = "ClickHouseError";
}

/** Where a sink URL points. */
export type SinkTarget =
  | {
    kind: "http";
    /** `http(s)://host:port` (no credentials). */
    url: string;
    username: string;
    password: string;
    database: string;
  }
  | {
    kind: "chdb";
    /** The data directory. */
    path: string;
    database: string;
  };

/**
 * Read a `--to` URL. Pure.
 *
 * @param text `clickhouse://[user[:password]@]host[:port][/database]`,
 *   `clickhouses://…` (HTTPS), `http(s)://…` (same, ClickHouse's HTTP
 *   port), or `chdb:///absolute/dir[?database=name]`.
 * @returns The target.
 * @throws {SinkUrlError} For anything else.
 */
export function parseSinkUrl(text: string): SinkTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SinkUrlError(
      "bad_url",
      "Cannot read the ClickHouse URL: expected clickhouse://host:port/db or chdb:///dir",
    );
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol === "chdb:") {
    if (url.host !== "" || !url.pathname.startsWith("/")) {
      throw new SinkUrlError(
        "bad_url",
        `Cannot use ${shown}: chDB needs an absolute directory, chdb:///path/to/dir`,
      );
    }
    return {
      kind: "chdb",
      path: decodeURIComponent(url.pathname),
      database: database(url.searchParams.get("database"), shown),
    };
  }
  const tls = url.protocol === "clickhouses:" || url.protocol === "https:";
  if (
    !tls && url.protocol !== "clickhouse:" && url.protocol !== "http:"
  ) {
    throw new SinkUrlError(
      "bad_scheme",
      `Cannot use ${url.protocol}// as a ClickHouse URL: expected clickhouse://, clickhouses://, http(s):// or chdb:///`,
    );
  }
  if (url.hostname === "") {
    throw new SinkUrlError("bad_url", `Cannot use ${shown}: no host`);
  }
  const port = url.port !== "" ? url.port : tls ? "8443" : "8123";
  const path = url.pathname.replace(/^\/+|\/+$/g, "");
  return {
    kind: "http",
    url: `${tls ? "https" : "http"}://${url.hostname}:${port}`,
    username: decodeURIComponent(url.username) || "default",
    password: decodeURIComponent(url.password),
    database: database(path === "" ? null : path, shown),
  };
}

function database(name: string | null, shown: string): string {
  const db = name ?? DEFAULT_CLICKHOUSE_DATABASE;
  try {
    return sqlIdent(db);
  } catch {
    throw new SinkUrlError(
      "bad_database",
      `Cannot use ${shown}: database name ${
        JSON.stringify(db)
      } (letters, digits and _ only)`,
    );
  }
}

/**
 * A URL for people: scheme, host and path, never the password.
 *
 * @param target A parsed target.
 * @returns e.g. `http://ch:8123 (database krakked)`.
 */
export function describeTarget(target: SinkTarget): string {
  return target.kind === "chdb"
    ? `chDB ${target.path} (database ${target.database})`
    : `${target.url} (database ${target.database})`;
}

/** One row as read: column name → JSON value (64-bit ints and decimals as text). */
export type ChRow = Record<string, unknown>;

/** What `krakked load` needs from ClickHouse. */
export interface ClickHouseSink extends AsyncDisposable {
  /** `http` or `chdb`. */
  readonly kind: "http" | "chdb";
  /** The database of the recorder's tables. */
  readonly database: string;
  /** Run a statement that returns nothing (DDL, small inserts). */
  exec(sql: string): Promise<void>;
  /** Run a query; rows as JSONEachRow. */
  query(sql: string): Promise<ChRow[]>;
  /**
   * Insert rows as one block (JSONEachRow) with an
   * `insert_deduplication_token`: a second insert with the same token into
   * the same table is dropped whole, materialized views included.
   */
  insert(table: string, rows: readonly object[], token: string): Promise<void>;
  /** Close the connection (and the chDB session). */
  close(): Promise<void>;
}

/** Read settings: exact values arrive as strings. */
const READ_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
} as const;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A ClickHouse server over HTTP(S), through `@clickhouse/client`. */
export class HttpSink implements ClickHouseSink {
  readonly kind = "http" as const;
  readonly database: string;
  // deno-lint-ignore no-explicit-any
  #client: any;

  // deno-lint-ignore no-explicit-any
  private constructor(database: string, client: any) {
    this.database = database;
    this.#client = client;
  }

  /**
   * Connect (the client is lazy; `ping` proves the server answers).
   *
   * @param target An `http` target.
   * @param options Request timeout, ms (default 30,000).
   * @returns The sink.
   * @throws {ClickHouseError} When the server does not answer the ping.
   */
  static async open(
    target: Extract<SinkTarget, { kind: "http" }>,
    options: { requestTimeoutMs?: number } = {},
  ): Promise<HttpSink> {
    const { createClient, ClickHouseLogLevel } = await import(
      "@clickhouse/client"
    );
    const client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      request_timeout: options.requestTimeoutMs ?? 30_000,
      clickhouse_settings: { ...READ_SETTINGS },
      // Errors reach the caller as ClickHouseError; the client's own
      // console logging would bypass the CLI's output and redactor.
      log: { level: ClickHouseLogLevel.OFF },
    });
    const ping = await client.ping();
    if (!ping.success) {
      await client.close();
      throw new ClickHouseError(
        `ClickHouse at ${target.url} does not answer: ${message(ping.error)}`,
      );
    }
    return new HttpSink(target.database, client);
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.#client.command({ query: sql });
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  async query(sql: string): Promise<ChRow[]> {
    try {
      const rs = await this.#client.query({
        query: sql,
        format: "JSONEachRow",
      });
      return await rs.json() as ChRow[];
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  async insert(
    table: string,
    rows: readonly object[],
    token: string,
  ): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.#client.insert({
        table,
        values: rows,
        format: "JSONEachRow",
        clickhouse_settings: {
          insert_deduplication_token: token,
          insert_deduplicate: 1,
          deduplicate_blocks_in_dependent_materialized_views: 1,
          async_insert: 0,
        },
      });
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The part of chDB's native addon this uses. */
interface ChdbNative {
  CreateConnection(path: string): unknown;
  CloseConnection(conn: unknown): void;
  QueryAsyncConnection(
    conn: unknown,
    sql: string,
    format: string,
  ): Promise<{ bytes: Uint8Array }>;
  InsertRawAsyncConnection(
    conn: unknown,
    prefix: string,
    payload: Uint8Array,
    countLines: boolean,
  ): Promise<{ rowsWritten: number }>;
}

let native: ChdbNative | undefined;

/** The npm package holding chDB's native addon (in deno.json's imports). */
const CHDB_PACKAGE = "@chdb/lib-linux-x64-gnu";

async function loadChdb(): Promise<ChdbNative> {
  if (native === undefined) {
    // The platform package's index.js is `require('./chdb_node.node')`;
    // npm:chdb (the JS wrapper) lists darwin optional packages that do not
    // resolve here, so the linux-x64 addon is imported directly. The
    // specifier is not a literal on purpose: `deno compile` would otherwise
    // embed libchdb.so (566 MB) in the binary; chDB runs from source.
    const specifier = CHDB_PACKAGE;
    let mod: { default?: unknown };
    try {
      mod = await import(specifier);
    } catch (error) {
      throw new ClickHouseError(
        `chDB is not available here (${CHDB_PACKAGE}, linux-x64, from source with --allow-ffi): ${
          message(error)
        }; use a ClickHouse server URL`,
        { cause: error },
      );
    }
    native = (mod.default ?? mod) as ChdbNative;
  }
  return native;
}

const SETTINGS_SQL = Object.entries(READ_SETTINGS).map(([k, v]) =>
  `${k} = ${v}`
)
  .join(", ");

/** ClickHouse in-process through chDB, on one data directory. */
export class ChdbSink implements ClickHouseSink {
  readonly kind = "chdb" as const;
  readonly database: string;
  readonly path: string;
  #native: ChdbNative;
  #conn: unknown;
  #closed = false;
  #pending = new Set<Promise<unknown>>();

  private constructor(
    path: string,
    database: string,
    nativeAddon: ChdbNative,
    conn: unknown,
  ) {
    this.path = path;
    this.database = database;
    this.#native = nativeAddon;
    this.#conn = conn;
  }

  /**
   * Open a chDB session on a directory (created when missing).
   *
   * @param target A `chdb` target.
   * @returns The sink; close it before opening another directory.
   * @throws {ClickHouseError} When chDB cannot start (another session on
   *   another directory is live in this process, a bad directory).
   */
  static async open(
    target: Extract<SinkTarget, { kind: "chdb" }>,
  ): Promise<ChdbSink> {
    const addon = await loadChdb();
    await Deno.mkdir(target.path, { recursive: true });
    let conn: unknown;
    try {
      conn = addon.CreateConnection(target.path);
    } catch (error) {
      throw new ClickHouseError(
        `Cannot open chDB on ${target.path}: ${message(error)}`,
        { cause: error },
      );
    }
    return new ChdbSink(target.path, target.database, addon, conn);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new ClickHouseError("chDB session is closed"));
    }
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.#track(
        this.#native.QueryAsyncConnection(this.#conn, sql, "CSV"),
      );
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  async query(sql: string): Promise<ChRow[]> {
    let bytes: Uint8Array;
    try {
      ({ bytes } = await this.#track(
        this.#native.QueryAsyncConnection(
          this.#conn,
          `${sql} SETTINGS ${SETTINGS_SQL}`,
          "JSONEachRow",
        ),
      ));
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
    const text = new TextDecoder().decode(bytes);
    const out: ChRow[] = [];
    for (const line of text.split("\n")) {
      if (line !== "") out.push(JSON.parse(line) as ChRow);
    }
    return out;
  }

  async insert(
    table: string,
    rows: readonly object[],
    token: string,
  ): Promise<void> {
    if (rows.length === 0) return;
    const body = new TextEncoder().encode(
      rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
    const prefix =
      `INSERT INTO ${table} SETTINGS insert_deduplication_token = ${
        sqlString(token)
      }, insert_deduplicate = 1, deduplicate_blocks_in_dependent_materialized_views = 1, async_insert = 0 FORMAT JSONEachRow `;
    try {
      await this.#track(
        this.#native.InsertRawAsyncConnection(this.#conn, prefix, body, true),
      );
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  /**
   * Run SQL text as given (it may name its own `FORMAT`), with an optional
   * payload for an `INSERT … FORMAT …`; the raw output. For tools that
   * speak SQL text (a ClickHouse HTTP front, a shell).
   *
   * @param sql The statement.
   * @param payload Rows in the statement's input format (inserts only).
   * @returns The output bytes (empty for an insert).
   * @throws {ClickHouseError} With ClickHouse's message.
   */
  async raw(
    sql: string,
    payload?: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer>> {
    try {
      if (payload !== undefined) {
        await this.#track(
          this.#native.InsertRawAsyncConnection(this.#conn, sql, payload, true),
        );
        return new Uint8Array(0);
      }
      const { bytes } = await this.#track(
        this.#native.QueryAsyncConnection(this.#conn, sql, "TabSeparated"),
      );
      return new Uint8Array(bytes);
    } catch (error) {
      throw new ClickHouseError(message(error), { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing a connection under a running native call aborts the engine.
    await Promise.allSettled([...this.#pending]);
    this.#native.CloseConnection(this.#conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Open the sink a URL names.
 *
 * @param url A `--to` URL (see {@linkcode parseSinkUrl}).
 * @returns The sink.
 * @throws {SinkUrlError} For a bad URL.
 * @throws {ClickHouseError} When the engine cannot be reached or started.
 */
export async function openSink(url: string): Promise<ClickHouseSink> {
  const target = parseSinkUrl(url);
  return target.kind === "chdb"
    ? await ChdbSink.open(target)
    : await HttpSink.open(target);
}
