/**
 * The advisor's model as a table: the shortest rollout the settings allow, what dominates it, and the
 * advice in the order that shortens it the most. Every row is worked out by hand from the model in
 * src/deploy/advisor.ts (batches × (task start + slowest health wait + deregistration delay) + bake).
 */
import { describe, expect, it } from "vitest";
import {
  adviseRollout,
  formatSeconds,
  predictRollout,
  type RolloutSettings,
} from "../../src/deploy/advisor.js";

/** AWS's defaults everywhere: 300 s deregistration, 30 s × 5 target health checks, container check every 30 s. */
const defaults: RolloutSettings = {
  desiredCount: 2,
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  healthCheckGracePeriodSeconds: 0,
  loadBalancer: {
    targetGroup: "web",
    healthCheckIntervalSeconds: 30,
    healthyThresholdCount: 5,
    deregistrationDelaySeconds: 300,
  },
  containerHealthCheck: { intervalSeconds: 30, retries: 3, startPeriodSeconds: 15 },
  stopTimeoutSeconds: 30,
  taskStartSeconds: 30,
  bakeSeconds: 0,
};

describe("predictRollout", () => {
  const rows: Array<{
    name: string;
    change: Partial<RolloutSettings>;
    seconds: number | null;
    batches: number;
    dominatedBy: string | null;
  }> = [
    // 30 + max(30, 0, 150) + 300
    {
      name: "AWS defaults, one batch",
      change: {},
      seconds: 480,
      batches: 1,
      dominatedBy: "deregistration delay",
    },
    // upper 4, lower 2: 2 tasks a batch, 2 batches
    {
      name: "100%/50% of 4 tasks",
      change: { desiredCount: 4, maximumPercent: 100, minimumHealthyPercent: 50 },
      seconds: 960,
      batches: 2,
      dominatedBy: "deregistration delay",
    },
    // upper floor(4.5) = 4, lower 3: one task a batch
    {
      name: "150%/100% of 3 tasks",
      change: { desiredCount: 3, maximumPercent: 150 },
      seconds: 1440,
      batches: 3,
      dominatedBy: "deregistration delay",
    },
    {
      name: "no room between the percents",
      change: { maximumPercent: 100 },
      seconds: null,
      batches: 0,
      dominatedBy: null,
    },
    {
      name: "no load balancer, no container check",
      change: { loadBalancer: null, containerHealthCheck: null },
      seconds: 30,
      batches: 1,
      dominatedBy: "task start",
    },
    // 30 + max(30, 600, 150) + 300
    {
      name: "a 600 s grace period",
      change: { healthCheckGracePeriodSeconds: 600 },
      seconds: 930,
      batches: 1,
      dominatedBy: "grace period",
    },
    // blue-green starts everything at once whatever the percents; + 10 min bake
    {
      name: "blue-green with 10 min bake",
      change: { allAtOnce: true, maximumPercent: 100, bakeSeconds: 600 },
      seconds: 1080,
      batches: 1,
      dominatedBy: "bake time",
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const prediction = predictRollout({ ...defaults, ...row.change });
      expect(prediction.seconds).toBe(row.seconds);
      expect(prediction.batches).toBe(row.batches);
      expect(prediction.dominatedBy).toBe(row.dominatedBy);
    });
  }

  it("names the health wait that counts: the load balancer's 5 × 30 s over the container's 30 s", () => {
    expect(predictRollout(defaults).parts).toEqual([
      { part: "task start", seconds: 30 },
      { part: "load balancer health checks", seconds: 150 },
      { part: "deregistration delay", seconds: 300 },
    ]);
  });
});

describe("adviseRollout", () => {
  it("AWS defaults: deregistration delay first, then the target health checks, then the container check", () => {
    const result = adviseRollout(defaults);
    expect(result.advice.map((a) => [a.setting, a.from, a.to, a.savesSeconds, a.predictedSeconds])).toEqual([
      ["target group web: deregistration_delay.timeout_seconds", "300 s", "30 s", 270, 210],
      ["target group web: health check interval × healthy threshold", "30 s × 5", "10 s × 2", 120, 90],
      ["task definition: container healthCheck.interval", "30 s", "10 s", 10, 80],
    ]);
    expect(result.advice[0]!.why).toMatch(
      /drains in-flight requests on SIGTERM within its stopTimeout \(30 s\)/,
    );
    expect(result.withAdvice.seconds).toBe(80);
  });

  it("a grace period longer than the checks: lowered to what the tightened checks take", () => {
    const result = adviseRollout({ ...defaults, healthCheckGracePeriodSeconds: 600 });
    expect(result.advice[0]).toMatchObject({
      setting: "service: healthCheckGracePeriodSeconds",
      from: "600 s",
      to: "20 s",
      savesSeconds: 450,
    });
    expect(result.withAdvice.seconds).toBe(80);
  });

  it("several batches: maximumPercent so that every new task starts at once", () => {
    const result = adviseRollout({ ...defaults, desiredCount: 4, maximumPercent: 150 });
    expect(result.now.seconds).toBe(960);
    const percent = result.advice.find((a) => a.setting === "shipyard.json deployment.maximumPercent");
    expect(percent).toMatchObject({ from: "150%", to: "200%" });
    expect(result.withAdvice.batches).toBe(1);
    expect(result.withAdvice.seconds).toBe(80);
  });

  it("settings already tight: no advice, the prediction stands", () => {
    const tight: RolloutSettings = {
      ...defaults,
      loadBalancer: {
        targetGroup: "web",
        healthCheckIntervalSeconds: 5,
        healthyThresholdCount: 2,
        deregistrationDelaySeconds: 20,
      },
      containerHealthCheck: { intervalSeconds: 10, retries: 3, startPeriodSeconds: 15 },
    };
    const result = adviseRollout(tight);
    expect(result.advice).toEqual([]);
    expect(result.withAdvice.seconds).toBe(result.now.seconds);
    expect(result.now.seconds).toBe(60);
  });

  it("no room between the percents: no prediction, and no advice built on one", () => {
    const result = adviseRollout({ ...defaults, maximumPercent: 100 });
    expect(result.now.seconds).toBeNull();
    expect(result.advice).toEqual([]);
  });

  it("formats durations", () => {
    expect([formatSeconds(45), formatSeconds(480), formatSeconds(90)]).toEqual(["45 s", "8m", "1m30s"]);
  });
});
