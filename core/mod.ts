/**
 * Krakked core: the runtime-neutral Kraken Spot library.
 *
 * @module
 */
export {};
