/**
 * The scheduled tasks' gateway (src/aws/schedules.ts) against moto's EventBridge and EventBridge
 * Scheduler: a rule's or a schedule's ECS target is found, read and moved to another task definition
 * revision, and nothing else about the rule or the schedule changes. What moto cannot produce (a
 * PutTargets answer with failed entries, a paged ListTargetsByRule, the exact UpdateSchedule body)
 * is answered by a small local server speaking the real wire protocol.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateEventBusCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  type CreateScheduleInput,
  GetScheduleCommand,
  SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { describe, expect, it } from "vitest";
import {
  openSchedules,
  ScheduledTargetError,
  type ScheduledTaskRef,
  type Schedules,
  schedulesEndpoints,
} from "../../src/aws/schedules.js";
import { motoForScheduledTasks } from "../support/moto-schedules.js";

const region = "eu-west-1";
const credentials = { accessKeyId: "AKIAMOTOTEST", secretAccessKey: "moto-secret" };
const CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/main";
const REVISION = (n: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/web:${n}`;
const EVENTS_ROLE = "arn:aws:iam::123456789012:role/events-run-task";

const aws = motoForScheduledTasks(credentials, { reset: false });

function gateway(): Schedules {
  return openSchedules({
    region,
    credentials,
    eventsEndpoint: aws.moto.endpoint,
    schedulerEndpoint: aws.moto.endpoint,
  });
}

const rule = (name: string, more: Partial<ScheduledTaskRef> = {}): ScheduledTaskRef => ({
  rule: name,
  eventBus: "default",
  group: "default",
  ...more,
});
const schedule = (name: string, more: Partial<ScheduledTaskRef> = {}): ScheduledTaskRef => ({
  schedule: name,
  eventBus: "default",
  group: "default",
  ...more,
});

/** An ECS RunTask target as a real rule holds one: overrides in Input, a role, Fargate networking. */
function ecsTarget(id: string, revision: number): Target {
  return {
    Id: id,
    Arn: CLUSTER,
    RoleArn: EVENTS_ROLE,
    Input: JSON.stringify({ containerOverrides: [{ name: "app", command: ["node", "dist/report.js"] }] }),
    RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
    DeadLetterConfig: { Arn: "arn:aws:sqs:eu-west-1:123456789012:scheduled-dlq" },
    EcsParameters: {
      TaskDefinitionArn: REVISION(revision),
      TaskCount: 2,
      LaunchType: "FARGATE",
      PlatformVersion: "1.4.0",
      NetworkConfiguration: {
        awsvpcConfiguration: {
          Subnets: ["subnet-0a1", "subnet-0b2"],
          SecurityGroups: ["sg-0c3"],
          AssignPublicIp: "DISABLED",
        },
      },
      EnableECSManagedTags: true,
      PropagateTags: "TASK_DEFINITION",
      Tags: [{ Key: "team", Value: "billing" }],
    },
  };
}

async function createRule(name: string, targets: Target[], eventBus = "default"): Promise<void> {
  await aws.events.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: eventBus,
      // Schedule expressions are for the default bus only; a custom bus's rule matches events.
      ...(eventBus === "default"
        ? { ScheduleExpression: "cron(0 3 * * ? *)" }
        : { EventPattern: JSON.stringify({ source: ["acme.billing"] }) }),
    }),
  );
  if (targets.length > 0)
    await aws.events.send(new PutTargetsCommand({ Rule: name, EventBusName: eventBus, Targets: targets }));
}

async function targetsOf(name: string, eventBus = "default"): Promise<Target[]> {
  const answer = await aws.events.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: eventBus }));
  return answer.Targets ?? [];
}

const moved = (target: Target, revision: number): Target => ({
  ...target,
  EcsParameters: { ...target.EcsParameters, TaskDefinitionArn: REVISION(revision) },
});

describe("an EventBridge rule's ECS target (moto)", () => {
  it("is read, and moved with everything else on the target unchanged", async () => {
    const target = ecsTarget("ecs-task", 7);
    await createRule("nightly-report", [target]);
    const schedules = gateway();

    expect(await schedules.readTarget(rule("nightly-report"))).toEqual({
      found: true,
      taskDefinitionArn: REVISION(7),
      clusterArn: CLUSTER,
      description: "rule nightly-report, target ecs-task",
    });
    await schedules.retarget(rule("nightly-report"), REVISION(8));

    expect(await targetsOf("nightly-report")).toEqual([moved(target, 8)]);
    expect(schedules.sent).toEqual(["ListTargetsByRule", "ListTargetsByRule", "PutTargets"]);
    // And back, as a restore does.
    await schedules.retarget(rule("nightly-report"), REVISION(7));
    expect(await targetsOf("nightly-report")).toEqual([target]);
  });

  it("on a custom event bus is looked up on that bus, not the default one", async () => {
    await aws.events.send(new CreateEventBusCommand({ Name: "billing" }));
    const target = ecsTarget("invoice-run", 3);
    await createRule("invoices", [target], "billing");
    const schedules = gateway();

    expect(await schedules.readTarget(rule("invoices", { eventBus: "billing" }))).toMatchObject({
      found: true,
      taskDefinitionArn: REVISION(3),
      description: "rule invoices (bus billing), target invoice-run",
    });
    await schedules.retarget(rule("invoices", { eventBus: "billing" }), REVISION(4));
    expect(await targetsOf("invoices", "billing")).toEqual([moved(target, 4)]);

    const onDefault = await schedules.readTarget(rule("invoices"));
    expect(onDefault.found).toBe(false);
  });

  it("with two ECS targets needs targetId, then moves only that one", async () => {
    const first = ecsTarget("first", 1);
    const second = { ...ecsTarget("second", 1), Input: JSON.stringify({ containerOverrides: [] }) };
    await createRule("twice", [first, second]);
    const schedules = gateway();

    const ambiguous = await schedules.readTarget(rule("twice"));
    expect(ambiguous).toEqual({
      found: false,
      reason:
        "Rule twice has 2 ECS task targets (first, second): set `targetId` in shipyard.json to the one Shipyard should move.",
    });
    await expect(schedules.retarget(rule("twice"), REVISION(2))).rejects.toThrow(ScheduledTargetError);
    expect(schedules.sent).not.toContain("PutTargets");

    expect(await schedules.readTarget(rule("twice", { targetId: "second" }))).toMatchObject({
      found: true,
      description: "rule twice, target second",
    });
    await schedules.retarget(rule("twice", { targetId: "second" }), REVISION(2));
    const after = await targetsOf("twice");
    expect(after.find((t) => t.Id === "first")).toEqual(first);
    expect(after.find((t) => t.Id === "second")).toEqual(moved(second, 2));

    const unknown = await schedules.readTarget(rule("twice", { targetId: "third" }));
    expect(unknown).toEqual({
      found: false,
      reason:
        "Rule twice has no target with id third (its targets: first, second): correct `targetId` in shipyard.json.",
    });
  });

  it("whose target is a Lambda function is not an ECS task target", async () => {
    const lambda = { Id: "notify", Arn: "arn:aws:lambda:eu-west-1:123456789012:function:notify" };
    await createRule("lambda-only", [lambda]);
    const schedules = gateway();

    const lookup = await schedules.readTarget(rule("lambda-only"));
    expect(lookup).toEqual({
      found: false,
      reason:
        "Rule lambda-only has no ECS task target (its targets: notify): add one that runs the app's task definition, or remove the rule from `scheduledTasks`.",
    });
    const named = await schedules.readTarget(rule("lambda-only", { targetId: "notify" }));
    expect(named).toEqual({
      found: false,
      reason: `Target notify of rule lambda-only is not an ECS task (it targets ${lambda.Arn}): point \`targetId\` at the rule's ECS target.`,
    });
    await expect(schedules.retarget(rule("lambda-only"), REVISION(2))).rejects.toThrow(
      "has no ECS task target",
    );
    expect(await targetsOf("lambda-only")).toEqual([lambda]);
  });

  it("of a rule that does not exist: found false, naming the rule, the bus and the fix", async () => {
    const schedules = gateway();
    const lookup = await schedules.readTarget(rule("no-such-rule"));
    expect(lookup.found).toBe(false);
    const reason = (lookup as { reason: string }).reason;
    expect(reason).toMatch(
      /^EventBridge rule no-such-rule was not found on event bus default \(.+\): create it, or correct `rule` and `eventBus`/,
    );
    await expect(schedules.retarget(rule("no-such-rule"), REVISION(2))).rejects.toThrow(reason);
    expect(schedules.sent).toEqual(["ListTargetsByRule", "ListTargetsByRule"]);
  });
});

/** A schedule the way a customer sets one up: every optional field given. */
function scheduleInput(name: string, group: string, revision: number): CreateScheduleInput {
  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: "cron(30 2 * * ? *)",
    ScheduleExpressionTimezone: "Europe/Paris",
    Description: "Purges expired sessions",
    State: "DISABLED",
    StartDate: new Date("2031-01-01T00:00:00Z"),
    EndDate: new Date("2032-06-30T00:00:00Z"),
    FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
    Target: {
      Arn: CLUSTER,
      RoleArn: "arn:aws:iam::123456789012:role/scheduler-run-task",
      Input: JSON.stringify({ containerOverrides: [{ name: "app", command: ["node", "dist/purge.js"] }] }),
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
      EcsParameters: {
        TaskDefinitionArn: REVISION(revision),
        TaskCount: 1,
        LaunchType: "FARGATE",
        NetworkConfiguration: {
          awsvpcConfiguration: {
            Subnets: ["subnet-0a1"],
            SecurityGroups: ["sg-0c3"],
            AssignPublicIp: "DISABLED",
          },
        },
      },
    },
  };
}

async function readSchedule(name: string, group: string) {
  const { $metadata, LastModificationDate, CreationDate, ...rest } = await aws.scheduler.send(
    new GetScheduleCommand({ Name: name, GroupName: group }),
  );
  return rest;
}

describe("an EventBridge Scheduler schedule's ECS target (moto)", () => {
  it("is read, and moved with the time window, timezone, description, state and dates kept", async () => {
    await aws.scheduler.send(new CreateScheduleCommand(scheduleInput("purge-sessions", "default", 5)));
    const before = await readSchedule("purge-sessions", "default");
    const schedules = gateway();

    expect(await schedules.readTarget(schedule("purge-sessions"))).toEqual({
      found: true,
      taskDefinitionArn: REVISION(5),
      clusterArn: CLUSTER,
      description: "schedule purge-sessions",
    });
    await schedules.retarget(schedule("purge-sessions"), REVISION(6));

    const after = await readSchedule("purge-sessions", "default");
    expect(after).toEqual({
      ...before,
      Target: {
        ...before.Target,
        EcsParameters: { ...before.Target?.EcsParameters, TaskDefinitionArn: REVISION(6) },
      },
    });
    // The fields the round trip must keep, spelled out (toEqual above would also pass if both lacked them).
    expect(after).toMatchObject({
      ScheduleExpressionTimezone: "Europe/Paris",
      Description: "Purges expired sessions",
      State: "DISABLED",
      StartDate: new Date("2031-01-01T00:00:00Z"),
      EndDate: new Date("2032-06-30T00:00:00Z"),
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      Target: { RoleArn: "arn:aws:iam::123456789012:role/scheduler-run-task" },
    });
    expect(schedules.sent).toEqual(["GetSchedule", "GetSchedule", "UpdateSchedule"]);
  });

  it("in a schedule group other than default is looked up in that group", async () => {
    await aws.scheduler.send(new CreateScheduleGroupCommand({ Name: "maintenance" }));
    await aws.scheduler.send(new CreateScheduleCommand(scheduleInput("vacuum", "maintenance", 2)));
    const schedules = gateway();

    expect(await schedules.readTarget(schedule("vacuum", { group: "maintenance" }))).toMatchObject({
      found: true,
      taskDefinitionArn: REVISION(2),
      description: "schedule vacuum (group maintenance)",
    });
    await schedules.retarget(schedule("vacuum", { group: "maintenance" }), REVISION(3));
    const after = await readSchedule("vacuum", "maintenance");
    expect(after.Target?.EcsParameters?.TaskDefinitionArn).toBe(REVISION(3));
    expect(after.GroupName).toBe("maintenance");

    const inDefault = await schedules.readTarget(schedule("vacuum"));
    expect(inDefault.found).toBe(false);
  });

  it("of a schedule that does not exist: found false, naming the schedule, the group and the fix", async () => {
    const schedules = gateway();
    const lookup = await schedules.readTarget(schedule("no-such-schedule", { group: "default" }));
    expect(lookup.found).toBe(false);
    const reason = (lookup as { reason: string }).reason;
    expect(reason).toMatch(
      /^EventBridge Scheduler schedule no-such-schedule was not found in schedule group default \(.+\): create it, or correct `schedule` and `group`/,
    );
    await expect(schedules.retarget(schedule("no-such-schedule"), REVISION(2))).rejects.toThrow(reason);
  });

  it("whose target is not ECS RunTask (a queue) is not an ECS task target", async () => {
    const queue = "arn:aws:sqs:eu-west-1:123456789012:jobs";
    await aws.scheduler.send(
      new CreateScheduleCommand({
        Name: "to-queue",
        ScheduleExpression: "rate(1 hour)",
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: { Arn: queue, RoleArn: "arn:aws:iam::123456789012:role/scheduler-sqs", Input: "{}" },
      }),
    );
    const schedules = gateway();
    expect(await schedules.readTarget(schedule("to-queue"))).toEqual({
      found: false,
      reason: `Schedule to-queue does not run an ECS task (it targets ${queue}): give it an ECS RunTask target (EcsParameters) with the app's task definition, or remove it from \`scheduledTasks\`.`,
    });
    await expect(schedules.retarget(schedule("to-queue"), REVISION(2))).rejects.toThrow(
      "does not run an ECS task",
    );
    expect(schedules.sent).not.toContain("UpdateSchedule");
  });
});

interface Recorded {
  method: string;
  url: string;
  target: string | undefined;
  body: Record<string, unknown>;
}

/** A local endpoint answering with the bodies the real APIs send; it records every request. */
async function fakeAws(answer: (request: Recorded) => { status?: number; body: unknown }): Promise<{
  endpoint: string;
  requests: Recorded[];
  close(): void;
}> {
  const requests: Recorded[] = [];
  const read = async (request: IncomingMessage) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const server: Server = createServer(async (request, response) => {
    const recorded: Recorded = {
      method: request.method ?? "",
      url: request.url ?? "",
      target: request.headers["x-amz-target"] as string | undefined,
      body: await read(request),
    };
    requests.push(recorded);
    const { status = 200, body } = answer(recorded);
    const type = recorded.target ? "application/x-amz-json-1.1" : "application/json";
    response.writeHead(status, { "Content-Type": type }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => server.close(),
  };
}

describe("what moto cannot produce (the real wire format, from a local endpoint)", () => {
  it("a PutTargets answer with a failed entry (HTTP 200) is an error naming the rule and AWS's reason", async () => {
    // Body shapes: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListTargetsByRule.html
    // and https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html (Response Syntax);
    // the error code is the one PutTargetsResultEntry documents.
    const aws = await fakeAws((request) =>
      request.target === "AWSEvents.ListTargetsByRule"
        ? { body: { Targets: [ecsTarget("ecs-task", 7)] } }
        : {
            body: {
              FailedEntryCount: 1,
              FailedEntries: [
                {
                  TargetId: "ecs-task",
                  ErrorCode: "ConcurrentModificationException",
                  ErrorMessage: "Rule nightly-report is being modified by another request.",
                },
              ],
            },
          },
    );
    try {
      const schedules = openSchedules({ region, credentials, eventsEndpoint: aws.endpoint });
      await expect(schedules.retarget(rule("nightly-report"), REVISION(8))).rejects.toThrow(
        new ScheduledTargetError(
          `EventBridge refused to move target ecs-task of rule nightly-report to ${REVISION(8)} (ConcurrentModificationException: Rule nightly-report is being modified by another request.).`,
        ),
      );
      expect(aws.requests.map((r) => r.target)).toEqual([
        "AWSEvents.ListTargetsByRule",
        "AWSEvents.PutTargets",
      ]);
      expect(aws.requests[1]!.body).toEqual({
        Rule: "nightly-report",
        EventBusName: "default",
        Targets: [moved(ecsTarget("ecs-task", 7), 8)],
      });
    } finally {
      aws.close();
    }
  });

  it("ListTargetsByRule is followed page by page (NextToken) to the ECS target", async () => {
    const lambda = { Id: "notify", Arn: "arn:aws:lambda:eu-west-1:123456789012:function:notify" };
    const aws = await fakeAws((request) =>
      request.body.NextToken === "page-2"
        ? { body: { Targets: [ecsTarget("ecs-task", 4)] } }
        : { body: { Targets: [lambda], NextToken: "page-2" } },
    );
    try {
      const schedules = openSchedules({ region, credentials, eventsEndpoint: aws.endpoint });
      expect(await schedules.readTarget(rule("paged"))).toMatchObject({
        found: true,
        taskDefinitionArn: REVISION(4),
      });
      expect(aws.requests.map((r) => r.body)).toEqual([
        { Rule: "paged", EventBusName: "default" },
        { Rule: "paged", EventBusName: "default", NextToken: "page-2" },
      ]);
    } finally {
      aws.close();
    }
  });

  it("UpdateSchedule gets back every field GetSchedule returned that it accepts, ActionAfterCompletion included", async () => {
    // Body shape: https://docs.aws.amazon.com/scheduler/latest/APIReference/API_GetSchedule.html (Response
    // Syntax); timestamps are epoch seconds in this REST-JSON protocol.
    const target = {
      Arn: CLUSTER,
      RoleArn: "arn:aws:iam::123456789012:role/scheduler-run-task",
      Input: '{"containerOverrides":[{"name":"app","command":["node","dist/once.js"]}]}',
      DeadLetterConfig: { Arn: "arn:aws:sqs:eu-west-1:123456789012:scheduled-dlq" },
      RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 3 },
      EcsParameters: {
        TaskDefinitionArn: REVISION(9),
        TaskCount: 1,
        LaunchType: "FARGATE",
        EnableExecuteCommand: false,
        NetworkConfiguration: {
          awsvpcConfiguration: {
            Subnets: ["subnet-0a1"],
            SecurityGroups: ["sg-0c3"],
            AssignPublicIp: "DISABLED",
          },
        },
      },
    };
    const stored = {
      ActionAfterCompletion: "DELETE",
      Arn: "arn:aws:scheduler:eu-west-1:123456789012:schedule/once/backfill",
      CreationDate: 1_780_000_000,
      Description: "One backfill",
      EndDate: 1_950_000_000,
      FlexibleTimeWindow: { MaximumWindowInMinutes: 30, Mode: "FLEXIBLE" },
      GroupName: "once",
      KmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      LastModificationDate: 1_780_000_500,
      Name: "backfill",
      ScheduleExpression: "at(2031-03-01T04:00:00)",
      ScheduleExpressionTimezone: "America/New_York",
      StartDate: 1_920_000_000,
      State: "ENABLED",
      Target: target,
    };
    const aws = await fakeAws((request) => ({
      body: request.method === "GET" ? stored : { ScheduleArn: stored.Arn },
    }));
    try {
      const schedules = openSchedules({ region, credentials, schedulerEndpoint: aws.endpoint });
      await schedules.retarget(schedule("backfill", { group: "once" }), REVISION(10));
      expect(aws.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        "GET /schedules/backfill?groupName=once",
        "PUT /schedules/backfill",
      ]);
      // The name travels in the path (asserted above), the rest in the body.
      const { Arn, CreationDate, LastModificationDate, Name, ...accepted } = stored;
      const { ClientToken, ...sent } = aws.requests[1]!.body;
      expect(typeof ClientToken).toBe("string");
      expect(sent).toEqual({
        ...accepted,
        Target: { ...target, EcsParameters: { ...target.EcsParameters, TaskDefinitionArn: REVISION(10) } },
      });
    } finally {
      aws.close();
    }
  });
});

describe("a schedule whose start date has passed", () => {
  it("is moved without its StartDate, which Scheduler refuses more than 5 minutes in the past", async () => {
    // The refusal: "The StartDate you specify cannot be earlier than 5 minutes ago." (ValidationException).
    const stored = {
      Name: "nightly",
      GroupName: "default",
      ScheduleExpression: "cron(0 3 * * ? *)",
      StartDate: 1_700_000_000,
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
      Target: {
        Arn: CLUSTER,
        RoleArn: "arn:aws:iam::123456789012:role/scheduler-run-task",
        EcsParameters: { TaskDefinitionArn: REVISION(3), TaskCount: 1 },
      },
    };
    const aws = await fakeAws((request) => ({ body: request.method === "GET" ? stored : {} }));
    try {
      const at = (seconds: number) =>
        openSchedules({ region, credentials, schedulerEndpoint: aws.endpoint, now: () => seconds * 1000 });
      await at(1_800_000_000).retarget(schedule("nightly"), REVISION(4));
      expect(aws.requests[1]!.body).not.toHaveProperty("StartDate");
      // Still ahead: it goes back as it was.
      await at(1_600_000_000).retarget(schedule("nightly"), REVISION(4));
      expect(aws.requests[3]!.body.StartDate).toBe(1_700_000_000);
    } finally {
      aws.close();
    }
  });
});

describe("opening the gateway", () => {
  it("takes each service's own endpoint override before AWS_ENDPOINT_URL", () => {
    expect(schedulesEndpoints({})).toEqual({});
    expect(schedulesEndpoints({ AWS_ENDPOINT_URL: "http://shared" })).toEqual({
      eventsEndpoint: "http://shared",
      schedulerEndpoint: "http://shared",
    });
    expect(
      schedulesEndpoints({
        AWS_ENDPOINT_URL: "http://shared",
        AWS_ENDPOINT_URL_EVENTBRIDGE: "http://events",
        AWS_ENDPOINT_URL_SCHEDULER: "http://scheduler",
      }),
    ).toEqual({ eventsEndpoint: "http://events", schedulerEndpoint: "http://scheduler" });
  });

  it("builds a service's client on its first call only, with that service's endpoint", async () => {
    const built: string[] = [];
    const schedules = openSchedules({
      region,
      credentials,
      eventsEndpoint: aws.moto.endpoint,
      schedulerEndpoint: "http://scheduler.invalid",
      eventsFactory: async (options) => {
        built.push(`events ${options.endpoint}`);
        return new EventBridgeClient({ region: options.region, credentials, endpoint: options.endpoint });
      },
      schedulerFactory: async (options) => {
        built.push(`scheduler ${options.endpoint}`);
        return new SchedulerClient({ region: options.region, credentials, endpoint: options.endpoint });
      },
    });
    expect(built).toEqual([]);
    await createRule("lazy", [ecsTarget("ecs-task", 1)]);
    await schedules.readTarget(rule("lazy"));
    await schedules.retarget(rule("lazy"), REVISION(2));
    expect(built).toEqual([`events ${aws.moto.endpoint}`]);
  });
});
