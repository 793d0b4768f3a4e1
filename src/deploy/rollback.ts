/**
 * `rollback`: one command back to the last good revision. CI runners are ephemeral, so what "last
 * good" means lives on the ECS service itself, as tags the last successful deploy wrote:
 * `shipyard:last-good` (the revision it verified) and `shipyard:previous` (the one before it); each
 * registered revision also carries `shipyard:previous`, so repeated rollbacks walk further back
 * instead of rolling forward. `--to` overrides all of that.
 */
import type { ECSClient, TaskDefinition } from "@aws-sdk/client-ecs";
import { imageOf, releaseOf } from "../config/taskdef.js";
import { ExitCode } from "../errors.js";
import type { Report } from "../report/report.js";
import { type CommandDeps, prepare, type RollbackInput } from "./commands.js";
import { awsErrorName, describeService, describeTaskDefinition, shortArn, TAG, tagService } from "./ecs.js";
import { restoreRevision } from "./restore.js";
import { makeReport, type ReportBase, restoreCommands, statusCommand, Timeline } from "./timeline.js";
import { EventLog } from "./wait.js";

type Target = { arn: string; taskDefinition: TaskDefinition; tags: Record<string, string>; why: string };

export async function rollback(input: RollbackInput, deps: CommandDeps): Promise<Report> {
  const timeline = new Timeline(deps.clock);
  const prepared = prepare(input, deps);
  const { environment } = prepared;
  const base: ReportBase = { command: "rollback", environmentName: input.environmentName, environment };
  const ecs = await prepared.ecs();
  const ref = { cluster: environment.cluster, service: environment.service };
  const refuse = (reason: string, nextSteps: string[], current: string | null = null) =>
    makeReport(base, timeline, {
      outcome: "failed",
      exitCode: ExitCode.BadInput,
      reason: `${reason}; nothing was changed`,
      nextSteps,
      taskDefinition: current,
    });

  const lookup = await describeService(ecs, ref);
  if (!lookup.found)
    return refuse(lookup.reason, [`check environments.${input.environmentName} in shipyard.json`]);
  const current = lookup.service.taskDefinition!;
  const chosen = await chooseTarget(ecs, input.to, current, lookup.tags, input.environmentName);
  if ("problem" in chosen) return refuse(chosen.problem, chosen.nextSteps, current);
  const target = chosen;
  const release = releaseOf(target.taskDefinition, environment.container);
  const image = imageOf(target.taskDefinition, environment.container);
  if (target.arn === current) {
    deps.progress.info(`The service already runs ${shortArn(current)}; nothing to do.`);
    return makeReport(base, timeline, {
      outcome: "succeeded",
      exitCode: ExitCode.Success,
      image,
      release,
      taskDefinition: current,
    });
  }
  deps.progress.info(
    `Rolling ${ref.cluster}/${ref.service} back from ${shortArn(current)} to ${shortArn(target.arn)} (${target.why}).`,
  );
  const events = new EventLog(deps.clock, deps.progress);
  events.markSeen(lookup.service);
  const result = await timeline.phase("restore", () =>
    restoreRevision({
      ecs,
      ref,
      clock: deps.clock,
      progress: deps.progress,
      signal: deps.signal,
      settings: environment.deployment,
      events,
      taskDefinitionArn: target.arn,
    }),
  );
  const fields = {
    image,
    release,
    taskDefinition: target.arn,
    previousTaskDefinition: current,
    events: events.seen,
  };
  if (!result.confirmed) {
    return makeReport(base, timeline, {
      ...fields,
      outcome: "failed",
      exitCode: ExitCode.NeedsAttention,
      reason: `the rollback to ${shortArn(target.arn)} was not confirmed: ${result.reason}`,
      nextSteps: [
        statusCommand(input.environmentName),
        ...restoreCommands(input.environmentName, environment, target.arn),
      ],
      details: { chosenBecause: target.why, restoredWith: result.how },
    });
  }
  const recorded = await recordRollback(ecs, lookup.service.serviceArn, target, deps);
  deps.progress.info(`Back on ${shortArn(target.arn)} (${result.seconds}s).`);
  return makeReport(base, timeline, {
    ...fields,
    outcome: "succeeded",
    exitCode: ExitCode.Success,
    details: { chosenBecause: target.why, restoredWith: result.how, ...recorded },
  });
}

async function chooseTarget(
  ecs: ECSClient,
  to: string | undefined,
  current: string,
  serviceTags: Record<string, string>,
  environmentName: string,
): Promise<Target | { problem: string; nextSteps: string[] }> {
  const family = shortArn(current).split(":")[0]!;
  const candidates: Array<[string | undefined, string]> = to
    ? [[/^\d+$/.test(to) ? `${family}:${to}` : to, "--to"]]
    : [
        [serviceTags[TAG.lastGood], "the last good revision recorded by the last deploy"],
        [serviceTags[TAG.previous], "the revision before the last good one"],
      ];
  for (const [identifier, why] of candidates) {
    if (!identifier || (identifier === current && !to)) continue;
    return await loadTarget(ecs, identifier, why);
  }
  if (!to) {
    // The current revision remembers the one it replaced.
    const { tags } = await describeTaskDefinition(ecs, current);
    const previous = tags[TAG.previous];
    if (previous && previous !== current)
      return await loadTarget(ecs, previous, `the revision ${shortArn(current)} replaced`);
  }
  return {
    problem: "no earlier good revision is recorded on the service (it was not deployed by Shipyard yet)",
    nextSteps: [
      `npx shipyard rollback --env ${environmentName} --to <revision>   # pick one from: aws ecs list-task-definitions --family-prefix ${family} --sort DESC`,
    ],
  };
}

async function loadTarget(
  ecs: ECSClient,
  identifier: string,
  why: string,
): Promise<Target | { problem: string; nextSteps: string[] }> {
  try {
    const { taskDefinition, tags } = await describeTaskDefinition(ecs, identifier);
    if (taskDefinition.status !== "ACTIVE") {
      return {
        problem: `${shortArn(taskDefinition.taskDefinitionArn)} is ${taskDefinition.status}: ECS cannot run it again`,
        nextSteps: ["pick an ACTIVE revision with --to"],
      };
    }
    return { arn: taskDefinition.taskDefinitionArn!, taskDefinition, tags, why };
  } catch (error) {
    return {
      problem: `task definition ${identifier} could not be read (${awsErrorName(error)}: ${(error as Error).message})`,
      nextSteps: ["check the revision with aws ecs describe-task-definition, or pass another one with --to"],
    };
  }
}

/** The target is now last good; its own recorded predecessor becomes `previous`. */
async function recordRollback(
  ecs: ECSClient,
  serviceArn: string | undefined,
  target: Target,
  deps: CommandDeps,
): Promise<Record<string, unknown>> {
  if (!serviceArn) return {};
  const before = target.tags[TAG.previous];
  try {
    await tagService(ecs, serviceArn, {
      [TAG.lastGood]: target.arn,
      ...(before ? { [TAG.previous]: before } : {}),
    });
    if (!before) {
      const { UntagResourceCommand } = await import("@aws-sdk/client-ecs");
      await ecs.send(new UntagResourceCommand({ resourceArn: serviceArn, tagKeys: [TAG.previous] }));
    }
    return {};
  } catch (error) {
    const why = `${awsErrorName(error)}: ${(error as Error).message}`;
    deps.progress.warn(`the rollback worked but the service tags were not updated (${why}).`);
    return { lastGoodNotRecorded: why };
  }
}
