/**
 * The migration step inside a real deploy (the deploy command with its real steps, the ECS
 * simulator, the real SDK, the real squawk, a FakeClock): lint, then the migration task from the NEW
 * revision, then — only on exit code 0 — UpdateService. In every failure the service is never
 * updated, the deploy exits 1 with the reason, and the new revision is not recorded anywhere a
 * rollback would pick it up.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TaskOutcome } from "../../src/emulator/ecs/tasks.js";
import { ExitCode } from "../../src/errors.js";
import { configText, startWorld, type World } from "../support/world.js";

const exampleMigrations = join(import.meta.dirname, "..", "..", "examples", "app", "migrations");
const migrations = { command: ["node", "dist/migrate.js"], timeoutSeconds: 60 };

let appRoot: string;
let h: World;

/** Deploys with shipyard.json from memory and the app folder (migrations, git) on disk at `root`. */
const deployFrom = (world: World, root: string) => world.deploy({}, { files: { ...world.files, root } });

beforeAll(async () => {
  appRoot = await mkdtemp(join(tmpdir(), "shipyard-deploy-migrate-"));
  await cp(exampleMigrations, join(appRoot, "migrations"), { recursive: true });
});
afterAll(() => rm(appRoot, { recursive: true, force: true }));
afterEach(async () => {
  await h?.stop();
});

async function deployWith(prepare: (h: World) => void, extra: Record<string, unknown> = { migrations }) {
  h = (await startWorld()).setConfig(configText({}, extra));
  prepare(h);
  return deployFrom(h, appRoot);
}

function expectServiceUntouched(newRevision: string | null) {
  expect(h.sim.callsTo("UpdateService")).toHaveLength(0);
  expect(h.sim.describe().taskDefinition).toBe(h.v1);
  expect(h.sim.serviceTags()["shipyard:last-good"]).not.toBe(newRevision);
}

describe("deploy with migrations", () => {
  it("runs the migration task from the new revision, and updates the service only after it exits 0", async () => {
    const report = await deployWith((h) =>
      h.sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 20 }),
    );
    expect(report.outcome).toBe("succeeded");
    const [run] = h.sim.callsTo("RunTask");
    expect(run?.input).toMatchObject({
      taskDefinition: report.taskDefinition,
      startedBy: "shipyard-migrate",
      overrides: { containerOverrides: [{ name: "app", command: ["node", "dist/migrate.js"] }] },
    });
    const stoppedSeen = Math.max(...h.sim.callsTo("DescribeTasks").map((c) => c.atMs));
    const [update] = h.sim.callsTo("UpdateService");
    expect(update?.atMs).toBeGreaterThanOrEqual(stoppedSeen);
    expect(h.sim.operations().indexOf("UpdateService")).toBeGreaterThan(
      h.sim.operations().lastIndexOf("DescribeTasks"),
    );
    expect(report.migration).toMatchObject({
      task: "succeeded",
      exitCode: 0,
      taskDefinition: report.taskDefinition,
    });
    expect(report.migration?.lint).toMatch(/^passed: 2 file\(s\), 0 unsafe/);
  });

  const failures: Array<[string, (h: World) => void, RegExp, string]> = [
    [
      "exits 1",
      (h) => h.sim.tasks.outcomes.push({ kind: "exit", code: 1, afterSeconds: 15 } satisfies TaskOutcome),
      /exited with code 1/,
      "failed",
    ],
    [
      "never starts",
      (h) => h.sim.tasks.outcomes.push({ kind: "neverStarts", afterSeconds: 5 }),
      /stopped before the app container ran \(no exit code\)/,
      "not_started",
    ],
    [
      "hangs past the timeout",
      (h) => h.sim.tasks.outcomes.push({ kind: "hang" }),
      /stopped because migrations\.timeoutSeconds \(60s\) passed/,
      "timed_out",
    ],
    [
      "is refused by RunTask",
      (h) => h.sim.tasks.runTaskFailures.push([{ reason: "RESOURCE:MEMORY" }]),
      /ECS refused to start the migration task: RESOURCE:MEMORY/,
      "not_started",
    ],
  ];

  it.each(failures)(
    "fails the deploy without touching the service when the migration %s",
    async (_, prepare, reason, status) => {
      const report = await deployWith(prepare);
      expect(report.outcome).toBe("failed");
      expect(report.exitCode).toBe(ExitCode.RolledBack);
      expect(report.reason).toMatch(reason);
      expect(report.reason).toMatch(/the service was not changed/i);
      expect(report.migration).toMatchObject({ task: status });
      expectServiceUntouched(report.taskDefinition);
    },
  );

  it("stops at the lint: an unsafe new migration never runs and the service is untouched", async () => {
    const unsafe = join(appRoot, "migrations", "0003_rename_title.sql");
    await writeFile(unsafe, "SET lock_timeout = '5s';\nALTER TABLE notes RENAME COLUMN title TO heading;\n");
    try {
      const report = await deployWith(() => {});
      expect(report.exitCode).toBe(ExitCode.RolledBack);
      expect(report.reason).toMatch(
        /Migration lint found 1 unsafe statement\(s\): migrations\/0003_rename_title\.sql:2 renaming-column/,
      );
      expect(report.migration?.lintFindings).toEqual(["migrations/0003_rename_title.sql:2 renaming-column"]);
      expect(h.sim.callsTo("RunTask")).toHaveLength(0);
      expectServiceUntouched(report.taskDefinition);
    } finally {
      await rm(unsafe);
    }
  });

  it("lints only migrations added since the running release when that release is a commit", async () => {
    const repo = await mkdtemp(join(tmpdir(), "shipyard-deploy-release-"));
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
        cwd: repo,
        encoding: "utf8",
      }).trim();
    try {
      git("init", "-q", "-b", "main");
      await mkdir(join(repo, "migrations"));
      // Applied long ago, before anyone linted: unsafe by today's rules.
      await writeFile(join(repo, "migrations", "0001_old.sql"), "CREATE INDEX notes_idx ON notes (id);\n");
      git("add", ".");
      git("commit", "-q", "-m", "release 1");
      const running = git("rev-parse", "HEAD");
      await cp(join(exampleMigrations, "0001_create_notes.sql"), join(repo, "migrations", "0002_new.sql"));
      git("add", ".");
      git("commit", "-q", "-m", "release 2");

      const deployRunning = async (release: string) => {
        await h?.stop();
        h = (await startWorld()).setConfig(configText({}, { migrations, service: "api" }));
        const current = h.sim.registerTaskDefinition({
          family: "api",
          containerDefinitions: [
            {
              name: "app",
              image: "ghcr.io/acme/app@sha256:1",
              environment: [{ name: "SENTRY_RELEASE", value: release }],
            },
          ],
        });
        h.sim.createService({ cluster: "main", service: "api", taskDefinition: current });
        return deployFrom(h, repo);
      };

      const sinceRelease = await deployRunning(running);
      expect(sinceRelease.outcome).toBe("succeeded");
      expect(sinceRelease.migration).toMatchObject({
        lint: expect.stringMatching(/^passed: 1 file/),
        lintScope: `added since ${running}`,
      });
      expect(h.captured.lines).toContain(
        `Linting migrations added since the running release ${running.slice(0, 12)}`,
      );

      const notACommit = await deployRunning("v1");
      expect(notACommit.outcome).toBe("failed");
      expect(notACommit.reason).toMatch(/migrations\/0001_old\.sql:1 require-concurrent-index-creation/);
      expect(h.sim.callsTo("UpdateService")).toHaveLength(0);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("skips the step for an environment without migrations", async () => {
    const report = await deployWith(() => {}, {});
    expect(report.outcome).toBe("succeeded");
    expect(h.sim.callsTo("RunTask")).toHaveLength(0);
  });
});
