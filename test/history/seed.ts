/**
 * A recorded history to read back, the same on the ECS simulator and on moto: revisions registered
 * and tagged exactly as a deploy and a rollback tag them (registration tags as in revisions.ts, then
 * the history written by src/deploy/history.ts through the gateway), and a git repository whose
 * commits have known times, for lead time.
 *
 *   web:1  (the running revision the service was created with; no Shipyard tags)
 *   web:2  day -40  succeeded                          outside a 30-day window
 *   web:3  day -20  succeeded   commit 2h earlier
 *   web:4  day -15  succeeded   commit 1h earlier;     rolled back to web:3 on day -14 (90 s)
 *   web:5  day -10  rolled_back (restored to web:3 in 540 s after the rollout began)
 *   web:6  day -8   failed, NOT restored (exit 3)
 *   web:7  day -8 +2h succeeded commit 30m earlier;   restores web:6's failure
 *   web:8  day -3   failed before the service changed (not a change)
 *   web:9  day -1   succeeded   commit not in git (lead time unknown)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ECSClient } from "@aws-sdk/client-ecs";
import { Ecs } from "../../src/aws/ecs.js";
import { type DeployFacts, writeDeployRecord, writeRollbackRecord } from "../../src/deploy/history.js";
import { TAG } from "../../src/deploy/revisions.js";
import { captureOutput, digest } from "../support/world.js";

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
/** The world's clock start: "now" for every command in these tests. */
export const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
/** 10:00 UTC on the day `days` before NOW. */
export const dayAt = (days: number, hours = 10) => NOW - days * DAY - 12 * HOUR + hours * HOUR;

export function gateway(
  endpoint: string,
  credentials = { accessKeyId: "AKIASEED", secretAccessKey: "seed" },
) {
  const client = new ECSClient({ region: "eu-west-1", endpoint, credentials });
  return new Ecs({ mutations: client, polls: client });
}

/** A git repository with one empty commit per entry, committed at the given time (ms). */
export function gitRepo(times: readonly number[]): { root: string; shas: string[] } {
  const root = mkdtempSync(join(tmpdir(), "shipyard-history-"));
  const git = (args: string[], at?: number) =>
    execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: root,
        GIT_AUTHOR_NAME: "Ada",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada",
        GIT_COMMITTER_EMAIL: "ada@example.com",
        ...(at === undefined
          ? {}
          : { GIT_AUTHOR_DATE: `@${at / 1000} +0000`, GIT_COMMITTER_DATE: `@${at / 1000} +0000` }),
      },
    }).trim();
  git(["init", "-q", "-b", "main"]);
  const shas = times.map((at, i) => {
    git(["commit", "-q", "--allow-empty", "-m", `change ${i}`], at);
    return git(["rev-parse", "HEAD"]);
  });
  return { root, shas };
}

interface Seeded {
  deploy: DeployFacts;
  release: string;
  commit: string;
  rollback?: { to: number; startedAt: number; finishedAt: number; by: string };
}

/** The deploys on top of web:1, in order (revision = index + 2). */
function scenario(commits: { k3: string; k4: string; k7: string }): Seeded[] {
  const facts = (
    outcome: DeployFacts["outcome"],
    startedAt: number,
    seconds: number,
    changed = true,
    by = "alice",
  ): DeployFacts => ({
    outcome,
    startedAt,
    changedAt: changed ? startedAt + 60_000 : null,
    finishedAt: startedAt + seconds * 1000,
    by,
  });
  return [
    { release: "v2", commit: "0000000aaaa", deploy: facts("succeeded", dayAt(40), 300) },
    { release: "v3", commit: commits.k3, deploy: facts("succeeded", dayAt(20), 300) },
    {
      release: "v4",
      commit: commits.k4,
      deploy: facts("succeeded", dayAt(15), 240),
      rollback: { to: 3, startedAt: dayAt(14), finishedAt: dayAt(14) + 90_000, by: "bob" },
    },
    { release: "v5", commit: "5555555", deploy: facts("rolled_back", dayAt(10), 600) },
    { release: "v6", commit: "6666666", deploy: facts("failed", dayAt(8), 900) },
    { release: "v7", commit: commits.k7, deploy: facts("succeeded", dayAt(8, 12), 300, true, "octocat") },
    { release: "v8", commit: "8888888", deploy: facts("failed", dayAt(3), 30, false) },
    {
      release: "v9",
      commit: "9999999999999999999999999999999999999999",
      deploy: facts("succeeded", dayAt(1), 360),
    },
  ];
}

/** Commit times of the scenario's commits found in git: 2h, 1h and 30m before their deploys. */
export const COMMIT_TIMES = [dayAt(20) - 2 * HOUR, dayAt(15) - HOUR, dayAt(8, 12) - HOUR / 2];

const arnOf = (endpointArn: string, revision: number) => endpointArn.replace(/:\d+$/, `:${revision}`);

/**
 * Registers web:2..web:9 on top of `v1` (web:1) and records their history through the gateway.
 * Each revision's `previous` is what the service ran before it, as the deploy would have tagged it.
 */
export async function seedHistory(ecs: Ecs, v1: string, shas: readonly string[]): Promise<string[]> {
  const [k3 = "", k4 = "", k7 = ""] = shas;
  const progress = captureOutput().output;
  const arns = [v1];
  let running = v1;
  for (const entry of scenario({ k3, k4, k7 })) {
    const registered = await ecs.registerTaskDefinition({
      family: "web",
      containerDefinitions: [
        {
          name: "app",
          image: digest(entry.release.slice(1)),
          memory: 512,
          environment: [{ name: "SENTRY_RELEASE", value: entry.release }],
        },
      ],
      tags: [
        { key: TAG.release, value: entry.release },
        { key: TAG.environment, value: "staging" },
        { key: TAG.previous, value: running },
        { key: TAG.commit, value: entry.commit },
      ],
    });
    const arn = registered.taskDefinitionArn ?? "";
    arns.push(arn);
    expectNull(await writeDeployRecord(ecs, arn, entry.deploy, progress));
    // A deploy that changed the service and was not restored leaves its revision running.
    if (entry.deploy.outcome !== "rolled_back" && entry.deploy.changedAt !== null) running = arn;
    if (entry.rollback) {
      const to = arnOf(arn, entry.rollback.to);
      expectNull(
        await writeRollbackRecord(ecs, arn, { ...entry.rollback, to, outcome: "succeeded" }, progress),
      );
      running = to;
    }
  }
  return arns;
}

function expectNull(warning: string | null): void {
  if (warning !== null) throw new Error(`seeding the history failed: ${warning}`);
}

/** What `metrics --days 30` must find in the scenario (see the table above). */
export const EXPECTED_METRICS = {
  deploys: { total: 7, succeeded: 4, rolledBack: 1, failed: 2, unknown: 0 },
  deployFrequency: { succeeded: 4, perDay: 0.13, perWeek: 0.93 },
  // web:3 2h + 300 s, web:4 1h + 240 s, web:7 30m + 300 s: median 3840 s; web:9's commit unknown.
  leadTime: { medianSeconds: 3840, known: 3, unknown: 1 },
  // Changes: web:3, 4, 5, 6, 7, 9 (web:8 never changed the service). Failed: 4 (rolled back), 5, 6.
  changeFailureRate: { changes: 6, failed: 3, rate: 0.5 },
  // web:4: a day and 30 s; web:5: 540 s; web:6 until web:7 verified: 2h and 240 s. Median 7440 s.
  timeToRestore: { medianSeconds: 7440, restored: 3, notRestored: 0 },
};

/** One succeeded deploy at 10:00 on the day `days` before NOW (for call counts on a long family). */
export async function recordDailyDeploy(ecs: Ecs, days: number): Promise<void> {
  const registered = await ecs.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: digest("d"), memory: 512 }],
    tags: [
      { key: TAG.release, value: `day-${days}` },
      { key: TAG.environment, value: "staging" },
    ],
  });
  const startedAt = dayAt(days);
  const facts: DeployFacts = {
    outcome: "succeeded",
    startedAt,
    changedAt: startedAt + 60_000,
    finishedAt: startedAt + 300_000,
    by: "alice",
  };
  expectNull(await writeDeployRecord(ecs, registered.taskDefinitionArn ?? "", facts, captureOutput().output));
}
