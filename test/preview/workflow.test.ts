/**
 * The example preview workflow (examples/ecr/.github/workflows/preview.yml): what it runs on, that a
 * fork's pull request never reaches a job with AWS credentials, that untrusted text (branch names,
 * titles) never reaches a shell, and that the pull request gets one comment, updated in place.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../docs/generate.js";

interface Step {
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}

const text = readFileSync(join(ROOT, "examples/ecr/.github/workflows/preview.yml"), "utf8");
const workflow = parse(text) as {
  on: { pull_request: { types: string[] }; schedule: unknown[] };
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
};
const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";

describe("the preview workflow", () => {
  it("runs on pull request events and nightly, one run per pull request, never cancelled halfway", () => {
    expect(workflow.on.pull_request.types).toEqual(["opened", "synchronize", "reopened", "closed"]);
    expect(workflow.on.schedule).toHaveLength(1);
    const code = text.split("\n").filter((line) => !line.trimStart().startsWith("#"));
    expect(code.join("\n")).not.toContain("pull_request_target");
    expect(workflow.concurrency).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub's expression syntax, not a template.
      group: "preview-${{ github.event.pull_request.number || 'gc' }}",
      "cancel-in-progress": false,
    });
  });

  it("checks, publishes and brings the preview up on a push; takes it down on close", () => {
    const { checks, publish, up, down, gc } = workflow.jobs;
    expect(publish?.needs).toBe("checks");
    expect(up?.needs).toBe("publish");
    expect(up?.steps.map((s) => s.run ?? "").join("\n")).toContain(
      'npx shipyard preview-up --pr "$PR" --image "$IMAGE" --commit "$COMMIT" --json > report.json',
    );
    expect(down?.steps.map((s) => s.run ?? "").join("\n")).toContain('npx shipyard preview-down --pr "$PR"');
    expect(gc?.steps.map((s) => s.run ?? "").join("\n")).toContain("npx shipyard preview-gc --older-than 7d");
    expect(checks?.if).toContain("github.event.action != 'closed'");
    expect(down?.if).toContain("github.event.action == 'closed'");
  });

  it("never gives a fork's pull request a job with AWS credentials", () => {
    const { checks, down } = workflow.jobs;
    // up and publish need checks, which a fork never passes: they never run for it either.
    expect(checks?.if).toContain(FORK_GUARD);
    expect(down?.if).toContain(FORK_GUARD);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      if (job.permissions?.["id-token"] !== "write") continue;
      // Guarded itself, scheduled only, or after a job that is (needs: never runs when that one is skipped).
      const guard = job.if?.includes(FORK_GUARD)
        ? "fork guard"
        : job.if === "github.event_name == 'schedule'"
          ? "schedule"
          : job.needs
            ? "needs"
            : "none";
      expect(guard, name).not.toBe("none");
      if (guard === "needs") {
        const needs = [job.needs ?? []].flat();
        expect(needs.length, name).toBeGreaterThan(0);
        for (const need of needs) expect(Object.keys(workflow.jobs), name).toContain(need);
      }
    }
  });

  it("passes untrusted values to shells only through the environment", () => {
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps) {
        expect(step.run ?? "").not.toMatch(/\$\{\{/);
      }
    }
    expect(text).not.toMatch(/pull_request\.(title|body)|head\.ref|head_ref/);
  });

  it("keeps one comment per pull request: found by its marker, edited, created only when missing", () => {
    const comment = workflow.jobs.up?.steps.find((s) => s.run?.includes("shipyard-preview"));
    expect(comment?.if).toBe("always()");
    expect(comment?.run).toContain("<!-- shipyard-preview -->");
    expect(comment?.run).toMatch(
      /if \[ -n "\$id" \]; then\s+gh api -X PATCH "repos\/\$REPO\/issues\/comments\/\$id"/,
    );
    expect(comment?.run).toMatch(/else\s+gh api -X POST "repos\/\$REPO\/issues\/\$PR\/comments"/);
    expect(workflow.jobs.up?.permissions?.["pull-requests"]).toBe("write");
  });
});
