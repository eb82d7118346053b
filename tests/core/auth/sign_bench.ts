/**
 * API-Sign against a floor in the same process: node:crypto's HMAC-SHA512
 * and SHA-256 (what ccxt and most Node clients use) on the same inputs.
 */
import { createHash, createHmac } from "node:crypto";
import { encodeForm, KrakenSigner } from "../../../core/auth/sign.ts";
import { NonceSource } from "../../../core/auth/nonce.ts";

const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const signer = await KrakenSigner.create(SECRET);
const nonces = new NonceSource();
const rawSecret = Uint8Array.from(atob(SECRET), (c) => c.charCodeAt(0));

Deno.bench(
  "floor: node:crypto HMAC-SHA512 + SHA-256, Balance",
  { group: "sign", baseline: true },
  () => {
    const nonce = String(nonces.next());
    const inner = createHash("sha256").update(nonce + `nonce=${nonce}`)
      .digest();
    createHmac("sha512", rawSecret).update("/0/private/Balance").update(inner)
      .digest("base64");
  },
);

const webCryptoKey = await crypto.subtle.importKey(
  "raw",
  rawSecret,
  { name: "HMAC", hash: "SHA-512" },
  false,
  ["sign"],
);
const encoder = new TextEncoder();

Deno.bench(
  "WebCrypto HMAC-SHA512 + SHA-256 (the previous signer), Balance",
  { group: "sign" },
  async () => {
    const nonce = String(nonces.next());
    const inner = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        encoder.encode(nonce + `nonce=${nonce}`),
      ),
    );
    const path = encoder.encode("/0/private/Balance");
    const message = new Uint8Array(path.length + inner.length);
    message.set(path);
    message.set(inner, path.length);
    await crypto.subtle.sign("HMAC", webCryptoKey, message);
  },
);

Deno.bench("sign Balance (reused key)", { group: "sign" }, async () => {
  const nonce = String(nonces.next());
  await signer.sign({
    path: "/0/private/Balance",
    nonce,
    body: `nonce=${nonce}`,
  });
});

Deno.bench("signSync Balance (reused key)", { group: "sign" }, () => {
  const nonce = String(nonces.next());
  signer.signSync({
    path: "/0/private/Balance",
    nonce,
    body: `nonce=${nonce}`,
  });
});

Deno.bench("encode + sign AddOrder with close[] (reused key)", {
  group: "sign",
}, async () => {
  const nonce = String(nonces.next());
  const body = encodeForm([
    ["nonce", nonce],
    ["ordertype", "limit"],
    ["pair", "XBTUSD"],
    ["price", "37500"],
    ["type", "buy"],
    ["volume", "1.25"],
    ["close[ordertype]", "stop-loss"],
    ["close[price]", "35000"],
  ]);
  await signer.sign({ path: "/0/private/AddOrder", nonce, body });
});

Deno.bench("import key + sign (no reuse)", { group: "sign" }, async () => {
  const s = await KrakenSigner.create(SECRET);
  await s.sign({ path: "/0/private/Balance", nonce: "1", body: "nonce=1" });
});
