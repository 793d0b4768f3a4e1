/**
 * `rollback`: one command back to the last good revision (or `--to` a given one), confirmed by ECS.
 * Every service of the environment goes back at once (or only `--service NAME`), each to its own
 * last good revision, and the scheduled tasks to the revisions of the same release. Where "last
 * good" is recorded, and how repeated rollbacks walk further back: src/deploy/revisions.ts.
 */

import type { Service } from "@aws-sdk/client-ecs";
import { type Ecs, type ServiceRef, shortArn } from "../aws/ecs.js";
import { type ScheduledTaskSettings, type ServiceSettings, scheduledTaskName } from "../config/schema.js";
import { imageOf, releaseOf } from "../config/taskdef.js";
import { recordRollback } from "../deploy/history.js";
import { describeClaim } from "../deploy/lock.js";
import { restoreRevisions } from "../deploy/restore.js";
import { chooseRollbackTarget, type RollbackTarget, recordLastGood, TAG } from "../deploy/revisions.js";
import { EventLog } from "../deploy/wait.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report, ServiceState } from "../report/report.js";
import { announced } from "./announce.js";
import type { EnvironmentContext } from "./context.js";
import { forceOption, serviceLock } from "./lock.js";
import { restoreCommands, retargetCommands } from "./next-steps.js";
import { moveTargets, serviceChange } from "./release-set.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";
import { coversSeveralUnits } from "./units.js";

const options = {
  ...environmentOptions,
  service: {
    type: "string",
    value: "NAME",
    help: "roll back only this service of the environment (default: every service and scheduled task)",
  },
  to: {
    type: "string",
    value: "REVISION",
    help: "go to this revision instead of the last good one: a number (same family), family:revision, or an ARN",
  },
  allowForeignRevision: {
    type: "boolean",
    help: "accept a target of another family, without the configured container, or with an image from another repository (after checking it by hand)",
  },
  ...forceOption,
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "rollback",
  description:
    "Puts every service of the environment (or only --service) back on its last good revision recorded by the last deploy (service tag shipyard:last-good, then shipyard:previous), moves the scheduled tasks back with them, waits until ECS confirms it, and reports.",
  config: "environment",
  options,
  examples: ["shipyard rollback --env production", "shipyard rollback --env production --to 1"],
  exitCodes:
    "0 every service runs its target revision · 2 nothing to roll back to, or bad input · 3 the rollback was not confirmed (commands printed)",
  run: (ctx, options) => announced(ctx, () => rollback(ctx, options)),
});

/** One service on its way back: what it runs, where it goes, and why there. */
interface Move {
  settings: ServiceSettings;
  ref: ServiceRef;
  service: Service;
  current: string;
  target: RollbackTarget;
}

async function rollback(ctx: EnvironmentContext, options: Options): Promise<Report> {
  const { report, output: progress, environment } = ctx;
  const chosen = servicesToMove(ctx, options);
  const ecs = await ctx.ecs();
  const moves: Move[] = [];
  for (const settings of chosen) {
    const move = await chooseMove(ctx, ecs, settings, options);
    if ("problem" in move) return report.refused(move.problem, move.nextSteps);
    moves.push(move);
  }
  const primary = moves.find((m) => m.settings.name === environment.service) ?? moves[0]!;
  report.set({
    image: imageOf(primary.target.taskDefinition, primary.settings.container),
    release: releaseOf(primary.target.taskDefinition, primary.settings.container),
    taskDefinition: primary.target.arn,
  });
  report.section("details", { chosenBecause: primary.target.why });
  const scheduled = options.service === undefined ? await scheduledMoves(ctx, primary.target) : [];
  if ("problem" in scheduled) return report.refused(scheduled.problem, scheduled.nextSteps);
  const pending = moves.filter((m) => m.target.arn !== m.current);
  for (const m of moves.filter((m) => m.target.arn === m.current)) {
    progress.info(
      `${several(ctx) ? m.settings.name : "The service"} already runs ${shortArn(m.current)}; nothing to do.`,
    );
    row(ctx, m, "deployed");
  }
  if (pending.length === 0 && scheduled.length === 0) return report.succeeded();
  report.set({ previousTaskDefinition: primary.current });
  // The lock covers the environment: it lives on the primary service, whichever services move.
  const lockArn = await primaryServiceArn(ctx, ecs, moves);
  const lock = serviceLock(ctx, ecs, lockArn, undefined, options.force, "rollback");
  try {
    await lock.announce();
    const claim = await lock.claim({ kind: "exclusive" });
    if (!claim.held) {
      return report.refused(
        `${ctx.service.service} is held by ${describeClaim(claim.holder)} (${claim.why})`,
        [
          ctx.command("status"),
          `${ctx.command("rollback", { service: options.service, to: options.to, force: true })}   # only if that run is dead`,
        ],
      );
    }
    for (const broken of claim.broken) report.warn(`--force removed the claim of ${describeClaim(broken)}`);
    // Another run may have changed a service while this one took the lock: the targets were chosen
    // for what ran then.
    for (const m of pending) {
      const now = await ecs.describeService(m.ref);
      if (now.found && now.service.taskDefinition !== m.current) {
        return report.refused(
          `${several(ctx) ? m.settings.name : "the service"} changed while this rollback was starting: it runs ${shortArn(now.service.taskDefinition)} now, not ${shortArn(m.current)}`,
          [ctx.command("status"), ctx.command("rollback", { service: options.service, to: options.to })],
        );
      }
      if (now.found) m.service = now.service;
    }
    const done = await restoreTo(ctx, ecs, pending, scheduled);
    return await recordRollback(ecs, primary.current, primary.target.arn, done, ctx.runtime.env, progress);
  } finally {
    await lock.release();
  }
}

/** The services this rollback moves: the one --service names, else all of them. */
function servicesToMove(ctx: EnvironmentContext, options: Options): ServiceSettings[] {
  const { services } = ctx.environment;
  if (options.service === undefined) {
    if (options.to !== undefined && services.length > 1) {
      throw new InputError(
        `--to names a revision of one service, and ${ctx.environmentName} has ${services.length} (${services.map((s) => s.name).join(", ")}).`,
        [],
        `add --service NAME: ${ctx.command("rollback", { service: services[0]!.name, to: options.to })}`,
      );
    }
    return services;
  }
  const named = services.find((s) => s.name === options.service);
  if (named) return [named];
  throw new InputError(
    `--service ${options.service}: ${ctx.environmentName} has no such service (environments.${ctx.environmentName}.services in shipyard.json lists ${services.map((s) => s.name).join(", ")}).`,
    [],
    "pass one of those names, or leave --service out to roll back every service",
  );
}

async function chooseMove(
  ctx: EnvironmentContext,
  ecs: Ecs,
  settings: ServiceSettings,
  options: Options,
): Promise<Move | { problem: string; nextSteps: string[] }> {
  const ref = { cluster: ctx.environment.cluster, service: settings.name };
  const lookup = await ecs.describeService(ref);
  if (!lookup.found)
    return {
      problem: lookup.reason,
      nextSteps: [`check environments.${ctx.environmentName} in shipyard.json`],
    };
  const current = lookup.service.taskDefinition!;
  const flag = several(ctx) ? { service: settings.name } : {};
  const target = await chooseRollbackTarget(ecs, {
    to: options.to,
    currentArn: current,
    serviceTags: lookup.tags,
    pickByHand: ctx.command("rollback", { ...flag, to: "<revision>" }),
    identity: { container: settings.container, repository: ctx.config.image },
    allowForeign: options.allowForeignRevision,
  });
  if ("problem" in target) {
    if (!several(ctx)) return target;
    return {
      problem: `${settings.name}: ${target.problem}`,
      nextSteps: [
        ...target.nextSteps,
        ...(options.service === undefined
          ? ["or roll back the other services one at a time with --service NAME"]
          : []),
      ],
    };
  }
  return { settings, ref, service: lookup.service, current, target };
}

/**
 * Where each scheduled task goes: the revision of the release the primary service returns to (the
 * deploy registered them together), found by walking back from what its target runs now.
 */
async function scheduledMoves(
  ctx: EnvironmentContext,
  primaryTarget: RollbackTarget,
): Promise<ScheduledMove[] | { problem: string; nextSteps: string[] }> {
  const tasks = ctx.environment.scheduledTasks;
  if (tasks.length === 0) return [];
  const ecs = await ctx.ecs();
  const schedules = await ctx.schedules();
  const release = primaryTarget.tags[TAG.release] ?? null;
  const moves: ScheduledMove[] = [];
  for (const settings of tasks) {
    const name = scheduledTaskName(settings);
    const target = await schedules.readTarget(settings, ctx.runtime.signal);
    if (!target.found) {
      return {
        problem: target.reason,
        nextSteps: [`check environments.${ctx.environmentName}.scheduledTasks in shipyard.json`],
      };
    }
    const to = await revisionOfRelease(ecs, target.taskDefinitionArn, release);
    if (to === null) {
      return {
        problem: `${name} runs ${shortArn(target.taskDefinitionArn)}, and none of the revisions before it is of release ${release ?? "(none recorded)"}, which the services return to`,
        nextSteps: [
          "roll back the services alone with --service NAME, then point the scheduled task by hand:",
          ...retargetCommands(ctx, settings, "<revision>"),
        ],
      };
    }
    if (to !== target.taskDefinitionArn)
      moves.push({ settings, name, current: target.taskDefinitionArn, to });
  }
  return moves;
}

/** How far back a scheduled task's revisions are followed to find the release the services return to. */
const SCHEDULED_HISTORY = 10;

async function revisionOfRelease(ecs: Ecs, current: string, release: string | null): Promise<string | null> {
  let arn: string | undefined = current;
  for (let step = 0; arn && step <= SCHEDULED_HISTORY; step += 1) {
    const { tags } = await ecs.describeTaskDefinition(arn);
    if (release !== null && tags[TAG.release] === release) return arn;
    // Without a release to match, one step back: the revision the current one replaced.
    if (release === null && step === 1) return arn;
    arn = tags[TAG.previous];
  }
  return null;
}

interface ScheduledMove {
  settings: ScheduledTaskSettings;
  name: string;
  current: string;
  to: string;
}

async function restoreTo(
  ctx: EnvironmentContext,
  ecs: Ecs,
  moves: Move[],
  scheduled: ScheduledMove[],
): Promise<Report> {
  const { report, output: progress, runtime } = ctx;
  for (const m of moves) {
    progress.info(
      `Rolling ${m.ref.cluster}/${m.ref.service} back from ${shortArn(m.current)} to ${shortArn(m.target.arn)} (${m.target.why}).`,
    );
  }
  const events = new EventLog(runtime.clock, progress);
  for (const m of moves) events.markSeen(m.service);
  report.set({ events: events.seen });
  const [results, retargeted] = await report.phase("restore", () =>
    Promise.all([
      restoreRevisions(moves.map((m) => serviceChange(ctx, ecs, m.ref, m.target.arn, events))),
      moveTargets(ctx, scheduled, (move) => move.to),
    ]),
  );
  const problems: string[] = [];
  const commands: string[] = [];
  for (const [i, m] of moves.entries()) {
    const result = results[i]!;
    if (!several(ctx)) report.section("details", { restoredWith: result.how });
    if (!result.confirmed) {
      const what = several(ctx)
        ? `${m.settings.name} to ${shortArn(m.target.arn)}`
        : `to ${shortArn(m.target.arn)}`;
      problems.push(`the rollback ${what} was not confirmed: ${result.reason}`);
      commands.push(...restoreCommands(ctx, m.target.arn, m.settings.name));
      row(ctx, m, "not-restored", result.reason);
      continue;
    }
    // The target is last good now; its own recorded predecessor becomes `previous`.
    const warning = await recordLastGood(
      ecs,
      m.service.serviceArn,
      m.target.arn,
      m.target.tags[TAG.previous],
      progress,
    );
    if (warning) report.warn(several(ctx) ? `${m.settings.name}: ${warning}` : warning);
    progress.info(
      `${several(ctx) ? `${m.settings.name}: back` : "Back"} on ${shortArn(m.target.arn)} (${result.seconds}s).`,
    );
    row(ctx, m, "deployed", undefined, { detail: result.how, seconds: result.seconds });
  }
  for (const { move, error } of retargeted) {
    report.serviceRow({
      name: move.name,
      kind: move.settings.rule !== undefined ? "rule" : "schedule",
      container: move.settings.container,
      traffic: false,
      state: error === null ? "deployed" : "not-restored",
      taskDefinition: error === null ? move.to : move.current,
      previousTaskDefinition: move.current,
      ...(error === null ? {} : { reason: error, nextSteps: retargetCommands(ctx, move.settings, move.to) }),
    });
    if (error === null) progress.info(`${move.name}: back on ${shortArn(move.to)}.`);
    else {
      problems.push(`moving ${move.name} to ${shortArn(move.to)} failed: ${error}`);
      commands.push(...retargetCommands(ctx, move.settings, move.to));
    }
  }
  if (problems.length > 0) {
    return report.finish("failed", ExitCode.NeedsAttention, {
      reason: problems.join("; "),
      nextSteps: [ctx.command("status"), ...commands],
    });
  }
  return report.succeeded();
}

function row(
  ctx: EnvironmentContext,
  m: Move,
  state: ServiceState,
  reason?: string,
  extra: { detail?: string; seconds?: number } = {},
): void {
  if (!several(ctx)) return;
  const { name, container, traffic } = m.settings;
  ctx.report.serviceRow({
    name,
    kind: "service",
    container,
    traffic,
    state,
    taskDefinition: state === "not-restored" ? m.current : m.target.arn,
    previousTaskDefinition: m.current,
    ...(reason ? { reason, nextSteps: restoreCommands(ctx, m.target.arn, name) } : {}),
    ...extra,
  });
}

/** The lock lives on the primary service, which a --service rollback may not otherwise read. */
async function primaryServiceArn(ctx: EnvironmentContext, ecs: Ecs, moves: Move[]): Promise<string> {
  const primary = moves.find((m) => m.settings.name === ctx.environment.service);
  if (primary) return primary.service.serviceArn ?? "";
  const lookup = await ecs.describeService(ctx.service);
  return lookup.found ? (lookup.service.serviceArn ?? "") : "";
}

function several(ctx: EnvironmentContext): boolean {
  return coversSeveralUnits(ctx.environment);
}
