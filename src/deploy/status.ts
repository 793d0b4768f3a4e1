/**
 * `status`: what runs now (revision, image, release), the deployments and their rollout state,
 * running/desired counts, recent ECS events, and where `rollback` would go. Reads only.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { imageOf, releaseOf } from "../config/taskdef.js";
import { ExitCode } from "../errors.js";
import type { Progress } from "../progress.js";
import type { Report } from "../report/report.js";
import { type CommandDeps, prepare, type StatusInput } from "./commands.js";
import { deploymentInFlight, describeService, describeTaskDefinition, shortArn, TAG } from "./ecs.js";
import { makeReport, type ReportBase, Timeline } from "./timeline.js";

const RECENT_EVENTS = 10;

export async function status(input: StatusInput, deps: CommandDeps): Promise<Report> {
  const timeline = new Timeline(deps.clock);
  const prepared = prepare(input, deps);
  const { environment } = prepared;
  const base: ReportBase = { command: "status", environmentName: input.environmentName, environment };
  const ecs = await prepared.ecs();
  const lookup = await describeService(ecs, { cluster: environment.cluster, service: environment.service });
  if (!lookup.found) {
    return makeReport(base, timeline, {
      outcome: "failed",
      exitCode: ExitCode.BadInput,
      reason: lookup.reason,
      nextSteps: [`check environments.${input.environmentName} (region, cluster, service) in shipyard.json`],
    });
  }
  const { service, tags } = lookup;
  const current = await describeTaskDefinition(ecs, service.taskDefinition!);
  const lastGood = tags[TAG.lastGood] ?? null;
  const rollbackTarget =
    (lastGood && lastGood !== service.taskDefinition ? lastGood : null) ??
    tags[TAG.previous] ??
    current.tags[TAG.previous] ??
    null;
  const details = {
    serviceStatus: service.status,
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    inFlight: deploymentInFlight(service),
    lastGood,
    commit: current.tags[TAG.commit] ?? null,
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
  printStatus(deps.progress, service, details.recentEvents, rollbackTarget);
  return makeReport(base, timeline, {
    outcome: "succeeded",
    exitCode: ExitCode.Success,
    image: imageOf(current.taskDefinition, environment.container),
    release: releaseOf(current.taskDefinition, environment.container),
    taskDefinition: service.taskDefinition ?? null,
    previousTaskDefinition: rollbackTarget,
    details,
  });
}

function printStatus(
  progress: Progress,
  service: Service,
  events: Array<{ at: string | null; message: string }>,
  rollbackTarget: string | null,
): void {
  progress.info(
    `${service.serviceName}: ${service.status}, ${service.runningCount ?? 0}/${service.desiredCount ?? 0} running, revision ${shortArn(service.taskDefinition)}`,
  );
  for (const d of service.deployments ?? []) {
    progress.info(
      `  ${d.status} ${d.id} → ${shortArn(d.taskDefinition)}: ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running${d.rolloutState ? `, ${d.rolloutState}` : ""}${d.failedTasks ? `, ${d.failedTasks} failed` : ""}`,
    );
  }
  progress.info(
    `  rollback would return to: ${rollbackTarget ? shortArn(rollbackTarget) : "(nothing recorded; use --to)"}`,
  );
  if (events.length > 0) progress.info("  recent events:");
  for (const e of events) progress.info(`    ${e.at ?? ""} ${e.message}`);
}
