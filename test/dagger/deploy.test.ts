/**
 * Contract tests for the deploy-side functions (plan, status, deploy, rollback, verify, migrate,
 * migrateLint): the real SDK against the fake engine for Secrets and containers, and the real AWS SDK
 * against the ECS simulator for the commands of src/commands, run through src/dagger/runtime.ts.
 * What is proved: the credentials are given once to the module, each Secret is read only when a
 * command needs it and its plaintext never travels in a query; files come from the source Directory;
 * the migration lint runs as the CLI in a glibc container, its JSON report is read back, and an unsafe
 * migration stops the deploy before the service changes; a report with a non-zero exit code fails the
 * call.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import { systemClock } from "../../src/clock.js";
import { lintResultOf } from "../../src/commands/migrate-lint.js";
import { faceRuntime, reportResult } from "../../src/dagger/runtime.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import { FakeClock } from "../support/clock.js";
import type { Chain, Responder } from "../support/fake-engine.js";
import { holdsTheWorldsImages } from "../support/world.js";
import { execs, fixture, runOn, SHA, type ShipyardArgs } from "./harness.js";

const KEY_ID = "AKIAFAKEENGINETEST01";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYfakeSecret";
const SESSION = "FwoGZXIvYXdzEFakeSessionTokenValue";
const PLAINTEXTS = [KEY_ID, SECRET_KEY, SESSION, SIM_TOKEN];
const SECRETS = {
  secrets: {
    "env://AWS_ACCESS_KEY_ID": KEY_ID,
    "env://AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "env://AWS_SESSION_TOKEN": SESSION,
    "env://SENTRY_AUTH_TOKEN": SIM_TOKEN,
  },
};
const AWS_URIS = ["env://AWS_ACCESS_KEY_ID", "env://AWS_SECRET_ACCESS_KEY", "env://AWS_SESSION_TOKEN"];
const IMAGE = `ghcr.io/acme/app@sha256:${"b".repeat(64)}`;

/** The module's constructor flags for the AWS credentials, as `--aws-access-key-id=env://...`. */
const AWS: ShipyardArgs = {
  awsAccessKeyId: "env://AWS_ACCESS_KEY_ID",
  awsSecretAccessKey: "env://AWS_SECRET_ACCESS_KEY",
  awsSessionToken: "env://AWS_SESSION_TOKEN",
};
/** Every credential given once to the module, as a CI job would: AWS and the Sentry token. */
const ALL: ShipyardArgs = { ...AWS, sentryAuthToken: "env://SENTRY_AUTH_TOKEN" };

let simClock: FakeClock;
let sim: EcsSimulator;
let sentry: SentrySim;
let savedEndpoint: string | undefined;
let savedSentryUrl: string | undefined;

beforeAll(async () => {
  simClock = new FakeClock();
  sim = await EcsSimulator.start(simClock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: `ghcr.io/acme/app@sha256:${"0".repeat(64)}` }],
  });
  sim.createService({ cluster: "main", service: "web", taskDefinition: v1, desiredCount: 2 });
  sim.createService({ cluster: "main", service: "qa-web", taskDefinition: v1, desiredCount: 2 });
  sim.createService({ cluster: "main", service: "review-web", taskDefinition: v1, desiredCount: 2 });
  // The module runtime's environment is where the commands read endpoint overrides, as the CLI does.
  savedEndpoint = process.env["AWS_ENDPOINT_URL_ECS"];
  process.env["AWS_ENDPOINT_URL_ECS"] = sim.endpoint;
  // Release health is modelled on the real clock: the Dagger face runs on the system clock.
  sentry = await startSentrySim({ clock: systemClock });
  savedSentryUrl = process.env["SENTRY_URL"];
  process.env["SENTRY_URL"] = sentry.url;
  // The registry preflight is answered here (ghcr.io holds every image), never on the network.
  faceRuntime.fetch = holdsTheWorldsImages();
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env["AWS_ENDPOINT_URL_ECS"];
  else process.env["AWS_ENDPOINT_URL_ECS"] = savedEndpoint;
  if (savedSentryUrl === undefined) delete process.env["SENTRY_URL"];
  else process.env["SENTRY_URL"] = savedSentryUrl;
  faceRuntime.fetch = undefined;
  await sim.stop();
  await sentry.close();
});

/** Calls of one operation on one service (tests share one simulator). */
function callsOn(operation: string, service: string): unknown[] {
  return sim.callsTo(operation).filter((call) => (call.input as { service?: string }).service === service);
}
const updatesOf = (service: string) => callsOn("UpdateService", service);

/** RegisterTaskDefinition calls with this image (each test deploys its own). */
function registrationsOf(image: string): unknown[] {
  return sim.callsTo("RegisterTaskDefinition").filter((call) => {
    const input = call.input as { containerDefinitions?: Array<{ image?: string }> };
    return input.containerDefinitions?.[0]?.image === image;
  });
}

function plaintextReads(chains: Chain[]): string[] {
  return chains
    .filter((chain) => chain.at(-1)?.field === "plaintext")
    .map((chain) => String(chain.at(-2)?.args["uri"]));
}

function expectNoPlaintextInQueries(queries: ReadonlyArray<{ text: string }>): void {
  for (const query of queries) {
    for (const secret of PLAINTEXTS) expect(query.text).not.toContain(secret);
  }
}

/** A chain that reads the result of the migrate-lint CLI container. */
const lintChain = (chain: Chain) =>
  execs(chain).some((args) => args.includes("migrate-lint")) &&
  ["exitCode", "stdout", "stderr"].includes(chain.at(-1)?.field ?? "");

/** What the CLI printed and returned, as the container would: exit code, stdout (JSON), stderr. */
interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Answers the lint container's exitCode/stdout/stderr with a run of the CLI. */
function lintAnswers(run: CliRun): Responder {
  return (chain) => {
    if (!lintChain(chain)) return undefined;
    const leaf = chain.at(-1)!.field as keyof CliRun;
    return { value: run[leaf] };
  };
}

/**
 * The real `shipyard migrate-lint` (this repository's CLI, in-process, real squawk) over a copy of the
 * deployable fixture: exactly the JSON report the container prints, not a hand-made imitation.
 */
async function realLint(args: string[], extraMigrations: Record<string, string> = {}): Promise<CliRun> {
  const dir = mkdtempSync(join(tmpdir(), "shipyard-dagger-lint-"));
  cpSync(fixture("deployable"), dir, { recursive: true });
  for (const [name, sql] of Object.entries(extraMigrations))
    writeFileSync(join(dir, "migrations", name), sql);
  const stdout: string[] = [];
  const stderr: string[] = [];
  try {
    const exitCode = await runCli(["migrate-lint", ...args], {
      stdout: (text) => stdout.push(text),
      stderr: (text) => stderr.push(text),
      env: { PATH: process.env["PATH"] },
      cwd: dir,
      signal: new AbortController().signal,
      script: "/shipyard/dist/bin/shipyard.js",
    });
    return { exitCode, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("history and metrics", () => {
  it("read the service's revisions through the same commands as the CLI, with the AWS Secrets only", async () => {
    const history = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.history("staging", "5"),
      SECRETS,
    );
    expect(history.error).toBeUndefined();
    expect(JSON.parse(String(history.result))).toMatchObject({
      command: "history",
      environment: "staging",
      exitCode: 0,
    });
    const metrics = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.metrics("staging", "7"),
      SECRETS,
    );
    expect(metrics.error).toBeUndefined();
    expect(JSON.parse(String(metrics.result))).toMatchObject({
      command: "metrics",
      environment: "staging",
      exitCode: 0,
    });
    expect(plaintextReads(metrics.engine.queries.map((q) => q.chain)).sort()).toEqual(AWS_URIS);
  });

  it("refuse a bad --limit as bad input, before any AWS call", async () => {
    const { error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.history("staging", "0"),
      SECRETS,
    );
    expect(error?.message).toMatch(
      /^history staging: bad input or configuration; nothing was changed \(exit 2\)\./,
    );
  });
});

describe("status", () => {
  it("reads shipyard.json from the source, builds the ECS client from the AWS Secrets only and returns the JSON report", async () => {
    const { engine, result, error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.status("staging"),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(String(result)) as Report;
    expect(report).toMatchObject({
      command: "status",
      environment: "staging",
      cluster: "main",
      service: "web",
    });
    expect(report.taskDefinition).toMatch(/task-definition\/web:1$/);
    const chains = engine.queries.map((q) => q.chain);
    expect(engine.render(chains.find((c) => c.at(-1)?.field === "contents")!)).toMatch(
      /deployable"\)\.file\(path: "shipyard\.json"\)\.contents$/,
    );
    // The Sentry token given to the module is not read: status never talks to Sentry.
    expect(plaintextReads(chains).sort()).toEqual(AWS_URIS);
    expectNoPlaintextInQueries(engine.queries);
  });

  it("fails the call with the report when the core says a person must look", async () => {
    const { error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.status("production"),
      SECRETS,
    );
    expect(error?.message).toMatch(
      /^status production: bad input or configuration; nothing was changed \(exit 2\)\./,
    );
    expect(error?.message).toContain("Report:\n{");
    expect(error?.message).toContain('"service": "missing"');
  });

  it("names the environments when asked for one shipyard.json does not have", async () => {
    const { engine, error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.status("prod"),
      SECRETS,
    );
    expect(error?.message).toMatch(/prod/);
    expect(error?.message).toMatch(/staging/);
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
  });

  it("explains a missing shipyard.json", async () => {
    const { error } = await runOn({ ...ALL }, (shipyard) => shipyard.status("staging"), SECRETS);
    expect(error?.message).toContain(
      "There is no configuration at shipyard.json (ENOENT): Shipyard does not know where to deploy.",
    );
    expect(error?.message).toContain(
      "Next:\n  add shipyard.json next to the app's package.json, or point --app at the app",
    );
  });
});

describe("plan", () => {
  it("renders the app's task definition with the image, without changing the service", async () => {
    const { engine, result, error } = await runOn(
      { fixture: "deployable", commit: SHA, ...ALL },
      (shipyard) => shipyard.plan("staging", IMAGE),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(String(result)) as Report;
    expect(report).toMatchObject({ command: "plan", outcome: "planned", image: IMAGE });
    expect(JSON.stringify(report)).not.toContain(SECRET_KEY);
    expect(plaintextReads(engine.queries.map((q) => q.chain)).sort()).toEqual(AWS_URIS);
    expectNoPlaintextInQueries(engine.queries);
  });
});

describe("deploy", () => {
  it("lints migrations in a Debian Node container and changes nothing when they are unsafe", async () => {
    const image = `ghcr.io/acme/app@sha256:${"c".repeat(64)}`;
    const unsafe = await realLint(["--json", "--env", "staging", "--dir", "migrations"], {
      "0002_notes_title.sql": "ALTER TABLE notes ADD COLUMN title text NOT NULL;\n",
    });
    expect(unsafe.exitCode).toBe(1);
    const lint = lintResultOf(JSON.parse(unsafe.stdout) as Report)!;
    const blocking = lint.findings.filter((f) => f.level === "error");
    expect(blocking.length).toBeGreaterThan(0);
    const { engine, error } = await runOn(
      { fixture: "deployable", commit: SHA, ...ALL },
      (shipyard) => shipyard.deploy("staging", image),
      { ...SECRETS, responders: [lintAnswers(unsafe)] },
    );
    expect(error?.message).toMatch(
      /^deploy staging: the release failed and the service is back on the previous task definition \(exit 1\)\./,
    );
    // The findings come from the container's JSON report, read back by the Dagger face.
    expect(error?.message).toContain(
      `migration lint failed: Migration lint found ${blocking.length} unsafe statement(s): ${blocking[0]!.file}:${blocking[0]!.line} ${blocking[0]!.rule}`,
    );
    expect(error?.message).toContain("migrations/0002_notes_title.sql:1 adding-required-field");
    expect(error?.message).toContain("so no migration ran");
    expect(error?.message).toContain("the service was not changed");

    const lintRun = engine.queries.map((q) => q.chain).find(lintChain)!;
    expect(lintRun[1]).toEqual({ field: "from", args: { address: "node:24-bookworm-slim" } });
    expect(execs(lintRun)).toEqual([
      ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
      [
        "node",
        "/shipyard/dist/bin/shipyard.js",
        "migrate-lint",
        "--json",
        "--env",
        "staging",
        "--dir",
        "migrations",
      ],
    ]);
    expect(
      lintRun.find((c) => c.field === "withExec" && execs([c])[0]?.includes("migrate-lint"))!.args["expect"],
    ).toBe("ANY");
    // The CLI it runs is compiled from the module's own source in a build stage of the same image.
    const dist = lintRun.find((c) => c.field === "withDirectory" && c.args["path"] === "/shipyard/dist")!;
    const build = engine.chainOf(String(dist.args["source"]));
    expect(build[1]).toEqual({ field: "from", args: { address: "node:24-bookworm-slim" } });
    expect(execs(build)).toEqual([
      ["npm", "ci", "--no-audit", "--no-fund"],
      ["npm", "run", "build"],
    ]);
    expect(build.at(-1)).toEqual({ field: "directory", args: { path: "/shipyard/dist" } });

    // The lint runs after the ECS preflight, so the AWS credentials were read (and the Sentry token,
    // whose preflight runs before the migrations) — but their plaintext never travelled in a query.
    expect(plaintextReads(engine.queries.map((q) => q.chain)).sort()).toEqual([
      ...AWS_URIS,
      "env://SENTRY_AUTH_TOKEN",
    ]);
    expectNoPlaintextInQueries(engine.queries);
    // Nothing changed: no revision was registered, no migration task ran, the service was never updated.
    expect(registrationsOf(image)).toHaveLength(0);
    expect(sim.callsTo("RunTask")).toEqual([]);
    expect(updatesOf("web")).toEqual([]);
  });

  it("stops before the migrations when the lint container itself fails", async () => {
    const image = `ghcr.io/acme/app@sha256:${"d".repeat(64)}`;
    const { error } = await runOn(
      { fixture: "deployable", commit: SHA, ...ALL },
      (shipyard) => shipyard.deploy("staging", image),
      {
        ...SECRETS,
        responders: [
          lintAnswers({
            exitCode: 3,
            stdout: "",
            stderr: "squawk could not run: spawn squawk ENOENT",
          }),
        ],
      },
    );
    expect(error?.message).toMatch(
      /^deploy staging: the release failed and the service is back on the previous task definition \(exit 1\)\./,
    );
    expect(error?.message).toContain(
      "Migration lint before deploying to staging (nothing was changed) failed (exit 3).",
    );
    expect(error?.message).toContain("squawk could not run: spawn squawk ENOENT");
    expect(sim.callsTo("RunTask")).toEqual([]);
    expect(updatesOf("web")).toEqual([]);
  });

  it("rolls the image out and returns the succeeded report (the simulator's clock drives the waits)", async () => {
    faceRuntime.clock = simClock;
    faceRuntime.random = () => 0.5;
    try {
      const { engine, result, error } = await runOn(
        { fixture: "deployable", commit: SHA, ...ALL },
        (shipyard) => shipyard.deploy("qa", IMAGE, "v2"),
        SECRETS,
      );
      expect(error).toBeUndefined();
      const report = JSON.parse(String(result)) as Report;
      expect(report).toMatchObject({
        command: "deploy",
        outcome: "succeeded",
        exitCode: 0,
        image: IMAGE,
        release: "v2",
      });
      expect(report.previousTaskDefinition).toMatch(/web:1$/);
      const registered = sim.callsTo("RegisterTaskDefinition").at(-1)!.input as {
        containerDefinitions: Array<{ image: string; environment?: Array<{ name: string; value: string }> }>;
      };
      expect(registered.containerDefinitions[0]!.image).toBe(IMAGE);
      expect(sim.callsTo("UpdateService").map((call) => (call.input as { service: string }).service)).toEqual(
        ["qa-web"],
      );
      // No migrations in this environment: no lint container was built.
      expect(engine.chainsEndingWith("exitCode")).toEqual([]);
      expectNoPlaintextInQueries(engine.queries);
    } finally {
      faceRuntime.clock = systemClock;
      faceRuntime.random = Math.random;
    }
  });

  it("reads the container's JSON report back and runs the migrations when the lint passes", async () => {
    const image = `ghcr.io/acme/app@sha256:${"e".repeat(64)}`;
    const passed = await realLint(["--json", "--env", "review", "--dir", "migrations"]);
    expect(passed.exitCode).toBe(0);
    const lint = lintResultOf(JSON.parse(passed.stdout) as Report)!;
    expect(lint).toMatchObject({ outcome: "passed", directory: "migrations", selection: "all" });
    faceRuntime.clock = simClock;
    faceRuntime.random = () => 0.5;
    try {
      const { engine, result, error } = await runOn(
        { fixture: "deployable", commit: SHA, ...ALL },
        (shipyard) => shipyard.deploy("review", image, "v3"),
        { ...SECRETS, responders: [lintAnswers(passed)] },
      );
      expect(error).toBeUndefined();
      const report = JSON.parse(String(result)) as Report;
      expect(report).toMatchObject({ command: "deploy", outcome: "succeeded", exitCode: 0, image });
      // The report's migration section is the lint result the container printed, summarised.
      expect(report.migration).toMatchObject({
        lint: `passed: ${lint.files.length} file(s), ${lint.counts.errors} unsafe, ${lint.counts.warnings} advice, ${lint.counts.allowed} allowed post-deploy`,
        lintScope: "all migrations",
        task: "succeeded",
        command: "node dist/migrate.js",
        exitCode: 0,
      });
      expect(report.migration).not.toHaveProperty("lintFindings");
      // One lint container, with this environment's settings; then the migration task on the new revision.
      const lintRuns = engine.chainsEndingWith("exitCode").filter(lintChain);
      expect(lintRuns).toHaveLength(1);
      expect(execs(lintRuns[0]!).at(-1)).toEqual([
        "node",
        "/shipyard/dist/bin/shipyard.js",
        "migrate-lint",
        "--json",
        "--env",
        "review",
        "--dir",
        "migrations",
      ]);
      const tasks = sim.callsTo("RunTask") as Array<{ input: { taskDefinition?: string } }>;
      expect(tasks.map((task) => task.input.taskDefinition)).toEqual([report.taskDefinition]);
      expect(updatesOf("review-web")).toHaveLength(1);
    } finally {
      faceRuntime.clock = systemClock;
      faceRuntime.random = Math.random;
    }
  });

  it("without --image needs registry credentials to build and publish first", async () => {
    const { engine, error } = await runOn(
      { fixture: "deployable", commit: SHA, ...AWS },
      (shipyard) => shipyard.deploy("staging"),
      SECRETS,
    );
    expect(error?.message).toContain("Without --image, deploy builds and publishes first");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
  });
});

describe("rollback", () => {
  it("passes --to through to the command and returns its report", async () => {
    const { engine, result, error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.rollback("staging", "web:1"),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(String(result)) as Report;
    expect(report).toMatchObject({ command: "rollback", outcome: "succeeded", exitCode: 0 });
    expect(report.taskDefinition).toMatch(/web:1$/);
    expect(updatesOf("web")).toEqual([]);
    expect(plaintextReads(engine.queries.map((q) => q.chain)).sort()).toEqual(AWS_URIS);
  });

  it("fails the call, changing nothing, when the revision does not exist", async () => {
    const { error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.rollback("staging", "web:99"),
      SECRETS,
    );
    expect(error?.message).toMatch(
      /^rollback staging: bad input or configuration; nothing was changed \(exit 2\)\./,
    );
    expect(updatesOf("web")).toEqual([]);
  });
});

describe("verify", () => {
  const minute = 60_000;

  it("judges the release with the Sentry token Secret and fails the call when its error rate is worse", async () => {
    const now = Date.now();
    sentry.addTraffic({
      release: "v1",
      environment: "staging",
      startAt: now - 120 * minute,
      endAt: now - 10 * minute,
      ratePerSecond: 5,
      errorRate: 0.002,
    });
    sentry.addTraffic({
      release: "v2",
      environment: "staging",
      startAt: now - 10 * minute,
      ratePerSecond: 5,
      errorRate: 0.3,
    });
    const { engine, error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.verify("staging", "v2", "v1", false, "300"),
      SECRETS,
    );
    // A bad release that nothing restored: a person must look (exit 3).
    expect(error?.message).toMatch(
      /^verify staging: failed and NOT restored, or the state is unknown: a person must look .*\(exit 3\)\./,
    );
    expect(error?.message).toContain('"release": "v2"');
    expect(sentry.calls.some((call) => call.path.includes("/sessions/") && call.authorized)).toBe(true);
    // Both releases were given: AWS was never needed, so its Secrets were never read.
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual(["env://SENTRY_AUTH_TOKEN"]);
    expectNoPlaintextInQueries(engine.queries);
    expect(error?.message).not.toContain(SIM_TOKEN);
  });

  it("refuses contradictory baseline flags before reading anything", async () => {
    const { engine, error } = await runOn({ fixture: "deployable", ...AWS }, (shipyard) =>
      shipyard.verify("staging", "v2", "v1", true),
    );
    expect(error?.message).toContain("--previous-release and --no-baseline contradict each other.");
    expect(engine.queries).toEqual([]);
  });

  it("needs AWS only to find the releases", async () => {
    const { error } = await runOn({ fixture: "deployable" }, (shipyard) => shipyard.verify("staging"));
    expect(error?.message).toContain(
      "AWS credentials are missing or empty, and this command needs to read ECS.",
    );
  });
});

describe("migrate", () => {
  it("refuses an environment without migrations before reading any credential", async () => {
    const tasksBefore = sim.callsTo("RunTask").length;
    const { engine, error } = await runOn(
      { fixture: "deployable", ...ALL },
      (shipyard) => shipyard.migrate("production"),
      SECRETS,
    );
    expect(error?.message).toContain(
      'Environment "production" has no migrations configured; nothing was run.',
    );
    expect(error?.message).toContain('Next:\n  add "migrations"');
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
    expect(sim.callsTo("RunTask")).toHaveLength(tasksBefore);
  });
});

describe("migrateLint", () => {
  it("passes when the CLI exits 0", async () => {
    const { engine, error } = await runOn({ fixture: "deployable" }, (shipyard) => shipyard.migrateLint());
    expect(error).toBeUndefined();
    const run = engine.chainsEndingWith("exitCode")[0]!;
    expect(execs(run).at(-1)).toEqual(["node", "/shipyard/dist/bin/shipyard.js", "migrate-lint", "--json"]);
    const module = run.find((c) => c.field === "withDirectory" && c.args["path"] === "/shipyard")!;
    expect(engine.render(engine.chainOf(String(module.args["source"])))).toBe("currentModule.source");
    const dist = run.find((c) => c.field === "withDirectory" && c.args["path"] === "/shipyard/dist")!;
    const build = engine.chainOf(String(dist.args["source"]));
    expect(execs(build).at(-1)).toEqual(["npm", "run", "build"]);
    const sources = build.find(
      (c) => c.field === "withDirectory" && c.args["path"] === "/shipyard" && c.args["include"] !== undefined,
    );
    expect(sources).toBeDefined();
  });

  it("passes without running anything when the app has no migrations at all", async () => {
    const { engine, error } = await runOn({ fixture: "app" }, (shipyard) => shipyard.migrateLint());
    expect(error).toBeUndefined();
    expect(engine.chainsEndingWith("exitCode")).toEqual([]);
  });

  it("fails with squawk's findings when a migration is unsafe", async () => {
    const { error } = await runOn({ fixture: "deployable" }, (shipyard) => shipyard.migrateLint(), {
      responders: [
        (chain) => {
          const leaf = chain.at(-1)?.field;
          if (leaf === "exitCode") return { value: 1 };
          if (leaf === "stderr") return { value: "migrations/0001_notes.sql:1 adding-not-nullable-field" };
          return undefined;
        },
      ],
    });
    expect(error?.message).toContain("Migration lint failed (exit 1).");
    expect(error?.message).toContain("adding-not-nullable-field");
  });
});

describe("reports", () => {
  const report: Report = {
    command: "deploy",
    outcome: "rolled_back",
    exitCode: 1,
    environment: "production",
    cluster: "main",
    service: "web",
    image: IMAGE,
    release: "v2",
    taskDefinition: "arn:aws:ecs:eu-west-1:123:task-definition/web:7",
    previousTaskDefinition: "arn:aws:ecs:eu-west-1:123:task-definition/web:6",
    checks: { ecs: "passed", smoke: "passed", gate: "failed" },
    reason: "The error rate of v2 was 12% against 0.4% for v1.",
    nextSteps: ["dagger call status --env=production ..."],
    timings: { startedAt: "", finishedAt: "", totalSeconds: 1, phases: [] },
  };

  it("returns the JSON of a successful report", () => {
    expect(
      JSON.parse(reportResult({ ...report, outcome: "succeeded", exitCode: 0 }, new Scrubber())).outcome,
    ).toBe("succeeded");
  });

  it("throws with the reason, next steps and the report when the exit code is not 0", () => {
    expect(() => reportResult(report, new Scrubber())).toThrow(
      "deploy production: the release failed and the service is back on the previous task definition (exit 1).\n" +
        "The error rate of v2 was 12% against 0.4% for v1.\nNext:\n  dagger call status --env=production ...\n\nReport:\n{",
    );
  });

  it("masks every secret the scrubber knows in the message and in the JSON", () => {
    const scrubber = new Scrubber();
    scrubber.add(SECRET_KEY);
    const leaky = { ...report, reason: `The AWS SDK said: signature for ${SECRET_KEY} does not match.` };
    let message = "";
    try {
      reportResult(leaky, scrubber);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^deploy production: .*\(exit 1\)\./);
    expect(message).toContain("The AWS SDK said: signature for");
    expect(message).not.toContain(SECRET_KEY);
  });
});
