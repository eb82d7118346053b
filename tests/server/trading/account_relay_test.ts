import assert from "node:assert/strict";
import type {
  PrivateStreamEvent,
  ResyncResult,
} from "../../../core/trade/private_stream.ts";
import {
  type AccountEvent,
  AccountRelay,
} from "../../../server/trading/account_relay.ts";

/** A private stream the test drives: it emits and records resync asks. */
class FakeStream {
  listeners = new Set<(event: PrivateStreamEvent) => void>();
  resyncs: string[] = [];
  on(listener: (event: PrivateStreamEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  resync(reason: ResyncResult["reason"] = "manual"): Promise<void> {
    this.resyncs.push(reason);
    return Promise.resolve();
  }
  emit(event: PrivateStreamEvent): void {
    for (const l of this.listeners) l(event);
  }
}

function executions(
  kind: "snapshot" | "update",
  sequence: number,
  orderId = "O1",
): PrivateStreamEvent {
  return {
    type: "executions",
    kind,
    reports: [{ order_id: orderId, exec_type: "new" }] as never,
    sequence,
    atMs: sequence,
  };
}

function balances(
  kind: "snapshot" | "update",
  sequence: number,
  balance = "1",
): PrivateStreamEvent {
  return {
    type: "balances",
    kind,
    rows: [{ asset: "USD", balance }],
    sequence,
    atMs: sequence,
  };
}

function resync(withBalances = true): PrivateStreamEvent {
  return {
    type: "resync",
    result: {
      reason: "gap",
      open: {},
      closed: {},
      balances: withBalances ? { ZUSD: "5" } : null,
      atMs: 99,
    },
  };
}

function replay(relay: AccountRelay): string[] {
  const seen: AccountEvent[] = [];
  relay.subscribe((e) => seen.push(e))();
  return seen.map((e) => {
    const data = e.data as PrivateStreamEvent;
    return "kind" in data ? `${e.channel}:${data.kind}` : e.channel;
  });
}

Deno.test("AccountRelay forwards core's normalized events as they are", () => {
  const stream = new FakeStream();
  const relay = new AccountRelay(stream, { state: () => "open" });
  const seen: AccountEvent[] = [];
  relay.subscribe((e) => seen.push(e));
  const events: PrivateStreamEvent[] = [
    balances("snapshot", 1),
    executions("snapshot", 1),
    {
      type: "gap",
      channel: "balances",
      expected: 2,
      received: 4,
      atMs: 5,
    },
    { type: "duplicate", channel: "balances", sequence: 1 },
    resync(),
    { type: "resync_failed", reason: "gap", message: "down" },
  ];
  for (const event of events) stream.emit(event);
  assert.deepEqual(seen.map((e) => e.channel), [
    "balances",
    "executions",
    "gap",
    "resync",
  ]);
  assert.equal(seen[0]!.data, events[0], "the core event itself");
  assert.equal(relay.state(), "open");
  relay.close();
});

Deno.test("AccountRelay replays the account now to a late listener", async (t) => {
  await t.step("each channel's snapshot and the updates since", () => {
    const stream = new FakeStream();
    const relay = new AccountRelay(stream, { state: () => "open" });
    stream.emit(balances("snapshot", 1));
    stream.emit(executions("snapshot", 1));
    stream.emit(balances("update", 2));
    stream.emit(executions("update", 2));
    stream.emit({
      type: "gap",
      channel: "executions",
      expected: 3,
      received: 5,
      atMs: 0,
    });
    assert.deepEqual(replay(relay), [
      "balances:snapshot",
      "executions:snapshot",
      "balances:update",
      "executions:update",
    ]);
    // A new snapshot of one channel drops that channel's older events only.
    stream.emit(executions("snapshot", 1));
    assert.deepEqual(replay(relay), [
      "balances:snapshot",
      "balances:update",
      "executions:snapshot",
    ]);
    relay.close();
  });
  await t.step("a resync replaces both channels", () => {
    const stream = new FakeStream();
    const relay = new AccountRelay(stream, { state: () => "open" });
    stream.emit(balances("snapshot", 1));
    stream.emit(executions("snapshot", 1));
    stream.emit(balances("update", 2));
    stream.emit(resync());
    stream.emit(executions("update", 3));
    assert.deepEqual(replay(relay), ["resync", "executions:update"]);
    // A later executions snapshot keeps the resync for its balances.
    stream.emit(executions("snapshot", 1));
    assert.deepEqual(replay(relay), ["resync", "executions:snapshot"]);
    stream.emit(balances("snapshot", 1));
    assert.deepEqual(replay(relay), [
      "executions:snapshot",
      "balances:snapshot",
    ]);
    relay.close();
  });
  await t.step("a resync without balances replaces executions only", () => {
    const stream = new FakeStream();
    const relay = new AccountRelay(stream, { state: () => "open" });
    stream.emit(balances("snapshot", 1));
    stream.emit(executions("snapshot", 1));
    stream.emit(resync(false));
    assert.deepEqual(replay(relay), ["balances:snapshot", "resync"]);
    relay.close();
  });
});

Deno.test("AccountRelay asks the stream to resync when the replay grows too long", () => {
  const stream = new FakeStream();
  const relay = new AccountRelay(stream, {
    state: () => "open",
    maxReplay: 3,
  });
  stream.emit(balances("snapshot", 1));
  for (let n = 2; n <= 5; n++) stream.emit(balances("update", n));
  assert.deepEqual(stream.resyncs, ["manual"], "asked once while it runs");
  assert.equal(relay.replayLength, 5, "nothing is dropped before it answers");
  stream.emit(resync());
  assert.equal(relay.replayLength, 1);
  for (let n = 6; n <= 9; n++) stream.emit(balances("update", n));
  assert.deepEqual(stream.resyncs, ["manual", "manual"], "and again later");
  stream.emit({ type: "resync_failed", reason: "manual", message: "down" });
  stream.emit(balances("update", 10));
  assert.equal(stream.resyncs.length, 3, "a failed resync is asked again");
  relay.close();
});

Deno.test("AccountRelay.close() ends every listener and stops following the stream", () => {
  const stream = new FakeStream();
  const relay = new AccountRelay(stream, { state: () => "closed" });
  let ended = 0;
  const seen: AccountEvent[] = [];
  relay.subscribe((e) => seen.push(e), () => ended++);
  const off = relay.subscribe(() => {}, () => ended++);
  off();
  relay.close();
  assert.equal(ended, 1, "only listeners still attached are ended");
  assert.equal(stream.listeners.size, 0);
  stream.emit(balances("snapshot", 1));
  assert.equal(seen.length, 0);
  assert.equal(relay.replayLength, 0);
});
