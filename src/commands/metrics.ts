/**
 * `metrics`: the four delivery metrics of an environment over the last N days, from the history the
 * deploys and rollbacks recorded on the family's revisions (src/deploy/history.ts):
 *
 * - deploy frequency: deploys that succeeded (verified in production), per day and per week;
 * - lead time for changes: from the commit's time (`git show -s --format=%ct SHA` in the app folder,
 *   else the GitHub API with a token) to the end of the deploy that verified it in production; the
 *   median, and how many commits neither could find (unknown);
 * - change failure rate: of the deploys that changed production (UpdateService was sent), those
 *   that were restored, failed, or rolled back later;
 * - time to restore: for each of those failed changes, from the moment production began to change
 *   to the first confirmed recovery (its own restore, a rollback from it, or the next deploy or
 *   rollback that succeeded); the median, and how many are not restored yet.
 *
 * Reads only: revisions are read newest first until the first one older than the window (it may
 * carry a rollback inside the window), at most 500.
 */
import { execFile } from "node:child_process";
import { formatDuration, type HistoryEvent, historyEvents, readRevisions } from "../deploy/history.js";
import { DELIVERY_TIMEOUT_MS } from "../report/delivery.js";
import type { Report } from "../report/report.js";
import { githubAccess } from "./announce.js";
import type { EnvironmentContext } from "./context.js";
import { runningFamily } from "./history.js";
import { defineCommand, environmentOptions, type OptionValues, wholeNumberOption } from "./spec.js";

const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
/** Revisions read at most (one DescribeTaskDefinition each). */
const MAX_REVISIONS = 500;
const DAY_MS = 86_400_000;

const options = {
  ...environmentOptions,
  days: {
    type: "string",
    value: "N",
    help: `the window: the last N days up to now (1-${MAX_DAYS}, default ${DEFAULT_DAYS})`,
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "metrics",
  description:
    "Computes the four delivery metrics of an environment over the last N days — deploy frequency, lead time for changes (commit time from git, else from the GitHub API with a token), change failure rate, time to restore — from the history recorded on the task definition revisions, with a small chart. Changes nothing.",
  config: "environment",
  options,
  examples: ["shipyard metrics --env production", "shipyard metrics --env production --days 90 --json"],
  check: (values) => {
    daysOf(values);
  },
  run: metrics,
});

/** --days as a number, or the InputError that names the fix. */
export function daysOf(values: Pick<Options, "days">): number {
  return wholeNumberOption("--days", values.days, {
    min: 1,
    max: MAX_DAYS,
    fallback: DEFAULT_DAYS,
    unit: "days",
  });
}

async function metrics(ctx: EnvironmentContext, values: Options): Promise<Report> {
  const { report, environment, runtime } = ctx;
  const days = daysOf(values);
  const now = runtime.clock.now();
  const from = now - days * DAY_MS;
  const ecs = await ctx.ecs();
  const running = await runningFamily(ctx, ecs);
  if ("outcome" in running) return running;
  const { current, family } = running;
  const read = await readRevisions(ecs, {
    family,
    container: environment.container,
    maxRevisions: MAX_REVISIONS,
    olderThan: from,
  });
  if (read.truncated) {
    report.warn(
      `only the newest ${MAX_REVISIONS} revisions of ${family} were read; older deploys are missing`,
    );
  }
  const events = historyEvents(read.revisions, ctx.environmentName);
  const fromGitHub = await githubCommitTimes(ctx);
  const commitTimes = await commitTimesOf(
    events,
    { from, now },
    async (sha) => (await gitCommitTime(ctx.appRoot, sha, runtime.env)) ?? (await fromGitHub(sha)),
  );
  const result = deliveryMetrics(events, { from, now, commitTimes });
  const chart = deployChart(events, { from, now });
  const summary = metricLines(result, days);
  ctx.output.info(`${ctx.environmentName}: delivery metrics over the last ${days} days (${family})`);
  for (const [name, text] of Object.entries(summary)) ctx.output.info(`  ${name.padEnd(20)} ${text}`);
  for (const line of chart) ctx.output.info(`  ${line}`);
  return report
    .set({ taskDefinition: current })
    .section("details", {
      ...summary,
      chart,
      metrics: result,
      revisionsRead: read.revisions.length,
      awsCalls: ecs.sent.length,
    })
    .succeeded();
}

/** The commit's time (ms) from the app folder's git, or null when git cannot tell. */
export function gitCommitTime(appRoot: string, sha: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  // Only a hex object name reaches git: a tag value is not trusted as an argument.
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile(
      "git",
      ["show", "-s", "--format=%ct", sha],
      { cwd: appRoot, env, timeout: 10_000 },
      (error, stdout) => {
        const seconds = Number(String(stdout).trim());
        resolve(error || !Number.isSafeInteger(seconds) || seconds <= 0 ? null : seconds * 1000);
      },
    );
  });
}

/**
 * Commit times from the GitHub API, for commits the app folder's git does not have (a shallow CI
 * checkout): with a token and GITHUB_REPOSITORY, else none. A failed answer is one warning, and the
 * rest are not asked.
 */
async function githubCommitTimes(ctx: EnvironmentContext): Promise<(sha: string) => Promise<number | null>> {
  const access = githubAccess(ctx.runtime.env);
  if (access === null) return async () => null;
  ctx.output.scrubber.add(access.token);
  const { GitHubDeployments } = await import("../report/github.js");
  const github = await GitHubDeployments.open(access, {
    fetch: ctx.runtime.fetch ?? ((input, init) => fetch(input, init)),
    requestSignal: ctx.runtime.requestSignal ?? ((ms) => AbortSignal.timeout(ms)),
    timeoutMs: DELIVERY_TIMEOUT_MS,
  });
  let failed = false;
  return async (sha) => {
    if (failed || !/^[0-9a-f]{7,40}$/i.test(sha)) return null;
    const answer = await github.commitTime(sha);
    if (answer.ok) return answer.value;
    failed = true;
    ctx.report.warn(`GitHub could not give commit times (${answer.problem}); those lead times are unknown`);
    return null;
  };
}

export interface Window {
  from: number;
  now: number;
}

const inWindow = (event: HistoryEvent, window: Window) =>
  event.at !== null && event.at >= window.from && event.at <= window.now;

/** Looks up each commit of a succeeded deploy in the window once. */
export async function commitTimesOf(
  events: readonly HistoryEvent[],
  window: Window,
  lookup: (sha: string) => Promise<number | null>,
): Promise<Map<string, number | null>> {
  const times = new Map<string, number | null>();
  for (const event of events) {
    if (event.kind !== "deploy" || event.outcome !== "succeeded" || !event.commit) continue;
    if (!inWindow(event, window) || times.has(event.commit)) continue;
    times.set(event.commit, await lookup(event.commit));
  }
  return times;
}

export interface DeliveryMetrics {
  window: { from: string; to: string; days: number };
  deploys: { total: number; succeeded: number; rolledBack: number; failed: number; unknown: number };
  deployFrequency: { succeeded: number; perDay: number; perWeek: number };
  leadTime: { medianSeconds: number | null; known: number; unknown: number };
  changeFailureRate: { changes: number; failed: number; rate: number | null };
  timeToRestore: { medianSeconds: number | null; restored: number; notRestored: number };
}

export function deliveryMetrics(
  events: readonly HistoryEvent[],
  options: Window & { commitTimes: ReadonlyMap<string, number | null> },
): DeliveryMetrics {
  const days = (options.now - options.from) / DAY_MS;
  const deploys = events.filter((e) => e.kind === "deploy" && inWindow(e, options));
  const count = (outcome: HistoryEvent["outcome"]) => deploys.filter((e) => e.outcome === outcome).length;
  const succeeded = deploys.filter((e) => e.outcome === "succeeded");
  const leadTimes: number[] = [];
  let unknownCommits = 0;
  for (const deploy of succeeded) {
    const committedAt = deploy.commit ? options.commitTimes.get(deploy.commit) : null;
    if (committedAt === null || committedAt === undefined || deploy.finishedAt === null) unknownCommits += 1;
    else leadTimes.push(Math.max(0, (deploy.finishedAt - committedAt) / 1000));
  }
  const changes = deploys.filter((e) => e.changedAt !== null);
  const failed = changes.filter((change) => isFailedChange(change, events));
  const restored = failed.flatMap((change) => {
    const at = restoredAt(change, events);
    return at === null || change.changedAt === null ? [] : [(at - change.changedAt) / 1000];
  });
  return {
    window: { from: new Date(options.from).toISOString(), to: new Date(options.now).toISOString(), days },
    deploys: {
      total: deploys.length,
      succeeded: succeeded.length,
      rolledBack: count("rolled_back"),
      failed: count("failed"),
      unknown: count("unknown"),
    },
    deployFrequency: {
      succeeded: succeeded.length,
      perDay: round(succeeded.length / days, 2),
      perWeek: round((succeeded.length / days) * 7, 2),
    },
    leadTime: { medianSeconds: median(leadTimes), known: leadTimes.length, unknown: unknownCommits },
    changeFailureRate: {
      changes: changes.length,
      failed: failed.length,
      rate: changes.length === 0 ? null : round(failed.length / changes.length, 4),
    },
    timeToRestore: {
      medianSeconds: median(restored),
      restored: restored.length,
      notRestored: failed.length - restored.length,
    },
  };
}

/** A change failed when its deploy did not succeed, or a rollback later undid it. */
function isFailedChange(change: HistoryEvent, events: readonly HistoryEvent[]): boolean {
  if (change.outcome === "rolled_back" || change.outcome === "failed") return true;
  return events.some((e) => e.kind === "rollback" && e.revision === change.revision);
}

/** The first confirmed recovery from a failed change, or null when there is none yet. */
function restoredAt(change: HistoryEvent, events: readonly HistoryEvent[]): number | null {
  if (change.outcome === "rolled_back") return change.finishedAt;
  const changedAt = change.changedAt ?? 0;
  const recoveries = events
    .filter((e) => e !== change && e.outcome === "succeeded" && e.at !== null && e.at >= changedAt)
    .filter((e) => e.kind === "rollback" || e.revision !== change.revision)
    .map((e) => e.finishedAt)
    .filter((at): at is number => at !== null);
  return recoveries.length === 0 ? null : Math.min(...recoveries);
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return Math.round(value);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The four metrics in words (the terminal lines and the step summary's table). */
export function metricLines(m: DeliveryMetrics, days: number): Record<string, string> {
  const percent = (rate: number) => `${round(rate * 100, 1)}%`;
  const perWeek = m.deployFrequency.perWeek;
  return {
    deployFrequency: `${m.deployFrequency.succeeded} succeeded in ${days} days (${perWeek} per week, ${m.deployFrequency.perDay} per day); ${m.deploys.total} attempted`,
    leadTime:
      m.leadTime.medianSeconds === null
        ? `unknown (${m.leadTime.unknown} commit(s) not found in git or on GitHub)`
        : `median ${formatDuration(m.leadTime.medianSeconds)} over ${m.leadTime.known} deploy(s)${m.leadTime.unknown > 0 ? `; ${m.leadTime.unknown} unknown (commit not in git or on GitHub)` : ""}`,
    changeFailureRate:
      m.changeFailureRate.rate === null
        ? "no change reached production"
        : `${percent(m.changeFailureRate.rate)} (${m.changeFailureRate.failed} of ${m.changeFailureRate.changes} changes)`,
    timeToRestore:
      m.timeToRestore.medianSeconds === null
        ? m.timeToRestore.notRestored > 0
          ? `${m.timeToRestore.notRestored} failed change(s) not restored yet`
          : "no failed change"
        : `median ${formatDuration(m.timeToRestore.medianSeconds)} over ${m.timeToRestore.restored} restore(s)${m.timeToRestore.notRestored > 0 ? `; ${m.timeToRestore.notRestored} not restored yet` : ""}`,
  };
}

/** Bars wider than this are scaled down. */
const BAR_WIDTH = 24;

/**
 * Deploys per period as unicode bars: █ a deploy that succeeded, ▒ one that failed or was rolled
 * back. Periods are days for a window up to 10 days, weeks up to 12 weeks, else a twelfth of it.
 */
export function deployChart(events: readonly HistoryEvent[], window: Window): string[] {
  const days = Math.round((window.now - window.from) / DAY_MS);
  const bucketDays = days <= 10 ? 1 : days <= 84 ? 7 : Math.ceil(days / 12);
  const buckets: Array<{ from: number; to: number; ok: number; bad: number }> = [];
  for (let end = window.now; end > window.from; end -= bucketDays * DAY_MS) {
    buckets.unshift({ from: Math.max(window.from, end - bucketDays * DAY_MS), to: end, ok: 0, bad: 0 });
  }
  for (const event of events) {
    if (event.kind !== "deploy" || event.at === null || event.outcome === "unknown") continue;
    const bucket = buckets.find((b) => event.at !== null && event.at >= b.from && event.at <= b.to);
    if (!bucket) continue;
    if (event.outcome === "succeeded") bucket.ok += 1;
    else bucket.bad += 1;
  }
  const most = Math.max(1, ...buckets.map((b) => b.ok + b.bad));
  const scale = Math.min(1, BAR_WIDTH / most);
  const cells = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round(n * scale)));
  const day = (ms: number) => new Date(ms).toISOString().slice(5, 10);
  return [
    `deploys per ${bucketDays === 1 ? "day" : `${bucketDays} days`} (█ succeeded, ▒ failed or rolled back)`,
    ...buckets.map((b) => {
      const bar = `${"█".repeat(cells(b.ok))}${"▒".repeat(cells(b.bad))}`;
      const label = bucketDays === 1 ? day(b.from) : `${day(b.from)}..${day(b.to)}`;
      return `${label}  ${bar.padEnd(BAR_WIDTH + 1)} ${b.ok} ok${b.bad > 0 ? `, ${b.bad} failed` : ""}`;
    }),
  ];
}
