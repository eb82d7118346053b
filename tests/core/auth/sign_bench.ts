import { encodeForm, KrakenSigner } from "../../../core/auth/sign.ts";
import { NonceSource } from "../../../core/auth/nonce.ts";

const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const signer = await KrakenSigner.create(SECRET);
const nonces = new NonceSource();

Deno.bench(
  "sign Balance (reused key)",
  { group: "sign", baseline: true },
  async () => {
    const nonce = String(nonces.next());
    await signer.sign({
      path: "/0/private/Balance",
      nonce,
      body: `nonce=${nonce}`,
    });
  },
);

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
