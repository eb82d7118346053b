import assert from "node:assert/strict";
import type { BookLevel } from "../../../server/sim/exchange/market.ts";
import { checksumOf } from "../../../server/sim/ws/feed.ts";
import {
  bookFrame,
  rfc3339FromMs,
  rfc3339FromUs,
  statusFrame,
  wireJson,
  wireNumber,
} from "../../../server/sim/ws/wire.ts";

// Kraken's official v2 checksum example (WS_V2.md §5.3).
const ASKS: Array<[string, string]> = [
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
];
const BIDS: Array<[string, string]> = [
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
];

function levels(rows: Array<[string, string]>): BookLevel[] {
  return rows.map(([price, qty]) => ({
    price,
    qty,
    priceUnits: Math.round(Number(price) * 10),
    qtyUnits: Math.round(Number(qty) * 1e8),
    updatedMs: 0,
  }));
}

Deno.test("wireJson() writes decimal text as exact JSON numbers", async (t) => {
  await t.step("trailing zeros survive", () => {
    assert.equal(
      wireJson({ price: wireNumber("97128.0"), qty: wireNumber("0.10000000") }),
      '{"price":97128.0,"qty":0.10000000}',
    );
  });
  await t.step(
    "bigints print as integers and undefined members are left out",
    () => {
      assert.equal(
        wireJson({
          id: 14230576291856903561n,
          gone: undefined,
          list: [true, null, "x"],
        }),
        '{"id":14230576291856903561,"list":[true,null,"x"]}',
      );
    },
  );
  await t.step("text that is not a JSON number is refused", () => {
    assert.throws(() => wireNumber("0000.00000000"), SyntaxError);
    assert.throws(() => wireNumber("1."), SyntaxError);
    assert.throws(() => wireJson(Number.NaN), TypeError);
  });
});

Deno.test("rfc3339FromUs() prints UTC with a fixed number of fraction digits", () => {
  assert.equal(
    rfc3339FromUs(1_741_083_302_114_702),
    "2025-03-04T10:15:02.114702Z",
  );
  assert.equal(
    rfc3339FromUs(1_741_083_300_000_000, { fractionDigits: 9 }),
    "2025-03-04T10:15:00.000000000Z",
  );
  assert.equal(rfc3339FromMs(0, { fractionDigits: 0 }), "1970-01-01T00:00:00Z");
  assert.equal(rfc3339FromMs(1.5), "1970-01-01T00:00:00.001500Z");
});

Deno.test("book frames carry Kraken's checksum of the very text they print", () => {
  const book = {
    pair: "XXBTZUSD",
    atMs: 0,
    asks: levels(ASKS),
    bids: levels(BIDS),
  };
  assert.equal(checksumOf(book), 3310070434);
  const text = bookFrame("snapshot", {
    symbol: "BTC/USD",
    asks: book.asks,
    bids: book.bids,
    checksum: checksumOf(book),
    timeMs: 0,
  });
  assert.ok(text.startsWith('{"channel":"book","type":"snapshot"'));
  assert.ok(text.includes('{"price":45281.0,"qty":0.10000000}'));
  assert.ok(text.includes('"checksum":3310070434'));
});

Deno.test("bookFrame() prints a deleted level's qty as a canonical zero", () => {
  const [level] = levels([["45285.2", "1234.00000000"]]);
  const text = bookFrame("update", {
    symbol: "BTC/USD",
    asks: [{ ...level!, qty: "0000.00000000", qtyUnits: 0 }],
    bids: [],
    checksum: 1,
    timeMs: 0,
  });
  assert.ok(text.includes('{"price":45285.2,"qty":0.00000000}'));
});

Deno.test("statusFrame() keeps the u64 connection id exact", () => {
  const text = statusFrame({
    system: "online",
    connectionId: 18446744073709551615n,
    version: "2.0.10",
  });
  assert.equal(
    text,
    '{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":18446744073709551615,' +
      '"system":"online","version":"2.0.10"}]}',
  );
});
