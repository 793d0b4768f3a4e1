/**
 * CLI cold start: how long `shipyard --help` and a `plan` refused for bad input take, as a ratio to a
 * bare `node -e 0` measured in the same run (same machine, same moment). The compiled CLI
 * (dist/, `npm run build`) is what users run; running the TypeScript through tsx is shown for
 * comparison (that is what every start paid before the CLI was compiled). Rows are interleaved;
 * the table shows medians.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { installPackedCli } from "../support/package.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RUNS = 15;
const APP = join(ROOT, "examples/app");
const CLI = join(ROOT, "dist/bin/shipyard.js");

interface Row {
  label: string;
  args: string[];
  cwd: string;
}

const rows: Row[] = [
  { label: "`node -e 0` (baseline)", args: ["-e", "0"], cwd: ROOT },
  { label: "`shipyard --help`", args: [CLI, "--help"], cwd: ROOT },
  { label: "`shipyard plan --env nope` (bad input, exit 2)", args: [CLI, "plan", "--env", "nope"], cwd: APP },
  {
    label: "`shipyard --help` through tsx (before: TypeScript at every start)",
    args: ["--import", "tsx", join(ROOT, "bin/shipyard.ts"), "--help"],
    cwd: ROOT,
  },
];

function once(row: Row): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, row.args, {
    cwd: row.cwd,
    stdio: "ignore",
  });
  if (result.error) throw result.error;
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<string> {
  // The package as users install it (npm pack → npm install -D in a fresh app); this also builds dist/.
  const packed = await installPackedCli();
  rows.splice(2, 0, {
    label: "`npx shipyard --help` from the installed package (its node_modules/.bin/shipyard)",
    args: [packed.bin, "--help"],
    cwd: packed.app,
  });
  if (!existsSync(CLI)) throw new Error("npm pack did not build dist/");
  const samples = rows.map(() => [] as number[]);
  for (const row of rows) once(row); // warm the file cache
  for (let n = 0; n < RUNS; n++) {
    for (const [i, row] of rows.entries()) samples[i]!.push(once(row));
  }
  const baseline = median(samples[0]!);
  const table = rows.map((row, i) => {
    const ms = median(samples[i]!);
    return `| ${row.label} | ${ms.toFixed(0)} ms | ${(ms / baseline).toFixed(2)}x |`;
  });
  return [
    `Node ${process.version}; median of ${RUNS} interleaved runs each.`,
    "",
    "| Command | Median | Ratio to `node -e 0` |",
    "|---|---|---|",
    ...table,
  ].join("\n");
}
