/**
 * Krakked's configuration: `config.yaml` parsed into a typed, validated,
 * read-only object with documented defaults.
 *
 * - A missing file means every default (pass `undefined` as the text).
 * - Malformed YAML or a wrong type gives a {@linkcode ConfigError} naming the
 *   key path and, where the parser knows it, the line.
 * - Unknown keys are warnings, not errors.
 *
 * The defaults are listed in {@linkcode DEFAULT_CONFIG} and in the README.
 *
 * @module
 */

// deno-lint-ignore-file camelcase -- the property names are the YAML keys users write and the README documents

import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { Tier } from "../rest/ratelimit.ts";

/** Trading modes, least to most powerful. */
export type TradingMode = "read_only" | "dry_run" | "paper" | "live";
/**
 * Kraken API tiers: the rate limiter's {@linkcode Tier}, so
 * `connection.api_tier` can be handed to `RestClient({ tier })` as is.
 */
export type ApiTier = Tier;

/** The region profile: what the account may trade. */
export interface RegionProfile {
  /** The profile's name, e.g. `US_CA` (read-only at run time). */
  readonly profile: string;
  /** Whether margin (leverage, reduce-only, short sells) is allowed. */
  readonly supports_margin: boolean;
  /** Whether the region offers futures; informational (Krakked trades spot). */
  readonly supports_futures: boolean;
  /** Whether the region offers staking; informational (Krakked never stakes). */
  readonly supports_staking: boolean;
  /** The universe's quote currency, common code (`USD`). */
  readonly default_quote: string;
}

/** What the repositioner does to a stale, far order. */
export type RepositionActionKind = "amend" | "cancel";

/**
 * `trading.reposition`: resting limit orders that Krakked placed, older than
 * `max_age_seconds` and further than `distance_bps` from the touch, are
 * amended toward the market or cancelled (README "Stale-order repositioner").
 */
export interface RepositionConfig {
  /** Run the repositioner (`krakked serve`); default false. */
  readonly enabled: boolean;
  /** An order is stale this long after it was placed or last amended, in seconds. */
  readonly max_age_seconds: number;
  /** An order is far when its price is more than this from the touch, in basis points. */
  readonly distance_bps: number;
  /** `amend` (move the limit price toward the touch) or `cancel`. */
  readonly action: RepositionActionKind;
  /** Amend target: the touch plus this many ticks away from the market (negative: inside the spread, never crossing it). */
  readonly offset_ticks: number;
  /** At most this many actions in any 60 seconds. */
  readonly max_actions_per_minute: number;
  /** Only these pairs, any spelling; empty means every pair. */
  readonly pairs: readonly string[];
  /** How often the repositioner looks, in seconds. */
  readonly check_interval_seconds: number;
}

/** The whole configuration. */
export interface KrakkedConfig {
  /** What the account may trade. */
  readonly region: RegionProfile;
  /** Which pairs are watched and may be traded. */
  readonly universe: {
    /** Pairs to add (only if they exist), any spelling. */
    readonly include: readonly string[];
    /** Pairs to drop, any spelling; wins over `include`. */
    readonly exclude: readonly string[];
    /** Liquidity floor: `Ticker` 24 h volume × VWAP, in USD. */
    readonly min_24h_volume_usd: number;
    /** Drop every pair that lists leverage (the literal "leverage arrays empty" rule). */
    readonly exclude_leveraged_pairs: boolean;
  };
  /** Live data and candle storage. */
  readonly market_data: {
    /** WebSocket data. */
    readonly ws: {
      /** Live data older than this, in seconds, raises `StaleDataError`. */
      readonly stale_tolerance_seconds: number;
    };
    /** Where closed candles are kept. */
    readonly ohlc_store: {
      /** `file` (one CSV per pair and timeframe) or `memory`. */
      readonly backend: "file" | "memory";
      /** `null` means `<config dir>/ohlc`. `~` is expanded by the server. */
      readonly root_dir: string | null;
    };
  };
  /** Kraken endpoints (point them at the simulator to test) and limits. */
  readonly connection: {
    /** REST base URL, e.g. `https://api.kraken.com`. */
    readonly rest_url: string;
    /** Public WebSocket v2 URL, e.g. `wss://ws.kraken.com/v2`. */
    readonly ws_public_url: string;
    /** Authenticated WebSocket v2 URL, e.g. `wss://ws-auth.kraken.com/v2`. */
    readonly ws_auth_url: string;
    /** Per-request timeout, in milliseconds. */
    readonly timeout_ms: number;
    /**
     * A REST call's whole budget, in milliseconds: its wait in the
     * rate-limit queue, retries and the requests themselves. A call not
     * yet signed when it runs out is never sent. The server answers a
     * request that waits on Kraken within this plus 15 s.
     */
    readonly call_deadline_ms: number;
    /** The account's verification tier; it sets the rate-limit model. */
    readonly api_tier: ApiTier;
  };
  /** Orders and their safety gate (README "Safety model"). */
  readonly trading: {
    /** Where orders go; `read_only` refuses every order. */
    readonly mode: TradingMode;
    /** First switch for `live`; the second is `--live` or `KRAKKED_LIVE=1` at start. */
    readonly enable_live_orders: boolean;
    /** Largest notional of one entry order, in USD. */
    readonly max_notional_usd: number;
    /** Largest exposure per base asset (held + open buys + the order), in USD. */
    readonly max_position_notional_usd: number;
    /** Pairs that may be traded, any spelling; empty means the universe. */
    readonly allowed_symbols: readonly string[];
    /** Farthest a stop-loss may be from the expected fill price, in percent. */
    readonly stop_loss_max_distance_pct: number;
    /** USD a new paper account starts with. */
    readonly paper_starting_usd: number;
    /**
     * Live mode: the dead-man switch countdown (CancelAllOrdersAfter), in
     * seconds, refreshed while the server runs; 0 turns it off.
     */
    readonly dead_man_seconds: number;
    /** The stale-order repositioner (`core/trade/reposition.ts`); off by default. */
    readonly reposition: RepositionConfig;
  };
  /** The local server's listening address and request log. */
  readonly server: {
    /** Interface to bind; a non-loopback host needs `--token`. */
    readonly host: string;
    /** TCP port. */
    readonly port: number;
    /**
     * Write one in N request log lines of successful answers (status below
     * 400) of the page, status and public proxy; 1 writes every one. Error
     * answers and the account's own requests (orders, private reads) are
     * always written.
     */
    readonly log_success_sample: number;
    /**
     * The slow-client front (server/http/connection_guard.ts): header and
     * idle timeouts and connection caps. `auto` turns it on for a
     * non-loopback bind only (it costs about half of a bare server's
     * throughput); `on` and `off` force it.
     */
    readonly slow_client_guard: "auto" | "on" | "off";
    /** With the front: time for a connection's first request headers, ms. */
    readonly header_timeout_ms: number;
    /** With the front: a connection moving no byte this long closes, ms. */
    readonly idle_timeout_ms: number;
  };
}

/** Every default, documented in the README. */
export const DEFAULT_CONFIG: KrakkedConfig = deepFreeze({
  region: {
    profile: "US_CA",
    supports_margin: false,
    supports_futures: false,
    supports_staking: false,
    default_quote: "USD",
  },
  universe: {
    include: [],
    exclude: [],
    min_24h_volume_usd: 0,
    exclude_leveraged_pairs: false,
  },
  market_data: {
    ws: { stale_tolerance_seconds: 60 },
    ohlc_store: { backend: "file", root_dir: null },
  },
  connection: {
    rest_url: "https://api.kraken.com",
    ws_public_url: "wss://ws.kraken.com/v2",
    ws_auth_url: "wss://ws-auth.kraken.com/v2",
    timeout_ms: 10_000,
    call_deadline_ms: 30_000,
    api_tier: "starter",
  },
  trading: {
    mode: "read_only",
    enable_live_orders: false,
    max_notional_usd: 500,
    max_position_notional_usd: 1000,
    allowed_symbols: [],
    stop_loss_max_distance_pct: 10,
    paper_starting_usd: 10_000,
    dead_man_seconds: 60,
    reposition: {
      enabled: false,
      max_age_seconds: 300,
      distance_bps: 50,
      action: "amend",
      offset_ticks: 0,
      max_actions_per_minute: 6,
      pairs: [],
      check_interval_seconds: 10,
    },
  },
  server: {
    host: "127.0.0.1",
    port: 8787,
    log_success_sample: 100,
    slow_client_guard: "auto",
    header_timeout_ms: 10_000,
    idle_timeout_ms: 75_000,
  },
});

/** A configuration problem, naming the key path and line. */
export class ConfigError extends Error {
  /** Always `ConfigError`. */
  override name = "ConfigError";
  /** Always `config`. */
  readonly kind = "config";
  /** Dotted key path, e.g. `market_data.ws.stale_tolerance_seconds`. */
  readonly path: string;
  /** 1-based line in the file, when known. */
  readonly line: number | undefined;
  /** 1-based column in the file, when known (YAML syntax errors). */
  readonly column: number | undefined;

  /**
   * Create the error.
   *
   * @param path Dotted key path ("" for the document).
   * @param message What is wrong.
   * @param line 1-based line, when known.
   * @param column 1-based column, when known.
   */
  constructor(path: string, message: string, line?: number, column?: number) {
    const at = line === undefined
      ? ""
      : column === undefined
      ? ` (line ${line})`
      : ` (line ${line}, column ${column})`;
    super(`Invalid config${path ? ` at ${path}` : ""}${at}: ${message}`);
    this.path = path;
    this.line = line;
    this.column = column;
  }
}

/** A parsed configuration and its warnings. */
export interface LoadedConfig {
  /** The validated, frozen configuration. */
  config: KrakkedConfig;
  /** Unknown keys and similar non-fatal findings. */
  warnings: string[];
}

type Rule =
  | { t: "bool" }
  | { t: "str"; oneOf?: readonly string[]; url?: readonly string[] }
  | { t: "num"; min?: number; max?: number; int?: boolean }
  | { t: "strs"; upper?: boolean }
  | { t: "nullstr" }
  | { t: "obj"; of: Record<string, Rule> };

const SCHEMA: Rule = {
  t: "obj",
  of: {
    region: {
      t: "obj",
      of: {
        profile: { t: "str" },
        supports_margin: { t: "bool" },
        supports_futures: { t: "bool" },
        supports_staking: { t: "bool" },
        default_quote: { t: "str" },
      },
    },
    universe: {
      t: "obj",
      of: {
        include: { t: "strs", upper: true },
        exclude: { t: "strs", upper: true },
        min_24h_volume_usd: { t: "num", min: 0 },
        exclude_leveraged_pairs: { t: "bool" },
      },
    },
    market_data: {
      t: "obj",
      of: {
        ws: {
          t: "obj",
          of: { stale_tolerance_seconds: { t: "num", min: 1, max: 86_400 } },
        },
        ohlc_store: {
          t: "obj",
          of: {
            backend: { t: "str", oneOf: ["file", "memory"] },
            root_dir: { t: "nullstr" },
          },
        },
      },
    },
    connection: {
      t: "obj",
      of: {
        rest_url: { t: "str", url: ["http:", "https:"] },
        ws_public_url: { t: "str", url: ["ws:", "wss:"] },
        ws_auth_url: { t: "str", url: ["ws:", "wss:"] },
        timeout_ms: { t: "num", min: 100, max: 300_000, int: true },
        call_deadline_ms: { t: "num", min: 1_000, max: 600_000, int: true },
        api_tier: { t: "str", oneOf: ["starter", "intermediate", "pro"] },
      },
    },
    trading: {
      t: "obj",
      of: {
        mode: { t: "str", oneOf: ["read_only", "dry_run", "paper", "live"] },
        enable_live_orders: { t: "bool" },
        max_notional_usd: { t: "num", min: 0 },
        max_position_notional_usd: { t: "num", min: 0 },
        allowed_symbols: { t: "strs", upper: true },
        stop_loss_max_distance_pct: { t: "num", min: 0.01, max: 100 },
        paper_starting_usd: { t: "num", min: 0, max: 1e12 },
        dead_man_seconds: { t: "num", min: 0, max: 86_399, int: true },
        reposition: {
          t: "obj",
          of: {
            enabled: { t: "bool" },
            max_age_seconds: { t: "num", min: 1, max: 604_800 },
            distance_bps: { t: "num", min: 0, max: 10_000 },
            action: { t: "str", oneOf: ["amend", "cancel"] },
            offset_ticks: { t: "num", min: -1_000, max: 1_000, int: true },
            max_actions_per_minute: { t: "num", min: 1, max: 600, int: true },
            pairs: { t: "strs", upper: true },
            check_interval_seconds: { t: "num", min: 1, max: 3_600 },
          },
        },
      },
    },
    server: {
      t: "obj",
      of: {
        host: { t: "str" },
        port: { t: "num", min: 0, max: 65_535, int: true },
        log_success_sample: { t: "num", min: 1, max: 1_000_000, int: true },
        slow_client_guard: { t: "str", oneOf: ["auto", "on", "off"] },
        header_timeout_ms: { t: "num", min: 100, max: 300_000, int: true },
        idle_timeout_ms: { t: "num", min: 1_000, max: 3_600_000, int: true },
      },
    },
  },
};

/**
 * Parse and validate `config.yaml` text. `undefined` (no file) or an empty
 * document gives the defaults.
 *
 * @param text The YAML text, or `undefined` when the file does not exist.
 * @returns The frozen configuration and warnings.
 * @throws {ConfigError} For malformed YAML or wrong types, naming the key path and line.
 * @example Parse
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const { config } = parseConfig("market_data:\n  ws:\n    stale_tolerance_seconds: 30\n");
 * config.market_data.ws.stale_tolerance_seconds; // 30
 * config.region.default_quote; // "USD"
 * ```
 */
export function parseConfig(text: string | undefined): LoadedConfig {
  const warnings: string[] = [];
  if (text === undefined || text.trim() === "") {
    return { config: DEFAULT_CONFIG, warnings };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new ConfigError(
      "",
      yamlProblem(text, first.code, first.message, pos?.line),
      pos?.line,
      pos?.col,
    );
  }
  const lineOf = (path: string[]): number | undefined => {
    const node = doc.getIn(path, true) as
      | { range?: [number, number, number] }
      | undefined;
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  if (
    doc.contents !== null && !isMap(doc.contents) &&
    !(isScalar(doc.contents) && doc.contents.value === null)
  ) {
    throw new ConfigError("", "the document must be a mapping of sections", 1);
  }
  const raw: unknown = doc.toJS();
  const config = validate(raw ?? {}, SCHEMA, DEFAULT_CONFIG, [], {
    warnings,
    lineOf,
  });
  return { config: deepFreeze(config) as KrakkedConfig, warnings };
}

/** Hints for the YAML mistakes people make in a config file, by parser code. */
const YAML_HINTS: Readonly<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY:
    'a value that contains ": " needs quotes, and a nested key goes on its own line, indented',
  MULTILINE_IMPLICIT_KEY: "indent a nested key under its section",
  BAD_INDENT: "check the indentation and that every bracket is closed",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  DUPLICATE_KEY: "a key may appear once per section",
  MISSING_CHAR: "close the quote or bracket",
};

/**
 * One line saying what is wrong with the YAML: the parser's sentence
 * without its own position and code excerpt (which end on a colon and a
 * multi-line caret drawing), the text of the offending line, and a hint.
 */
function yamlProblem(
  text: string,
  code: string,
  message: string,
  line: number | undefined,
): string {
  const sentence = (message.split("\n")[0] ?? "")
    .replace(/ at line \d+, column \d+:?$/, "")
    .replace(/:$/, "")
    .trim() || "malformed YAML";
  const source = line === undefined
    ? undefined
    : text.split(/\r?\n/)[line - 1]?.trim();
  const where = line === undefined
    ? ""
    : source
    ? ` in ${JSON.stringify(source)}`
    : " at the end of the file";
  const hint = YAML_HINTS[code];
  return `${sentence}${where}${hint === undefined ? "" : ` (${hint})`}`;
}

interface Ctx {
  warnings: string[];
  lineOf: (path: string[]) => number | undefined;
}

function validate(
  value: unknown,
  rule: Rule,
  fallback: unknown,
  path: string[],
  ctx: Ctx,
): unknown {
  const fail = (message: string): never => {
    throw new ConfigError(path.join("."), message, ctx.lineOf(path));
  };
  const show = (v: unknown) => JSON.stringify(v) ?? String(v);
  if (value === undefined) return fallback;
  switch (rule.t) {
    case "obj": {
      if (value === null) return fallback;
      if (typeof value !== "object" || Array.isArray(value)) {
        return fail(`expected a mapping, got ${show(value)}`);
      }
      const out: Record<string, unknown> = {};
      const fb = fallback as Record<string, unknown>;
      for (const [key, sub] of Object.entries(rule.of)) {
        out[key] = validate(
          (value as Record<string, unknown>)[key],
          sub,
          fb[key],
          [...path, key],
          ctx,
        );
      }
      for (const key of Object.keys(value)) {
        if (!(key in rule.of)) {
          const p = [...path, key];
          const line = ctx.lineOf(p);
          ctx.warnings.push(
            `Unknown config key ${p.join(".")}${
              line !== undefined ? ` (line ${line})` : ""
            } is ignored`,
          );
        }
      }
      return out;
    }
    case "bool":
      return typeof value === "boolean"
        ? value
        : fail(`expected true or false, got ${show(value)}`);
    case "num": {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return fail(`expected a number, got ${show(value)}`);
      }
      if (rule.int && !Number.isInteger(value)) {
        return fail(`expected a whole number, got ${value}`);
      }
      if (rule.min !== undefined && value < rule.min) {
        return fail(`must be at least ${rule.min}, got ${value}`);
      }
      if (rule.max !== undefined && value > rule.max) {
        return fail(`must be at most ${rule.max}, got ${value}`);
      }
      return value;
    }
    case "str": {
      if (typeof value !== "string" || value.trim() === "") {
        return fail(`expected a non-empty string, got ${show(value)}`);
      }
      if (rule.oneOf && !rule.oneOf.includes(value)) {
        return fail(
          `expected one of ${rule.oneOf.join(", ")}, got ${show(value)}`,
        );
      }
      if (rule.url) {
        let protocol: string | undefined;
        try {
          protocol = new URL(value).protocol;
        } catch {
          protocol = undefined;
        }
        if (protocol === undefined || !rule.url.includes(protocol)) {
          return fail(
            `expected a ${
              rule.url.map((p) => p.slice(0, -1)).join(" or ")
            } URL, got ${show(value)}`,
          );
        }
      }
      return value;
    }
    case "nullstr":
      if (value === null) return null;
      return typeof value === "string" && value.trim() !== ""
        ? value
        : fail(`expected a path or null, got ${show(value)}`);
    case "strs": {
      if (value === null) return [];
      if (!Array.isArray(value)) {
        return fail(`expected a list, got ${show(value)}`);
      }
      return value.map((item, i) => {
        if (typeof item !== "string" || item.trim() === "") {
          throw new ConfigError(
            [...path, String(i)].join("."),
            `expected a non-empty string, got ${show(item)}`,
            ctx.lineOf([...path, String(i)]),
          );
        }
        return rule.upper ? item.trim().toUpperCase() : item.trim();
      });
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
