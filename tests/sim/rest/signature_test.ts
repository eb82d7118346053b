/**
 * The simulator's API-Sign check against the published vectors of
 * docs/kraken/REST.md §2.3 — never against the client's signer, which is
 * what it exists to catch.
 */
import assert from "node:assert/strict";
import {
  ApiSecretKey,
  constantTimeEqual,
  SecretFormatError,
  toBase64,
} from "../../../server/sim/rest/signature.ts";

const DOC_SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

interface Vector {
  name: string;
  secret: string;
  path: string;
  nonce: string;
  body: string;
  sign: string;
}

const VECTORS: Vector[] = [
  {
    name: "A, Kraken's REST authentication guide",
    secret: DOC_SECRET,
    path: "/0/private/AddOrder",
    nonce: "1616492376594",
    body:
      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
    sign:
      "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==",
  },
  {
    name: "B, Kraken's SDK (nanosecond nonce above 2^53)",
    secret: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    path: "/0/private/Balance",
    nonce: "1700000000000000000",
    body: "nonce=1700000000000000000",
    sign:
      "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q==",
  },
  {
    name: "derived: Balance, form body",
    secret: DOC_SECRET,
    path: "/0/private/Balance",
    nonce: "1616492376594",
    body: "nonce=1616492376594",
    sign:
      "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==",
  },
  {
    name: "derived: Balance, JSON body",
    secret: DOC_SECRET,
    path: "/0/private/Balance",
    nonce: "1616492376594",
    body: '{"nonce":"1616492376594"}',
    sign:
      "nIQSuxvFDn8/AZLI9lNhKmRGRFBmNFwMDugKmtSQG6frJ3HT06eRwAGt40G5kwz6PRsywnaL628Nr8TofSiHrw==",
  },
  {
    name: "derived: AddOrder with an encoded close[]",
    secret: DOC_SECRET,
    path: "/0/private/AddOrder",
    nonce: "1616492376594",
    body:
      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25&close%5Bordertype%5D=stop-loss&close%5Bprice%5D=35000",
    sign:
      "VNXwCAU3zRpKf2LgjBriIpF3DAZ4oxkhNLwnxQNtoC4mQEg8yxs4MVfAdBbeVCFSiiB/aCQQmNSrTAB6mKtsIg==",
  },
];

Deno.test("ApiSecretKey computes REST.md §2.3's signatures", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.name, async () => {
      const key = await ApiSecretKey.import(v.secret);
      const parts = { path: v.path, nonce: v.nonce, body: v.body };
      assert.equal(
        await key.expected(parts),
        v.sign,
        "API-Sign = base64(HMAC-SHA512(base64-decode(secret), path bytes ‖ SHA-256(nonce ‖ body)))",
      );
      assert.ok(await key.verify(parts, v.sign));
    });
  }
});

Deno.test("ApiSecretKey.verify() refuses any change to path, nonce, body or signature", async () => {
  const v = VECTORS[0]!;
  const key = await ApiSecretKey.import(v.secret);
  const parts = { path: v.path, nonce: v.nonce, body: v.body };
  assert.equal(
    await key.verify({ ...parts, path: "/0/private/Balance" }, v.sign),
    false,
  );
  assert.equal(
    await key.verify({ ...parts, nonce: "1616492376595" }, v.sign),
    false,
  );
  assert.equal(
    await key.verify({ ...parts, body: `${v.body}&x=1` }, v.sign),
    false,
  );
  assert.equal(await key.verify(parts, v.sign.slice(0, -2)), false, "unpadded");
  assert.equal(await key.verify(parts, v.sign.toLowerCase()), false);
  assert.equal(await key.verify(parts, ""), false);
});

Deno.test("ApiSecretKey.import() refuses an empty or non-base64 secret without echoing it", async () => {
  for (const secret of ["", "   ", "not base64!", "a-b_c"]) {
    await assert.rejects(
      () => ApiSecretKey.import(secret),
      (error: unknown) =>
        error instanceof SecretFormatError && error instanceof TypeError &&
        (secret.trim() === "" || !error.message.includes(secret)),
    );
  }
  // Surrounding space, as pasted, is ignored.
  const key = await ApiSecretKey.import(`  ${DOC_SECRET}\n`);
  const v = VECTORS[0]!;
  assert.equal(
    await key.expected({ path: v.path, nonce: v.nonce, body: v.body }),
    v.sign,
  );
});

Deno.test("constantTimeEqual() compares whole strings", () => {
  assert.ok(constantTimeEqual("", ""));
  assert.ok(constantTimeEqual("token-é", "token-é"));
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(
    constantTimeEqual("abc", "abcd"),
    false,
    "a prefix is not equal",
  );
  assert.equal(constantTimeEqual("abcd", "abc"), false);
  assert.equal(constantTimeEqual("abc", ""), false);
  assert.equal(
    constantTimeEqual("\0", ""),
    false,
    "padding with zero is not equality",
  );
});

Deno.test("toBase64() is standard padded base64", () => {
  assert.equal(toBase64(new Uint8Array([])), "");
  assert.equal(toBase64(new Uint8Array([0xfb])), "+w==");
  assert.equal(toBase64(new Uint8Array([0xfb, 0xff])), "+/8=");
  assert.equal(toBase64(new TextEncoder().encode("Kraken")), "S3Jha2Vu");
  assert.equal(toBase64(new Uint8Array(100_000)).length, 133_336);
});
