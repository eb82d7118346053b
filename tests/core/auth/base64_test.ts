import assert from "node:assert/strict";
import { decodeBase64, encodeBase64 } from "../../../core/auth/base64.ts";

Deno.test("encodeBase64() and decodeBase64() round-trip every length", () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const text = encodeBase64(bytes);
    assert.equal(text, btoa(String.fromCharCode(...bytes)));
    assert.deepEqual(decodeBase64(text), bytes);
    assert.deepEqual(decodeBase64(text.replace(/=+$/, "")), bytes);
  }
});

Deno.test("decodeBase64() returns undefined for text that is not base64", () => {
  for (
    const bad of [
      "a",
      "ab!d",
      "abc==",
      "ab===",
      "Zm9v=Zm9v",
      "é",
      "a=bc",
      "Zm9vY",
    ]
  ) {
    assert.equal(decodeBase64(bad), undefined, bad);
  }
});
