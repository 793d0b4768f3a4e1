/**
 * The rollout-speed section of `plan` and `status` against the ECS emulator, with a load balancer set
 * as AWS leaves it (300 s deregistration delay, health checks 30 s × 5) and a container health check
 * every 30 s: the prediction, what dominates it, the advice, how few calls it costs; then the same
 * settings played by the emulator's scheduler (a real deploy, on virtual time): the prediction must
 * be within 10% of what the emulator takes, before and after the advice is applied.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RolloutSpeed } from "../../src/commands/rollout-speed.js";
import type { Report } from "../../src/report/report.js";
import { configText, digest, NEW_IMAGE, startWorld, TEMPLATE, type World } from "../support/world.js";

/** The world's template with a container health check and a stopTimeout. */
function templateWith(interval: number): string {
  const template = JSON.parse(TEMPLATE) as { containerDefinitions: Array<Record<string, unknown>> };
  Object.assign(template.containerDefinitions[0]!, {
    healthCheck: { command: ["CMD", "true"], interval, timeout: 5, retries: 3, startPeriod: 15 },
    stopTimeout: 30,
  });
  return JSON.stringify(template);
}

interface Scenario {
  desiredCount?: number;
  deployment?: Record<string, unknown>;
  gracePeriod?: number;
}

/** A world whose service sits behind a target group with AWS's defaults, paced by its settings. */
async function behindLoadBalancer(scenario: Scenario = {}): Promise<{ world: World; targetGroup: string }> {
  const world = await startWorld({
    desiredCount: scenario.desiredCount ?? 2,
    config: configText({ timeoutSeconds: 3600, ...scenario.deployment }),
    template: templateWith(30),
  });
  const targetGroup = world.sim.createTargetGroup({ name: "web", port: 3000 });
  world.sim.createService({
    taskDefinition: world.v1,
    desiredCount: scenario.desiredCount ?? 2,
    loadBalancers: [{ targetGroupArn: targetGroup, containerName: "app", containerPort: 3000 }],
    ...(scenario.gracePeriod !== undefined ? { healthCheckGracePeriodSeconds: scenario.gracePeriod } : {}),
  });
  world.sim.settingsTiming = { taskStartSeconds: 30, appReadySeconds: 3 };
  return { world, targetGroup };
}

const speedOf = (report: Report) => report.details?.rolloutSpeed as RolloutSpeed;

/** Seconds the emulator took for the latest deployment: from UpdateService to COMPLETED. */
function emulatedRolloutSeconds(world: World): number {
  const primary = (world.sim.describe().deployments as Array<Record<string, unknown>>)[0]!;
  expect(primary.rolloutState).toBe("COMPLETED");
  return ((primary.updatedAt as Date).getTime() - (primary.createdAt as Date).getTime()) / 1000;
}

/** Applies every piece of advice the way a person would: target group, task definition template. */
function applyAdvice(world: World, targetGroup: string): void {
  world.sim.modifyTargetGroup(targetGroup, {
    deregistrationDelaySeconds: 30,
    healthCheckIntervalSeconds: 10,
    healthyThresholdCount: 2,
  });
  world.files.files.set("task-def.json", templateWith(10));
}

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("plan: rollout speed", () => {
  it("predicts 8 minutes with AWS's defaults, dominated by the deregistration delay, and advises 1m20s", async () => {
    const { world } = await behindLoadBalancer();
    h = world;
    const report = await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(0);
    const speed = speedOf(report);
    expect(speed).toMatchObject({
      predictedSeconds: 480,
      batches: 1,
      batchSize: 2,
      dominatedBy: "deregistration delay",
      predictedWithAdviceSeconds: 80,
      loadBalancerCalls: 2,
      notes: [],
    });
    expect(speed.advice.map((a) => `${a.setting}: ${a.from} → ${a.to}`)).toEqual([
      "target group web: deregistration_delay.timeout_seconds: 300 s → 30 s",
      "target group web: health check interval × healthy threshold: 30 s × 5 → 10 s × 2",
      "task definition: container healthCheck.interval: 30 s → 10 s",
    ]);
    const text = world.captured.lines.join("\n");
    expect(text).toMatch(
      /rollout speed: at least 8m with the current settings \(1 batch of 2: task start 30 s \+ load balancer health checks 2m30s \+ deregistration delay 5m\); dominated by the deregistration delay/,
    );
    expect(text).toMatch(
      /deregistration_delay\.timeout_seconds 300 s → 30 s: the app drains in-flight requests on SIGTERM within its stopTimeout \(30 s\)/,
    );
    expect(text).toMatch(/with all of them: 1m20s \(Shipyard changes none of these settings\)/);
    // Cheap: one DescribeTargetGroups and one DescribeTargetGroupAttributes; no ECS call of its own.
    expect(world.sim.callsTo("DescribeTargetGroups")).toHaveLength(1);
    expect(world.sim.callsTo("DescribeTargetGroupAttributes")).toHaveLength(1);
    expect(world.sim.operations().filter((o) => o === "DescribeServices")).toHaveLength(1);
    expect(world.sim.callsTo("UpdateService")).toHaveLength(0);
  });

  it("a service without a load balancer costs no call at all", async () => {
    h = await startWorld({ template: templateWith(30) });
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(speedOf(report)).toMatchObject({
      predictedSeconds: 60,
      dominatedBy: "task start",
      loadBalancerCalls: 0,
    });
    expect(h.sim.callsTo("DescribeTargetGroups")).toHaveLength(0);
  });

  it("a service that wants no tasks: nothing to predict, said so", async () => {
    h = await startWorld({ desiredCount: 0, template: templateWith(30) });
    const report = await h.run("status", { env: "staging" });
    expect(speedOf(report)).toMatchObject({ batches: 0, advice: [] });
    expect(h.captured.lines.join("\n")).toMatch(/rollout speed: the service wants no tasks/);
  });

  it("AccessDenied on the target groups: a note, and the plan still succeeds", async () => {
    const { world } = await behindLoadBalancer();
    h = world;
    world.sim.injectFault("DescribeTargetGroups", "AccessDenied", 403, 1);
    const report = await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(0);
    expect(report.outcome).toBe("planned");
    const speed = speedOf(report);
    expect(speed.notes).toHaveLength(1);
    expect(speed.notes[0]).toMatch(
      /could not be read \(AccessDenied\).*elasticloadbalancing:DescribeTargetGroupAttributes/,
    );
    expect(report.warnings).toEqual(speed.notes);
    expect(speed.settings.loadBalancer).toBeNull();
    expect(world.captured.lines.join("\n")).toMatch(
      /note: rollout speed: the load balancer's settings could not be read/,
    );
  });

  it("AccessDenied on the attributes alone: the same note (status)", async () => {
    const { world } = await behindLoadBalancer();
    h = world;
    world.sim.injectFault("DescribeTargetGroupAttributes", "AccessDenied", 403, 1);
    const report = await world.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(speedOf(report).notes[0]).toMatch(/AccessDenied/);
  });

  it("status shows the same section for the live revision and the service's own settings", async () => {
    const { world } = await behindLoadBalancer({ gracePeriod: 600 });
    h = world;
    const report = await world.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    // The live revision (web:1) has no container health check: 30 + max(600, 150) + 300.
    expect(speedOf(report)).toMatchObject({ predictedSeconds: 930, dominatedBy: "grace period" });
    expect(speedOf(report).advice[0]).toMatchObject({
      setting: "service: healthCheckGracePeriodSeconds",
      to: "20 s",
    });
    expect(world.captured.lines.join("\n")).toMatch(/rollout speed: at least 15m30s/);
  });
});

describe("the prediction against the emulator's scheduler (within 10%)", () => {
  const cases: Array<{ name: string; scenario: Scenario }> = [
    { name: "AWS defaults, 2 tasks, 200%/100%", scenario: {} },
    {
      name: "4 tasks, 150%/100% (2 batches)",
      scenario: { desiredCount: 4, deployment: { maximumPercent: 150 } },
    },
    { name: "a 200 s grace period", scenario: { gracePeriod: 200 } },
  ];
  for (const { name, scenario } of cases) {
    it(name, async () => {
      const { world, targetGroup } = await behindLoadBalancer(scenario);
      h = world;
      const before = speedOf(await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" }));
      expect((await world.deploy()).exitCode).toBe(0);
      const emulatedBefore = emulatedRolloutSeconds(world);
      expect(Math.abs(emulatedBefore - before.predictedSeconds!) / emulatedBefore).toBeLessThanOrEqual(0.1);

      applyAdvice(world, targetGroup);
      if (scenario.gracePeriod !== undefined) {
        world.sim.createService({
          taskDefinition: world.sim.describe().taskDefinition as string,
          desiredCount: scenario.desiredCount ?? 2,
          loadBalancers: [{ targetGroupArn: targetGroup, containerName: "app", containerPort: 3000 }],
          healthCheckGracePeriodSeconds: 20,
        });
      }
      if (scenario.deployment?.maximumPercent !== undefined) {
        world.setConfig(configText({ timeoutSeconds: 3600, maximumPercent: 200 }));
      }
      const after = speedOf(await world.run("plan", { env: "staging", image: digest("c"), release: "v3" }));
      expect(after.predictedSeconds).toBe(before.predictedWithAdviceSeconds);
      expect(after.advice).toEqual([]);
      expect((await world.deploy({ image: digest("c"), release: "v3" })).exitCode).toBe(0);
      const emulatedAfter = emulatedRolloutSeconds(world);
      expect(Math.abs(emulatedAfter - after.predictedSeconds!) / emulatedAfter).toBeLessThanOrEqual(0.1);
      expect(emulatedAfter).toBeLessThan(emulatedBefore / 3);
    });
  }
});
