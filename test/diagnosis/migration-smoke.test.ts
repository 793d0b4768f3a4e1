/**
 * The other failures a diagnosis explains: a migration task that failed (during a deploy, and on its
 * own with `shipyard migrate`) and a smoke test that failed on a release ECS called healthy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { humanSummary } from "../../src/report/output.js";
import { configText, type World } from "../support/world.js";
import { balancedWorld, LOG_GROUP, runningTasks } from "./support.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const migrations = { command: ["node", "dist/migrate.js"], lint: false };
const crashLines = ["running 0007_add_index.sql", 'error: relation "orders" does not exist'];

describe("a failed migration is diagnosed", () => {
  it("during a deploy: the migration task's exit code and last lines, the service untouched", async () => {
    h = (await balancedWorld()).setConfig(configText({}, { migrations }));
    h.sim.tasks.outcomes.push({ kind: "exit", code: 1, afterSeconds: 15, logs: crashLines });
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(0);
    const diagnosis = report.diagnosis!;
    expect(diagnosis.subject).toBe("migration");
    expect(diagnosis.causes.map((c) => c.kind)).toEqual(["essential-container-exited"]);
    expect(diagnosis.summary).toMatch(
      /^the essential container app exited with code 1: the app stopped with an error/,
    );
    expect(diagnosis.logs[0]!.lines).toEqual([...crashLines].reverse());
    expect(h.sim.callsTo("ListTasks")[0]!.input).toMatchObject({
      startedBy: "shipyard-migrate",
      desiredStatus: "STOPPED",
    });
    // No load balancer read for a one-off task.
    expect(h.sim.operations()).not.toContain("DescribeTargetHealth");
    expect(diagnosis.calls).toBeLessThanOrEqual(5);
    expect(humanSummary(report).join("\n")).toContain(`    ${crashLines[1]}`);
  });

  it("with `shipyard migrate`: the task it ran, without listing tasks", async () => {
    h = (await balancedWorld()).setConfig(configText({}, { migrations }));
    expect((await h.deploy()).exitCode).toBe(0);
    h.sim.tasks.outcomes.push({
      kind: "exit",
      code: 137,
      afterSeconds: 15,
      reason: "OutOfMemoryError: Container killed due to memory usage",
    });
    const before = h.sim.calls.length;
    const report = await h.run("migrate", { env: "staging" });
    expect(report.exitCode).toBe(1);
    expect(report.diagnosis?.causes[0]?.kind).toBe("out-of-memory");
    expect(h.sim.calls.slice(before).map((c) => c.operation)).not.toContain("ListTasks");
  });

  it("a migration that never started (CannotPullContainerError) needs no log read", async () => {
    h = (await balancedWorld()).setConfig(configText({}, { migrations }));
    h.sim.tasks.outcomes.push({ kind: "neverStarts" });
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(report.diagnosis?.causes[0]?.kind).toBe("image-pull");
    expect(h.sim.operations()).not.toContain("GetLogEvents");
  });
});

describe("a failed smoke test is diagnosed", () => {
  it("with the load balancer's view and the last lines of a running task of the new release", async () => {
    h = (await balancedWorld()).setConfig(
      configText({}, { healthCheck: { url: "https://app.example/health", budgetSeconds: 10 } }),
    );
    h.sim.onCall = (call) => {
      if (call.operation !== "ListTasks") return;
      for (const task of runningTasks(h!)) {
        h!.sim.logs.put(
          LOG_GROUP,
          `web/app/${task.id}`,
          ["GET /health 503 (database pool exhausted)"],
          h!.clock.now(),
        );
      }
    };
    const report = await h.deploy({}, { fetch: async () => new Response("down", { status: 503 }) });
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    const diagnosis = report.diagnosis!;
    expect(diagnosis.subject).toBe("smoke test");
    expect(h.sim.callsTo("ListTasks")[0]!.input.desiredStatus).toBe("RUNNING");
    expect(
      diagnosis.tasks.every((t) => t.lastStatus === "RUNNING" && t.taskDefinition === report.taskDefinition),
    ).toBe(true);
    expect(diagnosis.summary).toBe(
      "ECS and the load balancer report the new tasks as running; see the last log lines",
    );
    expect(diagnosis.logs[0]!.lines).toEqual(["GET /health 503 (database pool exhausted)"]);
    // ListTasks, DescribeTasks, DescribeTargetHealth, DescribeTaskDefinition, GetLogEvents: our
    // deployment and its target groups come from the service as the rollout last saw it.
    expect(diagnosis.calls).toBe(5);
  });

  it("a deploy that succeeds spends no call on a diagnosis", async () => {
    h = await balancedWorld();
    const report = await h.deploy();
    expect(report.exitCode).toBe(0);
    expect(report.diagnosis).toBeUndefined();
    expect(h.sim.operations()).not.toContain("ListTasks");
  });
});
