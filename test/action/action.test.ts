/**
 * The GitHub Action (action.yml) for teams without Dagger, run the way a runner runs a composite
 * action: this test reads action.yml and executes its shell steps with bash — `${{ inputs.* }}` and
 * `${{ github.action_path }}` filled in as GitHub fills them, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
 * as files — against the ECS simulator. The `uses:` step (setup-node) is GitHub's own and is only
 * checked to be pinned to Node 24. The install step runs in a copy of this repository, as the
 * runner's checkout of the action would be.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configText, NEW_IMAGE, startWorld, TEMPLATE, type World } from "../support/world.js";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  "working-directory"?: string;
}

interface Action {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(await readFile(join(ROOT, "action.yml"), "utf8")) as Action;

let actionPath: string;
let workspace: string;
let h: World;

/** How action.yml writes a GitHub expression: `${{ name }}`. */
const githubExpression = (name: string) => `\${{ ${name} }}`;

/** `${{ inputs.x }}`, `${{ github.action_path }}`: what GitHub substitutes before the shell runs. */
function expand(text: string, inputs: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_m, expression: string) => {
    if (expression === "github.action_path") return actionPath;
    if (expression.startsWith("inputs.")) {
      const name = expression.slice("inputs.".length);
      return inputs[name] ?? action.inputs[name]?.default ?? "";
    }
    throw new Error(`action.yml uses \${{ ${expression} }}, which this test does not know`);
  });
}

async function runStep(step: Step, inputs: Record<string, string>, env: NodeJS.ProcessEnv) {
  const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v, inputs)]));
  try {
    const { stdout, stderr } = await run("bash", ["-e", "-o", "pipefail", "-c", expand(step.run!, inputs)], {
      cwd: step["working-directory"] ? expand(step["working-directory"], inputs) : workspace,
      env: { ...env, ...stepEnv },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs every shell step after the install; returns the last step's exit code and the outputs it wrote. */
async function runAction(inputs: Record<string, string>) {
  const outputFile = join(workspace, `output-${Math.random().toString(16).slice(2)}`);
  const summaryFile = join(workspace, `summary-${Math.random().toString(16).slice(2)}`);
  await writeFile(outputFile, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
    AWS_ACCESS_KEY_ID: "AKIAACTIONTEST000001",
    AWS_SECRET_ACCESS_KEY: "action-test-secret-value",
    AWS_REGION: "eu-west-1",
  };
  const step = action.runs.steps.find((s) => s.id === "shipyard")!;
  const result = await runStep(step, inputs, env);
  const outputs = Object.fromEntries(
    (await readFile(outputFile, "utf8"))
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const summary = await readFile(summaryFile, "utf8").catch(() => "");
  return { ...result, outputs, summary };
}

beforeAll(async () => {
  const base = await mkdtemp(join(tmpdir(), "shipyard-action-"));
  actionPath = join(base, "action");
  workspace = join(base, "workspace");
  await mkdir(workspace);
  // The runner's checkout of the action: this repository's files (no node_modules, no dist).
  for (const entry of [
    "package.json",
    "package-lock.json",
    "src",
    "bin",
    "schema",
    "docs",
    "task-def.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "action.yml",
  ]) {
    await cp(join(ROOT, entry), join(actionPath, entry), { recursive: true });
  }
  const install = action.runs.steps.find((s) => s.run?.includes("npm ci"))!;
  const installed = await runStep(install, {}, process.env);
  expect(installed.code, installed.stderr).toBe(0);
  h = await startWorld({ config: configText({ pollSeconds: 1 }) });
  h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
  await writeFile(join(workspace, "shipyard.json"), configText({ pollSeconds: 1 }));
  await writeFile(join(workspace, "task-def.json"), TEMPLATE);
}, 300_000);

afterAll(async () => {
  await h?.stop();
  await rm(join(actionPath, ".."), { recursive: true, force: true });
});

// Each case runs the action's shell steps and the built CLI as processes: seconds each on a busy machine.
describe("action.yml", { timeout: 60_000 }, () => {
  it("is a composite action on Node 24 with the inputs and outputs teams use", () => {
    expect(action.runs.using).toBe("composite");
    const setup = action.runs.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))!;
    expect(setup.uses).toMatch(/^actions\/setup-node@[0-9a-f]{40}$/);
    expect(setup.with?.["node-version"]).toBe(24);
    expect(Object.keys(action.inputs).sort()).toEqual([
      "args",
      "command",
      "config",
      "env",
      "github-token",
      "image",
    ]);
    // GitHub Deployments: the job's token by default, handed to the CLI under Shipyard's own name.
    expect(action.inputs["github-token"]!.default).toBe(githubExpression("github.token"));
    const shipyard = action.runs.steps.find((s) => s.id === "shipyard")!;
    expect(shipyard.env?.["SHIPYARD_GITHUB_TOKEN"]).toBe(githubExpression("inputs.github-token"));
    expect(action.inputs["env"]!.required).toBe(true);
    expect(Object.keys(action.outputs).sort()).toEqual(["exit-code", "outcome", "report", "task-definition"]);
  });

  it("deploys: exit 0, the outcome and the task definition as outputs, the report in the step summary", async () => {
    const { code, outputs, summary, stderr } = await runAction({ env: "staging", image: NEW_IMAGE });
    expect(code, stderr).toBe(0);
    expect(outputs).toMatchObject({ outcome: "succeeded", "exit-code": "0" });
    expect(outputs["task-definition"]).toMatch(/task-definition\/web:2$/);
    expect(JSON.parse(await readFile(outputs["report"]!, "utf8"))).toMatchObject({
      command: "deploy",
      exitCode: 0,
    });
    expect(summary).toContain("## Shipyard deploy · staging · ✅ succeeded");
    expect(h.sim.describe().taskDefinition).toBe(outputs["task-definition"]);
  });

  it("passes the command's exit code through: an image from another repository is refused (2), nothing changed", async () => {
    const before = h.sim.callsTo("UpdateService").length;
    const { code, outputs } = await runAction({
      env: "staging",
      image: `ghcr.io/other/app@sha256:${"c".repeat(64)}`,
    });
    expect(code).toBe(2);
    expect(outputs).toMatchObject({ outcome: "failed", "exit-code": "2" });
    expect(h.sim.callsTo("UpdateService").length).toBe(before);
  });

  it("runs other commands with extra flags: rollback --to 1", async () => {
    const { code, outputs } = await runAction({ command: "rollback", env: "staging", args: "--to 1" });
    expect(code).toBe(0);
    expect(outputs["task-definition"]).toMatch(/task-definition\/web:1$/);
  });
});
