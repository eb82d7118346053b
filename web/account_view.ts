/**
 * Read-only balances and open orders, shown when the server holds
 * credentials.
 *
 * @module
 */

import type { AccountInfo, WorkerError } from "../worker/protocol.ts";

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
