/**
 * Putting the service back on a known revision, and confirming it. Used by deploy (after a failed
 * rollout or verification) and by rollback.
 *
 * While our deployment is in flight, StopServiceDeployment(ROLLBACK) lets ECS return to the exact
 * previous service revision; once it completed (or on endpoints without that API), UpdateService to
 * the recorded previous task definition. Nothing is ever deregistered: a service cannot be pointed at
 * an INACTIVE task definition.
 *
 * Several services (an environment's web and workers) are restored together: every restore starts
 * at once, then one wait confirms them all.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, isUnsupportedOperation, type ServiceRef, shortArn } from "../aws/ecs.js";
import type { DeploymentSettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { strategies } from "./strategies.js";
import { type ServiceChange, type WaitShared, type Watch, waitForDeployments } from "./wait.js";

export interface RestoreOptions extends ServiceChange {
  /** Our in-flight service deployment, when known: stopped with ROLLBACK rather than replaced. */
  inFlightServiceDeploymentArn?: string | null;
}

export type RestoreResult =
  | { confirmed: true; how: string; seconds: number }
  | { confirmed: false; how: string; reason: string; seconds: number };

/** A restore that started, and what its wait watches. */
interface Started {
  options: RestoreOptions;
  how: string;
  watch: Watch;
}

/** One service: `restoreRevisions` with a list of one. */
export async function restoreRevision(options: RestoreOptions): Promise<RestoreResult> {
  const [result] = await restoreRevisions([options]);
  return result!;
}

/**
 * Every service at once: each restore starts in parallel, then one shared wait confirms them all.
 * A restore is never given up because another failed: each service gets its own verdict, in the
 * order of `options`.
 */
export async function restoreRevisions(options: RestoreOptions[]): Promise<RestoreResult[]> {
  if (options.length === 0) return [];
  const { clock } = options[0]!;
  const startedAt = clock.now();
  const seconds = () => Math.round((clock.now() - startedAt) / 1000);
  const several = options.length > 1;
  const begun = await Promise.all(options.map((o) => begin(o, several, seconds)));
  const started = begun.filter((b): b is Started => "watch" in b);
  const waited =
    started.length === 0
      ? []
      : await waitForDeployments(
          { ...sharedOf(started), secondsFrom: startedAt },
          started.map((s) => s.watch),
          { stopOnFirstFailure: false },
        );
  const confirmed = new Map(
    started.map((s, i): [Started, RestoreResult] => {
      // Each restore's own time, from its start until its wait ended (not the slowest one's).
      const { seconds: took, ...result } = waited[i]!;
      return [
        s,
        result.status === "completed"
          ? { confirmed: true, how: s.how, seconds: took }
          : { confirmed: false, how: s.how, reason: result.reason, seconds: took },
      ];
    }),
  );
  return begun.map((b) => ("watch" in b ? confirmed.get(b)! : b));
}

/**
 * Starts one restore: waits for ECS's own rollback when the circuit breaker already started one,
 * else StopServiceDeployment(ROLLBACK) for an in-flight deployment, else UpdateService. A restore
 * that could not start is already its (unconfirmed) result.
 */
async function begin(
  options: RestoreOptions,
  several: boolean,
  seconds: () => number,
): Promise<Started | RestoreResult> {
  const { ecs, ref, progress } = options;
  const target = options.taskDefinitionArn;
  // Several services may share a task definition family: then progress lines name the service.
  const service = several ? `${ref.service} ` : "";
  let how: string;
  let deploymentId: string | undefined;
  let serviceDeploymentArn: string | undefined;
  try {
    const lookup = await ecs.describeService(ref);
    if (!lookup.found) return { confirmed: false, how: "none", reason: lookup.reason, seconds: seconds() };
    if (ecsIsAlreadyRestoring(lookup.service, target)) {
      how = "ECS circuit breaker rollback";
      progress.info(`ECS is already rolling ${service}back to ${shortArn(target)}; waiting for it.`);
      serviceDeploymentArn = options.inFlightServiceDeploymentArn ?? undefined;
    } else {
      const stopped = options.inFlightServiceDeploymentArn
        ? await stopWithRollback(ecs, options.inFlightServiceDeploymentArn, progress, service)
        : false;
      if (stopped) {
        how = "StopServiceDeployment(ROLLBACK)";
        serviceDeploymentArn = options.inFlightServiceDeploymentArn ?? undefined;
      } else {
        how = "UpdateService to the previous revision";
        progress.info(`Restoring ${service}${service ? "to " : ""}${shortArn(target)} with UpdateService.`);
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
  const watch: Watch = {
    ref,
    timeoutSeconds: options.settings.rollbackTimeoutSeconds + strategy.bakeSeconds(options.settings),
    strategy,
    target: {
      purpose: "restore",
      taskDefinitionArn: target,
      ...(deploymentId ? { deploymentId } : {}),
      ...(serviceDeploymentArn ? { serviceDeploymentArn } : {}),
    },
    events: options.events,
    // Services of one environment may share a task definition family: then name the service too.
    label: several ? `rollback of ${ref.service} to ${shortArn(target)}` : `rollback to ${shortArn(target)}`,
  };
  return { options, how, watch };
}

/** One loop for all: the first restore's gateway, clock and output, the shortest poll interval. */
function sharedOf(started: Started[]): WaitShared {
  const { ecs, clock, progress, signal } = started[0]!.options;
  const pollSeconds = Math.min(...started.map((s) => s.options.settings.pollSeconds));
  return { ecs, clock, progress, signal, pollSeconds };
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

async function stopWithRollback(
  ecs: Ecs,
  arn: string,
  progress: Progress,
  service: string,
): Promise<boolean> {
  try {
    await ecs.stopServiceDeployment(arn);
    progress.info(
      `Stopped our deployment ${service ? `of ${service}` : ""}with ROLLBACK: ECS returns to the previous revision.`,
    );
    return true;
  } catch (error) {
    // Already finished (ConflictException) or an endpoint without the API: UpdateService instead.
    if (!isUnsupportedOperation(error)) {
      progress.warn(
        `StopServiceDeployment ${service ? `of ${service}` : ""}was refused (${awsErrorName(error)}); using UpdateService instead.`,
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
