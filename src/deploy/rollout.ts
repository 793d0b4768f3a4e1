/**
 * Rolling a registered revision out: UpdateService with the strategy's deployment settings, then
 * waiting on OUR deployment (its id from the UpdateService answer, its service deployment for the
 * native strategies). When UpdateService fails, look before deciding whether it took effect.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, type ServiceRef, shortArn } from "../aws/ecs.js";
import { type StrategyPlan, strategies } from "./strategies.js";
import { type ServiceChange, waitForDeployment } from "./wait.js";

export type RolloutOptions = ServiceChange;

export type RolloutResult =
  /** Our deployment is PRIMARY, COMPLETED, and runs our revision. */
  | { status: "completed"; seconds: number; service: Service }
  /** It failed or timed out: the previous revision must be restored. */
  | { status: "failed"; reason: string; service: Service | null; inFlight: boolean; updatedAt: number }
  /** UpdateService did not take effect: the service still runs what it ran. */
  | { status: "not-updated"; reason: string; settingsRefused: boolean }
  /** Interrupted, unreadable, or unknown whether UpdateService took effect: a person must look. */
  | { status: "unknown"; reason: string };

export async function rollOut(options: RolloutOptions): Promise<RolloutResult> {
  const { ecs, ref, progress, settings } = options;
  const strategy = strategies[settings.strategy];
  const updatedAt = options.clock.now();
  let ids: { deploymentId?: string; serviceDeploymentArn?: string };
  try {
    ids = await update(options, strategy);
  } catch (error) {
    return updateFailed(ecs, ref, options.taskDefinitionArn, error);
  }
  const label = `rollout of ${shortArn(options.taskDefinitionArn)}`;
  const result = await waitForDeployment({
    ecs,
    ref,
    clock: options.clock,
    progress,
    signal: options.signal,
    pollSeconds: settings.pollSeconds,
    timeoutSeconds: settings.timeoutSeconds + strategy.bakeSeconds(settings),
    strategy,
    target: { purpose: "rollout", taskDefinitionArn: options.taskDefinitionArn, ...ids },
    events: options.events,
    label,
  });
  switch (result.status) {
    case "completed":
      progress.info(`Rollout of ${shortArn(options.taskDefinitionArn)} completed in ${result.seconds}s.`);
      return { status: "completed", seconds: result.seconds, service: result.service };
    case "aborted":
    case "unknown":
      return { status: "unknown", reason: `${result.reason}; the rollout may still be running` };
    default:
      return {
        status: "failed",
        reason: `the rollout failed: ${result.reason}`,
        service: result.service,
        inFlight: result.status === "timeout",
        updatedAt,
      };
  }
}

async function update(options: RolloutOptions, strategy: StrategyPlan) {
  const startedAt = options.clock.now();
  const arn = options.taskDefinitionArn;
  const service = await options.ecs.updateService(options.ref, arn, strategy.configure(options.settings));
  const deploymentId = service?.deployments?.find(
    (d) => d.status === "PRIMARY" && d.taskDefinition === arn,
  )?.id;
  const serviceDeploymentArn = strategy.readsServiceDeployment
    ? await options.ecs.findServiceDeployment(options.ref, startedAt)
    : null;
  options.progress.info(
    `UpdateService accepted: deployment ${deploymentId ?? "(not reported by this endpoint)"}, strategy ${strategy.ecsName}.`,
  );
  return {
    ...(deploymentId ? { deploymentId } : {}),
    ...(serviceDeploymentArn ? { serviceDeploymentArn } : {}),
  };
}

/** UpdateService failed after retries: did it take effect? Look before deciding. */
async function updateFailed(
  ecs: Ecs,
  ref: ServiceRef,
  taskDefinitionArn: string,
  error: unknown,
): Promise<RolloutResult> {
  const why = `UpdateService failed (${awsErrorName(error)}: ${(error as Error).message})`;
  try {
    const lookup = await ecs.describeService(ref);
    if (lookup.found && lookup.service.taskDefinition !== taskDefinitionArn) {
      // ECS refusing the settings (e.g. blue-green without its load balancer setup) is a config problem.
      const settingsRefused = ["ClientException", "InvalidParameterException"].includes(awsErrorName(error));
      return {
        status: "not-updated",
        reason: `${why}; the service was not changed and still runs ${shortArn(lookup.service.taskDefinition)}`,
        settingsRefused,
      };
    }
  } catch {
    // Fall through: we cannot tell whether the update happened.
  }
  return { status: "unknown", reason: `${why}; whether the service changed is unknown` };
}
