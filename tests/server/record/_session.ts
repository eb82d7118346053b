/**
 * What the recorder tests share around a session against the simulator: a
 * fast market clock, a busy simulated market with its WS feed, and
 * `krakked record validate --json` run through the CLI harness and parsed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { startSimulatorWithWs } from "@krakked/sim";
import { CliHarness } from "../cli/_harness.ts";

/** Where the recorder tests' market clock starts (20 s before a minute closes). */
export const MARKET_START_MS = Date.UTC(2025, 5, 15, 12, 0, 40);

/**
 * A market clock running `speed` times faster than the wall clock, so
 * minutes close within a test.
 *
 * @param startMs Market time now.
 * @param speed Market ms per wall ms.
 * @returns The clock, ms.
 */
export function fastClock(
  startMs = MARKET_START_MS,
  speed = 30,
): () => number {
  const t0 = Date.now();
  return () => startMs + (Date.now() - t0) * speed;
}

/**
 * A busy simulated market (REST and WS v2) on a {@linkcode fastClock}, and
 * the path of a store in the harness's directory. Dispose the harness
 * (`await using h = market.h`).
 *
 * @returns The harness, its simulator, the store path and the clock.
 */
export async function busyMarket(): Promise<{
  h: CliHarness;
  sim: Awaited<ReturnType<typeof startSimulatorWithWs>>;
  store: string;
  now: () => number;
}> {
  const now = fastClock();
  const h = await CliHarness.start({
    sim: { now, activity: "busy" },
    ws: true,
  });
  return {
    h,
    sim: h.sim as Awaited<ReturnType<typeof startSimulatorWithWs>>,
    store: join(h.dir, "market.duckdb"),
    now,
  };
}

/** One check of `record validate --json`. */
export interface ValidateCheck {
  name: string;
  ok: boolean;
  summary: string;
  counts: Record<string, number>;
  examples: string[];
}

/** A parsed `record validate --json` run. */
export interface Validation {
  code: number;
  checks: ValidateCheck[];
  byName: Map<string, ValidateCheck>;
}

/**
 * Run `record validate --store <store> --json` with a latency limit.
 *
 * @param h The harness (its simulator is the REST side of the checks).
 * @param store The store file.
 * @param options The market clock, and the latency limit (default one day:
 *   CI shares two cores with other suites; the bench reports the figure).
 * @returns Exit code and checks.
 */
export async function validateStore(
  h: CliHarness,
  store: string,
  options: { now: () => number; maxLatencyMs?: number },
): Promise<Validation> {
  const run = await h.run([
    "record",
    "validate",
    "--store",
    store,
    "--json",
    "--max-latency-ms",
    String(options.maxLatencyMs ?? 86_400_000),
  ], { io: { now: options.now } });
  const parsed = JSON.parse(run.stdout || "{}") as { checks?: ValidateCheck[] };
  assert.ok(parsed.checks, `${run.stdout}\n${run.stderr}`);
  return {
    code: run.code,
    checks: parsed.checks,
    byName: new Map(parsed.checks.map((c) => [c.name, c])),
  };
}

/**
 * {@linkcode validateStore}, asserting every check passed and exit code 0.
 *
 * @returns The checks by name.
 */
export async function assertValid(
  h: CliHarness,
  store: string,
  options: { now: () => number; maxLatencyMs?: number },
): Promise<Map<string, ValidateCheck>> {
  const v = await validateStore(h, store, options);
  for (const c of v.checks) {
    assert.ok(c.ok, `${c.name}: ${c.summary}\n${c.examples.join("\n")}`);
  }
  assert.equal(v.code, 0);
  return v.byName;
}
