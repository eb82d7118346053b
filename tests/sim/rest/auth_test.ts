import assert from "node:assert/strict";
import {
  acceptNonce,
  lockedUntil,
  recordFailure,
} from "../../../server/sim/rest/auth.ts";
import { startSimulator } from "../../../server/sim/server.ts";
import { NOW_MS, privateCall, TestClock } from "../_client.ts";

// REST.md §2.3, Vector A (Kraken's "Spot REST Authentication" guide).
const VECTOR_SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const VECTOR_NONCE = "1616492376594";

async function rawPost(
  url: string,
  path: string,
  body: string,
  headers: Record<string, string>,
) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    body,
    headers,
  });
  assert.equal(response.status, 200);
  return await response.json();
}

Deno.test("the official signing vectors authenticate", async (t) => {
  await using sim = await startSimulator({
    seed: 3,
    now: () => NOW_MS,
    engine: false, // only authentication is under test here
    apiKey: "vector-key-a",
    apiSecret: VECTOR_SECRET,
    extraKeys: [
      { apiKey: "vector-key-b", apiSecret: VECTOR_SECRET },
      { apiKey: "vector-key-c", apiSecret: VECTOR_SECRET },
    ],
  });
  await t.step(
    "Vector A (AddOrder) passes auth, then meets the missing order engine",
    async () => {
      const body =
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
      const headers = {
        "API-Key": "vector-key-a",
        "API-Sign":
          "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
      };
      assert.deepEqual(
        await rawPost(sim.url, "/0/private/AddOrder", body, headers),
        {
          error: ["EGeneral:Unknown method"],
        },
        "AddOrder is authenticated; it fails only because no engine is plugged in",
      );
      // The nonce was consumed, which only happens after a valid signature.
      assert.deepEqual(
        await rawPost(sim.url, "/0/private/AddOrder", body, headers),
        {
          error: ["EAPI:Invalid nonce"],
        },
      );
    },
  );
  await t.step("derived Balance vector (form body)", async () => {
    const answer = await rawPost(
      sim.url,
      "/0/private/Balance",
      `nonce=${VECTOR_NONCE}`,
      {
        "API-Key": "vector-key-b",
        "API-Sign":
          "1nH4vwR+8FHiYh1QT649xXkGd3JR3x0DWkgv3u9Ed/Qqv6KPtgQpEU4m+Emb/VgpEji3j1XNwI+HCbfXxmrTOg==",
        "Content-Type": "application/x-www-form-urlencoded",
      },
    );
    assert.deepEqual(answer.error, []);
    assert.ok(answer.result.ZUSD);
  });
  await t.step("derived Balance vector (JSON body)", async () => {
    const answer = await rawPost(
      sim.url,
      "/0/private/Balance",
      `{"nonce":"${VECTOR_NONCE}"}`,
      {
        "API-Key": "vector-key-c",
        "API-Sign":
          "nIQSuxvFDn8/AZLI9lNhKmRGRFBmNFwMDugKmtSQG6frJ3HT06eRwAGt40G5kwz6PRsywnaL628Nr8TofSiHrw==",
        "Content-Type": "application/json",
      },
    );
    assert.deepEqual(answer.error, []);
  });
});

Deno.test("bad credentials and nonces answer Kraken's auth errors", async (t) => {
  const clock = new TestClock();
  await using sim = await startSimulator({ seed: 4, now: clock.now });
  const good = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  const otherSecret = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
  await t.step("wrong secret", async () => {
    assert.deepEqual(
      await privateCall(sim.url, "Balance", {}, {
        ...good,
        secret: otherSecret,
      }),
      {
        error: ["EAPI:Invalid signature"],
      },
    );
  });
  await t.step("wrong key", async () => {
    assert.deepEqual(
      await privateCall(sim.url, "Balance", {}, { ...good, key: "nope" }),
      {
        error: ["EAPI:Invalid key"],
      },
    );
  });
  await t.step("missing headers", async () => {
    const answer = await rawPost(sim.url, "/0/private/Balance", "nonce=5", {});
    assert.deepEqual(answer, { error: ["EAPI:Invalid key"] });
  });
  await t.step("a tampered body fails the signature", async () => {
    const signed = await privateCall(sim.url, "Balance", {}, {
      ...good,
      sign: "A".repeat(86) + "==",
    });
    assert.deepEqual(signed, { error: ["EAPI:Invalid signature"] });
  });
  await t.step("reused and lower nonces", async () => {
    const nonce = String(NOW_MS * 1000);
    assert.deepEqual(
      (await privateCall(sim.url, "Balance", {}, { ...good, nonce })).error,
      [],
    );
    assert.deepEqual(
      await privateCall(sim.url, "Balance", {}, { ...good, nonce }),
      {
        error: ["EAPI:Invalid nonce"],
      },
    );
    assert.deepEqual(
      await privateCall(sim.url, "Balance", {}, {
        ...good,
        nonce: String(NOW_MS * 1000 - 5),
      }),
      {
        error: ["EAPI:Invalid nonce"],
      },
    );
    assert.deepEqual(
      await privateCall(sim.url, "Balance", {}, { ...good, nonce: "abc" }),
      {
        error: ["EAPI:Invalid nonce"],
      },
    );
  });
  await t.step(
    "a 19-digit nonce works, after which smaller scales fail forever",
    async () => {
      const ns = "1749990896789000000";
      assert.deepEqual(
        (await privateCall(sim.url, "Balance", {}, {
          ...good,
          nonce: ns,
          json: true,
        })).error,
        [],
      );
      assert.deepEqual(
        await privateCall(sim.url, "Balance", {}, {
          ...good,
          nonce: String(NOW_MS * 1000 + 9),
        }),
        {
          error: ["EAPI:Invalid nonce"],
        },
      );
    },
  );
});

Deno.test("a nonce window accepts a slightly lower nonce once", async () => {
  await using sim = await startSimulator({
    seed: 4,
    now: () => NOW_MS,
    nonceWindow: 1000,
  });
  const good = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  const base = NOW_MS * 10;
  assert.deepEqual(
    (await privateCall(sim.url, "Balance", {}, {
      ...good,
      nonce: String(base),
    })).error,
    [],
  );
  assert.deepEqual(
    (await privateCall(sim.url, "Balance", {}, {
      ...good,
      nonce: String(base - 10),
    })).error,
    [],
  );
  assert.deepEqual(
    await privateCall(sim.url, "Balance", {}, {
      ...good,
      nonce: String(base - 10),
    }),
    {
      error: ["EAPI:Invalid nonce"],
    },
  );
  assert.deepEqual(
    await privateCall(sim.url, "Balance", {}, {
      ...good,
      nonce: String(base - 5000),
    }),
    {
      error: ["EAPI:Invalid nonce"],
    },
  );
});

Deno.test("repeated auth failures lock the key out for a while", async () => {
  const clock = new TestClock();
  await using sim = await startSimulator({
    seed: 4,
    now: clock.now,
    lockout: { maxFailures: 3, windowMs: 60_000, durationMs: 900_000 },
  });
  const good = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  const bad = {
    ...good,
    secret: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
  };
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await privateCall(sim.url, "Balance", {}, bad), {
      error: ["EAPI:Invalid signature"],
    });
  }
  assert.deepEqual(await privateCall(sim.url, "Balance", {}, good), {
    error: ["EGeneral:Temporary lockout"],
  });
  clock.advance(900_001);
  assert.deepEqual((await privateCall(sim.url, "Balance", {}, good)).error, []);
});

Deno.test("permissions, funding methods and unknown methods", async (t) => {
  await using sim = await startSimulator({
    seed: 5,
    now: () => NOW_MS,
    tier: "pro",
    permissions: ["query_open", "query_closed", "query_ledger", "websocket"],
  });
  const good = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  await t.step("a missing permission", async () => {
    for (const method of ["Balance", "BalanceEx", "TradeVolume"]) {
      assert.deepEqual(await privateCall(sim.url, method, {}, good), {
        error: ["EGeneral:Permission denied"],
      });
    }
    assert.deepEqual(
      (await privateCall(sim.url, "OpenOrders", {}, good)).error,
      [],
    );
  });
  await t.step("funding, withdrawal and earn are always refused", async () => {
    for (
      const method of [
        "Withdraw",
        "DepositAddresses",
        "WithdrawCancel",
        "WalletTransfer",
        "Earn/Allocate",
      ]
    ) {
      assert.deepEqual(
        await privateCall(sim.url, method, { asset: "XBT", amount: "1" }, good),
        {
          error: ["EGeneral:Permission denied"],
        },
        method,
      );
    }
  });
  await t.step("unknown methods", async () => {
    assert.deepEqual(await privateCall(sim.url, "Balances", {}, good), {
      error: ["EGeneral:Unknown method"],
    });
    const get = await fetch(`${sim.url}/0/private/Nope`);
    assert.deepEqual(await get.json(), { error: ["EGeneral:Unknown method"] });
  });
  await t.step(
    "a trading method without the permission is refused before reaching the engine",
    async () => {
      assert.deepEqual(
        await privateCall(sim.url, "AddOrder", { pair: "XBTUSD" }, good),
        {
          error: ["EGeneral:Permission denied"],
        },
      );
    },
  );
});

Deno.test("the REST call counter refuses a burst at starter tier and decays", async (t) => {
  const clock = new TestClock();
  await using sim = await startSimulator({ seed: 6, now: clock.now });
  const good = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  await t.step("15 calls fit, the 16th is refused", async () => {
    for (let i = 0; i < 15; i++) {
      assert.deepEqual(
        (await privateCall(sim.url, "Balance", {}, good)).error,
        [],
        `call ${i + 1}`,
      );
    }
    assert.deepEqual(await privateCall(sim.url, "Balance", {}, good), {
      error: ["EAPI:Rate limit exceeded"],
    });
  });
  await t.step(
    "decay at 0.33/s lets one more call through after ~3 s",
    async () => {
      clock.advance(3_100);
      assert.deepEqual(
        (await privateCall(sim.url, "Balance", {}, good)).error,
        [],
      );
      assert.deepEqual(await privateCall(sim.url, "Balance", {}, good), {
        error: ["EAPI:Rate limit exceeded"],
      });
    },
  );
  await t.step("ledger calls cost 2", async () => {
    clock.advance(60_000);
    for (let i = 0; i < 7; i++) {
      assert.deepEqual(
        (await privateCall(sim.url, "Ledgers", {}, good)).error,
        [],
        `call ${i + 1}`,
      );
    }
    assert.deepEqual(await privateCall(sim.url, "Ledgers", {}, good), {
      error: ["EAPI:Rate limit exceeded"],
    });
    assert.deepEqual(
      (await privateCall(sim.url, "Balance", {}, good)).error,
      [],
      "one unit left",
    );
  });
});

Deno.test("acceptNonce(), recordFailure() and lockedUntil() decide without effects", () => {
  let state = { highest: 0n, recent: [] as readonly bigint[] };
  for (const n of [1n, 2n, 10n]) {
    const r = acceptNonce(state, n, 0);
    assert.ok(r.ok);
    state = r.state;
  }
  assert.equal(acceptNonce(state, 9n, 0).ok, false);
  assert.equal(acceptNonce(state, 9n, 5).ok, true);
  const policy = { maxFailures: 2, windowMs: 1000, durationMs: 5000 };
  let failures = recordFailure({ failuresMs: [], lockedUntilMs: 0 }, 0, policy);
  failures = recordFailure(failures, 2000, policy);
  assert.equal(
    lockedUntil(failures, 2000),
    false,
    "the first failure left the window",
  );
  failures = recordFailure(failures, 2500, policy);
  assert.equal(lockedUntil(failures, 2500), true);
  assert.equal(lockedUntil(failures, 7500), false);
});
