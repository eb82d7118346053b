/**
 * The simulator's WS v2 trading methods over real loopback sockets on
 * `/auth/v2`: answers with `req_id` and times, `executions` and `balances`
 * updates with a per-subscription `sequence`, errors, batches, the dead
 * man's switch and the drop-after-accept fault. The clock is a test clock;
 * the engine and feed timers are off, so only the test moves time.
 */

import assert from "node:assert/strict";
import { NonceSource } from "../../../core/auth/nonce.ts";
import { RestClient } from "../../../core/rest/client.ts";
import {
  type SimulatorWithWs,
  startSimulatorWithWs,
} from "../../../server/sim/server.ts";
import { TestClock } from "../_client.ts";

const START_MS = Date.UTC(2025, 5, 15, 12);
const WAIT_MS = 10_000;

type Json = Record<string, unknown>;

/** A loopback client that records frames and waits for matching ones. */
class Socket implements AsyncDisposable {
  readonly frames: Json[] = [];
  #socket: WebSocket;
  #cursor = 0;
  #wake: (() => void) | undefined;
  #closed: Promise<CloseEvent>;
  #closeEvent: CloseEvent | undefined;

  static async open(url: string): Promise<Socket> {
    const socket = new Socket(new WebSocket(url));
    await new Promise<void>((resolve, reject) => {
      socket.#socket.onopen = () => resolve();
      socket.#socket.onerror = () =>
        reject(new Error("WebSocket failed to open"));
    });
    return socket;
  }

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      this.frames.push(JSON.parse(String(event.data)));
      this.#wake?.();
    };
    this.#closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        this.#closeEvent = event;
        resolve(event);
        this.#wake?.();
      };
    });
  }

  send(value: Json): void {
    this.#socket.send(JSON.stringify(value));
  }

  async #change(what: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#wake = resolve;
        timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${what}`)),
          WAIT_MS,
        );
      });
    } finally {
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** The next frame after the cursor that matches; moves the cursor past it. */
  async next(match: (frame: Json) => boolean, what: string): Promise<Json> {
    for (;;) {
      while (this.#cursor < this.frames.length) {
        const frame = this.frames[this.#cursor++]!;
        if (match(frame)) return frame;
      }
      if (this.#closeEvent) {
        throw new Error(`Socket closed while waiting for ${what}`);
      }
      await this.#change(what);
    }
  }

  /** Every frame up to the pong of a fresh ping (frames arrive in order). */
  async barrier(reqId: number): Promise<Json[]> {
    const start = this.#cursor;
    this.send({ method: "ping", req_id: reqId });
    await this.next((f) => f.method === "pong" && f.req_id === reqId, "pong");
    return this.frames.slice(start, this.#cursor - 1);
  }

  async whenClosed(): Promise<CloseEvent> {
    while (!this.#closeEvent) await this.#change("close");
    return this.#closeEvent;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#socket.readyState !== WebSocket.CLOSED) this.#socket.close();
    await this.#closed;
  }
}

interface Setup extends AsyncDisposable {
  sim: SimulatorWithWs;
  clock: TestClock;
  client: RestClient;
  token: string;
  /** A private socket subscribed to executions and balances (snapshots consumed). */
  subscribed(): Promise<Socket>;
}

async function setup(): Promise<Setup> {
  const clock = new TestClock(START_MS);
  const sim = await startSimulatorWithWs({
    seed: 5,
    now: clock.now,
    engine: { tickMs: 0 },
    ws: { tickMs: 0 },
  });
  const client = new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    nonce: new NonceSource(),
    random: () => 0,
  });
  const token = (await client.getWebSocketsToken()).token.reveal();
  const sockets: Socket[] = [];
  return {
    sim,
    clock,
    client,
    token,
    async subscribed() {
      const socket = await Socket.open(sim.wsAuthUrl);
      sockets.push(socket);
      socket.send({
        method: "subscribe",
        params: { channel: "executions", token },
        req_id: 1,
      });
      await socket.next(
        (f) => f.channel === "executions" && f.type === "snapshot",
        "executions snapshot",
      );
      socket.send({
        method: "subscribe",
        params: { channel: "balances", token },
        req_id: 2,
      });
      await socket.next(
        (f) => f.channel === "balances" && f.type === "snapshot",
        "balances snapshot",
      );
      return socket;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) await socket[Symbol.asyncDispose]();
      client[Symbol.dispose]();
      await sim.close();
    },
  };
}

function rows(frames: Json[], channel: string): Json[] {
  return frames.filter((f) => f.channel === channel).flatMap((f) =>
    f.data as Json[]
  );
}

function sequences(frames: Json[], channel: string): number[] {
  return frames.filter((f) => f.channel === channel).map((f) =>
    f.sequence as number
  );
}

Deno.test("add_order: answer with req_id, then executions and balances updates in sequence", async () => {
  await using s = await setup();
  const socket = await s.subscribed();
  socket.send({
    method: "add_order",
    req_id: 7,
    params: {
      token: s.token,
      symbol: "BTC/USD",
      side: "buy",
      order_type: "market",
      order_qty: 0.02,
      cl_ord_id: "ws-market-1",
    },
  });
  const answer = await socket.next((f) => f.req_id === 7, "add_order answer");
  assert.equal(answer.method, "add_order");
  assert.equal(answer.success, true);
  const result = answer.result as Json;
  assert.match(
    String(result.order_id),
    /^O[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/,
  );
  assert.equal(result.cl_ord_id, "ws-market-1");
  assert.match(String(answer.time_in), /^2025-06-15T12:00:00\.000\d{3}Z$/);
  const frames = await socket.barrier(8);
  const executions = rows(frames, "executions");
  const types = executions.map((r) => r.exec_type);
  assert.equal(types[0], "pending_new");
  assert.equal(types[1], "new");
  assert.equal(types.at(-1), "filled");
  assert.ok(types.slice(2, -1).every((t) => t === "trade"));
  assert.equal(executions[0]!.cl_ord_id, "ws-market-1");
  assert.equal(executions[0]!.symbol, "BTC/USD");
  const trades = executions.filter((r) => r.exec_type === "trade");
  const balances = rows(frames, "balances");
  assert.equal(
    balances.length,
    trades.length * 2,
    "two ledger entries per fill",
  );
  for (const trade of trades) {
    const entries = balances.filter((b) => b.ref_id === trade.exec_id);
    assert.deepEqual(entries.map((e) => e.asset).sort(), ["BTC", "USD"]);
  }
  // Sequences continue from the snapshots (1) by one per message.
  const execSeq = sequences(frames, "executions");
  assert.deepEqual(execSeq, execSeq.map((_, i) => i + 2));
  const balSeq = sequences(frames, "balances");
  assert.deepEqual(balSeq, balSeq.map((_, i) => i + 2));
  // The REST side agrees.
  const order = (await s.client.queryOrders(String(result.order_id)))[
    String(result.order_id)
  ]!;
  assert.equal(order.status, "closed");
  assert.equal(order.vol_exec, "0.02000000");
});

Deno.test("a resting order fills when the clock moves; its attached close appears and is reported", async () => {
  await using s = await setup();
  const socket = await s.subscribed();
  const last = s.sim.market.lastPrice("XBTUSD");
  socket.send({
    method: "add_order",
    req_id: 10,
    params: {
      token: s.token,
      symbol: "BTC/USD",
      side: "buy",
      order_type: "limit",
      order_qty: 0.01,
      limit_price: Math.round(last * 0.998 * 10) / 10,
      conditional: {
        order_type: "stop-loss",
        trigger_price: -1,
        trigger_price_type: "pct",
      },
    },
  });
  const answer = await socket.next((f) => f.req_id === 10, "answer");
  const orderId = (answer.result as Json).order_id;
  const placed = await socket.barrier(11);
  const pending = rows(placed, "executions").find((r) =>
    r.exec_type === "pending_new"
  )!;
  assert.deepEqual(pending.contingent, {
    order_type: "stop-loss",
    trigger_price: -1,
    trigger_price_type: "pct",
  });
  s.clock.advance(6 * 3_600_000);
  s.sim.engine!.sync();
  const fill = await socket.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[]).some((r) =>
        r.exec_type === "trade" && r.order_id === orderId
      ),
    "the resting fill",
  );
  const trade = (fill.data as Json[])[0]!;
  assert.equal(trade.liquidity_ind, "m");
  const close = await socket.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[]).some((r) =>
        r.exec_type === "pending_new" && r.side === "sell"
      ),
    "the close order",
  );
  assert.equal((close.data as Json[])[0]!.order_type, "stop-loss");
});

Deno.test("errors: funds, unsupported fields, tokens, unknown orders", async () => {
  await using s = await setup();
  const socket = await s.subscribed();
  const order = {
    token: s.token,
    symbol: "BTC/USD",
    side: "buy",
    "order_type": "limit",
    "order_qty": 0.01,
    "limit_price": 60000,
  };
  const ask = async (reqId: number, method: string, params: Json) => {
    socket.send({ method, req_id: reqId, params });
    return await socket.next((f) => f.req_id === reqId, `${method} ${reqId}`);
  };
  assert.equal(
    (await ask(20, "add_order", { ...order, order_qty: 9 })).error,
    "EOrder:Insufficient funds",
  );
  assert.equal(
    (await ask(21, "add_order", { ...order, leverage: 2 })).error,
    "Unsupported field: 'leverage'",
  );
  assert.equal(
    (await ask(22, "add_order", { ...order, token: "nope" })).error,
    "EAPI:Invalid token",
  );
  assert.equal(
    (await ask(23, "add_order", { ...order, symbol: "XBT/USD" })).error,
    "EQuery:Unknown asset pair",
  );
  assert.equal(
    (await ask(24, "add_order", { ...order, limit_price: 60000.05 })).error,
    "EOrder:Invalid price",
  );
  assert.equal(
    (await ask(25, "cancel_order", {
      token: s.token,
      order_id: ["OAAAAA-BBBBB-CCCCCC"],
    })).error,
    "EOrder:Invalid order",
  );
  const validated = await ask(26, "add_order", { ...order, validate: true });
  assert.equal(validated.success, true);
  assert.deepEqual(validated.result, { order_id: "" });
  const failed = await ask(27, "add_order", {
    ...order,
    post_only: true,
    time_in_force: "ioc",
  });
  assert.equal(failed.success, false);
  assert.equal(failed.error, "EGeneral:Invalid arguments");
  assert.ok(typeof failed.time_out === "string");
});

Deno.test("amend, cancel one by one, batch_add, batch_cancel, cancel_all, cancel_all_orders_after", async () => {
  await using s = await setup();
  const socket = await s.subscribed();
  let reqId = 100;
  const ask = async (method: string, params: Json) => {
    const id = ++reqId;
    socket.send({ method, req_id: id, params: { token: s.token, ...params } });
    return await socket.next((f) => f.req_id === id, method);
  };
  const batch = await ask("batch_add", {
    symbol: "ETH/USD",
    orders: [
      {
        order_type: "limit",
        side: "buy",
        order_qty: 0.2,
        limit_price: 2800,
        order_userref: 1,
      },
      {
        order_type: "limit",
        side: "buy",
        order_qty: 0.2,
        limit_price: 2790,
        cl_ord_id: "b-2",
      },
      {
        order_type: "limit",
        side: "buy",
        order_qty: 0.2,
        limit_price: 2780,
        order_userref: 3,
      },
    ],
  });
  const placed = batch.result as Json[];
  assert.equal(placed.length, 3);
  assert.equal(placed[0]!.order_userref, 1);
  assert.equal(placed[1]!.cl_ord_id, "b-2");

  const amended = await ask("amend_order", {
    cl_ord_id: "b-2",
    order_qty: 0.3,
    limit_price: 2795,
  });
  assert.equal(amended.success, true);
  assert.equal((amended.result as Json).order_id, placed[1]!.order_id);
  const amendRow = await socket.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[])[0]!.exec_type === "amended",
    "amended row",
  );
  assert.equal((amendRow.data as Json[])[0]!.order_qty, 0.3);

  // cancel_order answers once per order.
  const id = ++reqId;
  socket.send({
    method: "cancel_order",
    req_id: id,
    params: {
      token: s.token,
      order_id: [placed[0]!.order_id],
      cl_ord_id: ["b-2"],
    },
  });
  const first = await socket.next((f) => f.req_id === id, "first cancel");
  const second = await socket.next((f) => f.req_id === id, "second cancel");
  assert.deepEqual(
    [first.result, second.result],
    [{ order_id: placed[0]!.order_id }, {
      order_id: placed[1]!.order_id,
      cl_ord_id: "b-2",
    }],
  );
  const cancelled = await ask("batch_cancel", {
    orders: [placed[2]!.order_id, "3"],
  });
  assert.deepEqual(cancelled.result, { count: 1 });
  assert.equal(
    (await ask("batch_cancel", { orders: ["x"] })).error,
    "EGeneral:Invalid arguments",
  );

  const timer = await ask("cancel_all_orders_after", { timeout: 60 });
  assert.deepEqual(timer.result, {
    currentTime: "2025-06-15T12:00:00Z",
    triggerTime: "2025-06-15T12:01:00Z",
  });
  s.clock.advance(61_000);
  s.sim.engine!.sync();
  const fired = await socket.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[])[0]!.reason === "Dead man's switch",
    "dead man cancel",
  );
  assert.equal((fired.data as Json[])[0]!.exec_type, "canceled");
  assert.deepEqual((await ask("cancel_all", {})).result, { count: 0 });
});

Deno.test("drop after accept on WS: the socket closes, the order exists and other sockets see it", async () => {
  await using s = await setup();
  const watcher = await s.subscribed();
  const trader = await s.subscribed();
  s.sim.control.set({ dropAfterAccept: 1 });
  trader.send({
    method: "add_order",
    req_id: 1,
    params: {
      token: s.token,
      symbol: "BTC/USD",
      side: "buy",
      order_type: "limit",
      order_qty: 0.01,
      limit_price: 60000,
      cl_ord_id: "ws-recon-1",
    },
  });
  const event = await trader.whenClosed();
  assert.equal(event.code, 1011);
  assert.ok(
    !trader.frames.some((f) => f.method === "add_order"),
    "the answer never came",
  );
  const seen = await watcher.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[])[0]!.cl_ord_id === "ws-recon-1",
    "the order on another socket",
  );
  assert.equal((seen.data as Json[])[0]!.exec_type, "pending_new");
  const open = await s.client.openOrders({ clOrdId: "ws-recon-1" });
  assert.equal(Object.keys(open.open).length, 1);
});

Deno.test("edit_order, amend of a trigger, cancel by userref, maintenance", async () => {
  await using s = await setup();
  const socket = await s.subscribed();
  let reqId = 500;
  const ask = async (method: string, params: Json) => {
    const id = ++reqId;
    socket.send({ method, req_id: id, params: { token: s.token, ...params } });
    return await socket.next((f) => f.req_id === id, method);
  };
  const placed = await ask("add_order", {
    symbol: "ETH/USD",
    side: "buy",
    order_type: "limit",
    order_qty: 0.2,
    limit_price: 2800,
    order_userref: 11,
  });
  const orderId = (placed.result as Json).order_id as string;
  const edited = await ask("edit_order", {
    order_id: orderId,
    symbol: "ETH/USD",
    order_qty: 0.3,
    limit_price: 2790,
    post_only: true,
    order_userref: 12,
  });
  const newId = (edited.result as Json).order_id as string;
  assert.equal((edited.result as Json).original_order_id, orderId);
  const dry = await ask("edit_order", {
    order_id: newId,
    symbol: "ETH/USD",
    validate: true,
  });
  assert.deepEqual(dry.result, { order_id: "", original_order_id: newId });

  const stop = await ask("add_order", {
    symbol: "ETH/USD",
    side: "sell",
    order_type: "stop-loss",
    order_qty: 0.2,
    triggers: { price: -5, price_type: "pct" },
  });
  const stopId = (stop.result as Json).order_id as string;
  const amended = await ask("amend_order", {
    order_id: stopId,
    trigger_price: -4,
    trigger_price_type: "pct",
    deadline: "2025-06-15T12:00:10Z",
  });
  assert.equal(amended.success, true);
  const amendedRow = await socket.next(
    (f) =>
      f.channel === "executions" &&
      (f.data as Json[])[0]!.exec_type === "amended",
    "amended row",
  );
  assert.equal(
    ((amendedRow.data as Json[])[0]!.triggers as Json).status,
    "untriggered",
  );

  const id = ++reqId;
  socket.send({
    method: "cancel_order",
    req_id: id,
    params: { token: s.token, order_userref: [12, 99] },
  });
  const cancelled = await socket.next(
    (f) => f.req_id === id,
    "cancel by userref",
  );
  assert.deepEqual(cancelled.result, { order_id: newId });
  const none = await socket.next(
    (f) => f.req_id === id,
    "no order with userref 99",
  );
  assert.equal(none.error, "EOrder:Invalid order");
  assert.equal(
    (await ask("cancel_order", {})).error,
    "EGeneral:Invalid arguments",
  );
  assert.equal(
    (await ask("cancel_all_orders_after", { timeout: "soon" })).error,
    "EGeneral:Invalid arguments",
  );
  assert.equal((await ask("fly", {})).error, "Method not supported");

  s.sim.control.set({ systemStatus: "maintenance" });
  assert.equal((await ask("cancel_all", {})).error, "EService:Unavailable");
  s.sim.control.set({ systemStatus: "online" });
  assert.deepEqual((await ask("cancel_all", {})).result, { count: 5 });
});
