/**
 * `status`: what runs now (revision, image, release), the deployments and their rollout state,
 * running/desired counts, recent ECS events, and where `rollback` would go. Reads only.
 *
 * An environment of several services, or with scheduled tasks, gets the same for every service (all
 * read in one DescribeServices per ten) and the revision each scheduled task's target runs, as one
 * report row each; the report's own fields stay about the primary service, which alone holds the lock.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { type ServiceLookup, shortArn } from "../aws/ecs.js";
import type { TargetLookup } from "../aws/schedules.js";
import type { Strategy } from "../config/schema.js";
import { imageOf, releaseOf } from "../config/taskdef.js";
import { type Claim, claimsOf, describeClaim } from "../deploy/lock.js";
import { deploymentInFlight } from "../deploy/preflight.js";
import { TAG } from "../deploy/revisions.js";
import type { Progress } from "../report/progress.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { readGateways } from "./diagnose.js";
import { printRolloutSpeed, rolloutSpeed } from "./rollout-speed.js";
import { defineCommand, environmentOptions } from "./spec.js";
import {
  coversSeveralUnits,
  describeRevisions,
  missingServiceStep,
  type Revision,
  type RevisionRead,
  readScheduledTargets,
  readServices,
  revisionOf,
  rollbackTargetOf,
  type ScheduledUnit,
  type ServiceUnit,
  scheduledUnits,
  serviceUnits,
  targetRevision,
  unitRow,
} from "./units.js";

const RECENT_EVENTS = 10;
/** Events printed for each service besides the primary: enough to see why it is unhappy. */
const RECENT_EVENTS_OF_OTHERS = 3;

export const command = defineCommand({
  name: "status",
  description:
    "Shows the running revision, image and release, the deployments and their rollout state, running/desired counts, recent ECS events, and where `rollback` would go, for every service and scheduled task of the environment. Changes nothing.",
  config: "environment",
  options: environmentOptions,
  examples: ["shipyard status --env production"],
  run: status,
});

async function status(ctx: EnvironmentContext): Promise<Report> {
  if (coversSeveralUnits(ctx.environment)) return statusOfEveryUnit(ctx);
  const { report } = ctx;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return report.refused(lookup.reason, [
      `check environments.${ctx.environmentName} (region, cluster, service) in shipyard.json`,
    ]);
  }
  const current = await ecs.describeTaskDefinition(lookup.service.taskDefinition!);
  await primaryStatus(ctx, lookup, current);
  return report.succeeded();
}

/** The primary service, exactly as a one-service environment shows it: the report's own fields. */
async function primaryStatus(
  ctx: EnvironmentContext,
  lookup: Extract<ServiceLookup, { found: true }>,
  current: Revision,
): Promise<void> {
  const { report, environment } = ctx;
  const { service, tags } = lookup;
  const lastGood = tags[TAG.lastGood] ?? null;
  const rollbackTarget = rollbackTargetOf(service, tags, current.tags);
  const release = releaseOf(current.taskDefinition, environment.container);
  // The runs that claim the service: what a person checks before `--force` removes a claim.
  const claims = claimsOf(tags);
  const details = {
    ...serviceDetails(service, RECENT_EVENTS),
    lastGood,
    commit: current.tags[TAG.commit] ?? null,
    lockClaims: claims,
    deploymentConfiguration: service.deploymentConfiguration ?? {},
  };
  printStatus(ctx.output, service, release, details.recentEvents, rollbackTarget, claims);
  // How long the next rollout would take with the service's settings as they are.
  const speed = await rolloutSpeed({
    service,
    containers: current.taskDefinition.containerDefinitions ?? [],
    containerName: environment.container,
    deploymentConfiguration: service.deploymentConfiguration ?? {},
    strategy: strategyOf(service),
    bakeSeconds: 0,
    elb: readGateways(ctx).elb,
    signal: ctx.runtime.signal,
  });
  printRolloutSpeed(ctx.output, speed);
  for (const note of speed.notes) report.warn(note);
  report
    .set({
      image: imageOf(current.taskDefinition, environment.container),
      release,
      taskDefinition: service.taskDefinition ?? null,
      previousTaskDefinition: rollbackTarget,
    })
    .section("details", { ...details, rolloutSpeed: speed });
}

/** What ECS says about one service: counts, deployments, recent events. */
function serviceDetails(service: Service, events: number) {
  return {
    serviceStatus: service.status,
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    inFlight: deploymentInFlight(service),
    deployments: (service.deployments ?? []).map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      rolloutState: d.rolloutState ?? null,
      rolloutStateReason: d.rolloutStateReason ?? null,
      running: d.runningCount ?? 0,
      desired: d.desiredCount ?? 0,
      pending: d.pendingCount ?? 0,
      failedTasks: d.failedTasks ?? 0,
      createdAt: d.createdAt?.toISOString() ?? null,
    })),
    recentEvents: (service.events ?? []).slice(0, events).map((e) => ({
      at: e.createdAt?.toISOString() ?? null,
      message: e.message ?? "",
    })),
  };
}

/**
 * Every service and scheduled task: the primary as above, the others as rows. A service that
 * shipyard.json lists and ECS does not have is a configuration problem: exit 2, after showing the rest.
 */
async function statusOfEveryUnit(ctx: EnvironmentContext): Promise<Report> {
  const { report, environment } = ctx;
  const services = serviceUnits(ctx);
  const scheduled = scheduledUnits(ctx);
  const ecs = await ctx.ecs();
  const read = await readServices(
    ecs,
    environment.cluster,
    services.map((unit) => unit.name),
  );
  if (!read.clusterFound) {
    return report.refused(read.reason, [
      `check environments.${ctx.environmentName} (region, cluster) in shipyard.json`,
    ]);
  }
  const targets =
    scheduled.length > 0
      ? await readScheduledTargets(await ctx.schedules(), scheduled, ctx.runtime.signal)
      : [];
  const revisions = await describeRevisions(ecs, [
    ...[...read.lookups.values()].flatMap((l) => (l.found ? [l.service.taskDefinition ?? ""] : [])),
    ...targets.flatMap((t) => (t.found ? [t.taskDefinitionArn] : [])),
  ]);
  const missing: ServiceUnit[] = [];
  const others: Array<Record<string, unknown>> = [];
  for (const unit of services) {
    const lookup = read.lookups.get(unit.name)!;
    if (!lookup.found) {
      missing.push(unit);
      serviceRow(ctx, unit, { taskDefinition: null, previousTaskDefinition: null, reason: lookup.reason });
      ctx.output.info(`${unit.name}: not found in cluster ${environment.cluster}`);
      continue;
    }
    const revision = revisionOf(revisions, lookup.service.taskDefinition ?? "");
    if (unit.primary) await primaryStatus(ctx, lookup, revision);
    else others.push(otherServiceStatus(ctx, unit, lookup, revision));
    const rollbackTarget = rollbackTargetOf(lookup.service, lookup.tags, revision.tags);
    serviceRow(ctx, unit, {
      taskDefinition: lookup.service.taskDefinition ?? null,
      previousTaskDefinition: rollbackTarget,
      detail: serviceSummary(lookup.service, releaseOf(revision.taskDefinition, unit.settings.container)),
    });
    if (lookup.service.status !== "ACTIVE") {
      report.warn(`service ${unit.name} is ${lookup.service.status}, not ACTIVE: a deploy would refuse it`);
    }
  }
  const scheduledDetails = scheduled.map((unit, i) => scheduledStatus(ctx, unit, targets[i]!, revisions));
  report.section("details", {
    otherServices: others,
    ...(scheduled.length > 0 ? { scheduledTasks: scheduledDetails } : {}),
  });
  if (missing.length > 0) {
    const names = missing.map((unit) => `"${unit.name}"`).join(", ");
    return report.refused(
      `shipyard.json lists service${missing.length > 1 ? "s" : ""} ${names} of environment ${ctx.environmentName}, which cluster "${environment.cluster}" does not have`,
      missing.map((unit) => missingServiceStep(ctx, unit)),
    );
  }
  return report.succeeded();
}

/** A service besides the primary: printed like it (without the lock: that lives on the primary). */
function otherServiceStatus(
  ctx: EnvironmentContext,
  unit: ServiceUnit,
  lookup: Extract<ServiceLookup, { found: true }>,
  revision: Revision,
): Record<string, unknown> {
  const { service, tags } = lookup;
  const release = releaseOf(revision.taskDefinition, unit.settings.container);
  const rollbackTarget = rollbackTargetOf(service, tags, revision.tags);
  const details = serviceDetails(service, RECENT_EVENTS);
  printStatus(
    ctx.output,
    service,
    release,
    details.recentEvents.slice(0, RECENT_EVENTS_OF_OTHERS),
    rollbackTarget,
    [],
  );
  return {
    name: unit.name,
    ...details,
    release,
    lastGood: tags[TAG.lastGood] ?? null,
    commit: revision.tags[TAG.commit] ?? null,
    rollbackTarget,
  };
}

/** One line about a service for its report row. */
function serviceSummary(service: Service, release: string | null): string {
  const inFlight = deploymentInFlight(service);
  return `${service.status}, ${service.runningCount ?? 0}/${service.desiredCount ?? 0} running, release ${release ?? "(none recorded)"}${inFlight ? `; ${inFlight}` : ""}`;
}

function serviceRow(
  ctx: EnvironmentContext,
  unit: ServiceUnit,
  fields: Omit<Parameters<typeof unitRow>[1], "state">,
): void {
  ctx.report.serviceRow(unitRow(unit.settings, { state: "running", ...fields }));
}

/**
 * The revision a scheduled task's target runs, its release, and the revision it replaced (its
 * shipyard:previous tag; `rollback` walks further back to the release the services return to). A
 * target that cannot be read is a warning here: status reads; `plan` and `deploy` refuse it.
 */
function scheduledStatus(
  ctx: EnvironmentContext,
  unit: ScheduledUnit,
  target: TargetLookup,
  revisions: Map<string, RevisionRead>,
): Record<string, unknown> {
  const unreadable = (reason: string, taskDefinition: string | null) => {
    ctx.output.info(`${unit.name}: revision ${shortArn(taskDefinition)} (cannot be read; see the warning)`);
    ctx.report.warn(reason);
    ctx.report.serviceRow(unitRow(unit.settings, { state: "running", taskDefinition, reason }));
    return { name: unit.name, taskDefinition, reason };
  };
  if (!target.found) return unreadable(target.reason, null);
  const read = targetRevision(revisions, target.taskDefinitionArn);
  if (!read.found) return unreadable(`${unit.name}: ${read.reason}`, target.taskDefinitionArn);
  const { revision } = read;
  const release = releaseOf(revision.taskDefinition, unit.settings.container);
  const previous = revision.tags[TAG.previous] ?? null;
  const elsewhere = clusterMismatch(target.clusterArn, ctx.environment.cluster);
  if (elsewhere)
    ctx.report.warn(`${unit.name} runs its task in ${elsewhere}, not in cluster ${ctx.environment.cluster}`);
  ctx.output.info(
    `${unit.name}: revision ${shortArn(target.taskDefinitionArn)}, release ${release ?? "(none recorded)"} (${target.description})`,
  );
  ctx.report.serviceRow(
    unitRow(unit.settings, {
      state: "running",
      taskDefinition: target.taskDefinitionArn,
      previousTaskDefinition: previous,
      detail: `${target.description}, release ${release ?? "(none recorded)"}`,
    }),
  );
  return {
    name: unit.name,
    taskDefinition: target.taskDefinitionArn,
    release,
    cluster: target.clusterArn,
    target: target.description,
  };
}

/** The cluster a target runs in, when it is not the environment's (by name or ARN). */
function clusterMismatch(clusterArn: string | null, cluster: string): string | null {
  if (clusterArn === null) return null;
  const name = (value: string) => value.split("/").at(-1);
  return name(clusterArn) === name(cluster) ? null : clusterArn;
}

function printStatus(
  progress: Progress,
  service: Service,
  release: string | null,
  events: Array<{ at: string | null; message: string }>,
  rollbackTarget: string | null,
  claims: Claim[],
): void {
  progress.info(
    `${service.serviceName}: ${service.status}, ${service.runningCount ?? 0}/${service.desiredCount ?? 0} running, revision ${shortArn(service.taskDefinition)}, release ${release ?? "(none recorded)"}`,
  );
  for (const d of service.deployments ?? []) {
    progress.info(
      `  ${d.status} ${d.id} → ${shortArn(d.taskDefinition)}: ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running${d.rolloutState ? `, ${d.rolloutState}` : ""}${d.failedTasks ? `, ${d.failedTasks} failed` : ""}`,
    );
  }
  progress.info(
    `  rollback would return to: ${rollbackTarget ? shortArn(rollbackTarget) : "(nothing recorded; use --to)"}`,
  );
  for (const claim of claims) progress.info(`  lock claimed by ${describeClaim(claim)}`);
  if (events.length > 0) progress.info("  recent events:");
  for (const e of events) progress.info(`    ${e.at ?? ""} ${e.message}`);
}

/** The strategy the service is set to (its deploymentConfiguration.strategy; ROLLING when absent). */
function strategyOf(service: Service): Strategy {
  const names: Record<string, Strategy> = {
    BLUE_GREEN: "blue-green",
    CANARY: "canary",
    LINEAR: "linear",
  };
  return names[service.deploymentConfiguration?.strategy ?? "ROLLING"] ?? "rolling";
}
