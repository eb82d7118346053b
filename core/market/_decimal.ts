/**
 * Exact decimal arithmetic for core/market. The implementation now lives in
 * the shared `core/decimal.ts`; these re-exports keep the folder's imports
 * working.
 *
 * @module
 */

export {
  decimalsOf,
  divideRounded,
  formatScaled,
  parseScaled,
  pow10,
  rescale,
  type Scaled,
  toFixedDecimals,
} from "../decimal.ts";
