/**
 * The ops console (`#/ops`): what the server's own objects say, live. While
 * the view is open it follows the server's event stream with the ops topic
 * (`/api/private/events?topics=ops`): the first `ops` event is the whole
 * snapshot, later ones carry only the sections that changed, merged here
 * and drawn at most once per frame. It renders the REST counter with its
 * decay and tier, the per-pair trading-engine counters, queued calls and
 * the public budget; the WebSocket connections with state, uptime,
 * reconnects and their reasons, subscriptions and books (checksum
 * failures, resyncs); the last errors by kind; order events; the dead-man
 * switch; order actions that are not lifecycle steps (the stale-order
 * repositioner's amends and cancels, any later kind) in a table of their
 * own; and any snapshot section it does not know as a generic table, so a
 * new kind of event shows up without a page change. Text only (`textContent`), never HTML from the
 * server. A refused stream (no session, no monitor) shows the server's
 * reason and is tried again. Closing the view (any other hash) closes the
 * stream.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any -- the server's JSON, read field by field
type Json = any;

/** The hash that opens the view. */
export const OPS_HASH = "#/ops";

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function table(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
): HTMLTableElement {
  const t = el("table", undefined, "ops-table");
  t.append(el("caption", caption));
  const tr = el("tr");
  for (const h of head) {
    const th = el("th", h);
    th.scope = "col";
    tr.append(th);
  }
  t.append(el("thead"));
  t.tHead!.append(tr);
  const body = el("tbody");
  for (const row of rows) {
    const r = el("tr");
    for (const cell of row) r.append(el("td", cell));
    body.append(r);
  }
  if (rows.length === 0) {
    const r = el("tr");
    const td = el("td", "none", "muted");
    td.colSpan = head.length;
    r.append(td);
    body.append(r);
  }
  t.append(body);
  return t;
}

const n = (v: unknown, digits = 2) =>
  typeof v === "number" ? v.toFixed(digits) : "—";

const time = (ms: unknown) =>
  typeof ms === "number" ? new Date(ms).toISOString().slice(11, 19) : "—";

function duration(ms: unknown): string {
  if (typeof ms !== "number") return "—";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function counterRow(name: string, c: Json): string[] {
  return [
    name,
    `${n(c?.level)} / ${c?.max ?? "—"}`,
    n(c?.decayPerSec),
    String(c?.queued ?? 0),
  ];
}

/** The sections `renderOps` draws by name; any other is drawn generically. */
const KNOWN = new Set([
  "atMs",
  "tier",
  "rest",
  "trading",
  "public",
  "upstream",
  "connections",
  "errorsByKind",
  "errors",
  "orders",
  "deadMan",
]);

/** Order event types of the order client's lifecycle; any other is an action. */
const LIFECYCLE = new Set([
  "state",
  "fill",
  "anomaly",
  "close_order",
  "reconcile",
  "dead_man",
]);

/** A title from a section key: `actions` → `Actions`, `repositionActions` → `Reposition actions`. */
function titleOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One cell of a generic table: times as times, objects as compact JSON. */
function cellText(key: string, value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number" && /^at(Ms)?$|AtMs$/.test(key)) {
    return time(value);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * A section the view has no layout for: a list of records becomes a table
 * (newest first, at most 30 rows, columns in first-seen order), a record
 * becomes name/value rows, anything else one line.
 *
 * @param key The section's key in the snapshot.
 * @param value Its value.
 * @returns The element.
 */
export function genericSection(key: string, value: unknown): HTMLElement {
  const title = titleOf(key);
  if (Array.isArray(value)) {
    const rows = value.slice(-30).reverse();
    const columns: string[] = [];
    for (const row of rows) {
      if (typeof row !== "object" || row === null) continue;
      for (const k of Object.keys(row)) {
        if (!columns.includes(k)) columns.push(k);
      }
    }
    if (columns.length === 0) {
      return table(title, ["Value"], rows.map((v) => [cellText("", v)]));
    }
    const t = table(
      `${title} (${value.length})`,
      columns.map(titleOf),
      rows.map((row) =>
        columns.map((c) => cellText(c, (row as Record<string, unknown>)?.[c]))
      ),
    );
    t.dataset.opsSection = key;
    return t;
  }
  if (typeof value === "object" && value !== null) {
    const t = table(
      title,
      ["Name", "Value"],
      Object.entries(value).map(([k, v]) => [titleOf(k), cellText(k, v)]),
    );
    t.dataset.opsSection = key;
    return t;
  }
  const p = el("p", `${title}: ${cellText(key, value)}`);
  p.dataset.opsSection = key;
  return p;
}

/**
 * Render one snapshot into `root` (replacing what was there).
 *
 * @param root The view's content element.
 * @param ops The `/api/ops` snapshot.
 */
export function renderOps(root: HTMLElement, ops: Json): void {
  const parts: HTMLElement[] = [];
  parts.push(
    el("p", `Updated ${time(ops.atMs)} UTC · tier ${ops.tier}`, "muted"),
  );
  parts.push(
    table("Rate-limit counters", [
      "Counter",
      "Level / max",
      "Decay /s",
      "Queued",
    ], [
      counterRow(`REST (${ops.tier})`, ops.rest),
      counterRow("Public", ops.public),
      ...Object.entries(ops.trading ?? {}).map(([pair, c]) =>
        counterRow(`Trading ${pair}`, c)
      ),
    ]),
  );
  const byMethod = Object.entries(ops.upstream?.byMethod ?? {}) as [
    string,
    number,
  ][];
  byMethod.sort((a, b) => b[1] - a[1]);
  parts.push(table(
    `Upstream REST calls: ${ops.upstream?.calls ?? 0}, ${
      ops.upstream?.failures ?? 0
    } failed`,
    ["Method", "Calls"],
    byMethod.slice(0, 12).map(([m, c]) => [m, String(c)]),
  ));
  const connections = (ops.connections ?? []) as Json[];
  parts.push(
    table(
      "WebSocket connections",
      [
        "Name",
        "State",
        "Uptime",
        "Reconnects",
        "Last reasons",
        "Subscriptions",
      ],
      connections.map((c) => {
        const subs = (c.subscriptions ?? []) as Json[];
        const active = subs.filter((s) =>
          s.state === "active" && !s.silent
        ).length;
        return [
          c.name,
          c.state,
          // The stream resends a connection only when it changes: its
          // uptime is derived from when it opened.
          duration(
            typeof c.openedAtMs === "number" && typeof ops.atMs === "number"
              ? ops.atMs - c.openedAtMs
              : c.uptimeMs,
          ),
          String(c.reconnects),
          (c.reasons ?? []).slice(-3).map((r: Json) =>
            `${time(r.atMs)} ${r.reason}`
          ).join("; ") || "—",
          `${active} healthy / ${subs.length}`,
        ];
      }),
    ),
  );
  parts.push(
    table(
      "Books",
      ["Connection", "Pair", "Integrity", "Checksum failures", "Resyncs"],
      connections.flatMap((c) =>
        ((c.books ?? []) as Json[]).map((
          b,
        ) => [
          c.name,
          b.symbol,
          b.integrity,
          String(b.checksumFailures),
          String(b.resyncs),
        ])
      ),
    ),
  );
  const kinds = Object.entries(ops.errorsByKind ?? {}).map(([k, v]) =>
    `${k} ${v}`
  ).join(", ");
  parts.push(
    table(
      `Errors${kinds ? ` (${kinds})` : ""}`,
      ["Time", "Kind", "Source", "Message"],
      ((ops.errors ?? []) as Json[]).slice(-20).reverse().map((
        e,
      ) => [time(e.atMs), e.kind, e.source, e.message]),
    ),
  );
  const orders = (ops.orders ?? []) as Json[];
  const row = (o: Json) => [
    time(o.atMs),
    o.order ?? "—",
    String(o.type),
    String(o.detail ?? ""),
    o.rid ?? "—",
  ];
  // Actions on orders that are not lifecycle steps (the repositioner's
  // amends and cancels, any kind added later) get a table of their own, so
  // a burst of fills does not hide them.
  const actions = orders.filter((o) => !LIFECYCLE.has(o.type));
  if (actions.length > 0) {
    const kinds = [...new Set(actions.map((o) => String(o.type)))].join(", ");
    parts.push(
      table(
        `Actions (${kinds})`,
        ["Time", "Order", "Action", "Detail", "Request"],
        actions.slice(-30).reverse().map(row),
      ),
    );
  }
  parts.push(
    table(
      "Order events",
      ["Time", "Order", "Event", "Detail", "Request"],
      orders.slice(-30).reverse().map(row),
    ),
  );
  const dm = ops.deadMan;
  parts.push(
    el(
      "p",
      dm
        ? `Dead-man switch: ${dm.phase}${
          dm.expiresAtMs ? `, expires ${time(dm.expiresAtMs)} UTC` : ""
        }${dm.failures > 0 ? `, ${dm.failures} failed refreshes` : ""}`
        : "Dead-man switch: not armed",
      "ops-deadman",
    ),
  );
  for (const [key, value] of Object.entries(ops)) {
    if (!KNOWN.has(key)) parts.push(genericSection(key, value));
  }
  root.replaceChildren(...parts);
}

/** Where the view follows the server's ops numbers. */
export const OPS_STREAM_URL = "/api/private/events?topics=ops";

/** How long a refused stream waits before it is tried again, ms. */
const RETRY_MS = 5_000;

/** The `#/ops` view: shown while the hash is `#/ops`, streaming meanwhile. */
export class OpsView {
  #root: HTMLElement;
  #content: HTMLElement;
  #state: HTMLElement;
  #source: EventSource | undefined;
  #snapshot: Record<string, unknown> = {};
  #frame: number | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param root The view's section (hidden until `#/ops`); it holds an
   *   element `[data-ops-content]` and `[data-ops-state]`.
   */
  constructor(root: HTMLElement) {
    this.#root = root;
    this.#content = root.querySelector<HTMLElement>("[data-ops-content]") ??
      root;
    this.#state = root.querySelector<HTMLElement>("[data-ops-state]") ?? root;
  }

  /** Follow the hash: open on `#/ops`, close on anything else. */
  start(): void {
    addEventListener("hashchange", () => this.#route());
    this.#route();
  }

  #route(): void {
    if (location.hash === OPS_HASH) this.#open();
    else this.#close();
  }

  #open(): void {
    this.#root.hidden = false;
    document.body.classList.add("ops-open");
    if (this.#source !== undefined || this.#retry !== undefined) return;
    this.#connect();
  }

  #connect(): void {
    this.#state.textContent = "connecting…";
    const source = new EventSource(OPS_STREAM_URL);
    this.#source = source;
    source.addEventListener("open", () => {
      // A new stream starts with the whole snapshot: drop the old one.
      this.#snapshot = {};
    });
    source.addEventListener("ops", (event) => {
      this.#state.textContent = "live";
      try {
        Object.assign(this.#snapshot, JSON.parse((event as MessageEvent).data));
      } catch (error) {
        this.#state.textContent = `cannot show: ${String(error)}`;
        return;
      }
      this.#frame ??= requestAnimationFrame(() => {
        this.#frame = undefined;
        try {
          renderOps(this.#content, this.#snapshot);
        } catch (error) {
          this.#state.textContent = `cannot show: ${String(error)}`;
        }
      });
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        // The browser reconnects by itself.
        this.#state.textContent = "reconnecting…";
        return;
      }
      // Refused (an HTTP error, not a stream): say why, try again later.
      source.close();
      if (this.#source !== source) return;
      this.#source = undefined;
      void this.#refused().then((reason) => {
        if (this.#root.hidden) return;
        this.#state.textContent = `${reason}; retrying in ${RETRY_MS / 1000} s`;
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          if (!this.#root.hidden) this.#connect();
        }, RETRY_MS);
      });
    };
  }

  /** Why the stream was refused: the server's JSON error for the same guard. */
  async #refused(): Promise<string> {
    try {
      const res = await fetch("/api/ops", { cache: "no-store" });
      if (res.ok) {
        await res.body?.cancel();
        return "the event stream was refused";
      }
      const body = await res.json().catch(() => undefined);
      return String(body?.error?.message ?? `HTTP ${res.status}`);
    } catch {
      return "the server is not answering";
    }
  }

  #close(): void {
    this.#root.hidden = true;
    document.body.classList.remove("ops-open");
    this.#source?.close();
    this.#source = undefined;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
  }
}
