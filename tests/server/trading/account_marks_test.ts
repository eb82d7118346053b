// The account's marks (server/trading/account_marks.ts): mids of the
// server's WS book feed, REST Ticker only for pairs the feed does not
// cover, and at most once per period — never per recompute.
import assert from "node:assert/strict";
import { usdPrice } from "../../../core/account/rates.ts";
import type { PairMetadata } from "../../../core/market/pairs.ts";
import type { PaperBook } from "../../../core/trade/paper.ts";
import { AccountMarks } from "../../../server/trading/account_marks.ts";
import type { BookSource } from "../../../server/trading/orders.ts";

const pair = (id: string, base: string, quote: string) =>
  ({ id, restKey: `R${id}`, altname: id, base, quote }) as PairMetadata;
const PAIRS = [
  pair("XBTUSD", "BTC", "USD"),
  pair("ETHUSD", "ETH", "USD"),
  pair("ABCXBT", "ABC", "BTC"),
  pair("ETHEUR", "ETH", "EUR"),
];

function fakeBooks(): BookSource & {
  books: Map<string, PaperBook>;
  watched: string[];
  emit(id: string): void;
} {
  const listeners = new Set<(id: string) => void>();
  const books = new Map<string, PaperBook>();
  const watched: string[] = [];
  return {
    books,
    watched,
    book: (id) => books.get(id),
    watch: (p) => void (watched.includes(p.id) || watched.push(p.id)),
    onUpdate: (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    emit: (id) => listeners.forEach((l) => l(id)),
  };
}

const top = (bid: string, ask: string): PaperBook => ({
  bids: [{ price: bid, qty: "1" }],
  asks: [{ price: ask, qty: "1" }],
});

Deno.test("AccountMarks marks from the stream's books and asks REST only for what they lack, once per period", async () => {
  const books = fakeBooks();
  let nowMs = 0;
  const asked: string[][] = [];
  const marks = new AccountMarks({
    books,
    now: () => nowMs,
    restEveryMs: 15_000,
    ticker: (keys) => {
      asked.push(keys);
      return Promise.resolve(Object.fromEntries(
        keys.map((k) => [k, { a: ["2001", "1", "1"], b: ["1999", "1", "1"] }]),
      ) as never);
    },
  });
  // Nothing streamed yet: one Ticker call for every pair that prices BTC,
  // ETH and ABC (the EUR pair is not a USD route), and each is watched.
  let set = await marks.quotes(PAIRS, ["BTC", "ETH", "ABC"]);
  assert.deepEqual(asked, [["RXBTUSD", "RETHUSD", "RABCXBT"]]);
  assert.deepEqual(books.watched, ["XBTUSD", "ETHUSD", "ABCXBT"]);
  assert.deepEqual(set.rest, ["XBTUSD", "ETHUSD", "ABCXBT"]);
  // The books arrive: the stream marks them, no REST call at all, however
  // often the account recomputes and however much time passes.
  books.books.set("XBTUSD", top("50000", "50002"));
  books.books.set("ETHUSD", top("3000", "3001"));
  books.books.set("ABCXBT", top("0.001", "0.001"));
  for (let i = 0; i < 5; i++) {
    nowMs += 60_000;
    set = await marks.quotes(PAIRS, ["BTC", "ETH", "ABC"]);
  }
  assert.equal(asked.length, 1);
  assert.deepEqual(set.streamed, ["XBTUSD", "ETHUSD", "ABCXBT"]);
  assert.equal(usdPrice("BTC", set.source)?.price, "50001");
  assert.equal(usdPrice("ABC", set.source)?.price, "50.001");
  // A price move on the stream is the next mark.
  books.books.set("XBTUSD", top("51000", "51002"));
  set = await marks.quotes(PAIRS, ["BTC"]);
  assert.equal(usdPrice("BTC", set.source)?.price, "51001");
  assert.equal(marks.info().tickerCalls, 1);
  // ETH's book goes stale (the feed withholds it): REST for ETH alone,
  // then not again within the period.
  books.books.delete("ETHUSD");
  await marks.quotes(PAIRS, ["BTC", "ETH"]);
  nowMs += 14_999;
  set = await marks.quotes(PAIRS, ["BTC", "ETH"]);
  assert.deepEqual(asked.slice(1), [["RETHUSD"]]);
  assert.deepEqual(set.rest, ["ETHUSD"]);
  assert.equal(usdPrice("ETH", set.source)?.price, "2000");
  nowMs += 1;
  await marks.quotes(PAIRS, ["BTC", "ETH"]);
  assert.deepEqual(asked.slice(1), [["RETHUSD"], ["RETHUSD"]]);
});

Deno.test("AccountMarks keeps the older REST quote when Ticker fails, and leaves the unquoted unpriced", async () => {
  let nowMs = 0;
  let fail = false;
  const marks = new AccountMarks({
    now: () => nowMs,
    ticker: (keys) =>
      fail
        ? Promise.reject(new Error("down"))
        : Promise.resolve(Object.fromEntries(
          keys.filter((k) => k !== "RETHUSD").map((k) => [k, {
            a: ["101", "1", "1"],
            b: ["99", "1", "1"],
          }]),
        ) as never),
  });
  let set = await marks.quotes(PAIRS, ["BTC", "ETH"]);
  assert.deepEqual(set.missing, ["ETHUSD"]);
  assert.equal(usdPrice("ETH", set.source), null, "never valued at 0");
  fail = true;
  nowMs += 20_000;
  set = await marks.quotes(PAIRS, ["BTC", "ETH"]);
  assert.equal(usdPrice("BTC", set.source)?.price, "100");
});

Deno.test("AccountMarks passes on book changes of the pairs it marks only", async () => {
  const books = fakeBooks();
  const marks = new AccountMarks({
    books,
    ticker: () => Promise.resolve({}),
  });
  const seen: string[] = [];
  const off = marks.onUpdate((id) => seen.push(id));
  await marks.quotes(PAIRS, ["BTC"]);
  books.emit("XBTUSD");
  books.emit("ETHUSD"); // not marked: BTC needs XBTUSD only
  off();
  books.emit("XBTUSD");
  assert.deepEqual(seen, ["XBTUSD"]);
});
