/**
 * `status`: what runs now (revision, image, release), the deployments and their rollout state,
 * running/desired counts, recent ECS events, and where `rollback` would go. Reads only.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { shortArn } from "../aws/ecs.js";
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

const RECENT_EVENTS = 10;

export const command = defineCommand({
  name: "status",
  description:
    "Shows the running revision, image and release, the deployments and their rollout state, running/desired counts, recent ECS events, and where `rollback` would go. Changes nothing.",
  config: "environment",
  options: environmentOptions,
  examples: ["shipyard status --env production"],
  run: status,
});

async function status(ctx: EnvironmentContext): Promise<Report> {
  const { report, environment } = ctx;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return report.refused(lookup.reason, [
      `check environments.${ctx.environmentName} (region, cluster, service) in shipyard.json`,
    ]);
  }
  const { service, tags } = lookup;
  const current = await ecs.describeTaskDefinition(service.taskDefinition!);
  const lastGood = tags[TAG.lastGood] ?? null;
  const rollbackTarget =
    (lastGood && lastGood !== service.taskDefinition ? lastGood : null) ??
    tags[TAG.previous] ??
    current.tags[TAG.previous] ??
    null;
  const release = releaseOf(current.taskDefinition, environment.container);
  // The runs that claim the service: what a person checks before `--force` removes a claim.
  const claims = claimsOf(tags);
  const details = {
    serviceStatus: service.status,
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    inFlight: deploymentInFlight(service),
    lastGood,
    commit: current.tags[TAG.commit] ?? null,
    lockClaims: claims,
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
    deploymentConfiguration: service.deploymentConfiguration ?? {},
    recentEvents: (service.events ?? []).slice(0, RECENT_EVENTS).map((e) => ({
      at: e.createdAt?.toISOString() ?? null,
      message: e.message ?? "",
    })),
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
  return report
    .set({
      image: imageOf(current.taskDefinition, environment.container),
      release,
      taskDefinition: service.taskDefinition ?? null,
      previousTaskDefinition: rollbackTarget,
    })
    .section("details", { ...details, rolloutSpeed: speed })
    .succeeded();
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
