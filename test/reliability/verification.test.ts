/**
 * What a deploy's verdict rests on. Thirty seconds of ECS throttling in the middle of a rollout is
 * "no news", not a failure, and the polls keep their cadence; the report says which checks ran and
 * the summary says "ECS only" when nothing else did; the error-rate gate counts only the release it
 * asked about when Sentry's answer is grouped by release as well as by status.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import { SentryClient } from "../../src/verify/sentry-api.js";
import { FakeClock } from "../support/clock.js";
import { configText, NEW_IMAGE, startWorld, type World } from "../support/world.js";
import { runCliIn } from "./support/cli.js";
import { expectNoSecrets, PLANTED } from "./support/secrets.js";

let h: World | undefined;
let health: Server | undefined;
let sentry: SentrySim | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await new Promise((resolve) => (health ? health.close(resolve) : resolve(undefined)));
  health = undefined;
  await sentry?.close();
  sentry = undefined;
});

const DEPLOY = ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"];
const POLL_MS = 5000;

describe("30 s of ThrottlingException in the middle of a rollout", () => {
  it("is no news: the deploy succeeds, the polls keep their cadence, one warning", async () => {
    h = await startWorld({ config: configText({ pollSeconds: POLL_MS / 1000 }) });
    const world = h;
    world.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    let update = 0;
    world.sim.onCall = (call) => {
      if (call.operation === "UpdateService") {
        update = world.clock.now();
        world.sim.faultWindow(
          "DescribeServices",
          "ThrottlingException",
          400,
          update + 10_000,
          update + 40_000,
        );
      }
    };
    const result = await runCliIn(world, DEPLOY, { env: { ...PLANTED } });
    const report = JSON.parse(result.stdout);
    expect(result.code).toBe(0);
    expect(report).toMatchObject({ outcome: "succeeded", exitCode: 0 });
    expect(world.sim.callsTo("UpdateService")).toHaveLength(1);

    const reads = world.sim.callsTo("DescribeServices").filter((call) => call.atMs > update);
    const throttled = reads.filter((call) => call.fault === "ThrottlingException");
    // Six polls fall in the window, each throttled once and not retried inside the SDK.
    expect(throttled.map((call) => call.atMs - update)).toEqual([
      10_000, 15_000, 20_000, 25_000, 30_000, 35_000,
    ]);
    const gaps = reads.slice(1).map((call, i) => call.atMs - reads[i]!.atMs);
    expect(Math.max(...gaps)).toBe(POLL_MS);
    expect(result.stderr.match(/no news from ECS \(ThrottlingException/g)).toHaveLength(1);
    expectNoSecrets({ stdout: result.stdout, stderr: result.stderr, "step summary": result.summary });
  });
});

describe("which checks ran", () => {
  it("ECS alone: the report says smoke and gate were not configured, the summaries say ECS only", async () => {
    h = await startWorld();
    const result = await runCliIn(h, DEPLOY);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).checks).toEqual({
      ecs: "passed",
      smoke: "not-configured",
      gate: "not-configured",
    });
    expect(result.stderr).toMatch(/^ {2}verified: ECS only$/m);
    expect(result.summary).toContain("**Verified by:** ECS only");
  });

  it("ECS and a smoke test: both named; the gate not configured", async () => {
    health = createServer((_request, response) => response.writeHead(200).end("ok"));
    await new Promise<void>((resolve) => health!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
    h = await startWorld({ config: configText({}, { healthCheck: { url, intervalSeconds: 1 } }) });
    const result = await runCliIn(h, DEPLOY);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).checks).toEqual({
      ecs: "passed",
      smoke: "passed",
      gate: "not-configured",
    });
    expect(result.stderr).toMatch(/^ {2}verified: ECS and smoke test$/m);
    expect(result.summary).toContain("**Verified by:** ECS and smoke test");
  });
  it("ECS, a smoke test and the error-rate gate: all three named", async () => {
    health = createServer((_request, response) => response.writeHead(200).end("ok"));
    await new Promise<void>((resolve) => health!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
    h = await startWorld({
      sentry: true,
      config: configText(
        {},
        { healthCheck: { url, intervalSeconds: 1 }, sentry: { org: "acme", project: "app" } },
      ),
    });
    const now = h.clock.now();
    const traffic = { environment: "staging", ratePerSecond: 20, errorRate: 0.005 };
    h.sentry!.addTraffic({ ...traffic, release: "v1", startAt: now - 7_200_000, endAt: now });
    h.sentry!.addTraffic({ ...traffic, release: "v2", startAt: now });
    // sentry-cli runs in the app's folder: a real one.
    const appRoot = await mkdtemp(join(tmpdir(), "shipyard-checks-"));
    try {
      const result = await runCliIn(h, [...DEPLOY, "--release", "v2"], {
        overrides: { files: { ...h.files, root: appRoot } },
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).checks).toEqual({ ecs: "passed", smoke: "passed", gate: "passed" });
      expect(result.stderr).toMatch(/^ {2}verified: ECS, smoke test and error-rate gate$/m);
      expect(result.summary).toContain("**Verified by:** ECS, smoke test and error-rate gate");
    } finally {
      await rm(appRoot, { recursive: true, force: true });
    }
  });
});

describe("a Sentry answer grouped by release as well as by status", () => {
  it("only the release asked about is counted", async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 27, 12, 40, 0));
    sentry = await startSentrySim({ clock });
    const group = (release: string, status: string, sessions: number) => ({
      by: { release, "session.status": status },
      totals: { "sum(session)": sessions },
    });
    const answer = {
      groups: [
        group("v2", "healthy", 900),
        group("v1", "errored", 5000),
        group("v2", "errored", 100),
        group("v1", "healthy", 10),
      ],
    };
    sentry.fault({
      match: "/sessions/",
      status: 200,
      body: JSON.stringify(answer),
      contentType: "application/json",
      times: 2,
    });
    const client = new SentryClient({ baseUrl: sentry.url, token: SIM_TOKEN, org: "acme", clock });
    const query = (release: string) => ({
      projectId: "4501",
      release,
      environment: "staging",
      start: new Date(clock.now() - 600_000),
      end: new Date(clock.now()),
      deadline: clock.now() + 300_000,
    });
    expect(await client.releaseHealth(query("v2"))).toEqual({
      ok: true,
      value: { total: 1000, errored: 100, byStatus: { healthy: 900, errored: 100 } },
    });
    expect(await client.releaseHealth(query("v1"))).toEqual({
      ok: true,
      value: { total: 5010, errored: 5000, byStatus: { healthy: 10, errored: 5000 } },
    });
  });
});
