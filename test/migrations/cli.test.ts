/**
 * `shipyard migrate-lint` and `shipyard migrate` through the CLI dispatcher, in-process: flags,
 * shipyard.json settings, --json output, the GitHub step summary and the exit codes CI relies on.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import type { CliIO } from "../../bin/io.js";
import { FakeClock } from "../../src/clock.js";
import { runMigrate } from "../../src/migrations/commands.js";
import { RecordingProgress } from "../../src/progress.js";
import type { Report } from "../../src/report/report.js";
import { fastRetryEcsFactory } from "../ecs-sim/client.js";
import { EcsSimulator } from "../ecs-sim/simulator.js";

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
  };
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
    const result = JSON.parse(io.out.join("\n")) as { outcome: string; counts: { errors: number } };
    expect(result.outcome).toBe("failed");
    expect(result.counts.errors).toBe(20);
  });

  it("exits 0 on the safe corpus and appends a summary for GitHub", async () => {
    const summary = join(app, "summary.md");
    const io = captureIO(corpus, { GITHUB_STEP_SUMMARY: summary });
    expect(await runCli(["migrate-lint", "--dir", "safe"], io)).toBe(0);
    expect(await readFile(summary, "utf8")).toMatch(/^## Shipyard migrate-lint · ✅ passed/);
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
    expect(text).toMatch(/## Shipyard migrate-lint · ❌ failed/);
    expect(text).toMatch(/\| `unsafe\/rename_table\.sql:4` \| renaming-table \| unsafe \|/);
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
  let sim: EcsSimulator;
  let clock: FakeClock;
  const saved = { ...process.env };

  beforeAll(() => {
    // The CLI uses the standard credential chain: give it fake keys for the simulator.
    process.env.AWS_ACCESS_KEY_ID = "AKIASIMULATOR";
    process.env.AWS_SECRET_ACCESS_KEY = "simulator-secret";
  });
  afterAll(() => {
    process.env = saved;
  });
  afterEach(async () => {
    await sim?.stop();
  });

  async function startSim() {
    clock = new FakeClock();
    sim = await EcsSimulator.start(clock, "eu-west-1");
    const revision = sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "ghcr.io/acme/app@sha256:1" }],
    });
    sim.createService({ cluster: "main", service: "web", taskDefinition: revision });
    return revision;
  }

  it("exits 2 without --env, or when the environment has no migrations", async () => {
    await writeFile(join(app, "shipyard.json"), config(undefined));
    const noEnv = captureIO(app);
    expect(await runCli(["migrate"], noEnv)).toBe(2);
    expect(noEnv.err.join("\n")).toMatch(/--env NAME is required/);
    const noMigrations = captureIO(app);
    expect(await runCli(["migrate", "--env", "staging"], noMigrations)).toBe(2);
    expect(noMigrations.err.join("\n")).toMatch(/has no migrations configured; nothing was run/);
  });

  it("exits 1 with a JSON report when ECS refuses the task, and never touches the service", async () => {
    const revision = await startSim();
    sim.tasks.runTaskFailures.push([{ reason: "RESOURCE:CPU" }]);
    await writeFile(join(app, "shipyard.json"), config({ command: ["node", "dist/migrate.js"] }));
    const io = captureIO(app, { AWS_ENDPOINT_URL_ECS: sim.endpoint });
    expect(await runCli(["migrate", "--env", "staging", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out.join("\n")) as Report;
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
    expect(io.err.join("\n")).toMatch(/shipyard migrate staging: failed \(exit 1/);
    expect(sim.callsTo("UpdateService")).toHaveLength(0);
  });

  it("runs a named revision and reports success (runMigrate, FakeClock)", async () => {
    const current = await startSim();
    const next = sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "ghcr.io/acme/app@sha256:2" }],
    });
    sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 30 });
    const report = await runMigrate(
      {
        configText: config({ command: ["node", "dist/migrate.js"] }),
        environmentName: "staging",
        appRoot: app,
        aws: { endpoint: sim.endpoint },
        taskDefinition: "web:2",
      },
      {
        clock,
        random: () => 0.5,
        progress: new RecordingProgress(),
        signal: new AbortController().signal,
        env: {},
        ecsClientFactory: fastRetryEcsFactory,
      },
    );
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
    expect(sim.describe().taskDefinition).toBe(current);
  });
});
