import { afterEach, describe, expect, it } from "vitest";
import type { DeploySteps } from "../../src/deploy/steps.js";
import { configText, digest, NEW_IMAGE, startWorld, TEMPLATE, type World } from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

describe("native strategies", () => {
  it("blue-green passes the bake time through and finishes only when the service deployment succeeds", async () => {
    h = await startWorld();
    const config = configText({ strategy: "blue-green", bakeTimeMinutes: 2 });
    const report = await h.setConfig(config).deploy();
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
      h = await startWorld();
      h.sim.behaviours.set(NEW_IMAGE, "failing");
      const report = await h.setConfig(configText({ strategy })).deploy();
      expect(h.sim.callsTo("UpdateService")[0]!.input.deploymentConfiguration).toMatchObject(expected);
      expect(report.outcome).toBe("rolled_back");
      expect(report.reason).toMatch(/ECS is rolling the deployment back \(ROLLBACK_IN_PROGRESS\)/);
      expect(h.sim.describe().taskDefinition).toBe(h.v1);
    },
  );
});

describe("native strategies: restoring", () => {
  it("blue-green: restoring after a failed verification is given the bake time too", async () => {
    h = await startWorld();
    const failing: DeploySteps = {
      beforeUpdate: [],
      afterRollout: [
        {
          name: "error-rate gate",
          section: "verification",
          run: async () => ({ status: "failed", reason: "errors doubled" }),
        },
      ],
    };
    const config = configText({ strategy: "blue-green", bakeTimeMinutes: 5, rollbackTimeoutSeconds: 120 });
    const report = await h.setConfig(config).deploy({}, { deploySteps: failing });
    expect(report.outcome).toBe("rolled_back");
    // 20 s to become healthy + 300 s bake: longer than the 120 s rollback timeout alone.
    expect(report.timings.phases.find((p) => p.name === "restore")!.seconds).toBe(320);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
  });
});

describe("rollback", () => {
  it("returns to the last good revision recorded on the service, then walks further back", async () => {
    h = await startWorld();
    const second = await h.deploy();
    const third = await h.deploy({ image: digest("b"), release: "v3" });
    expect(third.previousTaskDefinition).toBe(second.taskDefinition);
    const back = await h.run("rollback", { env: "staging" });
    expect(back.outcome).toBe("succeeded");
    expect(back.taskDefinition).toBe(second.taskDefinition);
    expect(back.previousTaskDefinition).toBe(third.taskDefinition);
    expect(back.release).toBe("v2");
    expect(h.sim.serviceTags()["shipyard:last-good"]).toBe(second.taskDefinition);
    const again = await h.run("rollback", { env: "staging" });
    expect(again.taskDefinition).toBe(h.v1);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
    expect(h.sim.operations()).not.toContain("DeregisterTaskDefinition");
  });

  it("--to takes a revision number of the same family", async () => {
    h = await startWorld();
    await h.deploy();
    const report = await h.run("rollback", { env: "staging", to: "1" });
    expect(report.taskDefinition).toBe(h.v1);
    expect(report.details?.chosenBecause).toBe("--to");
  });

  it("refuses with exit 2 when nothing is recorded, and with a missing --to revision", async () => {
    h = await startWorld();
    const nothing = await h.run("rollback", { env: "staging" });
    expect(nothing.exitCode).toBe(2);
    expect(nothing.reason).toMatch(/no earlier good revision is recorded/);
    const missing = await h.run("rollback", { env: "staging", to: "web:99" });
    expect(missing.exitCode).toBe(2);
    expect(missing.reason).toMatch(/web:99 could not be read/);
    expect(h.sim.operations()).not.toContain("UpdateService");
  });

  it("exits 3 with the commands when the rollback does not complete", async () => {
    h = await startWorld();
    await h.deploy();
    h.sim.defaultBehaviour = "stuck";
    const report = await h.run("rollback", { env: "staging" });
    expect(report.exitCode).toBe(3);
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
  });
});

describe("status and plan", () => {
  it("status shows the running revision, its release and where rollback would go", async () => {
    h = await startWorld();
    const deployed = await h.deploy();
    const report = await h.run("status", { env: "staging" });
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
    expect(h.captured.lines).toContain("  rollback would return to: web:1");
  });

  it("plan shows the differences and changes nothing", async () => {
    h = await startWorld();
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
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
  /** What to change in the world and the deploy options for each case. */
  const cases: Array<[string, (h: World) => Record<string, unknown>, RegExp[]]> = [
    [
      "invalid JSON config",
      (h) => {
        h.setConfig("{");
        return {};
      },
      [/shipyard.json is not valid JSON/],
    ],
    [
      "unknown key in the config",
      (h) => {
        h.setConfig(configText({ maximumPercnt: 150 }));
        return {};
      },
      [/environments\.staging\.deployment: unknown key "maximumPercnt"/],
    ],
    ["unknown environment", () => ({ env: "prod" }), [/no environment "prod"/]],
    [
      "a tag instead of a digest",
      () => ({ image: "ghcr.io/acme/app:latest" }),
      [/image "ghcr.io\/acme\/app:latest" is not a digest reference/],
    ],
    [
      "an image from another repository",
      () => ({ image: `ghcr.io/evil/app@sha256:${"c".repeat(64)}` }),
      [/not from the configured repository "ghcr.io\/acme\/app"/],
    ],
    [
      "every task definition problem at once",
      (h) => {
        h.files.files.set(
          "task-def.json",
          JSON.stringify({
            family: "web app",
            requiresCompatibilities: ["FARGATE"],
            cpu: "256",
            memory: "4096",
            containerDefinitions: [{ name: "worker", image: "{{IMAGE}}", command: ["{{MODE}}"] }],
          }),
        );
        return {};
      },
      [
        /placeholder \{\{MODE\}\} has no value: add it to environments\.staging\.variables/,
        /family: "web app" must be 1-255 letters/,
        /container "app" \(environment `container`\) is not in containerDefinitions \(found: worker\)/,
        /memory: 4096 MiB does not fit cpu 256 on Fargate \(allowed: 512, 1024, 2048\)/,
      ],
    ],
  ];

  it.each(cases)("%s", async (_name, arrange, messages) => {
    h = await startWorld();
    const report = await h.deploy(arrange(h));
    // Bad input is a report now, never a thrown InputError.
    expect(report.outcome).toBe("failed");
    expect(report.exitCode).toBe(2);
    for (const message of messages) expect(report.reason).toMatch(message);
    expect(h.sim.calls).toEqual([]);
  });

  it("strips the read-only fields of a pasted describe-task-definition output", async () => {
    h = await startWorld();
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
    h.files.files.set("task-def.json", JSON.stringify(pasted));
    const report = await h.deploy();
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

describe("with the real verification steps", () => {
  it("a release whose health URL fails is rolled back by the controller", async () => {
    h = await startWorld();
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
      // No deploySteps override: the deploy runs its real steps (src/commands/deploy-steps.ts).
      const report = await h.setConfig(config).deploy();
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
    h = await startWorld();
    const good = await h.deploy();
    h.sim.behaviours.set(digest("b"), "stuck");
    h.sim.onCall = (call) => {
      if (call.operation === "DescribeServices" && h.sim.callsTo("UpdateService").length === 2) {
        h.controller.abort(new Error("received SIGINT"));
      }
    };
    const interrupted = await h.deploy({ image: digest("b"), release: "v3" });
    expect(interrupted.exitCode).toBe(3);
    h.sim.onCall = undefined;
    const back = await h.run("rollback", { env: "staging" }, { signal: new AbortController().signal });
    expect(back.outcome).toBe("succeeded");
    expect(back.taskDefinition).toBe(good.taskDefinition);
    expect(back.previousTaskDefinition).toBe(interrupted.taskDefinition);
    expect(h.sim.describe().taskDefinition).toBe(good.taskDefinition);
    expect((h.sim.describe().deployments as unknown[]).length).toBe(1);
  });
});

describe("more refusals and defaults", () => {
  it("plan without --image plans with the live image", async () => {
    h = await startWorld();
    const report = await h.run("plan", { env: "staging", release: "v2" });
    expect(report.outcome).toBe("planned");
    expect(report.image).toBe(digest("0"));
    expect(report.details?.taskDefinitionChanges as string[]).not.toContainEqual(
      expect.stringContaining("containerDefinitions[app].image"),
    );
  });

  it("status of a missing service is exit 2 with where to look", async () => {
    h = await startWorld();
    const config = JSON.parse(configText());
    config.environments.staging.service = "nope";
    const report = await h.setConfig(JSON.stringify(config)).run("status", { env: "staging" });
    expect(report.exitCode).toBe(2);
    expect(report.nextSteps).toEqual([
      "check environments.staging (region, cluster, service) in shipyard.json",
    ]);
  });

  it("rollback refuses an INACTIVE revision: ECS cannot run it again", async () => {
    h = await startWorld();
    await h.deploy();
    h.sim.deregisterTaskDefinition(h.v1);
    const report = await h.run("rollback", { env: "staging", to: "web:1" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/web:1 is INACTIVE: ECS cannot run it again; nothing was changed/);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
  });
});
