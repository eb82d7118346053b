/**
 * Types shared by the WebSocket server (`server.ts`) and the trading
 * methods plugged into it (`trading.ts`). They live apart so that the server
 * and its hook depend on this file, not on each other.
 *
 * @module
 */

/** A trading method handler for `/auth/v2` (the matching engine's hook). */
export type WsMethodHandler = (request: {
  method: string;
  params: Readonly<Record<string, unknown>>;
  reqId: number | undefined;
  nowMs: number;
  /** Send a frame to this connection. */
  send: (text: string) => void;
  /** Close this connection (fault injection). */
  close?: (code: number, reason: string) => void;
}) => void;
