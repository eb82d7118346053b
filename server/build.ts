/**
 * `deno task build`: bundle the page (`web/main.ts` → `web/dist/app.js`) and
 * the worker (`worker/worker.ts` → `web/dist/worker.js`) with esbuild, copy
 * `index.html` and `style.css`, and print the bundle sizes (raw and gzip).
 *
 * esbuild's npm package runs its native binary as a child process, hence
 * `--allow-run`; `--allow-env` and `--allow-read` are for its install
 * lookup. Nothing is fetched from the network.
 *
 * @module
 */

import * as esbuild from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Size of one output file. */
export interface BundleSize {
  /** File name inside the output directory. */
  file: string;
  /** Bytes on disk. */
  rawBytes: number;
  /** Bytes after gzip (level 9 is not available; this is the default level). */
  gzipBytes: number;
}

/** Options of {@linkcode buildWeb}. */
export interface BuildWebOptions {
  /** Repository root (default: the parent of this file's folder). */
  root?: string;
  /** Output directory (default `<root>/web/dist`). */
  outDir?: string;
  /** Minify (default `true`). */
  minify?: boolean;
  /** Write external source maps (default `false`). */
  sourcemap?: boolean;
  /** Stop esbuild's service when done (default `true`). */
  stop?: boolean;
}

/** What {@linkcode buildWeb} produced. */
export interface BuildWebResult {
  /** The output directory. */
  outDir: string;
  /** Sizes of every output file. */
  sizes: BundleSize[];
}

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/**
 * Build the page and the worker.
 *
 * @param options Paths and switches.
 * @returns The output directory and file sizes.
 * @throws {Error} When esbuild reports an error.
 * @example Build
 * ```ts ignore
 * import { buildWeb } from "./build.ts";
 * const { sizes } = await buildWeb();
 * ```
 */
export async function buildWeb(
  options: BuildWebOptions = {},
): Promise<BuildWebResult> {
  const root = options.root ??
    dirname(dirname(fileURLToPath(import.meta.url)));
  const outDir = options.outDir ?? join(root, "web", "dist");
  await Deno.mkdir(outDir, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: options.minify ?? true,
    sourcemap: options.sourcemap === true ? "external" : false,
    legalComments: "eof",
    logLevel: "silent",
    absWorkingDir: root,
    alias: { "@krakked/core": "./core" },
    nodePaths: [join(root, "node_modules")],
    define: { "process.env.NODE_ENV": '"production"' },
  };
  try {
    await esbuild.build({
      ...common,
      entryPoints: [join(root, "web", "main.ts")],
      outfile: join(outDir, "app.js"),
    });
    await esbuild.build({
      ...common,
      entryPoints: [join(root, "worker", "worker.ts")],
      outfile: join(outDir, "worker.js"),
    });
  } finally {
    if (options.stop ?? true) await esbuild.stop();
  }
  for (const file of ["index.html", "style.css"]) {
    await Deno.copyFile(join(root, "web", file), join(outDir, file));
  }
  const sizes: BundleSize[] = [];
  for (const file of ["app.js", "worker.js", "index.html", "style.css"]) {
    const bytes = await Deno.readFile(join(outDir, file));
    sizes.push({
      file,
      rawBytes: bytes.byteLength,
      gzipBytes: await gzipSize(bytes),
    });
  }
  return { outDir, sizes };
}

/**
 * Format sizes as a small table.
 *
 * @param sizes From {@linkcode buildWeb}.
 * @returns Lines of text.
 * @example Print
 * ```ts ignore
 * console.log(formatSizes(sizes));
 * ```
 */
export function formatSizes(sizes: readonly BundleSize[]): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
  const lines = sizes.map((s) =>
    `${s.file.padEnd(12)}${kb(s.rawBytes)} raw ${kb(s.gzipBytes)} gzip`
  );
  const raw = sizes.reduce((n, s) => n + s.rawBytes, 0);
  const gz = sizes.reduce((n, s) => n + s.gzipBytes, 0);
  lines.push(`${"total".padEnd(12)}${kb(raw)} raw ${kb(gz)} gzip`);
  return lines.join("\n");
}

if (import.meta.main) {
  try {
    const { outDir, sizes } = await buildWeb({
      sourcemap: Deno.args.includes("--sourcemap"),
      minify: !Deno.args.includes("--no-minify"),
    });
    await Deno.stdout.write(
      new TextEncoder().encode(`Built ${outDir}\n${formatSizes(sizes)}\n`),
    );
  } catch (error) {
    await Deno.stderr.write(
      new TextEncoder().encode(
        `Build failed: ${
          error instanceof Error ? error.message : String(error)
        }\n`,
      ),
    );
    Deno.exit(1);
  }
}
