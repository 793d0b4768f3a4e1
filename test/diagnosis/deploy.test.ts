/**
 * A failed deploy says why: each cause ECS reports for the stopped tasks of OUR deployment, the load
 * balancer's view of the targets and the last lines the failed container logged, in the JSON
 * report, the human summary and the Markdown step summary — within five AWS calls and without an
 * extra poll interval. Reads that are denied become notes; the outcome and exit code never change.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DIAGNOSIS_BUDGET_MS } from "../../src/commands/diagnose.js";
import { reportToMarkdown } from "../../src/report/markdown.js";
import { humanSummary } from "../../src/report/output.js";
import { NEW_IMAGE, SECRET_ACCESS_KEY, type World } from "../support/world.js";
import { failingWorld, LOG_GROUP, TASK_FAILURES } from "./support.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const CASES = [
  {
    failure: TASK_FAILURES.imageNotFound,
    kind: "image-pull",
    says: /could not be pulled \(CannotPullContainerError\): the registry has no such image/,
    fix: /^publish the image first and deploy the digest that publish printed/,
    logs: false,
  },
  {
    failure: TASK_FAILURES.registryUnreachable,
    kind: "image-pull",
    says: /could not reach the registry/,
    fix: /^give the service's subnets a route to the registry: a NAT gateway/,
    logs: false,
  },
  {
    failure: TASK_FAILURES.secretsDenied,
    kind: "resource-initialization",
    says: /could not fetch its secrets from Secrets Manager \(ResourceInitializationError\): the task execution role is not allowed/,
    fix: /^allow the task execution role secretsmanager:GetSecretValue/,
    logs: false,
  },
  {
    failure: TASK_FAILURES.outOfMemory,
    kind: "out-of-memory",
    says: /container app ran out of memory \(OutOfMemoryError, exit 137\)/,
    fix: /^raise the container's \(or the task's\) memory/,
    logs: true,
  },
  {
    failure: TASK_FAILURES.crash,
    kind: "essential-container-exited",
    says: /the essential container app exited with code 1: the app stopped with an error/,
    fix: /^read its last log lines/,
    logs: true,
  },
  {
    failure: TASK_FAILURES.elbHealthCheck,
    kind: "elb-health-check",
    says: /failed the load balancer's health checks.*Target\.ResponseCodeMismatch: Health checks failed with these codes: \[404\]/,
    fix: /^make the target group's health check path and port match what the app serves/,
    logs: true,
  },
  {
    failure: TASK_FAILURES.containerHealthCheck,
    kind: "container-health-check",
    says: /container's own health check failed/,
    fix: /^run the healthCheck command inside the image: it must exit 0/,
    logs: true,
  },
] as const;

describe("a failed rollout is diagnosed", () => {
  for (const c of CASES) {
    it(`names ${c.kind} (${c.failure.stoppedReason.slice(0, 40)}…) in the report, the summary and the Markdown`, async () => {
      h = await failingWorld(c.failure);
      const report = await h.deploy();
      expect(report.outcome).toBe("rolled_back");
      expect(report.exitCode).toBe(1);
      const diagnosis = report.diagnosis!;
      expect(diagnosis.subject).toBe("rollout");
      expect(diagnosis.causes[0]?.kind).toBe(c.kind);
      expect(diagnosis.summary).toMatch(c.says);
      expect(diagnosis.fix).toMatch(c.fix);
      expect(diagnosis.tasks.length).toBeGreaterThan(0);
      expect(diagnosis.tasks.every((t) => t.taskDefinition === report.taskDefinition)).toBe(true);
      expect(diagnosis.notes).toEqual([]);
      const summary = humanSummary(report).join("\n");
      expect(summary).toContain(`  cause:    ${diagnosis.summary}`);
      expect(summary).toContain(`  fix:      ${diagnosis.fix}`);
      expect(reportToMarkdown(report)).toContain(`**Cause:** ${diagnosis.summary.replace(/\|/g, "\\|")}`);
      if (c.logs) {
        expect(diagnosis.logs).toHaveLength(1);
        expect(diagnosis.logs[0]!.group).toBe(LOG_GROUP);
        expect(diagnosis.logs[0]!.stream).toBe(`web/app/${diagnosis.logs[0]!.taskId}`);
        // Newest first.
        expect(diagnosis.logs[0]!.lines).toEqual([...(c.failure.logs ?? [])].reverse());
        expect(summary).toContain(`    ${c.failure.logs?.at(-1)}`);
      } else {
        // The container never ran: no log read is spent on it.
        expect(diagnosis.logs).toEqual([]);
        expect(h.sim.operations()).not.toContain("GetLogEvents");
      }
      expect(diagnosis.calls).toBeLessThanOrEqual(5);
    });
  }

  it("reads at most five AWS calls, all at the moment the failure was seen: no extra poll interval", async () => {
    h = await failingWorld(TASK_FAILURES.crash);
    const report = await h.deploy();
    const first = h.sim.calls.findIndex((c) => c.operation === "ListTasks");
    const diagnosisCalls = h.sim.calls.slice(first, first + report.diagnosis!.calls);
    expect(diagnosisCalls.map((c) => c.operation)).toEqual([
      "ListTasks",
      "DescribeTasks",
      "DescribeTargetHealth",
      "DescribeTaskDefinition",
      "GetLogEvents",
    ]);
    const failureSeenAt = h.sim.calls[first - 1]!.atMs;
    expect(h.sim.calls[first - 1]!.operation).toBe("DescribeServices");
    expect(new Set(diagnosisCalls.map((c) => c.atMs))).toEqual(new Set([failureSeenAt]));
    // The restore starts at once too.
    expect(h.sim.calls[first + report.diagnosis!.calls]!.atMs).toBe(failureSeenAt);
    // Only tasks of OUR deployment: ListTasks by its id, STOPPED.
    expect(h.sim.callsTo("ListTasks")[0]!.input).toMatchObject({
      cluster: "main",
      desiredStatus: "STOPPED",
      startedBy: h.sim.serviceTasks().find((t) => t.taskDefinitionArn === report.taskDefinition)!.startedBy,
    });
  });

  it("scrubs secrets out of the log lines it quotes", async () => {
    h = await failingWorld({
      ...TASK_FAILURES.crash,
      logs: [`signing with ${SECRET_ACCESS_KEY}`, "db postgres://app:s3cret-db-password@db:5432/app refused"],
    });
    h.env.DATABASE_URL = "postgres://app:s3cret-db-password@db:5432/app";
    const report = await h.deploy();
    const quoted = JSON.stringify(report.diagnosis);
    expect(quoted).not.toContain(SECRET_ACCESS_KEY);
    expect(quoted).not.toContain("s3cret-db-password");
    expect(report.diagnosis!.logs[0]!.lines).toContain("signing with ***");
    expect(h.captured.all()).not.toContain(SECRET_ACCESS_KEY);
  });

  it("turns an AccessDenied read into a note, with the same outcome and exit code", async () => {
    h = await failingWorld(TASK_FAILURES.elbHealthCheck);
    h.sim.injectFault("DescribeTargetHealth", "AccessDenied", 403, 1);
    h.sim.injectFault("GetLogEvents", "AccessDeniedException", 400, 1);
    const report = await h.deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    const diagnosis = report.diagnosis!;
    expect(diagnosis.causes[0]?.kind).toBe("elb-health-check");
    expect(diagnosis.notes).toEqual([
      "could not read the health of target group web: AccessDenied (allow elasticloadbalancing:DescribeTargetHealth to see it)",
      `could not read the logs of ${"web/app/"}${diagnosis.tasks[0]!.taskId}: AccessDeniedException (allow logs:GetLogEvents to see it)`,
    ]);
    expect(humanSummary(report).join("\n")).toContain(
      "  note:     could not read the health of target group web: AccessDenied (allow elasticloadbalancing:DescribeTargetHealth to see it)",
    );
    expect(reportToMarkdown(report)).toContain("**Note:** could not read the health of target group web");
  });

  it("a read that hangs is cut off by the diagnosis's time budget, and the restore goes on", async () => {
    h = await failingWorld(TASK_FAILURES.elbHealthCheck);
    h.sim.hang("DescribeTargetHealth", 1);
    // The budget's real-time signal, fired the moment the hanging read arrives (no real waiting).
    const budget = new AbortController();
    h.sim.onCall = (call) => {
      if (call.operation === "DescribeTargetHealth") budget.abort(new Error("the diagnosis took too long"));
    };
    const requestSignal = (ms: number) =>
      ms === DIAGNOSIS_BUDGET_MS ? budget.signal : AbortSignal.timeout(ms);
    const report = await h.deploy({}, { requestSignal });
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(report.diagnosis!.causes[0]?.kind).toBe("elb-health-check");
    expect(report.diagnosis!.notes[0]).toMatch(/^could not read the health of target group web: /);
  });

  it("still rolls back when even ListTasks is denied", async () => {
    h = await failingWorld(TASK_FAILURES.crash);
    h.sim.injectFault("ListTasks", "AccessDeniedException", 400, 1);
    const report = await h.deploy();
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(report.diagnosis!.notes).toContain(
      "could not read the deployment's tasks: AccessDeniedException (allow ecs:ListTasks to see it)",
    );
    expect(report.diagnosis!.summary).toBe("no stopped task of this deployment was found to explain it");
  });

  it("a stuck rollout that times out has no stopped task, and says so", async () => {
    h = await failingWorld(TASK_FAILURES.crash);
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(report.diagnosis?.summary).toBe("no stopped task of this deployment was found to explain it");
  });
});
