// The server's account (issue 17): hydrated and reconciled before orders
// go out, served at /api/account and over the account SSE, and a drift
// forced behind the private stream's back is reported on reconnect — not
// hidden by the resync that follows.
import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { createApp } from "../../../server/http/app.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";
import { SESSION_COOKIE } from "../../../server/http/security.ts";
import { fixed, oracleOfSimulator } from "../../sim/history_oracle.ts";
import {
  type AccountDocument,
  paperOpening,
} from "../../../server/trading/account_service.ts";
import {
  type Json,
  price,
  quote,
  type Server,
  startWith,
} from "../_serve_harness.ts";
import { netFlows } from "../../../core/account/ledger.ts";
import { computePnl } from "../../../core/account/pnl.ts";
import { tradeRates } from "../../../core/account/rates.ts";
import { accountTradesFromFills } from "../../../core/account/trades.ts";
import type { PaperFill } from "../../../core/trade/paper.ts";

const LIVE = "trading:\n  mode: live\n";

async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
): Promise<T> {
  // The history's pages are paced by the starter tier's REST budget.
  for (let i = 0; i < 600; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

const account = async (s: Server): Promise<AccountDocument> =>
  (await s.get("/api/account")).body as AccountDocument;

/** Reads server-sent events until `want` matches one, or the time runs out. */
async function nextEvent(
  s: Server,
  want: (name: string, data: Json) => boolean,
  act: () => Promise<void>,
): Promise<{ name: string; data: Json }> {
  const controller = new AbortController();
  const res = await fetch(`${s.url}/api/private/events`, {
    headers: { cookie: s.cookie },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => controller.abort(), 60_000);
  let buffer = "";
  let acted = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error("event stream ended");
      buffer += value;
      if (!acted) {
        acted = true;
        await act();
      }
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name === undefined || data === undefined) continue;
        const parsed = JSON.parse(data);
        if (want(name, parsed)) return { name, data: parsed };
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
    await reader.cancel().catch(() => {});
  }
}

/**
 * Fills the P&L has seen: those it counted plus those it left unpriced (a
 * EUR fill before any EUR rate is known).
 */
function pnlFills(
  doc: {
    pnl: { totals: { trades: number }; unpriced: { kind: string }[] } | null;
  },
): number | undefined {
  if (doc.pnl === null) return undefined;
  return doc.pnl.totals.trades +
    doc.pnl.unpriced.filter((u) => u.kind === "trade").length;
}

Deno.test("serve: the live account is hydrated and reconciled, and /api/account equals an independent P&L of the simulator", async () => {
  const s = await startWith(LIVE);
  try {
    let doc = await until(
      () => account(s),
      (d) =>
        d.phase !== "loading" && (d.historyComplete || d.phase !== "ready"),
      "hydration and the history",
    );
    assert.equal(doc.phase, "ready", doc.error ?? "");
    assert.equal(doc.source, "live");
    assert.ok(doc.equity !== null && doc.pnl !== null);
    assert.ok(doc.equity.lines.length > 0, "per-asset lines");
    assert.ok(Array.isArray(doc.equity.unpriced));
    assert.ok(doc.reconcile !== null, "reconciled before ready");
    assert.equal(doc.reconcile.reason, "start");
    assert.deepEqual(doc.reconcile.drifts, [], "stream and REST agree");
    assert.equal(doc.hydration?.trades.mode, "cold");
    assert.ok(
      doc.recent !== null && doc.recent.trades > 0,
      "recent trades read before ready",
    );
    assert.ok((doc.pnl.totals.trades ?? 0) > 0, "the seeded month has trades");
    // An independent FIFO over the simulator's raw rows (BigInt, its own
    // asset names): realised P&L, fees and positions to the last decimal.
    // The seeded account has resting limit orders the market fills at any
    // moment, so the document and the simulator are read until they are
    // at the same fill (bounded), then compared.
    const sim = s.running.simulator!;
    const readOracle = () => oracleOfSimulator(sim.account);
    let current = readOracle();
    for (let i = 0; i < 80; i++) {
      if (pnlFills(doc) === current.fills) break;
      await new Promise((r) => setTimeout(r, 250));
      doc = await account(s);
      current = readOracle();
    }
    const oracle = current.fifo;
    assert.ok(doc.pnl !== null && doc.equity !== null);
    assert.equal(pnlFills(doc), current.fills, "same fill");
    assert.equal(fixed(doc.pnl.totals.fees), oracle.fees, "fees");
    let realized = 0n;
    for (const r of oracle.realizedByAsset.values()) realized += r;
    assert.equal(fixed(doc.pnl.totals.realizedPnl), realized, "realised");
    for (const p of doc.pnl.positions) {
      assert.equal(fixed(p.qty), oracle.qty.get(p.asset), `qty ${p.asset}`);
      assert.equal(
        fixed(p.costBasis),
        oracle.cost.get(p.asset),
        `cost ${p.asset}`,
      );
    }
    // Equity is the sum of its priced lines; nothing unpriced is valued.
    const sum = doc.equity.lines.reduce(
      (a, l) => (l.value === null ? a : a + Number(l.value)),
      0,
    );
    assert.ok(Math.abs(sum - Number(doc.equity.total)) < 1e-6);
    for (const l of doc.equity.lines) {
      if (l.value === null) assert.ok(doc.equity.unpriced.includes(l.asset));
    }
    // Once ready, an order passes the gate (and meets the live switch).
    const order = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume: "0.001",
      price: "1000",
      stopLoss: "900",
    });
    assert.notEqual(order.body?.error?.code, "account_loading");
  } finally {
    await s.close();
  }
});

Deno.test("serve live (armed): an order sent at start waits for hydration, then goes out", async () => {
  const s = await startWith(
    "trading:\n  mode: live\n  enable_live_orders: true\n  dead_man_seconds: 0\n",
    { live: true },
  );
  try {
    // Sent before the account is known to be ready: the gate holds it.
    const order = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume: "0.0001",
      price: "1000",
      stopLoss: "900",
    });
    const doc = await account(s);
    assert.equal(doc.phase, "ready");
    assert.ok(doc.reconcile !== null, "reconciled before the order went out");
    assert.ok(doc.hydrationMs !== null && doc.loadMs !== null);
    assert.notEqual(order.body?.error?.code, "account_loading");
    assert.ok(order.status < 500, JSON.stringify(order.body));
  } finally {
    await s.close();
  }
});

Deno.test("serve: a balance changed behind the stream's back is reported on reconnect, by event and route", async () => {
  const s = await startWith(LIVE);
  try {
    // With the history in, REST's budget is free for the reconnect check.
    await until(
      () => account(s),
      (d) => d.phase === "ready" && d.historyComplete,
      "hydration",
    );
    const sim = s.running.simulator!;
    const fault = async (command: Json) => {
      const res = await fetch(`${sim.url}/_sim/ws/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(command),
      });
      assert.equal(res.status, 200, await res.text());
    };
    const event = await nextEvent(
      s,
      (name) => name === "account_drift",
      async () => {
        // The stream stalls: the adjustment's balances frame is lost.
        await fault({ action: "stall", scope: "private" });
        sim.account.record({
          type: "adjustment",
          asset: "ZUSD",
          amountUnits: -12_345_6789n,
          timeMs: Date.now(),
        });
        await fault({ action: "resume" });
        // The reconnect check runs before the stream's resync.
        await fault({ action: "drop", scope: "private" });
      },
    );
    assert.equal(event.data.reason, "reconnect");
    const usd = event.data.drifts.find((d: Json) => d.id === "USD");
    assert.ok(usd, JSON.stringify(event.data.drifts));
    assert.equal(usd.fields[0].field, "balance");
    assert.notEqual(usd.fields[0].stream, usd.fields[0].rest);
    const doc = await account(s);
    assert.ok(
      doc.driftReports.some((r) => r.drifts.some((d) => d.id === "USD")),
      "the route keeps the drift",
    );
  } finally {
    await s.close();
  }
});

Deno.test("the order gate refuses placements with account_loading until the account is ready; cancels pass", async () => {
  let ready = false;
  const logger = new Logger({ sink: () => {} });
  const session = "session-token-for-tests-AAAAAAAAAAAAAAAA";
  const placed: string[] = [];
  const { app } = createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest: {
      hasCredentials: true,
      callPublic: () => Promise.reject(new Error("no")),
      callPrivate: () => Promise.reject(new Error("no")),
    },
    sessionToken: session,
    allowedHosts: allowedHosts("127.0.0.1", 8787),
    wsPublicUrl: "ws://127.0.0.1:9999/v2",
    staticFiles: new Map(),
    logger,
    version: "test",
    account: {
      document: () =>
        ({ phase: ready ? "ready" : "loading" }) as AccountDocument,
      get ordersAllowed() {
        return ready;
      },
      get phase() {
        return ready ? "ready" as const : "loading" as const;
      },
      whenReady: () => Promise.resolve(ready),
    },
    orders: {
      info: () => ({ mode: "live", liveArmed: true }),
      place: (ticket: { pair: string }) => {
        placed.push(ticket.pair);
        return Promise.resolve({
          decision: "rejected",
          mode: "paper",
          rule: "t",
          message: "t",
        });
      },
      cancel: () =>
        Promise.resolve({
          decision: "rejected",
          mode: "paper",
          rule: "t",
          message: "t",
        }),
    } as unknown as NonNullable<Parameters<typeof createApp>[0]["orders"]>,
  });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(`http://127.0.0.1:8787${path}`, {
      method,
      headers: {
        host: "127.0.0.1:8787",
        origin: "http://127.0.0.1:8787",
        cookie: `${SESSION_COOKIE}=${session}`,
        "content-type": "application/json",
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const ticket = {
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.001",
    price: "1000",
  };
  const refused = await call("POST", "/api/orders", ticket);
  assert.equal(refused.status, 503);
  const body = await refused.json();
  assert.equal(body.error.code, "account_loading");
  assert.match(body.error.message, /loading/);
  assert.equal(
    (await call("POST", "/api/orders/close", { pair: "XBTUSD" })).status,
    503,
  );
  assert.deepEqual(placed, [], "nothing reached the order service");
  assert.notEqual((await call("DELETE", "/api/orders/OABC-123")).status, 503);
  const view = await call("GET", "/api/account");
  assert.equal((await view.json()).phase, "loading");
  ready = true;
  await (await call("POST", "/api/orders", ticket)).body?.cancel();
  assert.deepEqual(placed, ["XBTUSD"]);
});

Deno.test("serve paper: /api/account and the account event show the paper account in the same shape", async () => {
  const dir = await Deno.makeTempDir();
  const paperPath = `${dir}/paper.json`;
  const s = await startWith("trading:\n  mode: paper\n", { paperPath });
  try {
    const doc = await until(
      () => account(s),
      (d) => d.phase === "ready" && d.equity !== null,
      "the paper account",
    );
    assert.equal(doc.source, "paper");
    assert.ok(doc.paper !== null, "the paper summary");
    const paperAssets = Object.entries(doc.paper.balances)
      .filter(([, v]) => Number(v) !== 0).length;
    assert.ok(doc.equity !== null && doc.equity.lines.length >= paperAssets);
    // A late SSE listener gets the newest account document first.
    const event = await nextEvent(
      s,
      (name) => name === "account",
      () => Promise.resolve(),
    );
    assert.equal(event.data.source, "paper");
    assert.equal(event.data.phase, "ready");

    // Paper fills: two buys, then a partial exit (closes part of the
    // first lot). The paper P&L in /api/account is core/account's FIFO.
    const { ask } = await quote(s);
    for (const volume of ["0.002", "0.003"]) {
      const res = await s.post("/api/orders", {
        pair: "XBTUSD",
        side: "buy",
        type: "market",
        volume,
        stopLoss: price(ask * 0.95),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const sold = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "sell",
      type: "market",
      volume: "0.001",
      intent: "exit",
    });
    assert.equal(sold.status, 200, JSON.stringify(sold.body));
    const state = JSON.parse(await Deno.readTextFile(paperPath));
    const fills = state.fills as PaperFill[];
    assert.ok(fills.length >= 3, "three fills at least");
    const after = await until(
      () => account(s),
      (d) => d.pnl !== null && d.pnl.totals.trades === fills.length,
      "the paper P&L over every fill",
    );
    // The same fills through core/account directly.
    const trades = accountTradesFromFills(
      fills,
      () => ({ base: "BTC", quote: "USD" }),
    );
    const flows = paperOpening(after.paper!.balances, trades);
    // The opening balances (now minus what the fills moved) are the
    // starting USD of the config, counted as a deposit.
    assert.deepEqual(flows.map((f) => [f.asset, Number(f.amount)]), [
      ["USD", DEFAULT_CONFIG.trading.paper_starting_usd],
    ]);
    const core = computePnl(trades, netFlows(flows), {
      rateAt: tradeRates(trades),
      mark: (asset) =>
        asset === "BTC"
          ? after.pnl!.positions.find((p) => p.asset === "BTC")!.mark
          : null,
    });
    const totals = after.pnl!.totals;
    assert.equal(totals.realizedPnl, core.realizedPnl, "realised");
    assert.equal(totals.fees, core.fees, "fees");
    assert.equal(totals.netDeposits, core.netDeposits, "opening balances");
    assert.equal(totals.unrealizedPnl, core.unrealizedPnl, "unrealised");
    const btc = after.pnl!.positions.find((p) => p.asset === "BTC")!;
    assert.equal(btc.qty, core.positions[0]!.qty);
    assert.equal(btc.costBasis, core.positions[0]!.costBasis);
    // One USD pair: the paper broker's own per-pair figures (the same
    // core FIFO, applyFifoFill) agree with the per-asset report.
    assert.equal(after.paper!.pnl.realized, totals.realizedPnl);
    assert.equal(after.paper!.pnl.fees, totals.fees);
    // Equity at the same marks = net deposits + performance.
    if (after.equity!.complete && totals.complete) {
      assert.equal(
        Number(after.equity!.total).toFixed(6),
        (Number(totals.netDeposits) + Number(totals.performance)).toFixed(6),
      );
    }
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: equity follows the stream's books — a simulator price move shows up without a REST Ticker call", async () => {
  // Every REST call of this process to the simulator goes through fetch:
  // count the Ticker calls.
  const original = globalThis.fetch;
  const tickers: string[] = [];
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.includes("/0/public/Ticker")) tickers.push(url);
    return original(input, init);
  };
  const s = await startWith(LIVE);
  try {
    const first = await until(
      () => account(s),
      (d) =>
        d.phase === "ready" && d.historyComplete && d.marks !== null &&
        d.marks.streamed > 0 && d.marks.rest.length === 0,
      "marks from the stream",
    );
    assert.ok(first.equity !== null);
    const before = tickers.length;
    const btc = (d: AccountDocument) =>
      d.equity?.byAsset.find((a) => a.asset === "BTC")?.price ?? null;
    // The simulator's prices move with time; the book feed brings each
    // move, and the account recomputes from it.
    const moved = await until(
      () => account(s),
      (d) =>
        d.equity !== null && btc(d) !== null && btc(d) !== btc(first) &&
        d.equity.total !== first.equity!.total,
      "a price move in equity",
    );
    assert.equal(tickers.length, before, "no REST Ticker call for the move");
    assert.equal(moved.marks?.tickerCalls, first.marks?.tickerCalls);
    assert.deepEqual(moved.marks?.rest, []);
    // Unrealised P&L is marked at the same prices as equity.
    const btcPosition = moved.pnl?.positions.find((p) => p.asset === "BTC");
    if (btcPosition !== undefined) assert.equal(btcPosition.mark, btc(moved));
  } finally {
    await s.close();
    globalThis.fetch = original;
  }
});
