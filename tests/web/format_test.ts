import assert from "node:assert/strict";
import { formatUsdCompact, usdVolume } from "../../web/format.ts";

const lasts: Record<string, number> = {
  "EUR/USD": 1.1,
  "BTC/USD": 50_000,
  "USD/JPY": 150,
  "USDT/USD": 0,
};
const lastOf = (symbol: string) => lasts[symbol];

Deno.test("usdVolume converts a quote-currency volume to USD, or gives none", () => {
  assert.equal(usdVolume(1_000, "USD", lastOf), 1_000);
  assert.equal(usdVolume(1_000, "EUR", lastOf), 1_100);
  assert.equal(usdVolume(2, "BTC", lastOf), 100_000);
  // Only USD/JPY is listed: 1 / 150 USD per yen.
  assert.equal(usdVolume(150_000, "JPY", lastOf), 1_000);
  // No rate (unlisted, or a zero price): no figure, never the raw amount.
  assert.equal(usdVolume(1_000, "GBP", lastOf), undefined);
  assert.equal(usdVolume(1_000, "USDT", lastOf), undefined);
  assert.equal(usdVolume(undefined, "USD", lastOf), undefined);
  assert.equal(formatUsdCompact(usdVolume(1_000, "GBP", lastOf)), "—");
});
