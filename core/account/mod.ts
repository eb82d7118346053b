/**
 * The account: equity in USD, FIFO P&L with fees in any asset, cash flows
 * from the ledger, an incremental history cache and reconciliation — one
 * code path for the paper and the live account.
 *
 * @module
 */

export { accountAsset, FEE_CREDIT_ASSET, FEE_CREDIT_USD } from "./assets.ts";
export type { AccountAsset } from "./assets.ts";
export { equityOf } from "./equity.ts";
export type { EquityAsset, EquityLine, EquityReport } from "./equity.ts";
export { equityHistory } from "./equity_history.ts";
export type { EquityHistoryOptions, EquityPoint } from "./equity_history.ts";
export { applyFifoFill, emptyFifoBook, markLots } from "./fifo.ts";
export type { ClosedLot, FifoBook, FifoFill, Lot } from "./fifo.ts";
export {
  HISTORY_PAGE_SIZE,
  hydrateHistory,
  memoryHistoryStore,
} from "./history_cache.ts";
export type {
  CachedHistory,
  HistoryPage,
  HistoryStore,
  HydrationStats,
} from "./history_cache.ts";
export { cashFlowKind, cashFlows, netFlows, tradeFees } from "./ledger.ts";
export type { CashFlow, CashFlowKind, NetFlow } from "./ledger.ts";
export { computePnl, groupPnl, remarkPnl } from "./pnl.ts";
export type {
  AccountLot,
  AssetPosition,
  FeePaid,
  PnlGroup,
  PnlGrouping,
  PnlOptions,
  PnlReport,
  RealizedPiece,
  Unpriced,
  ValuedFlow,
} from "./pnl.ts";
export {
  CROSS_ASSETS,
  midOf,
  priceIn,
  tradeRates,
  usdPrice,
  VALUATION_ASSET,
} from "./rates.ts";
export type { Quote, QuoteSource, RateAt, UsdPrice } from "./rates.ts";
export { balancesBySymbol, reconcile } from "./reconcile.ts";
export type {
  AccountSnapshot,
  Drift,
  DriftField,
  OrderView,
} from "./reconcile.ts";
export { AccountReconciler } from "./reconciler.ts";
export type {
  AccountReconcilerOptions,
  ReconcileReason,
  ReconcileReport,
} from "./reconciler.ts";
export { accountTrades, accountTradesFromFills } from "./trades.ts";
export type {
  AccountFee,
  AccountTrade,
  FillLike,
  TradePairNames,
} from "./trades.ts";
