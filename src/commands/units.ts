/**
 * The units of an environment as `status` and `plan` read them: its ECS services (the primary one
 * first in importance, all in the order shipyard.json lists them) and its scheduled tasks (an
 * EventBridge rule's or a Scheduler schedule's ECS target). Each unit knows how shipyard.json names
 * it (for messages that point at the key to fix) and how its own task definition is rendered.
 *
 * Reads are batched: all services in one DescribeServices per ten names, each revision described
 * once however many units run it.
 */
import type { Service, TaskDefinition } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, type ServiceLookup } from "../aws/ecs.js";
import type { Schedules, TargetLookup } from "../aws/schedules.js";
import {
  type Environment,
  primaryOf,
  type ScheduledTaskSettings,
  type ServiceSettings,
  scheduledTaskName,
} from "../config/schema.js";
import type { RenderedTaskDefinition } from "../config/taskdef.js";
import { TAG } from "../deploy/revisions.js";
import { InputError, messageOf } from "../errors.js";
import type { ServiceRow } from "../report/report.js";
import type { EnvironmentContext, RenderUnit } from "./context.js";

/** Reads of task definitions and scheduled targets in flight at once: fast, and kind to AWS's rate limits. */
const READS_AT_ONCE = 5;

export interface ServiceUnit {
  kind: "service";
  /** The ECS service name (the report row's name). */
  name: string;
  /** Where shipyard.json lists it, e.g. environments.staging.services[1]. */
  configPath: string;
  settings: ServiceSettings;
  primary: boolean;
  render: RenderUnit;
}

export interface ScheduledUnit {
  kind: "rule" | "schedule";
  /** "rule nightly" / "schedule cleanup (group jobs)" (the report row's name). */
  name: string;
  configPath: string;
  settings: ScheduledTaskSettings;
  render: RenderUnit;
}

export type Unit = ServiceUnit | ScheduledUnit;

/**
 * Whether the commands report per unit: an environment of one service and no scheduled task reads
 * and reports exactly as it always has.
 */
export function coversSeveralUnits(environment: Environment): boolean {
  return environment.services.length > 1 || environment.scheduledTasks.length > 0;
}

export function serviceUnits(ctx: EnvironmentContext): ServiceUnit[] {
  const { services } = ctx.environment;
  const primary = primaryOf(services);
  return services.map((settings, index) => ({
    kind: "service",
    name: settings.name,
    configPath: `environments.${ctx.environmentName}.services[${index}]`,
    settings,
    primary: settings === primary,
    render: {
      service: settings.name,
      container: settings.container,
      command: settings.command,
      taskDefinition: settings.taskDefinition,
    },
  }));
}

export function scheduledUnits(ctx: EnvironmentContext): ScheduledUnit[] {
  return ctx.environment.scheduledTasks.map((settings, index) => ({
    kind: settings.rule !== undefined ? "rule" : "schedule",
    name: scheduledTaskName(settings),
    configPath: `environments.${ctx.environmentName}.scheduledTasks[${index}]`,
    settings,
    render: {
      container: settings.container,
      command: settings.command,
      taskDefinition: settings.taskDefinition,
    },
  }));
}

export type ServicesRead =
  | { clusterFound: true; lookups: Map<string, ServiceLookup> }
  | { clusterFound: false; reason: string };

/** Every named service of one cluster, read together: ceil(N/10) DescribeServices calls. */
export async function readServices(ecs: Ecs, cluster: string, names: string[]): Promise<ServicesRead> {
  const lookups = await ecs.describeServicesByName(cluster, names);
  const missing = [...lookups.values()].find((lookup) => !lookup.found && lookup.clusterMissing);
  if (missing && !missing.found) return { clusterFound: false, reason: missing.reason };
  return { clusterFound: true, lookups };
}

/** What to do about a service shipyard.json lists and ECS does not have. */
export function missingServiceStep(ctx: EnvironmentContext, unit: ServiceUnit): string {
  return `check ${unit.configPath}.name ("${unit.name}") in shipyard.json: create the service in cluster ${ctx.environment.cluster} (${ctx.environment.region}), correct the name, or remove the entry`;
}

export interface Revision {
  taskDefinition: TaskDefinition;
  tags: Record<string, string>;
}

/** A revision as described, or what stopped ECS from describing it. */
export type RevisionRead = Revision | { error: unknown };

/** Describes each revision once, a few at a time; a revision ECS cannot describe keeps its error. */
export async function describeRevisions(
  ecs: Ecs,
  arns: readonly string[],
): Promise<Map<string, RevisionRead>> {
  const unique = [...new Set(arns.filter((arn) => arn !== ""))];
  const described = await inBatches(unique, (arn) =>
    ecs.describeTaskDefinition(arn).catch((error: unknown): RevisionRead => ({ error })),
  );
  return new Map(unique.map((arn, i) => [arn, described[i]!]));
}

/** A service's revision: what it runs exists, so a failure to describe it is the command's failure. */
export function revisionOf(revisions: Map<string, RevisionRead>, arn: string): Revision {
  const read = revisions.get(arn);
  if (read === undefined) throw new Error(`revision ${arn} was not read`);
  if ("error" in read) throw read.error;
  return read;
}

/**
 * A scheduled task's revision: its target may name one that no longer exists, which is a reason
 * about that task (status warns, plan refuses), not a failure of the command.
 */
export function targetRevision(
  revisions: Map<string, RevisionRead>,
  arn: string,
): { found: true; revision: Revision } | { found: false; reason: string } {
  const read = revisions.get(arn);
  if (read !== undefined && !("error" in read)) return { found: true, revision: read };
  const why = read === undefined ? "not read" : `${awsErrorName(read.error)}: ${messageOf(read.error)}`;
  return {
    found: false,
    reason: `its target runs task definition ${arn}, which ECS cannot describe (${why}): point the target at a revision that exists, or deploy to move it`,
  };
}

/**
 * Where `rollback` would return a service: its last-good tag unless that is what runs now, then the
 * service's previous tag, then the previous tag of the revision it runs.
 */
export function rollbackTargetOf(
  service: Service,
  serviceTags: Record<string, string>,
  revisionTags: Record<string, string>,
): string | null {
  const lastGood = serviceTags[TAG.lastGood] ?? null;
  return (
    (lastGood && lastGood !== service.taskDefinition ? lastGood : null) ??
    serviceTags[TAG.previous] ??
    revisionTags[TAG.previous] ??
    null
  );
}

/**
 * The revision a scheduled task's target runs. An answer AWS gives instead (access denied, a
 * throttled read that ran out of retries) is a reason like a missing rule's, with the permission
 * that reads it; only an interrupted run escapes.
 */
export async function readScheduledTarget(
  schedules: Schedules,
  unit: ScheduledUnit,
  signal: AbortSignal,
): Promise<TargetLookup> {
  try {
    const lookup = await schedules.readTarget(unit.settings, signal);
    if (lookup.found && lookup.taskDefinitionArn === "") {
      return { found: false, reason: `${unit.name}: its ECS target names no task definition` };
    }
    return lookup;
  } catch (error) {
    if (signal.aborted) throw error;
    const permission = unit.kind === "rule" ? "events:ListTargetsByRule" : "scheduler:GetSchedule";
    return {
      found: false,
      reason: `${unit.name} could not be read (${awsErrorName(error)}: ${messageOf(error)}); Shipyard needs ${permission} on it`,
    };
  }
}

/** The targets of every scheduled task, a few at a time, in the order of `units`. */
export function readScheduledTargets(
  schedules: Schedules,
  units: readonly ScheduledUnit[],
  signal: AbortSignal,
): Promise<TargetLookup[]> {
  return inBatches(units, (unit) => readScheduledTarget(schedules, unit, signal));
}

/**
 * Renders every unit's task definition for one image and release, all of them before deciding:
 * one InputError names every unit that does not render, with each one's problems.
 */
export async function renderUnits(
  ctx: EnvironmentContext,
  units: readonly Unit[],
  image: string,
  release: string,
): Promise<Map<Unit, RenderedTaskDefinition>> {
  const settled = await Promise.allSettled(
    units.map((unit) => ctx.renderTaskDefinition(image, release, unit.render)),
  );
  const rendered = new Map<Unit, RenderedTaskDefinition>();
  const failed: Array<{ unit: Unit; error: InputError }> = [];
  for (const [i, outcome] of settled.entries()) {
    const unit = units[i]!;
    if (outcome.status === "fulfilled") rendered.set(unit, outcome.value);
    else if (outcome.reason instanceof InputError) failed.push({ unit, error: outcome.reason });
    else throw outcome.reason;
  }
  if (failed.length === 0) return rendered;
  const problems = failed.flatMap(({ unit, error }) => {
    const heading = `${unit.configPath} (${unit.name})`;
    const first = error.message.split("\n")[0]!;
    return error.problems.length > 0
      ? error.problems.map((problem) => `${heading}: ${problem}`)
      : [`${heading}: ${first}`];
  });
  const names = failed.map(({ unit }) => unit.name).join(", ");
  throw new InputError(
    `The task definition of ${names} is not valid for ${ctx.environmentName}; nothing was changed.`,
    problems,
    failed.length === 1
      ? failed[0]!.error.hint
      : `fix the problems above, then check with \`${ctx.command("plan", { image })}\``,
  );
}

async function inBatches<T, R>(items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += READS_AT_ONCE) {
    results.push(...(await Promise.all(items.slice(i, i + READS_AT_ONCE).map(read))));
  }
  return results;
}

/** A report row for a service or scheduled task, named and typed from its settings. */
export function unitRow(
  settings: ServiceSettings | ScheduledTaskSettings,
  fields: Pick<ServiceRow, "state"> & Partial<Omit<ServiceRow, "name" | "kind" | "container" | "traffic">>,
): ServiceRow {
  const identity =
    "name" in settings
      ? { name: settings.name, kind: "service" as const, traffic: settings.traffic }
      : {
          name: scheduledTaskName(settings),
          kind: settings.rule !== undefined ? ("rule" as const) : ("schedule" as const),
          traffic: false,
        };
  return {
    ...identity,
    container: settings.container,
    taskDefinition: null,
    previousTaskDefinition: null,
    ...fields,
  };
}
