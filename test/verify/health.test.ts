/**
 * Release health from Sentry, as the deploy runs it (src/verify/health.ts through the deploy's
 * "error-rate gate" and "Sentry preflight" steps), against the Sentry simulator on a fake clock: the
 * scenarios of issue 6 (healthy, 5% bad, catastrophic, thin traffic, baseline worse than new, 401,
 * 429, 500, HTML, empty body, slow ingestion) and the preflight before UpdateService.
 */
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SentrySim, SIM_TOKEN, startSentrySim, type TrafficModel } from "../../src/emulator/sentry.js";
import type { Verdict } from "../../src/report/verdict.js";
import { FakeClock } from "../support/clock.js";
import {
  traffic as addTraffic,
  deployStep,
  type StepOptions,
  stepContext,
  T0,
  tempAppRoot,
} from "./step-context.js";

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
const traffic = (newRelease: Partial<TrafficModel>, previous: Partial<TrafficModel> = {}) =>
  addTraffic(sim, newRelease, previous);

const gate = () => deployStep("error-rate gate");
const gateReport = (verdict: Verdict) => (verdict.section as { gate: Record<string, unknown> }).gate;

describe("error-rate gate scenarios", () => {
  it("healthy release at 20 req/s: passes early, after the minimum watch time", async () => {
    traffic({});
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("passed");
    expect(clock.now() - T0).toBe(60_000);
    const report = gateReport(verdict);
    expect(report).toMatchObject({
      decision: "pass",
      release: "v2",
      previousRelease: "v1",
      baselineUsable: true,
      lastReading: "healthy",
      ended: { how: "early-pass", afterSeconds: 60 },
    });
    expect(report.sample).toMatchObject({ total: 2400 });
    expect(report.baselineSample).toMatchObject({ total: 72_000, errored: 360 });
    expect(report.why).toContain("within what is allowed");
  });

  it("5% bad release: fails after consecutive breaches, well inside the window", async () => {
    traffic({ errorRate: 0.05 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    if (verdict.status !== "failed") return;
    expect(verdict.reason).toMatch(/failed \(5\.0%.*breaching readings in a row|catastrophic/);
    expect(clock.now() - T0).toBeLessThan(60_000);
  });

  it("catastrophic release: fails on the first reading", async () => {
    traffic({ errorRate: 0.5 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    expect(clock.now()).toBe(T0);
    expect(gateReport(verdict)).toMatchObject({ decision: "fail", lastReading: "catastrophic", readings: 1 });
  });

  it("healthy release with early passes off: passes after watching the whole window", async () => {
    traffic({});
    const { ctx } = context({ verify: { minWatchSeconds: 300 } });
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("passed");
    expect(clock.now() - T0).toBe(300_000);
    expect(gateReport(verdict)).toMatchObject({ ended: { how: "window-end" }, sample: { total: 7200 } });
  });

  it("thin traffic: inconclusive, never a pass", async () => {
    traffic({ ratePerSecond: 0.1 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("inconclusive");
    if (verdict.status !== "inconclusive") return;
    expect(verdict.reason).toContain("too little traffic to judge the release");
    expect(clock.now() - T0).toBe(300_000);
  });

  it("baseline worse than the new release: passes", async () => {
    traffic({ errorRate: 0.03 }, { errorRate: 0.05 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("passed");
  });

  it("first release (no previous release): judged against the fixed limit", async () => {
    traffic({ errorRate: 0.01 });
    const { ctx } = context({ previousRelease: null });
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("passed");
    expect(gateReport(verdict)).toMatchObject({ baselineUsable: false, allowedErrorRate: 0.05 });
  });

  it("401: inconclusive at once, saying what the token needs", async () => {
    traffic({});
    sim.fault({ match: "/projects/", status: 401, body: '{"detail":"Invalid token"}' });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict).toMatchObject({ status: "inconclusive" });
    if (verdict.status !== "inconclusive") return;
    expect(verdict.reason).toMatch(/401.*SENTRY_AUTH_TOKEN.*org:read and project:read/);
    expect(clock.now()).toBe(T0);
  });

  it("403 on the sessions endpoint: inconclusive at once, naming the scopes", async () => {
    traffic({});
    sim.fault({ match: "/sessions/", status: 403, body: "{}", times: Number.POSITIVE_INFINITY });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("inconclusive");
    if (verdict.status === "inconclusive")
      expect(verdict.reason).toContain("lacks the scopes org:read and project:read");
  });

  it("429 with Retry-After: waits and carries on", async () => {
    traffic({ errorRate: 0.5 });
    sim.fault({ match: "/sessions/", status: 429, body: "{}", headers: { "retry-after": "2" }, times: 1 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    expect(clock.now() - T0).toBe(2000);
  });

  it("500 for a while: readings resume and the release is judged", async () => {
    traffic({ errorRate: 0.5 });
    sim.fault({ match: "/sessions/", status: 500, body: "{}", times: 3 });
    const { ctx, progress } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    expect(gateReport(verdict)).toMatchObject({ unavailableReads: 3 });
    expect(progress.lines.filter((l) => l.includes("answered 500"))).toHaveLength(3);
  });

  it("a transient error looking up the project is retried like any reading", async () => {
    traffic({ errorRate: 0.5 });
    sim.fault({ match: "/projects/", status: 503, body: "{}", times: 2 });
    const { ctx } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    expect(gateReport(verdict)).toMatchObject({ unavailableReads: 2 });
    expect(clock.now() - T0).toBe(10_000);
  });

  for (const [name, fault, says] of [
    ["500 all window", { status: 500, body: "{}" }, "answered 500"],
    [
      "an HTML page",
      { status: 200, body: "<html><body>Login</body></html>", contentType: "text/html" },
      "HTML page, not JSON",
    ],
    ["an empty body", { status: 200, body: "" }, "empty body"],
  ] as const) {
    it(`${name}: inconclusive when the window ends, with the source problem`, async () => {
      traffic({});
      sim.fault({ match: "/sessions/", times: Number.POSITIVE_INFINITY, ...fault });
      const { ctx } = context();
      const verdict = await gate().run(ctx);
      expect(verdict.status).toBe("inconclusive");
      if (verdict.status === "inconclusive") expect(verdict.reason).toContain(says);
      expect(clock.now() - T0).toBe(300_000);
    });
  }

  it("slow ingestion: waits for the data, then judges", async () => {
    traffic({ errorRate: 0.5, ingestionDelayMs: 90_000 });
    const { ctx, progress } = context();
    const verdict = await gate().run(ctx);
    expect(verdict.status).toBe("failed");
    // Data from the rollout becomes visible 30 s into the window; 10 requests are enough to judge.
    expect(clock.now() - T0).toBe(35_000);
    expect(progress.lines.some((l) => l.includes("only 0 requests so far"))).toBe(true);
  });

  it("slow ingestion of a healthy release passes", async () => {
    traffic({ ingestionDelayMs: 120_000 });
    const { ctx } = context();
    expect((await gate().run(ctx)).status).toBe("passed");
  });

  it("no token: inconclusive, saying which variable to set", async () => {
    const { ctx } = context({ env: { SENTRY_URL: sim.url } });
    const verdict = await gate().run(ctx);
    expect(verdict).toMatchObject({ status: "inconclusive" });
    if (verdict.status === "inconclusive") expect(verdict.reason).toContain("SENTRY_AUTH_TOKEN is not set");
    expect(sim.calls).toHaveLength(0);
  });

  it("without sentry in shipyard.json the gate is not configured and passes, saying so", async () => {
    const { ctx } = context({ sentry: null });
    expect(await gate().run(ctx)).toMatchObject({
      status: "passed",
      summary: expect.stringContaining("not configured"),
    });
  });

  it("never puts the token in progress or the report", async () => {
    traffic({ errorRate: 0.05 });
    sim.fault({ match: "/sessions/", status: 401, body: "{}" });
    const { ctx, progress } = context();
    const verdict = await gate().run(ctx);
    expect(JSON.stringify(verdict) + progress.lines.join("\n")).not.toContain(SIM_TOKEN);
  });
});

describe("preflight before UpdateService", () => {
  const preflight = deployStep("Sentry preflight");

  it("passes when the token is accepted and the project exists", async () => {
    expect(await preflight.run(context().ctx)).toMatchObject({
      status: "passed",
      summary: "Sentry project acme/app is readable",
    });
  });

  it("fails without a token, saying nothing was changed", async () => {
    const verdict = await preflight.run(context({ env: { SENTRY_URL: sim.url } }).ctx);
    expect(verdict.status).toBe("failed");
    if (verdict.status === "failed")
      expect(verdict.reason).toMatch(/SENTRY_AUTH_TOKEN is not set.*; nothing was changed$/);
  });

  it("fails on a rejected token or an unknown project", async () => {
    sim.fault({ match: "/projects/", status: 401, body: "{}" });
    expect((await preflight.run(context().ctx)).status).toBe("failed");
    const verdict = await preflight.run(context({ sentry: { org: "acme", project: "nope" } }).ctx);
    expect(verdict.status).toBe("failed");
    if (verdict.status === "failed") expect(verdict.reason).toContain("404");
  });

  it("passes with a warning on a transient error (the window retries)", async () => {
    sim.fault({ match: "/projects/", status: 503, body: "{}" });
    const { ctx, progress } = context();
    expect((await preflight.run(ctx)).status).toBe("passed");
    expect(progress.lines.join("\n")).toContain("will retry during its window");
  });

  it("only warns with onInconclusive=accept, and passes without sentry", async () => {
    const { ctx, progress } = context({ env: { SENTRY_URL: sim.url }, verify: { onInconclusive: "accept" } });
    expect((await preflight.run(ctx)).status).toBe("passed");
    expect(progress.lines.join("\n")).toContain('going on because verify.onInconclusive = "accept"');
    expect((await preflight.run(context({ sentry: null }).ctx)).status).toBe("passed");
  });
});
