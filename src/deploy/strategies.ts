/**
 * The deployment strategies, picked once per deploy: each is a table entry of functions (how to
 * configure UpdateService, how long a rollout may take, how to judge it), so the controller never
 * branches on the strategy name.
 *
 * Judging rules: success only when OUR deployment is PRIMARY and complete and the
 * service runs our revision; FAILED, or the service no longer running our revision, is a failure.
 * Endpoints without rolloutState (moto) are judged by deployment and task counts instead.
 */
import type { DeploymentConfiguration, Service, ServiceDeployment } from "@aws-sdk/client-ecs";
import { shortArn } from "../aws/ecs.js";
import type { DeploymentSettings, Strategy } from "../config/schema.js";

/** What a wait is watching for. */
export interface WaitTarget {
  /** "rollout": our new revision; "restore": back to the previous one. */
  purpose: "rollout" | "restore";
  taskDefinitionArn: string;
  /** Our deployment's id (from the UpdateService answer), when the endpoint reports one. */
  deploymentId?: string;
  /** Our service deployment's ARN, when the endpoint has that API. */
  serviceDeploymentArn?: string;
}

export interface Observation {
  service: Service;
  serviceDeployment: ServiceDeployment | null;
}

export type Judgement =
  | { state: "in_progress"; summary: string }
  | { state: "completed"; summary: string }
  | { state: "failed"; reason: string };

export interface StrategyPlan {
  ecsName: NonNullable<DeploymentConfiguration["strategy"]>;
  /** The deploymentConfiguration UpdateService sends. */
  configure(settings: DeploymentSettings): DeploymentConfiguration;
  /**
   * Time both revisions stay up on purpose (bake, canary and linear steps): added to the rollout and
   * rollback timeouts, which count only the time tasks need to become healthy.
   */
  bakeSeconds(settings: DeploymentSettings): number;
  /** Whether each poll also reads our service deployment (native strategies finish after bake time). */
  readsServiceDeployment: boolean;
  judge(observation: Observation, target: WaitTarget): Judgement;
}

function common(settings: DeploymentSettings): DeploymentConfiguration {
  return {
    maximumPercent: settings.maximumPercent,
    minimumHealthyPercent: settings.minimumHealthyPercent,
    deploymentCircuitBreaker: {
      enable: settings.circuitBreaker.enable,
      rollback: settings.circuitBreaker.rollback,
    },
    ...(settings.alarms
      ? { alarms: { alarmNames: settings.alarms.names, enable: true, rollback: settings.alarms.rollback } }
      : {}),
  };
}

function progressSummary(service: Service): string {
  const primary = service.deployments?.find((d) => d.status === "PRIMARY");
  const parts = [
    `${service.runningCount ?? 0}/${service.desiredCount ?? 0} running`,
    `${service.deployments?.length ?? 0} deployment(s)`,
  ];
  if (primary?.rolloutState) parts.push(`rollout ${primary.rolloutState}`);
  if (primary?.failedTasks) parts.push(`${primary.failedTasks} failed task(s)`);
  return parts.join(", ");
}

/** Judges by the service's deployments list (DescribeServices only). */
export function judgeByDeployments(observation: Observation, target: WaitTarget): Judgement {
  const { service } = observation;
  const summary = progressSummary(service);
  if (service.status !== "ACTIVE") return { state: "failed", reason: `the service became ${service.status}` };
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === "PRIMARY");
  const ours =
    (target.deploymentId ? deployments.find((d) => d.id === target.deploymentId) : undefined) ??
    (primary?.taskDefinition === target.taskDefinitionArn ? primary : undefined);
  if (ours?.rolloutState === "FAILED") {
    return {
      state: "failed",
      reason: `deployment ${ours.id} failed: ${(ours.rolloutStateReason ?? "no reason given").replace(/\.$/, "")}`,
    };
  }
  if (service.taskDefinition !== target.taskDefinitionArn) {
    if (target.purpose === "restore") return { state: "in_progress", summary };
    return {
      state: "failed",
      reason: `the service now runs ${shortArn(service.taskDefinition)} instead of ${shortArn(target.taskDefinitionArn)} (replaced or rolled back by ECS)`,
    };
  }
  if (ours !== undefined && ours.status !== "PRIMARY") {
    return {
      state: "failed",
      reason: `deployment ${ours.id} is no longer PRIMARY (${primary?.id} replaced it)`,
    };
  }
  if (ours?.rolloutState === "COMPLETED" && primary === ours) return { state: "completed", summary };
  if (ours?.rolloutState === undefined && countsSettled(service)) return { state: "completed", summary };
  return { state: "in_progress", summary };
}

/** Fallback for endpoints without rolloutState: one deployment left and every task running. */
function countsSettled(service: Service): boolean {
  const deployments = service.deployments ?? [];
  return (
    deployments.length <= 1 &&
    (service.runningCount ?? 0) >= (service.desiredCount ?? 0) &&
    (service.pendingCount ?? 0) === 0
  );
}

const ROLLBACK_FAILED = new Set(["ROLLBACK_FAILED"]);
const ROLLED_BACK = new Set(["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]);
const STOPPED = new Set(["STOPPED", "STOP_REQUESTED"]);

/**
 * Native strategies finish after their bake time: the service deployment's status is the truth;
 * without that API, fall back to the deployments list.
 */
export function judgeByServiceDeployment(observation: Observation, target: WaitTarget): Judgement {
  const sd = observation.serviceDeployment;
  const byDeployments = judgeByDeployments(observation, target);
  if (sd?.status === undefined) return byDeployments;
  const status = sd.status;
  const reason = sd.statusReason ? `: ${sd.statusReason}` : "";
  if (target.purpose === "restore") {
    if (ROLLBACK_FAILED.has(status)) return { state: "failed", reason: `the rollback failed${reason}` };
    if ((status === "ROLLBACK_SUCCESSFUL" || status === "SUCCESSFUL") && byDeployments.state !== "failed") {
      return {
        state: "completed",
        summary: byDeployments.state === "in_progress" ? byDeployments.summary : "",
      };
    }
    return byDeployments.state === "failed" ? byDeployments : { state: "in_progress", summary: `${status}` };
  }
  if (ROLLED_BACK.has(status) || ROLLBACK_FAILED.has(status)) {
    return { state: "failed", reason: `ECS is rolling the deployment back (${status}${reason})` };
  }
  if (STOPPED.has(status))
    return { state: "failed", reason: `the deployment was stopped (${status}${reason})` };
  if (status === "SUCCESSFUL") {
    return byDeployments.state === "failed" ? byDeployments : { state: "completed", summary: "SUCCESSFUL" };
  }
  if (byDeployments.state === "failed") return byDeployments;
  const summary = byDeployments.state === "in_progress" ? byDeployments.summary : "";
  return {
    state: "in_progress",
    summary: `${status}${sd.lifecycleStage ? ` ${sd.lifecycleStage}` : ""}; ${summary}`,
  };
}

const minutes = (m: number | undefined) => (m ?? 0) * 60;

export const strategies: Record<Strategy, StrategyPlan> = {
  rolling: {
    ecsName: "ROLLING",
    configure: (s) => ({ ...common(s), strategy: "ROLLING" }),
    bakeSeconds: () => 0,
    readsServiceDeployment: false,
    judge: judgeByDeployments,
  },
  "blue-green": {
    ecsName: "BLUE_GREEN",
    configure: (s) => ({
      ...common(s),
      strategy: "BLUE_GREEN",
      ...(s.bakeTimeMinutes !== undefined ? { bakeTimeInMinutes: s.bakeTimeMinutes } : {}),
    }),
    bakeSeconds: (s) => minutes(s.bakeTimeMinutes),
    readsServiceDeployment: true,
    judge: judgeByServiceDeployment,
  },
  canary: {
    ecsName: "CANARY",
    configure: (s) => ({
      ...common(s),
      strategy: "CANARY",
      canaryConfiguration: {
        canaryPercent: s.canaryPercent,
        canaryBakeTimeInMinutes: s.canaryBakeTimeMinutes,
      },
      ...(s.bakeTimeMinutes !== undefined ? { bakeTimeInMinutes: s.bakeTimeMinutes } : {}),
    }),
    bakeSeconds: (s) => minutes(s.canaryBakeTimeMinutes) + minutes(s.bakeTimeMinutes),
    readsServiceDeployment: true,
    judge: judgeByServiceDeployment,
  },
  linear: {
    ecsName: "LINEAR",
    configure: (s) => ({
      ...common(s),
      strategy: "LINEAR",
      linearConfiguration: {
        stepPercent: s.linearStepPercent,
        stepBakeTimeInMinutes: s.linearStepBakeTimeMinutes,
      },
      ...(s.bakeTimeMinutes !== undefined ? { bakeTimeInMinutes: s.bakeTimeMinutes } : {}),
    }),
    bakeSeconds: (s) =>
      Math.ceil(100 / s.linearStepPercent) * minutes(s.linearStepBakeTimeMinutes) +
      minutes(s.bakeTimeMinutes),
    readsServiceDeployment: true,
    judge: judgeByServiceDeployment,
  },
};
