/**
 * The market-data recorder's runtime-neutral core: Kraken WS v2 and REST
 * trades into BRONZE rows (as sent), SILVER rows (one exchange-neutral
 * schema) and GOLD candles (OHLCV at 1m … 1d), with gap detection on
 * Kraken's contiguous trade ids and a REST `Trades` backfill plan.
 * docs/recorder.md describes the tables.
 *
 * @module
 */

export * from "./bronze.ts";
export * from "./gaps.ts";
export * from "./gold.ts";
export * from "./recorder.ts";
export * from "./silver.ts";
export * from "./tap.ts";
