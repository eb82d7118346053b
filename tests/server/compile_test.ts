/**
 * `deno compile` with the compile task's flags. `deno compile` needs a
 * `denort` runtime binary; without network it must be given through the
 * `DENORT_BIN` environment variable, so this test runs only when it is set.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { usage } from "../../server/main.ts";

const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name: "deno compile with the task's flags builds a binary whose --help works",
  ignore: !denort,
  async fn() {
    const root = new URL("../../", import.meta.url);
    const json = JSON.parse(
      await Deno.readTextFile(new URL("deno.json", root)),
    );
    const words: string[] = json.tasks.compile.command.split(/\s+/);
    // Every flag of the task except --output, which goes to a temp dir here.
    const flags: string[] = [];
    for (let i = words.indexOf("compile") + 1; i < words.length; i++) {
      const word = words[i]!;
      if (word === "--output") {
        i++;
      } else if (word === "--include") {
        flags.push(word, words[++i]!);
      } else if (word.startsWith("--")) {
        flags.push(word);
      }
    }
    assert.ok(flags.includes("--include"), "the page is embedded");
    const dir = await Deno.makeTempDir({ prefix: "krakked_compile_" });
    try {
      const binary = join(dir, "krakked");
      const compiled = await new Deno.Command(Deno.execPath(), {
        args: ["compile", ...flags, "--output", binary, "server/main.ts"],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(
        compiled.code,
        0,
        new TextDecoder().decode(compiled.stderr),
      );
      const help = await new Deno.Command(binary, {
        args: ["--help"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
      assert.equal(new TextDecoder().decode(help.stdout), `${usage()}\n`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
