/**
 * `shipyard migrate-lint` and `shipyard migrate` through the CLI dispatcher, in-process: flags,
 * shipyard.json settings, --json output, the GitHub step summary and the exit codes CI relies on.
 * migrate-lint runs on real folders with the real squawk; migrate runs in the world (ECS simulator,
 * fake clock).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CliIO, runCli } from "../../bin/cli.js";
import type { LintResult } from "../../src/migrations/lint.js";
import type { Report } from "../../src/report/report.js";
import { startWorld, type World } from "../support/world.js";
import { unsafeStatementCount } from "./corpus-expectations.js";

const corpus = join(import.meta.dirname, "corpus");

interface Captured extends CliIO {
  out: string[];
  err: string[];
}

function captureIO(cwd: string, env: NodeJS.ProcessEnv = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env,
    cwd,
    signal: new AbortController().signal,
    script: join(cwd, "node_modules", ".bin", "shipyard"),
  };
}

/** The migrate-lint reports appended to a step summary: each one's header and its lint result. */
function lintSummaries(text: string): Array<{ header: string; lint: LintResult }> {
  return text
    .split(/^(?=## Shipyard )/m)
    .filter((part) => part.startsWith("## Shipyard migrate-lint"))
    .map((part) => {
      const json = /<details><summary>lint<\/summary>\n\n```json\n([\s\S]*?)\n```/.exec(part)?.[1];
      return { header: part.split("\n")[0]!, lint: JSON.parse(json ?? "null") as LintResult };
    });
}

let app: string;
beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), "shipyard-cli-migrate-"));
});
afterAll(() => rm(app, { recursive: true, force: true }));

const config = (migrations: Record<string, unknown> | undefined, extraEnv: Record<string, unknown> = {}) =>
  JSON.stringify({
    image: "ghcr.io/acme/app",
    environments: {
      staging: {
        region: "eu-west-1",
        cluster: "main",
        service: "web",
        deployment: { pollSeconds: 1 },
        ...(migrations ? { migrations } : {}),
        ...extraEnv,
      },
    },
  });

describe("shipyard migrate-lint", () => {
  it("exits 1 on unsafe migrations, prints why/fix on stderr and the full result with --json", async () => {
    const io = captureIO(corpus);
    const code = await runCli(["migrate-lint", "--dir", "unsafe", "--json"], io);
    expect(code).toBe(1);
    expect(io.err.join("\n")).toMatch(/unsafe\/drop_column\.sql:4:19 {2}unsafe {2}ban-drop-column/);
    expect(io.err.join("\n")).toMatch(/fix: Expand\/contract/);
    // --json prints the migrate-lint report; the lint result is its migration.lint.
    const report = JSON.parse(io.out.join("\n")) as Report;
    expect(report).toMatchObject({ command: "migrate-lint", outcome: "failed", exitCode: 1 });
    const result = report.migration?.lint as LintResult;
    expect(result.outcome).toBe("failed");
    expect(result.counts.errors).toBe(unsafeStatementCount);
  });

  it("exits 0 on the safe corpus and appends a summary for GitHub", async () => {
    const summary = join(app, "summary.md");
    const io = captureIO(corpus, { GITHUB_STEP_SUMMARY: summary });
    expect(await runCli(["migrate-lint", "--dir", "safe"], io)).toBe(0);
    expect(await readFile(summary, "utf8")).toMatch(/^## Shipyard migrate-lint · ✅ succeeded/);
    expect(io.out).toEqual([]);
  });

  it("puts the blocking findings with why and fix in the GitHub summary", async () => {
    const summary = join(app, "summary-failed.md");
    const io = captureIO(corpus, { GITHUB_STEP_SUMMARY: summary });
    expect(await runCli(["migrate-lint", "--dir", "post-deploy"], io)).toBe(0);
    expect(await runCli(["migrate-lint", "--dir", "unsafe"], io)).toBe(1);
    const text = await readFile(summary, "utf8");
    expect(text).toMatch(
      /\| `post-deploy\/0200_drop_legacy_column\.sql:6` \| ban-drop-column \| allowed \(post-deploy\) \|/,
    );
    expect(text).toMatch(/\| `unsafe\/rename_table\.sql:4` \| renaming-table \| unsafe \|/);
    // One report per run; each carries the lint result (every finding with why and fix) in its
    // Migration section.
    const [passed, failed] = lintSummaries(text);
    expect(passed!.header).toBe("## Shipyard migrate-lint · ✅ succeeded");
    expect(passed!.lint.findings).toContainEqual(
      expect.objectContaining({
        file: "post-deploy/0200_drop_legacy_column.sql",
        line: 6,
        rule: "ban-drop-column",
        level: "allowed",
        why: expect.stringMatching(/\S/),
        fix: expect.stringMatching(/\S/),
      }),
    );
    expect(text).toMatch(/## Shipyard migrate-lint · ❌ failed/);
    expect(failed!.header).toBe("## Shipyard migrate-lint · ❌ failed");
    expect(failed!.lint.findings).toContainEqual(
      expect.objectContaining({
        file: "unsafe/rename_table.sql",
        line: 4,
        rule: "renaming-table",
        level: "error",
        why: expect.stringMatching(/\S/),
        fix: expect.stringMatching(/\S/),
      }),
    );
  });

  it("reads migrations.directory and excludeRules from shipyard.json, and adds --exclude", async () => {
    await writeFile(
      join(app, "shipyard.json"),
      config({ command: ["migrate"], directory: "db", excludeRules: ["ban-drop-column"] }),
    );
    await rm(join(app, "db"), { recursive: true, force: true });
    await mkdir(join(app, "db"));
    await writeFile(
      join(app, "db", "0001_drop.sql"),
      await readFile(join(corpus, "unsafe", "drop_column.sql")),
    );
    await writeFile(
      join(app, "db", "0002_drop.sql"),
      await readFile(join(corpus, "unsafe", "drop_table.sql")),
    );
    const io = captureIO(app);
    expect(await runCli(["migrate-lint"], io)).toBe(1);
    expect(io.err.join("\n")).not.toMatch(/ban-drop-column/);
    expect(io.err.join("\n")).toMatch(/db\/0002_drop\.sql:4:1 {2}unsafe {2}ban-drop-table/);
    expect(await runCli(["migrate-lint", "--exclude", "ban-drop-table"], captureIO(app))).toBe(0);
  });

  it("exits 2 on bad input: unknown flag, unknown rule, missing folder, unknown base ref", async () => {
    expect(await runCli(["migrate-lint", "--nope"], captureIO(app))).toBe(2);
    const badRule = captureIO(app);
    expect(await runCli(["migrate-lint", "--exclude", "no-such-rule"], badRule)).toBe(2);
    expect(badRule.err.join("\n")).toMatch(/does not know the rule "no-such-rule"/);
    expect(await runCli(["migrate-lint", "--dir", "missing"], captureIO(app))).toBe(2);
    const badBase = captureIO(corpus);
    expect(await runCli(["migrate-lint", "--dir", "safe", "--base", "no/such-ref"], badBase)).toBe(2);
    expect(badBase.err.join("\n")).toMatch(/fetch-depth: 0/);
  });
});

describe("shipyard migrate", () => {
  let h: World | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("exits 2 without --env, or when the environment has no migrations", async () => {
    h = (await startWorld()).setConfig(config(undefined));
    const noEnv = await h.cli(["migrate"]);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/--env NAME is required/);
    const noMigrations = await h.cli(["migrate", "--env", "staging"]);
    expect(noMigrations.code).toBe(2);
    expect(noMigrations.stderr).toMatch(/has no migrations configured; nothing was run/);
  });

  it("exits 1 with a JSON report when ECS refuses the task, and never touches the service", async () => {
    h = (await startWorld()).setConfig(config({ command: ["node", "dist/migrate.js"] }));
    const revision = h.v1;
    h.sim.tasks.runTaskFailures.push([{ reason: "RESOURCE:CPU" }]);
    const { code, stdout, stderr } = await h.cli(["migrate", "--env", "staging", "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as Report;
    expect(report).toMatchObject({
      command: "migrate",
      outcome: "failed",
      exitCode: 1,
      taskDefinition: revision,
      previousTaskDefinition: revision,
      migration: { task: "not_started" },
    });
    expect(report.reason).toBe(
      "ECS refused to start the migration task: RESOURCE:CPU; the service was not changed.",
    );
    expect(stderr).toMatch(/shipyard migrate staging: failed \(exit 1/);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(0);
  });

  it("runs a named revision and reports success (the command layer, FakeClock)", async () => {
    h = (await startWorld()).setConfig(config({ command: ["node", "dist/migrate.js"] }));
    const current = h.v1;
    const next = h.sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "ghcr.io/acme/app@sha256:2" }],
    });
    h.sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 30 });
    const report = await h.run("migrate", { env: "staging", taskDefinition: "web:2" });
    expect(report).toMatchObject({
      command: "migrate",
      outcome: "succeeded",
      exitCode: 0,
      image: "ghcr.io/acme/app@sha256:2",
      taskDefinition: next,
      previousTaskDefinition: current,
      migration: { task: "succeeded", exitCode: 0 },
    });
    expect(report.timings.totalSeconds).toBe(30);
    expect(report.reason).toBeUndefined();
    expect(h.sim.describe().taskDefinition).toBe(current);
  });
});
