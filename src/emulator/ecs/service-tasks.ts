/**
 * A service's tasks in the emulator: the ones each deployment runs, and the stopped ones of a failing
 * deployment with the reason ECS gives — chosen per image (`sim.failures.set(image, TASK_FAILURES.outOfMemory)`)
 * — which is what a deploy's diagnosis reads (ListTasks by deployment id, DescribeTasks), together
 * with the load balancer's view of their targets and the lines the failed containers logged.
 *
 * The reasons are worded as ECS words them; see "Amazon ECS stopped task error messages" in the
 * Amazon ECS Developer Guide (docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
 */

/** Why the tasks of a failing deployment stop, as DescribeTasks reports it. */
export interface TaskFailure {
  stopCode: "TaskFailedToStart" | "EssentialContainerExited" | "ServiceSchedulerInitiated";
  stoppedReason: string;
  /** The container's own `reason`. */
  containerReason?: string;
  /** Absent: the container never ran. */
  exitCode?: number;
  healthStatus?: "UNHEALTHY";
  /** What the container logged before it stopped (to its awslogs stream, when it has one). */
  logs?: readonly string[];
  /** How the load balancer sees the failing tasks while they run (absent: they never became targets). */
  target?: { state: string; reason: string; description: string };
}

export const TASK_FAILURES = {
  imageNotFound: {
    stopCode: "TaskFailedToStart",
    stoppedReason:
      "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2: not found",
    containerReason: "CannotPullContainerError: failed to resolve ref: not found",
  },
  registryUnreachable: {
    stopCode: "TaskFailedToStart",
    stoppedReason:
      'CannotPullContainerError: ref pull has been retried 5 time(s): failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/": dial tcp 52.218.1.1:443: i/o timeout',
    containerReason: "CannotPullContainerError",
  },
  secretsDenied: {
    stopCode: "TaskFailedToStart",
    stoppedReason:
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/abc is not authorized to perform: secretsmanager:GetSecretValue",
  },
  outOfMemory: {
    stopCode: "EssentialContainerExited",
    stoppedReason: "Essential container in task exited",
    containerReason: "OutOfMemoryError: Container killed due to memory usage",
    exitCode: 137,
    logs: [
      "listening on :3000",
      "<--- Last few GCs --->",
      "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    ],
  },
  crash: {
    stopCode: "EssentialContainerExited",
    stoppedReason: "Essential container in task exited",
    exitCode: 1,
    logs: [
      "starting app v2",
      "Error: DATABASE_URL is not set",
      "    at loadConfig (/app/dist/config.js:12:11)",
    ],
  },
  elbHealthCheck: {
    stopCode: "ServiceSchedulerInitiated",
    stoppedReason:
      "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef)",
    exitCode: 143,
    logs: ["listening on :8080", "GET /health 404"],
    target: {
      state: "unhealthy",
      reason: "Target.ResponseCodeMismatch",
      description: "Health checks failed with these codes: [404]",
    },
  },
  containerHealthCheck: {
    stopCode: "ServiceSchedulerInitiated",
    stoppedReason: "Task failed container health checks",
    healthStatus: "UNHEALTHY",
    exitCode: 143,
    logs: ["listening on :3000", "/bin/sh: curl: not found"],
  },
} as const satisfies Record<string, TaskFailure>;

export interface ServiceTask {
  arn: string;
  id: string;
  cluster: string;
  service: string;
  taskDefinitionArn: string;
  /** The deployment that started it (ECS puts its id in `startedBy`). */
  startedBy: string;
  container: string;
  ip: string;
  createdAtMs: number;
  startedAtMs?: number;
  stoppedAtMs?: number;
  stopCode?: string;
  stoppedReason?: string;
  failure?: TaskFailure;
}

/** A load balancer target group the emulator answers DescribeTargetHealth/DescribeTargetGroups for. */
export interface SimTargetGroup {
  arn: string;
  name: string;
  port: number;
  healthCheckPath: string;
  /** Health check interval and passes in a row (AWS defaults: 30 s, 5). */
  healthCheckIntervalSeconds: number;
  healthyThresholdCount: number;
  /** deregistration_delay.timeout_seconds (AWS default: 300). */
  deregistrationDelaySeconds: number;
}

/** DescribeTasks' view of a service task. */
export function serviceTaskView(task: ServiceTask, region: string, account: string): Record<string, unknown> {
  const failure = task.failure;
  const stopped = task.stoppedAtMs !== undefined;
  const ran = failure === undefined || failure.exitCode !== undefined;
  const container = {
    name: task.container,
    taskArn: task.arn,
    lastStatus: stopped ? "STOPPED" : "RUNNING",
    ...(stopped && failure?.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
    ...(stopped && !failure ? { exitCode: 0 } : {}),
    ...(failure?.containerReason ? { reason: failure.containerReason } : {}),
    ...(failure?.healthStatus ? { healthStatus: failure.healthStatus } : {}),
  };
  return {
    taskArn: task.arn,
    clusterArn: `arn:aws:ecs:${region}:${account}:cluster/${task.cluster}`,
    taskDefinitionArn: task.taskDefinitionArn,
    startedBy: task.startedBy,
    group: `service:${task.service}`,
    launchType: "FARGATE",
    createdAt: new Date(task.createdAtMs),
    ...(task.startedAtMs !== undefined && ran ? { startedAt: new Date(task.startedAtMs) } : {}),
    lastStatus: stopped ? "STOPPED" : "RUNNING",
    desiredStatus: stopped ? "STOPPED" : "RUNNING",
    ...(failure?.healthStatus ? { healthStatus: failure.healthStatus } : {}),
    ...(stopped
      ? {
          stoppedAt: new Date(task.stoppedAtMs!),
          stopCode: task.stopCode ?? failure?.stopCode,
          stoppedReason: task.stoppedReason ?? failure?.stoppedReason,
        }
      : {}),
    containers: [container],
    attachments: [
      {
        type: "ElasticNetworkInterface",
        status: stopped ? "DELETED" : "ATTACHED",
        details: [{ name: "privateIPv4Address", value: task.ip }],
      },
    ],
  };
}
