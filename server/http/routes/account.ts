/**
 * The account area: `/api/account`, the account's equity, positions and
 * P&L (core/account, kept by the server's account service), and the order
 * gate: until the account is hydrated and reconciled, placing a live
 * order (or closing a position, which places one) waits a moment for it,
 * then is refused with `503 account_loading`. Cancels are never held back;
 * paper orders use the paper account, and live orders without both live
 * switches are refused by the order service's own rule.
 *
 * `/api/account/events` streams the account as server-sent events: the
 * current document first, then an `account` event with the new document
 * after every change (the service recomputes at most about once a second)
 * and an `account_drift` event per reconciliation that found drift. It
 * works in paper mode too, credentials or not — the Portfolio view follows
 * it instead of polling.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps } from "../deps.ts";
import { HttpError, jsonAnswer } from "../errors.ts";
import { sseHeartbeat } from "../sse.ts";
import { sessionGuard } from "../guard.ts";

/**
 * The account routes and the order gate. Mount before the order routes.
 *
 * @param deps The app's dependencies (`account`, the session).
 * @returns A Hono app.
 * @example Mount
 * ```ts ignore
 * app.route("/", accountRoutes(deps));
 * ```
 */
export function accountRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  const gate = async (
    c: { req: { method: string } },
    next: () => Promise<void>,
  ) => {
    const account = deps.account;
    if (
      c.req.method === "POST" && account !== undefined &&
      // Only orders that would reach the exchange wait: without both live
      // switches the order service refuses them with its own rule anyway.
      deps.orders?.info().liveArmed === true &&
      !account.ordersAllowed && !(await account.whenReady())
    ) {
      throw new HttpError(
        503,
        "account_loading",
        account.phase === "failed"
          ? "The account could not be loaded: orders are refused until it is (see the server log)"
          : "The account is loading (balances, open orders, trades and ledger, then reconciliation): orders are refused until it is done",
      );
    }
    await next();
  };
  app.use("/api/orders", gate);
  app.use("/api/orders/close", gate);

  const guard = sessionGuard({
    area: "account",
    sessionToken: deps.sessionToken,
    allowedHosts: () => deps.allowedHosts,
    // Always available: without an account the route says so itself.
    available: () => true,
    unavailable: () =>
      new HttpError(404, "no_account", "This server follows no account"),
  });
  app.use("/api/account", guard);
  app.use("/api/account/*", guard);
  app.get(
    "/api/account",
    (c) =>
      deps.account === undefined
        // No account followed (no credentials, not paper): an answer, not a
        // 404, so the page can hide its Portfolio without a console error.
        ? c.json({ phase: "none" })
        : jsonAnswer(c, deps.logger.redactor, deps.account.document()),
  );
  app.get("/api/account/events", () => {
    const account = deps.account;
    if (account === undefined) {
      throw new HttpError(404, "no_account", "This server follows no account");
    }
    const redactor = deps.logger.redactor;
    let cleanup = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const enc = new TextEncoder();
        let open = true;
        const send = (channel: string, data: unknown) => {
          if (!open) return;
          controller.enqueue(
            enc.encode(`event: ${channel}\ndata: ${redactor.json(data)}\n\n`),
          );
        };
        send("account", account.document());
        const stopHeartbeat = sseHeartbeat(controller);
        const unsubscribe = account.subscribe?.(
          (event) => send(event.channel, event.data),
          // The service closed (the server stops): end the response too.
          () => {
            open = false;
            stopHeartbeat();
            controller.close();
          },
        ) ?? (() => {});
        cleanup = () => {
          stopHeartbeat();
          unsubscribe();
        };
      },
      cancel() {
        cleanup();
      },
    });
    return new Response(stream, {
      headers: {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
      },
    });
  });

  return app;
}
