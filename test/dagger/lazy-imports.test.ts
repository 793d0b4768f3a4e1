/**
 * Every `dagger call` starts a fresh runtime that imports src/index.ts before doing anything, so the
 * heavy SDKs must only be reached through `await import(...)`. This walks the static import graph
 * (value imports and re-exports; `import type` is erased) from src/index.ts and fails on any of them.
 * The measured cost is in test/bench/import.ts.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HEAVY = [
  // Every AWS SDK client: ECS, ECR, ELBv2, CloudWatch Logs, EventBridge, EventBridge Scheduler.
  /^@aws-sdk\//,
  /^@sentry\//,
  /^@octokit\//,
  /^mermaid$/,
  /^playwright/,
  /^pg$/,
  /^squawk-cli/,
  /^zod$/,
];

/** Static value imports and re-exports of one file (dynamic `import()` and `import type` excluded). */
function staticImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /^\s*(?:import|export)\s+(?!type\b)(?:[^;"']*?\sfrom\s+)?["']([^"']+)["']/gm;
  for (const match of source.matchAll(statement)) specifiers.push(match[1]!);
  return specifiers;
}

function graph(entry: string): { files: string[]; packages: Map<string, string> } {
  const files: string[] = [];
  const packages = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const specifier of staticImports(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) queue.push(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else if (!packages.has(specifier)) packages.set(specifier, relative(ROOT, file));
    }
  }
  return { files, packages };
}

describe("what importing the module loads", () => {
  it("recognises value imports, re-exports and skips type-only imports", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "@aws-sdk/client-ecs";',
      "import {\n  c,\n  type D,\n} from 'zod';",
      'export { e } from "./e.js";',
      'import "./side-effect.js";',
      'const lazy = await import("pg");',
    ].join("\n");
    expect(staticImports(source)).toEqual(["./a.js", "zod", "./e.js", "./side-effect.js"]);
  });

  it("reaches no heavy SDK statically from src/index.ts", () => {
    const { files, packages } = graph(join(ROOT, "src/index.ts"));
    expect(files.length).toBeGreaterThan(3);
    const heavy = [...packages].filter(([name]) => HEAVY.some((pattern) => pattern.test(name)));
    expect(heavy.map(([name, from]) => `${name} (imported by ${from})`)).toEqual([]);
    // Only the SDK itself (and Node built-ins) load with the module; everything else on first use.
    expect([...packages.keys()].filter((name) => !name.startsWith("node:")).sort()).toEqual([
      "@dagger.io/dagger",
    ]);
  });

  it("the scheduled tasks' gateway loads neither EventBridge SDK until it sends", () => {
    const { packages } = graph(join(ROOT, "src/aws/schedules.ts"));
    const heavy = [...packages].filter(([name]) => HEAVY.some((pattern) => pattern.test(name)));
    expect(heavy.map(([name, from]) => `${name} (imported by ${from})`)).toEqual([]);
    const lazy = readFileSync(join(ROOT, "src/aws/schedules.ts"), "utf8");
    for (const sdk of ["@aws-sdk/client-eventbridge", "@aws-sdk/client-scheduler"])
      expect(lazy).toContain(`import("${sdk}")`);
  });
});
