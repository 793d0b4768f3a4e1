/**
 * `shipyard logs`: the running release's lines across its tasks, each prefixed with the task's short
 * id and the container; --since, --limit, --release, --json; --follow polls on the injected clock
 * until Ctrl-C ends it with exit 0; bad input is exit 2 before any AWS call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FOLLOW_POLL_MS } from "../../src/commands/logs.js";
import { OLD_IMAGE } from "../support/world.js";
import { type BalancedWorld, balancedWorld, LOG_GROUP, runLoggedRevision, runningTasks } from "./support.js";

let h: BalancedWorld | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function loggedWorld(): Promise<{ h: BalancedWorld; ids: [string, string] }> {
  const world = await balancedWorld();
  runLoggedRevision(world, OLD_IMAGE, "v1");
  const [a, b] = runningTasks(world).slice(-2);
  return { h: world, ids: [a!.id, b!.id] };
}

const stream = (taskId: string) => `web/app/${taskId}`;

describe("shipyard logs", () => {
  it("prints the running release's lines from every task, oldest first, prefixed with task and container", async () => {
    const world = await loggedWorld();
    h = world.h;
    const [a, b] = world.ids;
    const now = h.clock.now();
    h.sim.logs.put(LOG_GROUP, stream(a), ["too old"], now - 20 * 60_000);
    h.sim.logs.put(LOG_GROUP, stream(a), ["a: listening on :3000"], now - 60_000);
    h.sim.logs.put(LOG_GROUP, stream(b), ["b: listening on :3000"], now - 30_000);
    h.sim.logs.put(LOG_GROUP, stream(a), ["a: GET /health 200"], now - 1_000);
    const before = h.sim.calls.length;
    const result = await h.cli(["logs", "--env", "staging", "--since", "10m"]);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")).toEqual([
      `[${a.slice(0, 8)} app] ${new Date(now - 60_000).toISOString()} a: listening on :3000`,
      `[${b.slice(0, 8)} app] ${new Date(now - 30_000).toISOString()} b: listening on :3000`,
      `[${a.slice(0, 8)} app] ${new Date(now - 1_000).toISOString()} a: GET /health 200`,
    ]);
    expect(h.sim.calls.slice(before).map((c) => c.operation)).toEqual([
      "DescribeServices",
      "DescribeTaskDefinition",
      "ListTasks",
      "DescribeTasks",
      "FilterLogEvents",
    ]);
    expect(h.sim.callsTo("FilterLogEvents")[0]!.input).toMatchObject({
      logGroupName: LOG_GROUP,
      logStreamNames: [stream(a), stream(b)],
      startTime: now - 600_000,
    });
  });

  it("--limit keeps the newest lines; --json puts them in the report, the only thing on stdout", async () => {
    const world = await loggedWorld();
    h = world.h;
    const [a] = world.ids;
    h.sim.logs.put(LOG_GROUP, stream(a), ["one", "two", "three"], h.clock.now() - 5_000);
    const limited = await h.cli(["logs", "--env", "staging", "--limit", "2"]);
    expect(limited.stdout.split("\n").map((l) => l.split(" ").at(-1))).toEqual(["two", "three"]);
    const json = await h.cli(["logs", "--env", "staging", "--json"]);
    const report = JSON.parse(json.stdout) as { details: { log: Array<{ task: string; message: string }> } };
    expect(report.details.log.map((l) => [l.task, l.message])).toEqual([
      [a.slice(0, 8), "one"],
      [a.slice(0, 8), "two"],
      [a.slice(0, 8), "three"],
    ]);
  });

  it("--release reads a release the service no longer runs (its recently stopped tasks)", async () => {
    const world = await loggedWorld();
    h = world.h;
    const [a] = world.ids;
    h.sim.logs.put(LOG_GROUP, stream(a), ["from v1"], h.clock.now() - 1_000);
    expect((await h.deploy()).exitCode).toBe(0);
    expect(runningTasks(h).map((t) => t.id)).not.toContain(a);
    const result = await h.cli(["logs", "--env", "staging", "--release", "v1"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`[${a.slice(0, 8)} app]`);
    expect(result.stdout).toContain("from v1");
    expect(h.sim.callsTo("ListTasks").map((c) => c.input.desiredStatus)).toEqual(["RUNNING", "STOPPED"]);
  });

  it("--follow prints new lines once per poll until Ctrl-C, then exits 0", async () => {
    const world = await loggedWorld();
    h = world.h;
    const [a, b] = world.ids;
    const start = h.clock.now();
    h.sim.logs.put(LOG_GROUP, stream(a), ["first"], start - 1_000);
    let polls = 0;
    h.sim.onCall = (call) => {
      if (call.operation !== "FilterLogEvents") return;
      polls += 1;
      if (polls === 2) h!.sim.logs.put(LOG_GROUP, stream(b), ["second"], h!.clock.now());
      if (polls === 4) h!.controller.abort(new Error("SIGINT"));
    };
    const result = await h.cli(["logs", "--env", "staging", "--follow"]);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").map((l) => l.split(" ").at(-1))).toEqual(["first", "second"]);
    expect(result.stderr).toMatch(/Stopped following \(2 line\(s\)\)/);
    expect(result.stderr).toMatch(/exit 0/);
    const polled = h.sim.callsTo("FilterLogEvents").map((c) => c.atMs);
    expect(polled.slice(1).map((t, i) => t - polled[i]!)).toEqual([
      FOLLOW_POLL_MS,
      FOLLOW_POLL_MS,
      FOLLOW_POLL_MS,
    ]);
  });

  for (const [argv, problem] of [
    [["--since", "ten minutes"], /--since "ten minutes" is not a duration/],
    [["--limit", "0"], /--limit "0" is not a number of lines from 1 to 10000/],
  ] as const) {
    it(`refuses ${argv.join(" ")} with exit 2 and no AWS call`, async () => {
      h = await balancedWorld();
      const result = await h.cli(["logs", "--env", "staging", ...argv]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(problem);
      expect(h.sim.calls).toEqual([]);
    });
  }

  it("an unknown --release is exit 2 naming the command that lists releases", async () => {
    const world = await loggedWorld();
    h = world.h;
    const result = await h.cli(["logs", "--env", "staging", "--release", "nope"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Release "nope" is not run by main\/web/);
    expect(result.stderr).toContain("shipyard history --env staging");
    expect(h.sim.operations()).not.toContain("FilterLogEvents");
  });

  it("says so when the revision does not log with awslogs", async () => {
    h = await balancedWorld();
    const result = await h.cli(["logs", "--env", "staging"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/do not log to CloudWatch Logs with an awslogs-stream-prefix/);
    expect(result.stdout).toBe("");
  });
});

describe("shipyard logs without permission", () => {
  it("a denied FilterLogEvents is a refusal (exit 2), nothing changed", async () => {
    const world = await loggedWorld();
    h = world.h;
    h.sim.injectFault("FilterLogEvents", "AccessDeniedException", 400, 1);
    const result = await h.cli(["logs", "--env", "staging"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/AccessDeniedException/);
    expect(result.stdout).toBe("");
  });
});
