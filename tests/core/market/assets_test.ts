import assert from "node:assert/strict";
import {
  AssetTable,
  commonFromAltname,
  LEGACY_ASSET_ALTNAMES,
} from "../../../core/market/assets.ts";
import { assets } from "./_fixtures.ts";

Deno.test("AssetTable.fromAssets() maps keys and altnames to common codes", async (t) => {
  const table = AssetTable.fromAssets(assets());
  assert.equal(table.source, "assets");
  const cases: Array<[string, string]> = [
    ["XXBT", "BTC"],
    ["XBT", "BTC"],
    ["btc", "BTC"],
    ["XXDG", "DOGE"],
    ["XDG", "DOGE"],
    ["ZUSD", "USD"],
    ["XETH", "ETH"],
    ["XTZ", "XTZ"],
    ["XXRP", "XRP"],
    ["XRP", "XRP"],
    ["XXLM", "XLM"],
    ["XZEC", "ZEC"],
    ["ZEC", "ZEC"],
    ["ZRX", "ZRX"],
    ["KFEE", "FEE"],
    [" zeur ", "EUR"],
  ];
  for (const [code, common] of cases) {
    await t.step(`${code.trim()} → ${common}`, () => {
      assert.equal(table.toCommon(code), common);
    });
  }
});

Deno.test("AssetTable never strips a leading X or Z from real tickers", () => {
  const table = AssetTable.fromAssets(assets());
  for (const code of ["XTZ", "XRP", "XLM", "XMR", "ZEC", "ZRX"]) {
    assert.equal(table.toCommon(code), code, code);
  }
  // Unknown codes pass through untouched rather than being guessed at.
  assert.equal(table.toCommon("XYZW"), "XYZW");
  assert.equal(table.toKey("ZNEW"), "ZNEW");
  assert.equal(table.toAltname("QQQ"), "QQQ");
});

Deno.test("AssetTable.toKey() and toAltname() go back to Kraken spellings", () => {
  const table = AssetTable.fromAssets(assets());
  assert.equal(table.toKey("BTC"), "XXBT");
  assert.equal(table.toKey("DOGE"), "XXDG");
  assert.equal(table.toKey("USD"), "ZUSD");
  assert.equal(table.toKey("XTZ"), "XTZ");
  assert.equal(table.toAltname("BTC"), "XBT");
  assert.equal(table.toAltname("XXDG"), "XDG");
  assert.deepEqual(table.lookup("eth"), {
    key: "XETH",
    altname: "ETH",
    common: "ETH",
  });
  assert.equal(table.lookup("NOPE"), undefined);
});

Deno.test("AssetTable.parseBalance() recognises balance suffixes", async (t) => {
  const table = AssetTable.fromAssets(assets());
  const cases: Array<[string, string, string | null]> = [
    ["XETH", "ETH", null],
    ["ETH.S", "ETH", "S"],
    ["XBT.M", "BTC", "M"],
    ["ETH.F", "ETH", "F"],
    ["DOT.B", "DOT", "B"],
    ["AAPLx.T", "AAPLx", "T"],
    ["USD.HOLD", "USD", "HOLD"],
    ["ETH2.S", "ETH2", "S"],
    ["ETH2", "ETH2", null],
    ["XXDG", "DOGE", null],
    ["XTZ", "XTZ", null],
    ["ZUSD", "USD", null],
    ["ADA.s", "ADA", "S"],
    // An unknown suffix is part of the code, not a suffix.
    ["FOO.X", "FOO.X", null],
    [".S", ".S", null],
  ];
  for (const [code, asset, suffix] of cases) {
    await t.step(`${code}`, () => {
      assert.deepEqual(table.parseBalance(code), { asset, suffix });
    });
  }
});

Deno.test("AssetTable.fallback() knows the legacy codes without the Assets endpoint", () => {
  const table = AssetTable.fallback();
  assert.equal(table.source, "fallback");
  for (const key of Object.keys(LEGACY_ASSET_ALTNAMES)) {
    assert.notEqual(table.lookup(key), undefined, key);
  }
  assert.equal(table.toCommon("XXBT"), "BTC");
  assert.equal(table.toCommon("XXDG"), "DOGE");
  assert.equal(table.toCommon("ZUSD"), "USD");
  assert.equal(table.toCommon("XETH"), "ETH");
  assert.equal(table.toCommon("XTZ"), "XTZ");
  assert.equal(table.toCommon("ZRX"), "ZRX");
  assert.deepEqual(table.parseBalance("XXBT.M"), { asset: "BTC", suffix: "M" });
});

Deno.test("commonFromAltname() renames only XBT and XDG", () => {
  assert.equal(commonFromAltname("XBT"), "BTC");
  assert.equal(commonFromAltname("xdg"), "DOGE");
  assert.equal(commonFromAltname("XRP"), "XRP");
  assert.equal(commonFromAltname("ETH"), "ETH");
});
