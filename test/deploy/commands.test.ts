import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import type { CliIO } from "../../bin/io.js";
import { runDeploy, runPlan, runRollback, runStatus } from "../../src/deploy/commands.js";
import { InputError } from "../../src/errors.js";
import { emitReport } from "../../src/report/output.js";
import { configText, digest, type Harness, NEW_IMAGE, startHarness, TEMPLATE } from "./harness.js";

let h: Harness;
afterEach(async () => {
  await h?.sim.stop();
});

describe("native strategies", () => {
  it("blue-green passes the bake time through and finishes only when the service deployment succeeds", async () => {
    h = await startHarness();
    const config = configText({ strategy: "blue-green", bakeTimeMinutes: 2 });
    const report = await runDeploy(h.input({ configText: config }), h.deps());
    expect(report.outcome).toBe("succeeded");
    expect(h.sim.callsTo("UpdateService")[0]!.input.deploymentConfiguration).toMatchObject({
      strategy: "BLUE_GREEN",
      bakeTimeInMinutes: 2,
    });
    // 20 s rollout + 120 s bake: the deployment list says COMPLETED only then, and so does the service deployment.
    expect(report.timings.phases.find((p) => p.name === "rollout")!.seconds).toBe(140);
    expect(h.sim.operations()).toContain("DescribeServiceDeployments");
  });

  it.each([
    [
      "canary",
      { canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 5 }, strategy: "CANARY" },
    ],
    ["linear", { linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 2 }, strategy: "LINEAR" }],
  ] as const)(
    "%s: a failing release is rolled back by ECS and reported as such",
    async (strategy, expected) => {
      h = await startHarness();
      h.sim.behaviours.set(NEW_IMAGE, "failing");
      const report = await runDeploy(h.input({ configText: configText({ strategy }) }), h.deps());
      expect(h.sim.callsTo("UpdateService")[0]!.input.deploymentConfiguration).toMatchObject(expected);
      expect(report.outcome).toBe("rolled_back");
      expect(report.reason).toMatch(/ECS is rolling the deployment back \(ROLLBACK_IN_PROGRESS\)/);
      expect(h.sim.describe().taskDefinition).toBe(h.v1);
    },
  );
});

describe("native strategies: restoring", () => {
  it("blue-green: restoring after a failed verification is given the bake time too", async () => {
    h = await startHarness();
    const failing = {
      beforeUpdate: [],
      afterRollout: [
        {
          name: "error-rate gate",
          reportKey: "verification" as const,
          run: async () => ({ status: "failed" as const, reason: "errors doubled" }),
        },
      ],
    };
    const config = configText({ strategy: "blue-green", bakeTimeMinutes: 5, rollbackTimeoutSeconds: 120 });
    const report = await runDeploy(h.input({ configText: config }), h.deps(failing));
    expect(report.outcome).toBe("rolled_back");
    // 20 s to become healthy + 300 s bake: longer than the 120 s rollback timeout alone.
    expect(report.timings.phases.find((p) => p.name === "restore")!.seconds).toBe(320);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
  });
});

describe("rollback", () => {
  it("returns to the last good revision recorded on the service, then walks further back", async () => {
    h = await startHarness();
    const second = await runDeploy(h.input(), h.deps());
    const third = await runDeploy(h.input({ image: digest("b"), release: "v3" }), h.deps());
    expect(third.previousTaskDefinition).toBe(second.taskDefinition);
    const back = await runRollback(h.input(), h.deps());
    expect(back.outcome).toBe("succeeded");
    expect(back.taskDefinition).toBe(second.taskDefinition);
    expect(back.previousTaskDefinition).toBe(third.taskDefinition);
    expect(back.release).toBe("v2");
    expect(h.sim.serviceTags()["shipyard:last-good"]).toBe(second.taskDefinition);
    const again = await runRollback(h.input(), h.deps());
    expect(again.taskDefinition).toBe(h.v1);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
    expect(h.sim.operations()).not.toContain("DeregisterTaskDefinition");
  });

  it("--to takes a revision number of the same family", async () => {
    h = await startHarness();
    await runDeploy(h.input(), h.deps());
    const report = await runRollback({ ...h.input(), to: "1" }, h.deps());
    expect(report.taskDefinition).toBe(h.v1);
    expect(report.details?.chosenBecause).toBe("--to");
  });

  it("refuses with exit 2 when nothing is recorded, and with a missing --to revision", async () => {
    h = await startHarness();
    const nothing = await runRollback(h.input(), h.deps());
    expect(nothing.exitCode).toBe(2);
    expect(nothing.reason).toMatch(/no earlier good revision is recorded/);
    const missing = await runRollback({ ...h.input(), to: "web:99" }, h.deps());
    expect(missing.exitCode).toBe(2);
    expect(missing.reason).toMatch(/web:99 could not be read/);
    expect(h.sim.operations()).not.toContain("UpdateService");
  });

  it("exits 3 with the commands when the rollback does not complete", async () => {
    h = await startHarness();
    await runDeploy(h.input(), h.deps());
    h.sim.defaultBehaviour = "stuck";
    const report = await runRollback(h.input(), h.deps());
    expect(report.exitCode).toBe(3);
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
  });
});

describe("status and plan", () => {
  it("status shows the running revision, its release and where rollback would go", async () => {
    h = await startHarness();
    const deployed = await runDeploy(h.input(), h.deps());
    const report = await runStatus(h.input(), h.deps());
    expect(report).toMatchObject({
      outcome: "succeeded",
      image: NEW_IMAGE,
      release: "v2",
      taskDefinition: deployed.taskDefinition,
      previousTaskDefinition: h.v1,
    });
    expect(report.details).toMatchObject({
      runningCount: 2,
      desiredCount: 2,
      inFlight: null,
      commit: "abc1234",
    });
    expect(h.progress.lines).toContain("  rollback would return to: web:1");
  });

  it("plan shows the differences and changes nothing", async () => {
    h = await startHarness();
    const report = await runPlan(h.input(), h.deps());
    expect(report.outcome).toBe("planned");
    expect(report.exitCode).toBe(0);
    const changes = report.details?.taskDefinitionChanges as string[];
    expect(changes).toContain(`~ containerDefinitions[app].image: "${digest("0")}" → "${NEW_IMAGE}"`);
    expect(changes).toContain('~ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v1" → "v2"');
    expect(changes).toContain('+ cpu: "256"');
    expect(report.details?.deploymentChanges).toContain("+ deploymentCircuitBreaker.enable: true");
    expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
  });
});

describe("bad input: exit 2 before any AWS call", () => {
  const cases: Array<[string, (h: Harness) => Parameters<typeof runDeploy>[0], RegExp[]]> = [
    ["invalid JSON config", (h) => h.input({ configText: "{" }), [/shipyard.json is not valid JSON/]],
    [
      "unknown key in the config",
      (h) => h.input({ configText: configText({ maximumPercnt: 150 }) }),
      [/environments\.staging\.deployment: unknown key "maximumPercnt"/],
    ],
    ["unknown environment", (h) => h.input({ environmentName: "prod" }), [/no environment "prod"/]],
    [
      "a tag instead of a digest",
      (h) => h.input({ image: "ghcr.io/acme/app:latest" }),
      [/image "ghcr.io\/acme\/app:latest" is not a digest reference/],
    ],
    [
      "an image from another repository",
      (h) => h.input({ image: `ghcr.io/evil/app@sha256:${"c".repeat(64)}` }),
      [/not from the configured repository "ghcr.io\/acme\/app"/],
    ],
    [
      "every task definition problem at once",
      (h) =>
        h.input({
          taskDefinitionText: JSON.stringify({
            family: "web app",
            requiresCompatibilities: ["FARGATE"],
            cpu: "256",
            memory: "4096",
            containerDefinitions: [{ name: "worker", image: "{{IMAGE}}", command: ["{{MODE}}"] }],
          }),
        }),
      [
        /placeholder \{\{MODE\}\} has no value: add it to environments\.staging\.variables/,
        /family: "web app" must be 1-255 letters/,
        /container "app" \(environment `container`\) is not in containerDefinitions \(found: worker\)/,
        /memory: 4096 MiB does not fit cpu 256 on Fargate \(allowed: 512, 1024, 2048\)/,
      ],
    ],
  ];

  it.each(cases)("%s", async (_name, makeInput, messages) => {
    h = await startHarness();
    const error = await runDeploy(makeInput(h), h.deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    for (const message of messages) expect((error as InputError).message).toMatch(message);
    expect(h.sim.calls).toEqual([]);
  });

  it("strips the read-only fields of a pasted describe-task-definition output", async () => {
    h = await startHarness();
    const pasted = {
      taskDefinition: {
        ...JSON.parse(TEMPLATE),
        taskDefinitionArn: "arn:aws:ecs:eu-west-1:1:task-definition/web:7",
        revision: 7,
        status: "ACTIVE",
        requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }],
        compatibilities: ["EC2", "FARGATE"],
        registeredAt: "2026-01-01T00:00:00Z",
        registeredBy: "arn:aws:iam::1:user/x",
      },
    };
    const report = await runDeploy(h.input({ taskDefinitionText: JSON.stringify(pasted) }), h.deps());
    expect(report.outcome).toBe("succeeded");
    const sent = h.sim.callsTo("RegisterTaskDefinition")[0]!.input;
    for (const field of [
      "taskDefinitionArn",
      "revision",
      "status",
      "requiresAttributes",
      "compatibilities",
      "registeredAt",
    ]) {
      expect(sent).not.toHaveProperty(field);
    }
  });
});

function captureIO(env: NodeJS.ProcessEnv, cwd: string): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env,
    cwd,
    signal: new AbortController().signal,
  };
}

describe("reports", () => {
  it("--json prints the report contract; the Markdown summary goes to $GITHUB_STEP_SUMMARY", async () => {
    h = await startHarness();
    const dir = await mkdtemp(join(tmpdir(), "shipyard-report-"));
    const summary = join(dir, "summary.md");
    h.sim.behaviours.set(NEW_IMAGE, "failing");
    const report = await runDeploy(h.input(), h.deps());
    const io = captureIO({ GITHUB_STEP_SUMMARY: summary }, dir);
    const exit = await emitReport(report, io, { json: true });
    expect(exit).toBe(1);
    const json = JSON.parse(io.out.join("\n"));
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining([
        "outcome",
        "environment",
        "cluster",
        "service",
        "image",
        "taskDefinition",
        "previousTaskDefinition",
        "reason",
        "timings",
      ]),
    );
    expect(json).toMatchObject({
      outcome: "rolled_back",
      environment: "staging",
      cluster: "main",
      service: "web",
    });
    expect(json.timings.phases.map((p: { name: string }) => p.name)).toEqual([
      "preflight",
      "register",
      "beforeUpdate",
      "update",
      "rollout",
      "restore",
    ]);
    expect(io.err[0]).toMatch(/^shipyard deploy staging: failed and was rolled back \(exit 1/);
    const markdown = await readFile(summary, "utf8");
    expect(markdown).toContain("## Shipyard deploy · staging · ↩️ rolled back");
    expect(markdown).toContain("circuit breaker");
    expect(JSON.stringify(json)).not.toContain("test-secret-value");
  });

  it("the CLI reads shipyard.json and task-def.json from disk and prints status as JSON", async () => {
    h = await startHarness();
    const dir = await mkdtemp(join(tmpdir(), "shipyard-cli-"));
    await writeFile(join(dir, "shipyard.json"), configText());
    await writeFile(join(dir, "task-def.json"), TEMPLATE);
    const env = {
      AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
      AWS_ACCESS_KEY_ID: "AKIACLITEST",
      AWS_SECRET_ACCESS_KEY: "cli-secret-value",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const io = captureIO(env, dir);
      expect(await runCli(["status", "--env", "staging", "--json"], io)).toBe(0);
      expect(JSON.parse(io.out.join("\n"))).toMatchObject({ command: "status", taskDefinition: h.v1 });
      const bad = captureIO(env, dir);
      expect(await runCli(["deploy", "--env", "staging", "--image", "ghcr.io/acme/app:latest"], bad)).toBe(2);
      expect(bad.err.join("\n")).toMatch(/is not a digest reference/);
      expect(await runCli(["deploy", "--env", "staging"], captureIO(env, dir))).toBe(2);
      expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
    } finally {
      process.env = saved;
    }
  });

  it("the CLI deploy command runs end to end with the real migration and verification steps (none configured)", async () => {
    h = await startHarness();
    h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
    const dir = await mkdtemp(join(tmpdir(), "shipyard-cli-"));
    await writeFile(join(dir, "shipyard.json"), configText());
    await writeFile(join(dir, "task-def.json"), TEMPLATE);
    const env = {
      AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
      AWS_ACCESS_KEY_ID: "AKIACLITEST",
      AWS_SECRET_ACCESS_KEY: "cli-secret-value",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const io = captureIO({ ...env, GITHUB_SHA: "0123456789abcdef" }, dir);
      const exit = await runCli(["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"], io);
      expect(exit).toBe(0);
      const report = JSON.parse(io.out.join("\n"));
      expect(report).toMatchObject({ outcome: "succeeded", release: "0123456789abcdef" });
      expect(report.details.steps).toEqual([
        { name: "Sentry preflight", status: "passed", note: "no sentry in shipyard.json" },
        { name: "migrate", status: "passed", note: "no migrations configured" },
        { name: "smoke test", status: "passed", note: "no healthCheck configured" },
        { name: "Sentry release", status: "passed", note: "Sentry release bookkeeping off" },
        {
          name: "error-rate gate",
          status: "passed",
          note: "error-rate gate not configured (no sentry in shipyard.json)",
        },
      ]);
      expect(report.verification).toMatchObject({
        smoke: { skipped: true },
        gate: { decision: "not-configured" },
      });
      expect(io.err.join("\n")).not.toContain("cli-secret-value");
    } finally {
      process.env = saved;
    }
  });
});

describe("interrupting the CLI", () => {
  it("SIGINT during the wait prints the state and the commands to resume or roll back, exit 3", async () => {
    h = await startHarness();
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const dir = await mkdtemp(join(tmpdir(), "shipyard-cli-"));
    await writeFile(join(dir, "shipyard.json"), configText({ pollSeconds: 30 }));
    await writeFile(join(dir, "task-def.json"), TEMPLATE);
    const env = {
      AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
      AWS_ACCESS_KEY_ID: "AKIACLITEST",
      AWS_SECRET_ACCESS_KEY: "cli-secret-value",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const controller = new AbortController();
    // The first poll after UpdateService is where a person presses Ctrl-C.
    h.sim.onCall = (call) => {
      if (call.operation === "DescribeServices" && h.sim.callsTo("UpdateService").length > 0) {
        controller.abort(new Error("received SIGINT"));
      }
    };
    try {
      const io = { ...captureIO(env, dir), signal: controller.signal };
      const exit = await runCli(["deploy", "--env", "staging", "--image", NEW_IMAGE], io);
      expect(exit).toBe(3);
      const stderr = io.err.join("\n");
      expect(stderr).toMatch(
        /why: +the wait was interrupted \(received SIGINT\) during the rollout of web:2 at 2\/2 running, 2 deployment\(s\), rollout IN_PROGRESS; the rollout may still be running/,
      );
      expect(stderr).toContain("npx shipyard status --env staging");
      expect(stderr).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
      expect(stderr).toContain(
        `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${h.v1}`,
      );
    } finally {
      process.env = saved;
    }
  });
});

describe("with the real verification steps", () => {
  it("a release whose health URL fails is rolled back by the controller", async () => {
    h = await startHarness();
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => {
      res.writeHead(503).end("unhealthy");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const config = configText(
        {},
        { healthCheck: { url: `http://127.0.0.1:${port}/health`, budgetSeconds: 20 } },
      );
      const { defaultDeploySteps } = await import("../../src/deploy/default-steps.js");
      const report = await runDeploy(h.input({ configText: config }), h.deps(await defaultDeploySteps()));
      expect(report.outcome).toBe("rolled_back");
      expect(report.exitCode).toBe(1);
      expect(report.reason).toMatch(/^smoke test failed: /);
      expect(report.verification).toMatchObject({ smoke: { passed: false } });
      expect(h.sim.describe().taskDefinition).toBe(h.v1);
    } finally {
      server.close();
    }
  });
});

describe("the rollback runbook", () => {
  it("after an interrupted deploy, `rollback` replaces the in-flight revision with the last good one", async () => {
    h = await startHarness();
    const good = await runDeploy(h.input(), h.deps());
    h.sim.behaviours.set(digest("b"), "stuck");
    h.sim.onCall = (call) => {
      if (call.operation === "DescribeServices" && h.sim.callsTo("UpdateService").length === 2) {
        h.controller.abort(new Error("received SIGINT"));
      }
    };
    const interrupted = await runDeploy(h.input({ image: digest("b"), release: "v3" }), h.deps());
    expect(interrupted.exitCode).toBe(3);
    h.sim.onCall = undefined;
    const back = await runRollback(h.input(), { ...h.deps(), signal: new AbortController().signal });
    expect(back.outcome).toBe("succeeded");
    expect(back.taskDefinition).toBe(good.taskDefinition);
    expect(back.previousTaskDefinition).toBe(interrupted.taskDefinition);
    expect(h.sim.describe().taskDefinition).toBe(good.taskDefinition);
    expect((h.sim.describe().deployments as unknown[]).length).toBe(1);
  });
});

describe("more refusals and defaults", () => {
  it("plan without --image plans with the live image", async () => {
    h = await startHarness();
    const report = await runPlan({ ...h.input(), image: undefined }, h.deps());
    expect(report.outcome).toBe("planned");
    expect(report.image).toBe(digest("0"));
    expect(report.details?.taskDefinitionChanges as string[]).not.toContainEqual(
      expect.stringContaining("containerDefinitions[app].image"),
    );
  });

  it("status of a missing service is exit 2 with where to look", async () => {
    h = await startHarness();
    const config = JSON.parse(configText());
    config.environments.staging.service = "nope";
    const report = await runStatus(h.input({ configText: JSON.stringify(config) }), h.deps());
    expect(report.exitCode).toBe(2);
    expect(report.nextSteps).toEqual([
      "check environments.staging (region, cluster, service) in shipyard.json",
    ]);
  });

  it("rollback refuses an INACTIVE revision: ECS cannot run it again", async () => {
    h = await startHarness();
    await runDeploy(h.input(), h.deps());
    h.sim.deregisterTaskDefinition(h.v1);
    const report = await runRollback({ ...h.input(), to: "web:1" }, h.deps());
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/web:1 is INACTIVE: ECS cannot run it again; nothing was changed/);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
  });
});
