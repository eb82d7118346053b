import assert from "node:assert/strict";
import {
  type AccountFeedEffect,
  type AccountFeedEvent,
  type AccountFeedState,
  accountView,
  heldByOrders,
  initialAccountFeed,
  stepAccountFeed,
} from "../../worker/account_feed.ts";
import {
  type EventSourceLike,
  MarketWorker,
} from "../../worker/market_worker.ts";
import type {
  OrderView,
  WorkerBatch,
  WorkerMessage,
  WorkerReply,
} from "../../worker/protocol.ts";
import { FakeClock } from "../fakes/clock.ts";
import { FakeFetch, jsonResponse } from "../fakes/fetch.ts";
import { FakeWebSocketFactory } from "../fakes/websocket.ts";

/** A relayed core event: `PrivateStreamEvent` as the server sends it. */
function frame(
  channel: "executions" | "balances",
  kind: "snapshot" | "update",
  sequence: number | undefined,
  data: unknown[],
): string {
  return JSON.stringify(
    channel === "executions"
      ? { type: channel, kind, reports: data, sequence, atMs: 0 }
      : { type: channel, kind, rows: data, sequence, atMs: 0 },
  );
}

/** Run events through the machine, collecting every effect. */
function run(
  events: AccountFeedEvent[],
  start: AccountFeedState = initialAccountFeed(),
): { state: AccountFeedState; effects: AccountFeedEffect[] } {
  let state = start;
  const effects: AccountFeedEffect[] = [];
  for (const event of events) {
    const step = stepAccountFeed(state, event);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

const OPEN: AccountFeedEvent = { type: "wire.open" };

const SNAPSHOTS: AccountFeedEvent[] = [
  {
    type: "wire.message",
    channel: "balances",
    text: frame("balances", "snapshot", 1, [
      { asset: "USD", balance: "1000.5000" },
      { asset: "BTC", balance: "0.5000000000" },
      { asset: "ETH", balance: "0.0000000000" },
    ]),
  },
  {
    type: "wire.message",
    channel: "executions",
    text: frame("executions", "snapshot", 1, [
      {
        order_id: "O1",
        symbol: "BTC/USD",
        side: "buy",
        order_type: "limit",
        order_qty: "0.01000000",
        limit_price: "60000.0",
        cum_qty: "0.00000000",
        order_status: "new",
        exec_type: "new",
        timestamp: "2025-01-01T00:00:00.000000Z",
      },
      {
        order_id: "O2",
        symbol: "BTC/USD",
        side: "sell",
        order_type: "limit",
        order_qty: "0.20000000",
        limit_price: "70000.0",
        cum_qty: "0.05000000",
        order_status: "partially_filled",
        exec_type: "new",
        timestamp: "2025-01-02T00:00:00.000000Z",
      },
    ]),
  },
];

function refreshes(effects: AccountFeedEffect[]): string[] {
  return effects.flatMap((e) => e.type === "refresh" ? [e.reason] : []);
}

Deno.test("stepAccountFeed() builds the account from the stream's snapshots and updates", async (t) => {
  await t.step("snapshots: balances, open orders and derived holds", () => {
    const { state, effects } = run([OPEN, ...SNAPSHOTS]);
    assert.deepEqual(refreshes(effects), [], "the first open asks no REST");
    assert.ok(effects.some((e) => e.type === "publish"));
    const view = accountView(state);
    assert.equal(view.ready, true);
    assert.equal(view.stream, "live");
    assert.deepEqual(view.account.balances, [
      { asset: "BTC", balance: "0.5000000000", hold: "0.15" },
      { asset: "USD", balance: "1000.5000", hold: "600" },
    ]);
    assert.deepEqual(view.account.openOrders.map((o) => o.id), ["O2", "O1"]);
  });

  await t.step("not ready until both channels sent their snapshot", () => {
    const { state } = run([OPEN, SNAPSHOTS[0]!]);
    assert.equal(accountView(state).ready, false);
  });

  await t.step("updates: ledger entries, sparse order reports, fills", () => {
    const { state, effects } = run([
      OPEN,
      ...SNAPSHOTS,
      {
        type: "wire.message",
        channel: "balances",
        text: frame("balances", "update", 2, [
          { asset: "USD", balance: "400.5000", walletType: "spot" },
          { asset: "BTC", balance: "9", walletType: "earn" },
        ]),
      },
      {
        type: "wire.message",
        channel: "executions",
        text: frame("executions", "update", 2, [
          { order_id: "O1", exec_type: "trade", cum_qty: "0.00400000" },
          { order_id: "O2", exec_type: "canceled", order_status: "canceled" },
          {
            order_id: "O3",
            symbol: "ETH/USD",
            side: "buy",
            order_type: "market",
            order_qty: "1",
            exec_type: "pending_new",
            order_status: "pending_new",
          },
        ]),
      },
      {
        type: "wire.message",
        channel: "executions",
        text: frame("executions", "update", 3, [
          { order_id: "O3", exec_type: "filled", order_status: "filled" },
        ]),
      },
    ]);
    assert.deepEqual(refreshes(effects), []);
    const view = accountView(state);
    assert.deepEqual(view.account.balances, [
      { asset: "BTC", balance: "0.5000000000", hold: "0" },
      // 0.006 BTC left of O1 at 60000.
      { asset: "USD", balance: "400.5000", hold: "360" },
    ]);
    const [o1] = view.account.openOrders;
    assert.deepEqual(view.account.openOrders.length, 1);
    assert.equal(o1?.filled, "0.00400000");
    assert.equal(o1?.price, "60000.0", "sparse updates keep known fields");
    assert.equal(o1?.pair, "BTC/USD");
  });
});

Deno.test("stepAccountFeed() trusts the server's stream and asks REST only when refused", async (t) => {
  await t.step(
    "a gap the server reports is counted; its updates still apply",
    () => {
      const { state, effects } = run([
        OPEN,
        ...SNAPSHOTS,
        {
          type: "wire.message",
          channel: "gap",
          text: JSON.stringify({
            type: "gap",
            channel: "balances",
            expected: 2,
            received: 5,
            atMs: 0,
          }),
        },
        {
          type: "wire.message",
          channel: "balances",
          text: frame("balances", "update", 5, [
            { asset: "USD", balance: "9" },
          ]),
        },
      ]);
      assert.deepEqual(refreshes(effects), [], "the server resyncs, not us");
      assert.equal(state.gaps, 1);
      assert.equal(accountView(state).gaps, 1);
      assert.equal(state.balances.get("USD"), "9");
    },
  );

  await t.step("sequences are not re-checked", () => {
    const { state, effects } = run([OPEN, ...SNAPSHOTS, {
      type: "wire.message",
      channel: "balances",
      text: frame("balances", "update", 9, [{ asset: "USD", balance: "7" }]),
    }]);
    assert.deepEqual(refreshes(effects), []);
    assert.equal(state.gaps, 0);
    assert.equal(state.balances.get("USD"), "7");
  });

  await t.step(
    "the server's resync replaces balances and orders and makes the feed ready",
    () => {
      const { state, effects } = run([OPEN, ...SNAPSHOTS, {
        type: "wire.resync",
        account: {
          balances: [{ asset: "USD", balance: "7", hold: "0" }],
          openOrders: [{
            id: "O9",
            pair: "ETH/USD",
            side: "sell",
            orderType: "limit",
            price: "3000",
            volume: "1",
            filled: "0",
            status: "new",
            openedAtSec: 5,
          }],
        },
      }]);
      assert.deepEqual(refreshes(effects), []);
      const view = accountView(state);
      assert.equal(view.ready, true);
      assert.equal(view.restRefreshes, 1, "the server's REST read counts");
      assert.deepEqual(view.account.balances, [
        { asset: "USD", balance: "7", hold: "0" },
      ]);
      assert.deepEqual(view.account.openOrders.map((o) => o.id), ["O9"]);
      const fresh = run([{
        type: "wire.resync",
        account: { balances: [], openOrders: [] },
      }]);
      assert.equal(accountView(fresh.state).ready, true);
    },
  );

  await t.step(
    "a reconnect asks no REST and waits for the replayed snapshots",
    () => {
      const { state, effects } = run([
        OPEN,
        ...SNAPSHOTS,
        { type: "wire.error", closed: false },
      ]);
      assert.equal(state.stream, "reconnecting");
      assert.deepEqual(refreshes(effects), [], "a drop alone asks nothing");
      const again = run([OPEN], state);
      assert.deepEqual(refreshes(again.effects), []);
      assert.equal(again.state.stream, "live");
      assert.equal(accountView(again.state).ready, false);
      const replayed = run(SNAPSHOTS, again.state);
      assert.equal(accountView(replayed.state).ready, true);
      assert.deepEqual(refreshes(replayed.effects), []);
    },
  );

  await t.step("a refused stream asks REST and shows its answer", () => {
    const { state, effects } = run([{ type: "wire.error", closed: true }, {
      type: "rest.account",
      account: {
        balances: [{ asset: "USD", balance: "5", hold: "1" }],
        openOrders: [],
      },
    }]);
    assert.deepEqual(refreshes(effects), ["closed"]);
    const view = accountView(state);
    assert.equal(view.stream, "closed");
    assert.equal(view.ready, true);
    assert.deepEqual(view.account.balances, [
      { asset: "USD", balance: "5", hold: "0" },
    ]);
  });

  await t.step(
    "a second refusal while a refresh runs asks nothing more",
    () => {
      const { effects } = run([
        { type: "wire.error", closed: true },
        { type: "wire.error", closed: true },
      ]);
      assert.deepEqual(refreshes(effects), ["closed"]);
    },
  );

  await t.step("a failed refresh becomes a notice", () => {
    const { state, effects } = run([{ type: "wire.error", closed: true }, {
      type: "rest.failed",
      message: "Cannot reach the server",
    }]);
    assert.equal(state.refreshing, false);
    assert.deepEqual(effects.at(-1), {
      type: "notice",
      message: "Account refresh failed: Cannot reach the server",
    });
  });

  await t.step("bad frames and other channels are dropped", () => {
    const start = run([OPEN, ...SNAPSHOTS]).state;
    for (
      const event of [
        { type: "wire.message", channel: "balances", text: "{oops" },
        { type: "wire.message", channel: "balances", text: "42" },
        { type: "wire.message", channel: "ticker", text: "{}" },
        { type: "wire.message", channel: "resync", text: "{}" },
      ] satisfies AccountFeedEvent[]
    ) {
      const { state, effects } = stepAccountFeed(start, event);
      assert.equal(state, start, event.text);
      assert.deepEqual(effects, []);
    }
  });
});

Deno.test("heldByOrders() sums unfilled sells in base and limit buys in quote", () => {
  const order = (o: Partial<OrderView>): OrderView => ({
    id: "O",
    pair: "BTC/USD",
    side: "buy",
    orderType: "limit",
    price: "100",
    volume: "1",
    filled: "0",
    status: "new",
    openedAtSec: 0,
    ...o,
  });
  const held = heldByOrders([
    order({ price: "100.5", volume: "2", filled: "0.5" }),
    order({ side: "sell", volume: "1.25", filled: "0.25" }),
    order({ orderType: "market", price: "0" }),
    order({ filled: "1" }),
    order({ pair: "weird" }),
    order({ volume: "x" }),
  ]);
  assert.deepEqual(Object.fromEntries(held), { USD: "150.75", BTC: "1" });
});

/** A scripted EventSource: tests open, push named events, drop and refuse. */
class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  #listeners = new Map<string, ((event: MessageEvent) => void)[]>();
  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent) => void) {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  push(channel: string, data: string): void {
    for (const l of this.#listeners.get(channel) ?? []) {
      l(new MessageEvent(channel, { data }));
    }
  }
  fail(readyState: number): void {
    this.readyState = readyState;
    this.onerror?.(new Event("error"));
  }
}

Deno.test("MarketWorker follows the server's account stream and asks REST only when refused", async () => {
  FakeEventSource.all = [];
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const paths: string[] = [];
  const fetch = new FakeFetch((request) => {
    const url = new URL(request.url);
    paths.push(url.pathname);
    switch (url.pathname) {
      case "/api/config":
        return jsonResponse({
          mode: "sim",
          simulated: true,
          version: "0.1.0",
          wsPublicUrl: "ws://127.0.0.1:9/v2",
          staleToleranceSec: 60,
          timeframes: ["1m"],
          quote: "USD",
          privateData: true,
          tradingMode: "read_only",
        });
      case "/api/status":
        return jsonResponse({ rest: { reachable: true, lastError: null } });
      case "/api/public/AssetPairs":
        return jsonResponse({
          error: [],
          result: {
            XXBTZUSD: {
              altname: "XBTUSD",
              wsname: "XBT/USD",
              aclass_base: "currency",
              base: "XXBT",
              aclass_quote: "currency",
              quote: "ZUSD",
              pair_decimals: 1,
              lot_decimals: 8,
              leverage_buy: [],
              leverage_sell: [],
              fees: [[0, 0.26]],
              status: "online",
            },
          },
        });
      case "/api/private/balance":
        return jsonResponse({
          result: { ZUSD: { balance: "12.5000", hold_trade: "0.0000" } },
        });
      case "/api/private/open-orders":
        return jsonResponse({
          result: {
            open: {
              "OABC": {
                status: "open",
                opentm: 1,
                vol: "1.00000000",
                vol_exec: "0.00000000",
                descr: {
                  pair: "XBTUSD",
                  type: "buy",
                  ordertype: "limit",
                  price: "10.0",
                },
              },
            },
          },
        });
      default:
        return jsonResponse({ error: { code: "not_found", message: "No" } }, {
          status: 404,
        });
    }
  });
  const messages: WorkerMessage[] = [];
  const worker = new MarketWorker({
    origin: "http://127.0.0.1:8787",
    post: (m) => messages.push(m),
    fetch: fetch.fetch,
    WebSocket: new FakeWebSocketFactory().WebSocket,
    EventSource: FakeEventSource,
    now: clock.now,
    setTimer: clock.setTimer,
    accountRetryMs: 5_000,
  });
  const batches = () =>
    messages.filter((m): m is WorkerBatch => m.kind === "batch");
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      clock.advance(16);
      const last = batches().at(-1);
      if (last !== undefined) {
        await worker.receive({ kind: "ack", seq: last.seq });
      }
    }
  };
  const lastAccount = () => batches().findLast((b) => b.account)?.account;
  try {
    await worker.receive({
      kind: "request",
      id: 1,
      method: "init",
      params: {},
    });
    await worker.receive({
      kind: "request",
      id: 2,
      method: "watchAccount",
      params: {},
    });
    const reply = messages.find((m): m is WorkerReply =>
      m.kind === "reply" && m.id === 2
    );
    assert.deepEqual(reply?.result, { ok: true, value: { streaming: true } });
    assert.equal(FakeEventSource.all.length, 1);
    const source = FakeEventSource.all[0]!;
    assert.equal(source.url, "http://127.0.0.1:8787/api/private/events");

    source.open();
    for (const event of SNAPSHOTS) {
      if (event.type === "wire.message") source.push(event.channel, event.text);
    }
    await settle();
    assert.equal(lastAccount()?.ready, true);
    assert.deepEqual(lastAccount()?.account.balances.map((b) => b.asset), [
      "BTC",
      "USD",
    ]);
    assert.ok(!paths.some((p) => p.startsWith("/api/private/")));
    // A position (BTC against the server's quote) joins the watch's focus:
    // book, trades and candles without opening its detail.
    assert.deepEqual(worker.plan.focus, ["BTC/USD"]);

    // A drop, then the browser's reconnect: the server replays, no REST.
    source.fail(0);
    source.open();
    for (const event of SNAPSHOTS) {
      if (event.type === "wire.message") source.push(event.channel, event.text);
    }
    await settle();
    assert.ok(!paths.some((p) => p.startsWith("/api/private/")));
    assert.equal(lastAccount()?.ready, true);

    // The server resynced from REST: its answer, in the page's names.
    source.push("resync", "{oops");
    source.push(
      "resync",
      JSON.stringify({
        type: "resync",
        result: {
          reason: "gap",
          open: {
            "OXYZ": {
              status: "open",
              opentm: 2,
              vol: "2.00000000",
              vol_exec: "0.50000000",
              descr: {
                pair: "XBTUSD",
                type: "sell",
                ordertype: "limit",
                price: "20.0",
              },
            },
          },
          closed: {},
          balances: { ZUSD: "7.0000", XXBT: "0.0000000000" },
          atMs: 0,
        },
      }),
    );
    await settle();
    assert.ok(!paths.some((p) => p.startsWith("/api/private/")));
    const resynced = lastAccount();
    assert.equal(resynced?.restRefreshes, 1);
    assert.deepEqual(resynced?.account.balances, [
      { asset: "USD", balance: "7.0000", hold: "0" },
    ]);
    assert.equal(resynced?.account.openOrders[0]?.id, "OXYZ");
    assert.equal(resynced?.account.openOrders[0]?.pair, "BTC/USD");
    assert.equal(resynced?.account.openOrders[0]?.status, "partially_filled");

    // A refusal closes the source: REST shows the account meanwhile, and
    // the worker reopens the stream later itself.
    source.fail(2);
    await settle();
    assert.equal(source.closed, true);
    assert.equal(lastAccount()?.stream, "closed");
    assert.deepEqual(paths.filter((p) => p.startsWith("/api/private/")), [
      "/api/private/balance",
      "/api/private/open-orders",
    ]);
    const account = lastAccount();
    assert.equal(account?.restRefreshes, 2);
    assert.deepEqual(account?.account.balances, [
      { asset: "USD", balance: "12.5000", hold: "10" },
    ]);
    assert.equal(account?.account.openOrders[0]?.pair, "BTC/USD");
    assert.equal(account?.account.openOrders[0]?.status, "new");
    clock.advance(5_000);
    assert.equal(FakeEventSource.all.length, 2);

    // Asking again does not open a second stream.
    await worker.receive({
      kind: "request",
      id: 3,
      method: "watchAccount",
      params: {},
    });
    assert.equal(FakeEventSource.all.length, 2);
  } finally {
    worker.close();
  }
  assert.equal(FakeEventSource.all.at(-1)?.closed, true, "close() stops it");
});
