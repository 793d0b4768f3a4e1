/**
 * `plan`: render the task definition for an environment and show what a deploy would change against
 * the live task definition and the service's deployment settings, for every service and scheduled task of the environment. Changes nothing.
 *
 * An environment of several services, or with scheduled tasks, is planned unit by unit: each one's
 * own task definition (its container, command and template) against the revision it runs, each
 * service's deployment settings, and whether each scheduled task's target would move. Everything is
 * read and rendered before the plan decides; with --image, every unit renders before the first AWS call.
 */
import type { DeploymentConfiguration, Service } from "@aws-sdk/client-ecs";
import { shortArn } from "../aws/ecs.js";
import type { TargetLookup } from "../aws/schedules.js";
import { imageOf, type RenderedTaskDefinition } from "../config/taskdef.js";
import { deploymentChanges, taskDefinitionChanges } from "../deploy/diff.js";
import { defaultRelease } from "../deploy/revisions.js";
import { strategies } from "../deploy/strategies.js";
import { ExitCode, InputError } from "../errors.js";
import type { Progress } from "../report/progress.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { readGateways } from "./diagnose.js";
import { printRolloutSpeed, type RolloutSpeed, rolloutSpeed } from "./rollout-speed.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";
import {
  coversSeveralUnits,
  describeRevisions,
  missingServiceStep,
  type Revision,
  readScheduledTargets,
  readServices,
  renderUnits,
  revisionOf,
  type ScheduledUnit,
  type ServiceUnit,
  scheduledUnits,
  serviceUnits,
  targetRevision,
  type Unit,
  unitRow,
} from "./units.js";

const options = {
  ...environmentOptions,
  image: {
    type: "string",
    value: "REPO@sha256:DIGEST",
    help: "image to plan with (default: the image the service runs now)",
  },
  release: {
    type: "string",
    value: "NAME",
    help: "release name to render (default: the commit or the digest)",
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "plan",
  description:
    "Renders the task definition for the environment and prints what a deploy would change against the live task definition and the service's deployment settings, for every service and scheduled task of the environment. Changes nothing.",
  config: "environment",
  options,
  examples: [
    "shipyard plan --env production --image ghcr.io/acme/shipyard-example@sha256:3f1c9a7e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
  ],
  run: plan,
});

async function plan(ctx: EnvironmentContext, options: Options): Promise<Report> {
  if (coversSeveralUnits(ctx.environment)) return planEveryUnit(ctx, options);
  const { report, output: progress, environment } = ctx;
  const render = (image: string) => ctx.renderTaskDefinition(image, releaseFor(ctx, options, image));
  // With an image, everything is validated before the first AWS call.
  let rendered = options.image ? await render(options.image) : null;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return report.refused(lookup.reason, [`check environments.${ctx.environmentName} in shipyard.json`]);
  }
  const live = await ecs.describeTaskDefinition(lookup.service.taskDefinition!);
  const liveImage = imageOf(live.taskDefinition, environment.container);
  if (rendered === null) {
    progress.info(`No --image given: planning with the live image ${liveImage ?? "(none)"}.`);
    rendered = await withImageHint(render(liveImage ?? ""));
  }
  const taskChanges = taskDefinitionChanges(live.taskDefinition, rendered);
  const desired = desiredSettings(ctx);
  const settingChanges = deploymentChanges(lookup.service.deploymentConfiguration ?? {}, desired);
  progress.info(
    `Plan for ${ctx.environmentName} (${ctx.service.cluster}/${ctx.service.service}, live ${shortArn(lookup.service.taskDefinition)}):`,
  );
  printChanges(progress, taskChanges, settingChanges);
  const speed = await planRolloutSpeed(ctx, lookup.service, rendered, environment.container, desired);
  return report
    .set({
      image: options.image ?? liveImage,
      release: options.release ?? null,
      previousTaskDefinition: lookup.service.taskDefinition ?? null,
    })
    .section("details", {
      taskDefinitionChanges: taskChanges,
      deploymentChanges: settingChanges,
      renderedTaskDefinition: rendered,
      rolloutSpeed: speed,
    })
    .finish("planned", ExitCode.Success);
}

/** How long the rollout this plan leads to would take, and which settings would shorten it. */
async function planRolloutSpeed(
  ctx: EnvironmentContext,
  service: Service,
  rendered: RenderedTaskDefinition,
  containerName: string,
  desired: DeploymentConfiguration,
): Promise<RolloutSpeed> {
  const { deployment } = ctx.environment;
  const speed = await rolloutSpeed({
    service,
    containers: rendered.containerDefinitions,
    containerName,
    deploymentConfiguration: desired,
    strategy: deployment.strategy,
    bakeSeconds: strategies[deployment.strategy].bakeSeconds(deployment),
    elb: readGateways(ctx).elb,
    signal: ctx.runtime.signal,
  });
  printRolloutSpeed(ctx.output, speed);
  for (const note of speed.notes) ctx.report.warn(note);
  return speed;
}

function releaseFor(ctx: EnvironmentContext, options: Options, image: string): string {
  return options.release ?? defaultRelease(image, ctx.runtime.env.GITHUB_SHA);
}

function desiredSettings(ctx: EnvironmentContext): DeploymentConfiguration {
  return strategies[ctx.environment.deployment.strategy].configure(ctx.environment.deployment);
}

/** A template that fails with the live image: the fix is usually to plan with the image to deploy. */
function withImageHint<T>(rendering: Promise<T>): Promise<T> {
  return rendering.catch((error: unknown) => {
    if (!(error instanceof InputError)) throw error;
    throw new InputError(
      error.message.split("\n")[0]!,
      error.problems,
      "pass --image REPO@sha256:DIGEST to plan with the image you mean to deploy",
    );
  });
}

function printChanges(progress: Progress, taskChanges: string[], settingChanges: string[]): void {
  progress.info(
    taskChanges.length > 0
      ? "  task definition (a new revision would be registered):"
      : "  task definition: no changes",
  );
  for (const line of taskChanges) progress.info(`    ${line}`);
  progress.info(settingChanges.length > 0 ? "  deployment settings:" : "  deployment settings: no changes");
  for (const line of settingChanges) progress.info(`    ${line}`);
}

/** "2 task definition changes, no deployment setting change": a row's detail. */
function countOf(count: number, what: string): string {
  return count === 0 ? `no ${what} change` : `${count} ${what} change${count === 1 ? "" : "s"}`;
}

/** A service as it runs, with the revision it runs. */
interface LiveService {
  service: Service;
  revision: Revision;
}

/** A scheduled task's target as it is, with the revision it runs. */
interface LiveTarget {
  target: Extract<TargetLookup, { found: true }>;
  revision: Revision;
}

type LiveUnits =
  | { read: true; services: Map<ServiceUnit, LiveService>; targets: Map<ScheduledUnit, LiveTarget> }
  | { read: false; refusal: Report };

/** What a unit's plan found: its changes, for the report's details. */
interface UnitPlan {
  taskDefinition: string;
  taskDefinitionChanges: string[];
  deploymentChanges: string[];
}

/**
 * Every service and scheduled task. A service ECS does not have, or a target that cannot be read, is
 * a configuration problem: the plan refuses (exit 2), naming each one, after reading all of them.
 */
async function planEveryUnit(ctx: EnvironmentContext, options: Options): Promise<Report> {
  const services = serviceUnits(ctx);
  const scheduled = scheduledUnits(ctx);
  const units: Unit[] = [...services, ...scheduled];
  // With an image, every unit is validated before the first AWS call.
  let rendered = options.image
    ? await renderUnits(ctx, units, options.image, releaseFor(ctx, options, options.image))
    : null;
  const live = await readLiveUnits(ctx, services, scheduled);
  if (!live.read) return live.refusal;
  const primary = services.find((unit) => unit.primary)!;
  const primaryLive = live.services.get(primary)!;
  const liveImage = imageOf(primaryLive.revision.taskDefinition, primary.settings.container);
  if (rendered === null) {
    // A deploy puts one image on every unit: without --image, the one the primary service runs.
    ctx.output.info(
      `No --image given: planning with the live image ${liveImage ?? "(none)"} of ${primary.name}.`,
    );
    rendered = await withImageHint(
      renderUnits(ctx, units, liveImage ?? "", releaseFor(ctx, options, liveImage ?? "")),
    );
  }
  const desired = desiredSettings(ctx);
  const servicePlans = new Map<ServiceUnit, UnitPlan>();
  let speed: RolloutSpeed | null = null;
  for (const unit of services) {
    const serviceLive = live.services.get(unit)!;
    servicePlans.set(unit, planService(ctx, unit, serviceLive, rendered.get(unit)!, desired));
    // The rollout speed is the primary service's: it serves the traffic a slow rollout keeps waiting.
    if (unit.primary) {
      speed = await planRolloutSpeed(
        ctx,
        serviceLive.service,
        rendered.get(unit)!,
        unit.settings.container,
        desired,
      );
    }
  }
  const scheduledPlans = scheduled.map((unit) =>
    planScheduledTask(ctx, unit, live.targets.get(unit)!, rendered.get(unit)!),
  );
  const primaryPlan = servicePlans.get(primary)!;
  return ctx.report
    .set({
      image: options.image ?? liveImage,
      release: options.release ?? null,
      previousTaskDefinition: primaryPlan.taskDefinition,
    })
    .section("details", {
      taskDefinitionChanges: primaryPlan.taskDefinitionChanges,
      deploymentChanges: primaryPlan.deploymentChanges,
      renderedTaskDefinition: rendered.get(primary)!,
      rolloutSpeed: speed,
      otherServices: services
        .filter((unit) => !unit.primary)
        .map((unit) => ({ name: unit.name, ...servicePlans.get(unit)! })),
      ...(scheduled.length > 0
        ? {
            scheduledTasks: scheduled.map((unit, i) => ({
              name: unit.name,
              wouldMove: scheduledPlans[i]!.taskDefinitionChanges.length > 0,
              taskDefinition: scheduledPlans[i]!.taskDefinition,
              taskDefinitionChanges: scheduledPlans[i]!.taskDefinitionChanges,
            })),
          }
        : {}),
    })
    .finish("planned", ExitCode.Success);
}

/**
 * Reads every service (one DescribeServices per ten), every scheduled task's target, and each
 * revision they run; refuses once, naming every service and target that is not there.
 */
async function readLiveUnits(
  ctx: EnvironmentContext,
  services: ServiceUnit[],
  scheduled: ScheduledUnit[],
): Promise<LiveUnits> {
  const ecs = await ctx.ecs();
  const read = await readServices(
    ecs,
    ctx.environment.cluster,
    services.map((unit) => unit.name),
  );
  if (!read.clusterFound) {
    return {
      read: false,
      refusal: ctx.report.refused(read.reason, [
        `check environments.${ctx.environmentName} in shipyard.json`,
      ]),
    };
  }
  const targets =
    scheduled.length > 0
      ? await readScheduledTargets(await ctx.schedules(), scheduled, ctx.runtime.signal)
      : [];
  const foundServices = new Map<ServiceUnit, Service>();
  const missing: Array<{ unit: ServiceUnit; reason: string }> = [];
  for (const unit of services) {
    const lookup = read.lookups.get(unit.name)!;
    if (lookup.found) foundServices.set(unit, lookup.service);
    else missing.push({ unit, reason: lookup.reason });
  }
  const foundTargets = new Map<ScheduledUnit, LiveTarget["target"]>();
  for (const [i, unit] of scheduled.entries()) {
    const target = targets[i]!;
    if (target.found) foundTargets.set(unit, target);
  }
  const revisions = await describeRevisions(ecs, [
    ...[...foundServices.values()].map((service) => service.taskDefinition ?? ""),
    ...[...foundTargets.values()].map((target) => target.taskDefinitionArn),
  ]);
  const liveTargets = new Map<ScheduledUnit, LiveTarget>();
  const unreadable: Array<{ unit: ScheduledUnit; reason: string }> = [];
  for (const [i, unit] of scheduled.entries()) {
    const target = targets[i]!;
    if (!target.found) {
      unreadable.push({ unit, reason: target.reason });
      continue;
    }
    const revision = targetRevision(revisions, target.taskDefinitionArn);
    if (revision.found) liveTargets.set(unit, { target, revision: revision.revision });
    else unreadable.push({ unit, reason: `${unit.name}: ${revision.reason}` });
  }
  if (missing.length > 0 || unreadable.length > 0) {
    return { read: false, refusal: refuseUnplannable(ctx, missing, unreadable) };
  }
  return {
    read: true,
    services: new Map(
      [...foundServices].map(([unit, service]) => [
        unit,
        { service, revision: revisionOf(revisions, service.taskDefinition ?? "") },
      ]),
    ),
    targets: liveTargets,
  };
}

/** One service: its task definition and deployment settings against its own, printed and as a row. */
function planService(
  ctx: EnvironmentContext,
  unit: ServiceUnit,
  live: LiveService,
  rendered: RenderedTaskDefinition,
  desired: DeploymentConfiguration,
): UnitPlan {
  const taskChanges = taskDefinitionChanges(live.revision.taskDefinition, rendered);
  const settingChanges = deploymentChanges(live.service.deploymentConfiguration ?? {}, desired);
  const runs = shortArn(live.service.taskDefinition);
  ctx.output.info(
    unit.primary
      ? `Plan for ${ctx.environmentName} (${ctx.environment.cluster}/${unit.name}, live ${runs}):`
      : `Service ${unit.name} (live ${runs}):`,
  );
  printChanges(ctx.output, taskChanges, settingChanges);
  ctx.report.serviceRow(
    unitRow(unit.settings, {
      state: "running",
      taskDefinition: live.service.taskDefinition ?? null,
      previousTaskDefinition: null,
      detail: `${countOf(taskChanges.length, "task definition")}, ${countOf(settingChanges.length, "deployment setting")}`,
    }),
  );
  return {
    taskDefinition: live.service.taskDefinition ?? "",
    taskDefinitionChanges: taskChanges,
    deploymentChanges: settingChanges,
  };
}

/** One scheduled task: whether a deploy would move its target, from its own rendering. */
function planScheduledTask(
  ctx: EnvironmentContext,
  unit: ScheduledUnit,
  live: LiveTarget,
  rendered: RenderedTaskDefinition,
): UnitPlan {
  const taskChanges = taskDefinitionChanges(live.revision.taskDefinition, rendered);
  const moves = taskChanges.length > 0;
  ctx.output.info(
    `Scheduled ${unit.name} (${live.target.description}, runs ${shortArn(live.target.taskDefinitionArn)}): ${moves ? "its target would move to a new revision:" : "its target would stay (no changes)"}`,
  );
  for (const line of taskChanges) ctx.output.info(`    ${line}`);
  ctx.report.serviceRow(
    unitRow(unit.settings, {
      state: "running",
      taskDefinition: live.target.taskDefinitionArn,
      previousTaskDefinition: null,
      detail: moves
        ? `target would move to a new revision (${countOf(taskChanges.length, "task definition")})`
        : "target would stay: no task definition change",
    }),
  );
  return {
    taskDefinition: live.target.taskDefinitionArn,
    taskDefinitionChanges: taskChanges,
    deploymentChanges: [],
  };
}

/** Exit 2 naming every service ECS does not have and every target that cannot be read. */
function refuseUnplannable(
  ctx: EnvironmentContext,
  missing: Array<{ unit: ServiceUnit; reason: string }>,
  unreadable: Array<{ unit: ScheduledUnit; reason: string }>,
): Report {
  for (const { unit, reason } of missing) {
    ctx.report.serviceRow(
      unitRow(unit.settings, {
        state: "running",
        reason,
      }),
    );
  }
  for (const { unit, reason } of unreadable) {
    ctx.report.serviceRow(
      unitRow(unit.settings, {
        state: "running",
        reason,
      }),
    );
  }
  const reasons = [
    ...missing.map(({ reason }) => reason),
    ...unreadable.map(({ unit, reason }) => `${unit.configPath}: ${reason}`),
  ];
  return ctx.report.refused(`${ctx.environmentName} cannot be planned: ${reasons.join("; ")}`, [
    ...missing.map(({ unit }) => missingServiceStep(ctx, unit)),
    ...unreadable.map(
      ({ unit }) =>
        `fix ${unit.configPath} in shipyard.json or the ${unit.kind} itself, then run ${ctx.command("plan")}`,
    ),
  ]);
}
