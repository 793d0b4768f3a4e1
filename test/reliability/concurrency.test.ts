/**
 * One deploy or rollback of a service at a time, in-process: several runs against one ECS simulator
 * on a virtual clock, their calls interleaved by a scheduler (src/deploy/lock.ts has the algorithm).
 * Whatever the interleaving, at most one run changes the service; every other run exits 2 with
 * nothing changed and names the run that holds the service.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RecordedCall } from "../../src/emulator/ecs/simulator.js";
import type { Report } from "../../src/report/report.js";
import { configText, digest, NEW_IMAGE } from "../support/world.js";
import { changesBy, claimsLeft, lockRunOf } from "./support/observe.js";
import { type Rig, type RunResult, startRig } from "./support/rig.js";
import { Scheduler, seeded, VirtualClock } from "./support/virtual-time.js";

let rig: Rig;
afterEach(async () => {
  await rig?.stop();
});

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

/** Starts a run after `ms` of virtual time. */
const startingAfter =
  <T>(clock: VirtualClock, ms: number, start: () => Promise<T>) =>
  async () => {
    await clock.sleep(ms);
    return start();
  };

function fulfilled(results: Array<PromiseSettledResult<RunResult>>): RunResult[] {
  return results.map((result) => {
    if (result.status === "rejected") throw result.reason;
    return result.value;
  });
}

/** The loser's report: exit 2, nothing changed, naming the holder's run, commit and start. */
function expectGaveWay(loser: Report, holder: { run: string; command: string; commit: string }) {
  expect(loser.exitCode).toBe(2);
  expect(loser.outcome).toBe("failed");
  expect(loser.reason).toMatch(
    new RegExp(
      `^web is held by ${holder.command} run ${holder.run} \\(commit ${holder.commit}, by ci, started ${ISO}, lease until ${ISO}\\)`,
    ),
  );
  expect(loser.reason).toMatch(/nothing was changed|the service was not changed/);
}

async function virtualRig(options: Parameters<typeof startRig>[1] = {}) {
  const clock = new VirtualClock();
  rig = await startRig(clock, options);
  return { clock, rig };
}

describe("two deploys of one service", () => {
  it.each([1, 2, 3, 4, 5])(
    "started together (interleaving %i): exactly one reaches UpdateService, the other exits 2 naming it",
    async (seed) => {
      const { clock } = await virtualRig();
      const scheduler = new Scheduler(rig.sim, clock, { random: seeded(seed) });
      const runs = fulfilled(
        await scheduler.run([
          () => rig.deploy({ name: "alpha", commit: "aaaaaaa" }),
          () => rig.deploy({ name: "bravo", commit: "bbbbbbb", image: digest("b") }),
        ]),
      );
      const winners = runs.filter((run) => run.report.exitCode === 0);
      const losers = runs.filter((run) => run.report.exitCode !== 0);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const [winner, loser] = [winners[0]!, losers[0]!];
      expect(rig.sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([winner.key]);
      expect(changesBy(rig.sim.calls, loser.key)).toEqual([]);
      expectGaveWay(loser.report, {
        run: lockRunOf(rig.sim, winner.key),
        command: "deploy",
        commit: winner.report.release!,
      });
      expect(loser.report.reason).toContain("(it registered its revision first)");
      // The service runs what the winner deployed, recorded as last good; no claim is left behind.
      expect(rig.sim.describe().taskDefinition).toBe(winner.report.taskDefinition);
      expect(rig.sim.serviceTags()["shipyard:last-good"]).toBe(winner.report.taskDefinition);
      expect(claimsLeft(rig.sim)).toEqual([]);
    },
  );

  it("0.5 s apart with a slow RegisterTaskDefinition: the later run's smaller ticket goes first, the earlier waits for it, then gives way", async () => {
    const { clock } = await virtualRig();
    // The first registration takes 3 s: the run that started later registers first.
    rig.sim.delay("RegisterTaskDefinition", 3000, 1);
    const scheduler = new Scheduler(rig.sim, clock);
    const [early, late] = fulfilled(
      await scheduler.run([
        () => rig.deploy({ name: "early", commit: "eeeeeee" }),
        startingAfter(clock, 500, () => rig.deploy({ name: "late", commit: "1a1e1a1", image: digest("b") })),
      ]),
    );
    expect(late!.report.taskDefinition).toMatch(/web:2$/);
    expect(early!.report.taskDefinition).toMatch(/web:3$/);
    expect(late!.report.exitCode).toBe(0);
    expectGaveWay(early!.report, {
      run: lockRunOf(rig.sim, late!.key),
      command: "deploy",
      commit: "1a1e1a1",
    });
    expect(early!.report.reason).toContain("web:3 was registered but the service was not changed");
    // The later run saw the earlier one still taking its ticket and waited for it.
    expect(late!.captured.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Waiting for deploy run ${lockRunOf(rig.sim, early!.key)} .*: it is taking its ticket\\.$`,
        ),
      ),
    );
    expect(rig.sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([late!.key]);
    expect(claimsLeft(rig.sim)).toEqual([]);
  });

  it("0.5 s apart with prompt registrations: the earlier run goes first", async () => {
    const { clock } = await virtualRig();
    const scheduler = new Scheduler(rig.sim, clock);
    const [early, late] = fulfilled(
      await scheduler.run([
        () => rig.deploy({ name: "early", commit: "eeeeeee" }),
        startingAfter(clock, 500, () => rig.deploy({ name: "late", commit: "1a1e1a1", image: digest("b") })),
      ]),
    );
    expect(early!.report.exitCode).toBe(0);
    expectGaveWay(late!.report, {
      run: lockRunOf(rig.sim, early!.key),
      command: "deploy",
      commit: "eeeeeee",
    });
    expect(rig.sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([early!.key]);
  });

  it("a run that reaches the lock after another deploy finished does not deploy over it from a stale look", async () => {
    const { clock } = await virtualRig();
    // The slow run's first read is answered, then its registration takes longer than the whole
    // deploy of the other run: by the time it holds the service, the service runs something else.
    rig.sim.delay("RegisterTaskDefinition", 200_000, 1);
    const scheduler = new Scheduler(rig.sim, clock);
    const [slow, quick] = fulfilled(
      await scheduler.run([
        () => rig.deploy({ name: "slow", commit: "5105105" }),
        startingAfter(clock, 500, () => rig.deploy({ name: "quick", commit: "9999999", image: digest("b") })),
      ]),
    );
    expect(quick!.report.exitCode).toBe(0);
    expect(slow!.report.exitCode).toBe(2);
    expect(slow!.report.reason).toBe(
      "the service changed while this deploy was starting: it runs web:2 now, not web:1; web:3 was registered but the service was not changed",
    );
    expect(changesBy(rig.sim.calls, slow!.key)).toEqual([]);
    expect(rig.sim.describe().taskDefinition).toBe(quick!.report.taskDefinition);
  });
});

describe("a holder that crashed", () => {
  /** A deploy that dies when it sends UpdateService: its claim (held) stays on the service. */
  async function crashedHolder(scheduler: Scheduler) {
    scheduler.crash = (call) => call.operation === "UpdateService" && call.caller === rig.keyOf("crashed");
    const [crashed] = await scheduler.run([() => rig.deploy({ name: "crashed", commit: "dead000" })]);
    expect(crashed!.status).toBe("rejected");
    scheduler.crash = undefined;
    expect(claimsLeft(rig.sim)).toEqual([`shipyard:lock:${lockRunOf(rig.sim, rig.keyOf("crashed"))}`]);
    // The claim's lease: every timeout the deploy could have waited out, plus a margin.
    const value = Object.values(rig.sim.serviceTags()).find((v) => v.startsWith("ticket=web:2"))!;
    return {
      run: lockRunOf(rig.sim, rig.keyOf("crashed")),
      expires: Date.parse(/expires=(\S+)/.exec(value)![1]!),
    };
  }

  it("blocks the next deploy (exit 2, naming it) only until its lease expires", async () => {
    const { clock } = await virtualRig();
    const scheduler = new Scheduler(rig.sim, clock);
    const holder = await crashedHolder(scheduler);
    const [blocked] = fulfilled(
      await scheduler.run([() => rig.deploy({ name: "blocked", commit: "b10c4ed" })]),
    );
    expectGaveWay(blocked!.report, { run: holder.run, command: "deploy", commit: "dead000" });
    expect(blocked!.report.nextSteps).toEqual([
      "npx shipyard status --env staging",
      `npx shipyard deploy --env staging --image ${NEW_IMAGE} --force   # only if that run is dead`,
    ]);
    expect(changesBy(rig.sim.calls, blocked!.key)).toEqual([]);

    const wait = holder.expires - clock.now() + 1000;
    const [later] = fulfilled(
      await scheduler.run([startingAfter(clock, wait, () => rig.deploy({ name: "later" }))]),
    );
    expect(later!.report.exitCode).toBe(0);
    expect(rig.sim.describe().taskDefinition).toBe(later!.report.taskDefinition);
  });

  it("--force removes its claim and deploys, saying whose claim it removed", async () => {
    const { clock } = await virtualRig();
    const scheduler = new Scheduler(rig.sim, clock);
    const holder = await crashedHolder(scheduler);
    const [forced] = fulfilled(await scheduler.run([() => rig.deploy({ name: "forced", force: true })]));
    expect(forced!.report.exitCode).toBe(0);
    expect(forced!.report.warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^--force removed the claim of deploy run ${holder.run} \\(commit dead000`),
      ),
    ]);
    expect(claimsLeft(rig.sim)).toEqual([]);
  });
});

describe("a rollback and a deploy", () => {
  /** A first deploy, so that the service has a last good revision and one before it. */
  async function deployedOnce(scheduler: Scheduler) {
    const [first] = fulfilled(await scheduler.run([() => rig.deploy({ name: "first", commit: "f1257f1" })]));
    expect(first!.report.exitCode).toBe(0);
    return first!.report.taskDefinition!;
  }

  it.each([1, 2, 3])(
    "started together (interleaving %i): the rollback goes first, the deploy gives way naming it",
    async (seed) => {
      const { clock } = await virtualRig();
      const scheduler = new Scheduler(rig.sim, clock, { random: seeded(seed) });
      await deployedOnce(scheduler);
      const [deploy, rollback] = fulfilled(
        await scheduler.run([
          () => rig.deploy({ name: "deploy", commit: "c0ffee0", image: digest("c") }),
          () => rig.run("rollback", { env: "staging" }, { name: "rollback" }),
        ]),
      );
      expect(rollback!.report.exitCode).toBe(0);
      expect(rig.sim.describe().taskDefinition).toBe(rig.v1);
      expectGaveWay(deploy!.report, {
        run: lockRunOf(rig.sim, rollback!.key),
        command: "rollback",
        commit: "unknown",
      });
      expect(deploy!.report.reason).toContain("(a rollback goes first)");
      expect(changesBy(rig.sim.calls, deploy!.key)).toEqual([]);
      expect(claimsLeft(rig.sim)).toEqual([]);
    },
  );

  it("a rollback while a deploy holds the service gives up (exit 2) naming the deploy, which finishes", async () => {
    const { clock } = await virtualRig();
    const scheduler = new Scheduler(rig.sim, clock);
    await deployedOnce(scheduler);
    const [deploy, rollback] = fulfilled(
      await scheduler.run([
        () => rig.deploy({ name: "deploy", commit: "c0ffee0", image: digest("c") }),
        startingAfter(clock, 10_000, () => rig.run("rollback", { env: "staging" }, { name: "rollback" })),
      ]),
    );
    expect(deploy!.report.exitCode).toBe(0);
    expectGaveWay(rollback!.report, {
      run: lockRunOf(rig.sim, deploy!.key),
      command: "deploy",
      commit: "c0ffee0",
    });
    expect(rollback!.report.reason).toContain("(it holds the service)");
    expect(rollback!.report.nextSteps).toEqual([
      "npx shipyard status --env staging",
      "npx shipyard rollback --env staging --force   # only if that run is dead",
    ]);
    expect(changesBy(rig.sim.calls, rollback!.key)).toEqual([]);
    expect(rig.sim.describe().taskDefinition).toBe(deploy!.report.taskDefinition);
  });
});

/** A TagResource that marks a lock claim held. */
function heldClaim(call: RecordedCall): boolean {
  const tags = (call.input.tags as Array<{ key: string; value: string }> | undefined) ?? [];
  return (
    call.operation === "TagResource" &&
    tags.some((tag) => tag.key.startsWith("shipyard:lock:") && tag.value.includes(" state=held "))
  );
}

describe("randomised interleavings", () => {
  const ROUNDS = 80;

  it(`${ROUNDS} seeded rounds of two or three runs: never more than one UpdateService, the others exit 2`, async () => {
    for (let seed = 1; seed <= ROUNDS; seed++) {
      const random = seeded(seed);
      const clock = new VirtualClock();
      rig = await startRig(clock, { config: configText({ pollSeconds: 5 }) });
      const scheduler = new Scheduler(rig.sim, clock, {
        random,
        // Requests and responses take 0-2 s each, and now and then a registration takes 20 s.
        latency: (call) =>
          call.operation === "RegisterTaskDefinition" && random() < 0.2
            ? 20_000
            : Math.floor(random() * 3) * 1000,
      });
      // A round with a rollback needs a last good revision to return to.
      const withRollback = random() < 0.5;
      if (withRollback) await scheduler.run([() => rig.deploy({ name: `first${seed}`, image: digest("f") })]);
      const before = rig.sim.calls.length;
      const starts = [
        () => rig.deploy({ name: `one${seed}`, commit: "0000001", image: digest("1") }),
        () => rig.deploy({ name: `two${seed}`, commit: "0000002", image: digest("2") }),
        ...(withRollback ? [() => rig.run("rollback", { env: "staging" }, { name: `back${seed}` })] : []),
      ].map((start) => startingAfter(clock, Math.floor(random() * 6) * 1000, start));
      const runs = fulfilled(await scheduler.run(starts));
      const round = rig.sim.calls.slice(before);
      const context = `seed ${seed}: ${runs.map((run) => `${run.report.exitCode} ${run.report.reason ?? ""}`).join(" | ")}`;
      // The lock itself: one run marked its claim held; one UpdateService.
      expect(
        round.filter(heldClaim).map((call) => call.caller),
        context,
      ).toHaveLength(1);
      expect(
        round.filter((call) => call.operation === "UpdateService"),
        context,
      ).toHaveLength(1);
      const winners = runs.filter((run) => run.report.exitCode === 0);
      expect(winners, context).toHaveLength(1);
      for (const loser of runs.filter((run) => run.report.exitCode !== 0)) {
        expect(loser.report.exitCode, context).toBe(2);
        expect(loser.report.reason, context).toMatch(
          new RegExp(`^web is held by (deploy|rollback) run r\\w+ \\(commit \\w+, by ci, started ${ISO}`),
        );
        expect(changesBy(round, loser.key), context).toEqual([]);
      }
      expect(rig.sim.describe().taskDefinition, context).toBe(winners[0]!.report.taskDefinition);
      expect(claimsLeft(rig.sim), context).toEqual([]);
      await rig.stop();
    }
  }, 120_000);
});
