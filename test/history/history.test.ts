/**
 * `history` and `metrics` against the ECS simulator (the real SDK over HTTP), on a recorded history
 * (seed.ts): what they show, the exact metrics, and how many AWS calls they make.
 */

import { afterEach, describe, expect, it } from "vitest";
import { reportToMarkdown } from "../../src/report/markdown.js";
import { startFakeGitHub } from "../notify/fakes.js";
import { configText, digest, startWorld, type World } from "../support/world.js";
import {
  COMMIT_TIMES,
  EXPECTED_METRICS,
  gateway,
  gitRepo,
  NOW,
  recordDailyDeploy,
  seedHistory,
} from "./seed.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

/** A world whose family web holds the recorded scenario of deploys, and whose app folder is a git repository. */
async function seededWorld() {
  h = await startWorld();
  const repo = gitRepo(COMMIT_TIMES);
  h.files.root = repo.root;
  const arns = await seedHistory(gateway(h.sim.endpoint), h.v1, repo.shas);
  const seedCalls = h.sim.calls.length;
  return { arns, repo, callsSince: () => h.sim.operations().slice(seedCalls) };
}

const short = (arn: unknown) => String(arn).split("/").at(-1);

describe("shipyard history", () => {
  it("lists every deploy and the rollback newest first, from the revisions' tags", async () => {
    const { callsSince } = await seededWorld();
    const report = await h.run("history", { env: "staging" });
    expect(report.exitCode).toBe(0);
    const events = report.details?.events as Array<Record<string, unknown>>;
    expect(
      events.map((e) => [
        e.kind,
        short(e.revision),
        e.outcome,
        e.seconds,
        e.rollbackTarget && short(e.rollbackTarget),
        e.by,
      ]),
    ).toEqual([
      ["deploy", "web:9", "succeeded", 360, null, "alice"],
      ["deploy", "web:8", "failed", 30, null, "alice"],
      ["deploy", "web:7", "succeeded", 300, null, "octocat"],
      ["deploy", "web:6", "failed", 900, null, "alice"],
      ["deploy", "web:5", "rolled_back", 600, "web:3", "alice"],
      ["rollback", "web:4", "succeeded", 90, "web:3", "bob"],
      ["deploy", "web:4", "succeeded", 240, null, "alice"],
      ["deploy", "web:3", "succeeded", 300, null, "alice"],
      ["deploy", "web:2", "succeeded", 300, null, "alice"],
    ]);
    expect(events[0]).toMatchObject({ release: "v9", at: "2026-11-26T10:00:00.000Z" });
    const table = report.details?.table as string[];
    expect(table[0]).toMatch(
      /^WHEN \(UTC\)\s+WHAT\s+REVISION\s+RELEASE\s+COMMIT\s+OUTCOME\s+TOOK\s+BACK TO\s+BY$/,
    );
    expect(table[5]).toMatch(
      /^2026-11-17 10:00\s+deploy\s+web:5\s+v5\s+5555555\s+rolled_back\s+10m 00s\s+web:3\s+alice$/,
    );
    expect(table[6]).toMatch(
      /^2026-11-13 10:00\s+rollback\s+web:4\s+v4\s+\w{12}\s+succeeded\s+1m 30s\s+web:3\s+bob$/,
    );
    expect(h.captured.lines).toContain(`  ${table[5]}`);
    // web:1, web:2..web:9: one describe each, one list page, one DescribeServices for the family.
    expect(callsSince()).toEqual([
      "DescribeServices",
      "ListTaskDefinitions",
      ...Array(9).fill("DescribeTaskDefinition"),
    ]);
    expect(report.details).toMatchObject({
      family: "web",
      revisionsRead: 9,
      moreRevisions: false,
      awsCalls: 11,
    });
  });

  it("reads only --limit revisions, says there are more, and skips longer family names", async () => {
    const { callsSince } = await seededWorld();
    // ECS matches familyPrefix as a prefix and sorts by family: web-worker comes first, and is not ours.
    h.sim.registerTaskDefinition({
      family: "web-worker",
      containerDefinitions: [{ name: "app", image: digest("c") }],
    });
    const report = await h.run("history", { env: "staging", limit: "3" });
    const events = report.details?.events as Array<Record<string, unknown>>;
    expect(events.map((e) => short(e.revision))).toEqual(["web:9", "web:8", "web:7"]);
    expect(report.details).toMatchObject({ revisionsRead: 3, moreRevisions: true });
    // The first page (3 ARNs) held web-worker:1, web:9 and web:8: a second page finds web:7.
    expect(callsSince()).toEqual([
      "DescribeServices",
      "ListTaskDefinitions",
      "ListTaskDefinitions",
      ...Array(3).fill("DescribeTaskDefinition"),
    ]);
    expect(h.sim.callsTo("ListTaskDefinitions")[0]?.input).toMatchObject({
      familyPrefix: "web",
      sort: "DESC",
      maxResults: 3,
    });
  });

  it("shows a revision whose deploy recorded nothing as unknown", async () => {
    h = await startWorld();
    h.sim.registerTaskDefinition(
      { family: "web", containerDefinitions: [{ name: "app", image: digest("b") }] },
      [
        { key: "shipyard:environment", value: "staging" },
        { key: "shipyard:release", value: "v2" },
      ],
    );
    const report = await h.run("history", { env: "staging" });
    const events = report.details?.events as Array<Record<string, unknown>>;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "deploy",
      release: "v2",
      outcome: "unknown",
      seconds: null,
      by: null,
    });
  });
});

describe("shipyard metrics", () => {
  it("computes the four metrics exactly, with a chart in the terminal and the step summary", async () => {
    const { callsSince } = await seededWorld();
    const report = await h.run("metrics", { env: "staging", days: "30" });
    expect(report.exitCode).toBe(0);
    expect(report.details?.metrics).toMatchObject({
      window: {
        from: new Date(NOW - 30 * 86_400_000).toISOString(),
        to: new Date(NOW).toISOString(),
        days: 30,
      },
      ...EXPECTED_METRICS,
    });
    expect(report.details).toMatchObject({
      deployFrequency: "4 succeeded in 30 days (0.93 per week, 0.13 per day); 7 attempted",
      leadTime: "median 1h 04m over 3 deploy(s); 1 unknown (commit not in git or on GitHub)",
      changeFailureRate: "50% (3 of 6 changes)",
      timeToRestore: "median 2h 04m over 3 restore(s)",
    });
    const chart = report.details?.chart as string[];
    expect(chart).toEqual([
      "deploys per 7 days (█ succeeded, ▒ failed or rolled back)",
      "10-28..10-30                            0 ok",
      "10-30..11-06                            0 ok",
      "11-06..11-13  ██                        2 ok",
      "11-13..11-20  █▒▒                       1 ok, 2 failed",
      "11-20..11-27  █▒                        1 ok, 1 failed",
    ]);
    const terminal = h.captured.lines.join("\n");
    expect(terminal).toContain("changeFailureRate    50% (3 of 6 changes)");
    expect(terminal).toContain("11-13..11-20  █▒▒");
    const markdown = reportToMarkdown(report);
    expect(markdown).toContain("| changeFailureRate | 50% (3 of 6 changes) |");
    expect(markdown).toContain(
      "```\ndeploys per 7 days (█ succeeded, ▒ failed or rolled back)\n10-28..10-30 ",
    );
    // Newest first, five at a time, until the batch that reaches web:2 (older than the window).
    expect(callsSince()).toEqual([
      "DescribeServices",
      "ListTaskDefinitions",
      ...Array(9).fill("DescribeTaskDefinition"),
    ]);
  });

  it("marks lead time unknown when the app folder is not a git repository", async () => {
    await seededWorld();
    h.files.root = "/nonexistent-app-folder";
    const report = await h.run("metrics", { env: "staging" });
    expect(report.details?.metrics).toMatchObject({
      leadTime: { medianSeconds: null, known: 0, unknown: 4 },
    });
    expect(report.details?.leadTime).toBe("unknown (4 commit(s) not found in git or on GitHub)");
  });

  it("asks GitHub for the commits git does not have (a shallow checkout), with a token", async () => {
    const { repo } = await seededWorld();
    h.files.root = "/nonexistent-app-folder";
    const token = "ghs_metricsCommitTimes0123456789";
    const [k3 = "", k4 = "", k7 = ""] = repo.shas;
    const iso = (ms: number) => new Date(ms).toISOString();
    const github = await startFakeGitHub(token, "acme/app", {
      [k3]: iso(COMMIT_TIMES[0]!),
      [k4]: iso(COMMIT_TIMES[1]!),
      [k7]: iso(COMMIT_TIMES[2]!),
    });
    try {
      const env = {
        ...h.env,
        SHIPYARD_GITHUB_TOKEN: token,
        GITHUB_REPOSITORY: "acme/app",
        GITHUB_API_URL: github.url,
      };
      const report = await h.run("metrics", { env: "staging" }, { env });
      // The same three lead times git gave, and web:9's commit is on GitHub neither.
      expect(report.details?.metrics).toMatchObject({ leadTime: EXPECTED_METRICS.leadTime });
      expect(github.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
        [k3, k4, k7, "9999999999999999999999999999999999999999"]
          .map((sha) => `GET /repos/acme/app/commits/${sha}`)
          .sort(),
      );
      expect(JSON.stringify(report)).not.toContain(token);
      expect(h.captured.all()).not.toContain(token);
    } finally {
      await github.close();
    }
  });

  it("without a token, never asks GitHub; a refused token is one warning, not a failure", async () => {
    await seededWorld();
    h.files.root = "/nonexistent-app-folder";
    const github = await startFakeGitHub("ghs_theRightToken000000000000000");
    try {
      const base = { ...h.env, GITHUB_REPOSITORY: "acme/app", GITHUB_API_URL: github.url };
      const silent = await h.run("metrics", { env: "staging" }, { env: base });
      expect(silent.exitCode).toBe(0);
      expect(github.requests).toEqual([]);
      const refused = await h.run(
        "metrics",
        { env: "staging" },
        { env: { ...base, GITHUB_TOKEN: "ghs_wrongToken" } },
      );
      expect(refused.exitCode).toBe(0);
      expect(github.requests).toHaveLength(1);
      expect(refused.warnings).toEqual([expect.stringMatching(/^GitHub could not give commit times \(/)]);
      expect(refused.details?.metrics).toMatchObject({ leadTime: { known: 0, unknown: 4 } });
    } finally {
      await github.close();
    }
  });

  it("stays within a few calls on a family of 40 revisions", async () => {
    h = await startWorld();
    const ecs = gateway(h.sim.endpoint);
    // web:1 and 39 deploys, one a day at 10:00 from day 39 to day 1.
    for (let day = 39; day >= 1; day -= 1) await recordDailyDeploy(ecs, day);
    const before = h.sim.calls.length;
    const history = await h.run("history", { env: "staging", limit: "20" });
    const historyCalls = h.sim.operations().slice(before);
    const between = h.sim.calls.length;
    const metrics = await h.run("metrics", { env: "staging", days: "30" });
    const metricsCalls = h.sim.operations().slice(between);
    expect(historyCalls).toEqual([
      "DescribeServices",
      "ListTaskDefinitions",
      ...Array(20).fill("DescribeTaskDefinition"),
    ]);
    expect(history.details?.events).toHaveLength(20);
    // 29 deploys fall in the window (days 1-29); describing stops after the batch reaching day 30.
    expect(metrics.details?.metrics).toMatchObject({ deploys: { total: 29, succeeded: 29 } });
    expect(metricsCalls).toEqual([
      "DescribeServices",
      "ListTaskDefinitions",
      ...Array(30).fill("DescribeTaskDefinition"),
    ]);
  });
});

describe("a service that is not there", () => {
  it.each(["history", "metrics"])("%s refuses with exit 2 after one DescribeServices", async (name) => {
    h = await startWorld({ config: configText({}, { service: "ghost" }) });
    const report = await h.run(name, { env: "staging" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /service "ghost" in cluster "main" was not found \(MISSING\); nothing was changed/,
    );
    expect(h.sim.operations()).toEqual(["DescribeServices"]);
  });
});

describe("through the CLI", () => {
  it("prints the table on stderr and the report as JSON on stdout", async () => {
    await seededWorld();
    const history = await h.cli(["history", "--env", "staging", "--limit", "4", "--json"]);
    expect(history.code).toBe(0);
    expect(history.stderr).toMatch(/2026-11-19 10:00 {2}deploy {2}web:6 +v6 +6666666 +failed +15m 00s/);
    expect(history.stderr).toContain(
      "shipyard history staging: succeeded (exit 0: read; nothing was changed",
    );
    const report = JSON.parse(history.stdout) as { command: string; details: { revisionsRead: number } };
    expect(report).toMatchObject({ command: "history", details: { revisionsRead: 4 } });

    const metrics = await h.cli(["metrics", "--env", "staging", "--days", "7"]);
    expect(metrics.code).toBe(0);
    expect(metrics.stderr).toContain("deploys per day (█ succeeded, ▒ failed or rolled back)");
    expect(metrics.stderr).toContain(
      "deployFrequency      1 succeeded in 7 days (1 per week, 0.14 per day); 2 attempted",
    );
  });
});

describe("bad input: exit 2 and not one AWS call", () => {
  it.each([
    [
      ["history", "--env", "staging", "--limit", "0"],
      /--limit "0" is not a number of revisions from 1 to 100/,
    ],
    [["history", "--env", "staging", "--limit", "many"], /--limit "many" is not a number of revisions/],
    [["metrics", "--env", "staging", "--days", "abc"], /--days "abc" is not a number of days from 1 to 366/],
    [["metrics", "--env", "staging", "--days", "0"], /--days "0" is not a number of days/],
    [
      ["history", "--env", "nope"],
      /There is no environment "nope" in shipyard.json[\s\S]*use one of: staging/,
    ],
    [["metrics", "--env", "nope"], /There is no environment "nope"/],
  ])("%j", async (argv, message) => {
    h = await startWorld();
    const result = await h.cli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(h.sim.calls).toEqual([]);
  });
});
