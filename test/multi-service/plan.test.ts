/**
 * `plan` of an environment with several services: each service's own task definition (its command
 * override, its own template) against the revision it runs, each one's deployment settings, one row
 * each with the count of changes; every unit rendered before the first AWS call when --image is given.
 */
import { afterEach, describe, expect, it } from "vitest";
import { NEW_IMAGE, OLD_IMAGE, startWorld, type World } from "../support/world.js";
import { addService, SERVICES_TEMPLATE, servicesConfig } from "./environment.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const WORKER_COMMAND = ["node", "dist/worker.js"];

async function twoServices(worker: Record<string, unknown> = {}): Promise<World> {
  const world = await startWorld({ template: SERVICES_TEMPLATE });
  addService(world, "worker", {
    command: ["node", "worker.js"],
    deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
  });
  world.setConfig(
    servicesConfig([
      { name: "web", traffic: true },
      { name: "worker", ...worker },
    ]),
  );
  return world;
}

interface ServicePlan {
  name: string;
  taskDefinitionChanges: string[];
  deploymentChanges: string[];
}

/** The plan of one service besides the primary, from the report's details. */
function changesOf(report: { details?: Record<string, unknown> }, name: string): ServicePlan {
  const plans = (report.details?.otherServices ?? []) as ServicePlan[];
  const found = plans.find((s) => s.name === name);
  if (!found) throw new Error(`no plan for ${name} in the report`);
  return found;
}

describe("plan of several services", () => {
  it("shows a worker's command override as a change of the worker only", async () => {
    h = await twoServices({ command: WORKER_COMMAND });
    const before = h.sim.calls.length;
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report).toMatchObject({
      outcome: "planned",
      exitCode: 0,
      image: NEW_IMAGE,
      previousTaskDefinition: h.v1,
    });
    const web = report.details?.taskDefinitionChanges as string[];
    const worker = changesOf(report, "worker");
    expect(worker.taskDefinitionChanges).toEqual([
      `~ containerDefinitions[app].image: "${OLD_IMAGE}" → "${NEW_IMAGE}"`,
      '~ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v1" → "v2"',
      '~ containerDefinitions[app].command: ["node","worker.js"] → ["node","dist/worker.js"]',
    ]);
    expect(web.some((line) => line.includes("command"))).toBe(false);
    expect(web).toContain('~ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v1" → "v2"');
    // Each service's deployment settings against its own.
    expect(worker.deploymentChanges).toContain("~ maximumPercent: 100 → 200");
    expect(report.details?.deploymentChanges as string[]).not.toContainEqual(
      expect.stringContaining("maximumPercent"),
    );
    expect(report.services).toEqual([
      expect.objectContaining({
        name: "web",
        kind: "service",
        traffic: true,
        state: "running",
        taskDefinition: h.v1,
      }),
      expect.objectContaining({
        name: "worker",
        kind: "service",
        traffic: false,
        state: "running",
        detail: expect.stringMatching(/^3 task definition changes, \d+ deployment setting changes?$/),
      }),
    ]);
    const text = h.captured.lines.join("\n");
    expect(text).toContain("Service worker (live worker:1):");
    expect(text).toContain(
      '    ~ containerDefinitions[app].command: ["node","worker.js"] → ["node","dist/worker.js"]',
    );
    const calls = h.sim.calls.slice(before).map((c) => c.operation);
    expect(calls).toEqual(["DescribeServices", "DescribeTaskDefinition", "DescribeTaskDefinition"]);
  });

  it("without --image, plans every service with the image the primary runs", async () => {
    h = await twoServices({ command: ["node", "worker.js"] });
    const report = await h.run("plan", { env: "staging", release: "v1" });
    expect(report.exitCode).toBe(0);
    expect(report.image).toBe(OLD_IMAGE);
    expect(report.details?.taskDefinitionChanges as string[]).not.toContainEqual(
      expect.stringContaining("image"),
    );
    expect(changesOf(report, "worker").taskDefinitionChanges).toEqual([]);
    expect(report.services?.[1]?.detail).toMatch(/^no task definition change, /);
    expect(h.captured.lines.join("\n")).toContain("No --image given: planning with the live image");
  });

  it("a worker's own template renders with its own file", async () => {
    h = await twoServices({ taskDefinition: "worker-def.json" });
    h.files.files.set(
      "worker-def.json",
      JSON.stringify({
        family: "worker",
        containerDefinitions: [{ name: "app", image: "{{IMAGE}}", stopTimeout: 120 }],
      }),
    );
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(0);
    expect(changesOf(report, "worker").taskDefinitionChanges).toContain(
      "+ containerDefinitions[app].stopTimeout: 120",
    );
    expect(report.details?.taskDefinitionChanges as string[]).not.toContainEqual(
      expect.stringContaining("stopTimeout"),
    );
  });

  it("--image with a worker template that does not render: exit 2, naming the worker, and no AWS call", async () => {
    h = await twoServices({ taskDefinition: "worker-def.json" });
    h.files.files.set(
      "worker-def.json",
      JSON.stringify({
        family: "worker",
        containerDefinitions: [{ name: "main", image: "{{IMAGE}}", command: ["{{QUEUE}}"] }],
      }),
    );
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^The task definition of worker is not valid for staging; nothing was changed\./,
    );
    expect(report.reason).toContain(
      "environments.staging.services[1] (worker): placeholder {{QUEUE}} has no value",
    );
    expect(report.reason).toMatch(
      /environments\.staging\.services\[1\] \(worker\): container "app" .* is not in containerDefinitions \(found: main\)/,
    );
    expect(h.sim.calls).toEqual([]);
  });

  it("--image with a worker template that is missing: exit 2 and no AWS call", async () => {
    h = await twoServices({ taskDefinition: "worker-def.json" });
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(
      "environments.staging.services[1] (worker): The task definition template worker-def.json",
    );
    expect(report.reason).toContain("does not exist (ENOENT)");
    expect(h.sim.calls).toEqual([]);
  });

  it("--image with a scheduled task whose template does not render: exit 2 before any AWS call", async () => {
    h = await twoServices();
    const config = JSON.parse(h.files.files.get("shipyard.json")!);
    config.environments.staging.scheduledTasks = [
      { rule: "nightly-report", taskDefinition: "cron-def.json", container: "reporter" },
    ];
    h.setConfig(JSON.stringify(config));
    h.files.files.set("cron-def.json", SERVICES_TEMPLATE.replace("{{SERVICE}}", "web-cron"));
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /environments\.staging\.scheduledTasks\[0\] \(rule nightly-report\): container "reporter" .* is not in containerDefinitions \(found: app\)/,
    );
    // Rendering comes first: nothing was asked of AWS.
    expect(h.sim.calls).toEqual([]);
  });

  it("a worker ECS does not have: exit 2 naming the entry, nothing registered", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }, { name: "mailer" }]));
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toBe(
      'staging cannot be planned: service "worker" in cluster "main" was not found (MISSING); service "mailer" in cluster "main" was not found (MISSING); nothing was changed',
    );
    expect(report.nextSteps).toEqual([
      'check environments.staging.services[1].name ("worker") in shipyard.json: create the service in cluster main (eu-west-1), correct the name, or remove the entry',
      'check environments.staging.services[2].name ("mailer") in shipyard.json: create the service in cluster main (eu-west-1), correct the name, or remove the entry',
    ]);
    // Read everything, then refused: one DescribeServices for all three, the one revision that runs.
    expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
  });

  it("a cluster that does not exist: exit 2", async () => {
    h = await startWorld({ template: SERVICES_TEMPLATE });
    h.setConfig(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }], { cluster: "nope" }));
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(/^cluster "nope" does not exist/);
  });
});

describe("plan of one service", () => {
  it("has no rows and reads as it always did", async () => {
    h = await startWorld();
    const report = await h.run("plan", { env: "staging", image: NEW_IMAGE, release: "v2" });
    expect(report.exitCode).toBe(0);
    expect(report.services).toBeUndefined();
    expect(report.details).not.toHaveProperty("otherServices");
    expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
  });
});
