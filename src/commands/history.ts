/**
 * `history`: the last deploys and rollbacks of an environment, read back from the tags each run left
 * on the family's revisions (src/deploy/history.ts). Reads only: one DescribeServices (the family),
 * one ListTaskDefinitions page per 100 revisions, one DescribeTaskDefinition per revision read, so
 * `--limit 20` costs at most 22 calls.
 */
import { type Ecs, shortArn } from "../aws/ecs.js";
import {
  familyOf,
  formatDuration,
  formatWhen,
  type HistoryEvent,
  historyEvents,
  readRevisions,
} from "../deploy/history.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { defineCommand, environmentOptions, type OptionValues, wholeNumberOption } from "./spec.js";

/** Enough for a screen; the cap keeps the calls (one per revision) bounded. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

const options = {
  ...environmentOptions,
  limit: {
    type: "string",
    value: "N",
    help: `read the newest N revisions of the service's family (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT}); one AWS call each`,
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "history",
  description:
    "Lists the last deploys and rollbacks of an environment: when, release, commit, outcome, duration, where a rollback went, and who ran it. Read from the tags every deploy and rollback leaves on the task definition revisions, so any runner sees the same history. Changes nothing.",
  config: "environment",
  options,
  examples: ["shipyard history --env production", "shipyard history --env staging --limit 50 --json"],
  check: (values) => {
    limitOf(values);
  },
  run: history,
});

/** --limit as a number, or the InputError that names the fix. */
export function limitOf(values: Pick<Options, "limit">): number {
  return wholeNumberOption("--limit", values.limit, {
    min: 1,
    max: MAX_LIMIT,
    fallback: DEFAULT_LIMIT,
    unit: "revisions",
  });
}

async function history(ctx: EnvironmentContext, values: Options): Promise<Report> {
  const { report, environment } = ctx;
  const limit = limitOf(values);
  const ecs = await ctx.ecs();
  const running = await runningFamily(ctx, ecs);
  if ("outcome" in running) return running;
  const { current, family } = running;
  const read = await readRevisions(ecs, { family, container: environment.container, maxRevisions: limit });
  const events = historyEvents(read.revisions, ctx.environmentName);
  const table = historyTable(events);
  ctx.output.info(
    `${ctx.environmentName}: ${events.length} deploy(s) and rollback(s) in the newest ${read.revisions.length} revision(s) of ${family}${read.truncated ? ` (older ones: ${limit < MAX_LIMIT ? `--limit ${Math.min(limit * 2, MAX_LIMIT)}` : "not shown"})` : ""}`,
  );
  for (const line of table) ctx.output.info(`  ${line}`);
  return report
    .set({ taskDefinition: current })
    .section("details", {
      family,
      revisionsRead: read.revisions.length,
      moreRevisions: read.truncated,
      awsCalls: ecs.sent.length,
      table,
      events: events.map(eventJson),
    })
    .succeeded();
}

/** The revision the service runs and its family, whose revisions hold the history; or why there is none. */
export async function runningFamily(
  ctx: EnvironmentContext,
  ecs: Ecs,
): Promise<{ current: string; family: string } | Report> {
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return ctx.report.refused(lookup.reason, [
      `check environments.${ctx.environmentName} (region, cluster, service) in shipyard.json`,
    ]);
  }
  const current = lookup.service.taskDefinition;
  if (!current) return ctx.report.refused(noRevision(ctx.service.service), [ctx.command("status")]);
  return { current, family: familyOf(current) };
}

/** A service without a task definition (another deployment controller) has no family to read. */
function noRevision(service: string): string {
  return `service ${service} names no task definition, so there is no family of revisions to read`;
}

function eventJson(event: HistoryEvent) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...event, at: iso(event.at), finishedAt: iso(event.finishedAt), changedAt: iso(event.changedAt) };
}

const COLUMNS = ["WHEN (UTC)", "WHAT", "REVISION", "RELEASE", "COMMIT", "OUTCOME", "TOOK", "BACK TO", "BY"];

/** The events as aligned text columns (the terminal, and a code block in the step summary). */
export function historyTable(events: readonly HistoryEvent[]): string[] {
  if (events.length === 0) return ["(no deploy recorded yet)"];
  const rows = events.map((e) => [
    formatWhen(e.at),
    e.kind,
    shortArn(e.revision),
    e.release ?? "-",
    e.commit ? e.commit.slice(0, 12) : "-",
    e.outcome,
    e.seconds === null ? "-" : formatDuration(e.seconds),
    e.rollbackTarget ? shortArn(e.rollbackTarget) : "-",
    e.by ?? "-",
  ]);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)];
}
