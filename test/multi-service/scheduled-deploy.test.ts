/**
 * Scheduled tasks in `deploy` and `rollback`: the ECS simulator runs the service, moto answers
 * EventBridge (a rule's ECS target) and EventBridge Scheduler (a schedule's). A deploy moves each
 * target to the release's revision with the services, a failure moves it back, and a rollback takes
 * it to the revision of the release the services return to.
 */
import {
  DeleteRuleCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateScheduleCommand, GetScheduleCommand } from "@aws-sdk/client-scheduler";
import { afterEach, describe, expect, it } from "vitest";
import { motoForScheduledTasks } from "../support/moto-schedules.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startWorld, type World } from "../support/world.js";
import { liveBody, SERVICES_TEMPLATE, servicesConfig } from "./environment.js";

const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
const CLUSTER_ARN = "arn:aws:ecs:eu-west-1:123456789012:cluster/main";
const ROLE = "arn:aws:iam::123456789012:role/run-task";
/** The rule runs the web's own task definition with another command, given in the target's Input. */
const REPORT_INPUT = JSON.stringify({
  containerOverrides: [{ name: "app", command: ["node", "dist/report.js"] }],
});
const revision = (family: string, n: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${family}:${n}`;

const aws = motoForScheduledTasks(credentials);
let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/**
 * web on the simulator (web:1); rule nightly-report targets web:1 itself (command in its Input);
 * schedule cleanup targets web-cleanup:1, rendered from its own template.
 */
async function webWithSchedules(): Promise<World> {
  const world = await startWorld({ template: SERVICES_TEMPLATE });
  const cleanup = world.sim.registerTaskDefinition(liveBody("web-cleanup"));
  world.files.files.set(
    "cleanup-def.json",
    JSON.stringify({ ...JSON.parse(SERVICES_TEMPLATE), family: "web-cleanup" }),
  );
  await aws.events.send(
    new PutRuleCommand({ Name: "nightly-report", ScheduleExpression: "cron(0 3 * * ? *)" }),
  );
  await aws.events.send(
    new PutTargetsCommand({
      Rule: "nightly-report",
      Targets: [
        {
          Id: "report",
          Arn: CLUSTER_ARN,
          RoleArn: ROLE,
          Input: REPORT_INPUT,
          EcsParameters: { TaskDefinitionArn: world.v1, TaskCount: 1, LaunchType: "FARGATE" },
        },
      ],
    }),
  );
  await aws.scheduler.send(
    new CreateScheduleCommand({
      Name: "cleanup",
      ScheduleExpression: "rate(1 hour)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Description: "hourly cleanup",
      Target: { Arn: CLUSTER_ARN, RoleArn: ROLE, EcsParameters: { TaskDefinitionArn: cleanup } },
    }),
  );
  world.env.AWS_ENDPOINT_URL_EVENTBRIDGE = aws.moto.endpoint;
  world.env.AWS_ENDPOINT_URL_SCHEDULER = aws.moto.endpoint;
  world.setConfig(
    servicesConfig([{ name: "web", traffic: true }], {
      scheduledTasks: [
        { rule: "nightly-report" },
        { schedule: "cleanup", taskDefinition: "cleanup-def.json" },
      ],
    }),
  );
  return world;
}

async function ruleTarget() {
  const answer = await aws.events.send(new ListTargetsByRuleCommand({ Rule: "nightly-report" }));
  return answer.Targets![0]!;
}

async function scheduleTarget() {
  return (await aws.scheduler.send(new GetScheduleCommand({ Name: "cleanup" }))).Target!;
}

describe("deploy with scheduled tasks", () => {
  it("moves every target to the release's revision with the service, keeping the rest of each target", async () => {
    h = await webWithSchedules();
    const report = await h.deploy();
    expect(report.exitCode).toBe(0);
    // The rule runs the web's own task definition: it moves to the web's new revision, not a copy.
    expect((await ruleTarget()).EcsParameters?.TaskDefinitionArn).toBe(revision("web", 2));
    expect((await ruleTarget()).Input).toBe(REPORT_INPUT);
    expect((await ruleTarget()).RoleArn).toBe(ROLE);
    expect((await scheduleTarget()).EcsParameters?.TaskDefinitionArn).toBe(revision("web-cleanup", 2));
    expect(h.sim.callsTo("RegisterTaskDefinition")).toHaveLength(2);
    expect(report.services?.map((r) => [r.name, r.kind, r.state, r.taskDefinition])).toEqual([
      ["web", "service", "deployed", revision("web", 2)],
      ["rule nightly-report", "rule", "deployed", revision("web", 2)],
      ["schedule cleanup", "schedule", "deployed", revision("web-cleanup", 2)],
    ]);
    // The schedule's own revision carries the release like the service's.
    const body = h.sim.taskDefinitionBody(revision("web-cleanup", 2)) as {
      containerDefinitions: Array<{ environment: unknown[] }>;
    };
    expect(body.containerDefinitions[0]!.environment).toContainEqual({ name: "SENTRY_RELEASE", value: "v2" });
  });

  it("a failed rollout moves every target back with the service (exit 1)", async () => {
    h = await webWithSchedules();
    h.sim.serviceBehaviours.set("web", "failing");
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect((await ruleTarget()).EcsParameters?.TaskDefinitionArn).toBe(h.v1);
    expect((await scheduleTarget()).EcsParameters?.TaskDefinitionArn).toBe(revision("web-cleanup", 1));
    expect(report.services?.find((r) => r.kind === "rule")).toMatchObject({
      state: "restored",
      taskDefinition: h.v1,
    });
    expect(report.services?.find((r) => r.kind === "schedule")).toMatchObject({ state: "restored" });
  });

  it("a target that cannot be moved fails the release: the service that rolled out is put back (exit 1)", async () => {
    h = await webWithSchedules();
    // The rule is deleted after the preflight read it, before the deploy moves it.
    let deleted = false;
    h.sim.beforeAnswer = async (call) => {
      if (call.operation !== "RegisterTaskDefinition" || deleted) return;
      deleted = true;
      await aws.events.send(new RemoveTargetsCommand({ Rule: "nightly-report", Ids: ["report"] }));
      await aws.events.send(new DeleteRuleCommand({ Name: "nightly-report" }));
    };
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(/^moving rule nightly-report to web:2 failed: /);
    expect(h.sim.describe("main", "web").taskDefinition).toBe(h.v1);
    expect(report.services?.find((r) => r.name === "web")).toMatchObject({ state: "restored" });
  });

  it("refuses before registering anything when a scheduled task's target cannot be read (exit 2)", async () => {
    h = await webWithSchedules();
    await aws.events.send(new RemoveTargetsCommand({ Rule: "nightly-report", Ids: ["report"] }));
    const report = await h.deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/rule nightly-report has no ECS task target/i);
    expect(h.sim.operations()).not.toContain("RegisterTaskDefinition");
  });
});

describe("rollback with scheduled tasks", () => {
  it("takes each target to the revision of the release the service returns to", async () => {
    h = await webWithSchedules();
    expect((await h.deploy()).exitCode).toBe(0);
    const report = await h.run("rollback", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(h.sim.describe("main", "web").taskDefinition).toBe(h.v1);
    expect((await ruleTarget()).EcsParameters?.TaskDefinitionArn).toBe(h.v1);
    expect((await scheduleTarget()).EcsParameters?.TaskDefinitionArn).toBe(revision("web-cleanup", 1));
    expect(report.services?.map((r) => [r.name, r.state])).toEqual([
      ["web", "deployed"],
      ["rule nightly-report", "deployed"],
      ["schedule cleanup", "deployed"],
    ]);
  });

  it("--service leaves the scheduled tasks where they are", async () => {
    h = await webWithSchedules();
    expect((await h.deploy()).exitCode).toBe(0);
    const report = await h.run("rollback", { env: "staging", service: "web" });
    expect(report.exitCode).toBe(0);
    expect((await ruleTarget()).EcsParameters?.TaskDefinitionArn).toBe(revision("web", 2));
  });
});
