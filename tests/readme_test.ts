/**
 * The README runs as written: every fenced shell and YAML snippet is run
 * (or parsed) here, against the simulator on loopback.
 *
 * - "First hour": a newcomer's walk. Its blocks become one bash script, in
 *   order: the YAML block is written to `config.yaml`, `deno task sim` is
 *   started in the background (its own process group, stopped at the end),
 *   and every other line must exit 0. Its output is checked command by
 *   command.
 * - "Set-up": `deno task serve --sim` is started and must serve the page.
 * - Other YAML blocks are config examples: they must parse without a
 *   warning (the defaults listing must equal the defaults); JSON blocks must
 *   parse.
 * - A shell line that cannot run here says so on its line,
 *   `(not run by tests/readme_test.ts: why)`; it becomes an ignored step
 *   whose name carries that reason. Any other snippet is an error.
 *
 * Declared substitutions, nothing else: 8791 (the simulator) becomes a free
 * loopback port, `serve` gets a free port through `server.port`, and the
 * config directory is a temporary `KRAKKED_CONFIG_DIR`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CONFIG, parseConfig } from "../core/config/config.ts";
import { CATEGORY_EXIT } from "../server/cli/errors.ts";

const ROOT = new URL("../", import.meta.url);
const ROOT_DIR = decodeURIComponent(ROOT.pathname);
const README = await Deno.readTextFile(new URL("README.md", ROOT));

/** The marker of a shell line the test cannot run, and its reason. */
const NOT_RUN = /\(not run by tests\/readme_test\.ts: ([^)]+)\)/;

/** Commands that run until stopped: started in the background. */
const LONG_RUNNING = /^deno task (sim|serve)\b/;

/** One fenced block of the README. */
interface Snippet {
  /** The fence's language (`sh`, `yaml`, `json`, or empty). */
  lang: string;
  /** The text between the fences. */
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The `## ` heading it is under. */
  section: string;
}

/**
 * The fenced blocks of a Markdown text, with their `## ` section.
 *
 * @param markdown The text.
 * @returns The blocks, in order.
 */
function snippets(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const open = line.match(/^```(\w*)\s*$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) {
      body.push(lines[i]!);
    }
    out.push({
      lang: open[1]!,
      text: body.join("\n"),
      line: start + 1,
      section,
    });
  }
  return out;
}

/** The command lines of a shell block (no blanks, no comment-only lines). */
function commands(snippet: Snippet): string[] {
  return snippet.text.split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
}

const ALL = snippets(README);
const SETUP = "Set-up: two commands";
const WALK = "First hour: the CLI against the simulator";

/** A free loopback port (bound, then released). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The environment of a run: this process's, minus credentials and config. */
function cleanEnv(configDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!/^(KRAKEN_|KRAKKED_)/.test(k)) env[k] = v;
  }
  env.KRAKKED_CONFIG_DIR = configDir;
  env.NO_COLOR = "1";
  return env;
}

/** Stop the process groups whose leaders' ids are listed in a file. */
async function stopGroups(pidFile: string): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(pidFile);
  } catch {
    return;
  }
  for (const pid of text.split("\n").map(Number).filter((n) => n > 0)) {
    try {
      Deno.kill(-pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
}

/**
 * The walk as one bash script: markers before each command, the YAML as
 * config.yaml, long-running commands in the background (setsid: their own
 * group, recorded for the stop) with a wait until they print their port.
 */
function walkScript(
  blocks: readonly Snippet[],
  port: number,
  logDir: string,
): string {
  const sub = (text: string) => text.replaceAll("8791", String(port));
  const out = ["set -euo pipefail", `cd ${JSON.stringify(ROOT_DIR)}`];
  let bg = 0;
  for (const block of blocks) {
    if (block.lang === "yaml") {
      out.push(
        'mkdir -p "$KRAKKED_CONFIG_DIR"',
        `cat > "$KRAKKED_CONFIG_DIR/config.yaml" <<'KRAKKED_YAML'`,
        sub(block.text),
        "KRAKKED_YAML",
      );
      continue;
    }
    for (const line of commands(block)) {
      const command = sub(line);
      out.push(`printf '\\n### %s\\n' ${JSON.stringify(line)}`);
      if (LONG_RUNNING.test(command)) {
        const log = join(logDir, `bg${++bg}.log`);
        // Its trailing comment would swallow the redirect and the `&`.
        const bare = command.replace(/\s+#.*$/, "");
        out.push(
          `setsid ${bare} > ${JSON.stringify(log)} 2>&1 &`,
          `echo $! >> ${JSON.stringify(join(logDir, "pids"))}`,
          // Ready once it prints its own address (at most 60 s).
          `for _ in $(seq 1 300); do grep -q '127.0.0.1:${port}' ${
            JSON.stringify(log)
          } && break; sleep 0.2; done`,
          `grep -q '127.0.0.1:${port}' ${JSON.stringify(log)}`,
        );
      } else {
        out.push(command);
      }
    }
  }
  return out.join("\n");
}

/** What each walk command must print (besides exiting 0). */
const WALK_OUTPUT: ReadonlyArray<[RegExp, RegExp]> = [
  [/^deno task sim\b/, /^$/],
  [/krakked status$/, /^exchange +online \(reported /m],
  [/krakked universe$/, /^BTC\/USD +XBTUSD +\d+ +\d+ /m],
  [
    /krakked ticker BTC\/USD ETH\/USD$/,
    /^pair +last +bid +ask +24h % +24h volume\n[- ]+\nBTC\/USD .*%.*\nETH\/USD /m,
  ],
  [/krakked orderbook /, /^BTC\/USD order book, top 5 [^]*^spread /m],
  [/krakked trades BTC\/USD --count 5$/, /^BTC\/USD recent trades/],
  [
    /--watch --updates 3$/,
    /^BTC\/USD trades \(WebSocket v2\), Ctrl\+C to stop\n(\S+Z +(buy|sell) .*\n){3}$/,
  ],
  [/krakked ohlc backfill BTC\/USD 1h$/, /^BTC\/USD 1h: \d+ new, /m],
  [
    /krakked ohlc export BTC\/USD 1h --format csv$/,
    /^open_time_sec,open,high,low,close,vwap,volume,count\n(\d+,[\d.]+,.*\n)+$/,
  ],
  [/^export KRAKEN_API_KEY=/, /^$/],
  [/krakked doctor$/, /✓ Authentication \(Balance\): allowed/],
  [/krakked balance$/, /^asset +balance +held +available\n/],
  [/krakked orders$/, /^txid +pair +side/],
  [
    /krakked order buy BTC\/USD /,
    /^PAPER ACCEPTED \(PAPER\), notional 1\.00 USD/,
  ],
  [/krakked paper orders$/, /\nO\S+ +BTC\/USD +buy +limit +0\.001 +1000 /],
  [/krakked cancel --all --include-stops$/, /^PAPER cancelled 1 order/],
  [/krakked paper reset --yes$/, /^Paper account reset: 10000 USD\n$/],
];

Deno.test("every README snippet is run here or says why not", async (t) => {
  for (const s of ALL) {
    if (s.lang !== "sh") continue;
    for (const line of commands(s)) {
      const skip = line.match(NOT_RUN);
      const run = s.section === WALK ||
        (s.section === SETUP && LONG_RUNNING.test(line));
      await t.step({
        name: skip
          ? `README line ${s.line}: ${line.split("#")[0]!.trim()} — skipped: ${
            skip[1]
          }`
          : `README line ${s.line}: ${line}`,
        ignore: skip !== null,
        fn: () => {
          assert.ok(
            run,
            `README line ${s.line}: "${line}" is neither run by tests/readme_test.ts nor marked "(not run by tests/readme_test.ts: why)"`,
          );
        },
      });
    }
    assert.ok(
      ["sh", "yaml", "json", "ts", ""].includes(s.lang),
      `README line ${s.line}: a ${s.lang} snippet this test does not know`,
    );
  }
  assert.ok(ALL.some((s) => s.section === WALK), "the First hour walk exists");
});

Deno.test("README config snippets parse without warnings; the defaults are the defaults", async (t) => {
  for (const s of ALL) {
    if (s.lang === "yaml") {
      await t.step(`yaml at README line ${s.line}`, () => {
        const { config, warnings } = parseConfig(s.text);
        assert.deepEqual(warnings, []);
        if (s.text.startsWith("region:")) {
          assert.deepEqual(config, DEFAULT_CONFIG);
        }
      });
    }
    if (s.lang === "json") {
      await t.step(`json at README line ${s.line}`, () => {
        const value = JSON.parse(s.text);
        if (value.error !== undefined) {
          assert.ok(value.error.category in CATEGORY_EXIT);
        }
      });
    }
  }
});

const canRun = (await Deno.permissions.query({ name: "run" })).state ===
  "granted";

Deno.test({
  name: "First hour: the README's commands, in order, against the simulator",
  ignore: !canRun,
  async fn() {
    const blocks = ALL.filter((s) => s.section === WALK);
    const dir = await Deno.makeTempDir({ prefix: "krakked_readme_" });
    const configDir = join(dir, "config");
    const pidFile = join(dir, "pids");
    try {
      const script = walkScript(blocks, freePort(), dir);
      const out = await new Deno.Command("bash", {
        args: ["-c", script],
        env: cleanEnv(configDir),
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        // A guard against a command that never returns, not a measurement.
        signal: AbortSignal.timeout(10 * 60_000),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `the walk stopped:\n${stdout}\n${stderr}`);
      const sections = stdout.split("\n### ").slice(1).map((part) => {
        const nl = part.indexOf("\n");
        return { command: part.slice(0, nl), output: part.slice(nl + 1) };
      });
      const ran = blocks.filter((b) => b.lang === "sh").flatMap(commands);
      assert.deepEqual(sections.map((s) => s.command), ran);
      for (const { command, output } of sections) {
        const expected = WALK_OUTPUT.find(([c]) => c.test(command));
        assert.ok(expected, `no expectation for "${command}"`);
        assert.match(
          output.replace(/\n$/, "") + (output.endsWith("\n") ? "\n" : ""),
          expected[1],
          `${command}\n${output}`,
        );
      }
    } finally {
      await stopGroups(pidFile);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Set-up: deno task serve --sim serves the page",
  ignore: !canRun,
  async fn() {
    const line = ALL.filter((s) => s.section === SETUP && s.lang === "sh")
      .flatMap(commands).find((l) => LONG_RUNNING.test(l));
    assert.ok(line, "Set-up names deno task serve");
    const dir = await Deno.makeTempDir({ prefix: "krakked_readme_serve_" });
    const port = freePort();
    await Deno.writeTextFile(
      join(dir, "config.yaml"),
      `server:\n  port: ${port}\n`,
    );
    const child = new Deno.Command("setsid", {
      args: ["bash", "-c", `cd ${JSON.stringify(ROOT_DIR)} && ${line}`],
      env: cleanEnv(dir),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let page: Response | undefined;
      // The build runs first; give it two minutes.
      for (let i = 0; i < 600 && page === undefined; i++) {
        try {
          page = await fetch(`http://127.0.0.1:${port}/`);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      assert.ok(page, `nothing answered on 127.0.0.1:${port}`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
    } finally {
      try {
        Deno.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
