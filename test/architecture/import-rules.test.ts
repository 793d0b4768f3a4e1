/**
 * The import rules in .dependency-cruiser.cjs (run by `npm run lint`) are only worth something if
 * each one fires. This builds a small tree that breaks every rule once, runs the real
 * dependency-cruiser over it with the project's own configuration, and expects every rule by name;
 * then the same over the real tree, expecting none.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CRUISER = join(ROOT, "node_modules/.bin/depcruise");

/** One file per broken rule: path → its source. */
const BROKEN: Record<string, string> = {
  "src/clock.ts": 'import { x } from "./errors.js";\nexport const clock = x;\n',
  "src/errors.ts": "export const x = 1;\n",
  "src/index.ts": 'import { dag } from "@dagger.io/dagger";\nexport const d = dag;\n',
  "src/commands/deploy.ts":
    'import { dag } from "@dagger.io/dagger";\nimport { face } from "../dagger/runtime.js";\nexport const c = [dag, face];\n',
  "src/dagger/runtime.ts": "export const face = 1;\n",
  "src/deploy/wait.ts":
    'import { g } from "../verify/gate.js";\nimport { c } from "../commands/deploy.js";\nexport const w = [g, c];\n',
  "src/verify/gate.ts": 'import { t } from "../migrations/task.js";\nexport const g = t;\n',
  "src/migrations/task.ts": 'import { w } from "../deploy/wait.js";\nexport const t = w;\n',
  "src/emulator/estate.ts": 'import { w } from "../deploy/wait.js";\nexport const e = w;\n',
  "src/config/load.ts":
    'import { r } from "../report/report.js";\nimport { w } from "../deploy/wait.js";\nexport const l = [r, w];\n',
  "src/report/report.ts":
    'import { cli } from "../../bin/cli.js";\nimport { sim } from "../../test/sim.js";\nexport const r = [cli, sim];\n',
  "bin/cli.ts": "export const cli = 1;\n",
  "test/sim.ts": "export const sim = 1;\n",
};

const EXPECTED_RULES = [
  "no-circular",
  "core-never-imports-dagger",
  "src-never-imports-bin",
  "nothing-imports-tests",
  "commands-never-import-faces",
  "below-commands-never-import-up",
  "foundation-never-imports-areas",
  "base-imports-nothing",
  "no-deploy-to-verify-or-migrations-or-emulator",
  "no-verify-to-deploy-or-migrations-or-emulator",
  "no-migrations-to-deploy-or-verify-or-emulator",
  "no-emulator-to-deploy-or-verify-or-migrations",
  "no-config-to-aws-or-report",
];

let tree: string;
beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), "shipyard-import-rules-"));
  for (const [path, text] of Object.entries(BROKEN)) {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), text);
  }
  await writeFile(
    join(tree, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "ESNext", moduleResolution: "Bundler", allowJs: true } }),
  );
  await copyFile(join(ROOT, ".dependency-cruiser.cjs"), join(tree, ".dependency-cruiser.cjs"));
  // The Dagger SDK must resolve for the rule to see where an import goes.
  await mkdir(join(tree, "node_modules/@dagger.io"), { recursive: true });
  await writeFile(join(tree, "node_modules/@dagger.io/dagger.js"), "export const dag = 1;\n");
});
afterAll(() => rm(tree, { recursive: true, force: true }));

async function cruise(cwd: string): Promise<string> {
  try {
    const { stdout } = await run(CRUISER, ["src", "bin", "--config", ".dependency-cruiser.cjs"], { cwd });
    return stdout;
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe("import rules", () => {
  it("every rule fires on a tree that breaks it", async () => {
    const out = await cruise(tree);
    for (const rule of EXPECTED_RULES) expect(out, rule).toContain(`error ${rule}:`);
  });

  it("the real tree keeps every rule", async () => {
    expect(await cruise(ROOT)).toContain("no dependency violations found");
  });
});
