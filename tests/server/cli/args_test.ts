import assert from "node:assert/strict";
import { parseFlags, parseSince } from "../../../server/cli/args.ts";

Deno.test("parseFlags() reads booleans, values and positionals", async (t) => {
  const spec = {
    booleans: ["json"],
    values: ["since", "format"],
    positionals: ["pair", "timeframe"],
  };
  await t.step("mixed order, both value spellings", () => {
    const parsed = parseFlags(
      ["--since", "5", "XBTUSD", "--json", "1h", "--format=csv"],
      spec,
    );
    assert.ok(parsed !== "help" && !("error" in parsed));
    assert.deepEqual([...parsed.booleans], ["json"]);
    assert.deepEqual([...parsed.values], [["since", "5"], ["format", "csv"]]);
    assert.deepEqual(parsed.positionals, ["XBTUSD", "1h"]);
  });
  await t.step("-- ends the flags", () => {
    const parsed = parseFlags(["XBTUSD", "--", "--odd"], spec);
    assert.ok(parsed !== "help" && !("error" in parsed));
    assert.deepEqual(parsed.positionals, ["XBTUSD", "--odd"]);
  });
  await t.step("help anywhere", () => {
    assert.equal(parseFlags(["XBTUSD", "-h"], spec), "help");
    assert.equal(parseFlags(["--bogus", "--help"], spec), "help");
  });
  await t.step("errors name the argument", () => {
    assert.deepEqual(parseFlags(["--bogus"], spec), {
      error: 'Unknown flag "--bogus"',
    });
    assert.deepEqual(parseFlags(["a", "b", "--json=1"], spec), {
      error: 'Flag --json takes no value, got "1"',
    });
    assert.deepEqual(parseFlags(["a", "b", "--since"], spec), {
      error: "Flag --since needs a value",
    });
    assert.deepEqual(parseFlags(["a", "b", "--since", "--json"], spec), {
      error: "Flag --since needs a value",
    });
    assert.deepEqual(parseFlags([], spec), {
      error: "Missing <pair> <timeframe>",
    });
    assert.deepEqual(parseFlags(["a"], spec), { error: "Missing <timeframe>" });
    assert.deepEqual(parseFlags(["a", "b", "c"], spec), {
      error: 'Unexpected argument "c"',
    });
  });
  await t.step("open-ended lists", () => {
    const parsed = parseFlags(["a", "b", "c"], {
      positionals: ["pair"],
      minPositionals: 1,
      maxPositionals: Infinity,
    });
    assert.ok(parsed !== "help" && !("error" in parsed));
    assert.deepEqual(parsed.positionals, ["a", "b", "c"]);
  });
});

Deno.test("parseSince() reads dates, date-times and Unix seconds as UTC", async (t) => {
  await t.step(
    "date",
    () => assert.equal(parseSince("2025-01-01"), 1735689600),
  );
  await t.step("date-time without a zone is UTC", () => {
    assert.equal(parseSince("2025-01-01T01:00"), 1735693200);
    assert.equal(parseSince("2025-01-01 01:00:30"), 1735693230);
  });
  await t.step("date-time with a zone", () => {
    assert.equal(parseSince("2025-01-01T01:00:00+01:00"), 1735689600);
    assert.equal(parseSince("2025-01-01T00:00:00.900Z"), 1735689600);
  });
  await t.step(
    "Unix seconds",
    () => assert.equal(parseSince(" 1735689600 "), 1735689600),
  );
  await t.step("rejects the rest", () => {
    for (const bad of ["yesterday", "2025-13-45", "", "1e9", "-5"]) {
      assert.throws(() => parseSince(bad), RangeError, bad);
    }
  });
});
