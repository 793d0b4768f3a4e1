/**
 * deploy and rollback of an environment of several services on the ECS simulator (the real SDK over
 * HTTP): one image and one release for all, every service rolled out at once and waited on its own
 * deployment, one poll read for all of them, and every service that moved put back when any fails.
 */
import { afterEach, describe, expect, it } from "vitest";
import { reportToMarkdown } from "../../src/report/markdown.js";
import { humanSummary } from "../../src/report/output.js";
import type { Report, ServiceRow } from "../../src/report/report.js";
import { startWorld, type World } from "../support/world.js";
import { addService, SERVICES_TEMPLATE, servicesConfig } from "./environment.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const WORKER_COMMAND = ["node", "dist/worker.js"];
const revision = (family: string, n: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${family}:${n}`;

/** web (the world's, 2 tasks) and worker (1 task, run with its own command), both on the simulator. */
async function webAndWorker(extra: Record<string, unknown> = {}): Promise<World> {
  const world = await startWorld({ template: SERVICES_TEMPLATE });
  addService(world, "worker", { command: WORKER_COMMAND });
  world.setConfig(
    servicesConfig(
      [
        { name: "web", traffic: true },
        { name: "worker", command: WORKER_COMMAND },
      ],
      extra,
    ),
  );
  return world;
}

const row = (report: Report, name: string): ServiceRow | undefined =>
  report.services?.find((r) => r.name === name);

describe("deploy of two services", () => {
  it("rolls both out at once from one image and release, reads both with one DescribeServices per poll, and records last good for each", async () => {
    h = await webAndWorker();
    h.sim.timing = { startSeconds: 5, healthySeconds: 40, failAfterSeconds: 30 };
    const report = await h.deploy();
    expect(report.exitCode).toBe(0);
    expect(report.outcome).toBe("succeeded");
    expect(report.services).toEqual([
      expect.objectContaining({
        name: "web",
        kind: "service",
        traffic: true,
        state: "deployed",
        rollout: "completed",
        taskDefinition: revision("web", 2),
        previousTaskDefinition: revision("web", 1),
      }),
      expect.objectContaining({
        name: "worker",
        traffic: false,
        state: "deployed",
        rollout: "completed",
        taskDefinition: revision("worker", 2),
        previousTaskDefinition: revision("worker", 1),
      }),
    ]);
    // The top-level fields describe the primary service, as for one service.
    expect(report.taskDefinition).toBe(revision("web", 2));
    // One image, one release; the worker keeps its own command.
    const worker = h.sim.taskDefinitionBody(revision("worker", 2)) as {
      containerDefinitions: Array<{ image: string; command?: string[]; environment: unknown[] }>;
    };
    expect(worker.containerDefinitions[0]!.command).toEqual(WORKER_COMMAND);
    expect(worker.containerDefinitions[0]!.image).toBe(report.image);
    expect(worker.containerDefinitions[0]!.environment).toContainEqual({
      name: "SENTRY_RELEASE",
      value: "v2",
    });
    // Both UpdateService calls at once; then one DescribeServices per poll, naming both while both roll out.
    const calls = h.sim.calls;
    const updates = calls.filter((c) => c.operation === "UpdateService");
    expect(updates.map((c) => c.input.service)).toEqual(["web", "worker"]);
    expect(new Set(updates.map((c) => c.atMs)).size).toBe(1);
    const afterUpdates = calls.slice(calls.indexOf(updates[1]!) + 1);
    const rollout = afterUpdates.slice(
      0,
      afterUpdates.findIndex((c) => c.operation === "TagResource"),
    );
    const polls = rollout.filter((c) => c.operation === "DescribeServices");
    expect(polls.length).toBeGreaterThan(5);
    expect(new Set(polls.map((c) => c.atMs)).size).toBe(polls.length);
    expect(polls.every((c) => JSON.stringify(c.input.services) === '["web","worker"]')).toBe(true);
    for (const name of ["web", "worker"]) {
      expect(h.sim.serviceTags("main", name)["shipyard:last-good"]).toBe(revision(name, 2));
      expect(h.sim.serviceTags("main", name)["shipyard:previous"]).toBe(revision(name, 1));
    }
  });

  it("a worker that fails by circuit breaker while the web succeeds: both are put back, exit 1, and the report says which failed and why", async () => {
    h = await webAndWorker();
    h.sim.timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 };
    h.sim.serviceBehaviours.set("worker", "failing");
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(report.outcome).toBe("rolled_back");
    expect(report.reason).toMatch(/^worker: the rollout failed: /);
    expect(report.reason).toContain(
      "every service and scheduled task that changed is back on its previous revision",
    );
    expect(row(report, "worker")).toMatchObject({
      rollout: "failed",
      state: "restored",
      taskDefinition: revision("worker", 1),
    });
    expect(row(report, "worker")!.reason).toMatch(/^the rollout failed: /);
    expect(row(report, "web")).toMatchObject({
      rollout: "completed",
      state: "restored",
      taskDefinition: revision("web", 1),
    });
    expect(h.sim.describe("main", "web").taskDefinition).toBe(revision("web", 1));
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(revision("worker", 1));
    // The step summary has one row per service; the human summary names each one's state.
    const summary = reportToMarkdown(report);
    expect(summary).toContain("### Services");
    expect(summary).toMatch(/\| web \(traffic\) \| restored \| completed \| `web:1` \| `web:1` \|/);
    expect(summary).toMatch(
      /\| worker \| restored \| failed \| `worker:1` \| `worker:1` \| the rollout failed: /,
    );
    expect(humanSummary(report).join("\n")).toMatch(/ {2}worker: {3}restored on worker:1, rollout failed/);
    // Neither service records the failed release as last good.
    expect(h.sim.serviceTags("main", "web")["shipyard:last-good"]).toBeUndefined();
    expect(report.checks.ecs).toBe("failed");
  });

  it("a stuck worker times out: the web, already done, and the worker are both put back (exit 1)", async () => {
    h = await webAndWorker();
    h.sim.timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 };
    h.sim.serviceBehaviours.set("worker", "stuck");
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(row(report, "worker")).toMatchObject({ rollout: "failed", state: "restored" });
    expect(row(report, "worker")!.reason).toMatch(/did not finish within 2m/);
    expect(row(report, "web")).toMatchObject({ rollout: "completed", state: "restored" });
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(revision("worker", 1));
    expect(h.sim.describe("main", "web").taskDefinition).toBe(revision("web", 1));
  });

  it("a failing web stops the wait on a worker still rolling out, and both are put back", async () => {
    h = await webAndWorker();
    h.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 20 };
    h.sim.serviceBehaviours.set("web", "failing");
    const report = await h.deploy();
    expect(report.exitCode).toBe(1);
    expect(row(report, "web")).toMatchObject({ rollout: "failed", state: "restored" });
    expect(row(report, "worker")).toMatchObject({ rollout: "stopped", state: "restored" });
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(revision("worker", 1));
    // Its deployment still in flight, the worker was stopped with ROLLBACK at the poll that saw the
    // web fail, not when it would have finished.
    const rolledOut = h.sim.callsTo("UpdateService").find((c) => c.input.service === "worker")!;
    const stopped = h.sim.callsTo("StopServiceDeployment");
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.input.stopType).toBe("ROLLBACK");
    expect(stopped[0]!.atMs - rolledOut.atMs).toBeLessThanOrEqual(25_000);
  });

  it("a restore that cannot be confirmed for the worker: exit 3 with the exact commands for the worker only", async () => {
    h = await webAndWorker();
    h.sim.timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 };
    h.sim.serviceBehaviours.set("web", "failing");
    // The worker's rollout succeeds; the UpdateService that would put it back never finishes.
    let workerUpdates = 0;
    h.sim.onCall = (call) => {
      if (call.operation === "UpdateService" && call.input.service === "worker" && ++workerUpdates === 2) {
        h!.sim.serviceBehaviours.set("worker", "stuck");
      }
    };
    const report = await h.deploy();
    expect(report.exitCode).toBe(3);
    expect(report.outcome).toBe("failed");
    expect(report.reason).toMatch(
      /^web: the rollout failed: .*; restoring worker to worker:1 was not confirmed \(/,
    );
    const commands = report.nextSteps!.join("\n");
    expect(report.nextSteps).toContain(
      `npx shipyard rollback --env staging --service worker --to ${revision("worker", 1)}`,
    );
    expect(report.nextSteps).toContain(
      `aws ecs update-service --region eu-west-1 --cluster main --service worker --task-definition ${revision("worker", 1)}`,
    );
    expect(commands).not.toContain("--service web");
    expect(row(report, "web")).toMatchObject({ state: "restored" });
    expect(row(report, "worker")).toMatchObject({ state: "not-restored", rollout: "completed" });
    expect(row(report, "worker")!.nextSteps).toHaveLength(2);
  });

  it("runs the migrations once, from the primary service's new revision, before any service changes", async () => {
    h = await webAndWorker({ migrations: { command: ["node", "dist/migrate.js"], lint: false } });
    const report = await h.deploy();
    expect(report.exitCode).toBe(0);
    const runTasks = h.sim.callsTo("RunTask");
    expect(runTasks).toHaveLength(1);
    expect(runTasks[0]!.input.taskDefinition).toBe(revision("web", 2));
    const firstUpdate = h.sim.callsTo("UpdateService")[0]!;
    expect(h.sim.calls.indexOf(runTasks[0]!)).toBeLessThan(h.sim.calls.indexOf(firstUpdate));
  });

  it("refuses before registering anything when a listed service does not exist (exit 2)", async () => {
    h = await webAndWorker();
    h.setConfig(
      servicesConfig([
        { name: "web", traffic: true },
        { name: "worker", command: WORKER_COMMAND },
        { name: "mailer" },
      ]),
    );
    const report = await h.deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/service "mailer" in cluster "main" was not found/);
    expect(report.nextSteps).toEqual([
      'check environments.staging.services[2].name ("mailer") in shipyard.json: create the service in cluster main (eu-west-1), correct the name, or remove the entry',
    ]);
    expect(h.sim.operations()).not.toContain("RegisterTaskDefinition");
    expect(h.sim.operations()).not.toContain("UpdateService");
  });

  it("renders every service's task definition before the first AWS call: a bad worker template is exit 2 with no call", async () => {
    h = await webAndWorker();
    h.files.files.set("worker-def.json", '{"family": "worker", "containerDefinitions": [{"name": "other"}]}');
    h.setConfig(
      servicesConfig([
        { name: "web", traffic: true },
        { name: "worker", taskDefinition: "worker-def.json" },
      ]),
    );
    const report = await h.deploy();
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain("worker-def.json");
    expect(h.sim.calls).toEqual([]);
  });
});

describe("rollback of two services", () => {
  async function deployedTwice(): Promise<World> {
    const world = await webAndWorker();
    expect((await world.deploy()).exitCode).toBe(0);
    return world;
  }

  it("puts every service back on its own last good revision, at once", async () => {
    h = await deployedTwice();
    const report = await h.run("rollback", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(h.sim.describe("main", "web").taskDefinition).toBe(revision("web", 1));
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(revision("worker", 1));
    expect(report.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
      ["web", "deployed", revision("web", 1)],
      ["worker", "deployed", revision("worker", 1)],
    ]);
    // Both restores started before either was waited on.
    const updates = h.sim.callsTo("UpdateService").slice(-2);
    expect(new Set(updates.map((c) => c.atMs)).size).toBe(1);
  });

  it("--service worker moves the worker alone", async () => {
    h = await deployedTwice();
    const report = await h.run("rollback", { env: "staging", service: "worker" });
    expect(report.exitCode).toBe(0);
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(revision("worker", 1));
    expect(h.sim.describe("main", "web").taskDefinition).toBe(revision("web", 2));
  });

  it("--service with a name the environment does not list: exit 2 naming the services, no AWS call", async () => {
    h = await webAndWorker();
    const report = await h.run("rollback", { env: "staging", service: "mailer" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain("--service mailer");
    expect(report.reason).toContain("web, worker");
    expect(h.sim.calls).toEqual([]);
  });

  it("--to without --service: exit 2, a revision belongs to one service, no AWS call", async () => {
    h = await webAndWorker();
    const report = await h.run("rollback", { env: "staging", to: "1" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/--to names a revision of one service/);
    expect(report.nextSteps).toEqual([
      "add --service NAME: npx shipyard rollback --env staging --service web --to 1",
    ]);
    expect(h.sim.calls).toEqual([]);
  });

  it("a service with nothing recorded to return to refuses the whole rollback, pointing at --service", async () => {
    h = await webAndWorker();
    const report = await h.run("rollback", { env: "staging" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/^web: no earlier good revision is recorded/);
    expect(report.nextSteps).toContain("or roll back the other services one at a time with --service NAME");
    expect(h.sim.operations()).not.toContain("UpdateService");
  });
});
