/**
 * Replay of recorded books (`krakked sim --replay` on a store recorded with
 * `--channels trade,book`).
 *
 * - `placeBook` against a reference: random recordings (snapshots,
 *   updates that insert, change, delete and push levels out of the depth,
 *   new streams, frames with a wrong checksum or digits the pair cannot
 *   hold), their checksums computed by core's `bookChecksum` (not the
 *   simulator's), and a plain Map model of Kraken's book rules (WS_V2.md
 *   §5.1). The tape's book at any instant, read in random order, must be
 *   the reference's last verified book, levels and change times; its
 *   counts must say what was dropped and why.
 * - The market: a replayed pair's `book()` is the recorded book (and the
 *   model's before its first frame); own fills take from recorded levels,
 *   which then refill; the ticker's best bid and ask are the recorded ones.
 * - End to end: a simulator's WS `trade` and `book` frames recorded by
 *   core's `BookRecorder` into a store (one frame with a corrupted
 *   checksum, then a fresh snapshot), read back by `--replay`'s loader and
 *   played at 4×: a WS client verifying every frame with core's `BookSet`
 *   holds, at each instant, the book `record`'s own rebuild (`bookAt`)
 *   gives for the matching recorded instant; REST `Depth` agrees; and
 *   `krakked sim --replay` says how many frames it verified.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { bookChecksum, BookSet } from "../../core/ws/book.ts";
import { loadRecording, parseSimFlags } from "../../server/cli/sim_cmd.ts";
import { bookAt } from "../../server/record/book.ts";
import { RecordStore } from "../../server/record/store.ts";
import { placeBook } from "../../server/sim/exchange/book_tape.ts";
import { resolvePair } from "../../server/sim/exchange/pairs.ts";
import { Market } from "../../server/sim/exchange/market.ts";
import type { RecordedBookFrame } from "../../server/sim/exchange/replay.ts";
import { startSimulatorWithWs } from "../../server/sim/server.ts";
import { CliHarness } from "../server/cli/_harness.ts";
import { startSimCli } from "./_sim_cli.ts";
import { BOOK_PAIRS, recordBookMarket } from "../server/record/_books.ts";
import { prng } from "../fakes/prng.ts";
import { publicCall } from "./_client.ts";

const PAIR = resolvePair("XBTUSD")!;
const PD = PAIR.pairDecimals;
const LD = PAIR.lotDecimals;

/** Units as decimal text at `decimals` (exact for the sizes used here). */
function text(units: number, decimals: number): string {
  const s = String(units).padStart(decimals + 1, "0");
  return decimals === 0 ? s : `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

/** A side of the reference book: price units → [qty units, updated µs]. */
type RefSide = Map<number, [number, number]>;

/** Levels best first, truncated: `[price, qty, updatedUs]` triples. */
function sorted(side: RefSide, ask: boolean, depth: number): number[] {
  const prices = [...side.keys()].sort((a, b) => (ask ? a - b : b - a));
  for (const p of prices.slice(depth)) side.delete(p);
  return prices.slice(0, depth).flatMap((p) => [p, ...side.get(p)!]);
}

interface Generated {
  frames: RecordedBookFrame[];
  /** The book replay must show after each frame (`undefined`: none yet). */
  views: ({ asks: number[]; bids: number[] } | undefined)[];
  counts: {
    verified: number;
    mismatched: number;
    skipped: number;
    malformed: number;
  };
}

/**
 * A random recording of one pair at `depth`, and what a replay of it must
 * show after each frame.
 */
function generate(
  seed: number,
  count: number,
  depth: number,
  faults = true,
): Generated {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const truth = { asks: new Map() as RefSide, bids: new Map() as RefSide };
  const frames: RecordedBookFrame[] = [];
  const views: Generated["views"] = [];
  const counts = { verified: 0, mismatched: 0, skipped: 0, malformed: 0 };
  let view: Generated["views"][number];
  let stream = 1;
  let synced = false;
  // Asks above 970000 ticks, bids at or below: the book never crosses.
  const askPrice = () => 970_001 + int(4 * depth);
  const bidPrice = () => 970_000 - int(4 * depth);
  const qty = () => 1 + int(5_000_000_000);
  for (let i = 0; i < count; i++) {
    const timeUs = 5_000_000 + i * 1000;
    if (faults && i > 0 && rand() < 0.02) {
      stream++;
      synced = false;
    }
    const snapshot = i === 0 || rand() < 0.08;
    const bids: { price: string; qty: string }[] = [];
    const asks: { price: string; qty: string }[] = [];
    const changes: [boolean, number, number][] = [];
    if (snapshot) {
      truth.asks.clear();
      truth.bids.clear();
      for (let k = 0; k < depth; k++) {
        changes.push([true, askPrice(), qty()], [false, bidPrice(), qty()]);
      }
    } else {
      for (let k = 1 + int(4); k > 0; k--) {
        const ask = rand() < 0.5;
        const side = ask ? truth.asks : truth.bids;
        const existing = [...side.keys()];
        const r = rand();
        if (r < 0.3 && existing.length > 0) {
          changes.push([ask, existing[int(existing.length)]!, 0]);
        } else if (r < 0.6 && existing.length > 0) {
          changes.push([ask, existing[int(existing.length)]!, qty()]);
        } else {
          changes.push([ask, ask ? askPrice() : bidPrice(), qty()]);
        }
      }
    }
    for (const [ask, price, q] of changes) {
      (ask ? asks : bids).push({ price: text(price, PD), qty: text(q, LD) });
    }
    // One frame in 50 carries digits the pair cannot hold: dropped whole.
    const malformed = faults && !snapshot && rand() < 0.02;
    if (malformed) bids.push({ price: text(970_000, PD) + "5", qty: "1" });
    if (!malformed) {
      for (const [ask, price, q] of changes) {
        const side = ask ? truth.asks : truth.bids;
        if (q === 0) side.delete(price);
        else side.set(price, [q, timeUs]);
      }
    }
    const a = sorted(truth.asks, true, depth);
    const b = sorted(truth.bids, false, depth);
    const level = (l: number[], k: number) =>
      [text(l[k]!, PD), text(l[k + 1]!, LD)] as const;
    const top = (l: number[]) =>
      Array.from(
        { length: Math.min(10, l.length / 3) },
        (_, k) => level(l, k * 3),
      );
    let checksum = bookChecksum(top(a), top(b));
    const corrupt = faults && rand() < 0.015;
    if (corrupt) checksum = (checksum ^ 0x1234) >>> 0;
    frames.push({
      type: snapshot ? "snapshot" : "update",
      timeUs,
      stream: `run:${stream}`,
      depth,
      checksum,
      bids,
      asks,
    });
    if (!snapshot && !synced) counts.skipped++;
    else if (malformed) {
      counts.malformed++;
      synced = false;
    } else if (corrupt) {
      counts.mismatched++;
      synced = false;
    } else {
      counts.verified++;
      synced = true;
      view = { asks: a, bids: b };
    }
    views.push(view);
  }
  return { frames, views, counts };
}

Deno.test("placeBook: the book at any instant is the last verified recorded book, in any reading order", async (t) => {
  for (const [seed, depth] of [[1, 10], [2, 10], [3, 25], [4, 10]] as const) {
    await t.step(`seed ${seed}, depth ${depth}`, () => {
      const { frames, views, counts } = generate(seed, 3000, depth);
      assert.ok(counts.mismatched > 0 && counts.skipped > 0, "faults drawn");
      assert.ok(counts.malformed > 0, "malformed frames drawn");
      const speed = 2;
      const originUs = frames[0]!.timeUs;
      const startMs = 10_000;
      const { tape, counts: got } = placeBook(PAIR, frames, {
        originUs,
        startMs,
        speed,
      });
      assert.deepEqual(got, { frames: frames.length, ...counts });
      assert.equal(tape.length, counts.verified);
      const simUs = (i: number) =>
        startMs * 1000 + Math.floor((frames[i]!.timeUs - originUs) / speed);
      assert.equal(tape.at(simUs(0) - 1), undefined, "nothing before");
      // Random instants, forward, backward and far jumps over checkpoints.
      const rand = prng(seed * 7919);
      const order = [
        ...Array.from(
          { length: 400 },
          () => Math.floor(rand() * frames.length),
        ),
        ...Array.from({ length: 200 }, (_, k) => k * 10),
        frames.length - 1,
        0,
      ];
      for (const i of order) {
        const want = views[i];
        // At the frame's instant, and just before the next one.
        for (const atUs of [simUs(i), simUs(i) + 499]) {
          const book = tape.at(atUs);
          if (want === undefined) {
            assert.equal(book, undefined, `frame ${i}: no verified book yet`);
            continue;
          }
          // Change times on the simulator clock, as the tape keeps them.
          const onClock = (l: number[]) =>
            l.map((v, k) =>
              k % 3 === 2
                ? startMs * 1000 + Math.floor((v - originUs) / speed)
                : v
            );
          assert.deepEqual(
            [...book!.asks],
            onClock(want.asks),
            `frame ${i} asks at ${atUs}`,
          );
          assert.deepEqual(
            [...book!.bids],
            onClock(want.bids),
            `frame ${i} bids at ${atUs}`,
          );
          assert.deepEqual(tape.topAt(atUs), {
            bestBid: want.bids[0],
            bestAsk: want.asks[0],
          });
        }
      }
    });
  }
});

Deno.test("placeBook: a new stream's updates wait for its snapshot; a bad speed is refused, a bad depth dropped, a deeper run kept", () => {
  const level = (price: string, qty: string) => ({ price, qty });
  const snap = (stream: string, timeUs: number, price: string) => {
    const asks = [level(price, "1.00000000")];
    const bids = [level("96000.0", "2.00000000")];
    return {
      type: "snapshot" as const,
      timeUs,
      stream,
      depth: 10,
      checksum: bookChecksum(asks, bids),
      bids,
      asks,
    };
  };
  const frames: RecordedBookFrame[] = [
    snap("a", 1_000, "97000.0"),
    // A new socket: its update before its snapshot has nothing under it.
    {
      type: "update",
      timeUs: 2_000,
      stream: "b",
      depth: 10,
      checksum: 0,
      bids: [],
      asks: [level("97000.0", "0.00000000")],
    },
    snap("b", 3_000, "97001.0"),
  ];
  const { tape, counts } = placeBook(PAIR, frames, {
    originUs: 1_000,
    startMs: 0,
    speed: 1,
  });
  assert.deepEqual(counts, {
    frames: 3,
    verified: 2,
    mismatched: 0,
    skipped: 1,
    malformed: 0,
  });
  assert.equal(tape.at(1_500)!.asks[0], 970_000, "held through the gap");
  assert.equal(tape.at(2_000)!.asks[0], 970_010);
  // Frames that arrive out of order play at the time of the one before.
  const late = placeBook(PAIR, [frames[2]!, { ...frames[0]!, stream: "b" }], {
    originUs: 1_000,
    startMs: 0,
    speed: 1,
  });
  assert.equal(late.counts.verified, 2);
  assert.equal(late.tape.at(2_000)!.asks[0], 970_000);
  assert.throws(
    () => placeBook(PAIR, frames, { originUs: 0, startMs: 0, speed: 0 }),
    RangeError,
  );
  // A depth Kraken does not offer: that frame is malformed, not a crash.
  assert.deepEqual(
    placeBook(PAIR, [{ ...frames[0]!, depth: 12 }, frames[2]!], {
      originUs: 0,
      startMs: 0,
      speed: 1,
    }).counts,
    { frames: 2, verified: 1, mismatched: 0, skipped: 0, malformed: 1 },
  );
  // A later run subscribed deeper: each frame truncates at its own depth.
  const deep = (
    stream: string,
    timeUs: number,
    depth: number,
    count: number,
  ): RecordedBookFrame => {
    const asks = Array.from(
      { length: count },
      (_, k) => level(text(970_001 + k, PD), "1.00000000"),
    );
    const bids = Array.from(
      { length: count },
      (_, k) => level(text(970_000 - k, PD), "1.00000000"),
    );
    return {
      type: "snapshot",
      timeUs,
      stream,
      depth,
      checksum: bookChecksum(asks, bids),
      bids,
      asks,
    };
  };
  const mixed = placeBook(PAIR, [
    deep("a", 1_000, 10, 10),
    deep("b", 2_000, 25, 25),
  ], {
    originUs: 1_000,
    startMs: 0,
    speed: 1,
  });
  assert.equal(mixed.counts.verified, 2);
  assert.equal(mixed.tape.depth, 25);
  assert.equal(mixed.tape.at(0)!.asks.length / 3, 10);
  assert.equal(mixed.tape.at(1_000)!.asks.length / 3, 25);
});

Deno.test("Market with a replayed book: book, ticker and own fills follow the recorded levels", () => {
  const { frames } = generate(11, 400, 10, false);
  const released: string[] = [];
  let now = Date.UTC(2026, 0, 5, 9);
  const startMs = now + 1000;
  const tradeTimeUs = frames[0]!.timeUs;
  const market = new Market({
    seed: 5,
    now: () => now,
    replay: {
      // Trades and books spell the pair differently: still one pair.
      source: {
        release: () => released.push("trades"),
        symbols: ["XBTUSD"],
        trades: () => [{
          tradeId: 100,
          price: "97000.0",
          qty: "0.10000000",
          side: "buy",
          ordType: "market",
          timeUs: tradeTimeUs,
        }],
      },
      books: {
        symbols: ["BTC/USD"],
        frames: () => frames,
        release: () => released.push("books"),
      },
      startMs,
    },
  });
  // The sources may drop their data: the market keeps its own tapes.
  assert.deepEqual(released.sort(), ["books", "trades"]);
  assert.deepEqual([...market.replayedTrades], [["BTC/USD", 1]]);
  const counts = market.replayedBooks.get("BTC/USD")!;
  assert.deepEqual(counts, {
    frames: 400,
    verified: 400,
    mismatched: 0,
    skipped: 0,
    malformed: 0,
  });
  const { tape } = placeBook(PAIR, frames, {
    originUs: tradeTimeUs,
    startMs,
    speed: 1,
  });
  // Before the first frame plays: the model's book around the first trade.
  const early = market.book("XBTUSD", { depth: 10, atMs: startMs - 1 });
  assert.ok(early.asks.length === 10 && early.bids.length === 10);
  // At each later instant: the recorded book, as text at the pair's digits.
  for (const ms of [0, 1, 57, 133, 250, 399]) {
    const atMs = startMs + ms;
    const want = tape.at(atMs * 1000 + 999)!;
    const got = market.book("XBTUSD", { depth: 5, atMs });
    assert.deepEqual(
      got.asks.map((l) => [l.priceUnits, l.qtyUnits, l.price, l.qty]),
      Array.from({ length: Math.min(5, want.asks.length / 3) }, (_, k) => [
        want.asks[k * 3],
        want.asks[k * 3 + 1],
        text(want.asks[k * 3]!, PD),
        text(want.asks[k * 3 + 1]!, LD),
      ]),
      `asks at +${ms} ms`,
    );
    assert.deepEqual(
      got.bids.map((l) => l.priceUnits),
      Array.from(
        { length: Math.min(5, want.bids.length / 3) },
        (_, k) => want.bids[k * 3],
      ),
    );
    const ticker = market.ticker("XBTUSD", atMs);
    assert.equal(ticker.ask.priceUnits, want.asks[0]);
    assert.equal(ticker.bid.priceUnits, want.bids[0]);
  }
  // The recorded trade is the pair's last trade: one pair, both tapes.
  assert.equal(market.ticker("XBTUSD", startMs + 399).last.tradeId, 100);
  // An own buy takes from the best recorded ask; the level then refills.
  now = startMs + 399;
  const before = market.book("XBTUSD", { depth: 10 }).asks[0]!;
  const take = Math.floor(before.qtyUnits / 2);
  market.recordTrade("XBTUSD", {
    priceUnits: before.priceUnits,
    volumeUnits: take,
    side: "b",
    orderType: "m",
  });
  const after = market.book("XBTUSD", { depth: 10 }).asks[0]!;
  assert.equal(after.priceUnits, before.priceUnits);
  assert.equal(after.qtyUnits, before.qtyUnits - take);
  assert.ok(after.updatedMs >= now);
  const later = market.book("XBTUSD", { depth: 10, atMs: now + 3_600_000 });
  assert.equal(later.asks[0]!.qtyUnits, before.qtyUnits, "refilled");
  // Taking the whole level: the next recorded level is the best ask.
  market.recordTrade("XBTUSD", {
    priceUnits: before.priceUnits,
    volumeUnits: before.qtyUnits,
    side: "b",
    orderType: "m",
  });
  const emptied = market.book("XBTUSD", { depth: 10 });
  assert.ok(emptied.asks[0]!.priceUnits > before.priceUnits);
  assert.equal(
    emptied.asks.length,
    Math.min(9, tape.at(now * 1000)!.asks.length / 3),
  );
});

const REC_PAIRS = BOOK_PAIRS;

/**
 * REST `Depth` levels against a book: the same prices, and volumes equal
 * at Depth's 3 decimals (docs/kraken: `Depth` rounds volume).
 */
function sameDepth(rest: string[][], book: { price: string; qty: string }[]) {
  assert.deepEqual(
    rest.map((l) => Number(l[0])),
    book.map((l) => Number(l.price)),
  );
  for (let i = 0; i < book.length; i++) {
    assert.ok(
      Math.abs(Number(rest[i]![1]) - Number(book[i]!.qty)) <= 0.0005,
      `volume ${rest[i]![1]} vs ${book[i]!.qty}`,
    );
  }
}

/** Levels as numbers, to compare texts of different paddings. */
function numeric(
  levels: readonly { price: string; qty: string }[],
): number[][] {
  return levels.map((l) => [Number(l.price), Number(l.qty)]);
}

Deno.test({
  name:
    "replay: a recorded book plays on WS book and REST Depth, verified frame by frame, equal to the store's own rebuild",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_book_" });
    try {
      const path = join(dir, "market.duckdb");
      const originUs = await recordBookMarket(path);
      const { trades, books } = await loadRecording(path);
      assert.deepEqual([...books.symbols].sort(), ["BTC/USD", "ETH/USD"]);

      const speed = 4;
      let now = Date.UTC(2026, 0, 5, 9);
      const startMs = now + 1000;
      await using sim = await startSimulatorWithWs({
        seed: 3,
        now: () => now,
        replay: { source: trades, books, speed },
        ws: { tickMs: 0 },
      });
      const counts = sim.market.replayedBooks;
      assert.equal(counts.get("ETH/USD")!.mismatched, 0);
      assert.equal(counts.get("ETH/USD")!.skipped, 0);
      // The corrupted update fails the simulator's own check, and the
      // updates after it wait for the next snapshot.
      assert.equal(counts.get("BTC/USD")!.mismatched, 1);
      assert.ok(counts.get("BTC/USD")!.skipped >= 1);

      // A client that checks every frame with core's book code.
      const client = new BookSet({ defaultDepth: 10 });
      for (const [symbol] of REC_PAIRS) {
        const pair = resolvePair(symbol)!;
        client.track(symbol, {
          priceDecimals: pair.pairDecimals,
          qtyDecimals: pair.lotDecimals,
        });
      }
      const problems: string[] = [];
      let acks = 0;
      let wake: (() => void) | undefined;
      const socket = new WebSocket(sim.wsPublicUrl);
      socket.onmessage = (e) => {
        const text = e.data as string;
        const msg = JSON.parse(text);
        if (msg.channel === "book") {
          for (const r of client.applyTextAll(text)) {
            if (r.kind !== "applied") problems.push(JSON.stringify(r));
          }
        }
        if (msg.method === "pong" || msg.method === "subscribe") acks++;
        wake?.();
      };
      await new Promise((resolve) => (socket.onopen = resolve));
      const closed = new Promise((resolve) => (socket.onclose = resolve));
      const barrier = async (message: unknown, want: number) => {
        socket.send(JSON.stringify(message));
        while (acks < want) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 100);
          });
        }
      };
      let compared = 0;
      try {
        await barrier({
          method: "subscribe",
          params: {
            channel: "book",
            symbol: REC_PAIRS.map(([s]) => s),
            depth: 10,
          },
        }, 2);
        await using store = await RecordStore.open(path);
        // Five recorded minutes at 4×: 75 s from 1 s after start-up.
        for (let i = 1; i <= 780; i++) {
          now += 100;
          sim.ws.tick();
          if (i % 60 !== 0) continue;
          await barrier({ method: "ping", req_id: i }, acks + 1);
          const recordedUs = originUs +
            ((now - startMs) * 1000 + 999) * speed;
          for (const [symbol, key] of REC_PAIRS) {
            const want = await bookAt(store, symbol, recordedUs);
            const got = client.top(symbol);
            assert.ok(got, `${symbol}: the client's book is verified`);
            if (want.integrity !== "ok") continue;
            assert.deepEqual(
              { bids: numeric(got.bids), asks: numeric(got.asks) },
              { bids: numeric(want.bids), asks: numeric(want.asks) },
              `${symbol} at +${now - startMs} ms`,
            );
            const depth = (await publicCall(sim.url, "Depth", {
              pair: key,
              count: "10",
            })).result[key] as { bids: string[][]; asks: string[][] };
            sameDepth(depth.asks, want.asks);
            sameDepth(depth.bids, want.bids);
            compared++;
          }
        }
      } finally {
        socket.close();
        await closed;
      }
      assert.deepEqual(problems, [], "every book frame verified");
      assert.ok(compared >= 20, `instants compared: ${compared}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "krakked sim --replay STORE plays the recorded book and says how many frames it verified",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using h = await CliHarness.start({ restUrl: "http://127.0.0.1:9" });
    const path = join(h.dir, "market.duckdb");
    await recordBookMarket(path);
    await using sim = await startSimCli(h, [
      "--port",
      "0",
      "--replay",
      path,
      "--speed",
      "1000",
    ]);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const url = sim.url;
    const out = sim.output();
    assert.match(
      out,
      /Book: +ETH\/USD: (\d+) of \1 recorded frames verified\n/,
    );
    assert.match(
      out,
      /Book: +BTC\/USD: \d+ of \d+ recorded frames verified \(1 failed their checksum, \d+ had no verified book under them, 0 malformed: dropped\)/,
    );
    // Five recorded minutes at 1000× play within 0.3 s, 1 s after start:
    // then REST Depth is the last recorded book.
    await using store = await RecordStore.open(path);
    const last = await bookAt(store, "ETH/USD", Number.MAX_SAFE_INTEGER);
    let depth: { asks: string[][]; bids: string[][] } | undefined;
    for (let i = 0; i < 10; i++) {
      await pause(400);
      const answer = await publicCall(url, "Depth", {
        pair: "XETHZUSD",
        count: "10",
      });
      depth = answer.result.XETHZUSD;
      const prices = (l: { price: string }[] | string[][]) =>
        JSON.stringify(l.map((x) => Number("price" in x ? x.price : x[0])));
      if (prices(depth!.asks) === prices(last.asks)) break;
    }
    sameDepth(depth!.asks, last.asks);
    sameDepth(depth!.bids, last.bids);
  },
});

Deno.test({
  name:
    "replay window: --from/--to load only the window, and each book starts from the last stored snapshot before it",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_window_" });
    try {
      const path = join(dir, "market.duckdb");
      const originUs = await recordBookMarket(path);
      const fromUs = originUs + 130e6;
      const toUs = originUs + 200e6;
      const all = await loadRecording(path);
      const window = await loadRecording(path, { fromUs, toUs });
      await using store = await RecordStore.open(path);
      for (const [symbol] of REC_PAIRS) {
        // Trades: exactly those traded in the window.
        const want = all.trades.trades(symbol).filter((t) =>
          t.timeUs >= fromUs && t.timeUs < toUs
        );
        assert.ok(
          want.length > 5,
          `${symbol}: trades in the window (${want.length})`,
        );
        assert.deepEqual(window.trades.trades(symbol), want);
        // Books: a stored snapshot taken at or before the window, then
        // every frame after it, none received at or after its end.
        const frames = window.books.frames(symbol);
        assert.equal(frames[0]!.type, "snapshot");
        assert.ok(frames[0]!.timeUs <= fromUs);
        assert.ok(frames[0]!.timeUs > fromUs - 30e6, "the last snapshot");
        assert.ok(frames.every((f) => f.timeUs < toUs));
        assert.ok(
          frames.length < all.books.frames(symbol).length / 3,
          "only the window is loaded",
        );
        // Played on a clock equal to the recorded one, the book at every
        // instant of the window is the store's own rebuild.
        const pair = resolvePair(symbol)!;
        const { tape, counts } = placeBook(pair, frames, {
          originUs: 0,
          startMs: 0,
          speed: 1,
        });
        assert.equal(counts.verified, frames.length, JSON.stringify(counts));
        const scale = (units: number, decimals: number) =>
          units / 10 ** decimals;
        for (let atUs = fromUs; atUs < toUs; atUs += 7_300_000) {
          const got = tape.at(atUs)!;
          const book = await bookAt(store, symbol, atUs);
          assert.equal(book.integrity, "ok");
          for (
            const [side, levels] of [["asks", got.asks], [
              "bids",
              got.bids,
            ]] as const
          ) {
            assert.deepEqual(
              Array.from({ length: levels.length / 3 }, (_, k) => [
                scale(levels[k * 3]!, pair.pairDecimals),
                scale(levels[k * 3 + 1]!, pair.lotDecimals),
              ]),
              numeric(book[side]),
              `${symbol} ${side} at ${atUs}`,
            );
          }
        }
      }
      // A window with nothing in it.
      const empty = await loadRecording(path, {
        fromUs: originUs - 3_600e6,
        toUs: originUs - 1_800e6,
      });
      assert.deepEqual([empty.trades.symbols, empty.books.symbols], [[], []]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("sim flags: --from and --to", () => {
  assert.deepEqual(
    parseSimFlags([
      "--replay",
      "m.duckdb",
      "--from",
      "2025-06-15T12:02:00Z",
      "--to",
      "1749989100",
    ]),
    {
      kind: "sim",
      control: true,
      replay: "m.duckdb",
      from: Date.UTC(2025, 5, 15, 12, 2) / 1000,
      to: 1749989100,
    },
  );
  const problem = (args: string[]) => {
    const parsed = parseSimFlags(args);
    assert.equal(parsed.kind, "usage_error", JSON.stringify(parsed));
    return (parsed as { message: string }).message;
  };
  assert.match(problem(["--from", "2025-01-01"]), /only apply to --replay/);
  assert.match(
    problem(["--replay", "m", "--from", "2025-01-02", "--to", "2025-01-01"]),
    /--from must be before --to/,
  );
  assert.match(
    problem(["--replay", "m", "--to", "soon"]),
    /--to: Invalid date/,
  );
});

Deno.test({
  name:
    "krakked orderbook, once and --watch, shows a replayed book: the store's last recorded book",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_cli_" });
    try {
      const path = join(dir, "market.duckdb");
      await recordBookMarket(path);
      const { trades, books } = await loadRecording(path);
      let last: Awaited<ReturnType<typeof bookAt>>;
      {
        await using store = await RecordStore.open(path);
        last = await bookAt(store, "ETH/USD", Number.MAX_SAFE_INTEGER);
      }
      // Five recorded minutes at 1000× play within 0.3 s, 1 s after start.
      await using h = await CliHarness.start({
        sim: { replay: { source: trades, books, speed: 1000 } },
        ws: true,
      });
      await new Promise((r) => setTimeout(r, 1_500));
      const once = await h.run(["orderbook", "ETH/USD", "--json"]);
      assert.equal(once.code, 0, once.stderr);
      // From REST Depth, whose volumes have 3 decimals.
      const got = JSON.parse(once.stdout) as {
        bids: { price: string; qty: string }[];
        asks: { price: string; qty: string }[];
      };
      const rows = (l: { price: string; qty: string }[]) =>
        l.map((x) => [x.price, x.qty]);
      sameDepth(rows(got.bids), last.bids);
      sameDepth(rows(got.asks), last.asks);
      // The WS book channel, each frame checked by the client's checksum.
      const watch = await h.run([
        "orderbook",
        "ETH/USD",
        "--watch",
        "--updates",
        "1",
        "--json",
      ]);
      assert.equal(watch.code, 0, watch.stderr);
      const streamed = JSON.parse(watch.stdout.trim().split("\n")[0]!);
      assert.deepEqual(
        { bids: numeric(streamed.bids), asks: numeric(streamed.asks) },
        { bids: numeric(last.bids), asks: numeric(last.asks) },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Market with a recorded book and no recorded trades: the book plays, the tape stays empty", () => {
  const { frames } = generate(12, 200, 10, false);
  let now = Date.UTC(2026, 0, 5, 9);
  const startMs = now + 1000;
  const market = new Market({
    seed: 5,
    now: () => now,
    replay: {
      source: { symbols: [], trades: () => [] },
      books: { symbols: ["BTC/USD"], frames: () => frames },
      startMs,
    },
  });
  now = startMs + 150;
  const { tape } = placeBook(PAIR, frames, {
    originUs: frames[0]!.timeUs,
    startMs,
    speed: 1,
  });
  const want = tape.at(now * 1000 + 999)!;
  const book = market.book("XBTUSD", { depth: 3 });
  assert.deepEqual(
    book.asks.map((l) => l.priceUnits),
    [want.asks[0], want.asks[3], want.asks[6]],
  );
  assert.equal(market.ticker("XBTUSD").bid.priceUnits, want.bids[0]);
  // No public trades: `last` sits at the first verified book's best bid.
  assert.deepEqual(market.tradesBetween("XBTUSD", startMs - 60_000, now), []);
  const first = tape.at(tape.firstUs!)!;
  assert.equal(market.ticker("XBTUSD").last.priceUnits, first.bids[0]);
  // Other pairs keep the model.
  assert.ok(market.tradesBetween("ETHUSD", now - 3_600_000, now).length > 0);
});
