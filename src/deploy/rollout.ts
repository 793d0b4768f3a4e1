/**
 * Rolling a registered revision out: UpdateService with the strategy's deployment settings, then
 * waiting on OUR deployment (its id from the UpdateService answer, its service deployment for the
 * native strategies). When UpdateService fails, look before deciding whether it took effect.
 *
 * Several services (an environment's web and workers, one image) roll out together: every
 * UpdateService at once, then one wait that reads them all in each poll.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, type ServiceRef, shortArn } from "../aws/ecs.js";
import { type StrategyPlan, strategies } from "./strategies.js";
import {
  type ServiceChange,
  type WaitShared,
  type Watch,
  type WatchResult,
  waitForDeployments,
} from "./wait.js";

export type RolloutOptions = ServiceChange;

export type RolloutResult =
  /** Our deployment is PRIMARY, COMPLETED, and runs our revision. */
  | { status: "completed"; seconds: number; service: Service }
  /** It failed or timed out: the previous revision must be restored. */
  | { status: "failed"; reason: string; service: Service | null; inFlight: boolean; updatedAt: number }
  /** Another service of the same rollout failed first: no longer waited on, restore it as in flight. */
  | { status: "stopped"; reason: string; service: Service | null; inFlight: true; updatedAt: number }
  /** UpdateService did not take effect: the service still runs what it ran. */
  | { status: "not-updated"; reason: string; settingsRefused: boolean }
  /** Interrupted, unreadable, or unknown whether UpdateService took effect: a person must look. */
  | { status: "unknown"; reason: string };

/** A service whose UpdateService took effect, and what its wait watches. */
interface Updated {
  options: RolloutOptions;
  updatedAt: number;
  watch: Watch;
  /** How progress lines name it: the revision, and the service when there are several. */
  what: string;
}

/** A service whose UpdateService did not take effect (or may not have): its result already. */
interface NotUpdated {
  options: RolloutOptions;
  result: RolloutResult;
}

/** One service: `rollOutAll` with a list of one. */
export async function rollOut(options: RolloutOptions): Promise<RolloutResult> {
  const [result] = await rollOutAll([options], { stopOnFirstFailure: false });
  return result!;
}

/**
 * Every service at once: all UpdateServices in parallel, then one shared wait for those that took
 * effect. With `stopOnFirstFailure`, the first failure (an UpdateService that did not take effect,
 * or a wait that failed) ends the waits of the others as "stopped": they are restored anyway, so
 * waiting for them to finish only delays the restore. Results come in the order of `changes`.
 */
export async function rollOutAll(
  changes: RolloutOptions[],
  options: { stopOnFirstFailure: boolean },
): Promise<RolloutResult[]> {
  const several = changes.length > 1;
  const started = await Promise.all(changes.map((change) => start(change, several)));
  const updated = started.filter((s): s is Updated => "watch" in s);
  const refused = started.find((s): s is NotUpdated => "result" in s);
  if (options.stopOnFirstFailure && refused !== undefined) {
    return started.map((s) => ("watch" in s ? notWaitedFor(s, refused) : s.result));
  }
  const waited =
    updated.length === 0
      ? []
      : await waitForDeployments(
          sharedOf(updated),
          updated.map((u) => u.watch),
          options,
        );
  const settled = new Map(updated.map((u, i) => [u, settle(u, waited[i]!)]));
  return started.map((s) => ("watch" in s ? settled.get(s)! : s.result));
}

/** UpdateService, or what its failure means: a service to wait for, or its result already. */
async function start(options: RolloutOptions, several: boolean): Promise<Updated | NotUpdated> {
  const strategy = strategies[options.settings.strategy];
  const updatedAt = options.clock.now();
  let ids: { deploymentId?: string; serviceDeploymentArn?: string };
  try {
    ids = await update(options, strategy);
  } catch (error) {
    return {
      options,
      result: await updateFailed(options.ecs, options.ref, options.taskDefinitionArn, error),
    };
  }
  const revision = shortArn(options.taskDefinitionArn);
  // Services of one environment may share a task definition family: then name the service too.
  const what = several ? `${options.ref.service} (${revision})` : revision;
  const watch: Watch = {
    ref: options.ref,
    timeoutSeconds: options.settings.timeoutSeconds + strategy.bakeSeconds(options.settings),
    strategy,
    target: { purpose: "rollout", taskDefinitionArn: options.taskDefinitionArn, ...ids },
    events: options.events,
    label: `rollout of ${what}`,
  };
  return { options, updatedAt, watch, what };
}

/** One loop for all: the first change's gateway, clock and output, the shortest poll interval. */
function sharedOf(updated: Updated[]): WaitShared {
  const { ecs, clock, progress, signal } = updated[0]!.options;
  const pollSeconds = Math.min(...updated.map((u) => u.options.settings.pollSeconds));
  return { ecs, clock, progress, signal, pollSeconds };
}

function settle({ options, updatedAt, what }: Updated, result: WatchResult): RolloutResult {
  switch (result.status) {
    case "completed":
      options.progress.info(`Rollout of ${what} completed in ${result.seconds}s.`);
      return { status: "completed", seconds: result.seconds, service: result.service };
    case "aborted":
    case "unknown":
      return { status: "unknown", reason: `${result.reason}; the rollout may still be running` };
    case "stopped":
      return { status: "stopped", reason: result.reason, service: result.service, inFlight: true, updatedAt };
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

/** Another service's UpdateService did not take effect: this one is restored without a wait. */
function notWaitedFor({ updatedAt }: Updated, refused: NotUpdated): RolloutResult {
  const how = refused.result.status === "not-updated" ? "was not updated" : "may not have been updated";
  return {
    status: "stopped",
    reason: `stopped waiting: ${refused.options.ref.service} ${how}`,
    service: null,
    inFlight: true,
    updatedAt,
  };
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
