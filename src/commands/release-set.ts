/**
 * An environment's release as a set: every ECS service and every scheduled task, each with the
 * revision it runs and the one it is to run. `deploy` and `rollback` move the whole set together and
 * put every member that moved back when any of them fails; this file holds what they share about the
 * set (render, look, register, retarget, restore, report rows), so each command still reads as one
 * story. A one-service environment is the set of one, and reads and writes exactly what it always did.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { type Ecs, type ServiceRef, shortArn } from "../aws/ecs.js";
import type { Schedules } from "../aws/schedules.js";
import { type ScheduledTaskSettings, type ServiceSettings, scheduledTaskName } from "../config/schema.js";
import type { RenderedTaskDefinition } from "../config/taskdef.js";
import { checkServiceDeployable } from "../deploy/preflight.js";
import { type RestoreResult, restoreRevisions } from "../deploy/restore.js";
import { registerRevision } from "../deploy/revisions.js";
import type { EventLog, ServiceChange } from "../deploy/wait.js";
import { messageOf } from "../errors.js";
import type { EnvironmentContext } from "./context.js";
import { coversSeveralUnits, missingServiceStep, scheduledUnits, serviceUnits, type Unit } from "./units.js";

/** One ECS service of the set. */
export interface ServiceMember {
  settings: ServiceSettings;
  ref: ServiceRef;
  definition: RenderedTaskDefinition;
  /** The service as the preflight saw it. */
  service: Service;
  /** The revision it ran when the command started: what a restore returns to. */
  previous: string;
  /** The revision it is to run ("" until registered). */
  next: string;
}

/** One scheduled task of the set (an EventBridge rule's or a Scheduler schedule's ECS target). */
export interface ScheduledMember {
  settings: ScheduledTaskSettings;
  /** "rule nightly-report", "schedule cleanup (group jobs)". */
  name: string;
  definition: RenderedTaskDefinition;
  previous: string;
  next: string;
}

export interface ReleaseSet {
  /** In the order of shipyard.json; `primary` is one of them. */
  services: ServiceMember[];
  primary: ServiceMember;
  scheduled: ScheduledMember[];
}

export interface RenderedSet {
  services: Array<{ settings: ServiceSettings; definition: RenderedTaskDefinition }>;
  scheduled: Array<{ settings: ScheduledTaskSettings; definition: RenderedTaskDefinition }>;
}

/** Every member's task definition, rendered and validated before any AWS call. */
export async function renderSet(
  ctx: EnvironmentContext,
  image: string,
  release: string,
): Promise<RenderedSet> {
  const render = async <T extends Unit>(unit: T) => ({
    settings: unit.settings as T["settings"],
    definition: await ctx.renderTaskDefinition(image, release, unit.render),
  });
  return {
    services: await Promise.all(serviceUnits(ctx).map(render)),
    scheduled: await Promise.all(scheduledUnits(ctx).map(render)),
  };
}

export type SetPreflight =
  | { ok: true; set: ReleaseSet }
  | { ok: false; problem: string; nextSteps: string[] };

/**
 * Looks at every member before anything changes: each service deployable (ACTIVE, ECS-controlled,
 * nothing in flight), each scheduled task's target readable. Reads only.
 */
export async function preflightSet(
  ctx: EnvironmentContext,
  ecs: Ecs,
  rendered: RenderedSet,
): Promise<SetPreflight> {
  const hints = {
    region: ctx.environment.region,
    environmentName: ctx.environmentName,
    statusCommand: ctx.command("status"),
  };
  const services: ServiceMember[] = [];
  const { cluster } = ctx.environment;
  const lookups = await ecs.describeServicesByName(
    cluster,
    rendered.services.map(({ settings }) => settings.name),
  );
  for (const { settings, definition } of rendered.services) {
    const ref = { cluster, service: settings.name };
    const checked = checkServiceDeployable(lookups.get(settings.name)!, ref, hints);
    if (!checked.ok)
      return { ok: false, problem: checked.problem, nextSteps: refusalSteps(ctx, settings, checked) };
    const previous = checked.service.taskDefinition!;
    services.push({ settings, ref, definition, service: checked.service, previous, next: "" });
  }
  const primary = services.find((s) => s.settings.name === ctx.environment.service)!;
  if (rendered.scheduled.length === 0) return { ok: true, set: { services, primary, scheduled: [] } };
  const schedules = await ctx.schedules();
  const scheduled: ScheduledMember[] = [];
  for (const { settings, definition } of rendered.scheduled) {
    const target = await schedules.readTarget(settings, ctx.runtime.signal);
    if (!target.found) {
      return {
        ok: false,
        problem: target.reason,
        nextSteps: [`check environments.${ctx.environmentName}.scheduledTasks in shipyard.json`],
      };
    }
    scheduled.push({
      settings,
      name: scheduledTaskName(settings),
      definition,
      previous: target.taskDefinitionArn,
      next: "",
    });
  }
  return { ok: true, set: { services, primary, scheduled } };
}

/** A listed service ECS does not have is named by its entry in shipyard.json when there are several. */
function refusalSteps(
  ctx: EnvironmentContext,
  settings: ServiceSettings,
  refusal: { problem: string; nextSteps: string[] },
): string[] {
  const unit = serviceUnits(ctx).find((u) => u.name === settings.name);
  const notFound = refusal.nextSteps[0]?.startsWith(`check environments.${ctx.environmentName}.`);
  return coversSeveralUnits(ctx.environment) && unit && notFound
    ? [missingServiceStep(ctx, unit)]
    : refusal.nextSteps;
}

/**
 * Registers every member's new revision (the primary's first: its ARN is the lock's ticket). A
 * member whose task definition is the same as one already registered shares that revision: a
 * scheduled task run from the web's own task definition moves with the web.
 */
export async function registerSet(
  ctx: EnvironmentContext,
  ecs: Ecs,
  set: ReleaseSet,
  release: { release: string; commit: string | undefined },
): Promise<void> {
  const byContent = new Map<string, string>();
  const register = async (definition: RenderedTaskDefinition, previous: string): Promise<string> => {
    const key = JSON.stringify(definition);
    const known = byContent.get(key);
    if (known) return known;
    const registered = await registerRevision(ecs, {
      definition,
      environmentName: ctx.environmentName,
      release: release.release,
      ...(release.commit ? { commit: release.commit } : {}),
      previousArn: previous,
    });
    byContent.set(key, registered.taskDefinitionArn!);
    return registered.taskDefinitionArn!;
  };
  const ordered = [set.primary, ...set.services.filter((s) => s !== set.primary)];
  for (const member of ordered) member.next = await register(member.definition, member.previous);
  for (const member of set.scheduled) member.next = await register(member.definition, member.previous);
}

/** Moves every scheduled task's target to its new revision; returns the first failure, or null. */
export async function retargetScheduled(
  schedules: Schedules,
  members: ScheduledMember[],
  moved: ScheduledMember[],
): Promise<string | null> {
  for (const member of members) {
    try {
      await schedules.retarget(member.settings, member.next);
      moved.push(member);
    } catch (error) {
      return `moving ${member.name} to ${shortArn(member.next)} failed: ${messageOf(error)}`;
    }
  }
  return null;
}

/** A service that moved and must go back: what it was last seen running, and whether ours is in flight. */
export interface MovedService {
  member: ServiceMember;
  /** As last seen (the rollout's view), or null. */
  service: Service | null;
  /** Since when our deployment may still be in flight (for StopServiceDeployment), or null. */
  inFlightSince: number | null;
}

export interface SetRestore {
  /** Per moved service, in order: how it went. */
  services: Array<{ member: ServiceMember; result: RestoreResult }>;
  scheduled: Array<{ member: ScheduledMember; confirmed: boolean; reason?: string }>;
}

/**
 * Puts every moved member back on what it ran before, all at once: the services through ECS (each
 * waited on its own restore, one poll read for all), the scheduled tasks by moving their targets back.
 */
export async function restoreSet(
  ctx: EnvironmentContext,
  ecs: Ecs,
  moved: { services: MovedService[]; scheduled: ScheduledMember[] },
  events: EventLog,
): Promise<SetRestore> {
  const options = await Promise.all(
    moved.services.map(async ({ member, inFlightSince }) => ({
      ...serviceChange(ctx, ecs, member.ref, member.previous, events),
      inFlightServiceDeploymentArn:
        inFlightSince === null
          ? null
          : await ecs.findServiceDeployment(member.ref, inFlightSince).catch(() => null),
    })),
  );
  const [results, scheduled] = await Promise.all([
    restoreRevisions(options),
    restoreScheduled(ctx, moved.scheduled),
  ]);
  return { services: moved.services.map(({ member }, i) => ({ member, result: results[i]! })), scheduled };
}

async function restoreScheduled(ctx: EnvironmentContext, members: ScheduledMember[]) {
  const moved = await moveTargets(ctx, members, (member) => member.previous);
  return moved.map(({ move, error }) => ({
    member: move,
    confirmed: error === null,
    ...(error === null ? {} : { reason: error }),
  }));
}

/** Points each scheduled task's target at its revision, all at once; a move that failed says why. */
export async function moveTargets<T extends { settings: ScheduledTaskSettings }>(
  ctx: EnvironmentContext,
  moves: T[],
  to: (move: T) => string,
): Promise<Array<{ move: T; error: string | null }>> {
  if (moves.length === 0) return [];
  const schedules = await ctx.schedules();
  return Promise.all(
    moves.map(async (move) => {
      try {
        await schedules.retarget(move.settings, to(move));
        return { move, error: null };
      } catch (error) {
        return { move, error: messageOf(error) };
      }
    }),
  );
}

/** A change of one service to a revision, on the run's clock, signal and output. */
export function serviceChange(
  ctx: EnvironmentContext,
  ecs: Ecs,
  ref: ServiceRef,
  taskDefinitionArn: string,
  events: EventLog,
): ServiceChange {
  const { runtime } = ctx;
  return {
    ecs,
    ref,
    clock: runtime.clock,
    progress: ctx.output,
    signal: runtime.signal,
    settings: ctx.environment.deployment,
    events,
    taskDefinitionArn,
  };
}
