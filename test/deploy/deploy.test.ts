import { afterEach, describe, expect, it } from "vitest";
import { runDeploy } from "../../src/deploy/commands.js";
import { type Harness, NEW_IMAGE, startHarness } from "./harness.js";

let h: Harness;
afterEach(async () => {
  await h?.sim.stop();
});

describe("deploy", () => {
  it("rolls out a healthy release, waits on our deployment and records last-good", async () => {
    h = await startHarness();
    const report = await runDeploy(h.input(), h.deps());
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    expect(report.taskDefinition).toMatch(/task-definition\/web:2$/);
    expect(report.previousTaskDefinition).toBe(h.v1);
    const body = h.sim.taskDefinitionBody(report.taskDefinition!);
    const container = (body.containerDefinitions as Array<Record<string, unknown>>)[0]!;
    expect(container.image).toBe(NEW_IMAGE);
    expect(container.environment).toContainEqual({ name: "SENTRY_RELEASE", value: "v2" });
    expect(h.sim.taskDefinitionTags(report.taskDefinition!)).toMatchObject({
      "shipyard:release": "v2",
      "shipyard:commit": "abc1234",
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
  });
});
