/**
 * The simulator's WebSocket v2 endpoints over real loopback sockets. The
 * clock is fake and the feed timer is off (`tickMs: 0`): tests move the
 * clock, call `sim.ws.tick()`, and use a ping/pong round trip as a barrier
 * (frames arrive in order), so nothing depends on wall time.
 */

import assert from "node:assert/strict";
import { BookSet } from "../../../core/ws/book.ts";
import { normalizeDecimal, parseWsFrame } from "../../../core/ws/protocol.ts";
import {
  type SimulatorWithWs,
  startSimulatorWithWs,
} from "../../../server/sim/server.ts";

const START_MS = Date.UTC(2025, 0, 10, 12, 0, 0);
const WAIT_MS = 15_000;

type Json = Record<string, unknown>;

/** JSON.parse keeping every number as its exact source text. */
function parseExact(text: string): Json {
  return JSON.parse(
    text,
    ((_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === "number" ? context?.source ?? String(value) : value) as (
        key: string,
        value: unknown,
      ) => unknown,
  );
}

function tryParse(text: string): Json | undefined {
  try {
    const value = parseExact(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/** A loopback client that records frames and waits for specific ones. */
class TestSocket implements AsyncDisposable {
  readonly frames: string[] = [];
  /** Raw text of the frame {@linkcode TestSocket.next} returned last. */
  lastText = "";
  #socket: WebSocket;
  #cursor = 0;
  #wake: (() => void) | undefined;
  #closed: Promise<CloseEvent>;
  #closeEvent: CloseEvent | undefined;
  #reqId = 1_000;

  static async open(url: string): Promise<TestSocket> {
    const client = new TestSocket(new WebSocket(url));
    await client.#opened();
    return client;
  }

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      this.frames.push(String(event.data));
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

  #opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.onopen = () => resolve();
      this.#socket.onerror = () =>
        reject(new Error("WebSocket failed to open"));
    });
  }

  get closeEvent(): CloseEvent | undefined {
    return this.#closeEvent;
  }

  send(value: unknown): void {
    this.#socket.send(
      typeof value === "string" ? value : JSON.stringify(value),
    );
  }

  /** Wait for a change (frame or close), failing after a generous timeout. */
  async #waitForChange(what: string): Promise<void> {
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

  /** The next frame matching `match` after the cursor; moves the cursor past it. */
  async next(match: (frame: Json) => boolean, what: string): Promise<Json> {
    for (;;) {
      while (this.#cursor < this.frames.length) {
        const frame = tryParse(this.frames[this.#cursor++]!);
        if (frame && match(frame)) {
          this.lastText = this.frames[this.#cursor - 1]!;
          return frame;
        }
      }
      if (this.#closeEvent) {
        throw new Error(`Socket closed while waiting for ${what}`);
      }
      await this.#waitForChange(what);
    }
  }

  /** Frames after the cursor up to (not including) the pong of a fresh ping. */
  async sync(): Promise<string[]> {
    const reqId = ++this.#reqId;
    const start = this.#cursor;
    this.send({ method: "ping", req_id: reqId });
    await this.next(
      (f) => f.method === "pong" && f.req_id === String(reqId),
      `pong ${reqId}`,
    );
    return this.frames.slice(start, this.#cursor - 1);
  }

  /** Wait until the server closes the socket. */
  async whenClosed(): Promise<CloseEvent> {
    while (!this.#closeEvent) await this.#waitForChange("the socket to close");
    return this.#closeEvent;
  }

  async close(): Promise<void> {
    if (this.#socket.readyState !== WebSocket.CLOSED) this.#socket.close();
    await this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

interface Harness extends AsyncDisposable {
  sim: SimulatorWithWs;
  clock: { nowMs: number };
  /** Move the clock and run one feed step. */
  step(ms: number): void;
}

async function harness(options: { seed?: number } = {}): Promise<Harness> {
  const clock = { nowMs: START_MS };
  const sim = await startSimulatorWithWs({
    seed: options.seed ?? 3,
    now: () => clock.nowMs,
    closedOrders: 8,
    ws: { tickMs: 0 },
  });
  return {
    sim,
    clock,
    step(ms: number) {
      clock.nowMs += ms;
      sim.ws.tick();
    },
    [Symbol.asyncDispose]: () => sim.close(),
  };
}

function data(frame: Json): Json[] {
  return frame.data as Json[];
}

function isAck(channel: string, symbol?: string) {
  return (f: Json) =>
    f.method === "subscribe" && f.success === true &&
    (f.result as Json).channel === channel &&
    (symbol === undefined || (f.result as Json).symbol === symbol);
}

function isPush(channel: string, type?: string, symbol?: string) {
  return (f: Json) =>
    f.channel === channel && (type === undefined || f.type === type) &&
    (symbol === undefined ||
      (Array.isArray(f.data) && data(f)[0]?.symbol === symbol));
}

Deno.test("the public endpoint sends status on connect and answers ping with pong", async (t) => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);

  await t.step(
    "status arrives first with api_version v2 and a u64 connection id",
    async () => {
      const status = await ws.next(isPush("status"), "status");
      assert.equal(status.type, "update");
      const row = data(status)[0]!;
      assert.equal(row.api_version, "v2");
      assert.equal(row.system, "online");
      assert.match(String(row.version), /^\d+\.\d+\.\d+$/);
      assert.ok(
        BigInt(String(row.connection_id)) > 2n ** 53n,
        "connection_id exceeds 2^53",
      );
      assert.ok(ws.frames[0]!.startsWith('{"channel":"status"'));
    },
  );

  await t.step("ping echoes req_id with time_in and time_out", async () => {
    ws.send({ method: "ping", req_id: 41 });
    const pong = await ws.next((f) => f.method === "pong", "pong");
    assert.equal(pong.req_id, "41");
    // µs resolution within the clock's millisecond; time_out after time_in.
    assert.match(pong.time_in as string, /^2025-01-10T12:00:00\.000\d{3}Z$/);
    assert.match(pong.time_out as string, /^2025-01-10T12:00:00\.\d{6}Z$/);
    assert.ok((pong.time_out as string) > (pong.time_in as string));
  });

  await t.step("the auth endpoint sends status too", async () => {
    await using auth = await TestSocket.open(h.sim.wsAuthUrl);
    const status = await auth.next(isPush("status"), "status");
    assert.equal(data(status)[0]!.api_version, "v2");
  });
});

Deno.test("subscribe answers one ack or reject per symbol with Kraken's error strings", async (t) => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");

  await t.step(
    "acks valid symbols and rejects v1 names with the symbol at top level",
    async () => {
      ws.send({
        method: "subscribe",
        params: {
          channel: "ticker",
          symbol: ["BTC/USD", "XBT/USD", "ETH/USD"],
        },
        req_id: 7,
      });
      const answers = [];
      for (let i = 0; i < 3; i++) {
        answers.push(
          await ws.next((f) => f.method === "subscribe", "subscribe answer"),
        );
      }
      const [btc, xbt, eth] = answers;
      assert.deepEqual(btc!.result, {
        channel: "ticker",
        symbol: "BTC/USD",
        event_trigger: "trades",
        snapshot: true,
      });
      assert.equal(btc!.req_id, "7");
      assert.equal(btc!.success, true);
      assert.equal(typeof btc!.time_in, "string");
      assert.equal(xbt!.success, false);
      assert.equal(xbt!.error, "Currency pair not supported XBT/USD");
      assert.equal(xbt!.symbol, "XBT/USD");
      assert.equal(xbt!.result, undefined);
      assert.equal((eth!.result as Json).symbol, "ETH/USD");
    },
  );

  await t.step(
    "bad depth, bad interval and unknown channel are refused",
    async () => {
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD"], depth: 15 },
        req_id: 8,
      });
      const depth = await ws.next((f) => f.req_id === "8", "depth reject");
      assert.equal(depth.error, "Subscription depth not supported");
      ws.send({
        method: "subscribe",
        params: { channel: "ohlc", symbol: ["BTC/USD"], interval: 2 },
        req_id: 9,
      });
      const interval = await ws.next(
        (f) => f.req_id === "9",
        "interval reject",
      );
      assert.equal(interval.error, "Subscription ohlc interval not supported");
      ws.send({
        method: "subscribe",
        params: { channel: "spread", symbol: ["BTC/USD"] },
        req_id: 10,
      });
      const name = await ws.next((f) => f.req_id === "10", "name reject");
      assert.equal(name.error, "Subscription name invalid");
      ws.send({
        method: "subscribe",
        params: { channel: "executions", token: "x" },
        req_id: 11,
      });
      const privateOnPublic = await ws.next(
        (f) => f.req_id === "11",
        "private reject",
      );
      assert.equal(privateOnPublic.success, false);
      ws.send("not json");
      const garbage = await ws.next(
        (f) => f.success === false && f.req_id === undefined,
        "garbage reject",
      );
      assert.equal(garbage.error, "EGeneral:Invalid arguments");
    },
  );

  await t.step(
    "a second subscription is Already subscribed; one book depth per symbol",
    async () => {
      ws.send({
        method: "subscribe",
        params: { channel: "ticker", symbol: ["BTC/USD"] },
        req_id: 12,
      });
      const again = await ws.next((f) => f.req_id === "12", "duplicate reject");
      assert.equal(again.error, "Already subscribed");
      assert.equal(again.symbol, "BTC/USD");
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD"], depth: 10 },
        req_id: 13,
      });
      await ws.next((f) => f.req_id === "13" && f.success === true, "book ack");
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD"], depth: 25 },
        req_id: 14,
      });
      const second = await ws.next(
        (f) => f.req_id === "14",
        "second depth reject",
      );
      assert.equal(second.error, "Already subscribed");
    },
  );

  await t.step(
    "unsubscribe acks once, then Subscription Not Found; book needs its depth",
    async () => {
      ws.send({
        method: "unsubscribe",
        params: { channel: "book", symbol: ["BTC/USD"], depth: 25 },
        req_id: 15,
      });
      const wrongDepth = await ws.next((f) => f.req_id === "15", "wrong depth");
      assert.equal(wrongDepth.error, "Subscription Not Found");
      ws.send({
        method: "unsubscribe",
        params: { channel: "ticker", symbol: ["BTC/USD"] },
        req_id: 16,
      });
      const ack = await ws.next((f) => f.req_id === "16", "unsubscribe ack");
      assert.equal(ack.method, "unsubscribe");
      assert.deepEqual(ack.result, {
        channel: "ticker",
        symbol: "BTC/USD",
        event_trigger: "trades",
      });
      ws.send({
        method: "unsubscribe",
        params: { channel: "ticker", symbol: ["BTC/USD"] },
        req_id: 17,
      });
      const gone = await ws.next((f) => f.req_id === "17", "not found");
      assert.equal(gone.error, "Subscription Not Found");
      // No ticker frames for BTC/USD after the unsubscribe ack.
      for (let i = 0; i < 20; i++) h.step(30_000);
      const frames = await ws.sync();
      assert.ok(
        !frames.some((f) =>
          f.includes('"channel":"ticker"') && f.includes("BTC/USD")
        ),
      );
      assert.ok(
        frames.some((f) =>
          f.includes('"channel":"ticker"') && f.includes("ETH/USD")
        ),
      );
    },
  );
});

Deno.test("heartbeats come once per second of data silence on subscribed connections", async (t) => {
  await using h = await harness();
  await using quiet = await TestSocket.open(h.sim.wsPublicUrl);
  await using idle = await TestSocket.open(h.sim.wsPublicUrl);
  await quiet.next(isPush("status"), "status");
  await idle.next(isPush("status"), "status");
  quiet.send({
    method: "subscribe",
    params: { channel: "instrument" },
    req_id: 1,
  });
  await quiet.next(isPush("instrument", "snapshot"), "instrument snapshot");

  await t.step("40 steps of 250 ms give 10 heartbeats", async () => {
    await quiet.sync(); // the pong resets the silence timer
    for (let i = 0; i < 40; i++) h.step(250);
    const frames = await quiet.sync();
    assert.equal(
      frames.filter((f) => f === '{"channel":"heartbeat"}').length,
      10,
    );
    assert.equal(frames.length, 10);
  });

  await t.step("a connection without subscriptions gets none", async () => {
    const frames = await idle.sync();
    assert.equal(frames.filter((f) => f.includes("heartbeat")).length, 0);
  });
});

Deno.test("book streams keep a client's checksums valid over thousands of updates", async (t) => {
  await using h = await harness({ seed: 11 });
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");
  const subscriptions = [
    { symbol: "BTC/USD", depth: 10, priceDecimals: 1 },
    { symbol: "ETH/USD", depth: 25, priceDecimals: 2 },
    { symbol: "DOGE/USD", depth: 100, priceDecimals: 7 },
    { symbol: "SOL/USD", depth: 1000, priceDecimals: 2 },
  ] as const;
  const books = new BookSet();
  for (const s of subscriptions) {
    books.track(s.symbol, { depth: s.depth });
    ws.send({
      method: "subscribe",
      params: { channel: "book", symbol: [s.symbol], depth: s.depth },
      req_id: s.depth,
    });
    await ws.next(isPush("book", "snapshot", s.symbol), `${s.symbol} snapshot`);
  }
  let updates = 0;
  let applied = 0;
  const apply = (frames: readonly string[]) => {
    for (const text of frames) {
      const frame = parseWsFrame(text);
      if (frame.kind !== "book") continue;
      if (text.includes('"type":"update"')) updates++;
      const result = books.applyText(text);
      assert.equal(
        result.kind,
        "applied",
        `book frame not applied: ${JSON.stringify(result)}`,
      );
      applied++;
    }
  };
  apply(ws.frames.filter((f) => f.includes('"type":"snapshot"')));

  await t.step(
    "snapshots print prices at the pair's precision with trailing zeros",
    () => {
      for (const s of subscriptions) {
        const snapshot = tryParse(
          ws.frames.find((f) =>
            f.includes('"type":"snapshot"') && f.includes(s.symbol)
          )!,
        )!;
        const row = data(snapshot)[0]!;
        const asks = row.asks as Json[];
        assert.equal(asks.length, s.depth);
        for (const level of [...asks, ...(row.bids as Json[])]) {
          assert.equal(
            String(level.price).split(".")[1]?.length,
            s.priceDecimals,
          );
          assert.equal(String(level.qty).split(".")[1]?.length, 8);
        }
      }
    },
  );

  await t.step(
    "1500 steps of 2 s apply with zero checksum failures",
    async () => {
      for (let round = 0; round < 15; round++) {
        for (let i = 0; i < 100; i++) h.step(2_000);
        apply(await ws.sync());
      }
      assert.ok(updates >= 3000, `only ${updates} book updates`);
      assert.equal(books.checksumFailures(), 0);
    },
  );

  await t.step("the client's final books equal the simulator's books", () => {
    for (const s of subscriptions) {
      const expected = h.sim.ws.feed.bookAtCursor(s.symbol, s.depth);
      const actual = books.top(s.symbol)!;
      assert.deepEqual(
        actual.asks,
        expected.asks.map((l) => ({ price: l.price, qty: l.qty })),
        s.symbol,
      );
      assert.deepEqual(
        actual.bids,
        expected.bids.map((l) => ({ price: l.price, qty: l.qty })),
        s.symbol,
      );
    }
    assert.ok(applied > updates);
  });
});

async function restTicker(
  sim: SimulatorWithWs,
  pairKey: string,
): Promise<Json> {
  const response = await fetch(`${sim.url}/0/public/Ticker?pair=${pairKey}`);
  const body = await response.json() as {
    error: string[];
    result: Record<string, Json>;
  };
  assert.deepEqual(body.error, []);
  return Object.values(body.result)[0]!;
}

Deno.test("ticker agrees with REST Ticker at the same instant", async (t) => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");
  ws.send({
    method: "subscribe",
    params: { channel: "ticker", symbol: ["BTC/USD"] },
  });
  const same = (a: unknown, b: unknown) =>
    assert.equal(normalizeDecimal(String(a)), normalizeDecimal(String(b)));

  await t.step(
    "snapshot last, bid, ask and 24 h figures equal REST c, b, a, v, l, h, p",
    async () => {
      const snapshot = data(
        await ws.next(isPush("ticker", "snapshot"), "ticker snapshot"),
      )[0]!;
      const rest = await restTicker(h.sim, "XBTUSD");
      same(snapshot.last, (rest.c as string[])[0]);
      same(snapshot.bid, (rest.b as string[])[0]);
      same(snapshot.ask, (rest.a as string[])[0]);
      same(snapshot.volume, (rest.v as string[])[1]);
      same(snapshot.low, (rest.l as string[])[1]);
      same(snapshot.high, (rest.h as string[])[1]);
      // WS vwap at the pair's price precision; REST p at max(that, 5).
      const pair = h.sim.market.pair("XBTUSD")!;
      same(
        snapshot.vwap,
        Number((rest.p as string[])[1]).toFixed(pair.pairDecimals),
      );
    },
  );

  await t.step("updates follow trades and still equal REST", async () => {
    let checked = 0;
    for (let i = 0; i < 30 && checked < 3; i++) {
      h.step(60_000);
      const frames = await ws.sync();
      const updates = frames.map(tryParse).filter((f): f is Json =>
        f !== undefined && isPush("ticker", "update")(f)
      );
      if (updates.length === 0) continue;
      assert.equal(updates.length, 1, "one ticker update per step");
      const rest = await restTicker(h.sim, "XBTUSD");
      same(data(updates[0]!)[0]!.last, (rest.c as string[])[0]);
      checked++;
    }
    assert.equal(checked, 3);
  });
});

Deno.test("ohlc candles close when a later interval_begin arrives and equal REST OHLC rows", async (t) => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");

  await t.step(
    "every interval is accepted and acked with its interval",
    async () => {
      for (const interval of [1, 5, 15, 30, 60, 240, 1440, 10080, 21600]) {
        ws.send({
          method: "subscribe",
          params: { channel: "ohlc", symbol: ["ETH/USD"], interval },
          req_id: interval,
        });
        const ack = await ws.next(
          (f) => f.req_id === String(interval),
          `ohlc ${interval} ack`,
        );
        assert.equal((ack.result as Json).interval, String(interval));
        const snapshot = await ws.next(
          isPush("ohlc", "snapshot"),
          `ohlc ${interval} snapshot`,
        );
        const rows = data(snapshot);
        assert.ok(rows.length >= 1 && rows.length <= 5);
        assert.match(
          String(rows.at(-1)!.interval_begin),
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000000000Z$/,
        );
      }
    },
  );

  await t.step(
    "the last row of each closed 1-minute candle equals REST OHLC",
    async () => {
      const latest = new Map<string, Json>();
      const closed: Json[] = [];
      for (let i = 0; i < 40; i++) {
        h.step(15_000);
        for (const text of await ws.sync()) {
          const frame = tryParse(text);
          if (!frame || !isPush("ohlc", "update")(frame)) continue;
          for (const row of data(frame)) {
            if (row.interval !== "1") continue;
            const previous = [...latest.values()].at(-1);
            if (
              previous &&
              String(previous.interval_begin) < String(row.interval_begin)
            ) closed.push(previous);
            latest.set(String(row.interval_begin), row);
          }
        }
      }
      assert.ok(closed.length >= 3, `only ${closed.length} closed candles`);
      const response = await fetch(
        `${h.sim.url}/0/public/OHLC?pair=ETHUSD&interval=1`,
      );
      const body = await response.json() as {
        result: Record<string, unknown[]>;
      };
      const rows = body.result.XETHZUSD as unknown[][];
      for (const candle of closed) {
        const beginSec = Date.parse(String(candle.interval_begin)) / 1000;
        const row = rows.find((r) => r[0] === beginSec)!;
        assert.ok(row, `REST has the candle at ${candle.interval_begin}`);
        assert.deepEqual(
          [
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.vwap,
            candle.volume,
            Number(candle.trades),
          ],
          row.slice(1),
        );
      }
    },
  );
});

Deno.test("trade snapshot holds the last 50 trades and updates continue the ids", async () => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");
  ws.send({
    method: "subscribe",
    params: { channel: "trade", symbol: ["BTC/USD"], snapshot: true },
  });
  const snapshot = data(
    await ws.next(isPush("trade", "snapshot"), "trade snapshot"),
  );
  assert.equal(snapshot.length, 50);
  let lastId = Number(snapshot.at(-1)!.trade_id);
  for (let i = 0; i < 10; i++) h.step(60_000);
  let seen = 0;
  for (const text of await ws.sync()) {
    const frame = tryParse(text);
    if (!frame || !isPush("trade", "update")(frame)) continue;
    for (const trade of data(frame)) {
      assert.equal(Number(trade.trade_id), lastId + 1);
      assert.match(String(trade.price), /^\d+\.\d$/);
      lastId++;
      seen++;
    }
  }
  assert.ok(seen > 0);
});

Deno.test("instrument lists v2 symbols with precisions and increments", async () => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  ws.send({ method: "subscribe", params: { channel: "instrument" } });
  const frame = await ws.next(
    isPush("instrument", "snapshot"),
    "instrument snapshot",
  );
  const payload = frame.data as { assets: Json[]; pairs: Json[] };
  const btc = payload.pairs.find((p) => p.symbol === "BTC/USD")!;
  assert.equal(btc.base, "BTC");
  assert.equal(btc.price_precision, "1");
  assert.equal(btc.qty_precision, "8");
  assert.equal(btc.price_increment, "0.1");
  assert.equal(btc.qty_increment, "1e-8");
  assert.equal(typeof btc.cost_min, "string");
  assert.equal(
    payload.pairs.find((p) => p.symbol === "DOGE/USD")!.price_precision,
    "7",
  );
  assert.ok(payload.assets.some((a) => a.id === "DOGE"));
  assert.ok(!payload.pairs.some((p) => String(p.symbol).includes("XBT")));
  assert.equal(parseWsFrame(ws.lastText).kind, "instrument");
});

Deno.test("fault injection reaches connected clients", async (t) => {
  await using h = await harness();

  await t.step("drop closes every connection of the scope", async () => {
    await using a = await TestSocket.open(h.sim.wsPublicUrl);
    await using b = await TestSocket.open(h.sim.wsAuthUrl);
    await a.next(isPush("status"), "status");
    await b.next(isPush("status"), "status");
    assert.equal(h.sim.ws.faults.drop({ scope: "public" }), 1);
    const event = await a.whenClosed();
    assert.equal(event.code, 1011);
    await b.sync(); // the private one is still up
  });

  await t.step(
    "stall withholds every frame until resume, keeping the socket open",
    async () => {
      await using ws = await TestSocket.open(h.sim.wsPublicUrl);
      await ws.next(isPush("status"), "status");
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD"] },
      });
      await ws.next(isPush("book", "snapshot"), "snapshot");
      await ws.sync();
      h.sim.ws.faults.stall();
      const before = h.sim.ws.faults.stats.stalledFrames;
      ws.send({ method: "ping", req_id: 1 });
      await h.sim.ws.faults.whenStalledFrames(before + 1); // the pong was withheld
      for (let i = 0; i < 20; i++) h.step(1_000);
      h.sim.ws.faults.resume();
      const frames = await ws.sync();
      assert.equal(
        frames.length,
        0,
        "nothing from the stall arrives afterwards",
      );
      assert.ok(h.sim.ws.faults.stats.stalledFrames >= 20);
      h.step(1_000);
      assert.ok((await ws.sync()).length > 0, "frames flow again");
    },
  );

  await t.step(
    "silence acks a subscription and then sends nothing for it",
    async () => {
      await using ws = await TestSocket.open(h.sim.wsPublicUrl);
      h.sim.ws.faults.silence({ channel: "book", symbol: "ETH/USD" });
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["ETH/USD", "BTC/USD"] },
      });
      await ws.next(isAck("book", "ETH/USD"), "ETH ack");
      await ws.next(isAck("book", "BTC/USD"), "BTC ack");
      for (let i = 0; i < 30; i++) h.step(2_000);
      const frames = await ws.sync();
      assert.ok(!frames.some((f) => f.includes("ETH/USD")));
      assert.ok(
        !ws.frames.some((f) =>
          f.includes('"type":"snapshot"') && f.includes("ETH/USD")
        ),
      );
      assert.ok(
        frames.some((f) =>
          f.includes('"channel":"book"') && f.includes("BTC/USD")
        ),
      );
    },
  );

  await t.step(
    "a corrupted checksum fails exactly one update, then a resubscribe heals",
    async () => {
      await using ws = await TestSocket.open(h.sim.wsPublicUrl);
      const books = new BookSet();
      books.track("BTC/USD");
      books.track("ETH/USD");
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD", "ETH/USD"] },
      });
      await ws.next(isPush("book", "snapshot", "ETH/USD"), "snapshot");
      for (const text of ws.frames) {
        if (parseWsFrame(text).kind === "book") {
          assert.equal(books.applyText(text).kind, "applied");
        }
      }
      h.sim.ws.faults.corruptChecksum("BTC/USD");
      const results = [];
      for (let i = 0; i < 40; i++) {
        h.step(2_000);
        for (const text of await ws.sync()) {
          if (parseWsFrame(text).kind === "book") {
            results.push(books.applyText(text));
          }
        }
      }
      const mismatches = results.filter((r) => r.kind === "mismatch");
      assert.equal(mismatches.length, 1);
      assert.equal(
        mismatches[0]!.kind === "mismatch" && mismatches[0]!.symbol,
        "BTC/USD",
      );
      assert.equal(books.integrity("ETH/USD"), "ok");
      assert.equal(books.integrity("BTC/USD"), "resyncing");
      ws.send({
        method: "unsubscribe",
        params: { channel: "book", symbol: ["BTC/USD"] },
      });
      ws.send({
        method: "subscribe",
        params: { channel: "book", symbol: ["BTC/USD"] },
      });
      await ws.next(isPush("book", "snapshot", "BTC/USD"), "fresh snapshot");
      assert.equal(books.applyText(ws.lastText).kind, "applied");
      for (let i = 0; i < 20; i++) h.step(2_000);
      for (const text of await ws.sync()) {
        if (parseWsFrame(text).kind === "book") {
          assert.equal(books.applyText(text).kind, "applied");
        }
      }
      assert.equal(books.integrity("BTC/USD"), "ok");
      assert.equal(h.sim.ws.faults.stats.corruptChecksums, 1);
    },
  );

  await t.step(
    "maintenance pushes a status update, mirrored to REST SystemStatus",
    async () => {
      await using ws = await TestSocket.open(h.sim.wsPublicUrl);
      await ws.next(isPush("status"), "status");
      h.sim.ws.faults.setSystemStatus("maintenance");
      const status = await ws.next(isPush("status"), "maintenance status");
      assert.equal(data(status)[0]!.system, "maintenance");
      const rest = await (await fetch(`${h.sim.url}/0/public/SystemStatus`))
        .json() as { result: Json };
      assert.equal(rest.result.status, "maintenance");
      await using later = await TestSocket.open(h.sim.wsPublicUrl);
      assert.equal(
        data(await later.next(isPush("status"), "status"))[0]!.system,
        "maintenance",
      );
      h.sim.control.set({ systemStatus: "online" });
      h.step(250);
      assert.equal(
        data(await ws.next(isPush("status"), "online status"))[0]!.system,
        "online",
      );
    },
  );

  await t.step(
    "malformed frames arrive as sent and parse as malformed",
    async () => {
      await using ws = await TestSocket.open(h.sim.wsPublicUrl);
      await ws.next(isPush("status"), "status");
      assert.equal(h.sim.ws.faults.sendMalformed(5), 5);
      const frames = await ws.sync();
      assert.equal(frames.length, 5);
      for (const text of frames) {
        const kind = parseWsFrame(text).kind;
        assert.ok(
          kind === "malformed" || kind === "book",
          `${JSON.stringify(text)} parsed as ${kind}`,
        );
      }
    },
  );
});

Deno.test("the auth endpoint serves executions and balances only with a valid token", async (t) => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsAuthUrl);
  await ws.next(isPush("status"), "status");

  await t.step(
    "an unknown token is refused with EAPI:Invalid token",
    async () => {
      ws.send({
        method: "subscribe",
        params: { channel: "executions", token: "not-a-token" },
        req_id: 1,
      });
      const reject = await ws.next((f) => f.req_id === "1", "reject");
      assert.equal(reject.success, false);
      assert.equal(reject.error, "EAPI:Invalid token");
    },
  );

  await t.step("a token unused for 15 minutes has expired", async () => {
    const { token } = h.sim.tokens.issue("test", h.clock.nowMs);
    h.clock.nowMs += 15 * 60_000;
    ws.send({
      method: "subscribe",
      params: { channel: "balances", token },
      req_id: 2,
    });
    const reject = await ws.next((f) => f.req_id === "2", "reject");
    assert.equal(reject.error, "EAPI:Invalid token");
  });

  let token = "";
  await t.step(
    "a fresh token gets acks, snapshots with sequence 1 and later updates",
    async () => {
      token = h.sim.tokens.issue("test", h.clock.nowMs).token;
      ws.send({
        method: "subscribe",
        params: { channel: "executions", token },
        req_id: 3,
      });
      const ack = await ws.next((f) => f.req_id === "3", "executions ack");
      assert.deepEqual(ack.result, {
        channel: "executions",
        snap_orders: true,
        snap_trades: false,
        maxratecount: "180",
      });
      const executions = await ws.next(
        isPush("executions", "snapshot"),
        "executions snapshot",
      );
      assert.equal(executions.sequence, "1");
      const open = h.sim.account.orders().filter((o) => o.status === "open");
      assert.equal(data(executions).length, open.length);
      assert.ok(data(executions).every((r) => String(r.symbol).includes("/")));

      ws.send({
        method: "subscribe",
        params: { channel: "balances", token },
        req_id: 4,
      });
      await ws.next(
        (f) => f.req_id === "4" && f.success === true,
        "balances ack",
      );
      const balances = await ws.next(
        isPush("balances", "snapshot"),
        "balances snapshot",
      );
      const usd = data(balances).find((r) => r.asset === "USD")!;
      assert.equal(
        usd.balance,
        `${h.sim.account.balance("ZUSD") / 10_000n}.${
          String(h.sim.account.balance("ZUSD") % 10_000n).padStart(4, "0")
        }`,
      );

      h.sim.account.deposit("ZUSD", 1_000_000n, h.clock.nowMs);
      const update = await ws.next(
        isPush("balances", "update"),
        "balances update",
      );
      assert.equal(update.sequence, "2");
      assert.equal(data(update)[0]!.amount, "100.0000");
      assert.ok(
        !ws.frames.some((f) => f.includes(token)),
        "the token never comes back",
      );
    },
  );

  await t.step(
    "the token stays valid on its connection after 15 minutes",
    async () => {
      h.clock.nowMs += 30 * 60_000;
      ws.send({
        method: "unsubscribe",
        params: { channel: "balances", token },
        req_id: 5,
      });
      const answer = await ws.next((f) => f.req_id === "5", "unsubscribe");
      assert.equal(answer.success, true);
    },
  );
});

Deno.test("ticker with event_trigger bbo follows the book's best bid and ask", async () => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  const books = new BookSet();
  books.track("BTC/USD");
  ws.send({
    method: "subscribe",
    params: { channel: "book", symbol: ["BTC/USD"] },
  });
  ws.send({
    method: "subscribe",
    params: { channel: "ticker", symbol: ["BTC/USD"], event_trigger: "bbo" },
  });
  const ack = await ws.next(isAck("ticker", "BTC/USD"), "ticker ack");
  assert.equal((ack.result as Json).event_trigger, "bbo");
  for (const text of ws.frames) {
    if (parseWsFrame(text).kind === "book") {
      assert.equal(books.applyText(text).kind, "applied");
    }
  }
  let checked = 0;
  for (let i = 0; i < 120; i++) {
    h.step(2_000);
    let latest: Json | undefined;
    for (const text of await ws.sync()) {
      if (parseWsFrame(text).kind === "book") {
        assert.equal(books.applyText(text).kind, "applied");
      }
      const frame = tryParse(text);
      if (frame && isPush("ticker", "update")(frame)) latest = data(frame)[0];
    }
    if (!latest) continue;
    const best = books.bestBidAsk("BTC/USD")!;
    assert.deepEqual([latest.bid, latest.bid_qty, latest.ask, latest.ask_qty], [
      best.bid,
      best.bidQty,
      best.ask,
      best.askQty,
    ]);
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} bbo updates`);
});

Deno.test("connections without subscriptions close after a minute of client silence", async () => {
  await using h = await harness();
  await using ws = await TestSocket.open(h.sim.wsPublicUrl);
  await ws.next(isPush("status"), "status");
  h.step(59_000);
  await ws.sync(); // client traffic restarts the idle time
  h.step(59_000);
  await ws.sync();
  h.step(60_000);
  const event = await ws.whenClosed();
  assert.equal(event.code, 1000);
});

Deno.test("the feed timer sends heartbeats on the real clock and stops on close", async () => {
  await using sim = await startSimulatorWithWs({
    seed: 5,
    closedOrders: 4,
    ws: { tickMs: 20, heartbeatMs: 100 },
  });
  await using ws = await TestSocket.open(sim.wsPublicUrl);
  ws.send({ method: "subscribe", params: { channel: "instrument" } });
  await ws.next((f) => f.channel === "heartbeat", "a heartbeat");
  await ws.next((f) => f.channel === "heartbeat", "a second heartbeat");
  await sim.close();
  const event = await ws.whenClosed();
  assert.equal(event.code, 1001);
});
