import assert from "node:assert/strict";
import { readBodyText } from "../../../server/http/body.ts";
import { HttpError } from "../../../server/http/errors.ts";

/** A body that never ends; counts the bytes the reader pulled. */
function endless(chunkBytes: number): {
  body: ReadableStream<Uint8Array>;
  pulled: () => number;
} {
  let pulled = 0;
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled: () => pulled };
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    return error;
  }
  assert.fail("expected a refusal");
}

Deno.test("readBodyText() refuses a body past its byte limit while it streams", async () => {
  const { body, pulled } = endless(1024);
  const request = new Request("http://127.0.0.1/api/orders", {
    method: "POST",
    body,
  });
  const error = await refusal(readBodyText(request, 4096));
  assert.equal(error.status, 413);
  assert.equal(error.code, "too_large");
  // It stopped at the first chunk past the limit, not at the end (there is none).
  assert.ok(pulled() <= 4096 + 2 * 1024, `pulled ${pulled()} bytes`);
});

Deno.test("readBodyText() counts bytes, not UTF-16 units", async () => {
  // 1,500 euro signs: 1,500 UTF-16 units, 4,500 UTF-8 bytes.
  const text = "€".repeat(1500);
  assert.ok(text.length < 4096);
  const error = await refusal(
    readBodyText(
      new Request("http://127.0.0.1/", { method: "POST", body: text }),
      4096,
    ),
  );
  assert.equal(error.status, 413);
  const ok = "€".repeat(1365); // 4,095 bytes
  assert.equal(
    await readBodyText(
      new Request("http://127.0.0.1/", { method: "POST", body: ok }),
      4096,
    ),
    ok,
  );
});

Deno.test("readBodyText() refuses a declared Content-Length over the limit before reading", async () => {
  const { body, pulled } = endless(1024);
  const request = new Request("http://127.0.0.1/", {
    method: "POST",
    body,
    headers: { "content-length": String(40 * 1024 * 1024) },
  });
  assert.equal((await refusal(readBodyText(request, 4096))).status, 413);
  assert.ok(pulled() <= 1024, `pulled ${pulled()} bytes`);
});

Deno.test("readBodyText() refuses bytes that are not UTF-8 and reads no body as empty", async () => {
  const bad = new Request("http://127.0.0.1/", {
    method: "POST",
    body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  });
  const error = await refusal(readBodyText(bad, 4096));
  assert.equal(error.status, 400);
  assert.equal(error.code, "bad_encoding");
  assert.equal(await readBodyText(new Request("http://127.0.0.1/"), 10), "");
});
