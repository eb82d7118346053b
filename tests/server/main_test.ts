import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CommandName,
  COMMANDS,
  main,
  parseArgs,
  usage,
  VERSION,
  wantsJson,
} from "../../server/main.ts";
import { findCommand } from "../../server/cli/commands.ts";
import { startSimulator } from "@krakked/sim";

async function run(argv: readonly string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: () => undefined,
    interactive: false,
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
  });
  return { code, stdout, stderr };
}

const NAMES: CommandName[] = COMMANDS.map((c) => c.name);

function helpOf(name: CommandName): string {
  return findCommand(name)!.help;
}

Deno.test("the command table: one entry per command, help and flags agree", async (t) => {
  // Other commands may join the table; these must be there, in this order.
  const required = [
    "setup",
    "doctor",
    "status",
    "universe",
    "ticker",
    "orderbook",
    "trades",
    "balance",
    "orders",
    "order",
    "close",
    "cancel",
    "paper",
    "ohlc",
    "serve",
    "sim",
  ];
  assert.deepEqual(NAMES.filter((n) => required.includes(n)), required);
  assert.equal(new Set(NAMES).size, NAMES.length);
  for (const command of COMMANDS) {
    await t.step(command.name, () => {
      assert.match(command.help, new RegExp(`^Usage: krakked ${command.name}`));
      assert.ok(!command.summary.includes("\n"), command.summary);
      assert.deepEqual(command.parse(["--help"]), { kind: "help" });
      assert.equal(findCommand(command.name), command);
    });
  }
});

Deno.test("parseArgs() tags each command line", async (t) => {
  await t.step("top level", () => {
    assert.deepEqual(parseArgs(["--help"]), { kind: "help" });
    assert.deepEqual(parseArgs(["help"]), { kind: "help" });
    assert.deepEqual(parseArgs(["help", "ticker"]), {
      kind: "help",
      topic: "ticker",
    });
    assert.deepEqual(parseArgs(["help", "serve"]), {
      kind: "help",
      topic: "serve",
    });
    assert.deepEqual(parseArgs(["ticker", "--help"]), {
      kind: "help",
      topic: "ticker",
    });
    assert.deepEqual(parseArgs(["-V"]), { kind: "version" });
    assert.deepEqual(parseArgs(["--version"]), { kind: "version" });
    assert.deepEqual(parseArgs(["frob"]), {
      kind: "usage_error",
      message: `Unknown command "frob": run 'krakked --help' for the list`,
    });
    assert.deepEqual(parseArgs(["frobnicate"]).kind, "usage_error");
    assert.equal(parseArgs(["help", "frob"]).kind, "usage_error");
  });
  await t.step("no command is a usage error that lists the commands", () => {
    assert.deepEqual(parseArgs([]), {
      kind: "usage_error",
      message: "Missing command",
      listCommands: true,
    });
  });
  await t.step("a mistyped command gets a suggestion", () => {
    for (
      const [typed, meant] of [
        ["tikcer", "ticker"],
        ["balnace", "balance"],
        ["doctr", "doctor"],
        ["canel", "cancel"],
        ["ohcl", "ohlc"],
        ["univ", "universe"],
      ]
    ) {
      const parsed = parseArgs([typed!]);
      assert.ok(parsed.kind === "usage_error", typed);
      assert.equal(
        parsed.message,
        `Unknown command "${typed}": did you mean "${meant}"? run 'krakked --help' for the list`,
      );
    }
    const far = parseArgs(["frobnicate"]);
    assert.ok(far.kind === "usage_error" && !far.message.includes("mean"));
  });
  await t.step("serve and sim are parsed by the same parser", () => {
    assert.deepEqual(parseArgs(["sim", "--port", "9000"]), {
      kind: "sim",
      port: 9000,
      control: true,
    });
    assert.deepEqual(parseArgs(["sim", "--port", "1"]), {
      kind: "sim",
      port: 1,
      control: true,
    });
    assert.deepEqual(parseArgs(["serve", "--sim"]), {
      kind: "serve",
      host: undefined,
      port: undefined,
      token: undefined,
      sim: true,
      seed: undefined,
      live: false,
    });
    assert.deepEqual(parseArgs(["serve", "--bogus"]), {
      kind: "usage_error",
      message: 'Unknown flag "--bogus"',
      command: "serve",
    });
    assert.deepEqual(parseArgs(["sim", "--tier", "gold"]), {
      kind: "usage_error",
      message: '--tier must be one of starter, intermediate, pro, got "gold"',
      command: "sim",
    });
  });
  await t.step("data commands", () => {
    assert.deepEqual(parseArgs(["universe", "--json"]), {
      kind: "universe",
      json: true,
    });
    assert.deepEqual(parseArgs(["ticker", "XBTUSD", "btc/usd"]), {
      kind: "ticker",
      pairs: ["XBTUSD", "btc/usd"],
      json: false,
    });
    assert.deepEqual(parseArgs(["balance"]), { kind: "balance", json: false });
    assert.deepEqual(parseArgs(["orders", "--json"]), {
      kind: "orders",
      json: true,
    });
    assert.deepEqual(parseArgs(["doctor"]), { kind: "doctor", json: false });
    assert.deepEqual(parseArgs(["setup", "--yes"]), {
      kind: "setup",
      yes: true,
      saveUnvalidated: false,
      force: false,
      json: false,
    });
    assert.deepEqual(parseArgs(["close", "btc/usd", "--all", "--json"]), {
      kind: "close",
      pair: "btc/usd",
      volume: "all",
      limitPrice: null,
      live: false,
      json: true,
    });
    assert.deepEqual(parseArgs(["close", "XBTUSD", "0.5", "--limit", "1"]), {
      kind: "close",
      pair: "XBTUSD",
      volume: "0.5",
      limitPrice: "1",
      live: false,
      json: false,
    });
    assert.deepEqual(parseArgs(["cancel", "--all", "--include-stops"]), {
      kind: "cancel",
      id: null,
      includeStops: true,
      live: false,
      json: false,
    });
    assert.deepEqual(parseArgs(["paper", "orders"]), {
      kind: "paper",
      view: "orders",
      json: false,
      yes: false,
    });
    assert.deepEqual(parseArgs(["ohlc", "export", "XBTUSD", "1h"]), {
      kind: "ohlc",
      action: "export",
      pair: "XBTUSD",
      timeframe: "1h",
      format: "csv",
      sinceSec: undefined,
    });
  });
});

Deno.test("wantsJson() looks for --json before any --", () => {
  assert.equal(wantsJson(["balance", "--json"]), true);
  assert.equal(wantsJson(["balance"]), false);
  assert.equal(wantsJson(["ticker", "--", "--json"]), false);
});

Deno.test("--help works for every command and prints to stdout", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      for (const argv of [[name, "--help"], ["help", name]]) {
        const r = await run(argv);
        assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, "");
        assert.match(r.stdout, new RegExp(`^Usage: krakked ${name}`));
        assert.equal(r.stdout, `${helpOf(name)}\n`);
      }
    });
  }
  await t.step("top level lists every command", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${usage()}\n`);
    for (const name of NAMES) {
      assert.match(r.stdout, new RegExp(`\\n  ${name} `));
    }
    assert.match(
      r.stdout,
      /\n {2}close {6}Sell what you hold on a pair, moving its stop-loss in the same step\n/,
    );
  });
  await t.step("--version", async () => {
    const r = await run(["--version"]);
    assert.equal(r.stdout, `krakked ${VERSION}\n`);
  });
});

Deno.test("usage errors exit 2 with the message and the command's help on stderr", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["frob"], /Unknown command "frob"/],
    [["balnace"], /Unknown command "balnace": did you mean "balance"\?/],
    [["setup", "--bogus"], /Unknown flag "--bogus"/],
    [["doctor", "now"], /Unexpected argument "now"/],
    [["universe", "--all"], /Unknown flag "--all"/],
    [["ticker"], /Missing <pair>/],
    [["balance", "--json=1"], /Flag --json takes no value/],
    [["orders", "x"], /Unexpected argument "x"/],
    [["close"], /Missing <pair>/],
    [["close", "XBTUSD"], /Give the volume to sell, or --all/],
    [["close", "XBTUSD", "1", "--all"], /not both/],
    [["cancel", "OX", "--include-stops"], /--include-stops goes with --all/],
    [
      ["order", "buy", "XBTUSD", "1", "--take-profit", "2"],
      /--take-profit is not supported/,
    ],
    [["order", "buy", "XBTUSD", "1", "--exit"], /--exit sells what you hold/],
    [["ohlc"], /Missing action/],
    [["ohlc", "backfill", "XBTUSD", "7h"], /7h/],
    [["serve", "--port"], /port/i],
    [
      ["serve", "--port", "99999"],
      /--port needs a whole number from 0 to 65535, got "99999"/,
    ],
    [["sim", "--port", "nope"], /--port needs a whole number/],
    [["sim", "--synthetic-pairs=2000"], /--synthetic-pairs needs a whole/],
    [["sim", "--frobnicate"], /Unknown flag "--frobnicate"/],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" "), async () => {
      const r = await run(argv);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^krakked: /);
      assert.match(r.stderr, message);
      const command = findCommand(argv[0]!);
      if (command !== undefined) {
        assert.ok(r.stderr.endsWith(`${command.help}\n`), r.stderr);
      }
    });
  }
  await t.step(
    "bare krakked lists the commands on stderr and exits 2",
    async () => {
      const r = await run([]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `krakked: Missing command\n\n${usage()}\n`);
    },
  );
});

Deno.test("with --json a usage error is one JSON object on stdout", async (t) => {
  for (
    const [argv, message, suggestion] of [
      [
        ["balance", "--json", "extra"],
        'Unexpected argument "extra"',
        "Run 'krakked balance --help' for the flags",
      ],
      [
        ["ticker", "--json"],
        "Missing <pair>",
        "Run 'krakked ticker --help' for the flags",
      ],
      [
        ["frob", "--json"],
        `Unknown command "frob": run 'krakked --help' for the list`,
        "Run 'krakked --help' for the commands",
      ],
    ] as const
  ) {
    await t.step(argv.join(" "), async () => {
      const r = await run(argv);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, "");
      assert.deepEqual(JSON.parse(r.stdout), {
        error: { category: "usage", message, suggestion },
      });
    });
  }
});

/** The permission flags of `deno task <name>`, read from deno.json. */
async function taskFlags(name: string): Promise<string[]> {
  const root = new URL("../../", import.meta.url);
  const json = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const command: string = json.tasks[name].command;
  const words = command.split(/\s+/);
  const start = words.indexOf(name === "compile" ? "compile" : "run") + 1;
  return words.slice(start).filter((w) => w.startsWith("--"));
}

const canRun = (await Deno.permissions.query({ name: "run", command: "deno" }))
  .state === "granted";

Deno.test({
  name:
    "the task's permission set runs --help and universe --json in a subprocess",
  ignore: !canRun,
  async fn() {
    const flags = await taskFlags("krakked");
    assert.ok(flags.includes("--allow-net"), flags.join(" "));
    const root = new URL("../../", import.meta.url);
    await using sim = await startSimulator();
    const dir = await Deno.makeTempDir({ prefix: "krakked_smoke_" });
    try {
      await Deno.writeTextFile(
        join(dir, "config.yaml"),
        `connection:\n  rest_url: ${sim.url}\n`,
      );
      const exec = async (args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...flags, "server/main.ts", ...args],
          cwd: root,
          env: { KRAKKED_CONFIG_DIR: dir, NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        return {
          code: out.code,
          stdout: new TextDecoder().decode(out.stdout),
          stderr: new TextDecoder().decode(out.stderr),
        };
      };
      const help = await exec(["--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.equal(help.stdout, `${usage()}\n`);
      const universe = await exec(["universe", "--json"]);
      assert.equal(universe.code, 0, universe.stderr);
      const ids = JSON.parse(universe.stdout).pairs.map((p: { id: string }) =>
        p.id
      );
      assert.ok(ids.includes("XBTUSD"), ids.join());
      const bad = await exec(["ticker"]);
      assert.equal(bad.code, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
