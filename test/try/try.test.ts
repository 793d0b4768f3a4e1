/**
 * `shipyard try`: two real deploys of the example app against the local emulators, on a fake clock
 * (the emulated five-minute gate passes in milliseconds). The deploys must end as the demonstration
 * says (one verified, one rolled back), print exactly what a deploy prints, say that everything is
 * local, refuse a bad --speed without starting anything, stop cleanly on Ctrl-C, and deploy the
 * example app's own staging configuration.
 */
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { EXAMPLE, SCENARIOS } from "../../src/emulator/example.js";
import type { Report } from "../../src/report/report.js";
import { startWorld, type World } from "../support/world.js";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

async function tryIt(argv: string[] = []) {
  world = await startWorld();
  return world.cli(["try", "--json", ...argv]);
}

describe("shipyard try", () => {
  it("verifies a healthy release, then catches and rolls back one whose error rate spikes", async () => {
    const { code, stdout, stderr } = await tryIt();
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report).toMatchObject({ command: "try", outcome: "succeeded", exitCode: 0 });
    expect(report.details).toMatchObject({
      emulated: true,
      speed: 20,
      runningRelease: "v1.5.0",
      deploys: [
        {
          release: "v1.5.0",
          outcome: "succeeded",
          exitCode: 0,
          checks: { ecs: "passed", smoke: "passed", gate: "passed" },
        },
        { release: "v1.6.0", outcome: "rolled_back", exitCode: 1, checks: { gate: "failed" } },
      ],
    });
    // The deploys' own output, word for word as against AWS: steps, rollout, gate, restore, summaries.
    expect(stderr).toContain("LOCAL EMULATORS, not AWS and not Sentry");
    expect(stderr).toMatch(/Registered shipyard-example-staging:2\./);
    expect(stderr).toMatch(/error-rate gate passed: .*passed early/);
    expect(stderr).toMatch(/error-rate gate failed: .*Restoring shipyard-example-staging:2\./);
    expect(stderr).toContain("shipyard deploy staging: succeeded (exit 0: done and verified");
    expect(stderr).toContain("shipyard deploy staging: failed and was rolled back (exit 1");
    expect(stderr).toContain("Recorded in Sentry: staging is back on release v1.5.0 (rollback of v1.6.0).");
    // Recovery lines name the environment, as they would against AWS.
    expect(stderr).toMatch(/next:\n\s+(\S+ )?shipyard status --env staging/);
  });

  it("touches nothing outside this process: no AWS endpoint and no network in the environment it uses", async () => {
    const { code, stderr } = await tryIt();
    expect(code).toBe(0);
    expect(stderr).toMatch(/ECS endpoint:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toMatch(/Sentry endpoint:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).not.toMatch(/amazonaws\.com(?!.*console)/);
    expect(stderr).not.toContain("could not reach");
  });

  it.each([["0"], ["1001"], ["fast"], ["-3"]])(
    "refuses --speed %s with exit 2 before starting anything",
    async (speed) => {
      const { code, stdout, stderr } = await tryIt(["--speed", speed]);
      expect(code).toBe(2);
      expect(stderr).toContain("--speed");
      expect(stderr).not.toContain("LOCAL EMULATORS");
      expect(JSON.parse(stdout)).toMatchObject({ command: "try", exitCode: 2 });
    },
  );

  it("stops on Ctrl-C in the middle of a deploy: exit 3, emulators stopped, the deploy's own report printed", async () => {
    world = await startWorld();
    const started = world.clock.now();
    const controller = world.controller;
    // One emulated minute at 20x is three seconds of the fake clock: the first deploy's rollout.
    world.clock.onAdvance((now) => {
      if (now - started > 3_000 && !controller.signal.aborted) controller.abort(new Error("SIGINT"));
    });
    const { code, stdout, stderr } = await world.cli(["try", "--json"]);
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toMatchObject({
      command: "try",
      reason: "interrupted; the emulators were stopped",
    });
    expect(stderr).toMatch(/shipyard deploy staging: failed/);
    expect(stderr).not.toMatch(/^2\/2 A release/m);
  });

  it("deploys the example app's own staging configuration", async () => {
    const example = JSON.parse(await readFile("examples/app/shipyard.json", "utf8"));
    const staging = structuredClone(example.environments.staging);
    // The one difference, said in example.ts: an installed package has no migrations folder to lint.
    staging.migrations.lint = false;
    expect(EXAMPLE.config.environments.staging).toEqual(staging);
    expect(EXAMPLE.config.image).toBe(example.image);
    expect(SCENARIOS.map((s) => s.expect)).toEqual(["succeeded", "rolled_back"]);
  });
});
