/**
 * The deploy's smoke and Sentry release steps (src/commands/deploy-steps.ts) outside a deploy: the
 * smoke step against a closed port, and the release and rollback records made by the REAL sentry-cli
 * against the Sentry simulator.
 */
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EnvironmentContext } from "../../src/commands/context.js";
import { deploySteps } from "../../src/commands/deploy-steps.js";
import { type SentrySim, startSentrySim } from "../../src/emulator/sentry.js";
import { FakeClock } from "../support/clock.js";
import { deployStep, type StepOptions, stepContext, T0, tempAppRoot } from "./step-context.js";

const appRoot = tempAppRoot();
afterAll(() => rmSync(appRoot, { recursive: true, force: true }));

let clock: FakeClock;
let sim: SentrySim;
beforeEach(async () => {
  clock = new FakeClock(T0);
  sim = await startSentrySim({ clock });
});
afterEach(async () => {
  await sim.close();
});

const context = (options: StepOptions = {}) => stepContext(sim, clock, appRoot, options);

describe("smoke and bookkeeping steps", () => {
  it("skips the smoke test without a healthCheck, and fails on an unreachable one", async () => {
    const smoke = deployStep("smoke test");
    expect((await smoke.run(context().ctx)).status).toBe("passed");
    // The simulator's port, once closed, refuses connections.
    const closedUrl = sim.url;
    await sim.close();
    sim = await startSentrySim({ clock });
    const { ctx } = context({ healthCheck: { url: `${closedUrl}/health`, budgetSeconds: 5 } });
    const verdict = await smoke.run(ctx);
    expect(verdict.status).toBe("failed");
    if (verdict.status === "failed")
      expect(verdict.reason).toContain(`connection refused at ${closedUrl}/health`);
    expect(verdict.section).toMatchObject({ smoke: { passed: false, url: `${closedUrl}/health` } });
  });

  it("records the release with the real sentry-cli and, after a rollback, the return to the previous release", async () => {
    const bookkeeping = deployStep("Sentry release");
    const { ctx, progress } = context({ sentry: { org: "acme", project: "app" } });
    const verdict = await bookkeeping.run(ctx);
    expect(verdict.status).toBe("passed");
    expect(sim.deploys.map((d) => d.release)).toEqual(["v2"]);
    await bookkeeping.afterRollback!(ctx, "error-rate gate failed");
    expect(sim.deploys.at(-1)).toEqual({
      release: "v1",
      environment: "production",
      name: "shipyard rollback of v2",
    });
    expect(progress.lines.some((l) => l.includes("back on release v1 (rollback of v2)"))).toBe(true);
  });

  it("bookkeeping failures pass the step with warnings in the report", async () => {
    sim.fault({ match: "/releases/", status: 500, body: "{}", times: Number.POSITIVE_INFINITY });
    const bookkeeping = deployStep("Sentry release");
    const { ctx } = context({ sentry: { org: "acme", project: "app", environment: "prod-eu" } });
    const verdict = await bookkeeping.run(ctx);
    expect(verdict.status).toBe("passed");
    expect(verdict.section).toMatchObject({ sentryRelease: { ok: false } });
  });

  it("a rollback without a previous release is not recorded, with a warning", async () => {
    const bookkeeping = deployStep("Sentry release");
    const { ctx, progress } = context({ sentry: { org: "acme", project: "app" }, previousRelease: null });
    await bookkeeping.afterRollback!(ctx, "smoke test failed");
    expect(sim.calls).toHaveLength(0);
    expect(progress.lines.join("\n")).toContain("not recorded in Sentry");
  });
});

describe("the deploy's steps", () => {
  it("run the registry preflight, the Sentry preflight and the lint before registering, migrations before the update; smoke, release record and gate after", () => {
    const steps = deploySteps({ runtime: {} } as unknown as EnvironmentContext);
    expect(steps.beforeRegister?.map((s) => [s.name, s.section])).toEqual([
      ["image in registry", "verification"],
      ["Sentry preflight", "verification"],
      ["migration lint", "migration"],
    ]);
    expect(steps.beforeUpdate.map((s) => [s.name, s.section])).toEqual([["migrate", "migration"]]);
    expect(steps.afterRollout.map((s) => [s.name, s.section, s.check])).toEqual([
      ["smoke test", "verification", "smoke"],
      ["Sentry release", "verification", undefined],
      ["error-rate gate", "verification", "gate"],
    ]);
  });
});
