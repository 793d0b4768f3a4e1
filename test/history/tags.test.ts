/**
 * The history's tags stay inside ECS's tag limits (50 per resource, key ≤ 128, value ≤ 256, letters,
 * digits, spaces and + - = . _ : / @) and read back to what was written.
 */
import { userInfo } from "node:os";
import { describe, expect, it } from "vitest";
import {
  actorOf,
  type DeployFacts,
  deployTags,
  factsOfReport,
  formatDuration,
  HISTORY_TAG,
  parseRevision,
  rollbackTags,
} from "../../src/deploy/history.js";
import { TAG } from "../../src/deploy/revisions.js";
import type { Report } from "../../src/report/report.js";

const ALLOWED = /^[\p{L}\p{N}\s+\-=._:/@]*$/u;
const AT = Date.UTC(2026, 10, 27, 12, 0, 0, 250);
const ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";

const facts: DeployFacts = {
  outcome: "rolled_back",
  startedAt: AT,
  changedAt: AT + 61_000,
  finishedAt: AT + 600_000,
  by: `Jürgen "ops" <j@example.com> ${"x".repeat(300)}`,
};

function checkLimits(tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) {
    expect(key.length, key).toBeLessThanOrEqual(128);
    expect(key, key).toMatch(ALLOWED);
    expect(value.length, key).toBeLessThanOrEqual(256);
    expect(value, key).toMatch(ALLOWED);
  }
}

describe("history tags", () => {
  it("fit ECS's limits, whatever the person's name holds", () => {
    const deploy = deployTags(facts);
    const rollback = rollbackTags({
      to: ARN,
      outcome: "succeeded",
      startedAt: AT,
      finishedAt: AT + 90_000,
      by: facts.by,
    });
    checkLimits(deploy);
    checkLimits(rollback);
    expect(deploy[HISTORY_TAG.by]).toBe(`Jürgen _ops_ _j@example.com_ ${"x".repeat(300)}`.slice(0, 256));
    expect(deploy[HISTORY_TAG.started]).toBe("2026-11-27T12:00:00Z");
    expect(rollback[HISTORY_TAG.rollbackAt]).toBe("2026-11-27T12:00:00Z/2026-11-27T12:01:30Z");
    // Shipyard's own keys on one revision: the 4 of registration and the 9 of the history.
    const keys = new Set(
      [...Object.values(TAG), ...Object.values(HISTORY_TAG)].filter((k) => k !== TAG.lastGood),
    );
    expect(keys.size).toBe(13);
    expect(Object.keys({ ...deploy, ...rollback }).length).toBe(9);
  });

  it("read back to what was written (to the second)", () => {
    const tags = {
      ...deployTags(facts),
      ...rollbackTags({ to: ARN, outcome: "succeeded", startedAt: AT, finishedAt: AT + 90_000, by: "bob" }),
      [TAG.environment]: "staging",
      [TAG.release]: "v7",
      [TAG.commit]: "abc1234",
    };
    const record = parseRevision({ taskDefinitionArn: ARN, revision: 7 }, tags, "app");
    expect(record).toMatchObject({
      revision: 7,
      environment: "staging",
      release: "v7",
      commit: "abc1234",
      registeredAt: null,
      deploy: {
        outcome: "rolled_back",
        startedAt: AT - 250,
        changedAt: AT + 61_000 - 250,
        finishedAt: AT + 600_000 - 250,
      },
      rollback: {
        to: ARN,
        outcome: "succeeded",
        startedAt: AT - 250,
        finishedAt: AT + 90_000 - 250,
        by: "bob",
      },
    });
  });

  it("ignore tags a person edited into nonsense instead of failing", () => {
    const record = parseRevision(
      { taskDefinitionArn: ARN },
      { [HISTORY_TAG.outcome]: "great", [HISTORY_TAG.started]: "yesterday", [HISTORY_TAG.rollbackAt]: "x/y" },
      "app",
    );
    expect(record).toMatchObject({ revision: 7, deploy: null, rollback: null, release: null });
  });

  it("take the outcome, the times and the rollout's start from a finished report", () => {
    const report = {
      outcome: "succeeded",
      timings: {
        startedAt: "2026-11-27T12:00:00.000Z",
        finishedAt: "2026-11-27T12:05:00.000Z",
        totalSeconds: 300,
        phases: [
          { name: "preflight", startedAt: "2026-11-27T12:00:00.000Z", seconds: 1 },
          { name: "rollout", startedAt: "2026-11-27T12:01:00.000Z", seconds: 60 },
        ],
      },
    } as Report;
    expect(factsOfReport(report, "ada")).toEqual({
      outcome: "succeeded",
      startedAt: Date.UTC(2026, 10, 27, 12, 0, 0),
      changedAt: Date.UTC(2026, 10, 27, 12, 1, 0),
      finishedAt: Date.UTC(2026, 10, 27, 12, 5, 0),
      by: "ada",
    });
    const refused = { ...report, outcome: "failed", timings: { ...report.timings, phases: [] } } as Report;
    expect(factsOfReport(refused, "ada").changedAt).toBeNull();
  });

  it("name who ran it: the GitHub actor in Actions, else the OS user", () => {
    expect(actorOf({ GITHUB_ACTOR: "octocat", USER: "runner" })).toBe("octocat");
    expect(actorOf({})).toBe(userInfo().username);
  });

  it("format durations for the table", () => {
    expect([45, 125, 11_400, 187_200].map(formatDuration)).toEqual(["45s", "2m 05s", "3h 10m", "2d 04h"]);
  });
});
