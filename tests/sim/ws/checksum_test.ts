/**
 * The simulator's own book checksum against docs/kraken/WS_V2.md §5.3 (the
 * official worked example and the derived vectors) — never against the
 * client's checksum in core, which is what it has to catch.
 */
import assert from "node:assert/strict";
import {
  bookChecksum,
  checksumField,
  checksumText,
  crc32,
} from "../../../server/sim/ws/checksum.ts";

type Level = { price: string; qty: string };

function side(rows: Array<[string, string]>): Level[] {
  return rows.map(([price, qty]) => ({ price, qty }));
}

/** WS_V2.md §5.3: Kraken's v2 checksum guide, BTC/USD. */
const ASKS = side([
  ["45285.2", "0.00100000"],
  ["45286.4", "1.54571953"],
  ["45286.6", "1.54571109"],
  ["45289.6", "1.54560911"],
  ["45290.2", "0.15890660"],
  ["45291.8", "1.54553491"],
  ["45294.7", "0.04454749"],
  ["45296.1", "0.35380000"],
  ["45297.5", "0.09945542"],
  ["45299.5", "0.18772827"],
]);
const BIDS = side([
  ["45283.5", "0.10000000"],
  ["45283.4", "1.54582015"],
  ["45282.1", "0.10000000"],
  ["45281.0", "0.10000000"],
  ["45280.3", "1.54592586"],
  ["45279.0", "0.07990000"],
  ["45277.6", "0.03310103"],
  ["45277.5", "0.30000000"],
  ["45277.3", "1.54602737"],
  ["45276.6", "0.15445238"],
]);

const ASKS_TEXT =
  "45285210000045286415457195345286615457110945289615456091145290215890660452918154553491452947445474945296135380000452975994554245299518772827";
const BIDS_TEXT =
  "452835100000004528341545820154528211000000045281010000000452803154592586452790799000045277633101034527753000000045277315460273745276615445238";

Deno.test("crc32() is the IEEE CRC-32 (check value of 123456789 is 0xCBF43926)", () => {
  assert.equal(crc32("123456789"), 0xcbf43926);
  assert.equal(crc32(""), 0);
  assert.equal(crc32("a"), 0xe8b7be43);
  assert.throws(() => crc32("é"), RangeError);
});

Deno.test("checksumField() drops the point, then leading zeros, and keeps trailing zeros", () => {
  assert.equal(checksumField("45285.2"), "452852");
  assert.equal(checksumField("0.00100000"), "100000");
  assert.equal(checksumField("45281.0"), "452810");
  assert.equal(
    checksumField("0.17412"),
    "17412",
    "DOGE loses its leading zero",
  );
  assert.equal(checksumField("1098"), "1098");
});

Deno.test("the official example: asks first, 281 digits, checksum 3310070434", () => {
  assert.equal(checksumText(ASKS, []), ASKS_TEXT);
  assert.equal(checksumText([], BIDS), BIDS_TEXT);
  const text = checksumText(ASKS, BIDS);
  assert.equal(text, ASKS_TEXT + BIDS_TEXT);
  assert.equal(text.length, 281);
  assert.equal(
    bookChecksum(ASKS, BIDS),
    3310070434,
    "CRC-32 over the ask chunks then the bid chunks (price then qty, point and leading zeros removed)",
  );
});

Deno.test("the derived vectors: an update, a truncation and a delete", () => {
  // asks 45285.2 → 0.5; a new best bid 45284.0 pushes 45276.6 out of depth 10.
  const asks1 = [{ price: "45285.2", qty: "0.50000000" }, ...ASKS.slice(1)];
  const bids1 = [{ price: "45284.0", qty: "0.25000000" }, ...BIDS].slice(0, 10);
  assert.equal(bookChecksum(asks1, bids1), 82328077);
  // then 45285.2 is deleted: 9 asks remain.
  assert.equal(bookChecksum(asks1.slice(1), bids1), 3938194486);
});

Deno.test("only the top 10 of each side count", () => {
  const deeper = [...ASKS, { price: "45300.0", qty: "9.00000000" }];
  assert.equal(bookChecksum(deeper, [...BIDS, ...BIDS]), 3310070434);
});

Deno.test("float text (45281, 0.1) gives a different checksum", () => {
  const asFloat = (levels: Level[], prices: boolean) =>
    levels.map((l) => ({
      price: prices ? String(Number(l.price)) : l.price,
      qty: String(Number(l.qty)),
    }));
  // Prices and quantities through float: the value of tests/core/ws/testdata
  // (computed there with Python's zlib, independently of both).
  assert.equal(
    bookChecksum(asFloat(ASKS, true), asFloat(BIDS, true)),
    4237635173,
  );
  // Quantities only: the "float-naive" 1604409348 quoted in WS_V2.md §5.3.
  assert.equal(
    bookChecksum(asFloat(ASKS, false), asFloat(BIDS, false)),
    1604409348,
  );
});
