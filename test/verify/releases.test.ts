/**
 * Release bookkeeping with the REAL sentry-cli binary (from @sentry/cli) talking to the simulator
 * through SENTRY_URL: the calls it makes are recorded and checked.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import { realSentryCli, recordRelease, recordRollback, sentryCliPath } from "../../src/verify/releases.js";
import { FakeClock } from "../support/clock.js";
import { captureOutput } from "../support/world.js";

let sim: SentrySim;
let repo: string;
let notARepo: string;

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), "shipyard-verify-repo-"));
  notARepo = mkdtempSync(join(tmpdir(), "shipyard-verify-plain-"));
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: repo,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.com",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.com",
      },
    });
  git("init", "-q", "-b", "main");
  git("remote", "add", "origin", "https://github.com/acme/app.git");
  writeFileSync(join(repo, "a.txt"), "one\n");
  git("add", "a.txt");
  git("commit", "-q", "-m", "first commit");
});
afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(notARepo, { recursive: true, force: true });
});
beforeEach(async () => {
  sim = await startSentrySim({ clock: new FakeClock() });
});
afterEach(async () => {
  await sim.close();
});

function input(overrides: { token?: string; cwd?: string } = {}) {
  // An empty scrubber: nothing is masked on the way out, so the token checks test the bookkeeping itself.
  const progress = captureOutput();
  return {
    progress,
    input: {
      org: "acme",
      project: "app",
      environment: "production",
      release: "v2",
      cwd: overrides.cwd ?? repo,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SENTRY_URL: sim.url,
        SENTRY_AUTH_TOKEN: overrides.token ?? SIM_TOKEN,
      },
      progress: progress.output,
    },
  };
}

describe("sentry-cli bookkeeping", () => {
  it("finds the real binary", async () => {
    const path = await sentryCliPath();
    expect(execFileSync(path, ["--version"], { encoding: "utf8" })).toMatch(/^sentry-cli 3\./);
  });

  it("creates the release, sets commits, finalizes and records the deploy", async () => {
    const { input: i } = input();
    const result = await recordRelease(i);
    expect(result.warnings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => s.command)).toEqual([
      "releases new v2",
      "releases set-commits v2 --auto --ignore-missing",
      "releases finalize v2",
      "deploys new -e production -r v2 -n shipyard deploy v2",
    ]);
    // The exact calls sentry-cli 3.8 makes (documented in src/emulator/sentry.ts).
    expect(sim.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      "POST /api/0/organizations/acme/releases/ 201",
      "GET /api/0/organizations/acme/repos/ 200",
      "POST /api/0/organizations/acme/releases/ 208",
      "GET /api/0/organizations/acme/releases/v2/previous-with-commits/ 404",
      "PUT /api/0/organizations/acme/releases/v2/ 200",
      "PUT /api/0/organizations/acme/releases/v2/ 200",
      "POST /api/0/organizations/acme/releases/v2/deploys/ 201",
    ]);
    expect(sim.calls.every((c) => c.authorized)).toBe(true);
    expect(sim.calls[0]!.body).toMatchObject({ version: "v2", projects: ["app"] });
    expect(sim.releases.get("v2")?.dateReleased).not.toBeNull();
    // The local commit was attached (no repository integration: sentry-cli reads the git tree).
    expect(sim.releases.get("v2")?.commits).toMatchObject([{ message: "first commit\n" }]);
    expect(sim.deploys).toEqual([{ release: "v2", environment: "production", name: "shipyard deploy v2" }]);
  });

  it("records a rollback as a deploy of the previous release", async () => {
    const { input: i, progress } = input();
    const result = await recordRollback({ ...i, release: "v1", rolledBackRelease: "v2" });
    expect(result.ok).toBe(true);
    expect(sim.deploys).toEqual([
      { release: "v1", environment: "production", name: "shipyard rollback of v2" },
    ]);
    expect(progress.lines.join("\n")).not.toContain(SIM_TOKEN);
  });

  it("warns with what to do when commits cannot be found, and still finalizes and records the deploy", async () => {
    const { input: i } = input({ cwd: notARepo });
    const result = await recordRelease(i);
    expect(result.ok).toBe(false);
    expect(result.steps.map((s) => s.ok)).toEqual([true, false, true, true]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /set-commits v2 --auto --ignore-missing failed: .*; commits are missing from this release/,
    );
    expect(sim.deploys).toHaveLength(1);
  });

  it("warns and stops after a rejected token, never printing it", async () => {
    const secret = "sntrys_this_is_not_valid_123";
    const { input: i, progress } = input({ token: secret });
    const result = await recordRelease(i);
    expect(result.ok).toBe(false);
    expect(result.steps).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/releases new v2 failed: .*check SENTRY_AUTH_TOKEN/);
    expect(JSON.stringify(result) + progress.lines.join("\n")).not.toContain(secret);
  });

  it("warns when Sentry answers 500", async () => {
    sim.fault({ match: "/releases/", status: 500, body: '{"detail":"boom"}', times: 10 });
    const { input: i } = input();
    const result = await recordRelease(i);
    expect(result.ok).toBe(false);
    expect(result.warnings[0]).toContain("releases new v2 failed");
    expect(result.warnings[0]).toContain("The deploy goes on.");
  });

  it("skips with a warning when there is no token", async () => {
    const { input: i, progress } = input();
    const result = await recordRelease({ ...i, env: { SENTRY_URL: sim.url } });
    expect(result.ok).toBe(false);
    expect(result.warnings[0]).toContain("SENTRY_AUTH_TOKEN is not set");
    expect(sim.calls).toHaveLength(0);
    expect(progress.lines[0]).toContain("warning:");
  });

  it("kills a sentry-cli that does not finish in time", async () => {
    // A server that accepts the connection and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const result = await realSentryCli(["releases", "new", "v9"], {
        env: {
          SENTRY_URL: `http://127.0.0.1:${port}`,
          SENTRY_AUTH_TOKEN: "x",
          SENTRY_ORG: "acme",
          SENTRY_PROJECT: "app",
        },
        cwd: repo,
        timeoutMs: 300,
      });
      expect(result).toMatchObject({ ok: false, detail: "no answer within 300ms" });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
