/**
 * The shipped CLI (built as `npm run build` builds it, run on Node 24) as real, concurrent processes
 * against one ECS simulator on the real clock: the service lock between processes, a holder killed
 * with SIGKILL, and SIGHUP/SIGTERM in the middle of a wait.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import type { Report } from "../../src/report/report.js";
import { configText, TEMPLATE } from "../support/world.js";
import { changesBy, claimsLeft, lockRunOf } from "./support/observe.js";
import {
  appFolder,
  type BuiltCli,
  buildCli,
  type Finished,
  realClock,
  startCli,
} from "./support/processes.js";
import { type LocalRegistry, startRegistry } from "./support/registry.js";

const folders: string[] = [];
const sims: EcsSimulator[] = [];
/** The app's images live in a registry on this machine: the deploy's registry preflight stays here. */
let registry: LocalRegistry;
let cli: BuiltCli;
const repository = () => `${registry.host}/acme/app`;
const digest = (c: string) => `${repository()}@sha256:${c.repeat(64).slice(0, 64)}`;
const oldImage = () => digest("0");
const newImage = () => digest("a");

beforeAll(async () => {
  registry = await startRegistry();
  cli = await buildCli();
}, 120_000);
afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.stop()));
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  await registry?.close();
  await cli?.remove();
});

/** A service running web:1, rollouts that take about 2 s, and the app's folder (polling every second). */
async function setUp() {
  const sim = await EcsSimulator.start(realClock);
  sims.push(sim);
  sim.timing = { startSeconds: 1, healthySeconds: 2, failAfterSeconds: 3 };
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [
      { name: "app", image: oldImage(), environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
    ],
  });
  sim.createService({ taskDefinition: v1 });
  const cwd = await appFolder({
    "shipyard.json": configText(
      { pollSeconds: 1, timeoutSeconds: 60, rollbackTimeoutSeconds: 60 },
      {},
      { image: repository() },
    ),
    "task-def.json": TEMPLATE,
  });
  folders.push(cwd);
  const deploy = (name: string, commit: string, image = newImage(), extra: string[] = []) =>
    startCli(name, ["deploy", "--env", "staging", "--image", image, "--commit", commit, "--json", ...extra], {
      cli,
      cwd,
      endpoint: sim.endpoint,
    });
  return { sim, v1, cwd, deploy };
}

/** The one JSON report a --json run prints on stdout. */
function reportOf(finished: Finished): Report {
  return JSON.parse(finished.stdout) as Report;
}

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

function expectNamesHolder(
  report: Report,
  holder: { run: string; commit: string; by: string; command?: string },
) {
  expect(report.exitCode).toBe(2);
  expect(report.reason).toMatch(
    new RegExp(
      `^web is held by ${holder.command ?? "deploy"} run ${holder.run} \\(commit ${holder.commit}, by ${holder.by}, started ${ISO}, lease until ${ISO}\\)`,
    ),
  );
  expect(report.reason).toMatch(/the service was not changed|nothing was changed/);
}

describe.concurrent("shipyard deploy processes against one service", () => {
  it("two started together: exactly one reaches UpdateService, the other exits 2 naming it", async () => {
    const { sim, deploy } = await setUp();
    const alpha = deploy("alpha", "aaaaaaa");
    const bravo = deploy("bravo", "bbbbbbb", digest("b"));
    const done = await Promise.all([alpha.done, bravo.done]);
    const [winner, loser] = done[0].code === 0 ? [alpha, bravo] : [bravo, alpha];
    const [won, lost] = done[0].code === 0 ? done : [done[1], done[0]];
    expect([won.code, lost.code]).toEqual([0, 2]);
    expect(sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([winner.key]);
    expect(changesBy(sim.calls, loser.key)).toEqual([]);
    const winnerReport = reportOf(won);
    expectNamesHolder(reportOf(lost), {
      run: lockRunOf(sim, winner.key),
      commit: winnerReport.release!,
      by: winner === alpha ? "alpha" : "bravo",
    });
    expect(sim.describe().taskDefinition).toBe(winnerReport.taskDefinition);
    expect(claimsLeft(sim)).toEqual([]);
    // Both asked the local registry for their image (the preflight never left this machine).
    expect(registry.lookups).toEqual(
      expect.arrayContaining([
        `/v2/acme/app/manifests/sha256:${"a".repeat(64)}`,
        `/v2/acme/app/manifests/sha256:${"b".repeat(64)}`,
      ]),
    );
  }, 60_000);

  it("started while the first one's slow RegisterTaskDefinition is in flight: the run that registered first goes first", async () => {
    const { sim, deploy } = await setUp();
    // Ordered by events, not by wall-clock pauses (process start-up varies with the machine's load):
    // the second process starts once the first is registering; the first registration takes effect
    // only after the second process has registered, claimed, and read the claims once (seeing the
    // first still taking its ticket), so the later process holds the lower ticket.
    let earlyRegistering!: () => void;
    let lateSawEarlyChoosing!: () => void;
    const earlyIsRegistering = new Promise<void>((resolve) => {
      earlyRegistering = resolve;
    });
    const lateHasLooked = new Promise<void>((resolve) => {
      lateSawEarlyChoosing = resolve;
    });
    const early = deploy("early", "eeeeeee");
    let lateStage: "starting" | "registered" | "claimed" = "starting";
    sim.beforeAnswer = async (call) => {
      if (call.operation !== "RegisterTaskDefinition" || call.caller !== early.key) return;
      earlyRegistering();
      await lateHasLooked;
    };
    sim.afterAnswer = (call) => {
      if (call.caller === early.key) return;
      if (call.operation === "RegisterTaskDefinition") lateStage = "registered";
      else if (call.operation === "TagResource" && lateStage === "registered") lateStage = "claimed";
      else if (call.operation === "DescribeServices" && lateStage === "claimed") lateSawEarlyChoosing();
    };
    await earlyIsRegistering;
    const late = deploy("late", "1a1e1a1", digest("b"));
    const [earlyDone, lateDone] = await Promise.all([early.done, late.done]);
    expect(lateDone.code).toBe(0);
    const lateReport = reportOf(lateDone);
    expect(lateReport.taskDefinition).toMatch(/web:2$/);
    expectNamesHolder(reportOf(earlyDone), { run: lockRunOf(sim, late.key), commit: "1a1e1a1", by: "late" });
    expect(reportOf(earlyDone).reason).toContain("web:3 was registered but the service was not changed");
    expect(lateDone.stderr).toMatch(
      new RegExp(`Waiting for deploy run ${lockRunOf(sim, early.key)} .*: it is taking its ticket\\.`),
    );
    expect(sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([late.key]);
    expect(claimsLeft(sim)).toEqual([]);
  }, 60_000);

  it("a holder killed with SIGKILL blocks the next deploy (exit 2, naming it); --force breaks its claim", async () => {
    const { sim, deploy } = await setUp();
    const crashed = deploy("crashed", "dead000");
    // The holder dies the moment it has marked its claim held, before UpdateService.
    sim.beforeAnswer = (call) => {
      const tags = JSON.stringify(call.input.tags ?? []);
      if (call.caller === crashed.key && call.operation === "TagResource" && tags.includes("state=held")) {
        crashed.child.kill("SIGKILL");
      }
    };
    expect((await crashed.done).signal).toBe("SIGKILL");
    sim.beforeAnswer = undefined;
    const run = lockRunOf(sim, crashed.key);
    expect(claimsLeft(sim)).toEqual([`shipyard:lock:${run}`]);

    const blocked = await deploy("blocked", "b10c4ed").done;
    expectNamesHolder(reportOf(blocked), { run, commit: "dead000", by: "crashed" });
    // The folder is not the package's: the command names the script it ran as.
    expect(reportOf(blocked).nextSteps).toEqual([
      `node ${cli.script} status --env staging`,
      `node ${cli.script} deploy --env staging --image ${newImage()} --force   # only if that run is dead`,
    ]);
    const forced = await deploy("forced", "f0cef0c", newImage(), ["--force"]).done;
    expect(forced.code).toBe(0);
    expect(reportOf(forced).warnings).toEqual([
      expect.stringMatching(new RegExp(`^--force removed the claim of deploy run ${run} \\(commit dead000`)),
    ]);
    expect(sim.callsTo("UpdateService")).toHaveLength(1);
    expect(claimsLeft(sim)).toEqual([]);
  }, 60_000);

  it("a rollback and a deploy started together: the rollback goes first, the deploy gives way naming it", async () => {
    const { sim, cwd, v1, deploy } = await setUp();
    expect((await deploy("first", "f1257f1").done).code).toBe(0);
    const before = sim.calls.length;
    const rollback = startCli("back", ["rollback", "--env", "staging", "--json"], {
      cli,
      cwd,
      endpoint: sim.endpoint,
    });
    const racing = deploy("racing", "c0ffee0", digest("c"));
    const [back, raced] = await Promise.all([rollback.done, racing.done]);
    expect(back.code).toBe(0);
    expect(sim.describe().taskDefinition).toBe(v1);
    expectNamesHolder(reportOf(raced), {
      run: lockRunOf(sim, rollback.key),
      commit: "unknown",
      by: "back",
      command: "rollback",
    });
    expect(changesBy(sim.calls.slice(before), racing.key)).toEqual([]);
    expect(claimsLeft(sim)).toEqual([]);
  }, 60_000);
});

describe.concurrent("a signal in the middle of the rollout wait", () => {
  it.each(["SIGHUP", "SIGTERM"] as const)(
    "%s: a report on stdout, exit 3, and the service left as it is",
    async (signal) => {
      const { sim, v1, deploy } = await setUp();
      sim.behaviours.set(newImage(), "stuck");
      const run = deploy("waiting", "5157e4d");
      let signalledAt = Number.POSITIVE_INFINITY;
      sim.onCall = (call) => {
        if (call.operation === "UpdateService") {
          setTimeout(() => {
            signalledAt = sim.calls.length;
            run.child.kill(signal);
          }, 2500);
        }
      };
      const done = await run.done;
      expect(done.code).toBe(3);
      const report = reportOf(done);
      expect(report).toMatchObject({ command: "deploy", outcome: "failed", exitCode: 3 });
      expect(report.reason).toMatch(
        new RegExp(
          `^the wait was interrupted \\(received ${signal}\\) during the rollout of web:2 at .*; the rollout may still be running$`,
        ),
      );
      expect(report.nextSteps).toEqual([
        expect.stringMatching(/ status --env staging$/),
        expect.stringMatching(new RegExp(` rollback --env staging --to ${v1}$`)),
        `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${v1}`,
      ]);
      expect(done.stderr).toMatch(/^shipyard deploy staging: failed \(exit 3: /m);
      // After the signal: no change to the service (its own claim is released), one UpdateService in all.
      // The revision records how its deploy ended, for `shipyard history`: a tag on the task definition.
      const afterSignal = sim.calls
        .slice(signalledAt)
        .filter((call) => call.operation !== "DescribeServices");
      expect(afterSignal.map((call) => call.operation).sort()).toEqual(["TagResource", "UntagResource"]);
      const recorded = afterSignal.find((call) => call.operation === "TagResource")!;
      expect(String(recorded.input.resourceArn)).toMatch(/:task-definition\/web:2$/);
      expect(sim.callsTo("UpdateService")).toHaveLength(1);
      expect(claimsLeft(sim)).toEqual([]);
      expect((sim.describe().deployments as unknown[]).length).toBe(2);
    },
    60_000,
  );

  it("SIGTERM while waiting for the lock: the service is never changed, and the report says it was interrupted", async () => {
    const { sim, deploy } = await setUp();
    const run = deploy("locking", "10c4ed0");
    sim.onCall = (call) => {
      if (call.operation === "RegisterTaskDefinition") setTimeout(() => run.child.kill("SIGTERM"), 500);
    };
    const done = await run.done;
    const report = reportOf(done);
    expect(done.code).toBe(1);
    expect(report.reason).toBe("interrupted before UpdateService; the service was not changed");
    expect(changesBy(sim.calls)).toEqual([]);
    expect(claimsLeft(sim)).toEqual([]);
  }, 60_000);
});
