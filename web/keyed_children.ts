/**
 * In-place updates of a list of elements keyed by id, so a refresh every
 * couple of seconds keeps the nodes (focus, hover, screen-reader position)
 * and changes only the text that changed: no flicker, no layout jump.
 *
 * @module
 */

/** How to build and fill one child. */
export interface KeyedChildren<T, E extends HTMLElement> {
  /** The item's stable key. */
  key(item: T): string;
  /** A new, empty child for a key. */
  create(item: T): E;
  /** Fills (or refreshes) a child; called for new and kept children. */
  update(el: E, item: T): void;
}

/**
 * Makes `parent`'s children match `items`, in order, reusing each child by
 * its `data-key`. Children without a key (e.g. an empty-state row) are
 * removed.
 *
 * @param parent The container.
 * @param items The items, in display order.
 * @param spec Key, create and update.
 * @example Sync rows
 * ```ts ignore
 * syncChildren(tbody, balances, {
 *   key: (b) => b.asset,
 *   create: () => document.createElement("tr"),
 *   update: (tr, b) => setText(tr, b.balance),
 * });
 * ```
 */
export function syncChildren<T, E extends HTMLElement>(
  parent: HTMLElement,
  items: readonly T[],
  spec: KeyedChildren<T, E>,
): void {
  const existing = new Map<string, E>();
  for (const child of [...parent.children]) {
    const key = (child as HTMLElement).dataset.key;
    if (key === undefined) child.remove();
    else existing.set(key, child as E);
  }
  let cursor: Element | null = parent.firstElementChild;
  for (const item of items) {
    const key = spec.key(item);
    let el = existing.get(key);
    if (el === undefined) {
      el = spec.create(item);
      el.dataset.key = key;
    } else {
      existing.delete(key);
    }
    spec.update(el, item);
    if (el !== cursor) parent.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const stale of existing.values()) stale.remove();
}

/**
 * Sets an element's text only when it differs (no mutation, no reflow).
 *
 * @param el The element.
 * @param text The text.
 * @example Set
 * ```ts ignore
 * setText(cell, "0.001");
 * ```
 */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
