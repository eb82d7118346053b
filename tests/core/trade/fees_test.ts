import assert from "node:assert/strict";
import {
  feeOf,
  feeTierPercent,
  pairFeePercent,
} from "../../../core/trade/fees.ts";
import { xbtusd } from "./_fixtures.ts";

Deno.test("feeTierPercent() picks the highest tier reached by the 30-day volume", async (t) => {
  const pair = xbtusd();
  const table: Array<[string, string, string]> = [
    // volume, taker, maker (REST.md §5.1 XBTUSD schedules)
    ["0", "0.26", "0.16"],
    ["49999.99", "0.26", "0.16"],
    ["50000", "0.24", "0.14"],
    ["250000", "0.2", "0.1"],
    ["9999999.99", "0.12", "0.02"],
    ["10000000", "0.1", "0"],
    ["1000000000", "0.1", "0"],
  ];
  for (const [volume, taker, maker] of table) {
    await t.step(`${volume} USD`, () => {
      assert.equal(pairFeePercent(pair, "taker", volume), taker);
      assert.equal(pairFeePercent(pair, "maker", volume), maker);
    });
  }
  await t.step("unsorted schedules and empty schedules", () => {
    const tiers = [
      { minVolume: 100, percent: 0.1 },
      { minVolume: 0, percent: 0.3 },
    ];
    assert.equal(feeTierPercent(tiers, "150"), "0.1");
    assert.equal(feeTierPercent(tiers, "50"), "0.3");
    assert.equal(feeTierPercent([], "50"), "0");
  });
});

Deno.test("feeOf() is cost × percent / 100, rounded half up to the cost decimals", () => {
  // 250.001 × 0.26 / 100 = 0.6500026 → 0.65 at 5 decimals.
  assert.equal(feeOf("250.001", "0.26", 5), "0.65");
  // 140.07 × 0.26 / 100 = 0.364182 → 0.36418.
  assert.equal(feeOf("140.07", "0.26", 5), "0.36418");
  // 79.98 × 0.16 / 100 = 0.127968 → 0.12797 (half up).
  assert.equal(feeOf("79.98", "0.16", 5), "0.12797");
  // 0.000125 × 0.2 / 100 = 0.00000025 → 0.0000003 at 7 decimals (half up).
  assert.equal(feeOf("0.000125", "0.2", 7), "0.0000003");
  assert.equal(feeOf("100", "0", 5), "0");
});
