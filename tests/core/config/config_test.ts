import assert from "node:assert/strict";
import {
  ConfigError,
  DEFAULT_CONFIG,
  parseConfig,
} from "../../../core/config/config.ts";

Deno.test("parseConfig() gives the documented defaults for a missing or empty file", () => {
  for (const text of [undefined, "", "  \n# only a comment\n"]) {
    const { config, warnings } = parseConfig(text);
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.deepEqual(warnings, []);
  }
  const d = DEFAULT_CONFIG;
  assert.deepEqual(d.region, {
    profile: "US_CA",
    supports_margin: false,
    supports_futures: false,
    supports_staking: false,
    default_quote: "USD",
  });
  assert.equal(d.market_data.ws.stale_tolerance_seconds, 60);
  assert.equal(d.trading.mode, "read_only");
  assert.equal(d.trading.enable_live_orders, false);
  assert.equal(d.trading.max_notional_usd, 500);
  assert.equal(d.trading.paper_starting_usd, 10_000);
  assert.equal(d.universe.exclude_leveraged_pairs, false);
  assert.equal(d.connection.rest_url, "https://api.kraken.com");
  assert.equal(d.server.host, "127.0.0.1");
});

Deno.test("parseConfig() merges given keys over defaults and normalises symbols", () => {
  const { config, warnings } = parseConfig(`
region:
  profile: EU
  supports_margin: true
universe:
  include: [ xbtusd, "ETH/USD" ]
  exclude:
    - dogeusd
  min_24h_volume_usd: 250000
market_data:
  ws:
    stale_tolerance_seconds: 15
  ohlc_store:
    backend: memory
    root_dir: ~/candles
connection:
  rest_url: http://127.0.0.1:9999
  ws_public_url: ws://127.0.0.1:9999/v2
  api_tier: pro
trading:
  allowed_symbols: [btc/usd]
`);
  assert.deepEqual(warnings, []);
  assert.equal(config.region.profile, "EU");
  assert.equal(config.region.supports_margin, true);
  assert.equal(config.region.default_quote, "USD");
  assert.deepEqual(config.universe.include, ["XBTUSD", "ETH/USD"]);
  assert.deepEqual(config.universe.exclude, ["DOGEUSD"]);
  assert.equal(config.universe.min_24h_volume_usd, 250000);
  assert.equal(config.market_data.ws.stale_tolerance_seconds, 15);
  assert.equal(config.market_data.ohlc_store.backend, "memory");
  assert.equal(config.market_data.ohlc_store.root_dir, "~/candles");
  assert.equal(config.connection.rest_url, "http://127.0.0.1:9999");
  assert.equal(
    config.connection.ws_auth_url,
    DEFAULT_CONFIG.connection.ws_auth_url,
  );
  assert.equal(config.connection.api_tier, "pro");
  assert.deepEqual(config.trading.allowed_symbols, ["BTC/USD"]);
});

Deno.test("parseConfig() returns a frozen, read-only region profile", () => {
  const { config } = parseConfig("region:\n  profile: US_CA\n");
  assert.ok(Object.isFrozen(config.region));
  assert.throws(() => {
    (config.region as { supports_margin: boolean }).supports_margin = true;
  }, TypeError);
});

Deno.test("parseConfig() warns about unknown keys with their path and line", () => {
  const { config, warnings } = parseConfig(
    "region:\n  profile: US_CA\n  colour: blue\nextra: 1\n",
  );
  assert.equal(config.region.profile, "US_CA");
  assert.deepEqual(warnings, [
    "Unknown config key region.colour (line 3) is ignored",
    "Unknown config key extra (line 4) is ignored",
  ]);
});

Deno.test("parseConfig() names the key path and line of a wrong type", async (t) => {
  const cases: Array<[string, string, number, RegExp]> = [
    [
      "market_data:\n  ws:\n    stale_tolerance_seconds: soon\n",
      "market_data.ws.stale_tolerance_seconds",
      3,
      /expected a number, got "soon"/,
    ],
    [
      'region:\n  supports_margin: "no"\n',
      "region.supports_margin",
      2,
      /expected true or false/,
    ],
    [
      "trading:\n  mode: yolo\n",
      "trading.mode",
      2,
      /expected one of read_only, dry_run, paper, live/,
    ],
    [
      "connection:\n  rest_url: ftp://x\n",
      "connection.rest_url",
      2,
      /expected a http or https URL/,
    ],
    [
      "connection:\n  ws_public_url: not a url\n",
      "connection.ws_public_url",
      2,
      /ws or wss URL/,
    ],
    ["server:\n  port: 70000\n", "server.port", 2, /at most 65535/],
    ["server:\n  port: 80.5\n", "server.port", 2, /whole number/],
    [
      "server:\n  slow_client_guard: maybe\n",
      "server.slow_client_guard",
      2,
      /expected one of auto, on, off/,
    ],
    [
      "server:\n  header_timeout_ms: 0\n",
      "server.header_timeout_ms",
      2,
      /at least 100/,
    ],
    [
      "universe:\n  min_24h_volume_usd: -1\n",
      "universe.min_24h_volume_usd",
      2,
      /at least 0/,
    ],
    [
      "universe:\n  include: XBTUSD\n",
      "universe.include",
      2,
      /expected a list/,
    ],
    [
      "universe:\n  include:\n    - XBTUSD\n    - 5\n",
      "universe.include.1",
      4,
      /non-empty string, got 5/,
    ],
    ["region: [1, 2]\n", "region", 1, /expected a mapping/],
    [
      "market_data:\n  ohlc_store:\n    root_dir: 3\n",
      "market_data.ohlc_store.root_dir",
      3,
      /path or null/,
    ],
    ['region:\n  profile: ""\n', "region.profile", 2, /non-empty string/],
  ];
  for (const [text, path, line, message] of cases) {
    await t.step(path, () => {
      const error = (() => {
        try {
          parseConfig(text);
        } catch (e) {
          return e;
        }
        assert.fail("expected ConfigError");
      })();
      assert.ok(error instanceof ConfigError);
      assert.equal(error.kind, "config");
      assert.equal(error.path, path);
      assert.equal(error.line, line);
      assert.match(error.message, message);
      assert.match(
        error.message,
        new RegExp(`at ${path.replaceAll(".", "\\.")} \\(line ${line}\\)`),
      );
    });
  }
});

Deno.test("parseConfig() reports malformed YAML with its line", async (t) => {
  for (
    const [text, line] of [["region:\n  profile: [unclosed\n", 3], [
      "a: 1\na: 2\n",
      2,
    ], ["region:\n\tprofile: x\n", 2]] as const
  ) {
    await t.step(JSON.stringify(text), () => {
      try {
        parseConfig(text);
        assert.fail("expected ConfigError");
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.path, "");
        assert.equal(typeof e.line, "number");
        assert.ok(e.line! >= 1 && e.line! <= line);
      }
    });
  }
  await t.step("a scalar document", () => {
    assert.throws(() => parseConfig("just text"), /must be a mapping/);
  });
});

Deno.test("parseConfig() treats null sections and lists as defaults", () => {
  const { config } = parseConfig("region:\nuniverse:\n  include:\n");
  assert.deepEqual(config.region, DEFAULT_CONFIG.region);
  assert.deepEqual(config.universe.include, []);
});
