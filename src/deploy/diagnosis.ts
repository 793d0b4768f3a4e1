/**
 * Why a release failed, in plain words with the fix: the stopped tasks of OUR deployment (or the
 * migration task, or the running tasks a smoke test could not reach), what the load balancer says
 * about its targets, and the last lines the failed containers logged.
 *
 * Two halves: `classifyTask` is pure (a task as DescribeTasks answers it → a cause), and
 * `gatherDiagnosis` reads what it needs within a small budget of calls (ListTasks, DescribeTasks,
 * DescribeTaskDefinition only when logs are worth reading, DescribeTargetHealth per target group, one
 * GetLogEvents per distinct cause, at most three). It never throws and never sleeps: a read that
 * fails (AccessDenied above all) becomes a note, and the deploy's outcome and exit code stay as they were.
 */
import type { ContainerDefinition, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs } from "../aws/ecs.js";
import type { Elb } from "../aws/elb.js";
import type { Logs } from "../aws/logs.js";
import type {
  CauseKind,
  DiagnosedCause,
  DiagnosedLog,
  DiagnosedTarget,
  DiagnosedTask,
  Diagnosis,
} from "../report/report.js";

/** Lines kept per container, tasks whose logs are read, tasks and targets kept in the report. */
export const LOG_LINES = 20;
const LOG_TASKS = 3;
const TASKS_KEPT = 5;
const TARGETS_KEPT = 10;
const TARGET_GROUPS_READ = 2;

// ---- the pure half: what a stopped task says ----

export interface Classified {
  kind: CauseKind;
  title: string;
  explanation: string;
  fix: string;
}

const NETWORK =
  /i\/o timeout|dial tcp|context deadline exceeded|connection (refused|reset)|no such host|timed? ?out/i;
const AUTH =
  /\b(401|403)\b|unauthori[sz]ed|access ?denied|not authorized|denied|no basic auth credentials|require 'docker login'/i;
const NOT_FOUND = /not found|manifest unknown|does not exist|repository .* not exist|name unknown/i;

function text(task: Task): string {
  const containers = (task.containers ?? []).map((c) => c.reason ?? "").join(" ");
  return `${task.stoppedReason ?? ""} ${containers}`;
}

function exitMeaning(code: number): string {
  switch (code) {
    case 0:
      return "it exited with 0: a service's container must keep running, and this one finished";
    case 1:
      return "the app stopped with an error, often at startup (a missing environment variable, a database or service it cannot reach, an exception before it listens)";
    case 126:
      return "the command in the task definition or image is not executable";
    case 127:
      return "the command was not found: the entryPoint/command names a program that is not in the image";
    case 134:
      return "the process aborted (SIGABRT), e.g. a fatal error in a native module or a heap that hit its own limit";
    case 139:
      return "the process crashed with a segmentation fault";
    case 143:
      return "it was stopped with SIGTERM (ECS stopping it, e.g. after failed health checks)";
    default:
      return "the app stopped by itself with that status";
  }
}

function imagePull(all: string, image: string | null): Classified {
  const what = image ? ` ${image}` : "";
  const base = {
    kind: "image-pull" as const,
    title: `the image${what} could not be pulled (CannotPullContainerError)`,
  };
  if (NETWORK.test(all)) {
    return {
      ...base,
      explanation:
        "the task could not reach the registry: its subnets have no route out (no NAT gateway, no public IP, or no VPC endpoints)",
      fix: "give the service's subnets a route to the registry: a NAT gateway, assignPublicIp ENABLED in a public subnet, or VPC endpoints for ecr.api, ecr.dkr and s3 (gateway) for ECR",
    };
  }
  if (AUTH.test(all)) {
    return {
      ...base,
      explanation: "the registry refused the task's credentials",
      fix: "let the task execution role pull it (ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer; or repositoryCredentials with a Secrets Manager secret for a private registry)",
    };
  }
  if (NOT_FOUND.test(all)) {
    return {
      ...base,
      explanation:
        "the registry has no such image: the repository, tag or digest does not exist (in this region/account)",
      fix: "publish the image first and deploy the digest that publish printed; check the repository's region and account",
    };
  }
  return {
    ...base,
    explanation:
      "the image does not exist, the registry refused the credentials, or the task cannot reach the registry",
    fix: "check that the image exists, that the task execution role may pull it, and that the subnets reach the registry (NAT gateway or VPC endpoints)",
  };
}

function resourceInitialization(all: string): Classified {
  const source = /\basm\b|secrets ?manager|secretsmanager/i.test(all)
    ? "Secrets Manager"
    : /\bssm\b|parameter/i.test(all)
      ? "SSM Parameter Store"
      : /registry auth|ecr/i.test(all)
        ? "the registry credentials"
        : "its secrets or registry credentials";
  const base = {
    kind: "resource-initialization" as const,
    title: `the task could not fetch ${source === "the registry credentials" || source.startsWith("its") ? source : `its secrets from ${source}`} (ResourceInitializationError)`,
  };
  if (AUTH.test(all)) {
    return {
      ...base,
      explanation: "the task execution role is not allowed to read them",
      fix: "allow the task execution role secretsmanager:GetSecretValue / ssm:GetParameters on exactly those ARNs (and kms:Decrypt when a customer managed key encrypts them)",
    };
  }
  if (NETWORK.test(all)) {
    return {
      ...base,
      explanation: "the task could not reach the service that holds them",
      fix: "give the subnets a route: a NAT gateway, or VPC endpoints for secretsmanager / ssm (and ecr.api, ecr.dkr, s3 for the image)",
    };
  }
  return {
    ...base,
    explanation:
      "ECS prepares secrets and registry credentials before any container starts, with the task execution role",
    fix: "check the secret ARNs in the task definition exist in this region, that the task execution role may read them (and kms:Decrypt), and that the subnets reach Secrets Manager / SSM (NAT gateway or VPC endpoints)",
  };
}

/** The cause of one stopped (or unhealthy) task. */
export function classifyTask(task: Task, image: string | null = null): Classified {
  const all = text(task);
  if (/CannotPullContainerError/i.test(all)) return imagePull(all, image);
  if (/ResourceInitializationError/i.test(all)) return resourceInitialization(all);
  if (/ELB health checks|load balancer health/i.test(all)) {
    return {
      kind: "elb-health-check",
      title: "the tasks failed the load balancer's health checks (Task failed ELB health checks)",
      explanation:
        "the target group's health check did not get its expected answer from the task, so ECS replaced it",
      fix: "make the target group's health check path and port match what the app serves (its containerPort, a path answering 200), let the load balancer's security group reach the task's port, and give the app time to start (healthCheckGracePeriodSeconds)",
    };
  }
  const unhealthy =
    task.healthStatus === "UNHEALTHY" || (task.containers ?? []).some((c) => c.healthStatus === "UNHEALTHY");
  if (/container health checks/i.test(all) || (unhealthy && !/OutOfMemory/i.test(all))) {
    return {
      kind: "container-health-check",
      title: "the container's own health check failed (Task failed container health checks)",
      explanation: "the healthCheck command in the task definition kept failing, so ECS replaced the task",
      fix: "run the healthCheck command inside the image: it must exit 0 (the image must contain curl/wget if it uses them), and startPeriod must cover the app's start",
    };
  }
  const exited = (task.containers ?? []).filter((c) => typeof c.exitCode === "number" && c.exitCode !== 0);
  const oom = (task.containers ?? []).find((c) => /OutOfMemory/i.test(c.reason ?? ""));
  const killed = exited.find((c) => c.exitCode === 137);
  if (oom || /OutOfMemory/i.test(all) || (killed && task.stopCode === "EssentialContainerExited")) {
    const name = (oom ?? killed)?.name ?? "the app";
    return {
      kind: "out-of-memory",
      title: `container ${name} ran out of memory (OutOfMemoryError, exit 137)`,
      explanation: "the kernel killed it for using more memory than its limit in the task definition",
      fix: "raise the container's (or the task's) memory in the task definition, or find what grows in the last log lines; for Node.js keep --max-old-space-size below the container's limit",
    };
  }
  const first = exited[0] ?? (task.containers ?? []).find((c) => typeof c.exitCode === "number");
  if (task.stopCode === "EssentialContainerExited" || first) {
    const code = first?.exitCode;
    const name = first?.name ? ` ${first.name}` : "";
    return {
      kind: "essential-container-exited",
      title: `the essential container${name} exited${typeof code === "number" ? ` with code ${code}` : ""}`,
      explanation: typeof code === "number" ? exitMeaning(code) : "it stopped by itself",
      fix: "read its last log lines (below, or with `shipyard logs`); run the image locally with the same environment to reproduce",
    };
  }
  const said = [task.stopCode, task.stoppedReason].filter(Boolean).join(": ");
  return {
    kind: "unknown",
    title: said ? `the task stopped: ${said}` : "the task stopped without a reason Shipyard recognises",
    explanation: "ECS gave no cause Shipyard knows how to explain",
    fix: "read the stopped reason and the last log lines; `aws ecs describe-tasks` shows the rest",
  };
}

// ---- the reading half ----

export interface DiagnosisSources {
  ecs: Ecs;
  cluster: string;
  /** The region the task definitions' awslogs settings fall back to. */
  region: string;
  /** The load balancer gateway, built on first use (never when there is no target group). */
  elb(): Promise<Elb>;
  /** The CloudWatch Logs gateway for a region, built on first use. */
  logs(region: string): Promise<Logs>;
  /** The one scrubber: log lines may quote anything. */
  scrub(text: string): string;
  signal?: AbortSignal;
}

export type TaskSelection =
  /** The tasks a service deployment started (`startedBy` = its id), optionally of one revision only. */
  | { startedBy: string; desiredStatus: "STOPPED" | "RUNNING"; taskDefinitionArn?: string }
  /** Known tasks (the migration task). */
  | { taskArns: string[] };

export interface DiagnosisRequest {
  subject: Diagnosis["subject"];
  tasks: TaskSelection | null;
  /** The service's target groups (DescribeServices loadBalancers[].targetGroupArn). */
  targetGroupArns: string[];
  /** The revision the tasks run, when already known: saves the DescribeTaskDefinition. */
  taskDefinition?: TaskDefinition;
}

const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedAccess",
  "AuthorizationError",
]);

/** Turns every failed read into a note. */
class Reader {
  readonly notes: string[] = [];

  async read<T>(what: string, action: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      const name = awsErrorName(error);
      this.notes.push(
        DENIED.has(name)
          ? `could not read ${what}: ${name} (allow ${action} to see it)`
          : `could not read ${what}: ${name}: ${(error as Error).message.split("\n")[0]}`,
      );
      return null;
    }
  }
}

const taskIdOf = (arn: string) => arn.split("/").at(-1) ?? arn;

/** The awslogs settings of a container: group, region, and the stream of one task. */
export function awslogsStream(
  definition: ContainerDefinition | undefined,
  taskId: string,
  fallbackRegion: string,
): { group: string; region: string; stream: string } | null {
  const config = definition?.logConfiguration;
  if (config?.logDriver !== "awslogs") return null;
  const options = config.options ?? {};
  const group = options["awslogs-group"];
  const prefix = options["awslogs-stream-prefix"];
  // Without a stream prefix (EC2 only) the stream is named by the Docker container id: unknown here.
  if (!group || !prefix || !definition?.name) return null;
  return {
    group,
    region: options["awslogs-region"] ?? fallbackRegion,
    stream: `${prefix}/${definition.name}/${taskId}`,
  };
}

function diagnosedTask(task: Task, cause: CauseKind): DiagnosedTask {
  return {
    taskId: taskIdOf(task.taskArn ?? ""),
    taskDefinition: task.taskDefinitionArn ?? null,
    lastStatus: task.lastStatus ?? null,
    stopCode: task.stopCode ?? null,
    stoppedReason: task.stoppedReason ?? null,
    healthStatus: task.healthStatus ?? null,
    stoppedAt: task.stoppedAt?.toISOString() ?? null,
    containers: (task.containers ?? []).map((c) => ({
      name: c.name ?? "",
      exitCode: typeof c.exitCode === "number" ? c.exitCode : null,
      reason: c.reason ?? null,
      healthStatus: c.healthStatus ?? null,
    })),
    cause,
  };
}

/** Newest first: stopped tasks by when they stopped, running ones by when they started. */
function newestFirst(tasks: Task[]): Task[] {
  const at = (t: Task) => (t.stoppedAt ?? t.startedAt ?? t.createdAt)?.getTime() ?? 0;
  return [...tasks].sort((a, b) => at(b) - at(a));
}

async function findTasks(
  sources: DiagnosisSources,
  reader: Reader,
  selection: TaskSelection,
): Promise<Task[]> {
  const { ecs, cluster } = sources;
  const read = { ...(sources.signal ? { signal: sources.signal } : {}) };
  let arns: string[];
  if ("taskArns" in selection) {
    arns = selection.taskArns;
  } else {
    const listed = await reader.read("the deployment's tasks", "ecs:ListTasks", () =>
      ecs.listTasks(
        cluster,
        { startedBy: selection.startedBy, desiredStatus: selection.desiredStatus },
        read,
      ),
    );
    arns = listed ?? [];
  }
  if (arns.length === 0) return [];
  const described =
    (await reader.read("the tasks", "ecs:DescribeTasks", () => ecs.describeTasks(cluster, arns, read))) ?? [];
  const revision = "taskDefinitionArn" in selection ? selection.taskDefinitionArn : undefined;
  return newestFirst(revision ? described.filter((t) => t.taskDefinitionArn === revision) : described);
}

async function targetHealth(
  sources: DiagnosisSources,
  reader: Reader,
  targetGroupArns: string[],
): Promise<DiagnosedTarget[]> {
  const targets: DiagnosedTarget[] = [];
  for (const arn of targetGroupArns.slice(0, TARGET_GROUPS_READ)) {
    const health = await reader.read(
      `the health of target group ${arn.split("/").at(-2) ?? arn}`,
      "elasticloadbalancing:DescribeTargetHealth",
      async () => (await sources.elb()).describeTargetHealth(arn, sources.signal),
    );
    for (const target of health ?? []) {
      if (target.state !== "healthy") targets.push({ targetGroup: arn, ...target });
    }
  }
  return targets.slice(0, TARGETS_KEPT);
}

/** The causes seen, the most frequent first (ties: the one of the newest task). */
function rankCauses(classified: Classified[]): DiagnosedCause[] {
  const byKind = new Map<CauseKind, DiagnosedCause>();
  for (const c of classified) {
    const seen = byKind.get(c.kind);
    if (seen) seen.tasks += 1;
    else
      byKind.set(c.kind, { kind: c.kind, title: c.title, explanation: c.explanation, fix: c.fix, tasks: 1 });
  }
  return [...byKind.values()].sort((a, b) => b.tasks - a.tasks);
}

/** Causes where a container ran: its last lines are worth a call. Pull and secret errors ran nothing. */
const RAN = new Set<CauseKind>([
  "out-of-memory",
  "essential-container-exited",
  "elb-health-check",
  "container-health-check",
  "unknown",
]);

/** One task per distinct cause (its newest), at most LOG_TASKS. */
function tasksWorthReading(tasks: Task[], causes: Map<Task, Classified>): Task[] {
  const chosen: Task[] = [];
  const kinds = new Set<CauseKind>();
  for (const task of tasks) {
    const kind = causes.get(task)?.kind ?? "unknown";
    if (!RAN.has(kind) || kinds.has(kind)) continue;
    kinds.add(kind);
    chosen.push(task);
    if (chosen.length === LOG_TASKS) break;
  }
  return chosen;
}

/** The container whose lines tell the story: the one that failed, else the first essential one. */
function containerToRead(task: Task, definition: TaskDefinition): ContainerDefinition | undefined {
  const definitions = definition.containerDefinitions ?? [];
  const failed = (task.containers ?? []).find(
    (c) => (typeof c.exitCode === "number" && c.exitCode !== 0) || c.healthStatus === "UNHEALTHY",
  );
  if (failed) return definitions.find((d) => d.name === failed.name);
  return definitions.find((d) => d.essential !== false && d.logConfiguration) ?? definitions[0];
}

async function lastLogLines(
  sources: DiagnosisSources,
  reader: Reader,
  tasks: Task[],
  known: TaskDefinition | undefined,
): Promise<DiagnosedLog[]> {
  if (tasks.length === 0) return [];
  const arn = tasks[0]?.taskDefinitionArn;
  const definition =
    known ??
    (arn
      ? (
          await reader.read("the task definition's log settings", "ecs:DescribeTaskDefinition", () =>
            sources.ecs.describeTaskDefinition(arn),
          )
        )?.taskDefinition
      : undefined);
  if (!definition) return [];
  const logs: DiagnosedLog[] = [];
  for (const task of tasks) {
    const taskId = taskIdOf(task.taskArn ?? "");
    const container = containerToRead(task, definition);
    const where = awslogsStream(container, taskId, sources.region);
    if (!where) {
      reader.notes.push(
        `no log lines for container ${container?.name ?? "?"}: it does not log to CloudWatch Logs with an awslogs-stream-prefix`,
      );
      continue;
    }
    const lines = await reader.read(`the logs of ${where.stream}`, "logs:GetLogEvents", async () =>
      (await sources.logs(where.region)).lastLines(where.group, where.stream, LOG_LINES, sources.signal),
    );
    if (lines === null) continue;
    logs.push({
      taskId,
      container: container?.name ?? "",
      group: where.group,
      stream: where.stream,
      lines: lines.map((l) => sources.scrub(l.message)).reverse(),
    });
  }
  return logs;
}

/** When the load balancer has something to say about targets, the ELB cause quotes it. */
function withTargetsQuoted(causes: DiagnosedCause[], targets: DiagnosedTarget[]): void {
  const said = targets.find((t) => t.reason || t.description);
  if (!said) return;
  const quote = `the load balancer says ${said.id}${said.port ? `:${said.port}` : ""} is ${said.state}${said.reason ? ` (${said.reason}${said.description ? `: ${said.description}` : ""})` : ""}`;
  const elb = causes.find((c) => c.kind === "elb-health-check");
  if (elb) elb.explanation = `${elb.explanation}; ${quote}`;
}

function summaryOf(
  subject: Diagnosis["subject"],
  causes: DiagnosedCause[],
  looked: number,
  targets: DiagnosedTarget[],
): { summary: string; fix: string | null } {
  const top = causes[0];
  if (top) {
    const stopped = subject === "smoke test" ? "tasks" : "stopped tasks";
    const count = looked > 1 ? ` (${top.tasks} of ${looked} ${stopped})` : "";
    return { summary: `${top.title}: ${top.explanation}${count}`, fix: top.fix };
  }
  const unhealthy = targets.find((t) => t.state === "unhealthy");
  if (unhealthy) {
    return {
      summary: `the load balancer sees target ${unhealthy.id} as unhealthy${unhealthy.reason ? ` (${unhealthy.reason}${unhealthy.description ? `: ${unhealthy.description}` : ""})` : ""}`,
      fix: "make the target group's health check path and port match what the app serves, and let the load balancer's security group reach the task",
    };
  }
  return {
    summary:
      subject === "smoke test"
        ? "ECS and the load balancer report the new tasks as running; see the last log lines"
        : "no stopped task of this deployment was found to explain it",
    fix: null,
  };
}

/** Reads and explains; never throws, never sleeps. */
export async function gatherDiagnosis(
  sources: DiagnosisSources,
  request: DiagnosisRequest,
): Promise<Diagnosis> {
  const reader = new Reader();
  const calls = new CallCount(sources);
  const counted: DiagnosisSources = {
    ...sources,
    elb: async () => calls.watch(await sources.elb()),
    logs: async (region) => calls.watch(await sources.logs(region)),
  };
  const tasks = request.tasks ? await findTasks(counted, reader, request.tasks) : [];
  if (request.tasks === null)
    reader.notes.push("the deployment's id is unknown, so its tasks were not looked at");
  const classified = new Map<Task, Classified>();
  const images = new Map(
    (request.taskDefinition?.containerDefinitions ?? []).map((c) => [c.name ?? "", c.image ?? null]),
  );
  for (const task of tasks) {
    // After a failed smoke test the tasks may be running: nothing stopped them, so no cause to read.
    if (task.lastStatus !== "STOPPED" && request.subject === "smoke test") continue;
    classified.set(task, classifyTask(task, images.get(task.containers?.[0]?.name ?? "") ?? null));
  }
  const causes = rankCauses([...classified.values()]);
  const targets = await targetHealth(counted, reader, request.targetGroupArns);
  withTargetsQuoted(causes, targets);
  const toRead = classified.size === 0 ? tasks.slice(0, 1) : tasksWorthReading(tasks, classified);
  const logs = await lastLogLines(counted, reader, toRead, request.taskDefinition);
  const looked = request.subject === "smoke test" ? tasks.length : classified.size;
  return {
    subject: request.subject,
    ...summaryOf(request.subject, causes, looked, targets),
    causes,
    tasks: tasks.slice(0, TASKS_KEPT).map((t) => diagnosedTask(t, classified.get(t)?.kind ?? "unknown")),
    targets,
    logs,
    notes: reader.notes,
    calls: calls.total(),
  };
}

/** The calls the diagnosis sent, from the gateways' own lists (shared with the rest of the command). */
class CallCount {
  private readonly ecsBefore: number;
  private readonly watched = new Map<{ sent: string[] }, number>();

  constructor(private readonly sources: DiagnosisSources) {
    this.ecsBefore = sources.ecs.sent.length;
  }

  watch<T extends { sent: string[] }>(gateway: T): T {
    if (!this.watched.has(gateway)) this.watched.set(gateway, gateway.sent.length);
    return gateway;
  }

  total(): number {
    let total = this.sources.ecs.sent.length - this.ecsBefore;
    for (const [gateway, before] of this.watched) total += gateway.sent.length - before;
    return total;
  }
}
