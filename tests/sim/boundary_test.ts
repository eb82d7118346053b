/**
 * The simulator's import boundary (server/sim/README.md, "Oracle policy").
 *
 * `@krakked/sim` is an oracle for the client in `@krakked/core`: it may
 * share Kraken's wire *types* with core (erased at run time), but never
 * any code, least of all the code that decides whether the client is right (signing, checksums, rate limits, the method table,
 * secrets handling). It imports nothing from the rest of `server/`, and no
 * relative import leaves `server/sim/`. This scan fails on any of it.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const SIM = fromFileUrl(new URL("../../server/sim/", import.meta.url));

/** What the simulator may import from core, and why. */
const CORE_ALLOWLIST: Readonly<
  Record<string, { typeOnly: boolean; names?: readonly string[]; why: string }>
> = {
  "@krakked/core/rest/types": {
    typeOnly: true,
    why:
      "Kraken's REST wire shapes (AssetPairInfo, OrderInfo, …): types only, erased at run time, no behaviour to agree with",
  },
};

/** Core modules whose logic the simulator must re-implement, never import. */
const NEVER_ALLOWED = [
  "@krakked/core/auth/sign",
  "@krakked/core/auth/mod",
  "@krakked/core/ws/book",
  "@krakked/core/ws/_crc32",
  "@krakked/core/ws/mod",
  "@krakked/core/rest/ratelimit",
  "@krakked/core/rest/methods",
  "@krakked/core/rest/mod",
  "@krakked/core/secrets/secret",
  "@krakked/core/secrets/vault",
  "@krakked/core/secrets/mod",
  "@krakked/core/trade/paper",
  "@krakked/core/decimal",
];

/** Bare specifiers other than core that the simulator may use. */
const OTHER_ALLOWED = [/^hono(\/.*)?$/];

interface ImportSite {
  specifier: string;
  typeOnly: boolean;
  /** Imported names without `type` and aliases (`undefined` for `*` or side effects). */
  names: string[] | undefined;
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function importsOf(source: string): ImportSite[] {
  const code = stripComments(source);
  const sites: ImportSite[] = [];
  const statement =
    /^\s*(?:import|export)\s+(type\s+)?(\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+["']([^"']+)["']/gm;
  for (const m of code.matchAll(statement)) {
    const clause = m[2]!;
    const braces = /\{([^}]*)\}/.exec(clause)?.[1];
    const parts = braces === undefined
      ? []
      : braces.split(",").map((p) => p.trim()).filter((p) => p !== "");
    const allTyped = parts.length > 0 &&
      parts.every((p) => p.startsWith("type "));
    const hasDefault = !clause.startsWith("{") && !clause.startsWith("*");
    sites.push({
      specifier: m[3]!,
      typeOnly: m[1] !== undefined || (allTyped && !hasDefault),
      names: clause.startsWith("*")
        ? undefined
        : parts.map((p) => p.replace(/^type\s+/, "").split(/\s+as\s+/)[0]!)
          .concat(hasDefault ? ["default"] : []),
    });
  }
  for (const m of code.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) {
    sites.push({ specifier: m[1]!, typeOnly: false, names: undefined });
  }
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    sites.push({ specifier: m[1]!, typeOnly: false, names: undefined });
  }
  return sites;
}

/**
 * Every boundary problem of one file.
 *
 * @param rel The file's path inside server/sim/.
 * @param source Its text.
 * @returns One line per problem.
 */
function problemsIn(rel: string, source: string): string[] {
  const problems: string[] = [];
  for (const site of importsOf(source)) {
    const spec = site.specifier;
    if (spec.startsWith(".")) {
      const target = relative(SIM, join(SIM, dirname(rel), spec));
      if (target.startsWith("..")) {
        problems.push(
          `${rel}: imports ${spec}, outside server/sim/ (${target})`,
        );
      }
    } else if (spec.startsWith("file:") || spec.startsWith("/")) {
      problems.push(`${rel}: imports ${spec} by absolute path`);
    } else if (spec === "@krakked/core" || spec.startsWith("@krakked/core/")) {
      const rule = CORE_ALLOWLIST[spec];
      if (!rule) {
        problems.push(
          `${rel}: imports ${spec}; the oracle policy allows only ${
            Object.keys(CORE_ALLOWLIST).join(", ")
          } from core`,
        );
      } else if (rule.typeOnly && !site.typeOnly) {
        problems.push(`${rel}: imports values from ${spec} (types only)`);
      } else if (rule.names && !site.typeOnly) {
        const extra = (site.names ?? ["*"]).filter((n) =>
          !rule.names!.includes(n)
        );
        if (extra.length > 0) {
          problems.push(
            `${rel}: imports ${extra.join(", ")} from ${spec} (only ${
              rule.names.join(", ")
            })`,
          );
        }
      }
    } else if (spec.startsWith("@krakked/")) {
      problems.push(`${rel}: imports ${spec} (another member)`);
    } else if (!OTHER_ALLOWED.some((pattern) => pattern.test(spec))) {
      problems.push(`${rel}: imports ${spec} (not an allowed dependency)`);
    }
  }
  return problems;
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* tsFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("the allowlist lets nothing through that the simulator must re-implement", () => {
  for (const spec of NEVER_ALLOWED) {
    assert.equal(Object.hasOwn(CORE_ALLOWLIST, spec), false, spec);
  }
  for (const spec of Object.keys(CORE_ALLOWLIST)) {
    assert.doesNotMatch(spec, /secrets|sign|book|crc32|ratelimit|methods/);
  }
});

Deno.test("the scan catches each kind of leak", async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "a relative import out of the member",
      'import { x } from "../../app.ts";',
      /outside server\/sim/,
    ],
    [
      "server/ by a deeper relative path",
      'import { x } from "../../cli/args.ts";',
      /outside server\/sim/,
    ],
    [
      "core by a relative path",
      'import { x } from "../../../core/ws/book.ts";',
      /outside server\/sim/,
    ],
    [
      "core's signer",
      'import { KrakenSigner } from "@krakked/core/auth/sign";',
      /allows only/,
    ],
    [
      "core's checksum",
      'import { bookChecksum } from "@krakked/core/ws/book";',
      /allows only/,
    ],
    [
      "core's CRC",
      'import { crc32Final } from "@krakked/core/ws/_crc32";',
      /allows only/,
    ],
    [
      "core's rate limits",
      'import type { Tier } from "@krakked/core/rest/ratelimit";',
      /allows only/,
    ],
    [
      "core's method table",
      'export { privateMethod } from "@krakked/core/rest/methods";',
      /allows only/,
    ],
    [
      "core's secrets",
      'import { timingSafeEqual } from "@krakked/core/secrets/secret";',
      /allows only/,
    ],
    [
      "a value from the wire types",
      'import { OrderInfo } from "@krakked/core/rest/types";',
      /types only/,
    ],
    [
      "a name from the root",
      'import { Secret } from "@krakked/core";',
      /allows only @krakked\/core\/rest\/types/,
    ],
    [
      "everything from the root",
      'import * as core from "@krakked/core";',
      /allows only @krakked\/core\/rest\/types/,
    ],
    [
      "the server member",
      'import { main } from "@krakked/server";',
      /another member/,
    ],
    [
      "a dynamic import",
      'const m = await import("../../serve.ts");',
      /outside server\/sim/,
    ],
    ["a remote module", 'import { x } from "npm:left-pad";', /not an allowed/],
  ];
  for (const [name, source, expected] of cases) {
    await t.step(name, () => {
      const problems = problemsIn("ws/feed.ts", source);
      assert.equal(problems.length, 1, `${source} → ${problems.join("; ")}`);
      assert.match(problems[0]!, expected);
    });
  }
  await t.step("what the policy allows passes", () => {
    const source = [
      'import type { OrderInfo } from "@krakked/core/rest/types";',
      'import { type AssetInfo, type AssetPairInfo } from "@krakked/core/rest/types";',
      'import { Hono } from "hono";',
      'import { Market } from "../exchange/market.ts";',
      '// import { KrakenSigner } from "@krakked/core/auth/sign";',
      '/** import { bookChecksum } from "@krakked/core/ws/book"; */',
    ].join("\n");
    assert.deepEqual(problemsIn("ws/feed.ts", source), []);
  });
});

Deno.test("server/sim/ imports only itself, hono and core's wire types", async () => {
  const problems: string[] = [];
  let files = 0;
  let coreImports = 0;
  for await (const path of tsFiles(SIM)) {
    files++;
    const source = await Deno.readTextFile(path);
    coreImports += importsOf(source).filter((s) =>
      s.specifier.startsWith("@krakked/core")
    ).length;
    problems.push(...problemsIn(relative(SIM, path), source));
  }
  assert.ok(files > 25, `the scan found the simulator's files (${files})`);
  assert.ok(coreImports > 0, "the scan sees the allowed core imports");
  assert.deepEqual(problems, []);
});
