/**
 * `@krakked/sim`: an offline, deterministic, Kraken Spot–compatible exchange
 * for tests, the demo mode (`serve --sim`) and any Kraken client
 * (`deno task sim`). Kraken Spot has no test exchange, so this is Krakked's.
 *
 * It is an oracle for the client in `@krakked/core`: it verifies
 * signatures, builds book checksums, meters rate limits and knows Kraken's
 * method table with its own code, so a client bug cannot agree with itself
 * (see "Oracle policy" in this package's README).
 *
 * This barrel is the package's whole public surface: starting a simulator
 * (with or without its WebSocket side), its parts and control object, the
 * default credentials, the catalogue of pairs and the `sim` command.
 *
 * @example Start a simulator
 * ```ts ignore
 * import { startSimulatorWithWs } from "@krakked/sim";
 * await using sim = await startSimulatorWithWs({ seed: 7 });
 * sim.url; // http://127.0.0.1:PORT (REST under /0/public, /0/private)
 * sim.wsPublicUrl; // ws://127.0.0.1:PORT/v2
 * ```
 *
 * @module
 */

export {
  defaultCredentials,
  type Simulator,
  type SimulatorOptions,
  type SimulatorParts,
  type SimulatorWithWs,
  startSimulator,
  startSimulatorWithWs,
  type WebSocketPlugin,
  webSocketPlugin,
  type WsPluginOptions,
} from "./server.ts";
export type { WsSimulator } from "./ws/server.ts";
export {
  type FaultScope,
  type FaultSettings,
  type FaultState,
  type FaultStats,
  SimControl,
  type SystemStatusValue,
} from "./control.ts";
export type { SimKeyConfig, SimPermission } from "./rest/auth.ts";
export { engineRestHandlers } from "./rest/trading.ts";
export type { SimEngine } from "./exchange/engine.ts";
export type { PrivateContext, PrivateHandler } from "./rest/private.ts";
export { SimApiError } from "./exchange/params.ts";
export type { SimAccount } from "./exchange/account.ts";
export {
  type Market,
  SIM_ACTIVITIES,
  type SimActivity,
} from "./exchange/market.ts";
export {
  assetByKey,
  ASSETS,
  MAX_SYNTHETIC_PAIRS,
  PAIRS,
  resolvePair,
  type SimAsset,
  SimCatalogue,
  type SimPair,
  tickSize,
} from "./exchange/pairs.ts";
export { SIM_TIERS, type SimTier } from "./exchange/rate_limits.ts";
export {
  DEFAULT_SIM_PORT,
  runSimulator,
  type SimMainIo,
  type SimRunOptions,
} from "./main.ts";
export {
  type Calibration,
  formatReport,
  LIVE_TARGETS,
  type LiveFigure,
  type LiveTargets,
  MODEL_CALIBRATION,
  type PairRealism,
  type RealismOptions,
  realismReport,
  REPORT_PAIRS,
} from "./report.ts";
export {
  type BookSource,
  type BookTapeSource,
  earliestUs,
  type PlacedTrade,
  placeTrades,
  type RecordedBookFrame,
  type RecordedBookLevel,
  type RecordedTrade,
  type ReplayOptions,
  type TradeSource,
} from "./exchange/replay.ts";
export {
  BookTape,
  BookTapeBuilder,
  type BookTapeCounts,
  placeBook,
  type TapeBook,
} from "./exchange/book_tape.ts";
