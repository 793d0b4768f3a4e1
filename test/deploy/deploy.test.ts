import { afterEach, describe, expect, it } from "vitest";
import type { DeployStep } from "../../src/deploy/steps.js";
import { InputError } from "../../src/errors.js";
import type { Verdict } from "../../src/report/verdict.js";
import { configText, digest, NEW_IMAGE, OLD_IMAGE, startWorld, type World } from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

function step(
  name: string,
  section: "migration" | "verification",
  verdict: Verdict,
  log: string[] = [],
): DeployStep {
  return {
    name,
    section,
    run: async (ctx) => {
      log.push(`${name}:run:${ctx.taskDefinitionArn.split("/").at(-1)}:${ctx.previousRelease}`);
      return verdict;
    },
    afterRollback: async (_ctx, reason) => {
      log.push(`${name}:afterRollback:${reason.slice(0, 20)}`);
    },
  };
}

const serviceTaskDefinition = (h: World) => h.sim.describe().taskDefinition;

describe("deploy: rollouts", () => {
  it("rolls out a healthy release, waits on our deployment and records last-good", async () => {
    h = await startWorld();
    const report = await h.deploy();
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    expect(report.taskDefinition).toMatch(/task-definition\/web:2$/);
    expect(report.previousTaskDefinition).toBe(h.v1);
    const body = h.sim.taskDefinitionBody(report.taskDefinition!);
    const container = (body.containerDefinitions as Array<Record<string, unknown>>)[0]!;
    expect(container.image).toBe(NEW_IMAGE);
    expect(container.environment).toContainEqual({ name: "SENTRY_RELEASE", value: "v2" });
    expect(container.environment).toContainEqual({ name: "APP_ENV", value: "staging" });
    expect(h.sim.taskDefinitionTags(report.taskDefinition!)).toMatchObject({
      "shipyard:release": "v2",
      "shipyard:commit": "abc1234",
      "shipyard:previous": h.v1,
    });
    expect(h.sim.serviceTags()).toMatchObject({
      "shipyard:last-good": report.taskDefinition,
      "shipyard:previous": h.v1,
    });
    const update = h.sim.callsTo("UpdateService")[0]!.input;
    expect(update.deploymentConfiguration).toMatchObject({
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      strategy: "ROLLING",
    });
    expect(h.sim.operations()).not.toContain("DeregisterTaskDefinition");
    // Noticed within one poll interval of completion (20 s in the simulator, polls every 5 s).
    expect(report.timings.phases.find((p) => p.name === "rollout")!.seconds).toBe(20);
    expect(report.events?.map((e) => e.message)).toContain("(service web) has reached a steady state.");
    expect(
      h.captured.lines.some((l) => l.includes("[20s] ECS: (service web) has reached a steady state.")),
    ).toBe(true);
  });

  it("passes the configured percentages, circuit breaker and CloudWatch alarms to UpdateService", async () => {
    h = await startWorld();
    const config = configText({
      maximumPercent: 150,
      minimumHealthyPercent: 50,
      circuitBreaker: { enable: true, rollback: false },
      alarms: { names: ["web-5xx", "web-latency"], rollback: true },
    });
    await h.setConfig(config).deploy();
    expect(h.sim.callsTo("UpdateService")[0]!.input.deploymentConfiguration).toEqual({
      maximumPercent: 150,
      minimumHealthyPercent: 50,
      deploymentCircuitBreaker: { enable: true, rollback: false },
      alarms: { alarmNames: ["web-5xx", "web-latency"], enable: true, rollback: true },
      strategy: "ROLLING",
    });
  });

  it("polls with exactly one DescribeServices per poll interval", async () => {
    h = await startWorld();
    h.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    await h.deploy();
    const calls = h.sim.operations();
    const afterUpdate = calls.slice(calls.indexOf("UpdateService"));
    // 60 s rollout / 5 s interval = 13 polls (t=0..60); the service's ARN to tag is the preflight's.
    expect(afterUpdate.filter((op) => op === "DescribeServices")).toHaveLength(13);
    const update = h.sim.calls.findIndex((c) => c.operation === "UpdateService");
    const polls = h.sim.calls
      .slice(update)
      .filter((c) => c.operation === "DescribeServices")
      .map((c) => c.atMs);
    const gaps = polls.slice(1).map((t, i) => t - polls[i]!);
    expect(new Set(gaps)).toEqual(new Set([5000]));
  });

  it("treats a circuit-breaker rollback as a failure and waits until ECS is back on the previous revision", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "failing");
    const report = await h.deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(/circuit breaker: tasks failed to start/);
    expect(report.details?.restoredWith).toBe("ECS circuit breaker rollback");
    expect(serviceTaskDefinition(h)).toBe(h.v1);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
    expect(h.sim.operations()).not.toContain("StopServiceDeployment");
    expect(h.sim.serviceTags()["shipyard:last-good"]).toBeUndefined();
  });

  it("stops a stuck deployment at the timeout with StopServiceDeployment(ROLLBACK)", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const report = await h.setConfig(configText({ timeoutSeconds: 60 })).deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(/did not finish within 1m00s/);
    expect(h.sim.callsTo("StopServiceDeployment")[0]!.input.stopType).toBe("ROLLBACK");
    expect(serviceTaskDefinition(h)).toBe(h.v1);
    expect(report.details?.restoredWith).toBe("StopServiceDeployment(ROLLBACK)");
  });

  it("falls back to UpdateService when ECS refuses StopServiceDeployment", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    h.sim.injectFault("StopServiceDeployment", "ConflictException", 400, 1);
    const report = await h.setConfig(configText({ timeoutSeconds: 30 })).deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.details?.restoredWith).toBe("UpdateService to the previous revision");
    expect(h.captured.lines).toContain(
      "warning: StopServiceDeployment was refused (ConflictException); using UpdateService instead.",
    );
    expect(serviceTaskDefinition(h)).toBe(h.v1);
  });

  it("without the circuit breaker, a failing rollout times out and is stopped", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "failing");
    const config = configText({ timeoutSeconds: 60, circuitBreaker: { enable: false, rollback: false } });
    const report = await h.setConfig(config).deploy();
    expect(report.exitCode).toBe(1);
    expect(h.sim.callsTo("StopServiceDeployment")).toHaveLength(1);
    expect(serviceTaskDefinition(h)).toBe(h.v1);
  });

  it("exits 3 with the exact commands when the rollback itself fails", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "failing");
    h.sim.rollbackBehaviour = "failing";
    const report = await h.deploy();
    expect(report.outcome).toBe("failed");
    expect(report.exitCode).toBe(3);
    expect(report.reason).toMatch(/restoring web:1 was not confirmed/);
    expect(report.nextSteps).toEqual([
      "npx shipyard status --env staging",
      `npx shipyard rollback --env staging --to ${h.v1}`,
      `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${h.v1}`,
    ]);
  });

  it("exits 3 when a stuck rollback times out", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    h.sim.rollbackBehaviour = "stuck";
    const config = configText({ timeoutSeconds: 30, rollbackTimeoutSeconds: 30 });
    const report = await h.setConfig(config).deploy();
    expect(report.exitCode).toBe(3);
    expect(report.reason).toMatch(/rollback to web:1 did not finish within 30s/);
  });
});

describe("deploy: faults and refusals", () => {
  it("retries throttling bursts and 5xx answers", async () => {
    h = await startWorld();
    h.sim.injectFault("DescribeServices", "ThrottlingException", 400, 3);
    h.sim.injectFault("RegisterTaskDefinition", "ThrottlingException", 400, 2);
    h.sim.injectFault("UpdateService", "ServerException", 500, 1);
    const report = await h.deploy();
    expect(report.outcome).toBe("succeeded");
    expect(h.sim.calls.filter((c) => c.fault).length).toBe(6);
    expect(h.sim.callsTo("UpdateService").filter((c) => !c.fault)).toHaveLength(1);
  });

  it("retries throttling with the production client settings (adaptive retry)", async () => {
    h = await startWorld();
    h.sim.injectFault("RegisterTaskDefinition", "ThrottlingException", 400, 1);
    const report = await h.deploy({}, { ecsClientFactory: undefined });
    expect(report.outcome).toBe("succeeded");
    expect(h.sim.callsTo("RegisterTaskDefinition")).toHaveLength(2);
  });

  it("reports 'service not changed' when UpdateService fails for good", async () => {
    h = await startWorld();
    h.sim.injectFault("UpdateService", "AccessDeniedException", 400, 1);
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(
      /UpdateService failed \(AccessDeniedException.*the service was not changed/,
    );
    expect(serviceTaskDefinition(h)).toBe(h.v1);
  });

  it("refuses a missing service with exit 2 before registering anything", async () => {
    h = await startWorld();
    const config = JSON.parse(configText());
    config.environments.staging.service = "api";
    const report = await h.setConfig(JSON.stringify(config)).deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/service "api" in cluster "main" was not found \(MISSING\)/);
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });

  it("refuses a missing cluster with exit 2", async () => {
    h = await startWorld();
    const config = JSON.parse(configText());
    config.environments.staging.cluster = "nope";
    const report = await h.setConfig(JSON.stringify(config)).deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/cluster "nope" does not exist/);
  });

  it.each(["DRAINING", "INACTIVE"] as const)("refuses a %s service with exit 2", async (status) => {
    h = await startWorld();
    h.sim.createService({ service: "old", taskDefinition: h.v1, status });
    const config = JSON.parse(configText());
    config.environments.staging.service = "old";
    const report = await h.setConfig(JSON.stringify(config)).deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`is ${status}, not ACTIVE`);
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });

  it("refuses a service deployed by CodeDeploy", async () => {
    h = await startWorld();
    h.sim.createService({ service: "cd", taskDefinition: h.v1, controller: "CODE_DEPLOY" });
    const config = JSON.parse(configText());
    config.environments.staging.service = "cd";
    const report = await h.setConfig(JSON.stringify(config)).deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/uses the CODE_DEPLOY deployment controller/);
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });

  it("ECS refusing the deployment settings is exit 2 with the service unchanged", async () => {
    h = await startWorld();
    h.sim.injectFault("UpdateService", "InvalidParameterException", 400, 1);
    const report = await h.setConfig(configText({ strategy: "blue-green" })).deploy();
    expect(report.exitCode).toBe(2);
    expect(report.nextSteps).toEqual([
      "fix environments.staging.deployment in shipyard.json, then deploy again",
    ]);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
  });

  it("refuses while another deployment is in flight", async () => {
    h = await startWorld();
    h.sim.startDeployment(
      "main",
      "web",
      h.sim.registerTaskDefinition({
        family: "web",
        containerDefinitions: [{ name: "app", image: OLD_IMAGE }],
      }),
      "stuck",
    );
    const report = await h.deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/another deployment is in flight/);
    expect(report.nextSteps?.[0]).toContain("npx shipyard status --env staging");
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });
});

describe("deploy: steps", () => {
  it("a failed beforeUpdate step leaves the service untouched", async () => {
    h = await startWorld();
    const log: string[] = [];
    const migrate = step(
      "migrate",
      "migration",
      { status: "failed", reason: "exit code 1", section: { exitCode: 1 } },
      log,
    );
    const report = await h.deploy({}, { deploySteps: { beforeUpdate: [migrate], afterRollout: [] } });
    expect(report.outcome).toBe("failed");
    expect(report.exitCode).toBe(1);
    expect(report.reason).toBe("migrate failed: exit code 1; the service was not changed");
    expect(report.migration).toEqual({ exitCode: 1 });
    expect(log).toEqual(["migrate:run:web:2:v1"]);
    expect(h.sim.operations()).not.toContain("UpdateService");
  });

  it("a failed verification restores the previous revision and tells the steps", async () => {
    h = await startWorld();
    const log: string[] = [];
    const steps = {
      beforeUpdate: [step("migrate", "migration", { status: "passed", summary: "ok" }, log)],
      afterRollout: [
        step(
          "error-rate",
          "verification",
          { status: "failed", reason: "errors 12% vs 1%", section: { errorRate: 0.12 } },
          log,
        ),
      ],
    };
    const report = await h.deploy({}, { deploySteps: steps });
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(report.verification).toEqual({ errorRate: 0.12 });
    expect(report.reason).toMatch(/^error-rate failed: errors 12% vs 1%; the service is back on web:1$/);
    expect(h.sim.callsTo("UpdateService").map((c) => c.input.taskDefinition)).toEqual([
      report.taskDefinition,
      h.v1,
    ]);
    expect(serviceTaskDefinition(h)).toBe(h.v1);
    expect(log.filter((l) => l.includes("afterRollback"))).toHaveLength(2);
  });

  it.each([
    ["rollback", "rolled_back", 1],
    ["fail", "failed", 3],
    ["accept", "succeeded", 0],
  ] as const)(
    "an inconclusive verification with onInconclusive=%s ends %s (exit %i)",
    async (policy, outcome, exitCode) => {
      h = await startWorld();
      const steps = {
        beforeUpdate: [],
        afterRollout: [
          step("error-rate", "verification", { status: "inconclusive", reason: "Sentry unreachable" }),
        ],
      };
      const config = configText({}, { verify: { onInconclusive: policy } });
      const report = await h.setConfig(config).deploy({}, { deploySteps: steps });
      expect(report.outcome).toBe(outcome);
      expect(report.exitCode).toBe(exitCode);
      if (policy === "accept")
        expect(report.warnings?.[0]).toMatch(/inconclusive: Sentry unreachable \(accepted\)/);
      if (policy === "fail") expect(serviceTaskDefinition(h)).toBe(report.taskDefinition);
    },
  );

  it("a step that throws counts as failed", async () => {
    h = await startWorld();
    const broken: DeployStep = {
      name: "smoke",
      section: "verification",
      run: async () => {
        throw new Error("boom");
      },
    };
    const report = await h.deploy({}, { deploySteps: { beforeUpdate: [], afterRollout: [broken] } });
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(/smoke failed: it threw: boom/);
  });

  it("a step rejecting its own settings before UpdateService is bad input (exit 2), service untouched", async () => {
    h = await startWorld();
    const picky: DeployStep = {
      name: "migrations",
      section: "migration",
      run: async () => {
        throw new InputError('unknown squawk rule "no-such-rule" in migrations.excludeRules');
      },
    };
    const report = await h.deploy({}, { deploySteps: { beforeUpdate: [picky], afterRollout: [] } });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /migrations failed: unknown squawk rule "no-such-rule".*the service was not changed/,
    );
    expect(h.sim.operations()).not.toContain("UpdateService");
  });
});

describe("deploy: interruption and moto-like endpoints", () => {
  it("SIGINT during the wait exits 3 with the commands to resume or roll back, leaving the service alone", async () => {
    h = await startWorld();
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const start = h.clock.now();
    h.clock.onAdvance((now) => {
      if (now - start >= 15_000 && !h.controller.signal.aborted)
        h.controller.abort(new Error("received SIGINT"));
    });
    const report = await h.deploy();
    expect(report.exitCode).toBe(3);
    expect(report.reason).toMatch(
      /interrupted \(received SIGINT\) during the rollout of web:2 at .*rollout IN_PROGRESS; the rollout may still be running/,
    );
    expect(report.nextSteps).toContain("npx shipyard status --env staging");
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
    expect(h.sim.operations()).not.toContain("StopServiceDeployment");
  });

  it("judges by deployment and task counts when the endpoint omits rolloutState", async () => {
    h = await startWorld();
    h.sim.omitRolloutState = true;
    const report = await h.deploy();
    expect(report.outcome).toBe("succeeded");
    expect(report.timings.phases.find((p) => p.name === "rollout")!.seconds).toBe(20);
  });

  it("restores with UpdateService when the endpoint has no StopServiceDeployment", async () => {
    h = await startWorld();
    h.sim.omitRolloutState = true;
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const report = await h.setConfig(configText({ timeoutSeconds: 30 })).deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.details?.restoredWith).toBe("UpdateService to the previous revision");
    expect(serviceTaskDefinition(h)).toBe(h.v1);
  });
});

describe("deploy: progress", () => {
  it("prints each ECS event once, never the ones from before, and a heartbeat while nothing changes", async () => {
    h = await startWorld();
    await h.deploy();
    h.captured.lines.length = 0;
    h.sim.behaviours.set(digest("b"), "stuck");
    const report = await h.setConfig(configText({ timeoutSeconds: 65 })).deploy({ image: digest("b") });
    const ecsLines = h.captured.lines.filter((l) => l.includes("ECS: "));
    expect(ecsLines.some((l) => l.includes("has reached a steady state"))).toBe(true); // the rollback's own
    expect(new Set(ecsLines).size).toBe(ecsLines.length);
    const firstDeployEvent = "(deployment ecs-svc/1000000000000000002) deployment completed.";
    expect(ecsLines.some((l) => l.includes(firstDeployEvent))).toBe(false);
    expect(report.events?.some((e) => e.message.includes(firstDeployEvent))).toBe(false);
    const heartbeats = h.captured.lines.filter((l) => /rollout of web:3: .*\((30s|1m00s) elapsed/.test(l));
    expect(heartbeats).toHaveLength(2);
  });
});

describe("deploy: before any change", () => {
  it("an unreadable service (e.g. denied credentials) is exit 2, nothing changed", async () => {
    h = await startWorld();
    h.sim.injectFault("DescribeServices", "AccessDeniedException", 400, 1);
    const report = await h.deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/AWS refused deploy \(AccessDeniedException.*; nothing was changed/);
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });

  it("an interruption during the migration step never reaches UpdateService", async () => {
    h = await startWorld();
    const slow: DeployStep = {
      name: "migrate",
      section: "migration",
      run: async () => {
        h.controller.abort(new Error("received SIGTERM"));
        return { status: "passed", summary: "applied" };
      },
    };
    const report = await h.deploy({}, { deploySteps: { beforeUpdate: [slow], afterRollout: [] } });
    expect(report.exitCode).toBe(1);
    expect(report.reason).toBe("interrupted before UpdateService; the service was not changed");
    expect(h.sim.operations()).not.toContain("UpdateService");
  });
});

describe("deploy: losing sight of ECS", () => {
  it("exits 3 with the commands when ECS cannot be read during the wait", async () => {
    h = await startWorld();
    h.sim.onCall = (call) => {
      if (call.operation === "UpdateService")
        h.sim.injectFault("DescribeServices", "AccessDeniedException", 400, 3);
    };
    const report = await h.deploy();
    expect(report.exitCode).toBe(3);
    expect(report.reason).toMatch(
      /ECS could not be read: AccessDeniedException.*the rollout may still be running/,
    );
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
    expect(h.captured.lines.filter((l) => l.startsWith("warning: reading the service failed"))).toHaveLength(
      3,
    );
  });

  it("a short read outage during the wait is ridden out", async () => {
    h = await startWorld();
    h.sim.onCall = (call) => {
      if (call.operation === "UpdateService")
        h.sim.injectFault("DescribeServices", "AccessDeniedException", 400, 2);
    };
    const report = await h.deploy();
    expect(report.outcome).toBe("succeeded");
  });
});

describe("deploy: interrupted verification", () => {
  it("Ctrl-C during verification does not start a rollback on the way out (exit 3, commands printed)", async () => {
    h = await startWorld();
    const watching: DeployStep = {
      name: "error-rate gate",
      section: "verification",
      run: async () => {
        h.controller.abort(new Error("received SIGINT"));
        return { status: "inconclusive", reason: "interrupted" };
      },
    };
    const report = await h.deploy({}, { deploySteps: { beforeUpdate: [], afterRollout: [watching] } });
    expect(report.exitCode).toBe(3);
    expect(report.reason).toMatch(/interrupted, so the previous revision was NOT restored$/);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
  });
});
