/**
 * `connection.api_tier` reaches the rate limiter wherever the server side
 * builds its REST client: `krakked serve` (live and `--sim`, where the
 * in-process simulator meters the key by the same tier) and every CLI
 * command (`loadContext`). Checked on the constructed objects, not by
 * timing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RestClient } from "../../core/rest/client.ts";
import {
  REST_TIERS,
  type Tier,
  TRADING_TIERS,
} from "../../core/rest/ratelimit.ts";
import { loadContext } from "../../server/cli/context.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { startSimulator } from "@krakked/sim";

const TIERS: Tier[] = ["starter", "intermediate", "pro"];

function assertPacedFor(rest: RestClient, tier: Tier): void {
  assert.equal(rest.tier, tier);
  const r = rest.limiter.snapshot("rest");
  assert.deepEqual(
    { max: r.max, decayPerSec: r.decayPerSec },
    REST_TIERS[tier],
  );
  const t = rest.limiter.snapshot("trading", "XBTUSD");
  assert.deepEqual(
    { max: t.max, decayPerSec: t.decayPerSec },
    TRADING_TIERS[tier],
  );
}

function serveArgs(argv: string[]) {
  const args = parseServeArgs(argv);
  if (args.kind !== "serve") throw new Error("bad args");
  return args;
}

async function withStaticDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html>");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve --sim: client and in-process simulator both use connection.api_tier", async (t) => {
  await withStaticDir(async (staticDir) => {
    for (const tier of [undefined, ...TIERS]) {
      await t.step(tier ?? "default (starter)", async () => {
        const running = await startServe(
          serveArgs(["--sim", "--port", "0", "--seed", "5"]),
          {
            staticDir,
            configText: tier === undefined
              ? ""
              : `connection:\n  api_tier: ${tier}\n`,
            logSink: () => {},
            say: () => {},
            env: () => undefined,
          },
        );
        try {
          const expected = tier ?? "starter";
          assertPacedFor(running.rest, expected);
          // The simulator's key is metered by the same REST counter limits.
          const simCounter = running.simulator!.keys.counter("key-1")!;
          assert.deepEqual(
            { max: simCounter.max, decayPerSec: simCounter.decayPerSec },
            REST_TIERS[expected],
          );
        } finally {
          await running.close();
        }
      });
    }
  });
});

Deno.test("serve (live path) paces its client for connection.api_tier", async () => {
  await using sim = await startSimulator({ port: 0, seed: 6, tier: "pro" });
  const configDir = await Deno.makeTempDir();
  try {
    await withStaticDir(async (staticDir) => {
      const running = await startServe(serveArgs(["--port", "0"]), {
        staticDir,
        configText: [
          "connection:",
          `  rest_url: ${sim.url}`,
          `  ws_public_url: ${sim.wsPublicUrl}`,
          `  ws_auth_url: ${sim.wsAuthUrl}`,
          "  api_tier: pro",
          "",
        ].join("\n"),
        logSink: () => {},
        say: () => {},
        env: (n) => n === "KRAKKED_CONFIG_DIR" ? configDir : undefined,
        paperPath: join(configDir, "paper.json"),
      });
      try {
        assert.equal(running.mode, "live");
        assertPacedFor(running.rest, "pro");
      } finally {
        await running.close();
      }
    });
  } finally {
    await Deno.remove(configDir, { recursive: true });
  }
});

Deno.test("CLI loadContext() paces its client for connection.api_tier", async (t) => {
  const dir = await Deno.makeTempDir();
  const env = (n: string) => n === "KRAKKED_CONFIG_DIR" ? dir : undefined;
  try {
    await t.step("no config file: starter", async () => {
      const ctx = await loadContext({ env, os: "linux" });
      try {
        assertPacedFor(ctx.rest, "starter");
      } finally {
        ctx.rest.close();
      }
    });
    for (const tier of TIERS) {
      await t.step(tier, async () => {
        await Deno.writeTextFile(
          join(dir, "config.yaml"),
          `connection:\n  rest_url: http://127.0.0.1:9\n  api_tier: ${tier}\n`,
        );
        const ctx = await loadContext({ env, os: "linux" });
        try {
          assert.equal(ctx.config.connection.api_tier, tier);
          assertPacedFor(ctx.rest, tier);
        } finally {
          ctx.rest.close();
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
