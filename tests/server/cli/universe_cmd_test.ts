import assert from "node:assert/strict";
import { universeConfigOf } from "../../../core/market/universe.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { usageMessage } from "./_parsed.ts";
import {
  formatUsd,
  parseUniverseArgs,
} from "../../../server/cli/universe_cmd.ts";
import { CliHarness, closedPortUrl } from "./_harness.ts";

const ROW_KEYS = [
  "base",
  "costmin",
  "id",
  "ordermin",
  "priceDecimals",
  "quote",
  "restKey",
  "status",
  "volume24hUsd",
  "volumeDecimals",
  "wsV2",
];

Deno.test("parseUniverseArgs() accepts --json and --help only", () => {
  assert.deepEqual(parseUniverseArgs([]), { kind: "universe", json: false });
  assert.deepEqual(parseUniverseArgs(["--json"]), {
    kind: "universe",
    json: true,
  });
  assert.deepEqual(parseUniverseArgs(["-h"]), { kind: "help" });
  assert.match(
    usageMessage(parseUniverseArgs(["--json=yes"])),
    /takes no value/,
  );
  assert.match(
    usageMessage(parseUniverseArgs(["XBTUSD"])),
    /Unexpected argument/,
  );
});

Deno.test("universeConfigOf() maps the config's universe and region", () => {
  assert.deepEqual(universeConfigOf(DEFAULT_CONFIG), {
    quote: "USD",
    supportsMargin: false,
    include: [],
    exclude: [],
    min24hVolumeUsd: 0,
    excludeLeveragedPairs: false,
  });
});

Deno.test("formatUsd() rounds to dollars with separators", () => {
  assert.equal(formatUsd(null), "-");
  assert.equal(formatUsd(0.4), "0");
  assert.equal(formatUsd(999.5), "1,000");
  assert.equal(formatUsd(1234567.8), "1,234,568");
});

Deno.test("universe --json lists the simulator's online USD spot pairs", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["universe", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(out).sort(), ["pairs", "rejected", "warnings"]);
  const ids = out.pairs.map((p: { id: string }) => p.id);
  assert.ok(ids.includes("XBTUSD") && ids.includes("ETHUSD"), ids.join());
  assert.deepEqual(ids, [...ids].sort());
  for (const p of out.pairs) {
    assert.deepEqual(Object.keys(p).sort(), ROW_KEYS);
    assert.equal(p.quote, "USD");
    assert.equal(p.status, "online");
  }
  const btc = out.pairs.find((p: { id: string }) => p.id === "XBTUSD");
  assert.equal(btc.wsV2, "BTC/USD");
  assert.equal(btc.restKey, "XXBTZUSD");
  assert.equal(typeof btc.priceDecimals, "number");
  assert.ok(btc.volume24hUsd > 0, String(btc.volume24hUsd));
  // Non-USD pairs are not rejected, just not candidates; offline ones are.
  assert.ok(!ids.includes("XBTEUR"));
  for (const r of out.rejected) {
    assert.deepEqual(Object.keys(r).sort(), ["detail", "id", "reason"]);
  }
});

Deno.test("universe applies include, exclude and the volume floor from config.yaml", async () => {
  await using h = await CliHarness.start({
    extraConfig:
      "universe:\n  exclude: [ETHUSD]\n  min_24h_volume_usd: 1000000000000\n  include: [btc/usd]\n",
  });
  const run = await h.run(["universe", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(out.pairs.map((p: { id: string }) => p.id), ["XBTUSD"]);
  const eth = out.rejected.find((r: { id: string }) => r.id === "ETHUSD");
  assert.equal(eth.reason, "excluded");
});

Deno.test("universe prints an aligned table", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["universe"]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    /^pair +kraken id +price dp +vol dp +ordermin +24h vol USD$/,
  );
  assert.match(lines[1]!, /^-+( +-+){5}$/);
  const btc = lines.find((l) => l.startsWith("BTC/USD "));
  assert.ok(btc, run.stdout);
  assert.match(btc, /^BTC\/USD +XBTUSD +\d+ +\d+ +[\d.]+ +[\d,]+$/);
  assert.match(lines.at(-1)!, /^\d+ pairs; \d+ left out/);
});

Deno.test("universe against an unreachable server exits 4 with one line", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  await t.step("text: one line on stderr", async () => {
    const run = await h.run(["universe"]);
    assert.equal(run.code, 4);
    assert.equal(run.stdout, "");
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0]!,
      /^krakked universe: .*\(network\); check the network/,
    );
  });
  await t.step(
    "--json: one JSON object on stdout, nothing on stderr",
    async () => {
      const run = await h.run(["universe", "--json"]);
      assert.equal(run.code, 4);
      assert.equal(run.stderr, "");
      const out = JSON.parse(run.stdout);
      assert.deepEqual(Object.keys(out), ["error"]);
      assert.equal(out.error.category, "network");
    },
  );
});
