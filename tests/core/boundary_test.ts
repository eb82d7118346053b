/**
 * core/ must stay runtime-neutral: no Deno.*, no node:* and no imports from
 * server/, worker/ or web/. deno check with the webworker lib catches most of
 * this; this scan catches the rest (node: imports type-check anywhere).
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
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
