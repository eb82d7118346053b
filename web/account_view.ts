/**
 * Read-only balances and open orders, shown when the server holds
 * credentials. They follow the server's account stream (the worker keeps
 * the state); the note says when the stream is not live.
 *
 * @module
 */

import type {
  AccountInfo,
  AccountUpdate,
  WorkerError,
} from "../worker/protocol.ts";

function row(
  cells: readonly string[],
  numeric: readonly boolean[],
): HTMLTableRowElement {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric[i]) td.className = "num";
    tr.append(td);
  });
  return tr;
}

/**
 * Show the account.
 *
 * @param balances `<tbody>` for balances.
 * @param orders `<tbody>` for open orders.
 * @param message Element for errors and empty states.
 * @param account The account, or an error value.
 * @example Render
 * ```ts ignore
 * showAccount(balancesBody, ordersBody, note, result.ok ? result.value : result.error);
 * ```
 */
export function showAccount(
  balances: HTMLTableSectionElement,
  orders: HTMLTableSectionElement,
  message: HTMLElement,
  account: AccountInfo | WorkerError,
): void {
  if ("kind" in account) {
    message.textContent = `Account data unavailable: ${account.message}`;
    return;
  }
  message.textContent = account.openOrders.length === 0
    ? "No open orders."
    : "";
  balances.replaceChildren(
    ...account.balances.map((b) =>
      row([b.asset, b.balance, b.hold], [false, true, true])
    ),
  );
  orders.replaceChildren(
    ...account.openOrders.map((o) =>
      row(
        [
          o.pair,
          o.side,
          o.orderType,
          o.price,
          `${o.filled} / ${o.volume}`,
          o.status,
        ],
        [false, false, false, true, true, false],
      )
    ),
  );
}

const STREAM_NOTES: Record<AccountUpdate["stream"], string> = {
  connecting: "Connecting to the account stream…",
  live: "",
  reconnecting: "Account stream reconnecting; showing the last known state.",
  closed:
    "Account stream unavailable; showing the last answer from the server.",
};

/**
 * Show the account as the stream keeps it.
 *
 * @param section The account `<section>` (gets `data-stream` and `data-ready`).
 * @param balances `<tbody>` for balances.
 * @param orders `<tbody>` for open orders.
 * @param message Element for the stream state and empty states.
 * @param update The worker's account update.
 * @example Render a batch's account
 * ```ts ignore
 * if (batch.account) showAccountUpdate(section, balancesBody, ordersBody, note, batch.account);
 * ```
 */
export function showAccountUpdate(
  section: HTMLElement,
  balances: HTMLTableSectionElement,
  orders: HTMLTableSectionElement,
  message: HTMLElement,
  update: AccountUpdate,
): void {
  section.dataset.stream = update.stream;
  section.dataset.ready = String(update.ready);
  section.dataset.restRefreshes = String(update.restRefreshes);
  if (!update.ready) {
    message.textContent = STREAM_NOTES[update.stream] ||
      "Loading the account…";
    return;
  }
  showAccount(balances, orders, message, update.account);
  const note = STREAM_NOTES[update.stream];
  if (note !== "") message.textContent = note;
}
