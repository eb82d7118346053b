/**
 * Order routes: the ticket parser, the in-process guards of `/api/orders`
 * (`app.request` with a stub service), and the real server
 * (`startServe --sim`) in each trading mode over loopback HTTP: every gate
 * fires with its rule, a paper fill with fees survives a restart, a live
 * order reaches the simulator's engine and is cancelled, and a missing or
 * foreign Origin is refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { createApp } from "../../../server/http/app.ts";
import {
  type OrderDecision,
  parseTicket,
  TicketError,
  ticketRequest,
} from "../../../server/trading/orders.ts";
import { price, quote, startWith, TRADING } from "../_serve_harness.ts";

Deno.test("parseTicket() accepts a well-formed ticket and names the bad field", async (t) => {
  await t.step("a limit buy with stop-loss and flags", () => {
    const ticket = parseTicket({
      pair: "BTC/USD",
      side: "buy",
      type: "limit",
      volume: "0.01",
      price: "25000",
      stopLoss: 24000,
      postOnly: true,
      validate: true,
    });
    assert.deepEqual(ticket, {
      pair: "BTC/USD",
      side: "buy",
      type: "limit",
      volume: "0.01",
      price: "25000",
      stopLoss: "24000",
      postOnly: true,
      validate: true,
    });
    assert.deepEqual(ticketRequest(ticket), {
      pair: "BTC/USD",
      side: "buy",
      type: "limit",
      volume: "0.01",
      intent: "entry",
      price: "25000",
      stopLoss: { type: "stop-loss", triggerPrice: "24000" },
      postOnly: true,
      validateOnly: true,
    });
  });
  await t.step("no stop-loss is left to the gate", () => {
    const ticket = parseTicket({
      pair: "XBTUSD",
      side: "sell",
      volume: "1",
    });
    assert.equal(ticket.type, "market");
    assert.equal(ticketRequest(ticket).stopLoss, undefined);
  });
  for (
    const [body, field] of [
      [null, "JSON object"],
      [{ side: "buy", volume: "1" }, "pair"],
      [{ pair: "XBTUSD", side: "hold", volume: "1" }, "side"],
      [{ pair: "XBTUSD", side: "buy", type: "iceberg", volume: "1" }, "type"],
      [{ pair: "XBTUSD", side: "buy" }, "volume"],
      [{ pair: "XBTUSD", side: "buy", volume: "-1" }, "volume"],
      [{ pair: "XBTUSD", side: "buy", volume: "1", price: "1e5" }, "price"],
      [
        { pair: "XBTUSD", side: "buy", volume: "1", postOnly: "yes" },
        "postOnly",
      ],
      [{ pair: "XBTUSD", side: "buy", volume: "1", intent: "hold" }, "intent"],
      [
        { pair: "XBTUSD", side: "buy", volume: "1", intent: "exit" },
        "spot has no short",
      ],
      [
        {
          pair: "XBTUSD",
          side: "sell",
          volume: "1",
          intent: "exit",
          stopLoss: "1",
        },
        "carries no stopLoss",
      ],
      // An exit is sent at once: previewing or resting it is refused.
      [
        {
          pair: "XBTUSD",
          side: "sell",
          volume: "1",
          intent: "exit",
          validate: true,
        },
        "validate does not apply to an exit",
      ],
      [
        {
          pair: "XBTUSD",
          side: "sell",
          volume: "1",
          intent: "exit",
          timeInForce: "GTC",
        },
        "timeInForce does not apply",
      ],
      [
        { pair: "XBTUSD", side: "buy", volume: "1", takeProfit: "2" },
        "one-cancels-other",
      ],
    ] as const
  ) {
    await t.step(`refuses ${JSON.stringify(body)}`, () => {
      assert.throws(
        () => parseTicket(body),
        (e) => e instanceof TicketError && e.message.includes(field),
      );
    });
  }
});

// ---- in-process guards ----

const HOST = "127.0.0.1:8787";
const ORIGIN = `http://${HOST}`;
const SESSION = "session-token-for-tests-0123456789";

function stubApp() {
  const placed: unknown[] = [];
  const accepted: OrderDecision = {
    decision: "accepted",
    mode: "paper",
    route: "paper",
    stopLoss: { type: "stop-loss", triggerPrice: "90" },
    notionalUsd: "100",
    expectedPrice: "100",
    order: null,
  };
  const { app } = createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest: {
      callPublic: () => Promise.reject(new Error("unused")),
      callPrivate: () => Promise.reject(new Error("unused")),
      hasCredentials: false,
    },
    sessionToken: SESSION,
    allowedHosts: [HOST],
    wsPublicUrl: "ws://127.0.0.1:1/v2",
    staticFiles: new Map(),
    logger: new Logger({ sink: () => {} }),
    version: "test",
    orders: {
      info: () => ({
        mode: "paper",
        liveArmed: false,
        maxNotionalUsd: 500,
        stopLossMaxDistancePct: 10,
      }),
      place: (ticket) => {
        placed.push(ticket);
        return Promise.resolve(
          ticket.stopLoss === undefined
            ? {
              decision: "rejected",
              mode: "paper",
              rule: "stop_loss_required",
              message: "no stop",
            }
            : accepted,
        );
      },
      cancel: (id) =>
        Promise.resolve({
          decision: "accepted",
          mode: "paper",
          count: id === "OX" ? 1 : 0,
        }),
      cancelAll: () =>
        Promise.resolve({ decision: "accepted", mode: "paper", count: 3 }),
      closePosition: (pair, volume) => {
        placed.push({ close: pair, volume });
        return Promise.resolve(accepted);
      },
      orders: () => Promise.resolve({ mode: "paper", orders: [] }),
      paperSummary: () =>
        Promise.resolve({
          balances: { USD: "1" },
          positions: [],
          openOrders: [],
          pnl: { realized: "0", unrealized: "0", fees: "0", net: "0" },
        }),
    },
  });
  const request = (
    path: string,
    init: RequestInit & { origin?: string | null; cookie?: boolean } = {},
  ) => {
    const headers = new Headers(init.headers);
    headers.set("host", HOST);
    if (init.origin !== null) headers.set("origin", init.origin ?? ORIGIN);
    if (init.cookie !== false) {
      headers.set("cookie", `krakked_session=${SESSION}`);
    }
    return app.request(`http://${HOST}${path}`, { ...init, headers });
  };
  return { request, placed };
}

const JSON_HEADERS = { "content-type": "application/json" };
const TICKET = JSON.stringify({
  pair: "XBTUSD",
  side: "buy",
  type: "market",
  volume: "1",
  stopLoss: "90",
});

Deno.test("order routes in-process: guards, status codes and error shape", async (t) => {
  const { request, placed } = stubApp();
  await t.step("POST without Origin is refused", async () => {
    const res = await request("/api/orders", {
      method: "POST",
      headers: JSON_HEADERS,
      body: TICKET,
      origin: null,
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "cross_origin");
  });
  await t.step(
    "POST and DELETE from a foreign Origin are refused",
    async () => {
      for (
        const [path, method] of [
          ["/api/orders", "POST"],
          ["/api/orders/OX", "DELETE"],
          ["/api/orders/cancel-all", "POST"],
        ]
      ) {
        const res = await request(path!, {
          method: method!,
          headers: JSON_HEADERS,
          body: method === "POST" ? TICKET : null,
          origin: "http://evil.example",
        });
        assert.equal(res.status, 403, `${method} ${path}`);
        await res.body?.cancel();
      }
    },
  );
  await t.step("no session cookie is refused", async () => {
    const res = await request("/api/orders", {
      method: "POST",
      headers: JSON_HEADERS,
      body: TICKET,
      cookie: false,
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "session_required");
  });
  assert.equal(placed.length, 0, "nothing reached the service");
  await t.step(
    "GET without Origin (same-origin fetch) is allowed",
    async () => {
      const res = await request("/api/orders", { origin: null });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.deepEqual(await res.json(), { mode: "paper", orders: [] });
    },
  );
  await t.step("accepted is 200, rejected is 422 with the rule", async () => {
    const ok = await request("/api/orders", {
      method: "POST",
      headers: JSON_HEADERS,
      body: TICKET,
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).decision, "accepted");
    const no = await request("/api/orders", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({ pair: "XBTUSD", side: "buy", volume: "1" }),
    });
    assert.equal(no.status, 422);
    const body = await no.json();
    assert.equal(body.rule, "stop_loss_required");
  });
  await t.step("bad input is a 4xx JSON error", async () => {
    const cases: Array<[RequestInit, number, string]> = [
      [{ method: "POST", body: TICKET }, 415, "bad_content_type"],
      [{ method: "POST", headers: JSON_HEADERS, body: "{" }, 400, "bad_json"],
      [
        { method: "POST", headers: JSON_HEADERS, body: '{"pair":"XBTUSD"}' },
        400,
        "bad_order",
      ],
      [
        {
          method: "POST",
          headers: JSON_HEADERS,
          body: " ".repeat(5000),
        },
        413,
        "too_large",
      ],
    ];
    for (const [init, status, code] of cases) {
      const res = await request("/api/orders", init);
      assert.equal(res.status, status, code);
      assert.equal((await res.json()).error.code, code);
    }
    const badId = await request("/api/orders/a%20b", { method: "DELETE" });
    assert.equal(badId.status, 400);
    assert.equal((await badId.json()).error.code, "bad_order_id");
  });
  await t.step("cancel, cancel-all, paper and config", async () => {
    const one = await request("/api/orders/OX", { method: "DELETE" });
    assert.deepEqual(await one.json(), {
      decision: "accepted",
      mode: "paper",
      count: 1,
    });
    const all = await request("/api/orders/cancel-all", { method: "POST" });
    assert.equal((await all.json()).count, 3);
    const paper = await request("/api/paper", { origin: null });
    assert.deepEqual((await paper.json()).balances, { USD: "1" });
    const config = await request("/api/config", { origin: null });
    assert.equal((await config.json()).trading.mode, "paper");
  });
});

// ---- the real server with the simulator ----

Deno.test("serve: read_only (the default) and live without both switches reject with the rule", async (t) => {
  await t.step("read_only", async () => {
    const s = await startWith("");
    try {
      const res = await s.post("/api/orders", {
        pair: "XBTUSD",
        side: "buy",
        type: "market",
        volume: "0.001",
        stopLoss: "1",
      });
      assert.equal(res.status, 422);
      assert.equal(res.body.decision, "rejected");
      assert.equal(res.body.rule, "mode_read_only");
      assert.equal(res.body.mode, "read_only");
      const config = await s.get("/api/config");
      assert.deepEqual(config.body.trading.mode, "read_only");
      const cancel = await s.post("/api/orders/cancel-all");
      assert.equal(cancel.body.rule, "mode_read_only");
    } finally {
      await s.close();
    }
  });
  for (
    const [name, config, live, missing] of [
      [
        "config switch without --live",
        "  mode: live\n  enable_live_orders: true\n",
        false,
        "--live",
      ],
      [
        "--live without the config switch",
        "  mode: live\n",
        true,
        "enable_live_orders",
      ],
    ] as const
  ) {
    await t.step(`live refused: ${name}`, async () => {
      const s = await startWith(TRADING(config), { live });
      try {
        const res = await s.post("/api/orders", {
          pair: "XBTUSD",
          side: "buy",
          type: "limit",
          volume: "0.001",
          price: "100",
          stopLoss: "95",
        });
        assert.equal(res.status, 422);
        assert.equal(res.body.rule, "live_not_enabled");
        assert.match(res.body.message, new RegExp(missing));
        assert.equal(
          (await s.get("/api/config")).body.trading.liveArmed,
          false,
        );
      } finally {
        await s.close();
      }
    });
  }
});

Deno.test("serve dry_run: every gate fires with its reason through the HTTP API", async (t) => {
  const s = await startWith(
    TRADING(
      "  mode: dry_run\n  max_notional_usd: 500\n  allowed_symbols: [XBTUSD, ETHUSD]\n",
    ),
  );
  try {
    const { ask } = await quote(s);
    const volume = (100 / ask).toFixed(6);
    const base = { pair: "XBTUSD", side: "buy", type: "market", volume };
    await t.step(
      "accepted: encoded request, stop-loss and notional",
      async () => {
        const res = await s.post("/api/orders", {
          ...base,
          stopLoss: price(ask * 0.95),
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.route, "dry_run");
        assert.deepEqual(res.body.stopLoss, {
          type: "stop-loss",
          triggerPrice: price(ask * 0.95),
        });
        const notional = Number(res.body.notionalUsd);
        assert.ok(notional > 95 && notional < 105, res.body.notionalUsd);
        const form = Object.fromEntries(res.body.encoded.rest);
        assert.equal(form["close[ordertype]"], "stop-loss");
        assert.equal(form["close[price]"], price(ask * 0.95));
        assert.equal(form.ordertype, "market");
        assert.equal(res.body.order, null);
      },
    );
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["missing stop-loss", base, "stop_loss_required"],
      [
        "stop on the wrong side",
        { ...base, stopLoss: price(ask * 1.05) },
        "stop_loss_wrong_side",
      ],
      [
        "over max notional",
        {
          ...base,
          volume: (600 / ask).toFixed(6),
          stopLoss: price(ask * 0.95),
        },
        "max_notional",
      ],
      [
        "symbol not allowed",
        {
          ...base,
          pair: "SOLUSD",
          volume: "0.1",
          stopLoss: "1",
        },
        "symbol_not_allowed",
      ],
    ];
    for (const [name, body, rule] of cases) {
      await t.step(`${name} → ${rule}`, async () => {
        const res = await s.post("/api/orders", body);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.decision, "rejected");
        assert.equal(res.body.rule, rule);
        assert.equal(res.body.mode, "dry_run");
        assert.ok(res.body.message.length > 10);
      });
    }
    await t.step("an unknown pair is a 400", async () => {
      const res = await s.post("/api/orders", { ...base, pair: "NOPEUSD" });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "bad_order");
    });
  } finally {
    await s.close();
  }
});

Deno.test("serve paper: a market buy fills against the book with fees and survives a restart", async () => {
  const dir = await Deno.makeTempDir();
  const paperPath = join(dir, "paper.json");
  const config = TRADING("  mode: paper\n");
  let filledQty = "";
  let usdAfter = "";
  const s = await startWith(config, { paperPath });
  try {
    const { ask } = await quote(s);
    const volume = (100 / ask).toFixed(6);
    const res = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "market",
      volume,
      stopLoss: price(ask * 0.95),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.route, "paper");
    assert.equal(res.body.order.status, "filled");
    assert.equal(Number(res.body.order.filled), Number(volume));
    assert.ok(res.body.fills.length >= 1);
    const fee = res.body.fills.reduce(
      (sum: number, f: { fee: string }) => sum + Number(f.fee),
      0,
    );
    assert.ok(fee > 0, "a taker fee is charged");
    const paper = (await s.get("/api/paper")).body;
    filledQty = paper.balances.XBT ?? paper.balances.BTC;
    assert.equal(Number(filledQty), Number(volume));
    usdAfter = paper.balances.USD;
    const cost = res.body.fills.reduce(
      (sum: number, f: { cost: string }) => sum + Number(f.cost),
      0,
    );
    assert.ok(
      Math.abs(10_000 - Number(usdAfter) - cost - fee) < 1e-6,
      `USD ${usdAfter} = 10000 - cost ${cost} - fee ${fee}`,
    );
    const position = paper.positions.find((p: { pair: string }) =>
      p.pair === "XBTUSD"
    );
    assert.equal(Number(position.qty), Number(volume));
    const orders = (await s.get("/api/orders")).body;
    assert.equal(orders.mode, "paper");
    assert.ok(
      orders.orders.some((o: { status: string }) => o.status === "filled"),
    );
    // A resting limit far below the market is open, then cancelled.
    const limit = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume,
      price: price(ask * 0.9),
      stopLoss: price(ask * 0.85),
    });
    assert.equal(limit.body.order.status, "new", JSON.stringify(limit.body));
    const cancelled = await s.del(`/api/orders/${limit.body.order.key}`);
    assert.deepEqual(cancelled.body, {
      decision: "accepted",
      mode: "paper",
      count: 1,
    });
  } finally {
    await s.close();
  }
  const saved = JSON.parse(await Deno.readTextFile(paperPath));
  assert.equal(saved.version, 1);
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(paperPath)).mode! & 0o777, 0o600);
  }
  const again = await startWith(config, { paperPath });
  try {
    const paper = (await again.get("/api/paper")).body;
    assert.equal(paper.balances.XBT ?? paper.balances.BTC, filledQty);
    assert.equal(paper.balances.USD, usdAfter);
  } finally {
    await again.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve live (both switches): orders reach the simulator engine, then cancel and cancel-all", async () => {
  const s = await startWith(
    // The simulator's account already holds about 50,000 USD of BTC: the
    // exposure cap counts holdings, so it is raised above them here.
    TRADING(
      "  mode: live\n  enable_live_orders: true\n  max_notional_usd: 1000\n  max_position_notional_usd: 1000000\n",
    ),
    { live: true },
  );
  try {
    assert.equal((await s.get("/api/config")).body.trading.liveArmed, true);
    // serve armed Kraken's dead-man switch (CancelAllOrdersAfter 60 s).
    let deadManMs = s.running.simulator?.engine?.deadManMs;
    // The first arm call is asynchronous: give it a bounded number of round trips.
    for (let i = 0; deadManMs === undefined && i < 200; i++) {
      await s.get("/api/health");
      deadManMs = s.running.simulator?.engine?.deadManMs;
    }
    assert.ok(
      deadManMs !== undefined && deadManMs > Date.now() + 30_000,
      `dead man at ${deadManMs}`,
    );
    const { bid } = await quote(s);
    const volume = (50 / bid).toFixed(6);
    const ticket = {
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume,
      price: price(bid * 0.95),
      stopLoss: price(bid * 0.9),
    };
    const validate = await s.post("/api/orders", { ...ticket, validate: true });
    assert.equal(validate.status, 200, JSON.stringify(validate.body));
    assert.equal(validate.body.validateOnly, true);
    assert.equal(validate.body.order, null);
    const placed = await s.post("/api/orders", ticket);
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    assert.equal(placed.body.route, "live");
    const orderId = placed.body.order.orderId;
    assert.match(orderId, /^[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{6}$/);
    const open = (await s.get("/api/private/open-orders")).body.result.open;
    assert.ok(orderId in open, "the engine holds the order");
    assert.equal(open[orderId].descr.type, "buy");
    assert.equal(open[orderId].descr.price, ticket.price);
    const listed = (await s.get("/api/orders")).body.orders;
    assert.ok(listed.some((o: { orderId: string }) => o.orderId === orderId));
    const cancelled = await s.del(`/api/orders/${orderId}`);
    assert.equal(cancelled.body.count, 1, JSON.stringify(cancelled.body));
    const after = (await s.get("/api/private/open-orders")).body.result.open;
    assert.ok(!(orderId in after));
    // Two more, then cancel-all.
    const a = await s.post("/api/orders", ticket);
    const b = await s.post("/api/orders", ticket);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const all = await s.post("/api/orders/cancel-all");
    assert.equal(all.body.decision, "accepted");
    assert.ok(all.body.count >= 2, JSON.stringify(all.body));
    const none = (await s.get("/api/private/open-orders")).body.result.open;
    assert.ok(!(a.body.order.orderId in none));
    assert.ok(!(b.body.order.orderId in none));
  } finally {
    await s.close();
  }
});

Deno.test("serve: order POSTs without or with a foreign Origin are refused", async () => {
  const s = await startWith(TRADING("  mode: paper\n"));
  try {
    for (const origin of [undefined, "http://evil.example"]) {
      const res = await fetch(`${s.url}/api/orders`, {
        method: "POST",
        headers: {
          cookie: s.cookie,
          "content-type": "application/json",
          ...(origin ? { origin } : {}),
        },
        body: TICKET,
      });
      assert.equal(res.status, 403);
      assert.equal((await res.json()).error.code, "cross_origin");
    }
  } finally {
    await s.close();
  }
});

Deno.test("serve paper: a take-profit is refused with the reason, and nothing is placed", async () => {
  const dir = await Deno.makeTempDir();
  const s = await startWith(TRADING("  mode: paper\n"), {
    paperPath: join(dir, "paper.json"),
  });
  try {
    const { ask } = await quote(s);
    const volume = (100 / ask).toFixed(6);
    const refused = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "market",
      volume,
      stopLoss: price(ask * 0.95),
      takeProfit: price(ask * 1.05),
    });
    // Spot has one conditional close per order and no one-cancels-other:
    // a take-profit beside the mandatory stop could never hold the volume.
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /no one-cancels-other/);
    const paper = (await s.get("/api/paper")).body;
    assert.deepEqual(paper.openOrders, []);
    assert.deepEqual(Object.keys(paper.balances), ["USD"]);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve dry_run: the notional cap converts a non-USD quote through its USD pair", async () => {
  const s = await startWith(
    TRADING("  mode: dry_run\n  max_notional_usd: 500\n") +
      "universe:\n  include: [ETHXBT]\n",
  );
  try {
    const eth = await quote(s, "ETHXBT"); // priced in XBT
    const xbt = await quote(s, "XBTUSD");
    const order = (usd: number) => ({
      pair: "ETHXBT",
      side: "buy",
      type: "limit",
      volume: (usd / (eth.ask * xbt.ask)).toFixed(4),
      price: eth.ask.toFixed(5),
      stopLoss: (eth.ask * 0.95).toFixed(5),
    });
    const ok = await s.post("/api/orders", order(200));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const usd = Number(ok.body.notionalUsd);
    assert.ok(
      usd > 180 && usd < 220,
      `notional ${ok.body.notionalUsd} USD for ~200 USD of ETH priced in XBT`,
    );
    const over = await s.post("/api/orders", order(900));
    assert.equal(over.status, 422, JSON.stringify(over.body));
    assert.equal(over.body.rule, "max_notional");
  } finally {
    await s.close();
  }
});

Deno.test("serve paper: a new paper account starts with trading.paper_starting_usd", async () => {
  const s = await startWith(
    TRADING("  mode: paper\n  paper_starting_usd: 2500\n"),
  );
  try {
    const paper = (await s.get("/api/paper")).body;
    assert.equal(Number(paper.balances.USD), 2500);
  } finally {
    await s.close();
  }
});
