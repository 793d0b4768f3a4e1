/**
 * Scheduled tasks in `status` and `plan`: the ECS simulator runs the services, moto answers
 * EventBridge (a rule's ECS target) and EventBridge Scheduler (a schedule's), reached through
 * AWS_ENDPOINT_URL_EVENTBRIDGE / AWS_ENDPOINT_URL_SCHEDULER as a user would point Shipyard at them.
 */
import { PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { afterEach, describe, expect, it } from "vitest";
import { motoForScheduledTasks } from "../support/moto-schedules.js";
import {
  ACCESS_KEY_ID,
  configText,
  NEW_IMAGE,
  SECRET_ACCESS_KEY,
  startWorld,
  type World,
} from "../support/world.js";
import { addService, liveBody, SERVICES_TEMPLATE, servicesConfig } from "./environment.js";

const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
const CLUSTER_ARN = "arn:aws:ecs:eu-west-1:123456789012:cluster/main";
const ROLE = "arn:aws:iam::123456789012:role/run-task";
const REPORT_COMMAND = ["node", "dist/report.js"];
/** The revision the rule ran before web-cron:1, as a deploy records it on the revision. */
const REPLACED_CRON = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-cron:0";

const aws = motoForScheduledTasks(credentials);
let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Templates of the scheduled tasks' own families. */
const template = (family: string) => JSON.stringify({ ...JSON.parse(SERVICES_TEMPLATE), family });

/**
 * web and worker on the simulator; rule nightly-report (target web-cron:1) and schedule cleanup
 * (target web-cleanup:1) in moto; shipyard.json lists all four.
 */
async function environmentWithSchedules(): Promise<{ world: World; cron: string; cleanup: string }> {
  const world = await startWorld({ template: SERVICES_TEMPLATE });
  addService(world, "worker");
  const cron = world.sim.registerTaskDefinition(liveBody("web-cron", REPORT_COMMAND), [
    { key: "shipyard:previous", value: REPLACED_CRON },
  ]);
  const cleanup = world.sim.registerTaskDefinition(liveBody("web-cleanup"));
  world.files.files.set("cron-def.json", template("web-cron"));
  world.files.files.set("cleanup-def.json", template("web-cleanup"));
  await aws.events.send(
    new PutRuleCommand({ Name: "nightly-report", ScheduleExpression: "cron(0 3 * * ? *)" }),
  );
  await aws.events.send(
    new PutTargetsCommand({
      Rule: "nightly-report",
      Targets: [
        { Id: "report", Arn: CLUSTER_ARN, RoleArn: ROLE, EcsParameters: { TaskDefinitionArn: cron } },
      ],
    }),
  );
  await aws.scheduler.send(
    new CreateScheduleCommand({
      Name: "cleanup",
      ScheduleExpression: "rate(1 hour)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: CLUSTER_ARN, RoleArn: ROLE, EcsParameters: { TaskDefinitionArn: cleanup } },
    }),
  );
  world.env.AWS_ENDPOINT_URL_EVENTBRIDGE = aws.moto.endpoint;
  world.env.AWS_ENDPOINT_URL_SCHEDULER = aws.moto.endpoint;
  world.setConfig(
    servicesConfig([{ name: "web", traffic: true }, { name: "worker" }], {
      scheduledTasks: [
        { rule: "nightly-report", command: REPORT_COMMAND, taskDefinition: "cron-def.json" },
        { schedule: "cleanup", taskDefinition: "cleanup-def.json" },
      ],
    }),
  );
  return { world, cron, cleanup };
}

describe("status with scheduled tasks", () => {
  it("shows the revision each rule's and schedule's target runs", async () => {
    const { world, cron, cleanup } = await environmentWithSchedules();
    h = world;
    const report = await world.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.warnings ?? []).toEqual([]);
    expect(report.services?.map((row) => [row.name, row.kind, row.taskDefinition])).toEqual([
      ["web", "service", world.v1],
      ["worker", "service", expect.stringMatching(/task-definition\/worker:1$/)],
      ["rule nightly-report", "rule", cron],
      ["schedule cleanup", "schedule", cleanup],
    ]);
    expect(report.services?.[2]).toMatchObject({
      state: "running",
      traffic: false,
      detail: "rule nightly-report, target report, release v1",
      previousTaskDefinition: REPLACED_CRON,
    });
    const text = world.captured.lines.join("\n");
    expect(text).toContain(
      "rule nightly-report: revision web-cron:1, release v1 (rule nightly-report, target report)",
    );
    expect(text).toContain("schedule cleanup: revision web-cleanup:1, release v1 (schedule cleanup)");
    expect(report.services?.[3]?.previousTaskDefinition).toBeNull();
  });

  it("a rule that is gone is a warning and a row with the reason; the rest is shown", async () => {
    const { world } = await environmentWithSchedules();
    h = world;
    const config = JSON.parse(world.files.files.get("shipyard.json")!);
    config.environments.staging.scheduledTasks[0].rule = "weekly-report";
    world.setConfig(JSON.stringify(config));
    const report = await world.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    const row = report.services?.find((r) => r.name === "rule weekly-report");
    expect(row).toMatchObject({ kind: "rule", taskDefinition: null });
    expect(row?.reason).toMatch(
      /^EventBridge rule weekly-report was not found on event bus default .*: create it, or correct `rule` and `eventBus`/,
    );
    expect(report.warnings).toContain(row?.reason);
    expect(report.services?.find((r) => r.name === "schedule cleanup")?.taskDefinition).not.toBeNull();
  });
});

describe("one service with a scheduled task", () => {
  it("gets rows too: the service and the rule", async () => {
    const { world, cron } = await environmentWithSchedules();
    h = world;
    const config = JSON.parse(
      configText(
        {},
        {
          scheduledTasks: [
            { rule: "nightly-report", command: REPORT_COMMAND, taskDefinition: "cron-def.json" },
          ],
        },
      ),
    );
    world.setConfig(JSON.stringify(config));
    const report = await world.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.services?.map((row) => [row.name, row.taskDefinition])).toEqual([
      ["web", world.v1],
      ["rule nightly-report", cron],
    ]);
  });
});

describe("a target that runs a revision ECS cannot describe", () => {
  it("is a warning in status and a refusal in plan, naming the revision", async () => {
    const { world } = await environmentWithSchedules();
    h = world;
    const gone = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-cron:9";
    await aws.events.send(
      new PutTargetsCommand({
        Rule: "nightly-report",
        Targets: [
          { Id: "report", Arn: CLUSTER_ARN, RoleArn: ROLE, EcsParameters: { TaskDefinitionArn: gone } },
        ],
      }),
    );
    const status = await world.run("status", { env: "staging" });
    expect(status.exitCode).toBe(0);
    const row = status.services?.find((r) => r.name === "rule nightly-report");
    expect(row).toMatchObject({ taskDefinition: gone });
    expect(row?.reason).toBe(
      `rule nightly-report: its target runs task definition ${gone}, which ECS cannot describe (ClientException: Unable to describe task definition.): point the target at a revision that exists, or deploy to move it`,
    );
    expect(status.warnings).toContain(row?.reason);

    const plan = await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(plan.exitCode).toBe(2);
    expect(plan.reason).toContain(
      `environments.staging.scheduledTasks[0]: rule nightly-report: its target runs task definition ${gone}`,
    );
  });
});

describe("plan with scheduled tasks", () => {
  it("says whether each target would move, from its own template and command", async () => {
    const { world, cron } = await environmentWithSchedules();
    h = world;
    const moving = await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(moving.exitCode).toBe(0);
    const rule = moving.services?.find((r) => r.name === "rule nightly-report");
    expect(rule).toMatchObject({
      kind: "rule",
      taskDefinition: cron,
      detail: "target would move to a new revision (2 task definition changes)",
    });
    const scheduled = moving.details?.scheduledTasks as Array<{
      name: string;
      wouldMove: boolean;
      taskDefinitionChanges: string[];
    }>;
    expect(scheduled.map((s) => [s.name, s.wouldMove])).toEqual([
      ["rule nightly-report", true],
      ["schedule cleanup", true],
    ]);
    // Its command is its own and unchanged: only the image and the release move.
    expect(scheduled[0]!.taskDefinitionChanges.some((line) => line.includes("command"))).toBe(false);

    const staying = await world.run("plan", { env: "staging", release: "v1" });
    expect(staying.exitCode).toBe(0);
    expect(staying.services?.find((r) => r.name === "rule nightly-report")?.detail).toBe(
      "target would stay: no task definition change",
    );
    expect(world.captured.lines.join("\n")).toContain(
      "Scheduled rule nightly-report (rule nightly-report, target report, runs web-cron:1): its target would stay (no changes)",
    );
  });

  it("refuses a target it cannot read: exit 2 with the reason", async () => {
    const { world } = await environmentWithSchedules();
    h = world;
    const config = JSON.parse(world.files.files.get("shipyard.json")!);
    config.environments.staging.scheduledTasks[1].schedule = "vacuum";
    world.setConfig(JSON.stringify(config));
    const report = await world.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^staging cannot be planned: environments\.staging\.scheduledTasks\[1\]: EventBridge Scheduler schedule vacuum was not found in schedule group default/,
    );
    expect(report.nextSteps).toEqual([
      "fix environments.staging.scheduledTasks[1] in shipyard.json or the schedule itself, then run npx shipyard plan --env staging",
    ]);
    expect(world.sim.operations()).not.toContain("RegisterTaskDefinition");
  });
});
