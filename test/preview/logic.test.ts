/**
 * What a preview is, without AWS: rule priorities, tags, which previews a garbage collection takes,
 * the preview's variables, and the `previews` section of shipyard.json.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import {
  chooseForGc,
  choosePriority,
  type FoundPreview,
  ORPHAN_GRACE_MS,
  PRIORITY_RANGE,
  previewNames,
  previewState,
  previewTags,
  previewTagsOf,
  previewVariables,
} from "../../src/deploy/preview.js";
import { InputError } from "../../src/errors.js";

const NOW = Date.UTC(2026, 10, 27, 12);
const HOUR = 3_600_000;
const LISTENER =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2";

function config(previews: Record<string, unknown>) {
  return JSON.stringify({
    image: "ghcr.io/acme/app",
    environments: { staging: { region: "eu-west-1", cluster: "main", service: "web" } },
    previews: {
      from: "staging",
      listenerArn: LISTENER,
      vpcId: "vpc-0abc12345def67890",
      host: "pr-{{PR}}.preview.example.com",
      ...previews,
    },
  });
}

describe("listener rule priorities", () => {
  it("are free ones inside Shipyard's range, different for different pull requests", () => {
    const first = choosePriority(new Set(), 30, 0);
    expect(first).toBe(10_210);
    expect(choosePriority(new Set(), 31, 0)).toBe(10_217);
    expect(choosePriority(new Set([10_210, 10_211]), 30, 0)).toBe(10_212);
  });

  it("start elsewhere on the next attempt, so two runs that collided separate", () => {
    expect(choosePriority(new Set(), 30, 0)).toBe(choosePriority(new Set(), 40_030, 0));
    expect(choosePriority(new Set([10_210]), 30, 1)).not.toBe(10_211);
  });

  it("wrap around the end of the range and refuse when every one is taken", () => {
    const almostAll = new Set<number>();
    for (let p = PRIORITY_RANGE.first; p <= PRIORITY_RANGE.last; p++) almostAll.add(p);
    almostAll.delete(PRIORITY_RANGE.first);
    expect(choosePriority(almostAll, 5_713, 0)).toBe(PRIORITY_RANGE.first);
    almostAll.add(PRIORITY_RANGE.first);
    expect(() => choosePriority(almostAll, 1, 0)).toThrow(InputError);
  });
});

describe("tags", () => {
  it("carry the PR, the copied environment, the commit and the expiry", () => {
    const tags = previewTags({
      pr: 7,
      from: "staging",
      now: NOW,
      timeToLiveHours: 48,
      commit: "abc1234",
      database: "preview_pr_7",
    });
    expect(tags).toEqual({
      "shipyard:preview": "7",
      "shipyard:preview-of": "staging",
      "shipyard:updated": "2026-11-27T12:00:00.000Z",
      "shipyard:expires": "2026-11-29T12:00:00.000Z",
      "shipyard:commit": "abc1234",
      "shipyard:preview-database": "preview_pr_7",
    });
    expect(previewTagsOf(tags, "staging")).toEqual({
      pr: 7,
      updatedAt: NOW,
      expiresAt: NOW + 48 * HOUR,
      commit: "abc1234",
      database: "preview_pr_7",
    });
  });

  it("of another environment, or without a valid PR, are not a preview's", () => {
    const tags = previewTags({ pr: 7, from: "staging", now: NOW, timeToLiveHours: 1, database: null });
    expect(previewTagsOf(tags, "production")).toBeNull();
    expect(previewTagsOf({ ...tags, "shipyard:preview": "07" }, "staging")).toBeNull();
    expect(previewTagsOf({ ...tags, "shipyard:preview": "7; rm" }, "staging")).toBeNull();
    expect(previewTagsOf({ Name: "web" }, "staging")).toBeNull();
  });
});

const tagsAt = (pr: number, updatedAt: number, ttlHours = 48) =>
  previewTagsOf(
    previewTags({ pr, from: "staging", now: updatedAt, timeToLiveHours: ttlHours, database: null }),
    "staging",
  )!;

function preview(pr: number, parts: { service?: number; group?: number; rule?: number }): FoundPreview {
  return {
    pr,
    service:
      parts.service === undefined
        ? null
        : { name: `web-pr-${pr}`, arn: `arn:${pr}`, tags: tagsAt(pr, parts.service), desired: 1, running: 1 },
    targetGroup:
      parts.group === undefined
        ? null
        : { name: `sy-pr${pr}`, arn: `tg:${pr}`, tags: tagsAt(pr, parts.group) },
    rule:
      parts.rule === undefined
        ? null
        : { arn: `rule:${pr}`, priority: "10000", host: `pr-${pr}.x`, tags: tagsAt(pr, parts.rule) },
  };
}

describe("garbage collection", () => {
  it("takes expired previews and orphans past the grace period; keeps running and starting ones", () => {
    const running = preview(1, { service: NOW - HOUR, group: NOW - HOUR, rule: NOW - HOUR });
    const expired = preview(2, { service: NOW - 49 * HOUR, group: NOW - 49 * HOUR });
    const orphan = preview(3, { group: NOW - ORPHAN_GRACE_MS - 1 });
    const starting = preview(4, { group: NOW - 60_000, rule: NOW - 30_000 });
    expect([running, expired, orphan, starting].map((p) => previewState(p, NOW))).toEqual([
      "running",
      "expired",
      "orphaned",
      "starting",
    ]);
    expect(
      chooseForGc([running, expired, orphan, starting], NOW, null).map((c) => [c.preview.pr, c.why]),
    ).toEqual([
      [2, "expired at 2026-11-27T11:00:00.000Z"],
      [3, "orphaned: no service (left by an interrupted up)"],
    ]);
  });

  it("with --older-than also takes running previews not updated for that long", () => {
    const old = preview(1, { service: NOW - 8 * 24 * HOUR });
    const fresh = preview(2, { service: NOW - HOUR });
    const longLived = { ...old, service: { ...old.service!, tags: tagsAt(1, NOW - 8 * 24 * HOUR, 24 * 30) } };
    expect(chooseForGc([longLived, fresh], NOW, 7 * 24 * HOUR).map((c) => [c.preview.pr, c.why])).toEqual([
      [1, "not updated since 2026-11-19T12:00:00.000Z"],
    ]);
  });
});

describe("the preview's variables", () => {
  it("override the copied environment's, with the preview's PR, host and database filled in", () => {
    const settings = parseConfig(
      config({ database: { command: ["true"] }, variables: { DATABASE_NAME: "{{PREVIEW_DATABASE}}" } }),
    ).previews!;
    const names = previewNames(settings, { cluster: "main", service: "web" }, 9);
    expect(
      previewVariables(
        { DATABASE_NAME: "app_staging", LOG_LEVEL: "info" },
        { DATABASE_NAME: "{{PREVIEW_DATABASE}}", PUBLIC_URL: "https://{{PREVIEW_HOST}}", PR: "{{PR}}" },
        names,
      ),
    ).toEqual({
      DATABASE_NAME: "preview_pr_9",
      LOG_LEVEL: "info",
      PUBLIC_URL: "https://pr-9.preview.example.com",
      PR: "9",
    });
  });
});

describe("shipyard.json previews", () => {
  it("takes defaults for everything but where and what to copy", () => {
    expect(parseConfig(config({})).previews).toEqual({
      from: "staging",
      listenerArn: LISTENER,
      vpcId: "vpc-0abc12345def67890",
      host: "pr-{{PR}}.preview.example.com",
      containerPort: 3000,
      healthCheckPath: "/health",
      desiredCount: 1,
      timeToLiveHours: 72,
      maxPreviews: 10,
      variables: {},
    });
  });

  it.each([
    [{ from: "production" }, /previews\.from.*not an environment/],
    [{ host: "preview.example.com" }, /previews\.host.*\{\{PR\}\}/],
    [{ host: "pr-{{PR}}.example.com/evil" }, /previews\.host/],
    [{ host: "pr-{{BRANCH}}.example.com" }, /previews\.host/],
    [
      { listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1" },
      /listenerArn/,
    ],
    [{ vpcId: "vpc-XYZ" }, /previews\.vpcId/],
    [{ maxPreviews: 0 }, /previews\.maxPreviews/],
    [{ timeToLiveHours: 0 }, /previews\.timeToLiveHours/],
    [{ database: { command: [] } }, /previews\.database\.command/],
  ])("refuses %j", (previews, message) => {
    expect(() => parseConfig(config(previews))).toThrow(InputError);
    try {
      parseConfig(config(previews));
    } catch (error) {
      expect([(error as InputError).message, ...(error as InputError).problems].join("\n")).toMatch(message);
    }
  });
});
