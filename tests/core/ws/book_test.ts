import assert from "node:assert/strict";
import {
  type BookApplyResult,
  bookChecksum,
  type BookChecksumLevel,
  type BookLevelView,
  BookSet,
} from "../../../core/ws/book.ts";

type Level = readonly [price: string, qty: string];

interface Vector {
  name: string;
  note: string;
  asks: [string, string][];
  bids: [string, string][];
  checksumString: string;
  checksum: number;
}

interface Scenario {
  depth: 10 | 25 | 100 | 500 | 1000;
  pairs: Record<string, { priceDecimals: number; qtyDecimals: number }>;
  frames: string[];
  final: Record<string, { bids: [string, string][]; asks: [string, string][] }>;
}

const VECTORS = JSON.parse(
  await Deno.readTextFile(
    new URL("./testdata/book_vectors.json", import.meta.url),
  ),
).vectors as Vector[];

const SCENARIO = JSON.parse(
  await Deno.readTextFile(
    new URL("./testdata/book_scenario.json", import.meta.url),
  ),
) as Scenario;

// Kraken's documented example (WS_V2.md 5.3), BTC/USD, precision 1 / 8.
const OFFICIAL = VECTORS[0] as Vector;
const OFFICIAL_CHECKSUM = 3310070434;

/** Builds a v2 book frame; prices and qtys are written as raw JSON numbers. */
function frame(
  type: "snapshot" | "update",
  symbol: string,
  bids: readonly Level[],
  asks: readonly Level[],
  checksum: number,
): string {
  const levels = (side: readonly Level[]) =>
    side.map(([price, qty]) => `{"price":${price},"qty":${qty}}`).join(",");
  return `{"channel":"book","type":"${type}","data":[{"symbol":"${symbol}","bids":[${
    levels(bids)
  }],"asks":[${
    levels(asks)
  }],"checksum":${checksum},"timestamp":"2025-03-04T10:21:00.881043Z"}]}`;
}

function pairs(side: BookLevelView[] | undefined): [string, string][] {
  return (side ?? []).map((level) => [level.price, level.qty]);
}

function assertApplied(
  result: BookApplyResult,
  symbol: string,
  type: "snapshot" | "update",
) {
  assert.deepEqual(result, { kind: "applied", symbol, type });
}

function officialSet(depth: 10 | 25 = 10): BookSet {
  const books = new BookSet({ defaultDepth: depth });
  books.track("BTC/USD");
  assertApplied(
    books.applyText(
      frame(
        "snapshot",
        "BTC/USD",
        OFFICIAL.bids,
        OFFICIAL.asks,
        OFFICIAL_CHECKSUM,
      ),
    ),
    "BTC/USD",
    "snapshot",
  );
  return books;
}

/** A simple reference book: string levels, exact BigInt-scaled ordering. */
class ReferenceBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  constructor(readonly depth: number, readonly priceDecimals: number) {}
  #scaled(price: string): bigint {
    const [whole = "0", fraction = ""] = price.split(".");
    return BigInt(whole + fraction.padEnd(this.priceDecimals, "0"));
  }
  sorted(side: "bids" | "asks"): [string, string][] {
    const entries = [...this[side].entries()];
    entries.sort((a, b) => {
      const d = this.#scaled(a[0]) - this.#scaled(b[0]);
      const sign = d < 0n ? -1 : d > 0n ? 1 : 0;
      return side === "asks" ? sign : -sign;
    });
    return entries;
  }
  apply(side: "bids" | "asks", price: string, qty: string) {
    if (/^0(\.0+)?$/.test(qty)) this[side].delete(price);
    else this[side].set(price, qty);
  }
  truncate() {
    for (const side of ["bids", "asks"] as const) {
      this[side] = new Map(this.sorted(side).slice(0, this.depth));
    }
  }
  checksum(): number {
    return bookChecksum(this.sorted("asks"), this.sorted("bids"));
  }
}

Deno.test("bookChecksum() reproduces Kraken's documented example", () => {
  assert.equal(
    bookChecksum(OFFICIAL.asks, OFFICIAL.bids),
    OFFICIAL_CHECKSUM,
    "asks (lowest first) then bids (highest first), price then qty, '.' removed, leading zeros stripped, CRC-32",
  );
});

Deno.test("bookChecksum() matches the golden vectors", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.name, () => {
      assert.equal(
        bookChecksum(vector.asks, vector.bids),
        vector.checksum,
        `${vector.note}; checksum string ${vector.checksumString}`,
      );
    });
  }
  await t.step("float-formatted numbers give a different checksum", () => {
    assert.notEqual(VECTORS[1]?.checksum, OFFICIAL_CHECKSUM);
    assert.equal(VECTORS[2]?.checksum, 1604409348);
  });
});

Deno.test("bookChecksum() input forms and precision padding", async (t) => {
  await t.step("objects and tuples are the same", () => {
    const objects: BookChecksumLevel[] = OFFICIAL.asks.map(([price, qty]) => ({
      price,
      qty,
    }));
    assert.equal(bookChecksum(objects, OFFICIAL.bids), OFFICIAL_CHECKSUM);
  });
  await t.step("short texts padded to the pair precision", () => {
    const short = (side: [string, string][]) =>
      side.map(([price, qty]) =>
        [
          price.replace(/\.0$/, ""),
          qty.replace(/0+$/, "").replace(/\.$/, ""),
        ] as const
      );
    assert.equal(
      bookChecksum(short(OFFICIAL.asks), short(OFFICIAL.bids), {
        priceDecimals: 1,
        qtyDecimals: 8,
      }),
      OFFICIAL_CHECKSUM,
    );
    assert.notEqual(
      bookChecksum(short(OFFICIAL.asks), short(OFFICIAL.bids)),
      OFFICIAL_CHECKSUM,
    );
  });
  await t.step("levels past the tenth are ignored", () => {
    const deeper: Level[] = [...OFFICIAL.asks, ["45300.0", "9.00000000"]];
    assert.equal(bookChecksum(deeper, OFFICIAL.bids), OFFICIAL_CHECKSUM);
  });
  await t.step("rejects text that is not a plain decimal", () => {
    for (const bad of ["1e-8", "", "abc", "1.", "-1", ".5", "1.2.3", " 1"]) {
      assert.throws(
        () => bookChecksum([[bad, "1"]], []),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
    assert.throws(() => bookChecksum([], [["1", "x"]]), /qty is not a plain/);
  });
});

Deno.test("BookSet applies Kraken's documented snapshot", () => {
  const books = officialSet();
  assert.equal(books.integrity("BTC/USD"), "ok");
  assert.equal(books.checksumFailures("BTC/USD"), 0);
  const top = books.top("BTC/USD");
  assert.deepEqual(pairs(top?.asks), OFFICIAL.asks);
  assert.deepEqual(pairs(top?.bids), OFFICIAL.bids);
  // Trailing zeros survive: 45281.0 and 0.10000000, not 45281 and 0.1.
  assert.deepEqual(top?.bids[3], { price: "45281.0", qty: "0.10000000" });
  assert.deepEqual(books.bestBidAsk("BTC/USD"), {
    bid: "45283.5",
    ask: "45285.2",
    bidQty: "0.10000000",
    askQty: "0.00100000",
  });
  assert.deepEqual(
    pairs(books.top("BTC/USD", 2)?.bids),
    OFFICIAL.bids.slice(0, 2),
  );
});

Deno.test("BookSet reproduces the derived update vectors of WS_V2.md", () => {
  // WS_V2.md 5.3: from the official snapshot at depth 10, an update that
  // changes the best ask and inserts a bid (pushing 45276.6 out) gives
  // 82328077; then deleting the best ask (9 asks left) gives 3938194486.
  const books = officialSet();
  assertApplied(
    books.applyText(
      frame(
        "update",
        "BTC/USD",
        [["45284.0", "0.25000000"]],
        [["45285.2", "0.50000000"]],
        82328077,
      ),
    ),
    "BTC/USD",
    "update",
  );
  const top = books.top("BTC/USD");
  assert.equal(top?.bids.length, 10);
  assert.deepEqual(top?.bids[0], { price: "45284.0", qty: "0.25000000" });
  assert.equal(top?.bids.at(-1)?.price, "45277.3");
  assertApplied(
    books.applyText(
      frame("update", "BTC/USD", [], [["45285.2", "0"]], 3938194486),
    ),
    "BTC/USD",
    "update",
  );
  assert.equal(books.top("BTC/USD")?.asks.length, 9);
  assert.equal(books.bestBidAsk("BTC/USD")?.ask, "45286.4");
});

Deno.test("BookSet hashes wire digits, so float-formatted frames mismatch", async (t) => {
  await t.step("the float-naive checksum is rejected", () => {
    const books = new BookSet();
    books.track("BTC/USD");
    const result = books.applyText(
      frame("snapshot", "BTC/USD", OFFICIAL.bids, OFFICIAL.asks, 1604409348),
    );
    assert.deepEqual(result, {
      kind: "mismatch",
      symbol: "BTC/USD",
      expected: 1604409348,
      actual: OFFICIAL_CHECKSUM,
      resubscribe: true,
    });
  });
  await t.step(
    "short wire numbers are hashed as sent without precision",
    () => {
      const short = (side: [string, string][]) =>
        side.map(([price, qty]) =>
          [
            price.replace(/\.0$/, ""),
            qty.replace(/0+$/, "").replace(/\.$/, ""),
          ] as const
        );
      const books = new BookSet();
      books.track("BTC/USD");
      const asShort = bookChecksum(short(OFFICIAL.asks), short(OFFICIAL.bids));
      assertApplied(
        books.applyText(
          frame(
            "snapshot",
            "BTC/USD",
            short(OFFICIAL.bids),
            short(OFFICIAL.asks),
            asShort,
          ),
        ),
        "BTC/USD",
        "snapshot",
      );
      assert.deepEqual(books.top("BTC/USD")?.bids[3], {
        price: "45281",
        qty: "0.1",
      });
    },
  );
  await t.step(
    "with pair precision, short numbers are padded before hashing",
    () => {
      const short = (side: [string, string][]) =>
        side.map(([price, qty]) =>
          [
            price.replace(/\.0$/, ""),
            qty.replace(/0+$/, "").replace(/\.$/, ""),
          ] as const
        );
      const books = new BookSet();
      books.track("btc/usd", { priceDecimals: 1, qtyDecimals: 8 });
      assertApplied(
        books.applyText(
          frame(
            "snapshot",
            "BTC/USD",
            short(OFFICIAL.bids),
            short(OFFICIAL.asks),
            OFFICIAL_CHECKSUM,
          ),
        ),
        "BTC/USD",
        "snapshot",
      );
      const top = books.top("BTC/USD");
      assert.deepEqual(top?.bids[3], { price: "45281.0", qty: "0.10000000" });
      assert.deepEqual(pairs(top?.asks), OFFICIAL.asks);
      // More decimals than configured are kept as sent.
      const books2 = new BookSet();
      books2.track("X/Y", { priceDecimals: 1, qtyDecimals: 2 });
      const asks: Level[] = [["1.25", "0.125"]];
      assertApplied(
        books2.applyText(
          frame("snapshot", "X/Y", [], asks, bookChecksum(asks, [])),
        ),
        "X/Y",
        "snapshot",
      );
      assert.deepEqual(pairs(books2.top("X/Y")?.asks), asks);
    },
  );
  await t.step("padding mantissas beyond 15 digits stays exact", () => {
    const books = new BookSet();
    books.track("SHIB/USD", { priceDecimals: 8, qtyDecimals: 8 });
    const bids: Level[] = [["0.0000123", "90071992547.5"], ["0.00001229", "1"]];
    const padded: Level[] = [
      ["0.00001230", "90071992547.50000000"],
      ["0.00001229", "1.00000000"],
    ];
    assertApplied(
      books.applyText(
        frame("snapshot", "SHIB/USD", bids, [], bookChecksum([], padded)),
      ),
      "SHIB/USD",
      "snapshot",
    );
    assert.deepEqual(pairs(books.top("SHIB/USD")?.bids), padded);
  });
});

Deno.test("BookSet update semantics", async (t) => {
  const snapshotBids: Level[] = [["100.0", "1.0"], ["99.0", "2.0"], [
    "98.0",
    "3.0",
  ]];
  const snapshotAsks: Level[] = [["101.0", "1.5"], ["102.0", "2.5"]];
  function start(depth: 10 | 25 = 10) {
    const books = new BookSet();
    books.track("T/USD", { depth });
    const ref = new ReferenceBook(depth, 1);
    for (const [p, q] of snapshotBids) ref.apply("bids", p, q);
    for (const [p, q] of snapshotAsks) ref.apply("asks", p, q);
    // Snapshot levels out of order still build a sorted book.
    const result = books.applyText(
      frame(
        "snapshot",
        "T/USD",
        [...snapshotBids].reverse(),
        [...snapshotAsks].reverse(),
        ref.checksum(),
      ),
    );
    assertApplied(result, "T/USD", "snapshot");
    return { books, ref };
  }
  function update(
    ctx: { books: BookSet; ref: ReferenceBook },
    bids: Level[],
    asks: Level[],
  ) {
    for (const [p, q] of bids) ctx.ref.apply("bids", p, q);
    for (const [p, q] of asks) ctx.ref.apply("asks", p, q);
    ctx.ref.truncate();
    const result = ctx.books.applyText(
      frame("update", "T/USD", bids, asks, ctx.ref.checksum()),
    );
    assertApplied(result, "T/USD", "update");
    const top = ctx.books.top("T/USD");
    assert.deepEqual(pairs(top?.bids), ctx.ref.sorted("bids"));
    assert.deepEqual(pairs(top?.asks), ctx.ref.sorted("asks"));
  }

  await t.step("insert, modify and delete", () => {
    const ctx = start();
    update(ctx, [["99.5", "4.0"]], []);
    update(ctx, [["99.0", "2.5"]], [["101.0", "0.5"]]);
    update(ctx, [["98.0", "0"]], [["102.0", "0.0000"]]);
    assert.deepEqual(pairs(ctx.books.top("T/USD")?.bids), [
      ["100.0", "1.0"],
      ["99.5", "4.0"],
      ["99.0", "2.5"],
    ]);
  });
  await t.step("deleting an unknown level changes nothing", () => {
    const ctx = start();
    update(ctx, [["50.0", "0.0"]], [["150.0", "0"]]);
    assert.equal(ctx.books.top("T/USD")?.bids.length, 3);
  });
  await t.step("the same price twice in one message applies in order", () => {
    const ctx = start();
    update(ctx, [["99.0", "0"], ["99.0", "7.0"]], [["103.0", "1.0"], [
      "103.0",
      "0",
    ]]);
    assert.deepEqual(ctx.books.top("T/USD")?.bids[1], {
      price: "99.0",
      qty: "7.0",
    });
    assert.equal(ctx.books.top("T/USD")?.asks.length, 2);
  });
  await t.step("equal prices with other trailing zeros are one level", () => {
    const books = new BookSet();
    books.track("T/USD");
    const first: Level[] = [["100.0", "1.0"]];
    assertApplied(
      books.applyText(
        frame("snapshot", "T/USD", first, [], bookChecksum([], first)),
      ),
      "T/USD",
      "snapshot",
    );
    const second: Level[] = [["100.00", "2.0"]];
    assertApplied(
      books.applyText(
        frame("update", "T/USD", second, [], bookChecksum([], second)),
      ),
      "T/USD",
      "update",
    );
    assert.deepEqual(pairs(books.top("T/USD")?.bids), second);
  });
  await t.step("inserts past the depth are truncated, not kept", () => {
    const ctx = start();
    const bids: Level[] = [];
    for (let i = 0; i < 9; i++) bids.push([`${97 - i}.0`, "1.0"]);
    update(ctx, bids, []); // 12 bids -> truncated to 10
    assert.equal(ctx.books.top("T/USD")?.bids.length, 10);
    assert.equal(ctx.books.top("T/USD")?.bids.at(-1)?.price, "91.0");
    // Deleting the best bid does not bring back 90.0: Kraken sends it.
    update(ctx, [["100.0", "0"]], []);
    assert.equal(ctx.books.top("T/USD")?.bids.length, 9);
    update(ctx, [["90.0", "5.0"]], []);
    assert.equal(ctx.books.top("T/USD")?.bids.at(-1)?.price, "90.0");
  });
  await t.step("a new snapshot replaces the book", () => {
    const ctx = start();
    const bids: Level[] = [["10.0", "1.0"]];
    assertApplied(
      ctx.books.applyText(
        frame("snapshot", "T/USD", bids, [], bookChecksum([], bids)),
      ),
      "T/USD",
      "snapshot",
    );
    assert.deepEqual(ctx.books.top("T/USD"), {
      bids: [{ price: "10.0", qty: "1.0" }],
      asks: [],
    });
    assert.equal(ctx.books.bestBidAsk("T/USD"), undefined);
  });
});

Deno.test("BookSet keeps depth > 10 but hashes only the top 10", () => {
  const books = new BookSet({ defaultDepth: 25 });
  books.track("D/USD");
  const bids: Level[] = [];
  const asks: Level[] = [];
  for (let i = 0; i < 30; i++) {
    bids.push([`${(1000 - i).toFixed(2)}`, `${i + 1}.00000000`]);
    asks.push([`${(1001 + i).toFixed(2)}`, `${i + 1}.50000000`]);
  }
  const top25 = (side: Level[]) => side.slice(0, 25);
  assertApplied(
    books.applyText(
      frame("snapshot", "D/USD", bids, asks, bookChecksum(asks, bids)),
    ),
    "D/USD",
    "snapshot",
  );
  assert.deepEqual(pairs(books.top("D/USD")?.bids), top25(bids));
  assert.deepEqual(pairs(books.top("D/USD")?.asks), top25(asks));
  // A change at level 20 leaves the checksum as it was.
  const changed: Level[] = [["980.00", "7.00000000"]];
  assertApplied(
    books.applyText(
      frame("update", "D/USD", changed, [], bookChecksum(asks, bids)),
    ),
    "D/USD",
    "update",
  );
  assert.deepEqual(books.top("D/USD")?.bids[20], {
    price: "980.00",
    qty: "7.00000000",
  });
  // A new best bid pushes level 25 out.
  const better: Level[] = [["1000.50", "1.00000000"]];
  const expectedBids = [...better, ...bids].slice(0, 25);
  expectedBids[21] = ["980.00", "7.00000000"];
  assertApplied(
    books.applyText(
      frame("update", "D/USD", better, [], bookChecksum(asks, expectedBids)),
    ),
    "D/USD",
    "update",
  );
  assert.deepEqual(pairs(books.top("D/USD")?.bids), expectedBids);
});

Deno.test("BookSet matches a reference book on random deep streams", async (t) => {
  for (const depth of [100, 1000] as const) {
    await t.step(`depth ${depth}`, () => {
      let seed = depth;
      const next = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 4294967296;
      };
      const books = new BookSet();
      books.track("R/USD", { depth, priceDecimals: 2 });
      const ref = new ReferenceBook(depth, 2);
      const mid = 50000;
      const price = (side: "bids" | "asks") =>
        ((side === "bids"
          ? mid - 1 - Math.floor(next() * depth * 1.2)
          : mid + 1 + Math.floor(next() * depth * 1.2)) / 100)
          .toFixed(2);
      const qty = () =>
        next() < 0.3
          ? "0.00000000"
          : (Math.floor(next() * 1e10) / 1e8).toFixed(8);
      const snapshot: Record<"bids" | "asks", Level[]> = { bids: [], asks: [] };
      for (const side of ["bids", "asks"] as const) {
        for (let i = 0; i < depth; i++) {
          const level: Level = [
            price(side),
            (1 + Math.floor(next() * 1e9) / 1e8).toFixed(8),
          ];
          ref.apply(side, level[0], level[1]);
        }
        ref.truncate();
        snapshot[side] = ref.sorted(side);
      }
      assertApplied(
        books.applyText(
          frame(
            "snapshot",
            "R/USD",
            snapshot.bids,
            snapshot.asks,
            ref.checksum(),
          ),
        ),
        "R/USD",
        "snapshot",
      );
      for (let m = 0; m < 150; m++) {
        const changes: Record<"bids" | "asks", Level[]> = {
          bids: [],
          asks: [],
        };
        const count = 1 + Math.floor(next() * 8);
        for (let k = 0; k < count; k++) {
          const side = next() < 0.5 ? "bids" : "asks";
          const level: Level = [price(side), qty()];
          changes[side].push(level);
          ref.apply(side, level[0], level[1]);
        }
        ref.truncate();
        const result = books.applyText(
          frame("update", "R/USD", changes.bids, changes.asks, ref.checksum()),
        );
        assertApplied(result, "R/USD", "update");
      }
      const top = books.top("R/USD");
      assert.deepEqual(pairs(top?.bids), ref.sorted("bids"));
      assert.deepEqual(pairs(top?.asks), ref.sorted("asks"));
    });
  }
});

Deno.test("BookSet resyncs only the failing symbol and asks to resubscribe once", () => {
  const books = new BookSet();
  books.track("BTC/USD");
  books.track("ETH/USD");
  const eth: Level[] = [["3456.78", "1.00000000"]];
  const ethAsks: Level[] = [["3456.80", "2.00000000"]];
  assertApplied(
    books.applyText(
      frame(
        "snapshot",
        "BTC/USD",
        OFFICIAL.bids,
        OFFICIAL.asks,
        OFFICIAL_CHECKSUM,
      ),
    ),
    "BTC/USD",
    "snapshot",
  );
  assertApplied(
    books.applyText(
      frame("snapshot", "ETH/USD", eth, ethAsks, bookChecksum(ethAsks, eth)),
    ),
    "ETH/USD",
    "snapshot",
  );

  // A corrupted checksum on BTC/USD.
  const bad = books.applyText(
    frame("update", "BTC/USD", [["45284.0", "0.25000000"]], [[
      "45285.2",
      "0.50000000",
    ]], 12345),
  );
  assert.deepEqual(bad, {
    kind: "mismatch",
    symbol: "BTC/USD",
    expected: 12345,
    actual: 82328077,
    resubscribe: true,
  });
  assert.equal(books.integrity("BTC/USD"), "resyncing");
  assert.equal(books.top("BTC/USD"), undefined);
  assert.equal(books.bestBidAsk("BTC/USD"), undefined);
  assert.equal(books.checksumFailures("BTC/USD"), 1);

  // Further BTC updates are ignored (even with a "right" checksum), no new failure.
  const ignored = books.applyText(
    frame("update", "BTC/USD", [], [["45285.2", "0"]], 3938194486),
  );
  assert.equal(ignored.kind, "ignored");
  assert.match(ignored.kind === "ignored" ? ignored.reason : "", /resyncing/);
  assert.equal(books.checksumFailures(), 1);

  // ETH/USD is untouched and keeps applying.
  assert.equal(books.integrity("ETH/USD"), "ok");
  const ethUpdate: Level[] = [["3456.77", "3.00000000"]];
  assertApplied(
    books.applyText(
      frame(
        "update",
        "ETH/USD",
        ethUpdate,
        [],
        bookChecksum(ethAsks, [...eth, ...ethUpdate]),
      ),
    ),
    "ETH/USD",
    "update",
  );

  // The new snapshot restores BTC/USD.
  assertApplied(
    books.applyText(
      frame(
        "snapshot",
        "BTC/USD",
        OFFICIAL.bids,
        OFFICIAL.asks,
        OFFICIAL_CHECKSUM,
      ),
    ),
    "BTC/USD",
    "snapshot",
  );
  assert.equal(books.integrity("BTC/USD"), "ok");
  assert.deepEqual(pairs(books.top("BTC/USD")?.asks), OFFICIAL.asks);

  // A later mismatch starts a new episode: resubscribe again, count it.
  const again = books.applyText(frame("update", "BTC/USD", [], [], 1));
  assert.equal(again.kind === "mismatch" && again.resubscribe, true);
  // A bad snapshot is itself a new episode (the new subscription failed too).
  const badSnapshot = books.applyText(
    frame("snapshot", "BTC/USD", OFFICIAL.bids, OFFICIAL.asks, 2),
  );
  assert.equal(
    badSnapshot.kind === "mismatch" && badSnapshot.resubscribe,
    true,
  );
  assert.equal(books.checksumFailures("BTC/USD"), 3);
  assert.equal(books.checksumFailures("ETH/USD"), 0);
  assert.equal(books.checksumFailures(), 3);
});

Deno.test("BookSet asks to resubscribe only once when frames of one symbol come in one message", () => {
  const books = new BookSet();
  books.track("BTC/USD");
  books.track("ETH/USD");
  books.applyText(
    frame(
      "snapshot",
      "BTC/USD",
      OFFICIAL.bids,
      OFFICIAL.asks,
      OFFICIAL_CHECKSUM,
    ),
  );
  books.applyText(frame("snapshot", "ETH/USD", [], [], 0));
  const text = '{"channel":"book","type":"update","data":[' +
    '{"symbol":"ETH/USD","bids":[],"asks":[],"checksum":0},' +
    '{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":5},' +
    '{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":6},' +
    '{"symbol":"XRP/USD","bids":[],"asks":[],"checksum":6}]}';
  const all = books.applyTextAll(text);
  assert.deepEqual(all.map((r) => r.kind), [
    "applied",
    "mismatch",
    "ignored",
    "ignored",
  ]);
  assert.equal(all[1]?.kind === "mismatch" && all[1].resubscribe, true);
  // The most important result of a multi-object frame is the mismatch.
  books.applyText(
    frame(
      "snapshot",
      "BTC/USD",
      OFFICIAL.bids,
      OFFICIAL.asks,
      OFFICIAL_CHECKSUM,
    ),
  );
  const one = books.applyText(text);
  assert.equal(one.kind, "mismatch");
});

Deno.test("BookSet markResyncing() drops a book until the next snapshot", () => {
  const books = officialSet();
  books.markResyncing("btc/usd");
  books.markResyncing("NOT/TRACKED");
  assert.equal(books.integrity("BTC/USD"), "resyncing");
  const ignored = books.applyText(
    frame("update", "BTC/USD", [], [], OFFICIAL_CHECKSUM),
  );
  assert.equal(ignored.kind, "ignored");
  assert.equal(books.checksumFailures(), 0);
  assertApplied(
    books.applyText(
      frame(
        "snapshot",
        "BTC/USD",
        OFFICIAL.bids,
        OFFICIAL.asks,
        OFFICIAL_CHECKSUM,
      ),
    ),
    "BTC/USD",
    "snapshot",
  );
  assert.equal(books.integrity("BTC/USD"), "ok");
});

Deno.test("BookSet tracking rules", async (t) => {
  await t.step("updates before a snapshot are ignored", () => {
    const books = new BookSet();
    books.track("BTC/USD");
    assert.equal(books.integrity("BTC/USD"), "empty");
    const result = books.applyText(frame("update", "BTC/USD", [], [], 0));
    assert.equal(result.kind, "ignored");
    assert.match(result.kind === "ignored" ? result.reason : "", /no snapshot/);
    assert.equal(books.top("BTC/USD"), undefined);
  });
  await t.step("untracked symbols and other channels are ignored", () => {
    const books = new BookSet();
    assert.deepEqual(books.applyText(frame("snapshot", "XRP/USD", [], [], 0)), {
      kind: "ignored",
      symbol: "XRP/USD",
      reason: 'Book frame for "XRP/USD" ignored: the symbol is not tracked',
    });
    assert.deepEqual(books.applyText('{"channel":"heartbeat"}'), {
      kind: "ignored",
      symbol: "",
      reason: 'Frame ignored: channel is "heartbeat", not "book"',
    });
    assert.equal(books.integrity("XRP/USD"), "empty");
    assert.equal(books.top("XRP/USD"), undefined);
    assert.equal(books.bestBidAsk("XRP/USD"), undefined);
    assert.equal(books.checksumFailures("XRP/USD"), 0);
  });
  await t.step("symbols(), untrack() and re-track()", () => {
    const books = new BookSet();
    books.track("btc/usd");
    books.track("ETH/USD", { depth: 25 });
    assert.deepEqual(books.symbols(), ["BTC/USD", "ETH/USD"]);
    books.applyText(frame("snapshot", "BTC/USD", [], [], 99));
    assert.equal(books.checksumFailures(), 1);
    books.track("BTC/USD", { depth: 100 });
    assert.equal(books.integrity("BTC/USD"), "empty");
    assert.equal(books.checksumFailures("BTC/USD"), 1);
    books.untrack("BTC/USD");
    books.untrack("BTC/USD");
    assert.deepEqual(books.symbols(), ["ETH/USD"]);
    assert.equal(books.checksumFailures(), 1);
    assert.equal(
      books.applyText(frame("snapshot", "BTC/USD", [], [], 0)).kind,
      "ignored",
    );
    assertApplied(
      books.applyText(frame("snapshot", "ETH/USD", [], [], 0)),
      "ETH/USD",
      "snapshot",
    );
  });
  await t.step("invalid options throw RangeError", () => {
    const books = new BookSet();
    assert.throws(
      () => books.track("A/B", { depth: 20 as 10 }),
      (error: unknown) =>
        error instanceof RangeError && /got 20/.test(error.message),
    );
    assert.throws(() => books.track("A/B", { priceDecimals: -1 }), RangeError);
    assert.throws(
      () => books.track("A/B", { qtyDecimals: 1.5 }),
      /qtyDecimals/,
    );
    assert.throws(() => books.track("A/B", { qtyDecimals: 31 }), RangeError);
    assert.throws(() => new BookSet({ defaultDepth: 7 as 10 }), RangeError);
    assert.deepEqual(books.symbols(), []);
  });
});

Deno.test("BookSet symbols whose hashes collide are kept apart", () => {
  // Many symbols make hash-bucket chains likely to be exercised.
  const books = new BookSet();
  const symbols = Array.from({ length: 3000 }, (_, i) => `S${i}/USD`);
  for (const symbol of symbols) books.track(symbol);
  for (const symbol of symbols) {
    assertApplied(
      books.applyText(frame("snapshot", symbol, [], [], 0)),
      symbol,
      "snapshot",
    );
  }
  for (const symbol of symbols.slice(0, 1500)) books.untrack(symbol);
  for (const symbol of symbols.slice(1500)) {
    assert.equal(books.integrity(symbol), "ok");
    assertApplied(
      books.applyText(frame("update", symbol, [], [], 0)),
      symbol,
      "update",
    );
  }
  assert.equal(
    books.applyText(frame("update", "S1/USD", [], [], 0)).kind,
    "ignored",
  );
});

Deno.test("BookSet never throws on malformed frames and keeps its books", () => {
  const books = officialSet();
  const good = frame("update", "BTC/USD", [["45284.0", "0.25000000"]], [[
    "45285.2",
    "0.50000000",
  ]], 82328077);
  const cases = [
    good.slice(0, 60),
    good.slice(0, good.length - 1),
    good.replace('"price":45284.0', '"price":"abc"'),
    good.replace('"qty":0.25000000', '"qty":true'),
    good.replace(',"checksum":82328077', ""),
    good.replace('"symbol":"BTC/USD"', '"symbol":null'),
    good.replace('"bids":[', '"bids":{').replace('}],"asks', '}},"asks'),
    "",
    "null",
    "not json",
  ];
  for (const text of cases) {
    const result = books.applyText(text);
    assert.equal(result.kind, "malformed", text);
    assert.match(
      result.kind === "malformed" ? result.reason : "",
      /^Cannot read book frame: /,
    );
  }
  assert.equal(books.integrity("BTC/USD"), "ok");
  assert.deepEqual(pairs(books.top("BTC/USD")?.asks), OFFICIAL.asks);
  assertApplied(books.applyText(good), "BTC/USD", "update");
  assert.deepEqual(books.applyTextAll("{"), [books.applyText("{")]);
  assert.equal(books.applyTextAll('{"channel":"status"}')[0]?.kind, "ignored");
});

Deno.test("BookSet follows the independent depth-25 reference stream", () => {
  // testdata/book_scenario.json comes from gen_book_vectors.py: a Python
  // reference book (Decimal, zlib) at depth 25 for DOGE/USD and SHIB/USD,
  // with shuffled keys, unknown keys, short zeros and 20-digit quantities.
  const books = new BookSet({ defaultDepth: SCENARIO.depth });
  for (const [symbol, precision] of Object.entries(SCENARIO.pairs)) {
    books.track(symbol, precision);
  }
  for (const text of SCENARIO.frames) {
    const result = books.applyText(text);
    assert.equal(result.kind, "applied", text);
  }
  for (const [symbol, final] of Object.entries(SCENARIO.final)) {
    const top = books.top(symbol);
    assert.deepEqual(pairs(top?.bids), final.bids);
    assert.deepEqual(pairs(top?.asks), final.asks);
  }
  assert.equal(books.checksumFailures(), 0);
});

Deno.test("BookSet replays the 200,000-message bench stream with zero checksum failures", async () => {
  const benchDir = new URL("../../../../shared/bench/", import.meta.url);
  const meta = JSON.parse(
    await Deno.readTextFile(new URL("book-v2-stream.meta.json", benchDir)),
  ) as {
    sha256: string;
    messages: number;
    pairs: { symbol: string; pricePrecision: number; qtyPrecision: number }[];
    final: Record<
      string,
      { bids: [string, string][]; asks: [string, string][] }
    >;
  };
  const bytes = await Deno.readFile(new URL("book-v2-stream.jsonl", benchDir));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  assert.equal(hex, meta.sha256, "bench file differs from its meta file");
  const lines = new TextDecoder().decode(bytes).split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.equal(lines.length, meta.messages);

  const books = new BookSet({ defaultDepth: 10 });
  for (const pair of meta.pairs) books.track(pair.symbol);
  let applied = 0;
  for (const line of lines) {
    const result = books.applyText(line);
    if (result.kind !== "applied") {
      assert.fail(`line ${applied + 1}: ${JSON.stringify(result)}`);
    }
    applied++;
  }
  assert.equal(applied, meta.messages);
  assert.equal(books.checksumFailures(), 0);
  for (const pair of meta.pairs) {
    assert.equal(books.integrity(pair.symbol), "ok");
    const top = books.top(pair.symbol);
    const final = meta.final[pair.symbol];
    assert.deepEqual(pairs(top?.bids), final?.bids, `${pair.symbol} bids`);
    assert.deepEqual(pairs(top?.asks), final?.asks, `${pair.symbol} asks`);
  }
});
