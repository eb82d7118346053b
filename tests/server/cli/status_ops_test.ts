/**
 * `krakked status --ops` against a server started with an access token
 * (`serve --token T`, what a non-loopback bind needs): with
 * `KRAKKED_SERVER_TOKEN` it reads the ops view through both guards (the
 * token, then the session from the page load); without it the refusal is
 * named, not mistaken for a server that is down; the token never shows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeArgs } from "../../../server/cli/serve_cmd.ts";
import { startServe } from "../../../server/serve.ts";
import { main } from "../../../server/main.ts";

const TOKEN = "t0k3n-for-the-ops-test-0123456789";

Deno.test("status --ops with an access-token server: the token from KRAKKED_SERVER_TOKEN", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_status_ops_" });
  await Deno.writeTextFile(join(dir, "index.html"), "<!doctype html>");
  const args = parseServeArgs(["--sim", "--port", "0", "--token", TOKEN]);
  assert.equal(args.kind, "serve");
  const server = await startServe(
    args as Extract<typeof args, { kind: "serve" }>,
    {
      staticDir: dir,
      configText: "connection:\n  api_tier: pro\n",
      logSink: () => {},
      say: () => {},
      env: () => undefined,
      paperPath: join(dir, "paper.json"),
    },
  );
  try {
    await Deno.writeTextFile(
      join(dir, "config.yaml"),
      `connection:\n  rest_url: ${server.simUrl}\n`,
    );
    const run = async (env: Record<string, string>) => {
      let out = "";
      let err = "";
      const code = await main(
        ["status", "--ops", "--server", server.url, "--json"],
        {
          stdout: (t) => (out += t),
          stderr: (t) => (err += t),
          env: (n) => ({ KRAKKED_CONFIG_DIR: dir, ...env })[n],
          interactive: false,
          stdoutIsTerminal: false,
          stderrIsTerminal: false,
          os: "linux",
        },
      );
      assert.equal(code, 0, err);
      return { report: JSON.parse(out), text: out + err };
    };
    const ok = await run({ KRAKKED_SERVER_TOKEN: TOKEN });
    assert.equal(ok.report.server.running, true, ok.text);
    assert.equal(ok.report.server.tier, "pro");
    assert.ok(Array.isArray(ok.report.server.connections));
    assert.ok(!ok.text.includes(TOKEN), "the token is never printed");
    const refused = await run({});
    assert.equal(refused.report.server.running, false);
    assert.match(
      refused.report.server.error,
      /HTTP 401 for \/: it needs its access token, set KRAKKED_SERVER_TOKEN/,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
