import assert from "node:assert/strict";
import {
  FrameScanner,
  scanTradeFrame,
} from "../../../server/record/bulk_scan.ts";
import { BULK_FRAME_PATTERN } from "../../../server/record/schema.ts";
import { prng } from "../../fakes/prng.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";

const GRAMMAR = new RegExp(`^(?:${BULK_FRAME_PATTERN})$`);

/** The frame text the scanned fields spell, in Kraken's order. */
function respell(type: string, text: string): string {
  const rows = scanTradeFrame(text)!;
  return `{"channel":"trade","type":"${type}","data":[${
    rows.map((t) =>
      `{"symbol":"${t.symbol}","side":"${t.side}","price":${t.price},"qty":${t.qty},"ord_type":"${t.ordType}","trade_id":${t.tradeId},"timestamp":"${t.timestamp}"}`
    ).join(",")
  }]}`;
}

Deno.test("the bulk scanner accepts exactly the frames BULK_FRAME_PATTERN matches, and reads their fields verbatim", () => {
  const random = prng(21);
  const trades = generateTrades(3, 40);
  const alphabet = [...'0123456789.,:{}[]"\\ -TZabe\t\u0001é'];
  const scanner = new FrameScanner();
  let accepted = 0;
  let refused = 0;
  for (let n = 0; n < 4000; n++) {
    const from = Math.floor(random() * (trades.length - 3));
    let text = tradeFrameText(trades.slice(from, from + 1 + (n % 3)));
    if (n % 2 === 0) text = text.replace('"update"', '"snapshot"');
    // 0–3 random edits: replace, insert or delete a character.
    for (let e = Math.floor(random() * 4); e > 0; e--) {
      const at = Math.floor(random() * text.length);
      const ch = alphabet[Math.floor(random() * alphabet.length)]!;
      const op = Math.floor(random() * 3);
      text = op === 0
        ? text.slice(0, at) + ch + text.slice(at + 1)
        : op === 1
        ? text.slice(0, at) + ch + text.slice(at)
        : text.slice(0, at) + text.slice(at + 1);
    }
    const want = GRAMMAR.test(text);
    const rows = scanTradeFrame(text);
    const got = rows !== undefined;
    assert.equal(got, want, text);
    // The position scanner the bulk path uses agrees, field for field.
    assert.equal(scanner.scan(text), want, text);
    if (rows !== undefined) {
      assert.equal(scanner.count, rows.length);
      rows.forEach((t, r) => {
        const at = scanner.tsStart[r]!;
        assert.equal(
          text.slice(scanner.symbolStart[r]!, scanner.symbolEnd[r]!),
          t.symbol,
        );
        assert.equal(text.slice(at, at + 27), t.timestamp);
        assert.equal(scanner.tradeId[r], t.tradeId);
        assert.equal(scanner.positive[r] === 1, t.positive);
        assert.equal(
          scanner.braces[r] === 1,
          /[{}]/.test(t.symbol + t.ordType),
        );
      });
    }
    if (got) {
      accepted++;
      const type = text.includes('"type":"update"') ? "update" : "snapshot";
      assert.equal(respell(type, text), text);
    } else refused++;
  }
  // Both sides exercised.
  assert.ok(accepted > 500 && refused > 500, `${accepted} / ${refused}`);
});

Deno.test("the position scanner grows past its initial capacity", () => {
  const trades = generateTrades(4, 60);
  const text = tradeFrameText(trades);
  const scanner = new FrameScanner();
  assert.equal(scanner.scan(text), true);
  assert.equal(scanner.count, trades.length);
  assert.deepEqual(
    Array.from(scanner.tradeId.subarray(0, scanner.count)),
    trades.map((t) => t.id),
  );
});
