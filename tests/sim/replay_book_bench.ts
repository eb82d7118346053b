/**
 * Loading a recorded book for `sim --replay`: `placeBook` over a 20,000-frame
 * depth-10 recording (a snapshot every 5,000 frames, 1–4 level changes an
 * update), against a floor that only reads every level's text into units,
 * the least any loader must do. The ratio is the figure to watch (`deno
 * bench` prints it in the group summary); reading the tape forward, as a
 * stream does, is a third line.
 */
import { bookChecksum } from "../../core/ws/book.ts";
import { placeBook } from "../../server/sim/exchange/book_tape.ts";
import { resolvePair } from "../../server/sim/exchange/pairs.ts";
import type { RecordedBookFrame } from "../../server/sim/exchange/replay.ts";
import { prng } from "../fakes/prng.ts";

const PAIR = resolvePair("XBTUSD")!;
const N = 20_000;

function text(units: number, decimals: number): string {
  const s = String(units).padStart(decimals + 1, "0");
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

function recording(): RecordedBookFrame[] {
  const rand = prng(5);
  const asks = new Map<number, number>();
  const bids = new Map<number, number>();
  const top = (side: Map<number, number>, ascending: boolean) => {
    const prices = [...side.keys()].sort((a, b) => ascending ? a - b : b - a);
    for (const p of prices.slice(10)) side.delete(p);
    return prices.slice(0, 10).map((p) =>
      [text(p, 1), text(side.get(p)!, 8)] as const
    );
  };
  const frames: RecordedBookFrame[] = [];
  for (let i = 0; i < N; i++) {
    const snapshot = i % 5_000 === 0;
    const changes: [boolean, number, number][] = [];
    if (snapshot) {
      asks.clear();
      bids.clear();
      for (let k = 0; k < 10; k++) {
        changes.push([true, 970_001 + 3 * k, 1e8], [
          false,
          970_000 - 3 * k,
          1e8,
        ]);
      }
    } else {
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) {
        const ask = rand() < 0.5;
        const price = ask
          ? 970_001 + Math.floor(rand() * 40)
          : 970_000 - Math.floor(rand() * 40);
        changes.push([
          ask,
          price,
          rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 1e9),
        ]);
      }
    }
    for (const [ask, price, qty] of changes) {
      const side = ask ? asks : bids;
      if (qty === 0) side.delete(price);
      else side.set(price, qty);
    }
    const level = ([, price, qty]: [boolean, number, number]) => ({
      price: text(price, 1),
      qty: text(qty, 8),
    });
    frames.push({
      type: snapshot ? "snapshot" : "update",
      timeUs: i * 100_000,
      stream: "s",
      depth: 10,
      checksum: bookChecksum(top(asks, true), top(bids, false)),
      bids: changes.filter((c) => !c[0]).map(level),
      asks: changes.filter((c) => c[0]).map(level),
    });
  }
  return frames;
}

const FRAMES = recording();
const TIMING = { originUs: 0, startMs: 0, speed: 1 };

Deno.bench({
  name: "floor: read every level's text into units",
  group: "book replay load",
  baseline: true,
  fn: () => {
    let sum = 0;
    for (const frame of FRAMES) {
      for (const side of [frame.bids, frame.asks]) {
        for (const l of side) {
          sum += Number(l.price.replace(".", "")) +
            Number(l.qty.replace(".", ""));
        }
      }
    }
    if (sum < 0) throw new Error("unreachable");
  },
});

Deno.bench({
  name: "placeBook: apply, verify checksums, build the tape",
  group: "book replay load",
  fn: () => {
    const { counts } = placeBook(PAIR, FRAMES, TIMING);
    if (counts.verified !== N) throw new Error(JSON.stringify(counts));
  },
});

const { tape } = placeBook(PAIR, FRAMES, TIMING);
Deno.bench({
  name: "BookTape.at forward, every frame (a stream)",
  fn: () => {
    for (let i = 0; i < N; i++) tape.at(i * 100_000 + 50);
  },
});
