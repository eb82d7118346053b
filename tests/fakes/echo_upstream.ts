/**
 * A hostile or broken "Kraken" on loopback that echoes every request back
 * in every field it answers with: the `API-Key`, the `API-Sign`, the body
 * (nonce, otp, parameters) go into error strings, into the `result` (values
 * and keys), into response headers, raw, JSON-escaped, with `\/` and
 * percent-encoded. It records what it received, so a test can look for
 * every signature and nonce ever sent in every output.
 *
 * Public `AssetPairs` and `Assets` answer from fixtures (so an order
 * service can load its market); every other call echoes in the current
 * {@linkcode EchoMode}.
 *
 * @module
 */

/** How the upstream answers a call. */
export type EchoMode =
  /** HTTP 200 with the echo in Kraken error strings. */
  | "error"
  /** HTTP 200 with a `result` made of the echo, and echoing warnings. */
  | "result"
  /** HTTP 500 with a JSON error array holding the echo. */
  | "http500"
  /** HTTP 502 with an HTML page holding the echo. */
  | "html"
  /** HTTP 200 with the echo in a `result` of the wrong shape. */
  | "shape";

/** Every mode, for tests that walk them all. */
export const ECHO_MODES: readonly EchoMode[] = [
  "error",
  "result",
  "http500",
  "html",
  "shape",
];

/** One request as the echo received it. */
export interface EchoedRequest {
  path: string;
  key: string | null;
  sign: string | null;
  body: string;
}

const FIXTURES = new URL("../core/market/testdata/", import.meta.url);

/** The spellings of a value an echo uses (and a leak check looks for). */
export function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    ...new Set([
      value,
      json,
      json.replaceAll("/", "\\/"),
      encodeURIComponent(value),
    ]),
  ];
}

/** The echo server. */
export class EchoUpstream implements AsyncDisposable {
  /** Requests received, in order. */
  readonly requests: EchoedRequest[] = [];
  /** How the next calls are answered. */
  mode: EchoMode = "error";
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #fixtures = new Map<string, string>();

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#answer(request),
    );
  }

  /**
   * Start the echo on a free loopback port.
   *
   * @returns The running echo.
   */
  static async start(): Promise<EchoUpstream> {
    const echo = new EchoUpstream();
    for (const name of ["asset_pairs", "assets"]) {
      echo.#fixtures.set(
        name,
        await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)),
      );
    }
    return echo;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** `ws://127.0.0.1:<port>` (no WebSocket is ever accepted there). */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Every spelling of every signature and nonce received so far.
   *
   * @returns The values a leak check must not find.
   */
  sentValues(): string[] {
    const out: string[] = [];
    for (const r of this.requests) {
      if (r.sign) out.push(...spellings(r.sign));
      const nonce = nonceOf(r.body);
      if (nonce) out.push(nonce);
    }
    return out;
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.text() : "";
    const key = request.headers.get("API-Key");
    const sign = request.headers.get("API-Sign");
    this.requests.push({ path: url.pathname, key, sign, body });
    if (url.pathname === "/0/public/AssetPairs") {
      return fixture(this.#fixtures.get("asset_pairs")!);
    }
    if (url.pathname === "/0/public/Assets") {
      return fixture(this.#fixtures.get("assets")!);
    }
    const said = `key=${key} sign=${sign} body=${body}`;
    const headers = new Headers({
      "content-type": "application/json",
      // Headers cannot hold every byte: the key and signature percent-encoded.
      "x-echo-key": encodeURIComponent(key ?? ""),
      "x-echo-sign": encodeURIComponent(sign ?? ""),
    });
    const escaped = JSON.stringify(said).replaceAll("/", "\\/");
    const nonce = nonceOf(body);
    switch (this.mode) {
      case "error":
        return new Response(
          `{"error":[${escaped},"EGeneral:Internal error: ${
            encodeURIComponent(said)
          }","EAPI:Invalid key ${said.replaceAll('"', '\\"')}"]}`,
          { headers },
        );
      case "result":
        return new Response(
          JSON.stringify({
            error: [`WGeneral:echo ${said}`],
            result: {
              [key ?? "none"]: { sign, nonce, said, body },
              [sign ?? "none"]: [said, encodeURIComponent(said)],
              token: sign,
              expires: 900,
            },
          }).replaceAll("/", "\\/"),
          { headers },
        );
      case "http500":
        return new Response(
          JSON.stringify({ error: [`EService:Unavailable ${said}`] }),
          { status: 500, headers },
        );
      case "html":
        headers.set("content-type", "text/html");
        return new Response(`<html><body>${said}</body></html>`, {
          status: 502,
          headers,
        });
      case "shape":
        return new Response(
          JSON.stringify({ error: [], result: [said, key, sign] }),
          { headers },
        );
    }
  }

  /** Stop the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

function fixture(text: string): Response {
  return new Response(text, {
    headers: { "content-type": "application/json" },
  });
}

function nonceOf(body: string): string | null {
  if (body === "") return null;
  if (body.startsWith("{")) {
    try {
      const nonce = (JSON.parse(body) as { nonce?: unknown }).nonce;
      return nonce === undefined ? null : String(nonce);
    } catch {
      return null;
    }
  }
  return new URLSearchParams(body).get("nonce");
}
