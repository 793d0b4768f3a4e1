/**
 * The migration task in the ECS simulator, through the real AWS SDK over HTTP (the Ecs gateway with
 * the production attempt counts), on a FakeClock: exit 0 passes; exit 1, never started, RunTask
 * failures and a hung task fail (the hung one is stopped); the service is never touched by any of it.
 * The `migrate` command's reports of those outcomes run through the command layer in the world.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MUTATION_ATTEMPTS, POLL_ATTEMPTS } from "../../src/aws/client.js";
import { Ecs } from "../../src/aws/ecs.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { ExitCode, InputError } from "../../src/errors.js";
import {
  logLocation,
  type MigrationTaskOptions,
  runMigrationTask,
  runTaskInput,
} from "../../src/migrations/task.js";
import { FakeClock } from "../support/clock.js";
import { fastRetryEcsFactory } from "../support/ecs-sim/client.js";
import { type Captured, captureOutput, configText, startWorld, type World } from "../support/world.js";

const logConfiguration = {
  logDriver: "awslogs",
  options: { "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web" },
};

let clock: FakeClock;
let sim: EcsSimulator;
let clients: ECSClient[];
let ecs: Ecs;
let oldRevision: string;
let newRevision: string;
let progress: Captured;

beforeEach(async () => {
  clock = new FakeClock();
  sim = await EcsSimulator.start(clock, "eu-west-1");
  const container = (image: string) => ({ name: "app", image, essential: true, logConfiguration });
  oldRevision = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [container("app@sha256:old")],
  });
  newRevision = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [container("app@sha256:new")],
  });
  sim.createService({ cluster: "main", service: "web", taskDefinition: oldRevision, desiredCount: 2 });
  const client = (maxAttempts: number) =>
    fastRetryEcsFactory({ region: "eu-west-1", endpoint: sim.endpoint, maxAttempts });
  clients = [await client(MUTATION_ATTEMPTS), await client(POLL_ATTEMPTS)];
  ecs = new Ecs({ mutations: clients[0]!, polls: clients[1]! });
  progress = captureOutput();
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await sim.stop();
});

function options(overrides: Partial<MigrationTaskOptions> = {}): MigrationTaskOptions {
  return {
    ecs,
    region: "eu-west-1",
    cluster: "main",
    service: "web",
    container: "app",
    command: ["node", "dist/migrate.js"],
    taskDefinition: newRevision,
    timeoutSeconds: 120,
    pollSeconds: 5,
    clock,
    progress: progress.output,
    signal: new AbortController().signal,
    ...overrides,
  };
}

function expectServiceUntouched() {
  expect(sim.callsTo("UpdateService")).toHaveLength(0);
  expect(sim.describe().taskDefinition).toBe(oldRevision);
}

describe("runMigrationTask", () => {
  it("passes when the app container exits 0, running the NEW revision with the command override", async () => {
    sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 12 });
    const result = await runMigrationTask(options());
    expect(result).toMatchObject({
      status: "succeeded",
      ok: true,
      exitCode: 0,
      taskDefinition: newRevision,
      serviceTaskDefinition: oldRevision,
      image: "app@sha256:new",
      lastStatus: "STOPPED",
      stopCode: "EssentialContainerExited",
    });
    expect(result.seconds).toBe(15);
    const [run] = sim.callsTo("RunTask");
    expect(run?.input).toMatchObject({
      cluster: "main",
      taskDefinition: newRevision,
      count: 1,
      startedBy: "shipyard-migrate",
      launchType: "FARGATE",
      overrides: { containerOverrides: [{ name: "app", command: ["node", "dist/migrate.js"] }] },
    });
    expect(String(run?.input.clientToken)).toMatch(/^[0-9a-f-]{36}$/);
    expect(progress.lines.some((l) => /RUNNING, 5s elapsed \(timeout 2m00s\)/.test(l))).toBe(true);
    expect(progress.lines.some((l) => /STOPPED, 15s elapsed/.test(l))).toBe(true);
    expect(result.logs?.stream).toBe(`web/app/${result.taskArn?.split("/").at(-1)}`);
    expect(result.logs?.tailCommand).toBe(
      `aws logs tail /ecs/web --log-stream-names ${result.logs?.stream} --region eu-west-1 --since 1d`,
    );
    expectServiceUntouched();
  });

  it("fails on exit code 1, with the stop reason and where the logs are", async () => {
    sim.tasks.outcomes.push({
      kind: "exit",
      code: 1,
      afterSeconds: 20,
      reason: "Essential container in task exited",
    });
    const result = await runMigrationTask(options());
    expect(result).toMatchObject({ status: "failed", ok: false, exitCode: 1 });
    expect(result.reason).toBe(
      "The migration command exited with code 1 (EssentialContainerExited: Essential container in task exited)",
    );
    expectServiceUntouched();
  });

  it("fails when the task never starts: no exit code is not success", async () => {
    sim.tasks.outcomes.push({ kind: "neverStarts", afterSeconds: 8 });
    const result = await runMigrationTask(options());
    expect(result).toMatchObject({
      status: "not_started",
      ok: false,
      exitCode: null,
      stopCode: "TaskFailedToStart",
    });
    expect(result.reason).toMatch(
      /stopped before the app container ran \(no exit code\): TaskFailedToStart: CannotPullContainerError/,
    );
    expectServiceUntouched();
  });

  it("stops a task that outlives migrations.timeoutSeconds and fails", async () => {
    sim.tasks.outcomes.push({ kind: "hang" });
    const result = await runMigrationTask(options({ timeoutSeconds: 60 }));
    expect(result).toMatchObject({ status: "timed_out", ok: false, lastStatus: "RUNNING" });
    expect(result.stillRunning).toBeUndefined();
    expect(result.reason).toMatch(/stopped because migrations\.timeoutSeconds \(60s\) passed/);
    const [stop] = sim.callsTo("StopTask");
    expect(stop?.input).toMatchObject({ cluster: "main", task: result.taskArn });
    expect(String(stop?.input.reason)).toMatch(/^Shipyard: migrations\.timeoutSeconds/);
    expect(clock.now() - Date.UTC(2026, 10, 27, 12)).toBe(60_000);
    expectServiceUntouched();
  });

  it("reports a task it could not stop as possibly still running (exit 3)", async () => {
    sim.tasks.outcomes.push({ kind: "hang" });
    sim.injectFault("StopTask", "AccessDeniedException", 400, 5);
    const result = await runMigrationTask(options({ timeoutSeconds: 30 }));
    expect(result.stillRunning).toBe(true);
    expect(result.reason).toMatch(/stopping the migration task failed .* it may still be running/);
  });

  it("fails without waiting when RunTask returns failures", async () => {
    sim.tasks.runTaskFailures.push([{ reason: "RESOURCE:MEMORY", arn: "arn:aws:ecs:container-instance/x" }]);
    const result = await runMigrationTask(options());
    expect(result).toMatchObject({ status: "not_started", ok: false, taskArn: null, exitCode: null });
    expect(result.reason).toBe(
      "ECS refused to start the migration task: RESOURCE:MEMORY arn:aws:ecs:container-instance/x",
    );
    expect(sim.callsTo("DescribeTasks")).toHaveLength(0);
    expectServiceUntouched();
  });

  it("fails cleanly when RunTask itself is rejected (client error: nothing started)", async () => {
    sim.injectFault("RunTask", "AccessDeniedException", 400, 1);
    const result = await runMigrationTask(options());
    expect(result).toMatchObject({ status: "not_started", ok: false, taskArn: null });
    expect(result.reason).toMatch(/^RunTask failed: AccessDeniedException: injected AccessDeniedException$/);
    expect(result.stillRunning).toBeUndefined();
    expectServiceUntouched();
  });

  it("says a task may exist when RunTask keeps failing server-side (exit 3, with the command to look)", async () => {
    sim.injectFault("RunTask", "ServerException", 500, 10);
    const result = await runMigrationTask(options());
    expect(result.stillRunning).toBe(true);
    expectServiceUntouched();
  });

  it("turns a failed read before RunTask into exit 2 with what to check", async () => {
    sim.injectFault("DescribeServices", "AccessDeniedException", 400, 1);
    const error = await runMigrationTask(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(
      /^Could not read the service main\/web: AccessDeniedException: .*; nothing was run\.$/,
    );
    expect((error as InputError).hint).toMatch(/ecs:RunTask/);
    expect(sim.callsTo("RunTask")).toHaveLength(0);
  });

  it("stops its task when the run is cancelled", async () => {
    sim.tasks.outcomes.push({ kind: "hang" });
    const controller = new AbortController();
    clock.onAdvance((now) => {
      if (now - Date.UTC(2026, 10, 27, 12) >= 20_000) controller.abort(new Error("received SIGINT"));
    });
    const result = await runMigrationTask(options({ signal: controller.signal }));
    expect(result.status).toBe("cancelled");
    expect(sim.callsTo("StopTask")).toHaveLength(1);
    expectServiceUntouched();
  });

  it("keeps polling through a failed DescribeTasks", async () => {
    sim.tasks.outcomes.push({ kind: "exit", code: 0, afterSeconds: 10 });
    sim.injectFault("DescribeTasks", "AccessDeniedException", 400, 1);
    const result = await runMigrationTask(options());
    expect(result.ok).toBe(true);
    expect(progress.lines.some((l) => /could not read the migration task's state/.test(l))).toBe(true);
  });

  it("sends the service's network configuration over the wire (awsvpc service)", async () => {
    // The simulator's services carry no network configuration: add one to its DescribeServices answer.
    const network = {
      awsvpcConfiguration: {
        subnets: ["subnet-a", "subnet-b"],
        securityGroups: ["sg-1"],
        assignPublicIp: "DISABLED",
      },
    } as const;
    for (const client of clients) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === "DescribeServicesCommand") {
            const output = result.output as { services?: Array<Record<string, unknown>> };
            for (const service of output.services ?? []) service.networkConfiguration = network;
          }
          return result;
        },
        { step: "initialize", name: "addNetworkConfiguration" },
      );
    }
    await runMigrationTask(options());
    expect(sim.callsTo("RunTask")[0]?.input.networkConfiguration).toEqual(network);
  });

  it("defaults to the revision the service runs", async () => {
    const result = await runMigrationTask(options({ taskDefinition: undefined }));
    expect(result.taskDefinition).toBe(oldRevision);
    expect(sim.callsTo("RunTask")[0]?.input.taskDefinition).toBe(oldRevision);
  });

  it("rejects a missing service or container before running anything (exit 2)", async () => {
    const noService = await runMigrationTask(options({ service: "nope" })).catch((e: unknown) => e);
    expect(noService).toBeInstanceOf(InputError);
    expect((noService as InputError).message).toMatch(
      /^The service "nope" in cluster "main" was not found \(MISSING\): /,
    );
    const noContainer = await runMigrationTask(options({ container: "web" })).catch((e: unknown) => e);
    expect(noContainer).toBeInstanceOf(InputError);
    expect((noContainer as InputError).message).toMatch(/has no container "web" \(it has: app\)/);
    expect(sim.callsTo("RunTask")).toHaveLength(0);
  });
});

describe("migrate (the command's report of the task)", () => {
  let h: World;
  let revision: string;
  beforeEach(async () => {
    h = await startWorld();
    h.setConfig(configText({}, { migrations: { command: ["node", "dist/migrate.js"] } }));
    revision = h.sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "app@sha256:new", essential: true, logConfiguration }],
    });
  });
  afterEach(async () => {
    await h.stop();
  });

  const migrate = () => h.run("migrate", { env: "staging", taskDefinition: revision });
  function expectWorldServiceUntouched() {
    expect(h.sim.callsTo("UpdateService")).toHaveLength(0);
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
  }

  it("exit code 1: failed (exit 1), the reason, the log tail first and the console link", async () => {
    h.sim.tasks.outcomes.push({
      kind: "exit",
      code: 1,
      afterSeconds: 20,
      reason: "Essential container in task exited",
    });
    const report = await migrate();
    expect(report).toMatchObject({ command: "migrate", outcome: "failed", exitCode: ExitCode.RolledBack });
    expect(report.reason).toMatch(/exited with code 1.*; the service was not changed\./);
    expect(report.nextSteps?.[0]).toMatch(/^aws logs tail \/ecs\/web --log-stream-names web\/app\//);
    expect(report.migration?.logs).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:log-groups\/log-group\/\$252Fecs\$252Fweb\/log-events\/web\$252Fapp\$252F/,
    );
    expectWorldServiceUntouched();
  });

  it("a task it could not stop: exit 3 with the command to stop it", async () => {
    h.setConfig(configText({}, { migrations: { command: ["node", "dist/migrate.js"], timeoutSeconds: 30 } }));
    h.sim.tasks.outcomes.push({ kind: "hang" });
    h.sim.injectFault("StopTask", "AccessDeniedException", 400, 5);
    const report = await migrate();
    expect(report.exitCode).toBe(ExitCode.NeedsAttention);
    const taskArn = report.migration?.taskArn as string;
    expect(taskArn).toMatch(/:task\//);
    expect(report.nextSteps).toContain(
      `aws ecs stop-task --cluster main --task ${taskArn} --reason "stop migration"`,
    );
  });

  it("RunTask failing server-side: exit 3 with the command to look for the task", async () => {
    h.sim.injectFault("RunTask", "ServerException", 500, 10);
    const report = await migrate();
    expect(report.exitCode).toBe(ExitCode.NeedsAttention);
    expect(report.nextSteps).toContain(
      "aws ecs list-tasks --cluster main --started-by shipyard-migrate --desired-status RUNNING",
    );
    expectWorldServiceUntouched();
  });
});

describe("runTaskInput", () => {
  it("copies the service's network configuration and capacity providers (not launchType with them)", () => {
    const input = runTaskInput(
      {
        launchType: "FARGATE",
        capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
        platformVersion: "1.4.0",
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: ["subnet-a"],
            securityGroups: ["sg-1"],
            assignPublicIp: "DISABLED",
          },
        },
      },
      { cluster: "main", container: "app", command: ["migrate"], taskDefinition: "web:7" },
    );
    expect(input).toMatchObject({
      capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      platformVersion: "1.4.0",
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"], assignPublicIp: "DISABLED" },
      },
    });
    expect(input.launchType).toBeUndefined();
  });

  it("uses the launch type and placement of an EC2 service", () => {
    const input = runTaskInput(
      { launchType: "EC2", placementConstraints: [{ type: "distinctInstance" }] },
      { cluster: "main", container: "app", command: ["migrate"], taskDefinition: "web:7" },
    );
    expect(input).toMatchObject({ launchType: "EC2", placementConstraints: [{ type: "distinctInstance" }] });
    expect(input.networkConfiguration).toBeUndefined();
  });
});

describe("logLocation", () => {
  it("names the driver when it is not awslogs, and the group when there is no stream prefix", () => {
    expect(logLocation({ logDriver: "awsfirelens" }, "app", "arn:task/main/abc", "eu-west-1")).toEqual({
      driver: "awsfirelens",
    });
    expect(
      logLocation(
        { logDriver: "awslogs", options: { "awslogs-group": "g" } },
        "app",
        "arn:task/main/abc",
        "us-east-1",
      )?.tailCommand,
    ).toBe("aws logs tail g --region us-east-1 --since 1h");
    expect(logLocation(undefined, "app", null, "eu-west-1")).toBeNull();
  });
});
