/**
 * The rollout-speed section `plan` and `status` share: reads what decides how long a rollout takes
 * (the service's target groups and their deregistration delay from ELBv2; the grace period and the
 * percents from the service already read; the container health check from the task definition),
 * asks src/deploy/advisor.ts for the prediction and the advice, and prints it. Reads only; never
 * changes a setting.
 *
 * Calls: none without a load balancer; with one, 1 DescribeTargetGroups for all of the service's
 * target groups and 1 DescribeTargetGroupAttributes per target group (usually 2 in all). A load
 * balancer read that fails (AccessDenied, throttling...) becomes a note: the command still succeeds.
 */
import type { ContainerDefinition, DeploymentConfiguration, Service } from "@aws-sdk/client-ecs";
import type { TargetGroup } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elb } from "../aws/elb.js";
import type { Strategy } from "../config/schema.js";
import {
  ASSUMED_TASK_START_SECONDS,
  AWS_DEFAULTS,
  adviseRollout,
  type ContainerHealthCheck,
  formatSeconds,
  type LoadBalancerSettings,
  type RolloutAdvice,
  type RolloutSettings,
} from "../deploy/advisor.js";
import type { Progress } from "../report/progress.js";

export interface RolloutSpeedInput {
  service: Service;
  /** The containers of the revision the rollout would run (plan: the rendered one; status: the live one). */
  containers: ContainerDefinition[];
  containerName: string;
  /** The percents the rollout would use (plan: shipyard.json's; status: the service's). */
  deploymentConfiguration: DeploymentConfiguration;
  strategy: Strategy;
  bakeSeconds: number;
  elb: () => Promise<Elb>;
  signal?: AbortSignal;
}

export interface RolloutSpeed {
  predictedSeconds: number | null;
  batches: number;
  batchSize: number;
  dominatedBy: string | null;
  parts: Array<{ part: string; seconds: number }>;
  advice: RolloutAdvice["advice"];
  predictedWithAdviceSeconds: number | null;
  settings: RolloutSettings;
  /** What the prediction takes on trust, and what could not be read. */
  assumptions: string[];
  notes: string[];
  /** ELBv2 calls this section made. */
  loadBalancerCalls: number;
}

/** Reads the settings, predicts, advises. Never throws for a load balancer read: that becomes a note. */
export async function rolloutSpeed(input: RolloutSpeedInput): Promise<RolloutSpeed> {
  const notes: string[] = [];
  const { loadBalancer, calls } = await readLoadBalancer(input, notes);
  const container =
    input.containers.find((c) => c.name === input.containerName) ?? input.containers[0] ?? undefined;
  const settings: RolloutSettings = {
    desiredCount: input.service.desiredCount ?? 0,
    maximumPercent: input.deploymentConfiguration.maximumPercent ?? 200,
    minimumHealthyPercent: input.deploymentConfiguration.minimumHealthyPercent ?? 100,
    healthCheckGracePeriodSeconds: input.service.healthCheckGracePeriodSeconds ?? 0,
    loadBalancer,
    containerHealthCheck: containerHealthCheck(container),
    stopTimeoutSeconds: container?.stopTimeout ?? null,
    taskStartSeconds: ASSUMED_TASK_START_SECONDS,
    bakeSeconds: input.bakeSeconds,
    allAtOnce: input.strategy !== "rolling",
  };
  const result = adviseRollout(settings);
  return {
    predictedSeconds: result.now.seconds,
    batches: result.now.batches,
    batchSize: result.now.batchSize,
    dominatedBy: result.now.dominatedBy,
    parts: result.now.parts,
    advice: result.advice,
    predictedWithAdviceSeconds: result.withAdvice.seconds,
    settings,
    assumptions: [
      `task start ${ASSUMED_TASK_START_SECONDS} s (provisioning, image pull, boot: not a setting ECS reports)`,
    ],
    notes,
    loadBalancerCalls: calls,
  };
}

function containerHealthCheck(container: ContainerDefinition | undefined): ContainerHealthCheck | null {
  const check = container?.healthCheck;
  if (!check) return null;
  return {
    intervalSeconds: check.interval ?? AWS_DEFAULTS.containerHealthCheckIntervalSeconds,
    retries: check.retries ?? 3,
    startPeriodSeconds: check.startPeriod ?? 0,
  };
}

/** The slowest of the service's target groups (health checks + draining), or null without one. */
async function readLoadBalancer(
  input: RolloutSpeedInput,
  notes: string[],
): Promise<{ loadBalancer: LoadBalancerSettings | null; calls: number }> {
  const arns = [
    ...new Set(
      (input.service.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((a) => a !== undefined),
    ),
  ];
  if (arns.length === 0) return { loadBalancer: null, calls: 0 };
  let elb: Elb | undefined;
  const before = () => elb?.sent.length ?? 0;
  let start = 0;
  try {
    elb = await input.elb();
    start = before();
    const groups = await elb.describeTargetGroups(arns, input.signal);
    const settings: LoadBalancerSettings[] = [];
    for (const group of groups) {
      const attributes = await elb.describeTargetGroupAttributes(group.TargetGroupArn!, input.signal);
      settings.push(loadBalancerSettings(group, attributes));
    }
    const slowest = settings.reduce<LoadBalancerSettings | null>(
      (a, b) => (a === null || pace(b) > pace(a) ? b : a),
      null,
    );
    return { loadBalancer: slowest, calls: before() - start };
  } catch (error) {
    notes.push(unreadableNote(error));
    return { loadBalancer: null, calls: before() - start };
  }
}

const pace = (lb: LoadBalancerSettings) =>
  lb.healthCheckIntervalSeconds * lb.healthyThresholdCount + lb.deregistrationDelaySeconds;

function loadBalancerSettings(group: TargetGroup, attributes: Record<string, string>): LoadBalancerSettings {
  const delay = Number(attributes["deregistration_delay.timeout_seconds"]);
  return {
    targetGroup: group.TargetGroupName ?? group.TargetGroupArn ?? "(unnamed)",
    healthCheckIntervalSeconds: group.HealthCheckIntervalSeconds ?? AWS_DEFAULTS.healthCheckIntervalSeconds,
    healthyThresholdCount: group.HealthyThresholdCount ?? AWS_DEFAULTS.healthyThresholdCount,
    deregistrationDelaySeconds: Number.isFinite(delay) ? delay : AWS_DEFAULTS.deregistrationDelaySeconds,
  };
}

function unreadableNote(error: unknown): string {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const denied = /AccessDenied/.test(name);
  return denied
    ? `rollout speed: the load balancer's settings could not be read (${name}); the prediction leaves the target group out (its health checks and deregistration delay). Allow elasticloadbalancing:DescribeTargetGroups and elasticloadbalancing:DescribeTargetGroupAttributes (docs/iam-policy.json) to have them read.`
    : `rollout speed: the load balancer's settings could not be read (${name}: ${message}); the prediction leaves the target group out.`;
}

/** The section in the human output: the prediction, what dominates, the advice. */
export function printRolloutSpeed(progress: Progress, speed: RolloutSpeed): void {
  if (speed.predictedSeconds === null) {
    progress.info(
      `  rollout speed: maximumPercent ${speed.settings.maximumPercent}% and minimumHealthyPercent ${speed.settings.minimumHealthyPercent}% leave ECS no room to replace a task; widen them in shipyard.json (deployment)`,
    );
    return;
  }
  if (speed.batches === 0) {
    progress.info("  rollout speed: the service wants no tasks; a rollout has nothing to replace");
    return;
  }
  const parts = speed.parts.map((p) => `${p.part} ${formatSeconds(p.seconds)}`).join(" + ");
  progress.info(
    `  rollout speed: at least ${formatSeconds(speed.predictedSeconds)} with the current settings (${speed.batches} batch${speed.batches === 1 ? "" : "es"} of ${speed.batchSize}: ${parts}); dominated by the ${speed.dominatedBy}`,
  );
  for (const advice of speed.advice) {
    progress.info(
      `    ${advice.setting} ${advice.from} → ${advice.to}: ${advice.why} (−${formatSeconds(advice.savesSeconds)}, then ${formatSeconds(advice.predictedSeconds)})`,
    );
  }
  if (speed.advice.length > 0 && speed.predictedWithAdviceSeconds !== null) {
    progress.info(
      `    with all of them: ${formatSeconds(speed.predictedWithAdviceSeconds)} (Shipyard changes none of these settings)`,
    );
  } else {
    progress.info("    nothing to shorten: the settings are already tight");
  }
  for (const note of speed.notes) progress.info(`    note: ${note}`);
}
