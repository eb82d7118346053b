import assert from "node:assert/strict";
import {
  choiceFlag,
  integerFlag,
  isUsageError,
  type ParsedFlags,
  parseFlags,
  parseSince,
  usageError,
} from "../../../server/cli/args.ts";

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
    assert.ok(parsed.kind === "flags");
    assert.deepEqual([...parsed.booleans], ["json"]);
    assert.deepEqual([...parsed.values], [["since", "5"], ["format", "csv"]]);
    assert.deepEqual(parsed.positionals, ["XBTUSD", "1h"]);
  });
  await t.step("-- ends the flags", () => {
    const parsed = parseFlags(["XBTUSD", "--", "--odd"], spec);
    assert.ok(parsed.kind === "flags");
    assert.deepEqual(parsed.positionals, ["XBTUSD", "--odd"]);
  });
  await t.step("help anywhere", () => {
    assert.deepEqual(parseFlags(["XBTUSD", "-h"], spec), { kind: "help" });
    assert.deepEqual(parseFlags(["--bogus", "--help"], spec), { kind: "help" });
    // After "--" it is an argument, not a request for help.
    assert.equal(parseFlags(["a", "--", "--help"], spec).kind, "flags");
  });
  await t.step("errors name the argument", () => {
    assert.deepEqual(parseFlags(["--bogus"], spec), {
      kind: "usage_error",
      message: 'Unknown flag "--bogus"',
    });
    assert.deepEqual(parseFlags(["a", "b", "--json=1"], spec), {
      kind: "usage_error",
      message: 'Flag --json takes no value, got "1"',
    });
    assert.deepEqual(parseFlags(["a", "b", "--since"], spec), {
      kind: "usage_error",
      message: "Flag --since needs a value",
    });
    assert.deepEqual(parseFlags(["a", "b", "--since", "--json"], spec), {
      kind: "usage_error",
      message: "Flag --since needs a value",
    });
    assert.deepEqual(parseFlags([], spec), {
      kind: "usage_error",
      message: "Missing <pair> <timeframe>",
    });
    assert.deepEqual(parseFlags(["a"], spec), {
      kind: "usage_error",
      message: "Missing <timeframe>",
    });
    assert.deepEqual(parseFlags(["a", "b", "c"], spec), {
      kind: "usage_error",
      message: 'Unexpected argument "c"',
    });
  });
  await t.step("open-ended lists", () => {
    const parsed = parseFlags(["a", "b", "c"], {
      positionals: ["pair"],
      minPositionals: 1,
      maxPositionals: Infinity,
    });
    assert.ok(parsed.kind === "flags");
    assert.deepEqual(parsed.positionals, ["a", "b", "c"]);
  });
});

Deno.test("parseFlags() reads short aliases and refuses empty values", () => {
  const parsed = parseFlags(["-y", "--name=x"], {
    booleans: ["yes"],
    values: ["name"],
    aliases: { "-y": "yes" },
  });
  assert.ok(parsed.kind === "flags");
  assert.deepEqual([...parsed.booleans], ["yes"]);
  assert.deepEqual(parseFlags(["--name="], { values: ["name"] }), {
    kind: "usage_error",
    message: "Flag --name needs a value",
  });
  assert.deepEqual(parseFlags(["--name", ""], { values: ["name"] }), {
    kind: "usage_error",
    message: "Flag --name needs a value",
  });
});

Deno.test("integerFlag() and choiceFlag() give a value or a usage error", async (t) => {
  const flags = (args: string[]) =>
    parseFlags(args, { values: ["port", "tier"] }) as ParsedFlags;
  await t.step("integers within a range", () => {
    const range = { min: 0, max: 65_535 };
    assert.equal(integerFlag(flags(["--port", "9000"]), "port", range), 9000);
    assert.equal(integerFlag(flags([]), "port", range), undefined);
    for (const bad of ["99999", "x", "-1", "1.5", "1e3"]) {
      const result = integerFlag(flags(["--port", bad]), "port", range);
      assert.ok(isUsageError(result), bad);
      assert.equal(
        result.message,
        `--port needs a whole number from 0 to 65535, got ${
          JSON.stringify(bad)
        }`,
      );
    }
  });
  await t.step("one of a set", () => {
    const tiers = ["starter", "intermediate", "pro"] as const;
    assert.equal(choiceFlag(flags(["--tier=pro"]), "tier", tiers), "pro");
    assert.equal(choiceFlag(flags([]), "tier", tiers), undefined);
    assert.deepEqual(
      choiceFlag(flags(["--tier", "gold"]), "tier", tiers),
      usageError(
        '--tier must be one of starter, intermediate, pro, got "gold"',
      ),
    );
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
