/**
 * `verify` as a command: through the command layer with releases read from the ECS simulator, and
 * the CLI (`shipyard verify`) in-process on real files and the real clock, with releases passed as
 * flags (no AWS call).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CliIO, runCli } from "../../bin/cli.js";
import { systemClock } from "../../src/clock.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import { ExitCode } from "../../src/errors.js";
import type { Report } from "../../src/report/report.js";
import { configText, startWorld, type World } from "../support/world.js";

let sentry: SentrySim | undefined;

/** verify --env staging with Sentry configured and no release: verify must find the release on ECS. */
async function sentryWorld(): Promise<World> {
  const world = await startWorld({ sentry: true });
  return world.setConfig(configText({}, { sentry: { org: "acme", project: "app" } }));
}
let h: World | undefined;
afterEach(async () => {
  await sentry?.close();
  await h?.stop();
  sentry = undefined;
  h = undefined;
});

describe("verify core with releases from ECS", () => {
  it("reads the running release and its predecessor from the task definitions, and judges now", async () => {
    h = await sentryWorld();
    const sim = h.sentry!;
    const v2 = h.sim.registerTaskDefinition(
      {
        family: "web",
        containerDefinitions: [
          { name: "app", image: "img", environment: [{ name: "SENTRY_RELEASE", value: "v2" }] },
        ],
      },
      [{ key: "shipyard:previous", value: h.v1 }],
    );
    h.sim.startDeployment("main", "web", v2, "healthy");
    await h.clock.sleep(600_000);
    const now = h.clock.now();
    sim.addTraffic({
      release: "v1",
      environment: "staging",
      startAt: now - 7_200_000,
      endAt: now - 1_800_000,
      ratePerSecond: 5,
      errorRate: 0.001,
    });
    sim.addTraffic({
      release: "v2",
      environment: "staging",
      startAt: now - 1_800_000,
      ratePerSecond: 5,
      errorRate: 0.2,
    });
    const report = await h.run("verify", { env: "staging" });
    expect(report).toMatchObject({
      command: "verify",
      outcome: "failed",
      exitCode: ExitCode.NeedsAttention,
      release: "v2",
      taskDefinition: v2,
      previousTaskDefinition: h.v1,
      verification: { smoke: { skipped: true }, gate: { decision: "fail", previousRelease: "v1" } },
    });
    expect(report.reason).toMatch(/^error-rate gate failed: /);
    expect(report.nextSteps).toContain("npx shipyard rollback --env staging");
  });

  it("--watch watches on the clock, as a deploy does, until the release is healthy beyond doubt", async () => {
    h = await sentryWorld();
    const sim = h.sentry!;
    const now = h.clock.now();
    sim.addTraffic({
      release: "v1",
      environment: "staging",
      startAt: now - 7_200_000,
      endAt: now,
      ratePerSecond: 5,
      errorRate: 0.01,
    });
    sim.addTraffic({
      release: "v2",
      environment: "staging",
      startAt: now,
      ratePerSecond: 5,
      errorRate: 0.01,
    });
    const report = await h.run("verify", {
      env: "staging",
      release: "v2",
      previousRelease: "v1",
      watch: true,
    });
    expect(report).toMatchObject({
      outcome: "succeeded",
      exitCode: 0,
      verification: { decision: "pass", gate: { windowSeconds: 300, ended: { how: "early-pass" } } },
    });
    // 5 req/s at 1% against a 1% baseline: conclusive after the minimum watch time, inside the window.
    const waited = h.clock.now() - now;
    expect(waited).toBeGreaterThanOrEqual(60_000);
    expect(waited).toBeLessThan(300_000);
    expect((report.verification as { gate: { decidedAfterSeconds: number } }).gate.decidedAfterSeconds).toBe(
      waited / 1000,
    );
    // Both releases were given: ECS was not asked.
    expect(h.sim.operations()).toEqual([]);
  });

  it("says what to do when the running task definition carries no SENTRY_RELEASE", async () => {
    h = await sentryWorld();
    const bare = h.sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: "img" }],
    });
    h.sim.startDeployment("main", "web", bare, "healthy");
    await h.clock.sleep(600_000);
    const report = await h.run("verify", { env: "staging" });
    expect(report).toMatchObject({ command: "verify", outcome: "failed", exitCode: ExitCode.BadInput });
    expect(report.reason).toMatch(/has no SENTRY_RELEASE on container "app"/);
  });
});

describe("shipyard verify (CLI)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "shipyard-verify-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(
    args: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env,
      cwd: dir,
      signal: new AbortController().signal,
      // Installed in the app's folder: next steps read `npx shipyard ...`.
      script: join(dir, "node_modules", ".bin", "shipyard"),
    };
    const code = await runCli(["verify", ...args], io);
    return { code, out, err };
  }

  async function setup(newErrorRate: number): Promise<NodeJS.ProcessEnv> {
    // The CLI runs on the real clock; the simulator's traffic is laid out around now.
    sentry = await startSentrySim({ clock: systemClock });
    const now = Date.now();
    sentry.addTraffic({
      release: "v1",
      environment: "production",
      startAt: now - 7_200_000,
      endAt: now - 1_800_000,
      ratePerSecond: 10,
      errorRate: 0.005,
    });
    sentry.addTraffic({
      release: "v2",
      environment: "production",
      startAt: now - 1_800_000,
      ratePerSecond: 10,
      errorRate: newErrorRate,
    });
    writeFileSync(
      join(dir, "shipyard.json"),
      JSON.stringify({
        image: "ghcr.io/acme/app",
        environments: {
          production: {
            region: "eu-west-1",
            cluster: "prod",
            service: "app",
            sentry: { org: "acme", project: "app" },
          },
        },
      }),
    );
    return { SENTRY_URL: sentry.url, SENTRY_AUTH_TOKEN: SIM_TOKEN };
  }

  it("exit 0 and a JSON report for a healthy release, without calling AWS", async () => {
    const env = await setup(0.004);
    const { code, out, err } = await cli(
      ["--env", "production", "--release", "v2", "--previous-release", "v1", "--json"],
      env,
    );
    expect(code).toBe(0);
    const report = JSON.parse(out.join("\n")) as Report;
    expect(report).toMatchObject({
      command: "verify",
      outcome: "succeeded",
      release: "v2",
      verification: { gate: { decision: "pass", ended: { how: "window-end" } } },
    });
    const gate = (report.verification as { gate: { ended: { summary: string } } }).gate;
    expect(gate.ended.summary).toMatch(/^pass on one reading, taken now \(\d+ requests\)$/);
    expect(err.join("\n")).toContain("shipyard verify production: succeeded");
    expect(err.join("\n") + out.join("\n")).not.toContain(SIM_TOKEN);
  });

  it("exit 3 with the reason and the rollback command for an unhealthy release", async () => {
    const env = await setup(0.05);
    const { code, err } = await cli(
      ["--env", "production", "--release", "v2", "--previous-release", "v1"],
      env,
    );
    expect(code).toBe(ExitCode.NeedsAttention);
    const text = err.join("\n");
    expect(text).toMatch(/why: +error-rate gate failed: \d+ of \d+ requests failed \(5\.0%/);
    expect(text).toContain("npx shipyard rollback --env production");
  });

  it("exit 3 and never a pass when Sentry rejects the token", async () => {
    const env = await setup(0);
    const { code, err } = await cli(["--env", "production", "--release", "v2", "--no-baseline"], {
      ...env,
      SENTRY_AUTH_TOKEN: "sntrys_revoked_0000",
    });
    expect(code).toBe(ExitCode.NeedsAttention);
    expect(err.join("\n")).toContain("error-rate gate was inconclusive");
    expect(err.join("\n")).not.toContain("sntrys_revoked_0000");
  });

  it("exit 2 for bad flags", async () => {
    const env = await setup(0);
    expect(
      (await cli(["--env", "production", "--release", "v2", "--no-baseline", "--since", "soon"], env)).code,
    ).toBe(ExitCode.BadInput);
    expect((await cli(["--env", "production", "--previous-release", "v1", "--no-baseline"], env)).code).toBe(
      ExitCode.BadInput,
    );
    expect((await cli(["--release", "v2"], env)).code).toBe(ExitCode.BadInput);
    expect((await cli(["--env", "nowhere", "--release", "v2", "--no-baseline"], env)).code).toBe(
      ExitCode.BadInput,
    );
  });

  it("is listed in the CLI's help", async () => {
    const err: string[] = [];
    await runCli(["--help"], {
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      env: {},
      cwd: dir,
      signal: new AbortController().signal,
      script: join(dir, "node_modules", ".bin", "shipyard"),
    });
    expect(err.join("\n")).toMatch(/verify +Check the running release now/);
  });
});
