/**
 * Migration safety figures: what migrate-lint catches and what it costs, how many ECS calls a
 * migration task wait makes, and how long the example app's migrate command takes on PostgreSQL.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ecs } from "../../src/aws/ecs.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { lintMigrations } from "../../src/migrations/lint.js";
import { runMigrationTask } from "../../src/migrations/task.js";
import { FakeClock } from "../support/clock.js";
import { fastRetryEcsFactory } from "../support/ecs-sim/client.js";
import { captureOutput } from "../support/world.js";

const root = join(import.meta.dirname, "..", "..");
const corpus = join(root, "test", "migrations", "corpus");

async function median(times: number, task: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await task();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? 0;
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

async function lintFigures(rows: string[][]): Promise<void> {
  const unsafe = await lintMigrations({ appRoot: corpus, directory: "unsafe" });
  const caught = unsafe.files.filter((f) =>
    unsafe.findings.some((x) => x.file === f.path && x.level === "error"),
  );
  rows.push([
    "Unsafe corpus files failed by migrate-lint (a typical AWS-CLI pipeline: no migration check at all)",
    `${caught.length}/${unsafe.files.length}`,
  ]);
  const safe = await lintMigrations({ appRoot: corpus, directory: "safe" });
  rows.push([
    "Safe rewrites with no finding at all (not even advice)",
    `${safe.files.length - new Set(safe.findings.map((f) => f.file)).size}/${safe.files.length}`,
  ]);
  rows.push([
    `migrate-lint, ${unsafe.files.length}-file unsafe corpus (median of 5)`,
    ms(await median(5, () => lintMigrations({ appRoot: corpus, directory: "unsafe" }))),
  ]);

  const repo = await mkdtemp(join(tmpdir(), "shipyard-bench-lint-"));
  try {
    await mkdir(join(repo, "migrations"));
    const statement = "SET lock_timeout = '5s';\nALTER TABLE notes ADD COLUMN IF NOT EXISTS c{{N}} text;\n";
    for (let i = 1; i <= 300; i++) {
      await writeFile(
        join(repo, "migrations", `${String(i).padStart(4, "0")}_c${i}.sql`),
        statement.replace("{{N}}", String(i)),
      );
    }
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=b", "-c", "user.email=b@example.com", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-q", "-m", "300 applied migrations");
    git("checkout", "-q", "-b", "change");
    for (let i = 301; i <= 303; i++) {
      await writeFile(
        join(repo, "migrations", `${i}_new.sql`.padStart(12, "0")),
        statement.replace("{{N}}", String(i)),
      );
    }
    rows.push([
      "migrate-lint, all 303 migrations (median of 3)",
      ms(await median(3, () => lintMigrations({ appRoot: repo }))),
    ]);
    const changed = await lintMigrations({ appRoot: repo, baseRef: "main" });
    rows.push([
      `migrate-lint --base main, same repo: ${changed.files.length} new files linted (median of 3)`,
      ms(await median(3, () => lintMigrations({ appRoot: repo, baseRef: "main" }))),
    ]);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
}

async function taskFigures(rows: string[][]): Promise<void> {
  const clock = new FakeClock();
  const sim = await EcsSimulator.start(clock, "eu-west-1");
  const client = (maxAttempts: number) =>
    fastRetryEcsFactory({ region: "eu-west-1", endpoint: sim.endpoint, maxAttempts });
  const ecs = new Ecs({ mutations: await client(3), polls: await client(1) });
  try {
    const revision = sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "x" }],
    });
    sim.createService({ taskDefinition: revision });
    sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 600 });
    const captured = captureOutput();
    const progress = captured.output;
    const started = performance.now();
    const result = await runMigrationTask({
      ecs,
      region: "eu-west-1",
      cluster: "main",
      service: "web",
      container: "app",
      command: ["migrate"],
      taskDefinition: revision,
      timeoutSeconds: 900,
      pollSeconds: 5,
      clock,
      progress,
      signal: new AbortController().signal,
    });
    rows.push([
      "10-minute migration task (simulated, poll 5 s): DescribeTasks calls / progress lines / wall time",
      `${sim.callsTo("DescribeTasks").length} / ${captured.lines.length} / ${ms(performance.now() - started)} (${result.status})`,
    ]);
  } finally {
    await sim.stop();
  }
}

function postgresFigures(rows: string[][]): void {
  const server = process.env.DATABASE_URL || "postgres://shipyard:shipyard@127.0.0.1:5432/shipyard_test";
  const name = `shipyard_bench_${randomBytes(4).toString("hex")}`;
  const psql = (sql: string) => spawnSync("psql", [server, "-qtAc", sql], { encoding: "utf8" });
  if (psql(`CREATE DATABASE ${name}`).status !== 0) {
    rows.push(["Example app migrate command on PostgreSQL", "not run: no PostgreSQL at DATABASE_URL"]);
    return;
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  const run = () => {
    const started = performance.now();
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "examples", "app", "src", "migrate.ts")],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url.toString() },
        encoding: "utf8",
      },
    );
    return { ms: performance.now() - started, code: result.status };
  };
  try {
    const first = run();
    const second = run();
    rows.push([
      "Example app migrate command, empty database (process start + apply)",
      `${ms(first.ms)} (exit ${first.code})`,
    ]);
    rows.push(["Same, nothing to apply", `${ms(second.ms)} (exit ${second.code})`]);
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

export async function run(): Promise<string> {
  const rows: string[][] = [];
  await lintFigures(rows);
  await taskFigures(rows);
  postgresFigures(rows);
  const count = async (folder: string) => (await readdir(join(corpus, folder))).length;
  return [
    `${execFileSync(join(root, "node_modules", ".bin", "squawk"), ["--version"], { encoding: "utf8" }).trim()}; corpus: ${await count("unsafe")} unsafe migrations, ${await count("safe")} safe rewrites, ${await count("post-deploy")} post-deploy contracts.`,
    "",
    "| Measure | Value |",
    "|---|---|",
    ...rows.map(([what, value]) => `| ${what} | ${value} |`),
  ].join("\n");
}
