/**
 * deploy and rollback of an environment of several services against moto's server (a second,
 * independent implementation of ECS, EventBridge and EventBridge Scheduler): web and a worker with
 * its own command, an EventBridge rule and a Scheduler schedule whose ECS targets run scheduled tasks.
 * Every result is read back with the SDK from moto, not from Shipyard's report.
 *
 * What moto cannot show, left to the tests on the ECS emulator (test/multi-service/deploy.test.ts):
 * moto has no service-deployment APIs (ListServiceDeployments, StopServiceDeployment) and its tasks
 * never fail, so a rollout here is judged by its counts and always completes; a service that fails
 * its rollout, and the restore after it, cannot happen on moto. The restore of every service and
 * scheduled task is shown here after a failing smoke test instead. moto also reports
 * MOTO_ECS_SERVICE_RUNNING (1) running tasks whatever a service's desired count, and a service that
 * wants more stays IN_PROGRESS forever: both services here want one task.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { CreateScheduleCommand, GetScheduleCommand, type GetScheduleOutput } from "@aws-sdk/client-scheduler";
import { describe, expect, it } from "vitest";
import { cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import { runCommand } from "../../src/commands/run.js";
import type { Report } from "../../src/report/report.js";
import type { FetchLike } from "../../src/verify/sentry-api.js";
import { FakeClock } from "../support/clock.js";
import { motoForScheduledTasks } from "../support/moto-schedules.js";
import { captureOutput, digest, holdsTheWorldsImages, memoryFiles, NEW_IMAGE } from "../support/world.js";
import { liveBody, SERVICES_TEMPLATE, servicesConfig } from "./environment.js";

const credentials = { accessKeyId: "AKIAMOTOTEST", secretAccessKey: "moto-secret" };
const CLUSTER_ARN = "arn:aws:ecs:eu-west-1:123456789012:cluster/main";
const WORKER_COMMAND = ["node", "dist/worker.js"];
const REPORT_COMMAND = ["node", "dist/report.js"];

/** The rule's ECS target as its owner set it up: everything but the revision must survive a move. */
const reportTarget = (taskDefinitionArn: string): Target => ({
  Id: "report",
  Arn: CLUSTER_ARN,
  RoleArn: "arn:aws:iam::123456789012:role/run-task",
  Input: '{"report":"nightly"}',
  EcsParameters: {
    TaskDefinitionArn: taskDefinitionArn,
    TaskCount: 1,
    LaunchType: "FARGATE",
    NetworkConfiguration: {
      awsvpcConfiguration: {
        Subnets: ["subnet-0a1b2c3d"],
        SecurityGroups: ["sg-0a1b2c3d"],
        AssignPublicIp: "DISABLED",
      },
    },
  },
});

/** moto wants every container's memory (as ECS does without task-level memory): the services' template with it. */
const TEMPLATE = (() => {
  const template = JSON.parse(SERVICES_TEMPLATE);
  template.containerDefinitions[0].memory = 512;
  return template as { family: string; containerDefinitions: Array<Record<string, unknown>> };
})();

const aws = motoForScheduledTasks(credentials);

/** Registers `family`:1 as the template renders it for the old image, release v1. */
async function registerLive(family: string, command?: string[]): Promise<string> {
  const body = liveBody(family, command) as { containerDefinitions: Array<Record<string, unknown>> };
  body.containerDefinitions[0]!.memory = 512;
  const registered = await aws.ecs.send(
    new RegisterTaskDefinitionCommand(
      body as unknown as ConstructorParameters<typeof RegisterTaskDefinitionCommand>[0],
    ),
  );
  return registered.taskDefinition!.taskDefinitionArn!;
}

/** Cluster main with web and worker (its own command), one task each, each on revision 1. */
async function webAndWorker(): Promise<void> {
  await aws.ecs.send(new CreateClusterCommand({ clusterName: "main" }));
  for (const [name, command] of [
    ["web", undefined],
    ["worker", WORKER_COMMAND],
  ] as const) {
    const revision = await registerLive(name, command ? [...command] : undefined);
    await aws.ecs.send(
      new CreateServiceCommand({
        cluster: "main",
        serviceName: name,
        taskDefinition: revision,
        desiredCount: 1,
      }),
    );
  }
}

/** Rule nightly-report in moto, its one ECS target on web-cron:1; returns that revision. */
async function nightlyReportRule(): Promise<string> {
  const cron = await registerLive("web-cron", REPORT_COMMAND);
  await aws.events.send(
    new PutRuleCommand({ Name: "nightly-report", ScheduleExpression: "cron(0 3 * * ? *)" }),
  );
  await aws.events.send(new PutTargetsCommand({ Rule: "nightly-report", Targets: [reportTarget(cron)] }));
  return cron;
}

/** Schedule cleanup in moto (EventBridge Scheduler), its ECS target on web-cleanup:1; returns that revision. */
async function cleanupSchedule(): Promise<string> {
  const cleanup = await registerLive("web-cleanup");
  await aws.scheduler.send(
    new CreateScheduleCommand({
      Name: "cleanup",
      ScheduleExpression: "rate(1 hour)",
      Description: "purges expired sessions",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      Target: {
        Arn: CLUSTER_ARN,
        RoleArn: "arn:aws:iam::123456789012:role/run-task",
        Input: '{"olderThanDays":30}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        EcsParameters: {
          TaskDefinitionArn: cleanup,
          TaskCount: 1,
          LaunchType: "FARGATE",
          NetworkConfiguration: {
            awsvpcConfiguration: { Subnets: ["subnet-0a1b2c3d"], AssignPublicIp: "DISABLED" },
          },
        },
      },
    }),
  );
  return cleanup;
}

/** The schedule as moto holds it, without what changes on every write. */
async function cleanupAsHeld(): Promise<Omit<GetScheduleOutput, "$metadata" | "LastModificationDate">> {
  const { $metadata, LastModificationDate, ...schedule } = await aws.scheduler.send(
    new GetScheduleCommand({ Name: "cleanup" }),
  );
  void $metadata;
  void LastModificationDate;
  return schedule;
}

const TWO_SERVICES = [
  { name: "web", traffic: true },
  { name: "worker", command: WORKER_COMMAND },
];

interface Setup {
  /** List the rule nightly-report in scheduledTasks. */
  withRule?: boolean;
  /** List the schedule cleanup in scheduledTasks. */
  withSchedule?: boolean;
  /** A smoke test on this URL (healthCheck), answered by `fetch`. */
  healthUrl?: string;
  fetch?: FetchLike;
}

/** shipyard.json and the templates: web and worker, the rule and the smoke test as `setup` says. */
function appFiles(setup: Setup) {
  return memoryFiles({
    "shipyard.json": servicesConfig(TWO_SERVICES, {
      scheduledTasks: [
        ...(setup.withRule
          ? [{ rule: "nightly-report", command: REPORT_COMMAND, taskDefinition: "cron-def.json" }]
          : []),
        ...(setup.withSchedule ? [{ schedule: "cleanup", taskDefinition: "cleanup-def.json" }] : []),
      ],
      ...(setup.healthUrl
        ? { healthCheck: { url: setup.healthUrl, consecutiveSuccesses: 1, budgetSeconds: 10 } }
        : {}),
    }),
    "task-def.json": JSON.stringify(TEMPLATE),
    "cron-def.json": JSON.stringify({ ...TEMPLATE, family: "web-cron" }),
    "cleanup-def.json": JSON.stringify({ ...TEMPLATE, family: "web-cleanup" }),
  });
}

/** Runs a command as the faces do, against moto: the real SDK clients, a fake clock, the app in memory. */
async function run(name: string, raw: Record<string, unknown>, setup: Setup = {}): Promise<Report> {
  const command = await loadCommand(name);
  if (!command) throw new Error(`no command ${name}`);
  return runCommand(
    command,
    {
      clock: new FakeClock(),
      random: () => 0.5,
      signal: new AbortController().signal,
      env: {
        AWS_ENDPOINT_URL_ECS: aws.moto.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: aws.moto.endpoint,
        AWS_ENDPOINT_URL_SCHEDULER: aws.moto.endpoint,
      },
      output: captureOutput().output,
      files: appFiles(setup),
      invocation: cliInvocation(
        { script: "/app/node_modules/.bin/shipyard", cwd: "/app" },
        { env: "staging" },
      ),
      awsCredentials: async () => credentials,
      // The registry preflight is answered here, never on the network.
      fetch: holdsTheWorldsImages(setup.fetch),
    },
    { env: "staging", ...raw },
  );
}

const deploy = (release: string, image = NEW_IMAGE, setup: Setup = {}) =>
  run("deploy", { image, release, commit: "abc1234" }, setup);

/** The exit code, with the report's reason when it is not the one expected. */
function expectExit(report: Report, code: number): void {
  expect(report.exitCode, report.reason).toBe(code);
}

const revision = (family: string, n: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${family}:${n}`;

/** What moto says each service runs. */
async function running(): Promise<Record<string, string>> {
  const answer = await aws.ecs.send(
    new DescribeServicesCommand({ cluster: "main", services: ["web", "worker"] }),
  );
  return Object.fromEntries((answer.services ?? []).map((s) => [s.serviceName!, s.taskDefinition!]));
}

async function serviceTags(name: string): Promise<Record<string, string>> {
  const arn = `arn:aws:ecs:eu-west-1:123456789012:service/main/${name}`;
  const { tags } = await aws.ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  return Object.fromEntries((tags ?? []).map((t) => [t.key!, t.value!]));
}

async function container(taskDefinition: string) {
  const answer = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  return answer.taskDefinition!.containerDefinitions![0]!;
}

async function ruleTargets(): Promise<Target[]> {
  return (await aws.events.send(new ListTargetsByRuleCommand({ Rule: "nightly-report" }))).Targets ?? [];
}

describe("two services on moto", () => {
  it("deploy moves web and worker to new revisions of one image and release, records last good on both, and keeps the worker's command; rollback takes both back", async () => {
    await webAndWorker();
    const deployed = await deploy("v2");
    expectExit(deployed, 0);
    expect(deployed.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
      ["web", "deployed", revision("web", 2)],
      ["worker", "deployed", revision("worker", 2)],
    ]);
    expect(await running()).toEqual({ web: revision("web", 2), worker: revision("worker", 2) });
    for (const name of ["web", "worker"]) {
      expect(await serviceTags(name)).toMatchObject({
        "shipyard:last-good": revision(name, 2),
        "shipyard:previous": revision(name, 1),
      });
    }
    const worker = await container(revision("worker", 2));
    expect(worker.command).toEqual(WORKER_COMMAND);
    expect(worker.image).toBe(NEW_IMAGE);
    expect(worker.environment).toContainEqual({ name: "SENTRY_RELEASE", value: "v2" });
    // The web has no command of its own, and gets none from the worker.
    expect((await container(revision("web", 2))).command ?? []).toEqual([]);

    const back = await run("rollback", {});
    expectExit(back, 0);
    expect(back.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
      ["web", "deployed", revision("web", 1)],
      ["worker", "deployed", revision("worker", 1)],
    ]);
    expect(await running()).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
    for (const name of ["web", "worker"]) {
      expect((await serviceTags(name))["shipyard:last-good"]).toBe(revision(name, 1));
    }
  }, 60_000);

  it("rollback --service worker moves the worker alone to its own last good, and the web stays", async () => {
    await webAndWorker();
    expectExit(await deploy("v2"), 0);
    expectExit(await deploy("v3", digest("b")), 0);
    expect(await running()).toEqual({ web: revision("web", 3), worker: revision("worker", 3) });

    const back = await run("rollback", { service: "worker" });
    expectExit(back, 0);
    expect(back.services?.map((r) => [r.name, r.taskDefinition])).toEqual([
      ["worker", revision("worker", 2)],
    ]);
    expect(await running()).toEqual({ web: revision("web", 3), worker: revision("worker", 2) });
    expect((await serviceTags("worker"))["shipyard:last-good"]).toBe(revision("worker", 2));
    expect((await serviceTags("web"))["shipyard:last-good"]).toBe(revision("web", 3));
    expect((await container(revision("worker", 2))).environment).toContainEqual({
      name: "SENTRY_RELEASE",
      value: "v2",
    });
  }, 60_000);
});

describe("an EventBridge rule's ECS target on moto", () => {
  it("deploy moves the target to the new revision keeping its input, role and network; rollback moves it back", async () => {
    await webAndWorker();
    const cron = await nightlyReportRule();
    expect(cron).toBe(revision("web-cron", 1));

    const deployed = await deploy("v2", NEW_IMAGE, { withRule: true });
    expectExit(deployed, 0);
    expect(deployed.services?.find((r) => r.name === "rule nightly-report")).toMatchObject({
      kind: "rule",
      state: "deployed",
      taskDefinition: revision("web-cron", 2),
      previousTaskDefinition: cron,
    });
    expect(await ruleTargets()).toEqual([reportTarget(revision("web-cron", 2))]);
    const scheduled = await container(revision("web-cron", 2));
    expect(scheduled.command).toEqual(REPORT_COMMAND);
    expect(scheduled.image).toBe(NEW_IMAGE);
    expect(await running()).toEqual({ web: revision("web", 2), worker: revision("worker", 2) });

    const back = await run("rollback", {}, { withRule: true });
    expectExit(back, 0);
    expect(back.services?.find((r) => r.name === "rule nightly-report")).toMatchObject({
      state: "deployed",
      taskDefinition: cron,
      previousTaskDefinition: revision("web-cron", 2),
    });
    expect(await ruleTargets()).toEqual([reportTarget(cron)]);
    expect(await running()).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
  }, 60_000);

  it("rollback --service worker leaves the rule's target where the deploy put it", async () => {
    await webAndWorker();
    await nightlyReportRule();
    expectExit(await deploy("v2", NEW_IMAGE, { withRule: true }), 0);

    const back = await run("rollback", { service: "worker" }, { withRule: true });
    expectExit(back, 0);
    expect(await ruleTargets()).toEqual([reportTarget(revision("web-cron", 2))]);
    expect(await running()).toEqual({ web: revision("web", 2), worker: revision("worker", 1) });
  }, 60_000);
});

describe("an EventBridge Scheduler schedule's ECS target on moto", () => {
  it("deploy moves the target to the new revision keeping the rest of the schedule; rollback moves it back", async () => {
    await webAndWorker();
    const cleanup = await cleanupSchedule();
    const before = await cleanupAsHeld();
    // moto keeps what a retarget must send back; else the comparisons below would prove nothing.
    expect(before).toMatchObject({
      Description: "purges expired sessions",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      Target: {
        Input: '{"olderThanDays":30}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        EcsParameters: { TaskDefinitionArn: cleanup, LaunchType: "FARGATE" },
      },
    });
    const withTarget = (taskDefinitionArn: string) => ({
      ...before,
      Target: {
        ...before.Target,
        EcsParameters: { ...before.Target!.EcsParameters, TaskDefinitionArn: taskDefinitionArn },
      },
    });

    const deployed = await deploy("v2", NEW_IMAGE, { withSchedule: true });
    expectExit(deployed, 0);
    expect(deployed.services?.find((r) => r.name === "schedule cleanup")).toMatchObject({
      kind: "schedule",
      state: "deployed",
      taskDefinition: revision("web-cleanup", 2),
      previousTaskDefinition: cleanup,
    });
    expect(await cleanupAsHeld()).toEqual(withTarget(revision("web-cleanup", 2)));
    expect((await container(revision("web-cleanup", 2))).image).toBe(NEW_IMAGE);

    const back = await run("rollback", {}, { withSchedule: true });
    expectExit(back, 0);
    expect(await cleanupAsHeld()).toEqual(before);
    expect(await running()).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
  }, 60_000);
});

describe("a release that fails its smoke test on moto", () => {
  it("puts web, worker and the rule's target back on what they ran (exit 1), and records no last good", async () => {
    await webAndWorker();
    const cron = await nightlyReportRule();
    const healthUrl = "https://staging.example.com/health";
    const checked: string[] = [];
    const unhealthy: FetchLike = async (input) => {
      checked.push(input);
      return new Response("starting", { status: 503 });
    };
    const report = await deploy("v2", NEW_IMAGE, { withRule: true, healthUrl, fetch: unhealthy });
    expectExit(report, 1);
    expect(report.outcome).toBe("rolled_back");
    expect(report.reason).toMatch(/^smoke test failed: /);
    expect(checked).toContain(healthUrl);
    expect(report.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
      ["web", "restored", revision("web", 1)],
      ["worker", "restored", revision("worker", 1)],
      ["rule nightly-report", "restored", cron],
    ]);
    // What moto holds, read back: both services and the target where they were, the target whole.
    expect(await running()).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
    expect(await ruleTargets()).toEqual([reportTarget(cron)]);
    for (const name of ["web", "worker"]) {
      expect((await serviceTags(name))["shipyard:last-good"]).toBeUndefined();
    }
  }, 60_000);
});
