/**
 * The deploy history, kept where a fresh CI runner finds it: as tags on the task definition
 * revisions themselves (the same place `last-good` lives, see revisions.ts). A deploy tags the
 * revision it registered with its outcome, when it started, when the service began to change, when
 * it ended, and who ran it; a rollback tags the revision it rolled back FROM with where it went, when,
 * how it ended and who ran it — the rollback undoes that revision's change, which is what the change
 * failure rate and the time to restore count.
 *
 * ECS tag limits, and how this stays inside them:
 * - 50 tags per resource: Shipyard writes at most 13 keys of its own on a revision (the 4 of
 *   registration in revisions.ts and the 9 below), leaving 37 for the template's own tags. A
 *   template with more makes the write fail: that is a warning, the deploy itself stands.
 * - Keys ≤ 128 characters: ours are fixed and short, all under the `shipyard:` prefix.
 * - Values ≤ 256 characters of letters, digits, spaces and + - = . _ : / @: times are ISO 8601 UTC
 *   to the second (2026-12-03T13:54:58Z), outcomes are fixed words, the person passes through
 *   `tagValue` (other characters become "_", cut at 256), and a rollback's interval is
 *   "start/end" (ISO 8601 interval notation, one key instead of two).
 * - A revision is deployed once but could be rolled back from more than once (after a
 *   `rollback --to` onto it): the last rollback from it wins.
 */
import { userInfo } from "node:os";
import type { TaskDefinition } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, shortArn } from "../aws/ecs.js";
import { releaseOf } from "../config/taskdef.js";
import type { Progress } from "../report/progress.js";
import type { Report } from "../report/report.js";
import { TAG, tagValue } from "./revisions.js";

export const HISTORY_TAG = {
  outcome: "shipyard:outcome",
  started: "shipyard:started",
  /** When UpdateService was sent: production began to change. Absent when it never did. */
  changed: "shipyard:changed",
  finished: "shipyard:finished",
  by: "shipyard:by",
  rollbackTo: "shipyard:rollback-to",
  /** "start/end" of the last rollback from this revision. */
  rollbackAt: "shipyard:rollback-at",
  rollbackOutcome: "shipyard:rollback-outcome",
  rollbackBy: "shipyard:rollback-by",
} as const;

export type RecordedOutcome = "succeeded" | "rolled_back" | "failed";

/** What a deploy recorded on its revision. Times are epoch milliseconds. */
export interface DeployFacts {
  outcome: RecordedOutcome;
  startedAt: number;
  /** When the service began to change (the rollout), null when it never did. */
  changedAt: number | null;
  finishedAt: number;
  by: string;
}

/** What a rollback recorded on the revision it rolled back from. */
export interface RollbackFacts {
  to: string;
  outcome: RecordedOutcome;
  startedAt: number;
  finishedAt: number;
  by: string;
}

/** Who started this run: the GitHub user in Actions, else the OS user. */
export function actorOf(env: NodeJS.ProcessEnv): string {
  if (env.GITHUB_ACTOR) return env.GITHUB_ACTOR;
  try {
    return userInfo().username || env.USER || "unknown";
  } catch {
    // No passwd entry (a container running as an arbitrary uid).
    return env.USER || env.USERNAME || "unknown";
  }
}

/** ISO 8601 UTC to the second: allowed in a tag value, and sorts as text. */
export function tagTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function parseTime(text: string | undefined): number | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function parseOutcome(text: string | undefined): RecordedOutcome | null {
  return text === "succeeded" || text === "rolled_back" || text === "failed" ? text : null;
}

/** A finished command's report as the facts to record ("planned" never reaches here). */
export function factsOfReport(report: Report, by: string): DeployFacts {
  const rollout = report.timings.phases.find((phase) => phase.name === "rollout");
  return {
    outcome: report.outcome === "planned" ? "failed" : report.outcome,
    startedAt: Date.parse(report.timings.startedAt),
    changedAt: rollout ? Date.parse(rollout.startedAt) : null,
    finishedAt: Date.parse(report.timings.finishedAt),
    by,
  };
}

export function deployTags(facts: DeployFacts): Record<string, string> {
  return {
    [HISTORY_TAG.outcome]: facts.outcome,
    [HISTORY_TAG.started]: tagTime(facts.startedAt),
    ...(facts.changedAt === null ? {} : { [HISTORY_TAG.changed]: tagTime(facts.changedAt) }),
    [HISTORY_TAG.finished]: tagTime(facts.finishedAt),
    [HISTORY_TAG.by]: tagValue(facts.by),
  };
}

export function rollbackTags(facts: RollbackFacts): Record<string, string> {
  return {
    [HISTORY_TAG.rollbackTo]: facts.to,
    [HISTORY_TAG.rollbackAt]: `${tagTime(facts.startedAt)}/${tagTime(facts.finishedAt)}`,
    [HISTORY_TAG.rollbackOutcome]: facts.outcome,
    [HISTORY_TAG.rollbackBy]: tagValue(facts.by),
  };
}

/** Writes tags on a revision; a warning instead of an error: the history must never fail a deploy. */
async function writeTags(
  ecs: Ecs,
  arn: string,
  tags: Record<string, string>,
  progress: Progress,
): Promise<string | null> {
  try {
    await ecs.tagResource(arn, tags);
    return null;
  } catch (error) {
    const why = `${awsErrorName(error)}: ${(error as Error).message}`;
    progress.warn(`could not record this run in the history of ${shortArn(arn)} (${why}).`);
    return `history not recorded on ${shortArn(arn)} (${why})`;
  }
}

export function writeDeployRecord(ecs: Ecs, arn: string, facts: DeployFacts, progress: Progress) {
  return writeTags(ecs, arn, deployTags(facts), progress);
}

export function writeRollbackRecord(ecs: Ecs, from: string, facts: RollbackFacts, progress: Progress) {
  return writeTags(ecs, from, rollbackTags(facts), progress);
}

/**
 * Records a finished deploy on the revision it registered (one TagResource call) and returns its
 * report, with a warning added when the history could not be written.
 */
export async function recordDeploy(
  ecs: Ecs,
  registeredArn: string,
  report: Report,
  env: NodeJS.ProcessEnv,
  progress: Progress,
): Promise<Report> {
  const facts = factsOfReport(report, actorOf(env));
  return withWarning(report, await writeDeployRecord(ecs, registeredArn, facts, progress));
}

/**
 * Records a finished rollback on the revision it rolled back from (one TagResource call) and returns
 * its report, with a warning added when the history could not be written.
 */
export async function recordRollback(
  ecs: Ecs,
  from: string,
  to: string,
  report: Report,
  env: NodeJS.ProcessEnv,
  progress: Progress,
): Promise<Report> {
  const { outcome, startedAt, finishedAt, by } = factsOfReport(report, actorOf(env));
  const facts = { to, outcome, startedAt, finishedAt, by };
  return withWarning(report, await writeRollbackRecord(ecs, from, facts, progress));
}

function withWarning(report: Report, warning: string | null): Report {
  return warning === null ? report : { ...report, warnings: [...(report.warnings ?? []), warning] };
}

// ---- reading it back ----

/** One revision of the family, as the history sees it. */
export interface RevisionRecord {
  arn: string;
  revision: number;
  /** The environment that registered it (shipyard:environment), null when Shipyard did not. */
  environment: string | null;
  release: string | null;
  commit: string | null;
  /** What it replaced: a restore went back there. */
  previous: string | null;
  /** When ECS registered it (absent on some ECS-compatible endpoints). */
  registeredAt: number | null;
  /** Null for a revision Shipyard registered but whose deploy recorded nothing (killed, or older). */
  deploy: DeployFacts | null;
  rollback: RollbackFacts | null;
}

export function parseRevision(
  taskDefinition: TaskDefinition,
  tags: Record<string, string>,
  container: string,
): RevisionRecord {
  const arn = taskDefinition.taskDefinitionArn ?? "";
  return {
    arn,
    revision: taskDefinition.revision ?? revisionNumber(arn),
    environment: tags[TAG.environment] ?? null,
    release: tags[TAG.release] ?? releaseOf(taskDefinition, container),
    commit: tags[TAG.commit] ?? null,
    previous: tags[TAG.previous] ?? null,
    registeredAt: taskDefinition.registeredAt ? new Date(taskDefinition.registeredAt).getTime() : null,
    deploy: parseDeploy(tags),
    rollback: parseRollback(tags),
  };
}

function parseDeploy(tags: Record<string, string>): DeployFacts | null {
  const outcome = parseOutcome(tags[HISTORY_TAG.outcome]);
  const startedAt = parseTime(tags[HISTORY_TAG.started]);
  const finishedAt = parseTime(tags[HISTORY_TAG.finished]);
  if (outcome === null || startedAt === null || finishedAt === null) return null;
  return {
    outcome,
    startedAt,
    changedAt: parseTime(tags[HISTORY_TAG.changed]),
    finishedAt,
    by: tags[HISTORY_TAG.by] ?? "unknown",
  };
}

function parseRollback(tags: Record<string, string>): RollbackFacts | null {
  const to = tags[HISTORY_TAG.rollbackTo];
  const outcome = parseOutcome(tags[HISTORY_TAG.rollbackOutcome]);
  const [start, end] = (tags[HISTORY_TAG.rollbackAt] ?? "").split("/");
  const startedAt = parseTime(start);
  const finishedAt = parseTime(end);
  if (!to || outcome === null || startedAt === null || finishedAt === null) return null;
  return { to, outcome, startedAt, finishedAt, by: tags[HISTORY_TAG.rollbackBy] ?? "unknown" };
}

/** "arn:...:task-definition/web:12" → 12 (0 when there is none). */
export function revisionNumber(arn: string): number {
  return Number(/:(\d+)$/.exec(arn)?.[1] ?? 0);
}

/** "arn:...:task-definition/web:12" → "web". */
export function familyOf(arn: string): string {
  return shortArn(arn).replace(/:\d+$/, "");
}

/** The time a revision stands for: its deploy's start, else its registration. */
export function revisionTime(record: RevisionRecord): number | null {
  return record.deploy?.startedAt ?? record.registeredAt;
}

/** ARNs per ListTaskDefinitions page (the API's maximum). */
const PAGE = 100;
/** Pages read at most: `familyPrefix` also matches longer family names, which come first. */
const MAX_PAGES = 20;
/** Revisions described at once. */
const CONCURRENCY = 5;

export interface ReadOptions {
  family: string;
  container: string;
  /** Describe at most this many revisions (each is one DescribeTaskDefinition call). */
  maxRevisions: number;
  /** Stop after the first batch holding a revision older than this (ms), when given. */
  olderThan?: number;
}

export interface ReadResult {
  /** Newest first. */
  revisions: RevisionRecord[];
  /** More revisions of the family exist than were read. */
  truncated: boolean;
}

/**
 * The newest revisions of one family, with their tags: ListTaskDefinitions newest first (only the
 * pages needed), then one DescribeTaskDefinition (with tags) per revision, a few at a time. So
 * reading N revisions costs ceil(N/100) list calls (more only when longer family names share the
 * prefix) plus N describe calls.
 */
export async function readRevisions(ecs: Ecs, options: ReadOptions): Promise<ReadResult> {
  const revisions: RevisionRecord[] = [];
  const family = listFamily(ecs, options.family, options.maxRevisions);
  let batch: string[] = [];
  /** Describes the batch; true once a revision older than `olderThan` was read. */
  const describeBatch = async (): Promise<boolean> => {
    const described = await Promise.all(batch.map((arn) => ecs.describeTaskDefinition(arn)));
    batch = [];
    const records = described.map((d) => parseRevision(d.taskDefinition, d.tags, options.container));
    revisions.push(...records);
    const { olderThan } = options;
    return olderThan !== undefined && records.some((r) => (revisionTime(r) ?? Infinity) < olderThan);
  };
  for await (const arn of family.arns()) {
    batch.push(arn);
    if (batch.length === CONCURRENCY && (await describeBatch())) return { revisions, truncated: false };
  }
  if (batch.length > 0 && (await describeBatch())) return { revisions, truncated: false };
  return { revisions, truncated: family.more() };
}

/** The family's ARNs newest first, up to `max`, paging only as far as needed. */
function listFamily(ecs: Ecs, family: string, max: number) {
  let count = 0;
  let more = false;
  return {
    /** Whether the family has revisions beyond those given (known without another call). */
    more: () => more,
    async *arns(): AsyncGenerator<string> {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await ecs.listTaskDefinitions(family, {
          maxResults: Math.min(PAGE, max),
          ...(nextToken ? { nextToken } : {}),
        });
        nextToken = answer.nextToken;
        // Some ECS-compatible endpoints ignore `sort` and paging: order here, by revision.
        const own = answer.arns
          .filter((arn) => familyOf(arn) === family)
          .sort((a, b) => revisionNumber(b) - revisionNumber(a));
        for (const [index, arn] of own.entries()) {
          yield arn;
          count += 1;
          if (count === max) {
            more = index < own.length - 1 || nextToken !== undefined;
            return;
          }
        }
        if (!nextToken) return;
      }
      more = true;
    },
  };
}

// ---- what happened, in order ----

/** One deploy or rollback of an environment, as `history` lists it and `metrics` counts it. */
export interface HistoryEvent {
  kind: "deploy" | "rollback";
  /** When it started (ms); null for a deploy that recorded nothing and an endpoint without registeredAt. */
  at: number | null;
  finishedAt: number | null;
  /** When production began to change (deploys only). */
  changedAt: number | null;
  /** The revision deployed, or rolled back from. */
  revision: string;
  release: string | null;
  commit: string | null;
  /** "unknown": Shipyard registered the revision but its deploy recorded no end (killed, or older). */
  outcome: RecordedOutcome | "unknown";
  seconds: number | null;
  /** Where the service went back to: a deploy's restore, or the rollback's target. */
  rollbackTarget: string | null;
  by: string | null;
}

/** The deploys of `environment` and the rollbacks in its family, newest first. */
export function historyEvents(revisions: readonly RevisionRecord[], environment: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const record of revisions) {
    if (record.environment === environment) events.push(deployEvent(record));
    // A revision registered by hand has no environment tag, yet may be what a rollback left.
    if (record.rollback && (record.environment === environment || record.environment === null)) {
      events.push(rollbackEvent(record, record.rollback));
    }
  }
  return events.sort((a, b) => (b.at ?? -Infinity) - (a.at ?? -Infinity));
}

function deployEvent(record: RevisionRecord): HistoryEvent {
  const facts = record.deploy;
  return {
    kind: "deploy",
    at: facts?.startedAt ?? record.registeredAt,
    finishedAt: facts?.finishedAt ?? null,
    changedAt: facts?.changedAt ?? null,
    revision: record.arn,
    release: record.release,
    commit: record.commit,
    outcome: facts?.outcome ?? "unknown",
    seconds: facts ? Math.round((facts.finishedAt - facts.startedAt) / 1000) : null,
    rollbackTarget: facts?.outcome === "rolled_back" ? record.previous : null,
    by: facts?.by ?? null,
  };
}

function rollbackEvent(record: RevisionRecord, facts: RollbackFacts): HistoryEvent {
  return {
    kind: "rollback",
    at: facts.startedAt,
    finishedAt: facts.finishedAt,
    changedAt: null,
    revision: record.arn,
    release: record.release,
    commit: record.commit,
    outcome: facts.outcome,
    seconds: Math.round((facts.finishedAt - facts.startedAt) / 1000),
    rollbackTarget: facts.to,
    by: facts.by,
  };
}

/** 45 → "45s", 125 → "2m 05s", 11400 → "3h 10m", 187200 → "2d 04h". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** "2026-11-27 12:00" (UTC), for tables. */
export function formatWhen(ms: number | null): string {
  return ms === null ? "(unknown)" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}
