// deno-lint-ignore-file no-console -- a command-line report: printing is its job
/**
 * Prints the line and branch coverage of core/ from the lcov report that
 * `deno test --coverage` writes, and fails when lines drop below the floor.
 *
 * Usage: deno run --allow-read tests/coverage_gate.ts [.coverage/lcov.info] [floor%]
 */
import { fileURLToPath } from "node:url";
import { sep } from "node:path";

const path = Deno.args[0] ?? ".coverage/lcov.info";
const floor = Number(Deno.args[1] ?? "90");
const coreDir = fileURLToPath(new URL("../core/", import.meta.url));

let lf = 0, lh = 0, brf = 0, brh = 0, files = 0, inCore = false;
for (const line of (await Deno.readTextFile(path)).split("\n")) {
  if (line.startsWith("SF:")) {
    const file = line.slice(3);
    inCore = file.startsWith(coreDir) ||
      file.includes(`${sep}core${sep}`) && !file.includes(`${sep}tests${sep}`);
    if (inCore) files++;
  } else if (inCore) {
    const [tag, value] = line.split(":");
    const n = Number(value);
    if (tag === "LF") lf += n;
    else if (tag === "LH") lh += n;
    else if (tag === "BRF") brf += n;
    else if (tag === "BRH") brh += n;
  }
}
const pct = (hit: number, found: number) =>
  found === 0 ? 100 : (hit / found) * 100;
const lines = pct(lh, lf);
const branches = pct(brh, brf);
console.log(
  `core/ coverage: lines ${lines.toFixed(1)} % (${lh}/${lf}), branches ${
    branches.toFixed(1)
  } % (${brh}/${brf}) over ${files} files`,
);
if (lines < floor) {
  console.error(
    `core/ line coverage ${lines.toFixed(1)} % is below the ${floor} % floor`,
  );
  Deno.exit(1);
}
