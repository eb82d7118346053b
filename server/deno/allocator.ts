/**
 * Running a long-lived command under jemalloc.
 *
 * A recorder running for hours under glibc's malloc grows its RSS without
 * bound although its JS heap and DuckDB's own buffers stay flat: DuckDB's
 * statements run on threads that come and go, glibc gives each thread an
 * arena, and memory freed in one arena is not reused from another
 * (docs/recorder.md, Memory: ≈ 71 MiB/h over a 30-minute soak). Under
 * jemalloc the same soak levels off. The allocator cannot be changed once
 * the process runs, and glibc reads `MALLOC_ARENA_MAX` only at start, so
 * the command re-executes itself — `execve(2)` of the same executable with
 * the same arguments and `LD_PRELOAD` naming jemalloc — before it opens
 * anything.
 *
 * `execve` keeps the process id, its open standard streams and its parent:
 * a supervisor, a `kill -9` or a test that holds the pid sees one process,
 * not a wrapper and an orphan.
 *
 * It happens only when all of these hold, and otherwise the command runs on
 * as it is, under the system allocator:
 *
 * - Linux, and `KRAKKED_MALLOC` is not `system`;
 * - jemalloc is installed (`libjemalloc.so.2` in a usual library
 *   directory, or the path `KRAKKED_MALLOC` names);
 * - `LD_PRELOAD` does not name jemalloc already (so it runs once);
 * - the process may read the environment and call native code
 *   (`--allow-env`, `--allow-ffi`; the recorder needs both anyway), and
 *   glibc is the C library (`execve` is called through it). The
 *   permissions are queried, never requested, so no prompt appears.
 *
 * @module
 */

/** The variable choosing the allocator: `system`, or a jemalloc path. */
export const ENV_MALLOC = "KRAKKED_MALLOC";

/** Where distributions install jemalloc's shared library, in search order. */
export const JEMALLOC_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", // Debian, Ubuntu (amd64)
  "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2", // Debian, Ubuntu (arm64)
  "/usr/lib64/libjemalloc.so.2", // Fedora, RHEL, openSUSE
  "/usr/lib/libjemalloc.so.2", // Arch, Alpine
  "/usr/local/lib/libjemalloc.so.2", // built from source
];

/** What the process knows when it decides (see {@linkcode planJemalloc}). */
export interface AllocatorFacts {
  /** `Deno.build.os`. */
  os: string;
  /** The environment. */
  env: Readonly<Record<string, string>>;
  /** Whether a file exists and is readable. */
  exists(path: string): boolean;
  /** The process's own argv (`/proc/self/cmdline`), when readable. */
  argv: readonly string[] | undefined;
  /** The running executable, when known. */
  executable: string | undefined;
  /** Whether the permissions `execve` by FFI needs are granted. */
  permitted: boolean;
}

/** The decision of {@linkcode planJemalloc}. */
export type AllocatorPlan =
  | {
    /** Run on as the process is. */
    kind: "stay";
    /** Why, in a few words (for the status and the logs). */
    reason: string;
  }
  | {
    /** Re-execute under jemalloc. */
    kind: "exec";
    /** The library preloaded. */
    library: string;
    /** The executable. */
    executable: string;
    /** Its argv, as the process was started. */
    argv: readonly string[];
    /** The environment, `LD_PRELOAD` naming the library first. */
    env: Record<string, string>;
  };

/** Whether an `LD_PRELOAD` value names jemalloc. */
function preloadsJemalloc(preload: string | undefined): boolean {
  return preload !== undefined &&
    preload.split(/[:\s]+/).some((p) => /(^|\/)libjemalloc[^/]*$/.test(p));
}

/**
 * Decide whether to re-execute under jemalloc (pure; see the module doc).
 *
 * @param facts What the process knows about itself.
 * @returns `exec` with everything `execve` needs, or `stay` and why.
 * @example
 * ```ts
 * import { planJemalloc } from "./allocator.ts";
 * const plan = planJemalloc({
 *   os: "linux",
 *   env: { PATH: "/usr/bin" },
 *   exists: (p) => p === "/usr/lib64/libjemalloc.so.2",
 *   argv: ["deno", "run", "main.ts", "record"],
 *   executable: "/usr/bin/deno",
 *   permitted: true,
 * });
 * console.log(plan.kind === "exec" && plan.env.LD_PRELOAD); // "/usr/lib64/libjemalloc.so.2"
 * ```
 */
export function planJemalloc(facts: AllocatorFacts): AllocatorPlan {
  const choice = facts.env[ENV_MALLOC]?.trim() ?? "";
  if (choice === "system") {
    return { kind: "stay", reason: `${ENV_MALLOC}=system` };
  }
  if (preloadsJemalloc(facts.env.LD_PRELOAD)) {
    return { kind: "stay", reason: "jemalloc already preloaded" };
  }
  if (facts.os !== "linux") {
    return { kind: "stay", reason: `no LD_PRELOAD on ${facts.os}` };
  }
  if (!facts.permitted) {
    return {
      kind: "stay",
      reason: "needs --allow-env, --allow-ffi and glibc",
    };
  }
  let library: string | undefined;
  if (choice !== "") {
    if (!choice.startsWith("/") || !preloadsJemalloc(choice)) {
      return {
        kind: "stay",
        reason:
          `${ENV_MALLOC} must be "system" or the absolute path of libjemalloc, not ${
            JSON.stringify(choice)
          }`,
      };
    }
    if (!facts.exists(choice)) {
      return { kind: "stay", reason: `${choice} not found` };
    }
    library = choice;
  } else {
    library = JEMALLOC_PATHS.find((p) => facts.exists(p));
    if (library === undefined) {
      return { kind: "stay", reason: "jemalloc not installed" };
    }
  }
  if (
    facts.argv === undefined || facts.argv.length === 0 ||
    facts.executable === undefined
  ) {
    return { kind: "stay", reason: "own command line unreadable" };
  }
  const preload = facts.env.LD_PRELOAD?.trim();
  return {
    kind: "exec",
    library,
    executable: facts.executable,
    argv: facts.argv,
    env: {
      ...facts.env,
      LD_PRELOAD: preload ? `${library}:${preload}` : library,
    },
  };
}

/** `/proc/self/cmdline` as argv (NUL-separated, NUL-terminated). */
export function parseCmdline(bytes: Uint8Array): string[] {
  const text = new TextDecoder().decode(bytes);
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
} as const;

/** glibc's `open`, `read`, `close` and `execve`; undefined without them. */
function openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined {
  if (!granted({ name: "ffi" })) return undefined;
  try {
    return Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch {
    return undefined; // not glibc (musl names it otherwise), or no libc
  }
}

/**
 * A file of `/proc/self`, read through libc. Deno asks for `--allow-all`
 * before it reads anything under `/proc/self`; a process holding
 * `--allow-ffi` holds all access in effect, and reads its own command line
 * and mappings this way instead of asking users for more.
 */
function readProcSelf(
  libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  name: "cmdline" | "maps",
): Uint8Array | undefined {
  const fd = libc.symbols.open(cString(`/proc/self/${name}`), 0); // O_RDONLY
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const chunk = new Uint8Array(65_536);
      const n = Number(libc.symbols.read(fd, chunk, 65_536n));
      if (n < 0) return undefined;
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      size += n;
      if (size > 64 * 1024 * 1024) return undefined; // bounded
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    libc.symbols.close(fd);
  }
}

/** The facts of this process (see {@linkcode AllocatorFacts}). */
export function processFacts(): AllocatorFacts {
  const libc = openLibc();
  const permitted = libc !== undefined && granted({ name: "env" });
  const readable = (path: string) => {
    if (!granted({ name: "read", path })) return false;
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  let argv: string[] | undefined;
  let executable: string | undefined;
  let env: Record<string, string> = {};
  try {
    if (permitted) {
      const cmdline = readProcSelf(libc, "cmdline");
      argv = cmdline === undefined ? undefined : parseCmdline(cmdline);
      try {
        executable = Deno.execPath();
      } catch {
        executable = undefined;
      }
      env = Deno.env.toObject();
    } else if (granted({ name: "env", variable: ENV_MALLOC })) {
      const choice = Deno.env.get(ENV_MALLOC);
      if (choice !== undefined) env = { [ENV_MALLOC]: choice };
    }
  } finally {
    libc?.close();
  }
  return {
    os: Deno.build.os,
    env,
    exists: readable,
    argv,
    executable,
    permitted,
  };
}

/** NUL-terminated bytes of a string. */
function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** A NULL-terminated array of pointers to the strings (kept alive in `keep`). */
function pointerArray(
  strings: readonly string[],
  keep: Uint8Array[],
): BigUint64Array<ArrayBuffer> {
  const array = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    const bytes = cString(s);
    keep.push(bytes);
    array[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  });
  return array;
}

/**
 * Re-execute this process under jemalloc when {@linkcode planJemalloc} says
 * so. On success it does not return (the process starts again, same pid);
 * otherwise it returns why it stayed, `execve`'s failure included.
 *
 * @param facts The process's facts (tests pass their own).
 * @returns Why the process runs on as it is.
 */
export function reexecUnderJemalloc(
  facts: AllocatorFacts = processFacts(),
): string {
  const plan = planJemalloc(facts);
  if (plan.kind === "stay") return plan.reason;
  return execve(plan.executable, plan.argv, plan.env);
}

/**
 * Start this process's program again in place: `execve(2)` of the same
 * executable and arguments, the environment as it is plus `env`. The pid,
 * the standard streams, the parent and the allocator (`LD_PRELOAD` is in
 * the environment) stay; every byte of memory the old image held is gone.
 * On success it does not return.
 *
 * @param env Variables to set in the new image.
 * @param facts The process's facts (tests pass their own).
 * @returns Why it could not (no permission, no glibc, `execve` failed).
 */
export function reexecSelf(
  env: Readonly<Record<string, string>> = {},
  facts: AllocatorFacts = processFacts(),
): string {
  if (!facts.permitted) return "needs --allow-env, --allow-ffi and glibc";
  if (
    facts.argv === undefined || facts.argv.length === 0 ||
    facts.executable === undefined
  ) {
    return "own command line unreadable";
  }
  return execve(facts.executable, facts.argv, { ...facts.env, ...env });
}

/** `execve(2)` through glibc; returns only on failure, with why. */
function execve(
  executable: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
): string {
  const libc = openLibc();
  if (libc === undefined) return "no glibc to call execve";
  const keep: Uint8Array[] = [];
  const argvPointers = pointerArray(argv, keep);
  const envp = pointerArray(
    Object.entries(env).map(([k, v]) => `${k}=${v}`),
    keep,
  );
  // Returns only on failure (the image is replaced otherwise).
  libc.symbols.execve(cString(executable), argvPointers, envp);
  libc.close();
  return `execve of ${executable} failed`;
}

/**
 * The allocator this process runs under: `jemalloc` when its library is
 * mapped (`/proc/self/maps`), else `system`; `unknown` when the maps cannot
 * be read.
 */
export function currentAllocator(): "jemalloc" | "system" | "unknown" {
  const libc = openLibc();
  if (libc === undefined) return "unknown";
  try {
    const maps = readProcSelf(libc, "maps");
    if (maps === undefined) return "unknown";
    return /\/libjemalloc[^/\n]*\n/.test(new TextDecoder().decode(maps))
      ? "jemalloc"
      : "system";
  } finally {
    libc.close();
  }
}
