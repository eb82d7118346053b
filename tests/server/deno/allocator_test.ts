/**
 * `krakked record` re-executes itself under jemalloc (server/deno/allocator.ts).
 *
 * The decision is pure and tried over every combination of what a process
 * can find; the re-exec itself runs for real in child processes: the same
 * pid, the same arguments, the allocator mapped, and a `kill -9` of the pid
 * a supervisor holds ends the recorder (no wrapper, no orphan holding the
 * store).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { recorderSim, spawnRecorder } from "../record/_sim_config.ts";
import {
  type AllocatorFacts,
  ENV_MALLOC,
  JEMALLOC_PATHS,
  parseCmdline,
  planJemalloc,
  reexecSelf,
} from "../../../server/deno/allocator.ts";

const LIB = JEMALLOC_PATHS[0]!;
const installed = JEMALLOC_PATHS.find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

type Plan = ReturnType<typeof planJemalloc>;

/** The plan as a re-exec (fails the test otherwise). */
function execOf(plan: Plan): Extract<Plan, { kind: "exec" }> {
  if (plan.kind !== "exec") throw new Error(`stayed: ${plan.reason}`);
  return plan;
}

/** The plan as a stay (fails the test otherwise). */
function stayOf(plan: Plan, what: string): Extract<Plan, { kind: "stay" }> {
  if (plan.kind !== "stay") throw new Error(`${what}: re-exec planned`);
  return plan;
}

function facts(over: Partial<AllocatorFacts> = {}): AllocatorFacts {
  return {
    os: "linux",
    env: { PATH: "/usr/bin", HOME: "/home/t" },
    exists: (p) => p === LIB,
    argv: ["/usr/bin/deno", "run", "-A", "main.ts", "record", "BTC/USD"],
    executable: "/usr/bin/deno",
    permitted: true,
    ...over,
  };
}

Deno.test("plan: re-exec keeps argv, executable and every variable, preloading jemalloc first", () => {
  const plan = execOf(planJemalloc(
    facts({
      env: { PATH: "/usr/bin", LD_PRELOAD: "/opt/libfoo.so", X: "a b" },
    }),
  ));
  assert.deepEqual(plan.library, LIB);
  assert.deepEqual(plan.executable, "/usr/bin/deno");
  assert.deepEqual(plan.argv, facts().argv);
  assert.deepEqual(plan.env, {
    PATH: "/usr/bin",
    X: "a b",
    LD_PRELOAD: `${LIB}:/opt/libfoo.so`,
  });
});

Deno.test("plan: every way to stay, tried against every other fact", () => {
  // Each case alone must keep the process as it is, whatever else holds.
  const stays: [string, Partial<AllocatorFacts>, RegExp][] = [
    ["opt-out", { env: { [ENV_MALLOC]: "system" } }, /=system/],
    ["preloaded", { env: { LD_PRELOAD: LIB } }, /already/],
    [
      "preloaded among others",
      { env: { LD_PRELOAD: `/opt/a.so ${"/x/libjemalloc.so"}` } },
      /already/,
    ],
    ["macOS", { os: "darwin" }, /darwin/],
    ["Windows", { os: "windows" }, /windows/],
    ["no permission", { permitted: false }, /allow-ffi/],
    ["not installed", { exists: () => false }, /not installed/],
    ["argv unreadable", { argv: undefined }, /unreadable/],
    ["argv empty", { argv: [] }, /unreadable/],
    ["no executable", { executable: undefined }, /unreadable/],
    [
      "relative library",
      { env: { [ENV_MALLOC]: "libjemalloc.so.2" } },
      /absolute path/,
    ],
    [
      "not jemalloc",
      { env: { [ENV_MALLOC]: "/usr/lib/libtcmalloc.so" } },
      /absolute path/,
    ],
    [
      "missing library",
      { env: { [ENV_MALLOC]: "/nowhere/libjemalloc.so.2" } },
      /not found/,
    ],
  ];
  for (const [name, over, reason] of stays) {
    for (const [, other] of stays) {
      // The first case's facts win where both set the same one.
      const env = { ...other.env, ...over.env };
      stayOf(
        planJemalloc(facts({ ...other, ...over, env })),
        `${name} with ${JSON.stringify(other)}`,
      );
    }
    const plan = stayOf(planJemalloc(facts(over)), name);
    assert.match(plan.reason, reason, name);
  }
});

Deno.test("plan: KRAKKED_MALLOC may name the library; the search order is the list's", () => {
  const custom = "/opt/jemalloc/lib/libjemalloc.so.2";
  const plan = execOf(planJemalloc(
    facts({ env: { [ENV_MALLOC]: custom }, exists: (p) => p === custom }),
  ));
  assert.deepEqual(plan.env.LD_PRELOAD, custom);
  for (const [i, path] of JEMALLOC_PATHS.entries()) {
    const later = new Set(JEMALLOC_PATHS.slice(i));
    const found = execOf(planJemalloc(facts({ exists: (p) => later.has(p) })));
    assert.deepEqual(found.library, path);
  }
});

Deno.test("reexecSelf: without permission or its own argv it stays and says why", () => {
  // Each returns before any execve: the test process is still here.
  assert.match(reexecSelf({}, facts({ permitted: false })), /allow-ffi/);
  assert.match(reexecSelf({}, facts({ argv: undefined })), /unreadable/);
  assert.match(reexecSelf({}, facts({ argv: [] })), /unreadable/);
  assert.match(reexecSelf({}, facts({ executable: undefined })), /unreadable/);
});

Deno.test("parseCmdline: NUL-separated argv, empty and non-ASCII arguments kept", () => {
  const argv = ["deno", "", "a b", "BTC/USD", "ü€"];
  const bytes = new TextEncoder().encode(argv.join("\0") + "\0");
  assert.deepEqual(parseCmdline(bytes), argv);
  assert.deepEqual(parseCmdline(new Uint8Array()), []);
});

const PROBE = `
import { currentAllocator, reexecUnderJemalloc } from ${
  JSON.stringify(
    new URL("../../../server/deno/allocator.ts", import.meta.url).href,
  )
};
const before = { pid: Deno.pid, allocator: currentAllocator() };
const stayed = reexecUnderJemalloc();
console.log(JSON.stringify({
  pid: Deno.pid,
  allocator: currentAllocator(),
  stayed,
  args: Deno.args,
  stdin: await new Response(Deno.stdin.readable).text(),
  before,
}));
`;

async function probe(env: Record<string, string>, flags: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "krakked-alloc-" });
  try {
    const script = join(dir, "probe.ts");
    await Deno.writeTextFile(script, PROBE);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, script, "a b", "", "ü"],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("fed once"));
    await writer.close();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    assert.deepEqual(out.code, 0, new TextDecoder().decode(out.stderr));
    // One process printed one line: the re-exec ran the script from its
    // start, in the same pid, and only the new image got this far.
    const lines = text.trim().split("\n");
    assert.deepEqual(lines.length, 1, text);
    return { childPid: child.pid, ...JSON.parse(lines[0]!) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FLAGS = ["--allow-env", "--allow-ffi", "--allow-read"];

Deno.test("re-exec: same pid, same arguments, stdin still the caller's, jemalloc mapped", async () => {
  const r = await probe({ LD_PRELOAD: "" }, FLAGS);
  assert.deepEqual(r.args, ["a b", "", "ü"]);
  assert.deepEqual(r.stdin, "fed once");
  assert.deepEqual(r.pid, r.childPid);
  if (installed === undefined) {
    assert.deepEqual(r.stayed, "jemalloc not installed");
    assert.deepEqual(r.allocator, "system");
  } else {
    assert.deepEqual(r.before.allocator, "jemalloc"); // the second image's start
    assert.deepEqual(r.allocator, "jemalloc");
    assert.deepEqual(r.stayed, "jemalloc already preloaded");
  }
});

Deno.test("re-exec: KRAKKED_MALLOC=system and missing permissions stay under glibc", async () => {
  const off = await probe({ [ENV_MALLOC]: "system" }, FLAGS);
  assert.deepEqual(off.stayed, `${ENV_MALLOC}=system`);
  assert.deepEqual(off.allocator, "system");
  // Without --allow-ffi nothing is attempted, and no prompt blocks it.
  const bare = await probe({}, ["--allow-env", "--no-prompt"]);
  assert.match(bare.stayed, /allow-ffi/);
  assert.deepEqual(bare.allocator, "unknown");
  assert.deepEqual(bare.args, ["a b", "", "ü"]);
});

Deno.test({
  name:
    "record: the pid a supervisor holds is the recorder; kill -9 of it leaves nothing holding the store",
  ignore: installed === undefined,
  async fn() {
    await using rec = await recorderSim("krakked-alloc-rec-", 5);
    const store = rec.store;
    const recorder = spawnRecorder(["BTC/USD", "--store", store], {
      ...rec.env,
      LD_PRELOAD: "",
    });
    const stderr = new Response(recorder.stderr).text();
    try {
      let status: { memory?: { allocator?: string }; commits?: number } = {};
      for (let i = 0; i < 600 && !(status.memory && status.commits); i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          status = JSON.parse(
            await Deno.readTextFile(`${store}.status.json`),
          );
        } catch {
          // Not written yet.
        }
      }
      assert.deepEqual(status.memory?.allocator, "jemalloc");
      // The spawned pid itself maps jemalloc (Deno wants --allow-all for
      // /proc, so grep reads it).
      const grep = await new Deno.Command("grep", {
        args: ["-c", "libjemalloc", `/proc/${recorder.pid}/maps`],
        stdout: "piped",
      }).output();
      assert.ok(
        Number(new TextDecoder().decode(grep.stdout).trim()) > 0,
        "libjemalloc not in the recorder's maps",
      );
    } finally {
      recorder.kill("SIGKILL");
    }
    const exit = await recorder.status;
    assert.deepEqual(exit.signal, "SIGKILL");
    await stderr;
    // Nothing else holds DuckDB's lock on the file: another writer opens it.
    const { RecordStore } = await import("../../../server/record/store.ts");
    const reopened = await RecordStore.open(store);
    reopened.close();
  },
});
