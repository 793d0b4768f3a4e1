/**
 * One-off tasks (RunTask / DescribeTasks / StopTask) for the migration step's tests. Each RunTask
 * takes the next scripted outcome from the queue (default: exit 0 after 10 s).
 */
import { AwsError } from "./http.js";

export type TaskOutcome =
  /** Runs, then its essential container exits with `code` after `afterSeconds` (having logged `logs`). */
  | { kind: "exit"; code: number; afterSeconds?: number; reason?: string; logs?: readonly string[] }
  /** Never starts: STOPPED with stopCode TaskFailedToStart and NO exit code. */
  | { kind: "neverStarts"; afterSeconds?: number; reason?: string }
  /** Starts and runs forever (until StopTask). */
  | { kind: "hang" };

export interface SimTask {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  startedBy?: string;
  group?: string;
  overrides: unknown;
  createdAtMs: number;
  outcome: TaskOutcome;
  stoppedByUserAtMs?: number;
}

const PENDING_SECONDS = 2;

export class TaskBook {
  readonly tasks = new Map<string, SimTask>();
  /** Scripted outcomes, consumed one per started task. */
  readonly outcomes: TaskOutcome[] = [];
  /** `failures` for the next RunTask calls, consumed one list per call (e.g. [{reason: "RESOURCE:MEMORY"}]). */
  readonly runTaskFailures: Array<Array<{ arn?: string; reason: string; detail?: string }>> = [];
  private counter = 0;

  constructor(
    private readonly account: string,
    private readonly region: string,
  ) {}

  run(
    input: Record<string, unknown>,
    nowMs: number,
    cluster: string,
    taskDefinitionArn: string,
  ): { tasks: unknown[]; failures: unknown[] } {
    const failures = this.runTaskFailures.shift();
    if (failures && failures.length > 0) return { tasks: [], failures };
    const count = Number(input.count ?? 1);
    const tasks: unknown[] = [];
    for (let i = 0; i < count; i++) {
      this.counter += 1;
      const id = `${this.counter.toString(16).padStart(8, "0")}aa11bb22cc33dd44ee55ff66`;
      const task: SimTask = {
        taskArn: `arn:aws:ecs:${this.region}:${this.account}:task/${cluster}/${id}`,
        clusterArn: `arn:aws:ecs:${this.region}:${this.account}:cluster/${cluster}`,
        taskDefinitionArn,
        startedBy: input.startedBy as string | undefined,
        group: input.group as string | undefined,
        overrides: input.overrides ?? {},
        createdAtMs: nowMs,
        outcome: this.outcomes.shift() ?? { kind: "exit", code: 0, afterSeconds: 10 },
      };
      this.tasks.set(task.taskArn, task);
      tasks.push(this.view(task, nowMs));
    }
    return { tasks, failures: [] };
  }

  describe(arns: string[], nowMs: number): { tasks: unknown[]; failures: unknown[] } {
    const tasks: unknown[] = [];
    const failures: unknown[] = [];
    for (const arn of arns) {
      const task = this.find(arn);
      if (task) tasks.push(this.view(task, nowMs));
      else failures.push({ arn, reason: "MISSING" });
    }
    return { tasks, failures };
  }

  /** The one-off tasks of a cluster whose desired status is `desired` now (for ListTasks). */
  list(cluster: string, desired: "RUNNING" | "STOPPED", nowMs: number): SimTask[] {
    return [...this.tasks.values()].filter((task) => {
      if (!task.clusterArn.endsWith(`/${cluster}`)) return false;
      return this.view(task, nowMs).desiredStatus === desired;
    });
  }

  stop(arn: string, nowMs: number): { task: unknown } {
    const task = this.find(arn);
    if (!task) throw new AwsError("InvalidParameterException", `The referenced task was not found: ${arn}`);
    task.stoppedByUserAtMs ??= nowMs;
    return { task: this.view(task, nowMs) };
  }

  private find(arn: string): SimTask | undefined {
    return this.tasks.get(arn) ?? [...this.tasks.values()].find((t) => t.taskArn.endsWith(`/${arn}`));
  }

  private view(task: SimTask, nowMs: number): Record<string, unknown> {
    const elapsed = (nowMs - task.createdAtMs) / 1000;
    const base = {
      taskArn: task.taskArn,
      clusterArn: task.clusterArn,
      taskDefinitionArn: task.taskDefinitionArn,
      startedBy: task.startedBy,
      group: task.group,
      overrides: task.overrides,
      createdAt: new Date(task.createdAtMs),
      launchType: "FARGATE",
    };
    const container = { name: "app", taskArn: task.taskArn };
    const userStop = task.stoppedByUserAtMs;
    const outcome = task.outcome;
    if (outcome.kind === "neverStarts") {
      const after = outcome.afterSeconds ?? 5;
      if (elapsed < after && userStop === undefined)
        return {
          ...base,
          lastStatus: "PROVISIONING",
          desiredStatus: "RUNNING",
          containers: [{ ...container, lastStatus: "PENDING" }],
        };
      return {
        ...base,
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stopCode: "TaskFailedToStart",
        stoppedReason:
          outcome.reason ?? "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        stoppedAt: new Date(task.createdAtMs + after * 1000),
        containers: [{ ...container, lastStatus: "STOPPED", reason: "CannotPullContainerError" }],
      };
    }
    const runningFrom = task.createdAtMs + PENDING_SECONDS * 1000;
    const exitAt =
      outcome.kind === "exit"
        ? task.createdAtMs + (outcome.afterSeconds ?? 10) * 1000
        : Number.POSITIVE_INFINITY;
    const stopAt = Math.min(exitAt, userStop ?? Number.POSITIVE_INFINITY);
    if (nowMs >= stopAt) {
      const byUser = userStop !== undefined && userStop <= exitAt;
      return {
        ...base,
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        startedAt: new Date(runningFrom),
        stoppedAt: new Date(stopAt),
        stopCode: byUser ? "UserInitiated" : "EssentialContainerExited",
        stoppedReason: byUser
          ? "Task stopped by user"
          : (outcome.kind === "exit" && outcome.reason) || "Essential container in task exited",
        containers: [
          {
            ...container,
            lastStatus: "STOPPED",
            exitCode: byUser ? 137 : outcome.kind === "exit" ? outcome.code : 137,
          },
        ],
      };
    }
    if (nowMs < runningFrom) {
      return {
        ...base,
        lastStatus: "PENDING",
        desiredStatus: "RUNNING",
        containers: [{ ...container, lastStatus: "PENDING" }],
      };
    }
    return {
      ...base,
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      startedAt: new Date(runningFrom),
      containers: [{ ...container, lastStatus: "RUNNING" }],
    };
  }
}
