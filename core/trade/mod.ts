/**
 * Trading: the order model, validation, the safety gate and the risk model,
 * wire encoders, the order lifecycle, paper trading, and the transports and
 * client that send orders to Kraken.
 *
 * The decisions are pure and take time as an argument; the objects that
 * send take `fetch`, `WebSocket`, clocks and timers as options, so all of it
 * runs in Deno, a browser worker and tests alike.
 *
 * Pure decisions (no I/O):
 * - Order model and client refs: {@linkcode OrderRequest},
 *   {@linkcode allocateClientRef}.
 * - Validation against pair metadata: {@linkcode validateOrder}.
 * - The safety gate: {@linkcode prepareOrder} (mode, live switches,
 *   allowlist, margin, stop-loss, notional and position limits).
 * - The risk model over an account and a book: {@linkcode planExit},
 *   {@linkcode planCancelAll}, {@linkcode judgeCancel} ({@linkcode RiskAccount},
 *   {@linkcode RiskBook}).
 * - Wire encoders: {@linkcode addOrderRestParams} (REST `AddOrder` form
 *   pairs) and {@linkcode addOrderWsParams} (WS v2 `add_order`).
 * - Order lifecycle: {@linkcode stepOrder} and reconciliation helpers.
 * - Dead-man switch: {@linkcode stepDeadMan}.
 * - Fees: {@linkcode feeTierPercent}, {@linkcode feeOf}.
 * - Stale-order repositioner: {@linkcode planReposition} (which resting
 *   orders to amend or cancel, and why), driven by {@linkcode Repositioner}.
 *
 * What keeps state or sends:
 * - Paper trading: {@linkcode PaperBroker} (fills against a book, no I/O).
 * - Transports, which send over the network: {@linkcode RestOrderTransport}
 *   and {@linkcode WsOrderTransport} (on a {@linkcode PrivateWsSession}),
 *   behind {@linkcode OrderTransport}; {@linkcode DeadManSwitch} re-arms
 *   `CancelAllOrdersAfter` through one.
 * - Private streams: {@linkcode PrivateStream} (`executions`, `balances`,
 *   sequence gaps, REST resync).
 * - The entry point: {@linkcode OrderClient} (gate → dry run, paper or live;
 *   lifecycle tracking, reconciliation, cancel, amend, exit, dead-man
 *   switch). Only an order the gate routed to `live` reaches a transport.
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
export {
  allocateClientRef,
  type AllocateClientRefOptions,
  type CheckedOrder,
  type ClientRef,
  clientRefProblem,
  describeClientRef,
  LIMIT_PRICED_TYPES,
  ORDER_TYPES,
  type OrderIntent,
  type OrderRequest,
  type OrderSide,
  type OrderType,
  type StopLoss,
  type StopLossType,
  type TimeInForce,
  type TrailingOffset,
  TRIGGERED_TYPES,
} from "./order.ts";
export {
  type GateRule,
  OrderRejectedError,
  type PaperRule,
  reject,
  type Rejection,
  type RuleId,
  type ValidationRule,
} from "./rules.ts";
export {
  expectedPrice,
  type ValidateOptions,
  validateOrder,
} from "./validate.ts";
export {
  type GateConfig,
  type GateContext,
  type PreparedOrder,
  prepareOrder,
  type PrepareResult,
  resolveRoute,
  type TradingRoute,
} from "./gates.ts";
export {
  type CancelAllPlan,
  type ExitPlan,
  type FillEstimate,
  fillEstimate,
  findOrder,
  heldOf,
  isProtectiveStop,
  judgeCancel,
  judgeStopAmend,
  openBuyVolume,
  planCancelAll,
  planExit,
  reservedVolume,
  type RiskAccount,
  type RiskBook,
  type RiskLevel,
  type RiskOrder,
  stopVolume,
  uncoveredVolume,
  withoutOrder,
} from "./risk.ts";
export {
  addOrderRestParams,
  addOrderWsParams,
  type FormPair,
  type WsAddOrderParams,
  type WsConditional,
  type WsTriggers,
} from "./encode.ts";
export {
  executionEvents,
  type ExecutionReport,
  type ExecutionsMessage,
  type FillEffect,
  isAmbiguousOrderError,
  type LifecycleEffect,
  type LifecycleEvent,
  type LifecycleStep,
  type OrderLifecycleState,
  orderStateFor,
  type OrderStatus,
  RECONCILE_DELAY_MS,
  reconcileEvent,
  reconcileQueries,
  reportMatches,
  stepOrder,
  TERMINAL_STATUSES,
  type WireDecimal,
} from "./lifecycle.ts";
export {
  type DeadManEffect,
  type DeadManEvent,
  type DeadManPhase,
  type DeadManState,
  DeadManSwitch,
  type DeadManSwitchOptions,
  type DeadManTiming,
  deadManTiming,
  DEFAULT_DEAD_MAN_TIMING,
  initialDeadMan,
  stepDeadMan,
} from "./dead_man.ts";
export {
  feeOf,
  feeTierPercent,
  type Liquidity,
  pairFeePercent,
} from "./fees.ts";
export {
  type PaperBook,
  PaperBroker,
  type PaperBrokerOptions,
  type PaperBrokerState,
  type PaperFill,
  type PaperLevel,
  type PaperLot,
  type PaperOrder,
  type PaperOrderStatus,
  type PaperPosition,
  type PaperPositionState,
  type PaperResult,
} from "./paper.ts";
export {
  type AddOrderAck,
  type AmendAck,
  type AmendRequest,
  type BatchRowAck,
  type CancelAck,
  type CancelBatchRequest,
  CONNECTION_LOST_CODE,
  type CounterHints,
  type DeadManAck,
  DEFAULT_TRADING_COST_MARGIN,
  type EditAck,
  type EditRequest,
  NOT_SENT_CODE,
  type OrderTarget,
  type OrderTransport,
  type TransportCallOptions,
  type TransportKind,
  wasNeverSent,
} from "./transport.ts";
export {
  type PrivateCaller,
  RestOrderTransport,
  type RestOrderTransportOptions,
} from "./rest_transport.ts";
export {
  isStaleTokenError,
  PrivateWsSession,
  type PrivateWsSessionOptions,
  type TokenSource,
  type WsAnswer,
  type WsRequestOptions,
} from "./ws_session.ts";
export {
  WsOrderTransport,
  type WsOrderTransportOptions,
} from "./ws_transport.ts";
export {
  type BalanceRow,
  normalizeExecutionReport,
  type PrivateChannel,
  PrivateStream,
  type PrivateStreamEvent,
  type PrivateStreamOptions,
  type ResyncResult,
} from "./private_stream.ts";
export {
  type AmendChanges,
  type CancelAllResult,
  type ExitOptions,
  type ExitResult,
  type MarketContext,
  OrderClient,
  type OrderClientEvent,
  type OrderClientOptions,
  orderKey,
  type PlaceContext,
  type PlaceResult,
  type TrackedOrder,
} from "./order_client.ts";
export {
  amendTarget,
  isFar,
  judgeStaleOrder,
  planReposition,
  type RepositionAction,
  Repositioner,
  type RepositionerOptions,
  type RepositionEvent,
  repositionHalt,
  type RepositionInput,
  type RepositionOrder,
  repositionOrderOf,
  type RepositionOutcome,
  type RepositionPass,
  type RepositionPlan,
  type RepositionPolicy,
  repositionPolicy,
  RepositionPolicyError,
  type RepositionPort,
  type RepositionQuote,
  type RepositionSkip,
  type RepositionStatus,
  type StaleJudgement,
} from "./reposition.ts";
