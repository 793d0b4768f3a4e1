/**
 * The lock covers an environment, not one service: a deploy of web and worker and a rollback of the
 * worker alone take the same lock (it lives on the primary service, web), so whatever the
 * interleaving of their AWS calls at most one of them changes any service, and the other exits 2
 * with nothing changed, naming the run that holds the environment. In-process, against one ECS
 * simulator on a virtual clock, the calls ordered by a seeded scheduler as in concurrency.test.ts
 * (RunScheduler: a deploy of two services waits on several calls at once).
 */
import { afterEach, describe, expect, it } from "vitest";
import { shortArn } from "../../src/aws/ecs.js";
import type { Report } from "../../src/report/report.js";
import { SERVICES_TEMPLATE, servicesConfig } from "../multi-service/environment.js";
import { digest, OLD_IMAGE } from "../support/world.js";
import { changesBy, claimsLeft, lockRunOf } from "./support/observe.js";
import { type Rig, type RunOptions, type RunResult, startRig } from "./support/rig.js";
import { RunScheduler } from "./support/run-scheduler.js";
import { seeded, VirtualClock } from "./support/virtual-time.js";

let rig: Rig;
afterEach(async () => {
  await rig?.stop();
});

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
const WORKER_COMMAND = ["node", "dist/worker.js"];

const revision = (family: string, n: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${family}:${n}`;

/** A worker revision as the template renders it, of release `release`. */
function workerBody(release: string): Record<string, unknown> {
  return {
    family: "worker",
    containerDefinitions: [
      {
        name: "app",
        image: OLD_IMAGE,
        command: WORKER_COMMAND,
        environment: [
          { name: "APP_ENV", value: "staging" },
          { name: "LOG_LEVEL", value: "info" },
          { name: "SENTRY_RELEASE", value: release },
        ],
      },
    ],
  };
}

/**
 * web (web:1, the rig's) and worker on one simulator; the worker runs worker:2 with worker:1
 * registered before it, so a rollback of the worker to revision 1 has something to do.
 */
async function webAndWorker(): Promise<{ clock: VirtualClock; rig: Rig }> {
  const clock = new VirtualClock();
  rig = await startRig(clock, {
    template: SERVICES_TEMPLATE,
    config: servicesConfig([
      { name: "web", traffic: true },
      { name: "worker", command: WORKER_COMMAND },
    ]),
  });
  rig.sim.registerTaskDefinition(workerBody("v0"));
  const running = rig.sim.registerTaskDefinition(workerBody("v1"));
  rig.sim.createService({ cluster: "main", service: "worker", taskDefinition: running, desiredCount: 1 });
  return { clock, rig };
}

/**
 * A run the scheduler follows (its clock and ECS client come from runtimeFor), started after
 * `afterMs` of virtual time on its own clock.
 */
function scheduled(
  scheduler: RunScheduler,
  name: string,
  start: (options: RunOptions) => Promise<RunResult>,
  afterMs = 0,
) {
  const key = rig.keyOf(name);
  const overrides = scheduler.runtimeFor(key);
  return {
    key,
    start: async () => {
      if (afterMs > 0) await overrides.clock!.sleep(afterMs);
      return start({ name, overrides });
    },
  };
}

/** deploy --image IMAGE --commit COMMIT of web and worker. */
const deploy = (scheduler: RunScheduler, name: string, commit: string, image?: string, afterMs = 0) =>
  scheduled(
    scheduler,
    name,
    (options) => rig.deploy({ ...options, commit, ...(image ? { image } : {}) }),
    afterMs,
  );

/** rollback --service worker --to 1 */
const rollbackWorker = (scheduler: RunScheduler, name: string, afterMs = 0) =>
  scheduled(
    scheduler,
    name,
    (options) => rig.run("rollback", { env: "staging", service: "worker", to: "1" }, options),
    afterMs,
  );

const running = () => ({
  web: rig.sim.describe("main", "web").taskDefinition,
  worker: rig.sim.describe("main", "worker").taskDefinition,
});

/** The loser's report: exit 2, naming the holder's run on the primary service; no call of it changed anything. */
function expectGaveWay(
  loser: RunResult,
  holder: { run: string; command: "deploy" | "rollback"; commit: string },
): void {
  const report: Report = loser.report;
  expect(report.exitCode, report.reason).toBe(2);
  expect(report.outcome).toBe("failed");
  expect(report.reason).toMatch(
    new RegExp(
      `^web is held by ${holder.command} run ${holder.run} \\(commit ${holder.commit}, by ci, started ${ISO}, lease until ${ISO}\\)`,
    ),
  );
  expect(changesBy(rig.sim.calls, loser.key)).toEqual([]);
}

/** No claim left anywhere, and none ever written on the worker: the environment's lock is web's. */
function expectNoClaimsLeft(): void {
  expect(claimsLeft(rig.sim, "main", "web")).toEqual([]);
  expect(claimsLeft(rig.sim, "main", "worker")).toEqual([]);
  const workerArn = String(rig.sim.describe("main", "worker").serviceArn);
  const onWorker = rig.sim
    .callsTo("TagResource")
    .filter((call) => call.input.resourceArn === workerArn)
    .flatMap((call) => (call.input.tags as Array<{ key: string }>).map((tag) => tag.key));
  expect(onWorker.filter((key) => key.startsWith("shipyard:lock:"))).toEqual([]);
}

describe("a deploy of the environment and a rollback of one of its services", () => {
  it.each([1, 2, 3, 4, 5, 6])(
    "started together (interleaving %i): the rollback goes first and moves the worker alone; the deploy exits 2 naming it, having changed nothing",
    async (seed) => {
      const { clock } = await webAndWorker();
      const scheduler = new RunScheduler(rig.sim, clock, { random: seeded(seed) });
      const [deployed, rollback] = (await scheduler.run([
        deploy(scheduler, "deploy", "c0ffee0", digest("c")),
        rollbackWorker(scheduler, "back"),
      ])) as [RunResult, RunResult];
      // Exactly one run changed any service: the rollback, and only the worker.
      expect(rollback.report.exitCode, rollback.report.reason).toBe(0);
      expect(
        changesBy(rig.sim.calls).map((call) => [call.caller, call.operation, call.input.service]),
      ).toEqual([[rollback.key, "UpdateService", "worker"]]);
      expect(running()).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
      expectGaveWay(deployed, {
        run: lockRunOf(rig.sim, rollback.key),
        command: "rollback",
        commit: "unknown",
      });
      expect(deployed.report.reason).toContain("(a rollback goes first)");
      expectNoClaimsLeft();
    },
  );

  it("a rollback of the worker while a deploy holds the environment gives up (exit 2) naming the deploy, which finishes", async () => {
    const { clock } = await webAndWorker();
    const scheduler = new RunScheduler(rig.sim, clock);
    const [deployed, rollback] = (await scheduler.run([
      deploy(scheduler, "deploy", "c0ffee0", digest("c")),
      rollbackWorker(scheduler, "back", 10_000),
    ])) as [RunResult, RunResult];
    expect(deployed.report.exitCode, deployed.report.reason).toBe(0);
    expectGaveWay(rollback, { run: lockRunOf(rig.sim, deployed.key), command: "deploy", commit: "c0ffee0" });
    expect(rollback.report.reason).toContain("(it holds the service)");
    expect(rollback.report.nextSteps).toEqual([
      "npx shipyard status --env staging",
      "npx shipyard rollback --env staging --service worker --to 1 --force   # only if that run is dead",
    ]);
    expect(running()).toEqual({ web: revision("web", 2), worker: revision("worker", 3) });
    expectNoClaimsLeft();
  });
});

describe("two deploys of the environment", () => {
  it("a deploy that reaches the lock while another holds the environment exits 2 naming it; it changes neither service", async () => {
    const { clock } = await webAndWorker();
    const scheduler = new RunScheduler(rig.sim, clock);
    // Half a second apart: both pass the preflight (no deployment in flight yet); the first claims.
    const [first, second] = (await scheduler.run([
      deploy(scheduler, "first", "f125700"),
      deploy(scheduler, "second", "5ec0d00", digest("b"), 500),
    ])) as [RunResult, RunResult];
    expect(first.report.exitCode, first.report.reason).toBe(0);
    expectGaveWay(second, { run: lockRunOf(rig.sim, first.key), command: "deploy", commit: "f125700" });
    expect(second.report.reason).toContain(
      `${shortArn(second.report.taskDefinition)} was registered but the service was not changed`,
    );
    // Every UpdateService, for both services, came from the first deploy.
    expect(rig.sim.callsTo("UpdateService").map((call) => [call.caller, call.input.service])).toEqual([
      [first.key, "web"],
      [first.key, "worker"],
    ]);
    const deployed = Object.fromEntries(
      (first.report.services ?? []).map((row) => [row.name, row.taskDefinition]),
    );
    expect(running()).toEqual(deployed);
    expect(rig.sim.serviceTags("main", "worker")["shipyard:last-good"]).toBe(deployed.worker);
    expectNoClaimsLeft();
  });

  it("a deploy started while another rolls the environment out is refused by its preflight (exit 2), before any lock or registration", async () => {
    const { clock } = await webAndWorker();
    const scheduler = new RunScheduler(rig.sim, clock);
    const [first, second] = (await scheduler.run([
      deploy(scheduler, "first", "f125700"),
      deploy(scheduler, "second", "5ec0d00", digest("b"), 10_000),
    ])) as [RunResult, RunResult];
    expect(first.report.exitCode, first.report.reason).toBe(0);
    expect(second.report.exitCode).toBe(2);
    expect(second.report.reason).toMatch(/^another deployment is in flight \(/);
    const ofSecond = rig.sim.calls.filter((call) => call.caller === second.key).map((call) => call.operation);
    expect(ofSecond).not.toContain("RegisterTaskDefinition");
    expect(ofSecond).not.toContain("TagResource");
    expect(changesBy(rig.sim.calls, second.key)).toEqual([]);
    expectNoClaimsLeft();
  });

  it.each([1, 2, 3, 4])(
    "started together (interleaving %i): one moves both services, the other exits 2 naming it",
    async (seed) => {
      const { clock } = await webAndWorker();
      const scheduler = new RunScheduler(rig.sim, clock, { random: seeded(seed) });
      const runs = await scheduler.run([
        deploy(scheduler, "alpha", "aaaaaaa"),
        deploy(scheduler, "bravo", "bbbbbbb", digest("b")),
      ]);
      const context = runs.map((run) => `${run.report.exitCode} ${run.report.reason ?? ""}`).join(" | ");
      const winners = runs.filter((run) => run.report.exitCode === 0);
      expect(winners, context).toHaveLength(1);
      const winner = winners[0]!;
      const loser = runs.find((run) => run !== winner)!;
      expectGaveWay(loser, {
        run: lockRunOf(rig.sim, winner.key),
        command: "deploy",
        commit: winner.report.release!,
      });
      expect(rig.sim.callsTo("UpdateService").map((call) => [call.caller, call.input.service])).toEqual([
        [winner.key, "web"],
        [winner.key, "worker"],
      ]);
      const rows = Object.fromEntries(
        (winner.report.services ?? []).map((row) => [row.name, row.taskDefinition]),
      );
      expect(running()).toEqual(rows);
      expectNoClaimsLeft();
    },
  );
});
