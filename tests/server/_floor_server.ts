/**
 * The floor of the proxy bench: a bare `Deno.serve` that answers every
 * request with the bytes and headers it is given (a JSON file: `{ body,
 * headers }`), so the only difference from Krakked is Krakked's own work.
 *
 * `deno run --allow-net=127.0.0.1 --allow-read tests/server/_floor_server.ts answer.json`
 * prints `http://127.0.0.1:PORT` on stdout once it listens.
 */

const file = Deno.args[0];
if (file === undefined) throw new Error("usage: _floor_server.ts answer.json");
const answer = JSON.parse(await Deno.readTextFile(file)) as {
  body: string;
  headers: [string, string][];
};
const body = new TextEncoder().encode(answer.body);
const headers = answer.headers;

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    Deno.stdout.writeSync(
      new TextEncoder().encode(`http://127.0.0.1:${port}\n`),
    );
  },
}, () => new Response(body, { headers }));
