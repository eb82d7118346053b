/**
 * `krakked record export`: the store's layers as Parquet (or CSV) files
 * for other tools, written by DuckDB's own `COPY … TO` with hive
 * partitioning by exchange and trade date:
 *
 * ```
 * OUT/silver_trades/exchange=kraken/date=2026-01-01/data_0.parquet
 * OUT/ohlcv_1m/exchange=kraken/date=2026-01-01/data_0.parquet
 * OUT/bronze_trades_kraken/exchange=kraken/date=…/…
 * ```
 *
 * Bronze covers trades, their frames, and the `book` channel's frames and
 * snapshots. `OUT/record_symbols/exchange=kraken/` holds each pair's
 * symbols and precisions, for `record import`.
 *
 * The partition columns live in the directory names, not the files (read
 * them back with `read_parquet('OUT/silver_trades/**\/*.parquet',
 * hive_partitioning = true)`; Spark, Polars, pandas and ClickHouse read the
 * same layout). Each table's directory is replaced on export, so a file
 * never mixes two exports. Decimals stay `DECIMAL(38,18)` in Parquet and
 * silver's `original` stays a map.
 *
 * @module
 */

import type { RecordStore } from "./store.ts";
import { GOLD_TIMEFRAMES } from "@krakked/core/record/gold";
import { goldTable } from "./schema.ts";

/** File formats of {@linkcode exportStore}. */
export const EXPORT_FORMATS = ["parquet", "csv"] as const;

/** A file format of {@linkcode exportStore}. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** Layers of the store. */
export type ExportLayer = "bronze" | "silver" | "gold";

/** What {@linkcode exportStore} wrote for one table. */
export interface ExportedTable {
  /** The store table. */
  table: string;
  /**
   * Its layer; `meta` for `record_symbols` (each pair's precisions, written
   * whatever the layers, partitioned by exchange only).
   */
  layer: ExportLayer | "meta";
  /** Rows written (every row of the table). */
  rows: number;
  /** Files written under `dir`. */
  files: number;
  /** The table's directory. */
  dir: string;
}

/** One exported table: its layer and the SELECT adding `exchange` and `date`. */
interface Source {
  table: string;
  layer: ExportLayer;
  select: string;
}

/** The store's tables as partitionable SELECTs. */
export function exportSources(): Source[] {
  // Bronze keeps Kraken's own timestamp text; its date is that of the
  // trade as Kraken stamped it (the receive date when the text is not a
  // time, as for a row silver rejected).
  const sources: Source[] = [
    {
      table: "bronze_trades_kraken",
      layer: "bronze",
      select: `SELECT 'kraken' AS exchange,
        coalesce(CAST(TRY_CAST(timestamp AS TIMESTAMP) AS DATE),
          CAST(received_at AS DATE)) AS "date", *
        FROM bronze_trades_kraken`,
    },
    {
      table: "bronze_frames_kraken",
      layer: "bronze",
      select: `SELECT 'kraken' AS exchange,
        CAST(received_at AS DATE) AS "date", * FROM bronze_frames_kraken`,
    },
    {
      table: "bronze_book_kraken",
      layer: "bronze",
      select: `SELECT 'kraken' AS exchange,
        CAST(received_at AS DATE) AS "date", * FROM bronze_book_kraken`,
    },
    {
      table: "book_snapshots",
      layer: "bronze",
      select: `SELECT 'kraken' AS exchange,
        CAST(taken_at AS DATE) AS "date", * FROM book_snapshots`,
    },
    {
      table: "silver_trades",
      layer: "silver",
      select: `SELECT CAST(ts AS DATE) AS "date", * FROM silver_trades`,
    },
  ];
  for (const tf of GOLD_TIMEFRAMES) {
    sources.push({
      table: goldTable(tf),
      layer: "gold",
      select: `SELECT CAST(bucket AS DATE) AS "date", * FROM ${goldTable(tf)}`,
    });
  }
  return sources;
}

/**
 * Export the store's tables, each partitioned by exchange and date, in one
 * read transaction (one consistent snapshot of every table).
 *
 * @param store An open store.
 * @param options `format`, the output directory `out` (created; each
 *   table's subdirectory is replaced), and which `layers` (default all).
 * @returns One entry per table, with its row and file counts.
 * @throws {TypeError} On an unknown format.
 * @throws {Error} DuckDB's error when a file cannot be written.
 */
export async function exportStore(
  store: RecordStore,
  options: {
    format: ExportFormat;
    out: string;
    layers?: readonly ExportLayer[];
  },
): Promise<ExportedTable[]> {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw new TypeError(
      `Cannot export as "${options.format}": expected parquet or csv`,
    );
  }
  const layers = new Set(options.layers ?? ["bronze", "silver", "gold"]);
  await Deno.mkdir(options.out, { recursive: true });
  const formatSql = options.format === "parquet"
    ? "FORMAT parquet, COMPRESSION zstd"
    : "FORMAT csv, HEADER true";
  const out: ExportedTable[] = [];
  await store.query("BEGIN TRANSACTION");
  try {
    for (const source of exportSources()) {
      if (!layers.has(source.layer)) continue;
      const dir = `${options.out}/${source.table}`;
      const [row] = await store.query(
        `COPY (${source.select}) TO '${dir.replaceAll("'", "''")}'
         (${formatSql}, PARTITION_BY (exchange, "date"), OVERWRITE true)`,
      );
      // An empty table writes no directory.
      const files = await countFiles(dir);
      out.push({
        table: source.table,
        layer: source.layer,
        rows: Number(row?.Count ?? 0),
        files,
        dir,
      });
    }
    // The pairs' precisions (gold's vwap is rounded to them), so an import
    // registers them without asking AssetPairs; no date of their own.
    const symbolsDir = `${options.out}/record_symbols`;
    const [symbolsRow] = await store.query(
      `COPY (SELECT * FROM record_symbols)
       TO '${symbolsDir.replaceAll("'", "''")}'
       (${formatSql}, PARTITION_BY (exchange), OVERWRITE true)`,
    );
    out.push({
      table: "record_symbols",
      layer: "meta",
      rows: Number(symbolsRow?.Count ?? 0),
      files: await countFiles(symbolsDir),
      dir: symbolsDir,
    });
    await store.query("COMMIT");
  } catch (error) {
    await store.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return out;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      n += entry.isDirectory ? await countFiles(`${dir}/${entry.name}`) : 1;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return n;
}
