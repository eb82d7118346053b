/**
 * Replay of recorded L2 books (`krakked sim --replay <store>` on a store
 * recorded with `--channels trade,book`): a pair's recorded WS v2 `book`
 * frames, checked with the simulator's own book rules and checksum, placed
 * on the simulator clock, and the book at any instant read back from them.
 *
 * Loading ({@linkcode BookTapeBuilder}, or {@linkcode placeBook} for an
 * array of frames) follows docs/kraken/WS_V2.md §5.1 with
 * the simulator's code, never the client's or the recorder's (the recorder
 * is what is being replayed; it must not vouch for itself):
 *
 * 1. a `snapshot` replaces both sides; an `update` applies its levels in
 *    order (quantity zero deletes the level), then each side is truncated
 *    to the subscribed depth;
 * 2. the book's checksum (the CRC-32 of `../ws/checksum.ts` over the top 10
 *    levels at the pair's precisions, as the simulator sends them) must
 *    equal the checksum Kraken sent with the frame;
 * 3. a frame that fails, and every update after it, is dropped until the
 *    next snapshot, as a client would resubscribe; so are a new stream's
 *    (socket's) updates before its first snapshot. Until then the replayed
 *    book stays at its last verified state.
 *
 * Only verified frames are kept, as flat arrays (time, level changes), with
 * the whole book copied every {@linkcode BookTape.checkpointEvery} frames,
 * so {@linkcode BookTape.at} reaches any instant by applying at most that
 * many frames (and none when time only moves forward, as a stream's does).
 *
 * @module
 */

import type { SimPair } from "./pairs.ts";
import type { RecordedBookFrame } from "./replay.ts";
import { CHECKSUM_DEPTH, crc32 } from "../ws/checksum.ts";

/** One side of a book: `[price, qty, updatedUs]` triples, best first. */
type Side = number[];

/** Counts of {@linkcode placeBook}: what was kept and what was not. */
export interface BookTapeCounts {
  /** Recorded frames read. */
  readonly frames: number;
  /** Frames kept: applied and checked against their checksum. */
  readonly verified: number;
  /** Frames whose checksum differed from the book after them. */
  readonly mismatched: number;
  /**
   * Frames dropped without a check: updates with no verified book under
   * them (a new stream before its snapshot, or after a mismatch).
   */
  readonly skipped: number;
  /** Frames with a level the pair's precisions cannot hold. */
  readonly malformed: number;
}

/** A book read from a tape: levels as units, best first, with change times. */
export interface TapeBook {
  /** Asks, lowest first: `[price, qty, updatedUs]` triples. */
  readonly asks: readonly number[];
  /** Bids, highest first: `[price, qty, updatedUs]` triples. */
  readonly bids: readonly number[];
}

const SIDE_ASK = 0;
const SIDE_BID = 1;

/** Insert, replace or delete one level of a side (asks ascending, bids descending). */
function applyLevel(
  side: Side,
  ask: boolean,
  price: number,
  qty: number,
  atUs: number,
): void {
  let lo = 0;
  let hi = side.length / 3;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = side[mid * 3]!;
    if (ask ? p < price : p > price) lo = mid + 1;
    else hi = mid;
  }
  const at = lo * 3;
  const found = at < side.length && side[at] === price;
  if (qty === 0) {
    if (found) side.splice(at, 3);
  } else if (found) {
    side[at + 1] = qty;
    side[at + 2] = atUs;
  } else {
    side.splice(at, 0, price, qty, atUs);
  }
}

/** Truncate a side to `depth` levels. */
function truncate(side: Side, depth: number): void {
  if (side.length > depth * 3) side.length = depth * 3;
}

/**
 * A pair's verified recorded book frames on the simulator clock. Build it
 * with {@linkcode BookTapeBuilder} or {@linkcode placeBook}.
 */
export class BookTape {
  /** The deepest subscribed depth of the recording (levels per side at most). */
  readonly depth: number;
  /** Frames between whole-book copies. */
  readonly checkpointEvery: number;
  /** Simulator time of each kept frame, µs (non-decreasing). */
  readonly #times: Float64Array;
  /** 1 where the frame is a snapshot (replaces both sides). */
  readonly #replaces: Uint8Array;
  /** Each frame's subscribed depth (a run may resubscribe at another). */
  readonly #depths: Uint16Array;
  /** Frame `i`'s changes are `#changes[#starts[i] … #starts[i+1])`. */
  readonly #starts: Uint32Array;
  /** `[side, price, qty]` triples of every kept frame, in order. */
  readonly #changes: Float64Array;
  /** Best bid and best ask after each frame (`NaN` for an empty side). */
  readonly #tops: Float64Array;
  /** The book after frame `k · checkpointEvery`, for each `k`. */
  readonly #checkpoints: { asks: Side; bids: Side }[];
  /** The book after frame `#cursor` (−1: before the first). */
  #asks: Side = [];
  #bids: Side = [];
  #cursor = -1;

  /** @internal Use {@linkcode BookTapeBuilder}. */
  constructor(parts: {
    depth: number;
    checkpointEvery: number;
    times: Float64Array;
    replaces: Uint8Array;
    depths: Uint16Array;
    starts: Uint32Array;
    changes: Float64Array;
    tops: Float64Array;
    checkpoints: { asks: Side; bids: Side }[];
  }) {
    this.depth = parts.depth;
    this.checkpointEvery = parts.checkpointEvery;
    this.#times = parts.times;
    this.#replaces = parts.replaces;
    this.#depths = parts.depths;
    this.#starts = parts.starts;
    this.#changes = parts.changes;
    this.#tops = parts.tops;
    this.#checkpoints = parts.checkpoints;
  }

  /** Kept frames. */
  get length(): number {
    return this.#times.length;
  }

  /** Simulator time of the first kept frame, µs (`undefined` when none). */
  get firstUs(): number | undefined {
    return this.#times.length > 0 ? this.#times[0] : undefined;
  }

  /** Index of the last kept frame at or before `atUs` (−1 when none). */
  #indexAt(atUs: number): number {
    const times = this.#times;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! <= atUs) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * Best bid and ask at an instant (`undefined` before the first frame or
   * when a side is empty): from a per-frame table, with no book rebuilt.
   *
   * @param atUs Simulator time, µs.
   * @returns Prices in ticks.
   */
  topAt(atUs: number): { bestBid: number; bestAsk: number } | undefined {
    const i = this.#indexAt(atUs);
    if (i < 0) return undefined;
    const bestBid = this.#tops[i * 2]!;
    const bestAsk = this.#tops[i * 2 + 1]!;
    if (Number.isNaN(bestBid) || Number.isNaN(bestAsk)) return undefined;
    return { bestBid, bestAsk };
  }

  /**
   * The book at an instant: every kept frame at or before it applied.
   * The arrays are the tape's own (valid until the next call; do not
   * change them).
   *
   * @param atUs Simulator time, µs.
   * @returns The book, or `undefined` before the first frame.
   */
  at(atUs: number): TapeBook | undefined {
    const target = this.#indexAt(atUs);
    if (target < 0) return undefined;
    if (target < this.#cursor || target - this.#cursor > this.checkpointEvery) {
      const k = Math.floor(target / this.checkpointEvery);
      const copy = this.#checkpoints[k]!;
      this.#asks = copy.asks.slice();
      this.#bids = copy.bids.slice();
      this.#cursor = k * this.checkpointEvery;
    }
    while (this.#cursor < target) this.#apply(++this.#cursor);
    return { asks: this.#asks, bids: this.#bids };
  }

  #apply(i: number): void {
    applyFrame(
      this.#asks,
      this.#bids,
      this.#replaces[i] === 1,
      this.#changes,
      this.#starts[i]!,
      this.#starts[i + 1]!,
      this.#times[i]!,
      this.#depths[i]!,
    );
  }
}

/** Apply one frame's changes to a book, then truncate to the depth. */
function applyFrame(
  asks: Side,
  bids: Side,
  replace: boolean,
  changes: ArrayLike<number>,
  from: number,
  to: number,
  atUs: number,
  depth: number,
): void {
  if (replace) {
    asks.length = 0;
    bids.length = 0;
  }
  for (let c = from; c < to; c += 3) {
    const ask = changes[c] === SIDE_ASK;
    applyLevel(ask ? asks : bids, ask, changes[c + 1]!, changes[c + 2]!, atUs);
  }
  truncate(asks, depth);
  truncate(bids, depth);
}

/**
 * The checksum's text for the top 10 of a side (WS_V2.md §5.2: each price
 * and quantity at the pair's precision, `.` and leading zeros removed; see
 * `ws/checksum.ts`). For a positive number of units that text is exactly
 * the units' integer digits (`"0.00100000"` at 8 decimals → 100000 units →
 * `"100000"`), so it is built from the units directly, not formatted and
 * stripped level by level on every frame (which took half the load time).
 */
function checksumDigits(side: Side): string {
  let text = "";
  for (let i = 0, n = 0; i < side.length && n < CHECKSUM_DEPTH; i += 3, n++) {
    text += String(side[i]!) + String(side[i + 1]!);
  }
  return text;
}

/**
 * Decimal text as units of `10^-decimals`, only when it is exact there (a
 * digit beyond the pair's precision is not rounded away: the level is not
 * one the pair can have).
 */
function exactUnits(text: string, decimals: number): number | undefined {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (match === null) return undefined;
  const fraction = match[2] ?? "";
  const kept = fraction.length > decimals
    ? fraction.slice(0, decimals)
    : fraction.padEnd(decimals, "0");
  if (fraction.length > decimals && /[1-9]/.test(fraction.slice(decimals))) {
    return undefined;
  }
  const digits = match[1]! + kept;
  // Up to 15 digits a double holds the integer exactly.
  const units = digits.length <= 15 ? Number(digits) : Number(BigInt(digits));
  return Number.isSafeInteger(units) ? units : undefined;
}

/** Supported subscription depths (docs/kraken/WS_V2.md, `book`). */
const DEPTHS = new Set([10, 25, 100, 500, 1000]);

/**
 * Frames between whole-book copies for a depth: 256 doubled until it is at
 * least 16 frames a level, so a copy costs about as much as the frames it
 * saves re-applying. Powers of two, so a builder that meets a deeper run
 * keeps every other copy it has instead of re-reading its frames.
 */
function checkpointInterval(depth: number): number {
  let every = 256;
  while (every < depth * 16) every *= 2;
  return every;
}

/** The typed arrays a {@linkcode Column} can be. */
type Typed = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** A typed array's constructor. */
interface TypedType<A extends Typed> {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * Address space a column reserves at first (committed only as it is
 * written): a few hours of a busy pair's book. One that outgrows it moves
 * once to a reservation eight times larger. Small, as every column of
 * every recorded pair (a thousand with `--universe`) reserves it.
 */
const COLUMN_RESERVE = 32 * 2 ** 20;

/**
 * A typed array that grows as values are pushed, over a resizable
 * `ArrayBuffer`: growing commits pages in place, and `done` shrinks it to
 * the values, so a long recording's tape is neither copied nor held twice
 * (a copy per column at the end left the freed blocks in the allocator:
 * 80 MB of RSS for a 4-hour, 20-pair recording).
 */
class Column<A extends Typed> {
  readonly #type: TypedType<A>;
  #buffer: ArrayBuffer;
  #view: A;
  length = 0;
  constructor(type: TypedType<A>) {
    this.#type = type;
    this.#buffer = new ArrayBuffer(1024 * type.BYTES_PER_ELEMENT, {
      maxByteLength: COLUMN_RESERVE,
    });
    this.#view = new type(this.#buffer);
  }
  push(value: number): void {
    if (this.length === this.#view.length) this.#grow();
    this.#view[this.length++] = value;
  }
  #grow(): void {
    const bytes = this.#buffer.byteLength * 2;
    if (bytes <= this.#buffer.maxByteLength) {
      this.#buffer.resize(bytes);
    } else {
      const next = new ArrayBuffer(bytes, { maxByteLength: bytes * 8 });
      new Uint8Array(next).set(new Uint8Array(this.#buffer));
      this.#buffer = next;
      this.#view = new this.#type(next);
    }
  }
  /** The values pushed, exactly as long; the column is emptied. */
  done(): A {
    const bytes = this.length * this.#type.BYTES_PER_ELEMENT;
    this.#buffer.resize(bytes);
    const out = new this.#type(this.#buffer, 0, this.length);
    this.#buffer = new ArrayBuffer(0);
    this.#view = new this.#type(this.#buffer);
    this.length = 0;
    return out;
  }
}

/**
 * Builds a pair's {@linkcode BookTape} from its recorded frames one at a
 * time, in receive order, so a loader can stream a long recording through
 * it and let each frame go once pushed ({@linkcode placeBook} pushes an
 * array). Checking needs no clock: frames keep their recorded time until
 * {@linkcode BookTapeBuilder.finish} places them on the simulator's.
 *
 * @example Push and finish
 * ```ts
 * import { BookTapeBuilder } from "./book_tape.ts";
 * import { resolvePair } from "./pairs.ts";
 * const builder = new BookTapeBuilder(resolvePair("XBTUSD")!);
 * builder.push({
 *   type: "update", timeUs: 5, stream: "r:1", depth: 10, checksum: 0,
 *   bids: [], asks: [],
 * });
 * builder.finish({ originUs: 0, startMs: 0, speed: 1 }).counts.skipped; // 1
 * ```
 */
export class BookTapeBuilder {
  /** The simulator's pair the frames are checked at. */
  readonly pair: SimPair;
  #depth = 10;
  #every = checkpointInterval(10);
  #frames = 0;
  #firstUs: number | undefined;
  /** Recorded time of each kept frame, µs (made non-decreasing). */
  readonly #times = new Column(Float64Array);
  readonly #replaces = new Column(Uint8Array);
  readonly #depths = new Column(Uint16Array);
  readonly #starts = new Column(Uint32Array);
  readonly #changes = new Column(Float64Array);
  readonly #tops = new Column(Float64Array);
  /** Copies of the book (level times recorded) every `#every` kept frames. */
  #checkpoints: { asks: Side; bids: Side }[] = [];
  // The book the frames build. After every kept frame it is the tape's book:
  // a frame that fails leaves it wrong, but then the next kept frame is a
  // snapshot, which replaces it.
  readonly #asks: Side = [];
  readonly #bids: Side = [];
  #stream: string | undefined;
  #synced = false;
  #lastUs = -Infinity;
  #verified = 0;
  #mismatched = 0;
  #skipped = 0;
  #malformed = 0;
  readonly #scratch: number[] = [];
  #finished = false;

  /**
   * Start an empty tape.
   *
   * @param pair The simulator's pair (its precisions).
   */
  constructor(pair: SimPair) {
    this.pair = pair;
    this.#starts.push(0);
  }

  /** Recorded time of the first frame pushed, µs (`undefined` before one). */
  get firstUs(): number | undefined {
    return this.#firstUs;
  }

  /** Frames pushed. */
  get frames(): number {
    return this.#frames;
  }

  /**
   * Check the next recorded frame and keep it when it verifies; the frame
   * is not retained.
   *
   * @param frame The pair's next frame, in receive order.
   * @throws {Error} After {@linkcode BookTapeBuilder.finish}.
   */
  push(frame: RecordedBookFrame): void {
    if (this.#finished) throw new Error("BookTapeBuilder: already finished");
    this.#frames++;
    this.#firstUs ??= frame.timeUs;
    if (DEPTHS.has(frame.depth) && frame.depth > this.#depth) {
      this.#depth = frame.depth;
      const every = checkpointInterval(frame.depth);
      if (every !== this.#every) {
        const ratio = every / this.#every;
        this.#checkpoints = this.#checkpoints.filter((_, k) => k % ratio === 0);
        this.#every = every;
      }
    }
    if (frame.stream !== this.#stream) {
      this.#stream = frame.stream;
      this.#synced = false;
    }
    const snapshot = frame.type === "snapshot";
    if (!snapshot && !this.#synced) {
      this.#skipped++;
      return;
    }
    // Parse the frame's levels at the pair's precisions.
    const scratch = this.#scratch;
    scratch.length = 0;
    let ok = DEPTHS.has(frame.depth);
    for (
      const [side, levels] of [[SIDE_BID, frame.bids], [
        SIDE_ASK,
        frame.asks,
      ]] as const
    ) {
      for (const level of levels) {
        const price = exactUnits(level.price, this.pair.pairDecimals);
        const qty = exactUnits(level.qty, this.pair.lotDecimals);
        if (price === undefined || qty === undefined || price === 0) {
          ok = false;
          break;
        }
        scratch.push(side, price, qty);
      }
    }
    if (!ok) {
      this.#malformed++;
      this.#synced = false;
      return;
    }
    // Placing on the clock is monotonic, so making recorded times
    // non-decreasing here is making placed times so (`finish`).
    const timeUs = Math.max(frame.timeUs, this.#lastUs);
    const asks = this.#asks;
    const bids = this.#bids;
    applyFrame(
      asks,
      bids,
      snapshot,
      scratch,
      0,
      scratch.length,
      timeUs,
      frame.depth,
    );
    const sum = crc32(checksumDigits(asks) + checksumDigits(bids));
    if (sum !== frame.checksum) {
      this.#mismatched++;
      this.#synced = false;
      return;
    }
    this.#synced = true;
    this.#verified++;
    if (this.#times.length % this.#every === 0) {
      this.#checkpoints.push({ asks: asks.slice(), bids: bids.slice() });
    }
    this.#lastUs = timeUs;
    this.#times.push(timeUs);
    this.#replaces.push(snapshot ? 1 : 0);
    this.#depths.push(frame.depth);
    for (const value of scratch) this.#changes.push(value);
    this.#starts.push(this.#changes.length);
    this.#tops.push(bids.length > 0 ? bids[0]! : NaN);
    this.#tops.push(asks.length > 0 ? asks[0]! : NaN);
  }

  /**
   * Place the kept frames on the simulator clock and hand over the tape:
   * recorded receive time `t` plays at
   * `startMs·1000 + ⌊(t − originUs) / speed⌋` µs (the trades' rule, so
   * books and trades keep their relative timing), never earlier than the
   * frame before it. The builder is spent.
   *
   * @param timing `originUs` (plays at `startMs`), `startMs`, `speed`.
   * @returns The tape and what was kept (a frame with a depth Kraken does
   *   not offer counts as malformed).
   * @throws {RangeError} For a speed that is not a positive finite number.
   * @throws {Error} When called twice.
   */
  finish(
    timing: { originUs: number; startMs: number; speed: number },
  ): { tape: BookTape; counts: BookTapeCounts } {
    const { originUs, startMs, speed } = timing;
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new RangeError(`Replay speed must be a positive number: ${speed}`);
    }
    if (this.#finished) throw new Error("BookTapeBuilder: already finished");
    this.#finished = true;
    const place = (us: number) =>
      startMs * 1000 + Math.floor((us - originUs) / speed);
    const times = this.#times.done();
    for (let i = 0; i < times.length; i++) times[i] = place(times[i]!);
    for (const { asks, bids } of this.#checkpoints) {
      for (let i = 2; i < asks.length; i += 3) asks[i] = place(asks[i]!);
      for (let i = 2; i < bids.length; i += 3) bids[i] = place(bids[i]!);
    }
    const tape = new BookTape({
      depth: this.#depth,
      checkpointEvery: this.#every,
      times,
      replaces: this.#replaces.done(),
      depths: this.#depths.done(),
      starts: this.#starts.done(),
      changes: this.#changes.done(),
      tops: this.#tops.done(),
      checkpoints: this.#checkpoints,
    });
    this.#checkpoints = [];
    this.#asks.length = 0;
    this.#bids.length = 0;
    return {
      tape,
      counts: {
        frames: this.#frames,
        verified: this.#verified,
        mismatched: this.#mismatched,
        skipped: this.#skipped,
        malformed: this.#malformed,
      },
    };
  }
}

/**
 * Check a pair's recorded book frames (in receive order) with the
 * simulator's own book rules and checksum, and place the verified ones on
 * the simulator clock ({@linkcode BookTapeBuilder}, all frames at once).
 *
 * @param pair The simulator's pair (its precisions).
 * @param frames The pair's recorded frames, in receive order.
 * @param timing `originUs` (plays at `startMs`), `startMs`, `speed`.
 * @returns The tape and what was kept (a frame with a depth Kraken does not
 *   offer counts as malformed).
 * @throws {RangeError} For a speed that is not a positive finite number.
 * @example One snapshot
 * ```ts
 * import { placeBook } from "./book_tape.ts";
 * import { resolvePair } from "./pairs.ts";
 * const { counts } = placeBook(resolvePair("XBTUSD")!, [{
 *   type: "snapshot", timeUs: 0, stream: "r:1", depth: 10, checksum: 0,
 *   bids: [{ price: "97000.0", qty: "1.00000000" }],
 *   asks: [{ price: "97000.1", qty: "2.00000000" }],
 * }], { originUs: 0, startMs: 0, speed: 1 });
 * counts.mismatched; // 1: 0 is not the checksum of that book
 * ```
 */
export function placeBook(
  pair: SimPair,
  frames: readonly RecordedBookFrame[],
  timing: { originUs: number; startMs: number; speed: number },
): { tape: BookTape; counts: BookTapeCounts } {
  const builder = new BookTapeBuilder(pair);
  for (const frame of frames) builder.push(frame);
  return builder.finish(timing);
}
