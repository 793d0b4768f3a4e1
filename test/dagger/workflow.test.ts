/**
 * The repository's own deploy and rollback workflows record GitHub Deployments: the deploy jobs may
 * write deployments and hand the module the job's token (as an env:// secret, never on the command
 * line) and the run, with flags the module's constructor really has, before the function name; the
 * rollback job (the CLI, which sees the runner's variables) gets the token in its environment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPOSITORY_ROOT } from "./harness.js";

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const read = (path: string) => readFileSync(join(REPOSITORY_ROOT, path), "utf8");
const workflow = (path: string) => parse(read(path)) as Workflow;
// biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub's expression syntax, not a template.
const JOB_TOKEN = "${{ github.token }}";

/** The constructor's parameter names, as `dagger call` flags (githubRunId → --github-run-id). */
function constructorFlags(): string[] {
  const source = read("src/index.ts");
  const start = source.indexOf("  constructor(");
  const parameters = source.slice(start, source.indexOf("\n  ) {", start));
  return [...parameters.matchAll(/^ {4}(\w+)\??(?: =|:|,)/gm)].map(
    (match) => `--${match[1]!.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
  );
}

describe("the deploy workflow", () => {
  const deploy = workflow(".github/workflows/deploy.yml");
  const flags = deploy.env?.GITHUB_DEPLOYMENTS ?? "";

  it("names the GitHub flags the module has, the token as an env:// secret", () => {
    const given = [...flags.matchAll(/(--[\w-]+)=/g)].map((match) => match[1]!);
    expect(given).toEqual([
      "--github-token",
      "--github-repository",
      "--github-run-id",
      "--github-server-url",
      "--github-api-url",
    ]);
    const known = constructorFlags();
    expect(known).toContain("--aws-access-key-id");
    for (const flag of given) expect(known, flag).toContain(flag);
    expect(flags).toContain("--github-token=env://GITHUB_TOKEN ");
  });

  for (const name of ["deploy-staging", "deploy-production"]) {
    it(`${name} may write deployments and passes the flags and the job's token to the module`, () => {
      const job = deploy.jobs[name]!;
      expect(job.permissions).toMatchObject({ deployments: "write", "id-token": "write" });
      const step = job.steps.find((s) => s.with?.verb === "call")!;
      const args = step.with!.args!;
      // Module flags go before the function name.
      expect(args.indexOf("env.GITHUB_DEPLOYMENTS")).toBeGreaterThan(-1);
      expect(args.indexOf("env.GITHUB_DEPLOYMENTS")).toBeLessThan(args.indexOf(" deploy --env="));
      expect(step.env?.GITHUB_TOKEN).toBe(JOB_TOKEN);
    });
  }

  it("gives the token to no other job", () => {
    for (const [name, job] of Object.entries(deploy.jobs)) {
      if (name.startsWith("deploy-")) continue;
      expect(job.permissions?.deployments, name).toBeUndefined();
    }
  });
});

describe("the rollback workflow", () => {
  it("may write deployments and runs the CLI with the job's token", () => {
    const rollback = workflow(".github/workflows/rollback.yml");
    expect(rollback.permissions).toMatchObject({ deployments: "write" });
    const step = rollback.jobs.rollback!.steps.find((s) => s.run?.includes(" rollback "))!;
    expect(step.env?.GITHUB_TOKEN).toBe(JOB_TOKEN);
  });
});
