import assert from "node:assert/strict";
import {
  encodeForm,
  KrakenSigner,
  SecretFormatError,
} from "../../../core/auth/sign.ts";
import { Secret } from "../../../core/secrets/secret.ts";

// REST.md §2.3 Vector A: Kraken's official example.
const DOC_SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const NONCE = "1616492376594";

const HOW =
  "API-Sign = base64(HMAC-SHA512(base64decode(secret), path bytes ‖ SHA-256(nonce ‖ body)))";

Deno.test("sign() reproduces Kraken's official AddOrder vector", async () => {
  const signer = await KrakenSigner.create(DOC_SECRET);
  const sig = await signer.sign({
    path: "/0/private/AddOrder",
    nonce: NONCE,
    body:
      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
  });
  assert.equal(
    sig,
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==",
    HOW,
  );
});

Deno.test("sign() reproduces the SDK vector with a nanosecond nonce as text", async () => {
  const signer = await KrakenSigner.create(
    new Secret("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
  );
  const sig = await signer.sign({
    path: "/0/private/Balance",
    nonce: "1700000000000000000",
    body: "nonce=1700000000000000000",
  });
  assert.equal(
    sig,
    "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q==",
    HOW,
  );
});

Deno.test("sign() matches the derived vectors of REST.md", async (t) => {
  const signer = await KrakenSigner.create(DOC_SECRET);
  const cases: Array<[string, string, string]> = [
    [
      "/0/private/Balance",
      "nonce=1616492376594",
      "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==",
    ],
    [
      "/0/private/Balance",
      '{"nonce":"1616492376594"}',
      "nIQSuxvFDn8/AZLI9lNhKmRGRFBmNFwMDugKmtSQG6frJ3HT06eRwAGt40G5kwz6PRsywnaL628Nr8TofSiHrw==",
    ],
    [
      "/0/private/AddOrder",
      "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25&close%5Bordertype%5D=stop-loss&close%5Bprice%5D=35000",
      "VNXwCAU3zRpKf2LgjBriIpF3DAZ4oxkhNLwnxQNtoC4mQEg8yxs4MVfAdBbeVCFSiiB/aCQQmNSrTAB6mKtsIg==",
    ],
  ];
  for (const [path, body, expected] of cases) {
    await t.step(`${path} ${body.slice(0, 40)}`, async () => {
      assert.equal(
        await signer.sign({ path, nonce: NONCE, body }),
        expected,
        HOW,
      );
    });
  }
});

Deno.test("sign() handles the empty payload case: a body holding only the nonce", async () => {
  const signer = await KrakenSigner.create(DOC_SECRET);
  const body = encodeForm([["nonce", NONCE]]);
  assert.equal(body, "nonce=1616492376594");
  const sig = await signer.sign({
    path: "/0/private/Balance",
    nonce: NONCE,
    body,
  });
  assert.equal(sig.length, 88);
  assert.equal(
    sig,
    "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==",
  );
});

Deno.test("encodeForm() builds the exact body of the derived close[] vector", async () => {
  const body = encodeForm([
    ["nonce", NONCE],
    ["ordertype", "limit"],
    ["pair", "XBTUSD"],
    ["price", 37500],
    ["type", "buy"],
    ["volume", "1.25"],
    ["close[ordertype]", "stop-loss"],
    ["close[price]", "35000"],
  ]);
  assert.equal(
    body,
    "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25&close%5Bordertype%5D=stop-loss&close%5Bprice%5D=35000",
  );
  const signer = await KrakenSigner.create(DOC_SECRET);
  assert.equal(
    await signer.sign({ path: "/0/private/AddOrder", nonce: NONCE, body }),
    "VNXwCAU3zRpKf2LgjBriIpF3DAZ4oxkhNLwnxQNtoC4mQEg8yxs4MVfAdBbeVCFSiiB/aCQQmNSrTAB6mKtsIg==",
  );
});

Deno.test("encodeForm() keeps order and encodes brackets, percent, plus, spaces and unicode consistently", async (t) => {
  const params: Array<[string, string]> = [
    ["nonce", "1"],
    ["zeta", "last?"],
    ["alpha", "a b"],
    ["close[price]", "+5%"],
    ["note", "Zürich €"],
    ["amp", "a&b=c"],
  ];
  const body = encodeForm(params);
  await t.step("parameter order is preserved", () => {
    assert.deepEqual(
      body.split("&").map((kv) => kv.split("=")[0]),
      ["nonce", "zeta", "alpha", "close%5Bprice%5D", "note", "amp"],
    );
  });
  await t.step("special characters use the form encoding", () => {
    assert.match(body, /alpha=a\+b/);
    assert.match(body, /close%5Bprice%5D=%2B5%25/);
    assert.match(body, /note=Z%C3%BCrich\+%E2%82%AC/);
    assert.match(body, /amp=a%26b%3Dc/);
  });
  await t.step("a server decoding the body gets the same values back", () => {
    assert.deepEqual([...new URLSearchParams(body)], params);
  });
  await t.step(
    "the bytes a server receives verify against the signature",
    async () => {
      const signer = await KrakenSigner.create(DOC_SECRET);
      const sig = await signer.sign({
        path: "/0/private/Balance",
        nonce: "1",
        body,
      });
      const received = new TextDecoder().decode(new TextEncoder().encode(body));
      assert.ok(
        await signer.verify({
          path: "/0/private/Balance",
          nonce: "1",
          body: received,
        }, sig),
      );
      assert.equal(
        await signer.verify(
          {
            path: "/0/private/Balance",
            nonce: "1",
            body: body.replace("a+b", "a%20b"),
          },
          sig,
        ),
        false,
        "the signature covers the exact bytes, not the decoded values",
      );
    },
  );
});

Deno.test("verify() rejects a signature that is not 64 bytes of base64", async () => {
  const signer = await KrakenSigner.create(DOC_SECRET);
  const input = { path: "/0/private/Balance", nonce: "1", body: "nonce=1" };
  assert.equal(await signer.verify(input, "not base64!"), false);
  assert.equal(await signer.verify(input, "AAAA"), false);
});

Deno.test("create() rejects a malformed secret with a typed error that does not contain it", async (t) => {
  for (
    const bad of ["this is not base64!!", "abcde", "", "QUJD$REVG", "Zm9v=Zm9v"]
  ) {
    await t.step(JSON.stringify(bad), async () => {
      const error = await KrakenSigner.create(bad).then(
        () => assert.fail("expected an error"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof SecretFormatError);
      assert.ok(error instanceof TypeError);
      if (bad.length >= 3) {
        for (
          const text of [
            error.message,
            String(error),
            JSON.stringify(error),
            error.stack ?? "",
          ]
        ) {
          assert.ok(
            !text.includes(bad),
            "the secret must not appear in the error",
          );
        }
      }
    });
  }
});

Deno.test("create() reuses one imported key across many signatures", async () => {
  const signer = await KrakenSigner.create(DOC_SECRET);
  const sigs = await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) =>
        signer.sign({
          path: "/0/private/Balance",
          nonce: String(i),
          body: `nonce=${i}`,
        }),
    ),
  );
  assert.equal(new Set(sigs).size, 50);
  assert.equal(
    sigs[0],
    await (await KrakenSigner.create(DOC_SECRET)).sign({
      path: "/0/private/Balance",
      nonce: "0",
      body: "nonce=0",
    }),
  );
});

Deno.test("signSync equals an independent HMAC for any input, however signers interleave", async () => {
  const { createHash, createHmac } = await import("node:crypto");
  const secrets = [
    DOC_SECRET,
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    // Longer than SHA-512's block: the key is hashed first.
    btoa(String.fromCharCode(...new Uint8Array(200).map((_, i) => i))),
  ];
  const signers = secrets.map((s) => KrakenSigner.createSync(s));
  const raws = secrets.map((s) =>
    Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
  );
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = "abcXYZ019=&%+[]€ü😀 \u0000";
  for (let i = 0; i < 300; i++) {
    // Bodies from empty to several KiB, past the signer's reused buffer.
    const length = Math.floor(random() ** 3 * 6000);
    let body = "";
    for (let j = 0; j < length; j++) {
      body += alphabet[Math.floor(random() * alphabet.length)];
    }
    const nonce = String(1_700_000_000_000 + i);
    const path = random() < 0.5 ? "/0/private/Balance" : "/0/private/AddÖrder";
    const k = Math.floor(random() * signers.length);
    const inner = createHash("sha256").update(nonce + body).digest();
    const expected = createHmac("sha512", raws[k]!).update(path).update(inner)
      .digest("base64");
    assert.equal(signers[k]!.signSync({ path, nonce, body }), expected);
  }
});
