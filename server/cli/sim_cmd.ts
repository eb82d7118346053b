/**
 * `krakked sim`: the simulator standalone. Its flags are read here with the
 * CLI's one parser; the simulator member (`@krakked/sim`) starts it, prints
 * its URLs and test credentials, and stops it on Ctrl+C.
 *
 * @module
 */

import {
  type BookSource,
  BookTapeBuilder,
  type BookTapeSource,
  DEFAULT_SIM_PORT,
  formatReport,
  MAX_SYNTHETIC_PAIRS,
  realismReport,
  type RecordedBookFrame,
  type RecordedTrade,
  runSimulator,
  SIM_ACTIVITIES,
  SIM_TIERS,
  SimCatalogue,
  type SimPair,
  type TradeSource,
} from "@krakked/sim";
import { parseTimestampUs } from "@krakked/core/record/silver";
import { storedBookEntries } from "@krakked/core/record/book";
import {
  choiceFlag,
  integerFlag,
  isUsageError,
  type Parsed,
  parseFlags,
  sinceFlag,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { type CliIo, writeLine } from "./io.ts";
import { SNAPSHOT_COLUMNS, snapshotOf } from "../record/book.ts";

/**
 * Parsed `sim` flags. What is not given stays unset and the simulator's
 * own default applies (port 8791, host 127.0.0.1, seed 1, tier starter,
 * keys derived from the seed, 40 days of history).
 */
export interface SimFlags {
  /** Discriminator: the command. */
  kind: "sim";
  /** `--host`: interface to bind. */
  host?: string;
  /** `--port` (0 = any free port). */
  port?: number;
  /** `--seed` of the simulated market and account. */
  seed?: number;
  /** `--tier`: REST rate-limit tier of the simulated key. */
  tier?: typeof SIM_TIERS[number];
  /** `--api-key` to accept. */
  apiKey?: string;
  /** `--api-secret` (base64) to accept. */
  apiSecret?: string;
  /** `--history-days` of market history. */
  historyDays?: number;
  /** `--synthetic-pairs`: extra SYN001/USD… pairs. */
  syntheticPairs?: number;
  /** `--activity`: how busy the market is. */
  activity?: typeof SIM_ACTIVITIES[number];
  /** `false` with `--no-control`: no `/_sim/` fault-injection routes. */
  control: boolean;
  /** `--report`: print the realism report for the seed and exit. */
  report?: true;
  /** `--replay`: a `krakked record` store whose trades to play back. */
  replay?: string;
  /** `--speed`: replay speed (default 1). */
  speed?: number;
  /** `--from`: replay what was recorded from then on, Unix s. */
  from?: number;
  /** `--to`: replay what was recorded before then, Unix s. */
  to?: number;
}

/** Help text of `krakked sim`. */
export const SIM_HELP = `Usage: krakked sim [options]

Runs the offline Kraken-compatible simulator (simulated market data and
account) and prints its REST and WebSocket URLs and its test credentials,
which open nothing but this simulator. Ctrl+C stops it.

  --port N            port to listen on (default ${DEFAULT_SIM_PORT}; 0 = any free port)
  --host H            interface to bind (default 127.0.0.1)
  --seed S            seed of the simulated market and account (default 1)
  --api-key K         API key to accept (default: derived from the seed)
  --api-secret B64    base64 API secret to accept (default: derived from the seed)
  --tier T            REST rate-limit tier: starter, intermediate or pro (default starter)
  --history-days N    days of market history to serve (default 40)
  --synthetic-pairs N add N synthetic USD pairs SYN001/USD… (0 to ${MAX_SYNTHETIC_PAIRS}, default 0) for load tests
  --activity A        quiet, normal or busy (default normal: live Kraken trade rates;
                      quiet ≈ 2 % of that, busy 3×)
  --replay STORE      play back the trades and books a \`krakked record\` store
                      holds (read only) for their pairs: REST Trades, OHLC,
                      Ticker and the WS trade, ticker and ohlc channels show
                      the recorded ids, prices, quantities and order, and
                      REST Depth and the WS book channel the recorded book
                      (its frames checked against their checksums), from
                      start-up on; other pairs keep the simulated market
  --speed N           replay N× faster (default 1; e.g. 60 plays an hour a minute)
  --from TIME         replay only what was recorded from TIME on (a date, ISO
                      date-time in UTC, or Unix seconds; books start from the
                      last stored snapshot at or before it)
  --to TIME           … and before TIME; only the window is loaded
  --no-control        disable the /_sim/ fault-injection routes
  --report            print the realism report (trades, volume, spreads, top
                      size, update rates, empty candles per major over the
                      last 24 h, next to live figures) for --seed/--activity
                      and exit
  --help              this text`;

/**
 * Parse `sim` flags. Pure.
 *
 * @param args Arguments after `sim`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseSimFlags } from "./sim_cmd.ts";
 * parseSimFlags(["--port", "0", "--seed=7"]);
 * // { kind: "sim", port: 0, seed: 7, control: true }
 * ```
 */
export function parseSimFlags(args: readonly string[]): Parsed<SimFlags> {
  const parsed = parseFlags(args, {
    booleans: ["no-control", "report"],
    values: [
      "port",
      "host",
      "seed",
      "api-key",
      "api-secret",
      "tier",
      "history-days",
      "synthetic-pairs",
      "activity",
      "replay",
      "speed",
      "from",
      "to",
    ],
  });
  if (parsed.kind !== "flags") return parsed;
  const port = integerFlag(parsed, "port", { min: 0, max: 65_535 });
  if (isUsageError(port)) return port;
  const seed = integerFlag(parsed, "seed", { min: 0, max: 2 ** 31 - 1 });
  if (isUsageError(seed)) return seed;
  const historyDays = integerFlag(parsed, "history-days", {
    min: 1,
    max: 3650,
  });
  if (isUsageError(historyDays)) return historyDays;
  const syntheticPairs = integerFlag(parsed, "synthetic-pairs", {
    min: 0,
    max: MAX_SYNTHETIC_PAIRS,
  });
  if (isUsageError(syntheticPairs)) return syntheticPairs;
  const tier = choiceFlag(parsed, "tier", SIM_TIERS);
  if (isUsageError(tier)) return tier;
  const activity = choiceFlag(parsed, "activity", SIM_ACTIVITIES);
  if (isUsageError(activity)) return activity;
  const replay = parsed.values.get("replay");
  const speedText = parsed.values.get("speed");
  if (speedText !== undefined && replay === undefined) {
    return usageError("--speed only applies to --replay");
  }
  if (replay !== undefined && parsed.booleans.has("report")) {
    return usageError("--replay and --report do not go together");
  }
  if (replay === "") return usageError("--replay needs a store path");
  const from = sinceFlag(parsed, "from");
  if (isUsageError(from)) return from;
  const to = sinceFlag(parsed, "to");
  if (isUsageError(to)) return to;
  if ((from !== undefined || to !== undefined) && replay === undefined) {
    return usageError("--from and --to only apply to --replay");
  }
  if (from !== undefined && to !== undefined && from >= to) {
    return usageError("--from must be before --to");
  }
  let speed: number | undefined;
  if (speedText !== undefined) {
    speed = Number(speedText);
    if (
      !/^\d+(\.\d+)?$/.test(speedText) || !(speed > 0) || speed > 1_000_000
    ) {
      return usageError(
        `--speed must be a number above 0 and at most 1000000, got "${speedText}"`,
      );
    }
  }
  const host = parsed.values.get("host");
  const apiKey = parsed.values.get("api-key");
  const apiSecret = parsed.values.get("api-secret");
  return {
    kind: "sim",
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(seed === undefined ? {} : { seed }),
    ...(tier === undefined ? {} : { tier }),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(apiSecret === undefined ? {} : { apiSecret }),
    ...(historyDays === undefined ? {} : { historyDays }),
    ...(syntheticPairs === undefined ? {} : { syntheticPairs }),
    ...(activity === undefined ? {} : { activity }),
    control: !parsed.booleans.has("no-control"),
    ...(parsed.booleans.has("report") ? { report: true as const } : {}),
    ...(replay === undefined ? {} : { replay }),
    ...(speed === undefined ? {} : { speed }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
}

/** A window of recorded time (µs since the Unix epoch, `to` exclusive). */
export interface RecordingWindow {
  /** From this instant on (trade time; book receive time). */
  fromUs?: number;
  /** Before this instant. */
  toUs?: number;
}

const SIDES: ReadonlyMap<string, "buy" | "sell"> = new Map([
  ["buy", "buy"],
  ["b", "buy"],
  ["sell", "sell"],
  ["s", "sell"],
]);
const ORDER_TYPES: ReadonlyMap<string, "market" | "limit"> = new Map([
  ["market", "market"],
  ["m", "market"],
  ["limit", "limit"],
  ["l", "limit"],
]);

/** What `--replay` plays: a store's trades and its books. */
export interface Recording {
  /** Every bronze trade, per symbol in time order. */
  trades: TradeSource;
  /** Every bronze book frame entry, per symbol in receive order. */
  books: BookSource;
}

/** What `--replay` plays, its books already checked into tapes as read. */
export interface StreamedRecording {
  /** Every bronze trade, per symbol in time order. */
  trades: TradeSource;
  /** Each symbol's book, every frame pushed to its tape builder. */
  books: BookTapeSource;
}

/**
 * Book rows read per query: a store is read in pages of this many rows by
 * sequence number, so neither DuckDB (a query sorting every frame holds
 * them all) nor the loader holds more than a page of frames at a time.
 */
const BOOK_PAGE_ROWS = 1024;

/** How a recording is read. */
export interface LoadOptions {
  /**
   * Book sequence numbers read per query (default 1024): at most that
   * many frames are held at a time.
   */
  pageRows?: number;
}

type Connection = Awaited<
  ReturnType<
    Awaited<
      ReturnType<typeof import("@duckdb/node-api").DuckDBInstance.create>
    >["connect"]
  >
>;

/** Open a store read-only, run `read` on a connection, close it. */
async function withStore<T>(
  path: string,
  read: (db: Connection) => Promise<T>,
): Promise<T> {
  // Loaded only here: the native DuckDB binding is not needed otherwise.
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(path, {
    access_mode: "READ_ONLY",
  });
  try {
    const db = await instance.connect();
    try {
      return await read(db);
    } finally {
      db.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Every bronze trade in the window, per symbol in trade-id order, handed
 * to `sink` a result chunk at a time.
 */
async function readTrades(
  db: Connection,
  path: string,
  window: RecordingWindow,
  sink: (symbol: string, trade: RecordedTrade) => void,
): Promise<void> {
  const windowed = window.fromUs !== undefined || window.toUs !== undefined;
  // Trade time is silver's (bronze keeps WS and REST spellings).
  const result = await db.stream(
    `SELECT b.symbol, b.side, b.price, b.qty, b.ord_type,
       CAST(b.trade_id AS VARCHAR) AS trade_id, b.timestamp
     FROM bronze_trades_kraken b
     ${
      windowed
        ? `JOIN silver_trades_data s ON s.exchange = 'kraken'
             AND s.exchange_symbol = b.symbol
             AND s.exchange_trade_id = b.trade_id
           WHERE epoch_us(s.ts) >= $1 AND epoch_us(s.ts) < $2`
        : ""
    }
     ORDER BY b.symbol, b.trade_id`,
    windowed
      ? [window.fromUs ?? -1, window.toUs ?? Number.MAX_SAFE_INTEGER]
      : [],
  );
  for await (const rows of result.yieldRowObjects()) {
    for (const row of rows) {
      const symbol = String(row.symbol);
      // WS rows say buy/sell and market/limit; REST backfill rows keep
      // REST's b/s and m/l (bronze stores what was sent).
      const side = SIDES.get(String(row.side));
      const ordType = ORDER_TYPES.get(String(row.ord_type));
      const tradeId = Number(row.trade_id);
      if (
        side === undefined || ordType === undefined ||
        !Number.isSafeInteger(tradeId)
      ) {
        throw new Error(
          `${path}: ${symbol} trade ${String(row.trade_id)} is not a trade`,
        );
      }
      sink(symbol, {
        tradeId,
        price: String(row.price),
        qty: String(row.qty),
        side,
        ordType,
        timeUs: parseTimestampUs(String(row.timestamp)),
      });
    }
  }
}

/**
 * Every bronze book frame entry in the window, per symbol in receive
 * order, handed to `sink` one at a time, read a page of `pageRows`
 * sequence numbers at a time (the store's order).
 * With `fromUs`, each symbol first gets its last stored snapshot at or
 * before it.
 */
async function readBooks(
  db: Connection,
  path: string,
  window: RecordingWindow,
  sink: (symbol: string, frame: RecordedBookFrame) => void,
  pageRows = BOOK_PAGE_ROWS,
): Promise<void> {
  if (!Number.isSafeInteger(pageRows) || pageRows < 1) {
    throw new RangeError(`pageRows must be a positive integer: ${pageRows}`);
  }
  const fromUs = window.fromUs ?? -1;
  const toUs = window.toUs ?? Number.MAX_SAFE_INTEGER;
  // Each symbol's last stored snapshot at or before the window: its
  // book's start, and the frames after it are read from there.
  if (window.fromUs !== undefined) {
    const snaps = await db.runAndReadAll(
      `SELECT ${SNAPSHOT_COLUMNS} FROM book_snapshots
       WHERE epoch_us(taken_at) <= $1
       QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY seq DESC) = 1`,
      [fromUs],
    );
    for (const row of snaps.getRowObjects()) {
      const snap = snapshotOf(row);
      sink(String(row.symbol), {
        type: "snapshot",
        timeUs: snap.takenUs,
        stream: snap.stream,
        depth: snap.depth,
        checksum: snap.checksum,
        bids: snap.bids,
        asks: snap.asks,
      });
    }
  }
  // A frame with several symbols is stored once per entry, each row
  // with the whole frame: entries are matched to rows in order.
  let raw: string | undefined;
  let entries: ReturnType<typeof storedBookEntries> = [];
  let used = new Set<number>();
  // Pages are ranges of `seq` (unique, the store's order): each query
  // reads its rows only, where `ORDER BY seq LIMIT n` ranks the rest.
  // (Without a start, no snapshot is taken before it: every frame
  // received before `toUs`, with no join to make per page.)
  const frames = window.fromUs === undefined
    ? `FROM bronze_book_kraken b
       WHERE epoch_us(b.received_at) < $1 AND epoch_us(b.received_at) >= $2`
    : `FROM bronze_book_kraken b
       LEFT JOIN (
         SELECT upper(symbol) AS symbol, max(seq) AS seq FROM book_snapshots
         WHERE epoch_us(taken_at) <= $2 GROUP BY 1) s
       ON s.symbol = upper(b.symbol)
       WHERE epoch_us(b.received_at) < $1
         AND CASE WHEN s.seq IS NULL THEN epoch_us(b.received_at) >= $2
                  ELSE b.seq > s.seq END`;
  // The window's first and last sequence numbers after `afterSeq`.
  const span = async (afterSeq: number) => {
    const [row] = (await db.runAndReadAll(
      `SELECT min(b.seq) AS lo, max(b.seq) AS hi ${frames} AND b.seq > $3`,
      [toUs, fromUs, afterSeq],
    )).getRowObjects();
    return row === undefined || row.lo === null
      ? undefined
      : { lo: Number(row.lo), hi: Number(row.hi) };
  };
  let range = await span(-1);
  for (let next = range?.lo ?? 0; range !== undefined && next <= range.hi;) {
    const page = await db.runAndReadAll(
      `SELECT b.seq, b.symbol, b.type, b.checksum, b.depth, b.stream, b.raw,
         epoch_us(b.received_at) AS received_us
       ${frames} AND b.seq >= $3 AND b.seq < $4
       ORDER BY b.seq`,
      [toUs, fromUs, next, next + pageRows],
    );
    const rows = page.getRowObjects();
    for (const row of rows) {
      const text = String(row.raw);
      if (text !== raw) {
        raw = text;
        try {
          entries = storedBookEntries(text);
        } catch (error) {
          throw new Error(
            `${path}: book frame seq ${String(row.seq)}: ${
              error instanceof Error ? error.message : String(error)
            }`,
          );
        }
        used = new Set();
      }
      const symbol = String(row.symbol);
      const type = String(row.type);
      const index = entries.findIndex((e, i) =>
        !used.has(i) && e.symbol === symbol
      );
      if (index < 0 || (type !== "snapshot" && type !== "update")) {
        throw new Error(
          `${path}: book frame seq ${
            String(row.seq)
          } has no ${type} entry for ${symbol}`,
        );
      }
      used.add(index);
      const entry = entries[index]!;
      sink(symbol, {
        type,
        timeUs: Number(row.received_us),
        stream: String(row.stream),
        depth: Number(row.depth),
        checksum: Number(row.checksum),
        bids: entry.bids,
        asks: entry.asks,
      });
    }
    next += pageRows;
    // Over a gap in the sequence, straight to the next row.
    if (rows.length === 0) {
      range = await span(next - 1);
      next = range?.lo ?? next;
    }
  }
}

/** Trades per symbol in time order, as the simulator's source. */
function tradeSource(trades: Map<string, RecordedTrade[]>): TradeSource {
  for (const list of trades.values()) {
    list.sort((a, b) => a.timeUs - b.timeUs || a.tradeId - b.tradeId);
  }
  return {
    symbols: [...trades.keys()],
    trades: (symbol) => trades.get(symbol) ?? [],
    release: () => trades.clear(),
  };
}

/** Append to a symbol's list in a map. */
function collect<T>(map: Map<string, T[]>): (symbol: string, item: T) => void {
  return (symbol, item) => {
    const list = map.get(symbol);
    if (list === undefined) map.set(symbol, [item]);
    else list.push(item);
  };
}

/**
 * Read a `krakked record` store for replay: every row of its bronze trade
 * table (the fields exactly as Kraken's WS v2 `trade` channel sent them),
 * per symbol in time order, and every entry of its bronze book table (the
 * levels as the exact text of the stored frame), per symbol in receive
 * order. The simulator checks the books itself when it loads them. The
 * file is opened read-only and closed before this returns.
 * {@linkcode streamRecording} reads the same rows without holding the
 * book frames (what `krakked sim --replay` uses).
 *
 * With a window, only its trades (by trade time) and book frames (by
 * receive time) are read, so a long store replays a slice without loading
 * the rest. A symbol's book then starts from the last stored snapshot
 * (`book_snapshots`, a verified copy) at or before `fromUs`, played as a
 * snapshot frame at the time it was taken, followed by every frame after
 * it: Kraken sends a snapshot only when a client subscribes, so a window
 * starting mid-stream would otherwise have no book until the next
 * reconnect.
 *
 * @param path The DuckDB store file.
 * @param window The recorded time to read (default: all of it).
 * @param options How to read it (`pageRows`).
 * @returns The trades and books, as the simulator's sources.
 * @throws {Error} When the file cannot be opened read-only, is not a
 *   recorder store, or holds a row that is not a trade or a book frame.
 * @example Load
 * ```ts ignore
 * import { loadRecording } from "./sim_cmd.ts";
 * const { trades, books } = await loadRecording("market.duckdb");
 * trades.symbols; // ["BTC/USD", …]
 * books.symbols; // [] when recorded without --channels book
 * ```
 */
export async function loadRecording(
  path: string,
  window: RecordingWindow = {},
  options: LoadOptions = {},
): Promise<Recording> {
  const trades = new Map<string, RecordedTrade[]>();
  const books = new Map<string, RecordedBookFrame[]>();
  await withStore(path, async (db) => {
    await readTrades(db, path, window, collect(trades));
    await readBooks(db, path, window, collect(books), options.pageRows);
  });
  return {
    trades: tradeSource(trades),
    books: {
      symbols: [...books.keys()],
      frames: (symbol) => books.get(symbol) ?? [],
      release: () => books.clear(),
    },
  };
}

/**
 * Read a `krakked record` store for replay as {@linkcode loadRecording}
 * does, but check each book frame into its symbol's tape
 * (`BookTapeBuilder`, the simulator's own book rules and checksum) as it
 * is read, a page of rows at a time, and keep no frame: memory is the
 * tapes (a fraction of the frames) and one page, however long the
 * recording.
 *
 * @param path The DuckDB store file.
 * @param window The recorded time to read (default: all of it).
 * @param resolve The simulator's pair for a recorded symbol (its
 *   catalogue's `resolvePair`).
 * @param options How to read it (`pageRows`).
 * @returns The trades, and the books as tape builders.
 * @throws {Error} As {@linkcode loadRecording}. A book symbol `resolve`
 *   does not know is listed, and its `builder` throws a `RangeError`
 *   (`Unknown asset pair: …`), as the market does for any such symbol.
 * @example Stream
 * ```ts ignore
 * import { streamRecording } from "./sim_cmd.ts";
 * import { resolvePair } from "@krakked/sim";
 * const { books } = await streamRecording("market.duckdb", {}, resolvePair);
 * books.builder("BTC/USD").frames; // frames read for BTC/USD
 * ```
 */
export async function streamRecording(
  path: string,
  window: RecordingWindow,
  resolve: (symbol: string) => SimPair | undefined,
  options: LoadOptions = {},
): Promise<StreamedRecording> {
  const trades = new Map<string, RecordedTrade[]>();
  // A symbol the simulator does not know stays listed (the market refuses
  // it as it refuses an unknown trade symbol); its frames are not kept.
  const books = new Map<string, BookTapeBuilder | undefined>();
  await withStore(path, async (db) => {
    await readTrades(db, path, window, collect(trades));
    await readBooks(db, path, window, (symbol, frame) => {
      let builder = books.get(symbol);
      if (builder === undefined && !books.has(symbol)) {
        const pair = resolve(symbol);
        builder = pair === undefined ? undefined : new BookTapeBuilder(pair);
        books.set(symbol, builder);
      }
      builder?.push(frame);
    }, options.pageRows);
  });
  return {
    trades: tradeSource(trades),
    books: {
      symbols: [...books.keys()],
      builder: (symbol) => {
        const builder = books.get(symbol);
        if (builder === undefined) {
          throw new RangeError(
            books.has(symbol)
              ? `Unknown asset pair: ${symbol}`
              : `No recorded book for ${symbol}`,
          );
        }
        return builder;
      },
      release: () => books.clear(),
    },
  };
}

/**
 * Run `krakked sim` until SIGINT/SIGTERM.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @returns 0 after a clean stop, 1 when the simulator cannot start.
 * @example Run
 * ```ts ignore
 * import { runSim } from "./sim_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runSim({ kind: "sim", port: 0, control: true }, denoIo());
 * ```
 */
export async function runSim(flags: SimFlags, io: CliIo): Promise<number> {
  if (flags.report) {
    const header = {
      seed: flags.seed ?? 1,
      activity: flags.activity ?? "normal",
      atMs: Date.now(),
    };
    const rows = realismReport(header);
    for (const line of formatReport(rows, header)) {
      writeLine(io.stdout, line);
    }
    return 0;
  }
  let recording: StreamedRecording | undefined;
  if (flags.replay !== undefined) {
    // The simulator's catalogue (as it will build it) checks the books.
    const catalogue = SimCatalogue.create({
      syntheticPairs: flags.syntheticPairs ?? 0,
    });
    try {
      recording = await streamRecording(flags.replay, {
        ...(flags.from === undefined ? {} : { fromUs: flags.from * 1e6 }),
        ...(flags.to === undefined ? {} : { toUs: flags.to * 1e6 }),
      }, (symbol) => catalogue.resolvePair(symbol));
    } catch (error) {
      writeLine(
        io.stderr,
        `sim: cannot read the store ${flags.replay}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
      return 1;
    }
    if (
      recording.trades.symbols.length === 0 &&
      recording.books.symbols.length === 0
    ) {
      writeLine(
        io.stderr,
        `sim: ${flags.replay} holds no trades or books to replay${
          flags.from === undefined && flags.to === undefined
            ? ""
            : " in that window"
        }`,
      );
      return 1;
    }
  }
  return await runSimulator({
    ...(flags.host === undefined ? {} : { hostname: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.tier === undefined ? {} : { tier: flags.tier }),
    ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
    ...(flags.apiSecret === undefined ? {} : { apiSecret: flags.apiSecret }),
    ...(flags.historyDays === undefined
      ? {}
      : { historyDays: flags.historyDays }),
    ...(flags.syntheticPairs === undefined
      ? {}
      : { syntheticPairs: flags.syntheticPairs }),
    ...(flags.activity === undefined ? {} : { activity: flags.activity }),
    ...(recording === undefined ? {} : {
      replay: {
        source: recording.trades,
        books: recording.books,
        speed: flags.speed ?? 1,
      },
    }),
    control: flags.control,
  }, {
    stdout: (line) => writeLine(io.stdout, line),
    stderr: (line) => writeLine(io.stderr, line),
    ...(io.stop === undefined ? {} : { signal: io.stop }),
  });
}

/** `krakked sim`, for the command table. */
export const simCommand: Command<SimFlags> = {
  name: "sim",
  summary: "Run the Kraken-compatible simulator standalone",
  help: SIM_HELP,
  parse: parseSimFlags,
  run: runSim,
};
