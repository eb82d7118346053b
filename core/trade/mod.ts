/**
 * Trading core: runtime-neutral and pure. Nothing here sends anything.
 *
 * - Order model and client refs: `order.ts`.
 * - Validation against pair metadata: {@linkcode validateOrder}.
 * - The safety gate: {@linkcode prepareOrder} (mode, live switches,
 *   allowlist, margin, stop-loss, notional and position limits).
 * - Wire encoders: {@linkcode addOrderRestParams} (REST `AddOrder` form
 *   pairs) and {@linkcode addOrderWsParams} (WS v2 `add_order`).
 * - Order lifecycle: {@linkcode stepOrder} and reconciliation helpers.
 * - Dead-man switch: {@linkcode stepDeadMan} and {@linkcode DeadManSwitch}.
 * - Fees: {@linkcode feeTierPercent}, {@linkcode feeOf}.
 * - Paper trading: {@linkcode PaperBroker}.
 * - Transports: {@linkcode RestOrderTransport} and {@linkcode WsOrderTransport}
 *   (on a {@linkcode PrivateWsSession}), behind {@linkcode OrderTransport}.
 * - Private streams: {@linkcode PrivateStream} (`executions`, `balances`,
 *   sequence gaps, REST resync).
 * - The entry point: {@linkcode OrderClient} (gate → dry run, paper or live;
 *   lifecycle tracking, reconciliation, cancel, amend, dead-man switch).
 *
 * @example Gate, then encode for REST
 * ```ts ignore
 * import { addOrderRestParams, prepareOrder } from "@krakked/core/trade/mod";
 * const result = prepareOrder(request, { config, liveSwitch, pair, nowMs: Date.now() });
 * if (result.ok && result.prepared.route === "live") {
 *   const pairs = addOrderRestParams(result.prepared.order, result.prepared.pair);
 * }
 * ```
 *
 * @module
 */
export * from "./order.ts";
export * from "./rules.ts";
export * from "./validate.ts";
export * from "./gates.ts";
export * from "./encode.ts";
export * from "./lifecycle.ts";
export * from "./dead_man.ts";
export * from "./fees.ts";
export * from "./paper.ts";
export * from "./transport.ts";
export * from "./rest_transport.ts";
export * from "./ws_session.ts";
export * from "./ws_transport.ts";
export * from "./private_stream.ts";
export * from "./order_client.ts";
