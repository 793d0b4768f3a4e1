/**
 * Preview environments: one short-lived copy of an environment per pull request. This file holds
 * what a preview IS, without any AWS call: its names (derived from the pull request's NUMBER only,
 * never from a branch name or a title, which anyone who opens a pull request controls), its tags,
 * the SQL that creates and drops its database, how a listener rule priority is chosen, and which
 * previews a garbage collection removes. The commands in src/commands/preview-*.ts do the calls.
 */
import { createHash } from "node:crypto";
import type { PreviewSettings } from "../config/schema.js";
import { InputError } from "../errors.js";

/** Tags on every resource a preview owns; `preview-gc` touches nothing without `shipyard:preview`. */
export const PREVIEW_TAG = {
  /** The pull request's number. */
  preview: "shipyard:preview",
  /** The environment the preview copies. */
  of: "shipyard:preview-of",
  /** ISO time after which `preview-gc` removes it. */
  expires: "shipyard:expires",
  /** ISO time of the `preview-up` that created or last updated it. */
  updated: "shipyard:updated",
  commit: "shipyard:commit",
  /** The preview's database, on the service and target group (dropped by `preview-down`). */
  database: "shipyard:preview-database",
} as const;

/** Pull request numbers: a positive whole number, as GitHub gives it (no sign, no leading zero). */
export const PULL_REQUEST = /^[1-9][0-9]{0,8}$/;

/** ALB rule priorities Shipyard chooses from: above the app's own rules, below the maximum (50000). */
export const PRIORITY_RANGE = { first: 10_000, last: 49_999 } as const;

/** A resource left by a crashed `up` counts as orphaned only once it is this old (an `up` may be running). */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/** Everything a preview is called, for one pull request. */
export interface PreviewNames {
  pr: number;
  /** The ECS service: the copied service's name with `-pr-N`. */
  service: string;
  /** The task definition family: the service's name (no template needed to know it). */
  family: string;
  /** The target group: at most 32 characters, unique per copied service. */
  targetGroup: string;
  host: string;
  url: string;
  /** The database name, or null when previews get no database. */
  database: string | null;
}

export function previewNames(
  settings: PreviewSettings,
  copied: { cluster: string; service: string },
  pr: number,
): PreviewNames {
  const host = settings.host.replaceAll("{{PR}}", String(pr));
  const service = `${copied.service}-pr-${pr}`.slice(-255);
  const names: PreviewNames = {
    pr,
    service,
    family: service,
    targetGroup: `sy-pr${pr}-${serviceHash(copied)}`,
    host,
    url: `https://${host}`,
    database: settings.database ? databaseName(settings.database.namePrefix, pr) : null,
  };
  return names;
}

/** Eight hex digits naming the copied service: two apps' preview 42 get different target groups. */
export function serviceHash(copied: { cluster: string; service: string }): string {
  const cluster = copied.cluster.split("/").at(-1) ?? copied.cluster;
  return createHash("sha256").update(`${cluster}/${copied.service}`).digest("hex").slice(0, 8);
}

/** The target group name prefix of one copied service's previews (what `list` and `gc` look at). */
export function targetGroupPrefix(copied: { cluster: string; service: string }): RegExp {
  return new RegExp(`^sy-pr([1-9][0-9]{0,8})-${serviceHash(copied)}$`);
}

// ---- the database ----

/** What PostgreSQL accepts unquoted and we generate: lowercase, digits, "_", at most 63 bytes. */
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function databaseName(prefix: string, pr: number): string {
  return checkIdentifier(`${prefix}${pr}`, "the preview's database name");
}

/** Refuses anything but a boring identifier: defence before quoting, not instead of it. */
export function checkIdentifier(name: string, what: string): string {
  if (!SQL_IDENTIFIER.test(name)) {
    throw new InputError(
      `${what} ${JSON.stringify(name)} is not a plain PostgreSQL identifier; nothing was changed.`,
      [],
      'use lowercase letters, digits and "_" (starting with a letter or "_"), at most 63 characters',
    );
  }
  return name;
}

/** A quoted identifier: "name", with embedded double quotes doubled; no NUL. */
export function quoteIdentifier(name: string): string {
  if (name.includes("\u0000")) throw new InputError("an SQL identifier cannot contain a NUL byte", []);
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The statements that give a preview a fresh database, each run on its own (CREATE DATABASE cannot
 * run in a transaction). They run only when the preview's service does not exist yet, so a database
 * left by a crashed `up` is dropped and created again rather than reused half-migrated.
 */
export function createDatabaseStatements(name: string, owner?: string): string[] {
  checkIdentifier(name, "the preview's database name");
  if (owner !== undefined) checkIdentifier(owner, "the database owner");
  return [
    ...dropDatabaseStatements(name),
    `CREATE DATABASE ${quoteIdentifier(name)}${owner ? ` OWNER ${quoteIdentifier(owner)}` : ""}`,
  ];
}

/** Drops the preview's database, connections and all (PostgreSQL 13+); nothing when it is gone. */
export function dropDatabaseStatements(name: string): string[] {
  checkIdentifier(name, "the preview's database name");
  return [`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`];
}

// ---- the listener rule ----

/**
 * The priority to try: the first free one at or after a start that depends on the pull request and
 * the attempt, so two previews starting together rarely pick the same one, and when they do
 * (PriorityInUseException), the next attempt starts elsewhere.
 */
export function choosePriority(used: ReadonlySet<number>, pr: number, attempt: number): number {
  const size = PRIORITY_RANGE.last - PRIORITY_RANGE.first + 1;
  const start = (pr * 7 + attempt * 7919) % size;
  for (let i = 0; i < size; i++) {
    const priority = PRIORITY_RANGE.first + ((start + i) % size);
    if (!used.has(priority)) return priority;
  }
  throw new InputError(
    `every listener rule priority from ${PRIORITY_RANGE.first} to ${PRIORITY_RANGE.last} is taken; nothing was changed`,
    [],
    "remove old previews (shipyard preview-gc) or rules on the listener",
  );
}

// ---- what exists, and what a garbage collection removes ----

export interface PreviewTags {
  pr: number;
  expiresAt: number | null;
  updatedAt: number | null;
  commit: string | null;
  database: string | null;
}

/** A resource's preview tags, or null when it is not a preview of `from` (gc never touches it). */
export function previewTagsOf(tags: Record<string, string>, from: string): PreviewTags | null {
  const pr = tags[PREVIEW_TAG.preview];
  if (pr === undefined || !PULL_REQUEST.test(pr) || tags[PREVIEW_TAG.of] !== from) return null;
  const time = (value: string | undefined) => {
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  };
  return {
    pr: Number(pr),
    expiresAt: time(tags[PREVIEW_TAG.expires]),
    updatedAt: time(tags[PREVIEW_TAG.updated]),
    commit: tags[PREVIEW_TAG.commit] ?? null,
    database: tags[PREVIEW_TAG.database] ?? null,
  };
}

export interface PreviewTagInput {
  pr: number;
  from: string;
  now: number;
  timeToLiveHours: number;
  commit?: string | undefined;
  database: string | null;
}

/** The tags a preview's resources carry after an `up`. */
export function previewTags(input: PreviewTagInput): Record<string, string> {
  return {
    [PREVIEW_TAG.preview]: String(input.pr),
    [PREVIEW_TAG.of]: input.from,
    [PREVIEW_TAG.updated]: new Date(input.now).toISOString(),
    [PREVIEW_TAG.expires]: new Date(input.now + input.timeToLiveHours * 3_600_000).toISOString(),
    ...(input.commit
      ? { [PREVIEW_TAG.commit]: input.commit.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64) }
      : {}),
    ...(input.database ? { [PREVIEW_TAG.database]: input.database } : {}),
  };
}

/** One pull request's preview, as found: which of its resources exist. */
export interface FoundPreview {
  pr: number;
  /** ACTIVE service (DRAINING/INACTIVE ones are on their way out). */
  service: { name: string; arn: string; tags: PreviewTags; desired: number; running: number } | null;
  targetGroup: { name: string; arn: string; tags: PreviewTags } | null;
  rule: { arn: string; priority: string; host: string | null; tags: PreviewTags } | null;
}

export type PreviewState = "running" | "expired" | "orphaned" | "starting";

/** Running; expired (its TTL passed); orphaned (pieces without a service, left by a crashed `up`). */
export function previewState(preview: FoundPreview, now: number): PreviewState {
  if (preview.service === null) {
    const stamps = [preview.targetGroup?.tags.updatedAt, preview.rule?.tags.updatedAt].filter(
      (t): t is number => typeof t === "number",
    );
    const newest = stamps.length > 0 ? Math.max(...stamps) : null;
    // Without a readable time it cannot be a running `up` of ours: it is orphaned.
    return newest !== null && now - newest < ORPHAN_GRACE_MS ? "starting" : "orphaned";
  }
  const expires = preview.service.tags.expiresAt;
  return expires !== null && expires <= now ? "expired" : "running";
}

export interface GcChoice {
  preview: FoundPreview;
  why: string;
}

/**
 * What `preview-gc` removes: expired previews, previews not updated for `olderThanMs`, and orphans.
 * A preview whose `up` may still be running (pieces younger than the grace period) stays.
 */
export function chooseForGc(previews: FoundPreview[], now: number, olderThanMs: number | null): GcChoice[] {
  const chosen: GcChoice[] = [];
  for (const preview of previews) {
    const state = previewState(preview, now);
    const updated = preview.service?.tags.updatedAt ?? null;
    if (state === "orphaned")
      chosen.push({ preview, why: "orphaned: no service (left by an interrupted up)" });
    else if (state === "expired")
      chosen.push({ preview, why: `expired at ${new Date(preview.service!.tags.expiresAt!).toISOString()}` });
    else if (state === "running" && olderThanMs !== null && updated !== null && now - updated >= olderThanMs)
      chosen.push({ preview, why: `not updated since ${new Date(updated).toISOString()}` });
  }
  return chosen;
}

/** Groups tagged resources by pull request. */
export function groupPreviews(found: {
  services: Array<NonNullable<FoundPreview["service"]>>;
  targetGroups: Array<NonNullable<FoundPreview["targetGroup"]>>;
  rules: Array<NonNullable<FoundPreview["rule"]>>;
}): FoundPreview[] {
  const byPr = new Map<number, FoundPreview>();
  const entry = (pr: number) => {
    let preview = byPr.get(pr);
    if (!preview) {
      preview = { pr, service: null, targetGroup: null, rule: null };
      byPr.set(pr, preview);
    }
    return preview;
  };
  for (const service of found.services) entry(service.tags.pr).service = service;
  for (const group of found.targetGroups) entry(group.tags.pr).targetGroup = group;
  for (const rule of found.rules) entry(rule.tags.pr).rule = rule;
  return [...byPr.values()].sort((a, b) => a.pr - b.pr);
}

/** Fills {{PR}}, {{PREVIEW_HOST}} and {{PREVIEW_DATABASE}} in the preview's own variables. */
export function previewVariables(
  base: Record<string, string>,
  overrides: Record<string, string>,
  names: PreviewNames,
): Record<string, string> {
  const fill = (value: string) =>
    value
      .replaceAll("{{PR}}", String(names.pr))
      .replaceAll("{{PREVIEW_HOST}}", names.host)
      .replaceAll("{{PREVIEW_DATABASE}}", names.database ?? "");
  return {
    ...base,
    ...Object.fromEntries(Object.entries(overrides).map(([key, value]) => [key, fill(value)])),
  };
}
