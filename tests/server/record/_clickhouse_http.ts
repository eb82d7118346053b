/**
 * ClickHouse's HTTP interface on loopback, answered by chDB: enough of the
 * protocol for `@clickhouse/client` (GET /ping; POST / with the statement in
 * the body, or `?query=INSERT … FORMAT …` with the rows in the body; every
 * other URL parameter is a setting; HTTP basic auth; errors as status 500
 * with ClickHouse's text and `X-ClickHouse-Exception-Code`). The SQL runs
 * on a real ClickHouse engine; only the transport is this file's.
 */
import type { ChdbSink } from "../../../server/record/clickhouse.ts";

const NOT_SETTINGS = new Set([
  "query",
  "query_id",
  "database",
  "default_format",
  "session_id",
  "session_timeout",
  "session_check",
  "compress",
  "decompress",
  "enable_http_compression",
]);

function withSettings(sql: string, settings: string[]): string {
  if (settings.length === 0) return sql;
  const clause = `SETTINGS ${settings.join(", ")}`;
  const format = /\sFORMAT\s+\w+\s*$/i.exec(sql);
  return format === null
    ? `${sql.trimEnd()} ${clause}`
    : `${sql.slice(0, format.index)} ${clause}${format[0]}`;
}

function literal(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value)
    ? value
    : `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A loopback ClickHouse HTTP front for a chDB sink. */
export class ClickHouseHttpFront implements AsyncDisposable {
  readonly url: string;
  /** Requests answered, with the settings each carried. */
  readonly requests: { sql: string; settings: Record<string, string> }[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(chdb: ChdbSink, auth: { username: string; password: string }) {
    const expected = `Basic ${btoa(`${auth.username}:${auth.password}`)}`;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (req) => {
        const url = new URL(req.url);
        if (url.pathname === "/ping") return new Response("Ok.\n");
        if (req.headers.get("authorization") !== expected) {
          return new Response(
            "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)",
            { status: 401, headers: { "X-ClickHouse-Exception-Code": "516" } },
          );
        }
        const settings: string[] = [];
        const named: Record<string, string> = {};
        for (const [k, v] of url.searchParams) {
          if (NOT_SETTINGS.has(k)) continue;
          settings.push(`${k} = ${literal(v)}`);
          named[k] = v;
        }
        const body = new Uint8Array(await req.arrayBuffer());
        const insert = url.searchParams.get("query");
        const text = insert ?? new TextDecoder().decode(body);
        // Real ClickHouse applies URL settings to the query context; here
        // they become the statement's SETTINGS clause, which a SELECT or an
        // INSERT has, and DDL (whose own SETTINGS are table settings)
        // does not: DDL runs without them (they are read formats only).
        const sql = insert !== null || /^\s*(SELECT|WITH|SHOW)\b/i.test(text)
          ? withSettings(text, settings)
          : text;
        this.requests.push({ sql, settings: named });
        try {
          const out = await chdb.raw(sql, insert === null ? undefined : body);
          return new Response(out, {
            headers: { "X-ClickHouse-Format": "JSONEachRow" },
          });
        } catch (error) {
          const text = error instanceof Error ? error.message : String(error);
          const code = /Code: (\d+)/.exec(text)?.[1] ?? "1";
          return new Response(text, {
            status: 500,
            headers: { "X-ClickHouse-Exception-Code": code },
          });
        }
      },
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
