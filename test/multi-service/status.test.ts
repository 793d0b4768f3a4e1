/**
 * `status` of an environment with several services: one row per service (what it runs, its release,
 * where rollback would return it), the services read in one DescribeServices per ten, the report's
 * own fields about the primary service, and a service shipyard.json lists but ECS lacks refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startWorld, type World } from "../support/world.js";
import { addService, SERVICES_TEMPLATE, serviceArn, servicesConfig, tagResource } from "./environment.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const WORKER_COMMAND = ["node", "dist/worker.js"];

describe("status of several services", () => {
  it("shows every service as a row, reading them in one DescribeServices", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    const worker1 = addService(h, "worker", { command: WORKER_COMMAND, desiredCount: 3 });
    const worker2 = h.sim.registerTaskDefinition({
      family: "worker",
      containerDefinitions: [
        {
          name: "app",
          image: "ghcr.io/acme/app@sha256:b",
          environment: [{ name: "SENTRY_RELEASE", value: "v2" }],
        },
      ],
    });
    h.sim.startDeployment("main", "worker", worker2, "healthy");
    await h.clock.advance(60_000);
    // The worker's last good revision is the one it runs: rollback goes to the one before it.
    await tagResource(h, serviceArn(h, "worker"), {
      "shipyard:last-good": worker2,
      "shipyard:previous": worker1,
    });
    h.setConfig(
      servicesConfig([
        { name: "web", traffic: true },
        { name: "worker", command: WORKER_COMMAND },
      ]),
    );
    const before = h.sim.calls.length;
    const report = await h.run("status", { env: "staging" });

    expect(report).toMatchObject({ outcome: "succeeded", exitCode: 0, service: "web", taskDefinition: h.v1 });
    expect(report.services).toEqual([
      {
        name: "web",
        kind: "service",
        container: "app",
        traffic: true,
        state: "running",
        taskDefinition: h.v1,
        previousTaskDefinition: null,
        detail: "ACTIVE, 2/2 running, release v1",
      },
      {
        name: "worker",
        kind: "service",
        container: "app",
        traffic: false,
        state: "running",
        taskDefinition: worker2,
        previousTaskDefinition: worker1,
        detail: "ACTIVE, 3/3 running, release v2",
      },
    ]);
    const calls = h.sim.calls.slice(before).map((c) => c.operation);
    expect(calls.filter((o) => o === "DescribeServices")).toHaveLength(1);
    expect(calls.filter((o) => o === "DescribeTaskDefinition")).toHaveLength(2);
    const text = h.captured.lines.join("\n");
    expect(text).toContain("web: ACTIVE, 2/2 running, revision web:1, release v1");
    expect(text).toContain("worker: ACTIVE, 3/3 running, revision worker:2, release v2");
    expect(text).toContain("  rollback would return to: worker:1");
    // The rollout-speed advice is the primary's alone.
    expect(text.match(/rollout speed:/g)).toHaveLength(1);
    expect(report.details?.otherServices).toMatchObject([
      {
        name: "worker",
        runningCount: 3,
        desiredCount: 3,
        inFlight: null,
        release: "v2",
        rollbackTarget: worker1,
      },
    ]);
  });

  it("a deployment in flight on a worker shows in its row", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    addService(h, "worker");
    const next = h.sim.registerTaskDefinition({
      family: "worker",
      containerDefinitions: [{ name: "app", image: "x" }],
    });
    h.sim.startDeployment("main", "worker", next, "stuck");
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }]));
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.services?.[1]?.detail).toMatch(
      /^ACTIVE, .* running, release \(none recorded\); 2 deployments are active \(PRIMARY .* → worker:2\)$/,
    );
  });

  it("the report's own fields are the traffic service's, wherever it is listed", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    const worker = addService(h, "worker");
    h.setConfig(servicesConfig([{ name: "worker" }, { name: "web", traffic: true }]));
    const report = await h.run("status", { env: "staging" });
    expect(report).toMatchObject({ exitCode: 0, service: "web", taskDefinition: h.v1 });
    expect(report.services?.map((row) => [row.name, row.taskDefinition, row.traffic])).toEqual([
      ["worker", worker, false],
      ["web", h.v1, true],
    ]);
    expect(report.details).toMatchObject({
      runningCount: 2,
      otherServices: [{ name: "worker", runningCount: 1 }],
    });
  });

  it("12 services cost 2 DescribeServices calls", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    const workers = Array.from({ length: 11 }, (_, i) => `worker-${i + 1}`);
    for (const name of workers) addService(h, name);
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, ...workers.map((name) => ({ name }))]));
    const before = h.sim.calls.length;
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.services?.map((row) => row.name)).toEqual(["web", ...workers]);
    expect(report.services?.every((row) => row.state === "running" && row.taskDefinition !== null)).toBe(
      true,
    );
    const calls = h.sim.calls.slice(before);
    const described = calls.filter((c) => c.operation === "DescribeServices");
    expect(described.map((c) => (c.input.services as string[]).length)).toEqual([10, 2]);
    expect(calls.filter((c) => c.operation === "DescribeTaskDefinition")).toHaveLength(12);
  });

  it("a worker ECS does not have is a configuration problem: exit 2, naming the entry to fix", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }]));
    const report = await h.run("status", { env: "staging" });
    expect(report.outcome).toBe("failed");
    expect(report.exitCode).toBe(2);
    expect(report.reason).toBe(
      'shipyard.json lists service "worker" of environment staging, which cluster "main" does not have; nothing was changed',
    );
    expect(report.nextSteps).toEqual([
      'check environments.staging.services[1].name ("worker") in shipyard.json: create the service in cluster main (eu-west-1), correct the name, or remove the entry',
    ]);
    // What does run is still shown.
    expect(report.taskDefinition).toBe(h.v1);
    expect(report.services).toMatchObject([
      { name: "web", taskDefinition: h.v1 },
      {
        name: "worker",
        taskDefinition: null,
        reason: 'service "worker" in cluster "main" was not found (MISSING)',
      },
    ]);
  });

  it("a cluster that does not exist: exit 2, pointing at the environment", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }], { cluster: "nope" }));
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/^cluster "nope" does not exist in this account\/region/);
    expect(report.nextSteps).toEqual(["check environments.staging (region, cluster) in shipyard.json"]);
  });

  it("an INACTIVE worker is shown, with a warning that a deploy would refuse it", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    const revision = h.sim.registerTaskDefinition({
      family: "worker",
      containerDefinitions: [{ name: "app", image: "x" }],
    });
    h.sim.createService({ cluster: "main", service: "worker", taskDefinition: revision, status: "INACTIVE" });
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }]));
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.warnings).toContain("service worker is INACTIVE, not ACTIVE: a deploy would refuse it");
  });
});

describe("status of one service", () => {
  it("is what it always was: no rows, one DescribeServices and one DescribeTaskDefinition", async () => {
    h = await startWorld();
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(0);
    expect(report.services).toBeUndefined();
    expect(report.details).not.toHaveProperty("otherServices");
    expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
  });

  it("a one-entry `services` list reads like `service`", async () => {
    h = await startWorld();
    const one = await h.run("status", { env: "staging" });
    const linesOfOne = h.captured.lines.splice(0);
    h.setConfig(servicesConfig([{ name: "web", traffic: true }]));
    const listed = await h.run("status", { env: "staging" });
    expect(listed.services).toBeUndefined();
    expect({ ...listed, timings: null }).toEqual({ ...one, timings: null });
    expect(h.captured.lines).toEqual(linesOfOne);
  });
});
