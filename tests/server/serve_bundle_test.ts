/**
 * `deno task serve` runs the server from a bundle of its own code
 * (`build:serve` → `dist/serve/main.js`; it weighs ~10 MiB less RSS than
 * ~250 TypeScript modules, tests/server/serve_rss.ts). These tests build
 * that bundle with the task's own command (into a temporary folder laid
 * out like the checkout) and check it is the same server: npm packages stay
 * npm imports (none is copied into a chunk), the page is found next to the
 * bundle, and the proxy answers as from the sources.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

interface Task {
  command: string;
  dependencies?: string[];
}

async function tasks(): Promise<Record<string, Task>> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as {
    tasks: Record<string, Task>;
  };
  return config.tasks;
}

/**
 * Build the bundle with the `build:serve` command, its output moved to
 * `<dir>/dist/serve`, beside a `<dir>/web/dist` holding a marker page.
 */
async function buildInto(dir: string): Promise<string> {
  const { command } = (await tasks())["build:serve"]!;
  const bundle = command.split("&&").map((c) => c.trim()).find((c) =>
    c.startsWith("deno bundle ")
  );
  assert(bundle !== undefined, "build:serve runs deno bundle");
  const out = `${dir}/dist/serve`;
  const args = bundle.split(/\s+/).slice(1).map((w) =>
    w === "dist/serve" ? out : w
  );
  assert(args.includes(out), "build:serve writes dist/serve");
  const built = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(built.success, new TextDecoder().decode(built.stderr));
  await Deno.mkdir(`${dir}/web/dist`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/web/dist/index.html`,
    "<!doctype html><title>bundle marker</title>",
  );
  return out;
}

Deno.test("the serve task runs the bundle build:serve makes", async () => {
  const all = await tasks();
  assert(all.serve!.command.includes(" dist/serve/main.js serve"));
  assert(all.serve!.dependencies?.includes("build:serve"));
});

Deno.test("the server bundle copies no npm package into a chunk", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_bundle_" });
  try {
    const out = await buildInto(dir);
    let chunks = 0;
    for await (const entry of Deno.readDir(out)) {
      if (!entry.name.endsWith(".js")) continue;
      chunks++;
      const text = await Deno.readTextFile(`${out}/${entry.name}`);
      assert(
        !text.includes("node_modules/"),
        `${entry.name} holds npm package code: add it to --external`,
      );
    }
    assert(chunks > 1, "code splitting: serve loads only its own chunks");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "serve --sim from the bundle serves the page and the proxy",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "krakked_bundle_" });
    const config = await Deno.makeTempDir({ prefix: "krakked_bundle_cfg_" });
    const out = await buildInto(dir);
    const serveWords = (await tasks()).serve!.command.split(/\s+/);
    const runFlags = serveWords.slice(
      2,
      serveWords.indexOf("dist/serve/main.js"),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...runFlags,
        "--config",
        `${ROOT}/deno.json`,
        `${out}/main.js`,
        "serve",
        "--sim",
        "--port",
        "0",
      ],
      cwd: ROOT,
      env: { KRAKKED_CONFIG_DIR: config },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      let text = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream())
        .getReader();
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`serve exited: ${text}`);
        text += value;
        url = /— open (http:\/\/\S+)/.exec(text)?.[1];
      }
      (async () => {
        while (!(await reader.read()).done) { /* drain the log */ }
      })();
      assert.match(text, /SIMULATED/);
      const page = await fetch(`${url}/`);
      assert.deepEqual(page.status, 200);
      assert.match(await page.text(), /bundle marker/);
      const ticker = await fetch(`${url}/api/public/Ticker?pair=XBTUSD`);
      assert.deepEqual(ticker.status, 200);
      const body = await ticker.json() as {
        error: unknown[];
        result: Record<string, { c: string[] }>;
      };
      assert.deepEqual(body.error, []);
      assert.deepEqual(Object.keys(body.result), ["XXBTZUSD"]);
      assert(Number(body.result.XXBTZUSD!.c[0]) > 0);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(config, { recursive: true });
    }
  },
});
