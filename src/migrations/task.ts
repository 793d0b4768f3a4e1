/**
 * Runs the app's migration command as a one-off ECS task from the NEW task definition, before the
 * service changes. It borrows the service's network configuration and launch type / capacity
 * providers (so it reaches the database exactly like the service does), overrides the command of the
 * app container, and waits for STOPPED. Success is only "the app container exited with code 0": a
 * task that never started has no exit code, and that is a failure, not a pass.
 *
 * The revision it runs is the new one the deploy registered; nothing here records it anywhere, so it
 * can never become a rollback target — only a service deployment that completed and was verified can.
 *
 * Every ECS call goes through the gateway (src/aws/ecs.ts), which loads the SDK on first use.
 */
import type { RunTaskCommandInput, RunTaskCommandOutput, Service, Task } from "@aws-sdk/client-ecs";
import { type Ecs, revisionIdentifier } from "../aws/ecs.js";
import type { Clock } from "../clock.js";
import { InputError } from "../errors.js";
import { formatSeconds, type Progress } from "../report/progress.js";

export interface MigrationTaskOptions {
  ecs: Ecs;
  region: string;
  cluster: string;
  service: string;
  /** Container that runs the command (the environment's `container`). */
  container: string;
  command: readonly string[];
  /** The NEW revision (ARN, family:revision or a number of the service's family); default: the running one. */
  taskDefinition?: string;
  timeoutSeconds: number;
  pollSeconds: number;
  clock: Clock;
  progress: Progress;
  signal: AbortSignal;
}

export interface LogLocation {
  driver: string;
  group?: string;
  stream?: string;
  region?: string;
  consoleUrl?: string;
  tailCommand?: string;
}

export type MigrationTaskStatus =
  | "succeeded"
  | "failed" // the container exited non-zero
  | "not_started" // RunTask refused, or the task stopped before the container ran
  | "timed_out"
  | "cancelled";

export interface MigrationTaskResult {
  status: MigrationTaskStatus;
  ok: boolean;
  taskArn: string | null;
  /** Revision the task ran (the new one during a deploy). */
  taskDefinition: string;
  /** Image of the app container in that revision. */
  image: string | null;
  /** Revision the service runs (untouched by this task). */
  serviceTaskDefinition: string | null;
  command: string[];
  exitCode: number | null;
  lastStatus: string | null;
  stopCode: string | null;
  stoppedReason: string | null;
  containerReason: string | null;
  seconds: number;
  logs: LogLocation | null;
  /** One sentence, when not ok. */
  reason?: string;
  /** Set when the task may still be running (StopTask failed): a person must look. */
  stillRunning?: boolean;
}

/** The CloudWatch console's own escaping of log group/stream names in its URL fragment. */
const consoleEscape = (value: string) => encodeURIComponent(value).replace(/%/g, "$25");

const taskId = (arn: string) => arn.split("/").at(-1) ?? arn;

export function logLocation(
  logConfiguration: { logDriver?: string; options?: Record<string, string> } | undefined,
  container: string,
  taskArn: string | null,
  fallbackRegion: string,
): LogLocation | null {
  if (!logConfiguration?.logDriver) return null;
  if (logConfiguration.logDriver !== "awslogs") return { driver: logConfiguration.logDriver };
  const options = logConfiguration.options ?? {};
  const group = options["awslogs-group"];
  const region = options["awslogs-region"] ?? fallbackRegion;
  const prefix = options["awslogs-stream-prefix"];
  if (!group) return { driver: "awslogs", region };
  // Without a stream prefix (EC2 only) the stream name is the container id: unknown here.
  const stream = prefix && taskArn ? `${prefix}/${container}/${taskId(taskArn)}` : undefined;
  const base = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${consoleEscape(group)}`;
  return {
    driver: "awslogs",
    group,
    region,
    ...(stream ? { stream } : {}),
    consoleUrl: stream ? `${base}/log-events/${consoleEscape(stream)}` : base,
    tailCommand: stream
      ? `aws logs tail ${group} --log-stream-names ${stream} --region ${region} --since 1d`
      : `aws logs tail ${group} --region ${region} --since 1h`,
  };
}

/** Reads before RunTask: when they fail nothing has run, so say what to check (exit 2). */
async function beforeRunning<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `Could not ${what}: ${(error as Error).name}: ${(error as Error).message}; nothing was run.`,
      [],
      "check the region, cluster and service in shipyard.json, the AWS credentials, and that they allow ecs:DescribeServices, ecs:DescribeTaskDefinition, ecs:RunTask, ecs:DescribeTasks, ecs:StopTask and iam:PassRole on the task roles",
    );
  }
}

async function describeService(options: MigrationTaskOptions): Promise<Service> {
  const lookup = await beforeRunning(`read the service ${options.cluster}/${options.service}`, () =>
    options.ecs.describeService(
      { cluster: options.cluster, service: options.service },
      { signal: options.signal },
    ),
  );
  const service = lookup.found && lookup.service.status === "ACTIVE" ? lookup.service : undefined;
  if (!service) {
    // The gateway's reason is a whole clause: `service "web" in cluster "main" was not found (MISSING)`.
    const what = lookup.found
      ? `service ${options.cluster}/${options.service} is ${lookup.service.status}`
      : lookup.reason;
    throw new InputError(
      `The ${what}: the migration task borrows its network settings, so nothing was run.`,
      [],
      "check cluster and service in shipyard.json, and that AWS_REGION / credentials point at the right account",
    );
  }
  return service;
}

/** Same network, same capacity: the task must reach the database the way the service does. */
export function runTaskInput(
  service: Service,
  options: Pick<MigrationTaskOptions, "cluster" | "container" | "command"> & { taskDefinition: string },
): RunTaskCommandInput {
  const input: RunTaskCommandInput = {
    cluster: options.cluster,
    taskDefinition: options.taskDefinition,
    count: 1,
    startedBy: "shipyard-migrate",
    // RunTask is retried on throttling: the token keeps a retry from starting a second migration.
    clientToken: crypto.randomUUID(),
    overrides: { containerOverrides: [{ name: options.container, command: [...options.command] }] },
  };
  if (service.networkConfiguration) input.networkConfiguration = service.networkConfiguration;
  if (service.capacityProviderStrategy && service.capacityProviderStrategy.length > 0) {
    input.capacityProviderStrategy = service.capacityProviderStrategy;
  } else if (service.launchType) {
    input.launchType = service.launchType;
  }
  if (service.platformVersion && service.platformVersion !== "LATEST")
    input.platformVersion = service.platformVersion;
  if (service.placementConstraints?.length) input.placementConstraints = service.placementConstraints;
  if (service.placementStrategy?.length) input.placementStrategy = service.placementStrategy;
  return input;
}

function judgeStopped(task: Task, container: string): Pick<MigrationTaskResult, "status" | "ok" | "reason"> {
  const app = task.containers?.find((c) => c.name === container);
  const exitCode = app?.exitCode;
  const stopped = [task.stopCode, task.stoppedReason, app?.reason].filter(Boolean).join(": ");
  if (exitCode === undefined || exitCode === null) {
    return {
      status: "not_started",
      ok: false,
      reason: `The migration task stopped before the ${container} container ran (no exit code): ${stopped || "no reason given"}`,
    };
  }
  if (exitCode !== 0) {
    return {
      status: "failed",
      ok: false,
      reason: `The migration command exited with code ${exitCode} (${stopped || "no stop reason"})`,
    };
  }
  return { status: "succeeded", ok: true };
}

export async function runMigrationTask(options: MigrationTaskOptions): Promise<MigrationTaskResult> {
  const { ecs, clock, progress } = options;
  const started = clock.now();
  const service = await describeService(options);
  const running = service.taskDefinition ?? "";
  const requested = options.taskDefinition ? revisionIdentifier(options.taskDefinition, running) : running;
  const definition = (
    await beforeRunning(`read the task definition ${requested}`, () => ecs.describeTaskDefinition(requested))
  ).taskDefinition;
  const containerDefinition = definition?.containerDefinitions?.find((c) => c.name === options.container);
  if (!definition || !containerDefinition) {
    const names = definition?.containerDefinitions?.map((c) => c.name).join(", ") || "none";
    throw new InputError(
      `The task definition ${requested} has no container "${options.container}" (it has: ${names}); nothing was run.`,
      [],
      "set `container` of this environment in shipyard.json to the container that holds the app",
    );
  }
  const taskDefinition = definition.taskDefinitionArn ?? requested;
  const result: MigrationTaskResult = {
    status: "not_started",
    ok: false,
    taskArn: null,
    taskDefinition,
    image: containerDefinition.image ?? null,
    serviceTaskDefinition: service.taskDefinition ?? null,
    command: [...options.command],
    exitCode: null,
    lastStatus: null,
    stopCode: null,
    stoppedReason: null,
    containerReason: null,
    seconds: 0,
    logs: null,
  };
  const finish = () => {
    result.seconds = Math.round((clock.now() - started) / 100) / 10;
    // No task, no logs: pointing at the log group would only send people looking in the wrong place.
    result.logs = result.taskArn
      ? logLocation(containerDefinition.logConfiguration, options.container, result.taskArn, options.region)
      : null;
    reportOutcome(result, progress);
    return result;
  };

  progress.info(
    `Running the migration task: ${options.command.join(" ")} (container ${options.container}, ${taskDefinition.split("/").at(-1)})`,
  );
  let run: RunTaskCommandOutput;
  try {
    run = await ecs.runTask(runTaskInput(service, { ...options, taskDefinition }), options.signal);
  } catch (error) {
    const details = error as { $fault?: string; $metadata?: { httpStatusCode?: number } };
    const serverSide = details.$fault === "server" || (details.$metadata?.httpStatusCode ?? 0) >= 500;
    const message = (error as Error).message.split("\n")[0];
    result.reason = `RunTask failed: ${(error as Error).name}: ${message}`;
    // A server error after retries leaves it open whether ECS started the task.
    if (serverSide) {
      result.stillRunning = true;
      result.reason += `; ECS may have started the task anyway: aws ecs list-tasks --cluster ${options.cluster} --started-by shipyard-migrate`;
    }
    return finish();
  }
  const task = run.tasks?.[0];
  if ((run.failures && run.failures.length > 0) || !task?.taskArn) {
    const failures = (run.failures ?? [])
      .map((f) => [f.reason, f.detail, f.arn].filter(Boolean).join(" "))
      .join("; ");
    result.reason = `ECS refused to start the migration task: ${failures || "RunTask returned no task"}`;
    return finish();
  }
  result.taskArn = task.taskArn;
  result.lastStatus = task.lastStatus ?? null;
  progress.step(`migration task ${taskId(task.taskArn)} started (${task.lastStatus ?? "PROVISIONING"})`);
  await waitForStop(options, result, started);
  return finish();
}

function reportOutcome(result: MigrationTaskResult, progress: Progress): void {
  if (result.ok) progress.info(`Migrations applied: the task exited 0 after ${result.seconds}s.`);
  else progress.warn(`Migration task ${result.status}: ${result.reason ?? "no reason"}.`);
  if (result.logs?.consoleUrl) progress.info(`Migration logs: ${result.logs.consoleUrl}`);
  if (result.logs?.tailCommand) progress.info(`  or: ${result.logs.tailCommand}`);
  if (result.logs && !result.logs.consoleUrl) {
    progress.info(`Migration logs: see the ${result.logs.driver} log driver's destination.`);
  }
}

/** Polls DescribeTasks until STOPPED; on timeout or cancel, stops the task and says so. */
async function waitForStop(
  options: MigrationTaskOptions,
  result: MigrationTaskResult,
  started: number,
): Promise<MigrationTaskResult> {
  const { clock, progress } = options;
  const taskArn = result.taskArn as string;
  const deadline = started + options.timeoutSeconds * 1000;
  let lastPrinted = "";
  let lastPrintedAt = started;
  for (;;) {
    try {
      await clock.sleep(options.pollSeconds * 1000, options.signal);
    } catch {
      return stopTask(options, result, "cancelled", "Shipyard was interrupted");
    }
    const task = await describeTask(options, taskArn);
    const status = task?.lastStatus ?? result.lastStatus ?? "UNKNOWN";
    result.lastStatus = status;
    const elapsed = clock.now() - started;
    if (status !== lastPrinted || clock.now() - lastPrintedAt >= 30_000) {
      progress.step(
        `migration task ${taskId(taskArn)}: ${status}, ${formatSeconds(elapsed)} elapsed (timeout ${formatSeconds(options.timeoutSeconds * 1000)})`,
      );
      lastPrinted = status;
      lastPrintedAt = clock.now();
    }
    if (task && status === "STOPPED") {
      const app = task.containers?.find((c) => c.name === options.container);
      result.exitCode = app?.exitCode ?? null;
      result.stopCode = task.stopCode ?? null;
      result.stoppedReason = task.stoppedReason ?? null;
      result.containerReason = app?.reason ?? null;
      Object.assign(result, judgeStopped(task, options.container));
      return result;
    }
    if (clock.now() >= deadline) {
      return stopTask(
        options,
        result,
        "timed_out",
        `migrations.timeoutSeconds (${options.timeoutSeconds}s) passed`,
      );
    }
  }
}

/** A failed poll is not a failed migration: warn and poll again (the deadline still applies). */
async function describeTask(options: MigrationTaskOptions, taskArn: string): Promise<Task | undefined> {
  try {
    return await options.ecs.describeTask(options.cluster, taskArn, {
      poll: { timeoutMs: options.pollSeconds * 1000 },
    });
  } catch (error) {
    options.progress.warn(
      `could not read the migration task's state (${(error as Error).message}); retrying`,
    );
    return undefined;
  }
}

async function stopTask(
  options: MigrationTaskOptions,
  result: MigrationTaskResult,
  status: "timed_out" | "cancelled",
  why: string,
): Promise<MigrationTaskResult> {
  const taskArn = result.taskArn as string;
  result.status = status;
  result.ok = false;
  try {
    // Deliberately not tied to options.signal: a cancelled run must still stop its task.
    await options.ecs.stopTask(options.cluster, taskArn, `Shipyard: ${why}`);
    result.reason = `The migration task was stopped because ${why} (last status ${result.lastStatus ?? "unknown"}); a migration in a transaction is rolled back when its connection closes`;
  } catch (error) {
    result.stillRunning = true;
    result.reason = `${why}, and stopping the migration task failed (${(error as Error).message}): it may still be running`;
  }
  return result;
}
