/**
 * Putting the service back on a known revision, and confirming it. Used by deploy (after a failed
 * rollout or verification) and by rollback.
 *
 * While our deployment is in flight, StopServiceDeployment(ROLLBACK) lets ECS return to the exact
 * previous service revision; once it completed (or on endpoints without that API), UpdateService to
 * the recorded previous task definition. Nothing is ever deregistered: a service cannot be pointed at
 * an INACTIVE task definition.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, isUnsupportedOperation, type ServiceRef, shortArn } from "../aws/ecs.js";
import type { DeploymentSettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { strategies } from "./strategies.js";
import { type ServiceChange, waitForDeployment } from "./wait.js";

export interface RestoreOptions extends ServiceChange {
  /** Our in-flight service deployment, when known: stopped with ROLLBACK rather than replaced. */
  inFlightServiceDeploymentArn?: string | null;
}

export type RestoreResult =
  | { confirmed: true; how: string; seconds: number }
  | { confirmed: false; how: string; reason: string; seconds: number };

export async function restoreRevision(options: RestoreOptions): Promise<RestoreResult> {
  const { ecs, ref, progress, clock } = options;
  const started = clock.now();
  const seconds = () => Math.round((clock.now() - started) / 1000);
  const target = options.taskDefinitionArn;
  let how: string;
  let deploymentId: string | undefined;
  let serviceDeploymentArn: string | undefined;
  try {
    const lookup = await ecs.describeService(ref);
    if (!lookup.found) return { confirmed: false, how: "none", reason: lookup.reason, seconds: seconds() };
    if (ecsIsAlreadyRestoring(lookup.service, target)) {
      how = "ECS circuit breaker rollback";
      progress.info(`ECS is already rolling back to ${shortArn(target)}; waiting for it.`);
      serviceDeploymentArn = options.inFlightServiceDeploymentArn ?? undefined;
    } else {
      const stopped = options.inFlightServiceDeploymentArn
        ? await stopWithRollback(ecs, options.inFlightServiceDeploymentArn, progress)
        : false;
      if (stopped) {
        how = "StopServiceDeployment(ROLLBACK)";
        serviceDeploymentArn = options.inFlightServiceDeploymentArn ?? undefined;
      } else {
        how = "UpdateService to the previous revision";
        progress.info(`Restoring ${shortArn(target)} with UpdateService.`);
        deploymentId = await updateTo(ecs, ref, target, options.settings);
      }
    }
  } catch (error) {
    return {
      confirmed: false,
      how: "none",
      reason: `could not start the rollback: ${awsErrorName(error)}: ${(error as Error).message}`,
      seconds: seconds(),
    };
  }
  const strategy = strategies[options.settings.strategy];
  const result = await waitForDeployment({
    ecs,
    ref,
    clock,
    progress,
    signal: options.signal,
    pollSeconds: options.settings.pollSeconds,
    timeoutSeconds: options.settings.rollbackTimeoutSeconds + strategy.bakeSeconds(options.settings),
    strategy,
    target: {
      purpose: "restore",
      taskDefinitionArn: target,
      ...(deploymentId ? { deploymentId } : {}),
      ...(serviceDeploymentArn ? { serviceDeploymentArn } : {}),
    },
    events: options.events,
    label: `rollback to ${shortArn(target)}`,
  });
  if (result.status === "completed") return { confirmed: true, how, seconds: seconds() };
  return { confirmed: false, how, reason: result.reason, seconds: seconds() };
}

/** The circuit breaker already started a rollback to our target: do not start a second one. */
function ecsIsAlreadyRestoring(service: Service, target: string): boolean {
  const primary = service.deployments?.find((d) => d.status === "PRIMARY");
  return (
    service.taskDefinition === target &&
    primary?.taskDefinition === target &&
    primary.rolloutState !== "FAILED"
  );
}

async function stopWithRollback(ecs: Ecs, arn: string, progress: Progress): Promise<boolean> {
  try {
    await ecs.stopServiceDeployment(arn);
    progress.info("Stopped our deployment with ROLLBACK: ECS returns to the previous revision.");
    return true;
  } catch (error) {
    // Already finished (ConflictException) or an endpoint without the API: UpdateService instead.
    if (!isUnsupportedOperation(error)) {
      progress.warn(
        `StopServiceDeployment was refused (${awsErrorName(error)}); using UpdateService instead.`,
      );
    }
    return false;
  }
}

/** UpdateService to a revision; returns the new deployment's id when the endpoint reports it. */
export async function updateTo(
  ecs: Ecs,
  ref: ServiceRef,
  taskDefinitionArn: string,
  settings: DeploymentSettings,
): Promise<string | undefined> {
  const service = await ecs.updateService(
    ref,
    taskDefinitionArn,
    strategies[settings.strategy].configure(settings),
  );
  return service?.deployments?.find((d) => d.status === "PRIMARY" && d.taskDefinition === taskDefinitionArn)
    ?.id;
}
