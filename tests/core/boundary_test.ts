/**
 * core/ must stay runtime-neutral: no Deno.*, no node:* and no imports from
 * server/, worker/ or web/. deno check with the webworker lib catches most of
 * this; this scan catches the rest (node: imports type-check anywhere).
 *
 * It also guards core's public surface: core/deno.json "exports" lists
 * exactly the files without a leading underscore, barrels name what they
 * export, and `deno task check` doc-lints all of it.
 */
import assert from "node:assert/strict";
import { basename, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const CORE = fromFileUrl(new URL("../../core/", import.meta.url));

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* tsFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("core/ uses no Deno or Node APIs and imports nothing outside core/", async () => {
  const problems: string[] = [];
  let files = 0;
  for await (const path of tsFiles(CORE)) {
    files++;
    const text = await Deno.readTextFile(path);
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
      /^\s*\/\/.*$/gm,
      "",
    );
    const rel = relative(CORE, path);
    if (/(?<![\w"'`])Deno\./.test(code)) problems.push(`${rel}: uses Deno.*`);
    if (/from\s+["']node:/.test(code) || /import\(\s*["']node:/.test(code)) {
      problems.push(`${rel}: imports node:*`);
    }
    for (const m of code.matchAll(/from\s+["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) {
        const target = relative(CORE, join(path, "..", spec));
        if (target.startsWith("..")) {
          problems.push(`${rel}: imports ${spec} outside core/`);
        }
      } else if (/^@krakked\/(server|worker|web)/.test(spec)) {
        problems.push(`${rel}: imports ${spec}`);
      }
    }
    if (/\b(document|window|localStorage)\./.test(code)) {
      problems.push(`${rel}: uses the DOM`);
    }
  }
  assert.ok(files > 5, "the scan found core files");
  assert.deepEqual(problems, []);
});

Deno.test("no withdrawal or funding call exists in product code", async () => {
  const hits: string[] = [];
  for (const dir of ["core", "server", "worker", "web"]) {
    const root = fromFileUrl(new URL(`../../${dir}/`, import.meta.url));
    try {
      await Deno.stat(root);
    } catch {
      continue;
    }
    for await (const path of tsFiles(root)) {
      const text = await Deno.readTextFile(path);
      for (
        const m of text.matchAll(
          /["'`]\/?0?\/?private\/(Withdraw\w*|Deposit\w*|WalletTransfer|AccountTransfer|CreateSubaccount|Earn\/\w+)["'`]/g,
        )
      ) {
        hits.push(`${relative(root, path)}: ${m[0]}`);
      }
    }
  }
  assert.deepEqual(hits, []);
});

// The public API is core/deno.json "exports" (STYLE.md: "core's exports is
// its public API"); a leading underscore marks a file private to its folder.

async function coreExports(): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(join(CORE, "deno.json"));
  return (JSON.parse(text) as { exports: Record<string, string> }).exports;
}

function isPrivatePath(path: string): boolean {
  return path.split("/").some((segment) => segment.startsWith("_"));
}

Deno.test("core's exports are exactly its public files", async (t) => {
  const exports = await coreExports();
  await t.step(
    "each subpath is its file's path, and the file exists",
    async () => {
      const problems: string[] = [];
      for (const [subpath, target] of Object.entries(exports)) {
        // server/build.ts aliases @krakked/core to ./core for esbuild, so
        // "@krakked/core/ws/book" only resolves if the subpath is the path.
        const expected = subpath === "." ? "./mod.ts" : `${subpath}.ts`;
        if (target !== expected) {
          problems.push(`${subpath} -> ${target}, expected ${expected}`);
        }
        try {
          await Deno.stat(join(CORE, target));
        } catch {
          problems.push(`${subpath} -> ${target}: no such file`);
        }
      }
      assert.deepEqual(problems, []);
    },
  );
  await t.step("no export is an _underscore file", () => {
    const leaked = Object.values(exports).filter(isPrivatePath);
    assert.deepEqual(
      leaked,
      [],
      "an _file is private to its folder: drop it from core/deno.json exports, or rename it without the underscore if other members need it",
    );
  });
  await t.step("every file without an underscore is exported", async () => {
    const exported = new Set(Object.values(exports));
    const unlisted: string[] = [];
    for await (const path of tsFiles(CORE)) {
      const rel = `./${relative(CORE, path).replaceAll("\\", "/")}`;
      if (!isPrivatePath(rel) && !exported.has(rel)) unlisted.push(rel);
    }
    assert.deepEqual(
      unlisted.sort(),
      [],
      "add each to core/deno.json exports (and to the doc lint of `deno task check`), or give it a leading underscore if only its folder uses it",
    );
  });
});

Deno.test("core's barrels export by name and carry a @module doc", async () => {
  const problems: string[] = [];
  for await (const path of tsFiles(CORE)) {
    if (basename(path) !== "mod.ts") continue;
    const rel = relative(CORE, path);
    const text = await Deno.readTextFile(path);
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
      /^\s*\/\/.*$/gm,
      "",
    );
    if (/\bexport\s*\*/.test(code)) {
      problems.push(`${rel}: export * (name each export instead)`);
    }
    if (!text.includes("@module")) problems.push(`${rel}: no @module doc`);
  }
  assert.ok(problems.length === 0, problems.join("\n"));
});

Deno.test("deno task check doc-lints core/mod.ts alone and with every export", async () => {
  const root = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string | { command: string }> };
  const task = root.tasks["check"];
  const command = typeof task === "string" ? task : task?.command ?? "";
  const docLints = command.split("&&").map((part) => part.trim())
    .filter((part) => part.startsWith("deno doc --lint "))
    .map((part) => part.slice("deno doc --lint ".length).split(/\s+/));
  // Alone: every type the root's exports mention must be exported by the
  // root itself, not only by some subpath.
  assert.ok(
    docLints.some((args) => args.length === 1 && args[0] === "core/mod.ts"),
    `the check task must run "deno doc --lint core/mod.ts" on its own: ${command}`,
  );
  const expected = Object.values(await coreExports())
    .map((target) => `core/${target.slice(2)}`).sort();
  const together = docLints.find((args) => args.length > 1)?.slice().sort();
  assert.deepEqual(
    together,
    expected,
    "the check task's second doc lint must list every core/deno.json export",
  );
});
