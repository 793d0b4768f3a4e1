/**
 * `rollback`: one command back to the last good revision (or `--to` a given one), confirmed by ECS.
 * Where "last good" is recorded, and how repeated rollbacks walk further back: src/deploy/revisions.ts.
 */

import type { Service } from "@aws-sdk/client-ecs";
import { shortArn } from "../aws/ecs.js";
import { imageOf, releaseOf } from "../config/taskdef.js";
import { recordRollback } from "../deploy/history.js";
import { describeClaim } from "../deploy/lock.js";
import { restoreRevision } from "../deploy/restore.js";
import { chooseRollbackTarget, type RollbackTarget, recordLastGood, TAG } from "../deploy/revisions.js";
import { EventLog } from "../deploy/wait.js";
import { ExitCode } from "../errors.js";
import type { Report } from "../report/report.js";
import { announced } from "./announce.js";
import type { EnvironmentContext } from "./context.js";
import { forceOption, serviceLock } from "./lock.js";
import { restoreCommands } from "./next-steps.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  ...environmentOptions,
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
    "Puts the service back on the last good revision recorded by the last deploy (service tag shipyard:last-good, then shipyard:previous), waits until ECS confirms it, and reports.",
  config: "environment",
  options,
  examples: ["shipyard rollback --env production", "shipyard rollback --env production --to 1"],
  exitCodes:
    "0 the service runs the target revision · 2 nothing to roll back to, or bad input · 3 the rollback was not confirmed (commands printed)",
  run: (ctx, options) => announced(ctx, () => rollback(ctx, options)),
});

async function rollback(ctx: EnvironmentContext, options: Options): Promise<Report> {
  const { report, output: progress, environment } = ctx;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found)
    return report.refused(lookup.reason, [`check environments.${ctx.environmentName} in shipyard.json`]);
  const current = lookup.service.taskDefinition!;
  report.set({ taskDefinition: current });
  const target = await chooseRollbackTarget(ecs, {
    to: options.to,
    currentArn: current,
    serviceTags: lookup.tags,
    pickByHand: ctx.command("rollback", { to: "<revision>" }),
    identity: { container: environment.container, repository: ctx.config.image },
    allowForeign: options.allowForeignRevision,
  });
  if ("problem" in target) return report.refused(target.problem, target.nextSteps);
  report.set({
    image: imageOf(target.taskDefinition, environment.container),
    release: releaseOf(target.taskDefinition, environment.container),
    taskDefinition: target.arn,
  });
  report.section("details", { chosenBecause: target.why });
  if (target.arn === current) {
    progress.info(`The service already runs ${shortArn(current)}; nothing to do.`);
    return report.succeeded();
  }
  report.set({ previousTaskDefinition: current });
  const lock = serviceLock(ctx, ecs, lookup.service.serviceArn ?? "", undefined, options.force, "rollback");
  try {
    await lock.announce();
    const claim = await lock.claim({ kind: "exclusive" });
    if (!claim.held) {
      return report.refused(
        `${ctx.service.service} is held by ${describeClaim(claim.holder)} (${claim.why})`,
        [
          ctx.command("status"),
          `${ctx.command("rollback", { to: options.to, force: true })}   # only if that run is dead`,
        ],
      );
    }
    for (const broken of claim.broken) report.warn(`--force removed the claim of ${describeClaim(broken)}`);
    // Another run may have changed the service while this one took the lock: the target was chosen
    // for what ran then.
    const now = await ecs.describeService(ctx.service);
    if (now.found && now.service.taskDefinition !== current) {
      return report.refused(
        `the service changed while this rollback was starting: it runs ${shortArn(now.service.taskDefinition)} now, not ${shortArn(current)}`,
        [ctx.command("status"), ctx.command("rollback", { to: options.to })],
      );
    }
    const done = await restoreTo(ctx, target, current, now.found ? now : lookup);
    return await recordRollback(ecs, current, target.arn, done, ctx.runtime.env, progress);
  } finally {
    await lock.release();
  }
}

async function restoreTo(
  ctx: EnvironmentContext,
  target: RollbackTarget,
  current: string,
  lookup: { service: Service },
): Promise<Report> {
  const { report, output: progress, environment, runtime } = ctx;
  const ecs = await ctx.ecs();
  progress.info(
    `Rolling ${ctx.service.cluster}/${ctx.service.service} back from ${shortArn(current)} to ${shortArn(target.arn)} (${target.why}).`,
  );
  const events = new EventLog(runtime.clock, progress);
  events.markSeen(lookup.service);
  report.set({ events: events.seen });
  const result = await report.phase("restore", () =>
    restoreRevision({
      ecs,
      ref: ctx.service,
      clock: runtime.clock,
      progress,
      signal: runtime.signal,
      settings: environment.deployment,
      events,
      taskDefinitionArn: target.arn,
    }),
  );
  report.section("details", { restoredWith: result.how });
  if (!result.confirmed) {
    return report.finish("failed", ExitCode.NeedsAttention, {
      reason: `the rollback to ${shortArn(target.arn)} was not confirmed: ${result.reason}`,
      nextSteps: [ctx.command("status"), ...restoreCommands(ctx, target.arn)],
    });
  }
  // The target is last good now; its own recorded predecessor becomes `previous`.
  const warning = await recordLastGood(
    ecs,
    lookup.service.serviceArn,
    target.arn,
    target.tags[TAG.previous],
    progress,
  );
  if (warning) report.warn(warning);
  progress.info(`Back on ${shortArn(target.arn)} (${result.seconds}s).`);
  return report.succeeded();
}
