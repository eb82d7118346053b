import assert from "node:assert/strict";
import { ProxyCallError, ProxyClient } from "../../worker/proxy_client.ts";
import { FakeFetch, jsonResponse } from "../fakes/fetch.ts";

async function failure(response: () => Response): Promise<ProxyCallError> {
  const fetch = new FakeFetch(response);
  const client = new ProxyClient("http://127.0.0.1:8787", {
    fetch: fetch.fetch,
  });
  const error = await client.publicCall("AssetPairs").then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ProxyCallError, String(error));
  return error;
}

Deno.test("ProxyClient: the proxy's 'Kraken unreachable' answer has its own kind", async () => {
  const error = await failure(() =>
    jsonResponse({
      error: {
        code: "Krakked:Fetch failed",
        kind: "network",
        message: "Kraken AssetPairs call failed",
      },
    }, { status: 504 })
  );
  assert.equal(error.kind, "upstream_unreachable");
  assert.equal(error.value.status, 504);
  assert.equal(error.value.code, "Krakked:Fetch failed");
});

Deno.test("ProxyClient: other upstream and server failures keep their kinds", async (t) => {
  await t.step(
    "Kraken's own trouble (503 service) is an HTTP failure",
    async () => {
      const error = await failure(() =>
        jsonResponse({
          error: {
            code: "EService:Unavailable",
            kind: "service",
            message: "x",
          },
        }, { status: 503 })
      );
      assert.equal(error.kind, "http");
    },
  );
  await t.step("the server not answering is a network failure", async () => {
    const error = await failure(() => {
      throw new TypeError("connection refused");
    });
    assert.equal(error.kind, "network");
    assert.match(error.message, /Cannot reach the server/);
  });
});
