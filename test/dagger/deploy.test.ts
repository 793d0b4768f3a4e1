/**
 * Contract tests for the deploy-side functions (plan, status, deploy, rollback, migrateLint): the real
 * SDK against the fake engine for Secrets and containers, and the real AWS SDK against the ECS
 * simulator for the core. What is proved: Secrets are read only when a client is built and their
 * plaintext never travels in a query; files come from the source Directory; the migration lint runs
 * in a glibc container before anything changes; a report with a non-zero exit code fails the call.
 */
import { dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, systemClock } from "../../src/clock.js";
import type { DeployStep, DeployStepContext } from "../../src/deploy/steps.js";
import { faceRuntime, reportResult, withoutLint } from "../../src/pipeline/deploy.js";
import type { Report } from "../../src/report/report.js";
import { EcsSimulator } from "../ecs-sim/simulator.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../sentry-sim/server.js";
import type { Chain } from "./fake-engine.js";
import { execs, runOn, SHA } from "./harness.js";

const KEY_ID = "AKIAFAKEENGINETEST01";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYfakeSecret";
const SESSION = "FwoGZXIvYXdzEFakeSessionTokenValue";
const SECRETS = {
  secrets: {
    "env://AWS_ACCESS_KEY_ID": KEY_ID,
    "env://AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "env://AWS_SESSION_TOKEN": SESSION,
  },
};
const IMAGE = `ghcr.io/acme/app@sha256:${"b".repeat(64)}`;

const aws = () =>
  [
    dag.secret("env://AWS_ACCESS_KEY_ID"),
    dag.secret("env://AWS_SECRET_ACCESS_KEY"),
    dag.secret("env://AWS_SESSION_TOKEN"),
  ] as const;

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
  // The module runtime's environment is where the core reads endpoint overrides, as the CLI does.
  savedEndpoint = process.env["AWS_ENDPOINT_URL_ECS"];
  process.env["AWS_ENDPOINT_URL_ECS"] = sim.endpoint;
  // Release health is modelled on the real clock: the Dagger face runs on the system clock.
  sentry = await startSentrySim({ clock: systemClock });
  savedSentryUrl = process.env["SENTRY_URL"];
  process.env["SENTRY_URL"] = sentry.url;
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env["AWS_ENDPOINT_URL_ECS"];
  else process.env["AWS_ENDPOINT_URL_ECS"] = savedEndpoint;
  if (savedSentryUrl === undefined) delete process.env["SENTRY_URL"];
  else process.env["SENTRY_URL"] = savedSentryUrl;
  await sim.stop();
  await sentry.close();
});

/** UpdateService calls on one service (tests share one simulator). */
function updatesOf(service: string): unknown[] {
  return sim
    .callsTo("UpdateService")
    .filter((call) => (call.input as { service?: string }).service === service);
}

function plaintextReads(chains: Chain[]): string[] {
  return chains
    .filter((chain) => chain.at(-1)?.field === "plaintext")
    .map((chain) => String(chain.at(-2)?.args["uri"]));
}

describe("status", () => {
  it("reads shipyard.json from the source, builds the ECS client from the Secrets and returns the JSON report", async () => {
    const { engine, result, error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.status("staging", ...aws()),
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
    expect(plaintextReads(chains).sort()).toEqual([
      "env://AWS_ACCESS_KEY_ID",
      "env://AWS_SECRET_ACCESS_KEY",
      "env://AWS_SESSION_TOKEN",
    ]);
    for (const query of engine.queries) {
      for (const secret of [KEY_ID, SECRET_KEY, SESSION]) expect(query.text).not.toContain(secret);
    }
  });

  it("fails the call with the report when the core says a person must look", async () => {
    const { error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.status("production", ...aws()),
      SECRETS,
    );
    expect(error?.message).toMatch(
      /^status production: refused: bad input, nothing was changed \(exit 2\)\./,
    );
    expect(error?.message).toContain("Report:\n{");
    expect(error?.message).toContain('"service": "missing"');
  });

  it("names the environments when asked for one shipyard.json does not have", async () => {
    const { engine, error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.status("prod", ...aws()),
      SECRETS,
    );
    expect(error?.message).toMatch(/prod/);
    expect(error?.message).toMatch(/staging/);
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
  });

  it("explains a missing shipyard.json", async () => {
    const { error } = await runOn({}, (shipyard) => shipyard.status("staging", ...aws()), SECRETS);
    expect(error?.message).toContain("No shipyard.json at shipyard.json");
    expect(error?.message).toContain("Next: add shipyard.json next to package.json");
  });
});

describe("plan", () => {
  it("renders the app's task definition with the image, without changing the service", async () => {
    const { result, error } = await runOn(
      { fixture: "deployable", commit: SHA },
      (shipyard) => shipyard.plan("staging", ...aws(), IMAGE),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(String(result)) as Report;
    expect(report).toMatchObject({ command: "plan", outcome: "planned", image: IMAGE });
    expect(JSON.stringify(report)).not.toContain(SECRET_KEY);
  });
});

describe("deploy", () => {
  const lintChain = (chain: Chain) =>
    execs(chain).some((args) => args.includes("migrate-lint")) &&
    ["exitCode", "stdout", "stderr"].includes(chain.at(-1)?.field ?? "");

  it("lints migrations in a Debian Node container first and changes nothing when they are unsafe", async () => {
    const { engine, error } = await runOn(
      { fixture: "deployable", commit: SHA },
      (shipyard) => shipyard.deploy("staging", ...aws(), IMAGE),
      {
        ...SECRETS,
        responders: [
          (chain) => {
            if (!lintChain(chain)) return undefined;
            const leaf = chain.at(-1)!.field;
            if (leaf === "exitCode") return { value: 1 };
            if (leaf === "stderr") return { value: "migrations/0001_notes.sql:1 require-timeout-settings" };
            return { value: '{"outcome":"failed"}' };
          },
        ],
      },
    );
    expect(error?.message).toContain(
      "Migration lint before deploying to staging (nothing was changed) failed (exit 1).",
    );
    expect(error?.message).toContain("migrations/0001_notes.sql:1 require-timeout-settings");
    const lint = engine.queries.map((q) => q.chain).find(lintChain)!;
    expect(lint[1]).toEqual({ field: "from", args: { address: "node:24-bookworm-slim" } });
    expect(execs(lint)).toEqual([
      ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
      ["node", "/shipyard/bin/shipyard.js", "migrate-lint", "--env", "staging", "--json"],
    ]);
    expect(
      lint.find((c) => c.field === "withExec" && execs([c])[0]?.includes("migrate-lint"))!.args["expect"],
    ).toBe("ANY");
    // Nothing reached AWS: the credentials were never even read.
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
    expect(sim.callsTo("RegisterTaskDefinition")).toEqual([]);
    expect(updatesOf("web")).toEqual([]);
  });

  it("rolls the image out and returns the succeeded report (the simulator's clock drives the waits)", async () => {
    faceRuntime.clock = simClock;
    faceRuntime.random = () => 0.5;
    try {
      const { engine, result, error } = await runOn(
        { fixture: "deployable", commit: SHA },
        (shipyard) => shipyard.deploy("qa", ...aws(), IMAGE, "v2"),
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
    } finally {
      faceRuntime.clock = systemClock;
      faceRuntime.random = Math.random;
    }
  });

  it("without --image needs registry credentials to build and publish first", async () => {
    const { engine, error } = await runOn(
      { fixture: "deployable", commit: SHA },
      (shipyard) => shipyard.deploy("staging", ...aws()),
      SECRETS,
    );
    expect(error?.message).toContain("Without --image, deploy builds and publishes first");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
  });
});

describe("rollback", () => {
  it("passes --to through to the core and returns its report", async () => {
    const { result, error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.rollback("staging", ...aws(), "web:1"),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(String(result)) as Report;
    expect(report).toMatchObject({ command: "rollback", outcome: "succeeded", exitCode: 0 });
    expect(report.taskDefinition).toMatch(/web:1$/);
    expect(updatesOf("web")).toEqual([]);
  });

  it("fails the call, changing nothing, when the revision does not exist", async () => {
    const { error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.rollback("staging", ...aws(), "web:99"),
      SECRETS,
    );
    expect(error?.message).toMatch(/^rollback staging: refused: bad input, nothing was changed \(exit 2\)\./);
    expect(updatesOf("web")).toEqual([]);
  });
});

describe("verify", () => {
  const SENTRY = { secrets: { ...SECRETS.secrets, "env://SENTRY_AUTH_TOKEN": SIM_TOKEN } };
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
      { fixture: "deployable" },
      (shipyard) =>
        shipyard.verify(
          "staging",
          dag.secret("env://SENTRY_AUTH_TOKEN"),
          undefined,
          undefined,
          undefined,
          "v2",
          "v1",
          false,
          300,
        ),
      SENTRY,
    );
    // A bad release that nothing restored: a person must look (exit 3).
    expect(error?.message).toMatch(/^verify staging: failed and was NOT restored .*\(exit 3\)\./);
    expect(error?.message).toContain('"release": "v2"');
    expect(sentry.calls.some((call) => call.path.includes("/sessions/") && call.authorized)).toBe(true);
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual(["env://SENTRY_AUTH_TOKEN"]);
    for (const query of engine.queries) expect(query.text).not.toContain(SIM_TOKEN);
    expect(error?.message).not.toContain(SIM_TOKEN);
  });

  it("refuses contradictory baseline flags before reading anything", async () => {
    const { engine, error } = await runOn({ fixture: "deployable" }, (shipyard) =>
      shipyard.verify("staging", undefined, undefined, undefined, undefined, "v2", "v1", true),
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
    const { engine, error } = await runOn(
      { fixture: "deployable" },
      (shipyard) => shipyard.migrate("production", ...aws()),
      SECRETS,
    );
    expect(error?.message).toContain(
      'Environment "production" has no migrations configured; nothing was run.',
    );
    expect(error?.message).toContain('Next: add "migrations"');
    expect(plaintextReads(engine.queries.map((q) => q.chain))).toEqual([]);
    expect(sim.callsTo("RunTask")).toEqual([]);
  });
});

describe("migrateLint", () => {
  it("passes when the CLI exits 0", async () => {
    const { engine, error } = await runOn({ fixture: "deployable" }, (shipyard) => shipyard.migrateLint());
    expect(error).toBeUndefined();
    const run = engine.chainsEndingWith("exitCode")[0]!;
    expect(execs(run).at(-1)).toEqual(["node", "/shipyard/bin/shipyard.js", "migrate-lint", "--json"]);
    const module = run.find((c) => c.field === "withDirectory" && c.args["path"] === "/shipyard")!;
    expect(engine.render(engine.chainOf(String(module.args["source"])))).toBe("currentModule.source");
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

describe("the deploy steps of the Dagger face", () => {
  it("turn the in-process migration lint off (it already ran in a glibc container) and keep the rest", async () => {
    const seen: unknown[] = [];
    const step: DeployStep = {
      name: "migrate",
      reportKey: "migration",
      run: async (ctx) => {
        seen.push(ctx.environment.migrations);
        return { status: "passed", summary: "ok" };
      },
    };
    const migrations = {
      command: ["node", "dist/migrate.js"],
      directory: "db",
      timeoutSeconds: 60,
      lint: true,
      excludeRules: [],
    };
    const ctx = { environment: { migrations } } as unknown as DeployStepContext;
    await withoutLint(step).run(ctx);
    await withoutLint(step).run({ environment: {} } as unknown as DeployStepContext);
    expect(seen).toEqual([{ ...migrations, lint: false }, undefined]);
    expect(migrations.lint).toBe(true);
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
    reason: "The error rate of v2 was 12% against 0.4% for v1.",
    nextSteps: ["dagger call status --env=production ..."],
    timings: { startedAt: "", finishedAt: "", totalSeconds: 1, phases: [] },
  };

  it("returns the JSON of a successful report", () => {
    expect(JSON.parse(reportResult({ ...report, outcome: "succeeded", exitCode: 0 })).outcome).toBe(
      "succeeded",
    );
  });

  it("throws with the reason, next steps and the report when the exit code is not 0", () => {
    expect(() => reportResult(report)).toThrow(
      "deploy production: failed; the service is back on the previous task definition (exit 1).\n" +
        "The error rate of v2 was 12% against 0.4% for v1.\nNext:\n  dagger call status --env=production ...\n\nReport:\n{",
    );
  });
});
