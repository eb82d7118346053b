/**
 * Signing throughput: form encoding plus API-Sign with one reused key, as
 * RestClient does for every private call.
 */
import { encodeForm, KrakenSigner } from "../../../core/auth/sign.ts";
import { NonceSource } from "../../../core/auth/nonce.ts";

const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const signer = await KrakenSigner.create(SECRET);
const nonces = new NonceSource();

Deno.bench("encodeForm + sign a Balance call (reused key)", async () => {
  const nonce = String(nonces.next());
  const body = encodeForm([["nonce", nonce]]);
  await signer.sign({ path: "/0/private/Balance", nonce, body });
});

Deno.bench(
  "encodeForm + sign an AddOrder with a conditional close (reused key)",
  async () => {
    const nonce = String(nonces.next());
    const body = encodeForm([
      ["nonce", nonce],
      ["ordertype", "limit"],
      ["pair", "XBTUSD"],
      ["price", "37500"],
      ["type", "buy"],
      ["volume", "1.25"],
      ["close[ordertype]", "stop-loss"],
      ["close[price]", "-5%"],
    ]);
    await signer.sign({ path: "/0/private/AddOrder", nonce, body });
  },
);

Deno.bench("encodeForm only (AddOrder parameters)", () => {
  encodeForm([
    ["nonce", "1616492376594"],
    ["ordertype", "limit"],
    ["pair", "XBTUSD"],
    ["price", "37500"],
    ["type", "buy"],
    ["volume", "1.25"],
    ["close[ordertype]", "stop-loss"],
    ["close[price]", "-5%"],
  ]);
});

Deno.bench(
  "KrakenSigner.create (importing the key each time, for contrast)",
  async () => {
    await KrakenSigner.create(SECRET);
  },
);
