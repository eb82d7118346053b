/**
 * The ops console (`#/ops`): what the server's own objects say, live. While
 * the view is open it follows `/api/ops/events` (one `ops` event per change
 * and one a second), and renders the REST counter with its decay and tier,
 * the per-pair trading-engine counters, queued calls and the public budget;
 * the WebSocket connections with state, uptime, reconnects and their
 * reasons, subscriptions and books (checksum failures, resyncs); the last
 * errors by kind; order events; the dead-man switch. Text only
 * (`textContent`), never HTML from the server. Closing the view (any other
 * hash) closes the stream.
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
          duration(c.uptimeMs),
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
  parts.push(
    table(
      "Order events",
      ["Time", "Order", "Event", "Detail", "Request"],
      ((ops.orders ?? []) as Json[]).slice(-30).reverse().map((
        o,
      ) => [time(o.atMs), o.order ?? "—", o.type, o.detail, o.rid ?? "—"]),
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
  root.replaceChildren(...parts);
}

/** The `#/ops` view: shown while the hash is `#/ops`, streaming meanwhile. */
export class OpsView {
  #root: HTMLElement;
  #content: HTMLElement;
  #state: HTMLElement;
  #source: EventSource | undefined;

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
    if (this.#source !== undefined) return;
    this.#state.textContent = "connecting…";
    const source = new EventSource("/api/ops/events");
    this.#source = source;
    source.addEventListener("ops", (event) => {
      this.#state.textContent = "live";
      try {
        renderOps(this.#content, JSON.parse((event as MessageEvent).data));
      } catch (error) {
        this.#state.textContent = `cannot show: ${String(error)}`;
      }
    });
    source.onerror = () => {
      this.#state.textContent = "reconnecting…";
    };
  }

  #close(): void {
    this.#root.hidden = true;
    document.body.classList.remove("ops-open");
    this.#source?.close();
    this.#source = undefined;
  }
}
