import { describe, expect, it } from "vitest";
import { reportToMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/report.js";

const report: Report = {
  command: "plan",
  outcome: "planned",
  exitCode: 0,
  environment: "production",
  cluster: "main",
  service: "web",
  image: "ghcr.io/acme/app@sha256:abc",
  release: "v2",
  taskDefinition: null,
  previousTaskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/web:1",
  checks: { ecs: "not-run", smoke: "not-run", gate: "not-run" },
  timings: {
    startedAt: "2026-11-27T12:00:00.000Z",
    finishedAt: "2026-11-27T12:00:01.000Z",
    totalSeconds: 1,
    phases: [],
  },
  details: {
    taskDefinitionChanges: ['~ containerDefinitions[app].image: "a" → "b"', '+ cpu: "256"'],
    deploymentChanges: [],
    renderedTaskDefinition: {
      family: "web",
      containerDefinitions: [
        { name: "app", image: "b", environment: [{ name: "A|B", value: "x".repeat(100) }] },
      ],
    },
    strategy: "rolling",
  },
};

describe("Markdown report", () => {
  it("shows a plan's changes as a diff block, folds big objects, escapes table cells", () => {
    const markdown = reportToMarkdown(report);
    expect(markdown).toContain("## Shipyard plan · production · 📝 planned");
    expect(markdown).toContain('```diff\n~ containerDefinitions[app].image: "a" → "b"\n+ cpu: "256"\n```');
    expect(markdown).toContain("| deploymentChanges | none |");
    expect(markdown).toContain("| strategy | rolling |");
    expect(markdown).toContain("<details><summary>renderedTaskDefinition</summary>");
    expect(markdown).toContain("| Task definition | — |");
  });

  it("lists next steps as shell commands and keeps the reason as written (pipes escaped, which Markdown renders as written)", () => {
    const failed: Report = {
      ...report,
      command: "deploy",
      outcome: "failed",
      exitCode: 3,
      reason: "a | b",
      nextSteps: ["npx shipyard status --env production"],
      details: undefined,
    };
    const markdown = reportToMarkdown(failed);
    expect(markdown).toContain("**Why:** a \\| b");
    expect(markdown).toContain("```sh\nnpx shipyard status --env production\n```");
  });
});
