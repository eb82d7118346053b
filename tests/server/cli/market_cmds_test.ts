import assert from "node:assert/strict";
import { parseArgs } from "../../../server/main.ts";
import { parseOrderbookArgs } from "../../../server/cli/orderbook_cmd.ts";
import {
  parseTradesArgs,
  tradeFromRest,
} from "../../../server/cli/trades_cmd.ts";
import {
  parseStatusArgs,
  STATUS_SECTIONS,
} from "../../../server/cli/status_cmd.ts";
import { flagsOf, usageMessage } from "./_parsed.ts";
import { CliHarness, closedPortUrl } from "./_harness.ts";

Deno.test("orderbook, trades and status parse their flags", async (t) => {
  await t.step("orderbook", () => {
    assert.deepEqual(parseOrderbookArgs(["BTC/USD"]), {
      kind: "orderbook",
      pair: "BTC/USD",
      depth: 10,
      json: false,
      watch: false,
      updates: undefined,
    });
    assert.deepEqual(
      flagsOf(
        parseOrderbookArgs([
          "xbtusd",
          "--depth=3",
          "--watch",
          "--updates",
          "2",
          "--json",
        ]),
      ),
      {
        kind: "orderbook",
        pair: "xbtusd",
        depth: 3,
        json: true,
        watch: true,
        updates: 2,
      },
    );
    assert.match(usageMessage(parseOrderbookArgs([])), /Missing <pair>/);
    assert.match(
      usageMessage(parseOrderbookArgs(["XBTUSD", "--depth", "0"])),
      /--depth needs a whole number from 1 to 500, got "0"/,
    );
    assert.match(
      usageMessage(parseOrderbookArgs(["XBTUSD", "--updates", "2"])),
      /--updates goes with --watch/,
    );
  });
  await t.step("trades", () => {
    assert.deepEqual(parseTradesArgs(["XBTUSD", "--count", "5"]), {
      kind: "trades",
      pair: "XBTUSD",
      count: 5,
      json: false,
      watch: false,
      updates: undefined,
    });
    assert.match(
      usageMessage(parseTradesArgs(["XBTUSD", "--count", "1001"])),
      /--count needs a whole number from 1 to 1000/,
    );
  });
  await t.step("status", () => {
    assert.deepEqual(parseStatusArgs(["--watch", "--updates=1"]), {
      kind: "status",
      json: false,
      watch: true,
      updates: 1,
    });
    assert.match(
      usageMessage(parseStatusArgs(["now"])),
      /Unexpected argument "now"/,
    );
    assert.deepEqual(STATUS_SECTIONS.map((s) => s.name), [
      "exchange",
      "time",
      "connection",
    ]);
  });
  await t.step("the command table dispatches them", () => {
    assert.equal(parseArgs(["orderbook", "BTC/USD"]).kind, "orderbook");
    assert.equal(parseArgs(["trades", "BTC/USD"]).kind, "trades");
    assert.equal(parseArgs(["status"]).kind, "status");
    const typo = parseArgs(["orderbok"]);
    assert.ok(
      typo.kind === "usage_error" &&
        /did you mean "orderbook"/.test(typo.message),
    );
  });
});

Deno.test("tradeFromRest() names the side and type and keeps the decimal text", () => {
  assert.deepEqual(
    tradeFromRest(["97000.10", "0.01000000", 1750000000.25, "s", "l", "", 42]),
    {
      time: "2025-06-15T15:06:40.250Z",
      side: "sell",
      price: "97000.10",
      qty: "0.01000000",
      type: "limit",
      tradeId: 42,
    },
  );
});

Deno.test("orderbook against the simulator: text, --json and an unknown pair", async (t) => {
  await using h = await CliHarness.start();
  await t.step("text: BTC/USD, bids and asks, the spread", async () => {
    const run = await h.run(["orderbook", "XBTUSD", "--depth", "3"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^BTC\/USD order book, top 3 \(REST Depth, /);
    assert.match(lines[1]!, /bid qty +bid +ask +ask qty$/);
    assert.equal(lines.length, 1 + 2 + 3 + 1);
    assert.match(
      lines.at(-1)!,
      /^spread \d+(\.\d+)? \((\d+\.\d{3}|0\.0*[1-9]\d?(e-\d+)?)%\)$/,
    );
    assert.doesNotMatch(run.stdout, /XBTUSD|XXBTZUSD/);
  });
  await t.step(
    "--json: the symbol and Kraken's ids, sorted sides",
    async () => {
      const run = await h.run([
        "orderbook",
        "btc/usd",
        "--depth",
        "5",
        "--json",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const view = JSON.parse(run.stdout);
      assert.deepEqual(view.pair, {
        symbol: "BTC/USD",
        id: "XBTUSD",
        restKey: "XXBTZUSD",
      });
      assert.equal(view.source, "rest");
      assert.equal(view.bids.length, 5);
      assert.equal(view.asks.length, 5);
      for (let i = 1; i < 5; i++) {
        assert.ok(Number(view.bids[i].price) < Number(view.bids[i - 1].price));
        assert.ok(Number(view.asks[i].price) > Number(view.asks[i - 1].price));
      }
      assert.ok(Number(view.asks[0].price) > Number(view.bids[0].price));
      assert.equal(
        Number(view.spread).toFixed(6),
        (Number(view.asks[0].price) - Number(view.bids[0].price)).toFixed(6),
      );
    },
  );
  await t.step("an unknown pair is a usage error (exit 2)", async () => {
    const run = await h.run(["orderbook", "NOPE/USD", "--json"]);
    assert.equal(run.code, 2);
    assert.equal(JSON.parse(run.stdout).error.category, "usage");
    const typo = await h.run(["trades", "ETH/USDD"]);
    assert.equal(typo.code, 2);
    assert.match(
      typo.stderr,
      /^krakked trades: Unknown pair "ETH\/USDD"; did you mean ETH\/USD[,?]/,
    );
  });
});

Deno.test("trades against the simulator: text and --json", async () => {
  await using h = await CliHarness.start();
  const text = await h.run(["trades", "BTC/USD", "--count", "4"]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "BTC/USD recent trades (REST Trades)");
  assert.match(lines[1]!, /^time \(UTC\) +side +price +volume +type$/);
  assert.equal(lines.length, 3 + 4);
  for (const line of lines.slice(3)) {
    assert.match(
      line,
      /^\d{4}-\d\d-\d\dT\S+Z +(buy|sell) +[\d.]+ +[\d.]+ +(market|limit|-)$/,
    );
  }
  const json = await h.run(["trades", "XXBTZUSD", "--count", "4", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  assert.deepEqual(out.pair, {
    symbol: "BTC/USD",
    id: "XBTUSD",
    restKey: "XXBTZUSD",
  });
  assert.equal(out.trades.length, 4);
  const times = out.trades.map((tr: { time: string }) => Date.parse(tr.time));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), "oldest first");
});

Deno.test("status against the simulator: system status, time and connection", async () => {
  await using h = await CliHarness.start();
  const json = await h.run(["status", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(report), ["exchange", "time", "connection"]);
  assert.equal(report.exchange.status, "online");
  assert.ok(Number.isInteger(report.time.serverUnix));
  assert.ok(report.time.roundTripMs >= 0);
  assert.equal(typeof report.time.offsetMs, "number");
  assert.equal(report.connection.restUrl, h.restUrl);
  const text = await h.run(["status"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^exchange +online \(reported \S+\)\n/);
  assert.match(text.stdout, /\ntime +server \S+, REST round trip \d+ ms\n/);
  assert.match(text.stdout, /\nconnection +REST http:\/\/127\.0\.0\.1:\d+ /);
});

Deno.test("orderbook, trades and status exit 4 with a network error when Kraken is unreachable", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  for (
    const argv of [["orderbook", "BTC/USD"], ["trades", "BTC/USD"], ["status"]]
  ) {
    await t.step(argv[0]!, async () => {
      const text = await h.run(argv);
      assert.equal(text.code, 4);
      assert.match(
        text.stderr,
        /\(network\); check the network or connection\.rest_url/,
      );
      const json = await h.run([...argv, "--json"]);
      assert.equal(json.code, 4);
      assert.equal(json.stderr, "");
      assert.equal(JSON.parse(json.stdout).error.category, "network");
    });
  }
});

Deno.test("--watch streams over WebSocket v2 and stops after --updates", async (t) => {
  await using h = await CliHarness.start({ ws: true });
  await t.step(
    "orderbook --watch --json: one checksummed book per line",
    async () => {
      const run = await h.run([
        "orderbook",
        "BTC/USD",
        "--depth",
        "3",
        "--watch",
        "--updates",
        "2",
        "--json",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const views = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      assert.equal(views.length, 2);
      for (const v of views) {
        assert.equal(v.source, "ws");
        assert.equal(v.pair.symbol, "BTC/USD");
        assert.equal(v.bids.length, 3);
        assert.ok(Number(v.asks[0].price) > Number(v.bids[0].price));
      }
    },
  );
  await t.step(
    "orderbook --watch text: snapshots separated by a blank line",
    async () => {
      const run = await h.run([
        "orderbook",
        "XBTUSD",
        "--depth",
        "2",
        "--watch",
        "--updates",
        "1",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /^BTC\/USD order book, top 2 \(WebSocket v2, checksum verified, /,
      );
      assert.ok(run.stdout.endsWith("\n\n"));
    },
  );
  await t.step("trades --watch: the snapshot's trades, bounded", async () => {
    const run = await h.run([
      "trades",
      "BTC/USD",
      "--watch",
      "--updates",
      "3",
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    for (const l of lines) {
      assert.equal(l.source, "ws");
      assert.equal(l.pair.id, "XBTUSD");
      assert.match(l.trade.side, /^(buy|sell)$/);
    }
  });
  await t.step("status --watch: the WebSocket's status message", async () => {
    const run = await h.run(["status", "--watch", "--updates", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\S+Z online \(WebSocket v2, /);
  });
  await t.step("io.stop ends an unbounded watch like Ctrl+C", async () => {
    const stop = new AbortController();
    let out = "";
    const run = h.run(["trades", "BTC/USD", "--watch"], {
      io: {
        stop: stop.signal,
        stdout: (text) => {
          out += text;
          // The first trade printed: stop as a user would.
          stop.abort();
        },
      },
    });
    const done = await run;
    assert.equal(done.code, 0);
    assert.match(out, /^BTC\/USD trades \(WebSocket v2\), Ctrl\+C to stop\n/);
  });
});

Deno.test("--watch gives up with a network error when the stream never opens", async () => {
  await using h = await CliHarness.start({ ws: true });
  const config = await Deno.readTextFile(`${h.dir}/config.yaml`);
  await Deno.writeTextFile(
    `${h.dir}/config.yaml`,
    config.replace(
      /ws_public_url: \S+/,
      `ws_public_url: ${closedPortUrl().replace("http", "ws")}/v2`,
    ),
  );
  const run = await h.run(["trades", "BTC/USD", "--watch", "--json"]);
  assert.equal(run.code, 4);
  const { error } = JSON.parse(run.stdout);
  assert.equal(error.category, "network");
  assert.equal(
    error.suggestion,
    "Check the network or connection.ws_public_url",
  );
  assert.match(
    error.message,
    /^Cannot open the WebSocket stream at ws:\/\/127\.0\.0\.1:\d+\/v2 after 3 attempts/,
  );
});
