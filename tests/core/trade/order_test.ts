import assert from "node:assert/strict";
import {
  allocateClientRef,
  clientRefProblem,
  describeClientRef,
} from "../../../core/trade/order.ts";
import { OrderRejectedError, reject } from "../../../core/trade/rules.ts";

Deno.test("allocateClientRef() picks userref with a stop-loss and cl_ord_id without", async (t) => {
  const uuid = () => "6d1b345e-2821-40e2-ad83-4ecb18a06876";
  await t.step(
    "an entry with a stop-loss gets a positive int32 userref",
    () => {
      const ref = allocateClientRef({
        stopLoss: { type: "stop-loss", triggerPrice: "1" },
      }, { randomUuid: uuid });
      // 0x6d1b345e & 0x7fffffff = 1830499422
      assert.deepEqual(ref, { kind: "userref", userref: 0x6d1b345e });
    },
  );
  await t.step("the top bit is cleared so the userref stays positive", () => {
    const ref = allocateClientRef({
      stopLoss: { type: "stop-loss", triggerPrice: "1" },
    }, { randomUuid: () => "ffffffff-0000-4000-8000-000000000000" });
    assert.deepEqual(ref, { kind: "userref", userref: 0x7fffffff });
  });
  await t.step("a zero userref (meaning none on Kraken) becomes 1", () => {
    const ref = allocateClientRef({
      stopLoss: { type: "stop-loss", triggerPrice: "1" },
    }, { randomUuid: () => "80000000-0000-4000-8000-000000000000" });
    assert.deepEqual(ref, { kind: "userref", userref: 1 });
  });
  await t.step("an exit gets a 32-hex short UUID cl_ord_id", () => {
    const ref = allocateClientRef({}, { randomUuid: uuid });
    assert.deepEqual(ref, {
      kind: "cl_ord_id",
      clOrdId: "6d1b345e282140e2ad834ecb18a06876",
    });
    assert.equal(clientRefProblem(ref), null);
  });
  await t.step("the default source is crypto.randomUUID", () => {
    const a = allocateClientRef({});
    const b = allocateClientRef({});
    assert.notDeepEqual(a, b);
  });
  await t.step("a malformed UUID source is refused", () => {
    assert.throws(
      () => allocateClientRef({}, { randomUuid: () => "nope" }),
      TypeError,
    );
  });
});

Deno.test("clientRefProblem() checks Kraken's formats", () => {
  assert.equal(
    clientRefProblem({ kind: "userref", userref: -2147483648 }),
    null,
  );
  assert.match(
    clientRefProblem({ kind: "userref", userref: 2147483648 }) ?? "",
    /signed 32-bit integer, got 2147483648/,
  );
  assert.match(
    clientRefProblem({ kind: "userref", userref: 1.5 }) ?? "",
    /got 1.5/,
  );
  for (
    const ok of [
      "6d1b345e-2821-40e2-ad83-4ecb18a06876",
      "6d1b345e282140e2ad834ecb18a06876",
      "bot-20250304-0001",
    ]
  ) {
    assert.equal(clientRefProblem({ kind: "cl_ord_id", clOrdId: ok }), null);
  }
  for (const bad of ["", "this-text-is-19-chr", "tab\there"]) {
    assert.match(
      clientRefProblem({ kind: "cl_ord_id", clOrdId: bad }) ?? "",
      /cl_ord_id must be/,
    );
  }
  assert.equal(
    describeClientRef({ kind: "cl_ord_id", clOrdId: "a" }),
    "cl_ord_id a",
  );
  assert.equal(describeClientRef({ kind: "userref", userref: 7 }), "userref 7");
});

Deno.test("OrderRejectedError carries the rule and the field", () => {
  const error = new OrderRejectedError(
    reject("price_tick_size", "price 1.03 is off the tick", "price"),
  );
  assert.equal(error.kind, "order_rejected");
  assert.equal(error.rule, "price_tick_size");
  assert.equal(error.field, "price");
  assert.equal(
    error.message,
    "Order rejected (price_tick_size): price 1.03 is off the tick",
  );
  assert.deepEqual(reject("max_notional", "x"), {
    rule: "max_notional",
    message: "x",
  });
});
