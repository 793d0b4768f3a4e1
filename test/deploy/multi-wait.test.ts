/**
 * Several services of one environment (web and workers, one image) rolled out, waited on and
 * restored together, in the ECS simulator through the real AWS SDK over HTTP on the world's fake
 * clock: one DescribeServices per ten services per poll, each service judged on its own deployment,
 * the first failure stopping the others' waits, and the verdict in the poll that decides it.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MUTATION_ATTEMPTS, POLL_ATTEMPTS } from "../../src/aws/client.js";
import { Ecs } from "../../src/aws/ecs.js";
import { DeploymentSchema } from "../../src/config/schema.js";
import { type RestoreOptions, restoreRevisions } from "../../src/deploy/restore.js";
import { type RolloutOptions, rollOutAll } from "../../src/deploy/rollout.js";
import { strategies } from "../../src/deploy/strategies.js";
import { EventLog, type Watch, waitForDeployments } from "../../src/deploy/wait.js";
import { fastRetryEcsFactory } from "../support/ecs-sim/client.js";
import { type Captured, captureOutput, NEW_IMAGE, startWorld, type World } from "../support/world.js";

let h: World;
let clients: ECSClient[];
let ecs: Ecs;
let v2: string;
let progress: Captured;

beforeEach(async () => {
  h = await startWorld();
  v2 = h.sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: NEW_IMAGE }],
  });
  const client = (maxAttempts: number) =>
    fastRetryEcsFactory({ region: "eu-west-1", endpoint: h.sim.endpoint, maxAttempts });
  clients = [await client(MUTATION_ATTEMPTS), await client(POLL_ATTEMPTS)];
  ecs = new Ecs({ mutations: clients[0]!, polls: clients[1]! });
  progress = captureOutput();
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await h.stop();
});

/** Services beside the world's web, on the same revision (web:1). */
function addServices(...names: string[]): void {
  for (const service of names) h.sim.createService({ cluster: "main", service, taskDefinition: h.v1 });
}

const settings = (overrides: Record<string, unknown> = {}) =>
  DeploymentSchema.parse({ pollSeconds: 5, timeoutSeconds: 120, rollbackTimeoutSeconds: 120, ...overrides });

function change(service: string, taskDefinitionArn: string, overrides: Record<string, unknown> = {}) {
  return {
    ecs,
    ref: { cluster: "main", service },
    clock: h.clock,
    progress: progress.output,
    signal: h.controller.signal,
    settings: settings(overrides),
    events: new EventLog(h.clock, progress.output),
    taskDefinitionArn,
  } satisfies RolloutOptions;
}

/** The DescribeServices calls from `fromMs` on, grouped by the poll (clock time) they were sent in. */
function pollsSince(fromMs: number): Map<number, string[][]> {
  const polls = new Map<number, string[][]>();
  for (const call of h.sim.callsTo("DescribeServices").filter((c) => c.atMs >= fromMs)) {
    polls.set(call.atMs, [...(polls.get(call.atMs) ?? []), call.input.services as string[]]);
  }
  return polls;
}

const seconds = (fromMs: number) => (h.clock.now() - fromMs) / 1000;

describe("rollOutAll: several services in one wait", () => {
  it("two healthy services: both completed, one DescribeServices per poll naming both", async () => {
    addServices("worker");
    const t0 = h.clock.now();
    const results = await rollOutAll([change("web", v2), change("worker", v2)], { stopOnFirstFailure: true });
    expect(results.map((r) => r.status)).toEqual(["completed", "completed"]);
    expect(h.sim.describe("main", "worker").taskDefinition).toBe(v2);
    const polls = pollsSince(t0);
    // Healthy after 20 s, a poll every 5 s: t = 0, 5, 10, 15, 20, and the verdict in the last one.
    expect([...polls.keys()].map((at) => (at - t0) / 1000)).toEqual([0, 5, 10, 15, 20]);
    for (const calls of polls.values()) expect(calls).toEqual([["web", "worker"]]);
    expect(seconds(t0)).toBe(20);
    expect(progress.lines).toContain("Rollout of worker (web:2) completed in 20s.");
  });

  it("12 services: two DescribeServices per poll (10 names and 2), all completed", async () => {
    const workers = Array.from({ length: 11 }, (_, i) => `worker-${i + 1}`);
    addServices(...workers);
    const t0 = h.clock.now();
    const results = await rollOutAll(
      ["web", ...workers].map((s) => change(s, v2)),
      { stopOnFirstFailure: true },
    );
    expect(results.every((r) => r.status === "completed")).toBe(true);
    const polls = pollsSince(t0);
    expect(polls.size).toBe(5);
    for (const calls of polls.values()) {
      expect(calls.map((names) => names.length).sort((a, b) => a - b)).toEqual([2, 10]);
      expect(calls.flat().sort()).toEqual(["web", ...workers].sort());
    }
  });

  it("the worker fails by circuit breaker while web still rolls: worker failed, web stopped, in the same poll", async () => {
    addServices("worker");
    h.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    h.sim.serviceBehaviours.set("worker", "failing");
    const t0 = h.clock.now();
    const [web, worker] = await rollOutAll([change("web", v2), change("worker", v2)], {
      stopOnFirstFailure: true,
    });
    expect(worker).toMatchObject({ status: "failed", inFlight: false, updatedAt: t0 });
    expect(worker?.status === "failed" && worker.reason).toMatch(/circuit breaker: tasks failed to start/);
    expect(web).toMatchObject({
      status: "stopped",
      reason: "stopped waiting: rollout of worker (web:2) failed",
      inFlight: true,
      updatedAt: t0,
    });
    // Web's last seen state comes along: still rolling, on our revision.
    expect(web?.status === "stopped" && web.service?.taskDefinition).toBe(v2);
    // The circuit breaker fails the worker at 30 s: that poll is the verdict, and nothing is read after it.
    expect(seconds(t0)).toBe(30);
    expect(Math.max(...pollsSince(t0).keys())).toBe(t0 + 30_000);
  });

  it("without stopOnFirstFailure each service gets its own verdict: web completed, the worker failed", async () => {
    addServices("worker");
    h.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    h.sim.serviceBehaviours.set("worker", "failing");
    const results = await rollOutAll([change("web", v2), change("worker", v2)], {
      stopOnFirstFailure: false,
    });
    expect(results.map((r) => r.status)).toEqual(["completed", "failed"]);
  });

  it("one stuck service times out on its own timeout while the other completed and stays completed", async () => {
    addServices("worker");
    h.sim.serviceBehaviours.set("worker", "stuck");
    const t0 = h.clock.now();
    const [web, worker] = await rollOutAll(
      [change("web", v2), change("worker", v2, { timeoutSeconds: 60 })],
      { stopOnFirstFailure: true },
    );
    expect(web).toMatchObject({ status: "completed", seconds: 20 });
    expect(worker).toMatchObject({ status: "failed", inFlight: true });
    expect(worker?.status === "failed" && worker.reason).toMatch(
      /rollout of worker \(web:2\) did not finish within 1m/,
    );
    expect(seconds(t0)).toBe(60);
    // Once web completed, each poll reads only the worker.
    const polls = pollsSince(t0);
    expect(polls.get(t0 + 20_000)).toEqual([["web", "worker"]]);
    expect(polls.get(t0 + 25_000)).toEqual([["worker"]]);
    expect(polls.get(t0 + 60_000)).toEqual([["worker"]]);
  });

  it("a throttled poll is no news for every service: the cadence holds and both complete", async () => {
    addServices("worker");
    const t0 = h.clock.now();
    h.sim.faultWindow("DescribeServices", "ThrottlingException", 400, t0 + 10_000, t0 + 10_001);
    const results = await rollOutAll([change("web", v2), change("worker", v2)], { stopOnFirstFailure: true });
    expect(results.map((r) => r.status)).toEqual(["completed", "completed"]);
    const reads = h.sim.callsTo("DescribeServices").filter((c) => c.atMs >= t0);
    expect(reads.filter((c) => c.fault === "ThrottlingException")).toHaveLength(1);
    expect(reads.map((c) => (c.atMs - t0) / 1000)).toEqual([0, 5, 10, 15, 20]);
    const noNews = progress.lines.filter((l) => l.includes("no news from ECS (ThrottlingException"));
    expect(noNews).toHaveLength(2);
    expect(noNews.some((l) => l.includes("rollout of worker (web:2): no news"))).toBe(true);
  });

  it("an UpdateService that does not take effect stops the others without a wait, to be restored in flight", async () => {
    h.sim.createService({ cluster: "main", service: "drained", taskDefinition: h.v1, status: "DRAINING" });
    const [web, drained] = await rollOutAll([change("web", v2), change("drained", v2)], {
      stopOnFirstFailure: true,
    });
    expect(drained).toMatchObject({ status: "not-updated" });
    expect(web).toMatchObject({
      status: "stopped",
      reason: "stopped waiting: drained was not updated",
      service: null,
      inFlight: true,
    });
    // Web's UpdateService was sent; nothing waited on it.
    expect(h.sim.describe("main", "web").taskDefinition).toBe(v2);
    expect(h.sim.callsTo("DescribeServices").map((c) => c.input.services)).toEqual([["drained"]]);
  });

  it("an UpdateService that may not have taken effect stops the others too", async () => {
    const [web, ghost] = await rollOutAll([change("web", v2), change("ghost", v2)], {
      stopOnFirstFailure: true,
    });
    expect(ghost).toMatchObject({ status: "unknown" });
    expect(web).toMatchObject({
      status: "stopped",
      reason: "stopped waiting: ghost may not have been updated",
    });
  });

  it("an abort ends every unfinished wait: the rollouts may still be running", async () => {
    addServices("worker");
    const t0 = h.clock.now();
    h.sim.onCall = (call) => {
      if (call.operation === "DescribeServices" && call.atMs >= t0 + 10_000)
        h.controller.abort(new Error("SIGINT"));
    };
    const results = await rollOutAll([change("web", v2), change("worker", v2)], { stopOnFirstFailure: true });
    expect(results.map((r) => r.status)).toEqual(["unknown", "unknown"]);
    expect(results[1]?.status === "unknown" && results[1].reason).toMatch(
      /^the wait was interrupted \(SIGINT\) during the rollout of worker \(web:2\).*; the rollout may still be running$/,
    );
    expect(seconds(t0)).toBe(10);
    expect(h.sim.callsTo("DescribeServices").filter((c) => c.atMs > t0 + 10_000)).toHaveLength(0);
  });
});

describe("waitForDeployments", () => {
  const watch = (service: string, label: string): Watch => ({
    ref: { cluster: "main", service },
    timeoutSeconds: 120,
    strategy: strategies.rolling,
    target: { purpose: "rollout", taskDefinitionArn: v2 },
    events: new EventLog(h.clock, progress.output),
    label,
  });
  const shared = () => ({
    ecs,
    clock: h.clock,
    progress: progress.output,
    signal: h.controller.signal,
    pollSeconds: 5,
  });

  it("a service that cannot be read three polls in a row is unknown; with stopOnFirstFailure the other is stopped", async () => {
    h.sim.startDeployment("main", "web", v2, "healthy");
    h.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    const t0 = h.clock.now();
    const [web, ghost] = await waitForDeployments(shared(), [watch("web", "web"), watch("ghost", "ghost")], {
      stopOnFirstFailure: true,
    });
    expect(ghost).toMatchObject({ status: "unknown", service: null });
    expect(ghost?.status === "unknown" && ghost.reason).toMatch(
      /ECS could not be read: ServiceNotFoundException: service "ghost" in cluster "main" was not found \(MISSING\)/,
    );
    expect(web).toMatchObject({ status: "stopped", reason: "stopped waiting: ghost failed", seconds: 10 });
    expect(seconds(t0)).toBe(10);
    expect(progress.lines.filter((l) => l.includes("ghost: reading the service failed"))).toHaveLength(3);
  });

  it("services in two clusters: one DescribeServices per cluster per poll; a missing cluster is unreadable", async () => {
    h.sim.startDeployment("main", "web", v2, "healthy");
    const elsewhere: Watch = {
      ...watch("web", "web elsewhere"),
      ref: { cluster: "nowhere", service: "web" },
    };
    const t0 = h.clock.now();
    const [web, lost] = await waitForDeployments(shared(), [watch("web", "web"), elsewhere], {
      stopOnFirstFailure: false,
    });
    expect(web).toMatchObject({ status: "completed", seconds: 20 });
    expect(lost).toMatchObject({ status: "unknown", seconds: 10 });
    expect(lost?.status === "unknown" && lost.reason).toMatch(/cluster "nowhere" does not exist/);
    const reads = h.sim.callsTo("DescribeServices").filter((c) => c.atMs === t0);
    expect(reads.map((c) => c.input.cluster).sort()).toEqual(["main", "nowhere"]);
  });

  it("an abort before the first poll ends every watch as aborted without reading", async () => {
    h.controller.abort(new Error("SIGTERM"));
    const results = await waitForDeployments(shared(), [watch("web", "web"), watch("worker", "worker")], {
      stopOnFirstFailure: false,
    });
    expect(results.map((r) => r.status)).toEqual(["aborted", "aborted"]);
    expect(results[1]?.status === "aborted" && results[1].reason).toBe(
      "the wait was interrupted (SIGTERM) during the worker",
    );
    expect(h.sim.callsTo("DescribeServices")).toHaveLength(0);
  });

  it("no watches: nothing is read", async () => {
    expect(await waitForDeployments(shared(), [], { stopOnFirstFailure: true })).toEqual([]);
    expect(h.sim.calls).toHaveLength(0);
  });
});

describe("restoreRevisions: several services restored together", () => {
  function restore(service: string, overrides: Partial<RestoreOptions> = {}): RestoreOptions {
    return { ...change(service, h.v1), ...overrides };
  }

  it("confirms the one that came back, not the one whose restore fails, and says why for one that cannot start", async () => {
    addServices("worker");
    const rolled = await rollOutAll([change("web", v2), change("worker", v2)], { stopOnFirstFailure: true });
    expect(rolled.map((r) => r.status)).toEqual(["completed", "completed"]);
    // From now on the worker's tasks fail, whatever revision it runs: its restore cannot succeed.
    h.sim.serviceBehaviours.set("worker", "failing");
    const t0 = h.clock.now();
    const [web, worker, ghost] = await restoreRevisions([
      restore("web"),
      restore("worker"),
      restore("ghost"),
    ]);
    expect(web).toEqual({ confirmed: true, how: "UpdateService to the previous revision", seconds: 20 });
    expect(worker).toMatchObject({
      confirmed: false,
      how: "UpdateService to the previous revision",
      seconds: 30,
    });
    expect(worker?.confirmed === false && worker.reason).toMatch(/circuit breaker: tasks failed to start/);
    expect(ghost).toMatchObject({ confirmed: false, how: "none", seconds: 0 });
    expect(ghost?.confirmed === false && ghost.reason).toMatch(
      /service "ghost" in cluster "main" was not found/,
    );
    expect(h.sim.describe("main", "web").taskDefinition).toBe(h.v1);
    // One wait for both restores: one DescribeServices per poll, the worker alone once web is back.
    const polls = pollsSince(t0);
    expect(polls.get(t0 + 20_000)).toEqual([["web", "worker"]]);
    expect(polls.get(t0 + 30_000)).toEqual([["worker"]]);
    expect(seconds(t0)).toBe(30);
    expect(progress.lines).toContain(
      "Waiting for rollback of worker to web:1 (polling every 5s, timeout 2m00s)",
    );
    expect(progress.lines).toContain("Restoring worker to web:1 with UpdateService.");
  });

  it("an empty list restores nothing", async () => {
    expect(await restoreRevisions([])).toEqual([]);
    expect(h.sim.calls).toHaveLength(0);
  });
});
