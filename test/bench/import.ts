/**
 * Import cost of the module: every `dagger call` starts a fresh runtime that imports src/index.ts (the
 * engine's loader actually imports every .ts file under src/). Heavy SDKs (AWS, Sentry, pg) must load
 * lazily, so importing the module should cost about what importing @dagger.io/dagger alone costs.
 *
 * Each sample is a fresh `node --import tsx` child that times its own dynamic import (process start
 * and the tsx loader are the same for every row and left out). Rows are interleaved and repeated;
 * the table reports the median.
 */
import { execFile } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REPETITIONS = 7;

interface Target {
  label: string;
  /** Module specifiers imported, in order, inside one child. */
  specifiers: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
    })
    .sort();
}

function targets(): Target[] {
  const srcFiles = sourceFiles(join(ROOT, "src")).map((file) => pathToFileURL(file).href);
  return [
    { label: "`@dagger.io/dagger` alone", specifiers: ["@dagger.io/dagger"] },
    {
      label: "`src/index.ts` (the Shipyard module)",
      specifiers: [pathToFileURL(join(ROOT, "src/index.ts")).href],
    },
    {
      label: `every file under src/ (${srcFiles.length}, as the engine's loader does)`,
      specifiers: srcFiles,
    },
  ];
}

/** One fresh process; returns milliseconds spent in the imports. */
async function sample(target: Target): Promise<number> {
  const script = [
    "const started = performance.now();",
    `for (const specifier of ${JSON.stringify(target.specifiers)}) await import(specifier);`,
    "process.stdout.write(String(performance.now() - started));",
  ].join("\n");
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    },
  );
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms))
    throw new Error(`import bench: unexpected child output ${JSON.stringify(stdout)}`);
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function run(): Promise<string> {
  const list = targets();
  const samples = list.map(() => [] as number[]);
  // Warm the filesystem cache and tsx's transform cache so the first row is not penalised.
  for (const target of list) await sample(target);
  for (let round = 0; round < REPETITIONS; round++) {
    for (const [index, target] of list.entries()) samples[index]!.push(await sample(target));
  }
  const baseline = median(samples[0]!);
  const rows = list.map((target, index) => {
    const values = samples[index]!;
    const med = median(values);
    const range = `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
    return `| ${target.label} | ${med.toFixed(0)} | ${range} | ${(med / baseline).toFixed(2)}× |`;
  });
  return [
    `Import time in a fresh Node ${process.versions.node} process (median of ${REPETITIONS}, after one warm-up)`,
    "",
    "| What is imported | median ms | min–max ms | vs SDK alone |",
    "| --- | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

// `npx tsx test/bench/import.ts` prints the table on its own.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(await run());
}
