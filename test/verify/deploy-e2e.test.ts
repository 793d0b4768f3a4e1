/**
 * End to end through the real deploy controller: the ECS simulator (real AWS SDK) and the Sentry
 * simulator (real sentry-cli and our client) share one fake clock. A release that fails in Sentry is
 * rolled back by the controller and the rollback is recorded in Sentry; a healthy one stays.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SentrySim, SIM_TOKEN } from "../../src/emulator/sentry.js";
import { ExitCode } from "../../src/errors.js";
import { reportToMarkdown } from "../../src/report/markdown.js";
import { configText, startWorld, type World } from "../support/world.js";

/** A real folder for the app (sentry-cli runs in it), outside any git checkout. */
const appRoot = mkdtempSync(join(tmpdir(), "shipyard-deploy-e2e-"));
afterAll(() => rmSync(appRoot, { recursive: true, force: true }));

let h: World;
let sentry: SentrySim;

beforeEach(async () => {
  h = await startWorld({ sentry: true });
  sentry = h.sentry!;
});
afterEach(async () => {
  await h.stop();
});

function deploy(
  newErrorRate: number,
  verify: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  extra: Record<string, unknown> = {},
) {
  const now = h.clock.now();
  sentry.addTraffic({
    release: "v1",
    environment: "staging",
    startAt: now - 7_200_000,
    endAt: now,
    ratePerSecond: 20,
    errorRate: 0.005,
  });
  sentry.addTraffic({
    release: "v2",
    environment: "staging",
    startAt: now,
    ratePerSecond: 20,
    errorRate: newErrorRate,
  });
  h.setConfig(configText({}, { sentry: { org: "acme", project: "app" }, verify, ...extra }));
  // The deploy's real steps (Sentry preflight, migrate, smoke test, Sentry release, error-rate gate).
  return h.deploy({}, { env: { ...h.env, ...env }, files: { ...h.files, root: appRoot } });
}

const runningTaskDefinition = () => (h.sim.describe() as { taskDefinition: string }).taskDefinition;

describe("deploy with verification", () => {
  it("a release failing half its requests is rolled back, and Sentry records the return to v1", async () => {
    const report = await deploy(0.5);
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(ExitCode.RolledBack);
    expect(report.reason).toMatch(/^error-rate gate failed: .*catastrophic/);
    expect(report.verification).toMatchObject({
      gate: { decision: "fail", release: "v2", previousRelease: "v1", lastReading: "catastrophic" },
      sentryRelease: { steps: expect.any(Array) },
    });
    expect(runningTaskDefinition()).toBe(h.v1);
    expect(reportToMarkdown(report)).toContain("**Gate:** failed after 0 s: catastrophic failure rate");
    expect(sentry.deploys.map((d) => `${d.release}:${d.name}`)).toEqual([
      "v2:shipyard deploy v2",
      "v1:shipyard rollback of v2",
    ]);
  });

  it("a healthy release stays, with the gate's numbers and its early pass in the report", async () => {
    const report = await deploy(0.005);
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(ExitCode.Success);
    expect(report.verification).toMatchObject({
      gate: {
        decision: "pass",
        baselineUsable: true,
        windowSeconds: 300,
        ended: { how: "early-pass", afterSeconds: 60 },
      },
    });
    expect(report.timings.phases.find((p) => p.name === "afterRollout")?.seconds).toBe(60);
    expect(reportToMarkdown(report)).toMatch(
      /\*\*Gate:\*\* passed early after 60 s of the 300 s window: failure rate at most [\d.]+% \(anytime 99% bound, \d+ requests\), below the allowed [\d.]+%/,
    );
    expect(runningTaskDefinition()).not.toBe(h.v1);
    expect(sentry.deploys.map((d) => d.release)).toEqual(["v2"]);
  });

  it("an unreadable Sentry rolls back by default (inconclusive is never a pass)", async () => {
    sentry.fault({
      match: "/sessions/",
      status: 502,
      body: "<html>bad gateway</html>",
      contentType: "text/html",
      times: Number.POSITIVE_INFINITY,
    });
    const report = await deploy(0);
    expect(report.outcome).toBe("rolled_back");
    expect(report.reason).toMatch(/error-rate gate was inconclusive: .*answered 502/);
    expect(runningTaskDefinition()).toBe(h.v1);
  });

  it("with onInconclusive=accept the release stays, with a warning", async () => {
    sentry.fault({ match: "/sessions/", status: 500, body: "{}", times: Number.POSITIVE_INFINITY });
    const report = await deploy(0, { onInconclusive: "accept", windowSeconds: 30 });
    expect(report.outcome).toBe("succeeded");
    expect(JSON.stringify(report)).toContain("accepted");
    expect(JSON.stringify(report)).not.toContain(SIM_TOKEN);
  });

  it("a token Sentry rejects stops the deploy before the service changes", async () => {
    const report = await deploy(0, {}, { SENTRY_AUTH_TOKEN: "sntrys_revoked_token_1" });
    expect(report.outcome).toBe("failed");
    expect(report.exitCode).toBe(ExitCode.RolledBack);
    expect(report.reason).toMatch(/Sentry rejected the token \(401\).*nothing was changed/);
    expect(runningTaskDefinition()).toBe(h.v1);
    expect(h.sim.operations()).not.toContain("UpdateService");
    expect(JSON.stringify(report)).not.toContain("sntrys_revoked_token_1");
  });

  it("a health URL that keeps answering 503 fails the smoke test and the release is rolled back", async () => {
    const app = createServer((_req, res) => {
      res.writeHead(503);
      res.end("starting");
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
      const report = await deploy(0, {}, {}, { healthCheck: { url, budgetSeconds: 30 } });
      expect(report.outcome).toBe("rolled_back");
      expect(report.reason).toMatch(
        /^smoke test failed: \d+ of \d+ checks failed: status 503 \(expected 200\)/,
      );
      expect(report.verification).toMatchObject({ smoke: { passed: false, url } });
      expect(runningTaskDefinition()).toBe(h.v1);
      // The gate never ran: the smoke test decided.
      expect(sentry.calls.some((c) => c.path.endsWith("/sessions/"))).toBe(false);
    } finally {
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    }
  });
});
