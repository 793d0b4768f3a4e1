/**
 * The CLI face of deploy and status: the JSON report on stdout, the human summary on stderr, the
 * Markdown summary in $GITHUB_STEP_SUMMARY, files read from disk, and Ctrl-C during the wait.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import { type CliIO, cliRuntime } from "../../bin/runtime.js";
import {
  configText,
  NEW_IMAGE,
  SECRET_ACCESS_KEY,
  startWorld,
  TEMPLATE,
  type World,
} from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

function captureIO(env: NodeJS.ProcessEnv, cwd: string): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env,
    cwd,
    signal: new AbortController().signal,
    script: join(cwd, "node_modules/.bin/shipyard"),
  };
}

describe("reports", () => {
  it("--json prints the report contract; the Markdown summary goes to $GITHUB_STEP_SUMMARY", async () => {
    h = await startWorld();
    const dir = await mkdtemp(join(tmpdir(), "shipyard-report-"));
    const summary = join(dir, "summary.md");
    h.sim.behaviours.set(NEW_IMAGE, "failing");
    const io = captureIO({ ...h.env, GITHUB_STEP_SUMMARY: summary }, dir);
    // The CLI's own output channels ($GITHUB_STEP_SUMMARY included); the world's clock, files and ECS.
    const exit = await runCli(
      ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--release", "v2", "--json"],
      io,
      (cliIo, current) => {
        const cli = cliRuntime(cliIo, current);
        return h.runtime({
          output: cli.output,
          invocation: cli.invocation,
          env: cliIo.env,
          signal: cliIo.signal,
        });
      },
    );
    expect(exit).toBe(1);
    const json = JSON.parse(io.out.join("\n"));
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining([
        "command",
        "outcome",
        "exitCode",
        "environment",
        "cluster",
        "service",
        "image",
        "release",
        "taskDefinition",
        "previousTaskDefinition",
        "checks",
        "reason",
        "timings",
      ]),
    );
    expect(json).toMatchObject({
      outcome: "rolled_back",
      environment: "staging",
      cluster: "main",
      service: "web",
    });
    expect(json.timings.phases.map((p: { name: string }) => p.name)).toEqual([
      "preflight",
      "checks",
      "register",
      "lock",
      "beforeUpdate",
      "rollout",
      "restore",
    ]);
    // Progress comes first on stderr; the summary starts on a line of its own.
    expect(io.err.join("\n")).toMatch(/^shipyard deploy staging: failed and was rolled back \(exit 1/m);
    const markdown = await readFile(summary, "utf8");
    expect(markdown).toContain("## Shipyard deploy · staging · ↩️ rolled back");
    expect(markdown).toContain("circuit breaker");
    expect(JSON.stringify(json)).not.toContain(SECRET_ACCESS_KEY);
    expect([...io.out, ...io.err, markdown].join("\n")).not.toContain(SECRET_ACCESS_KEY);
  });

  it("the CLI reads shipyard.json and task-def.json from disk and prints status as JSON", async () => {
    h = await startWorld();
    const dir = await mkdtemp(join(tmpdir(), "shipyard-cli-"));
    await writeFile(join(dir, "shipyard.json"), configText());
    await writeFile(join(dir, "task-def.json"), TEMPLATE);
    const env = {
      AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
      AWS_ACCESS_KEY_ID: "AKIACLITEST",
      AWS_SECRET_ACCESS_KEY: "cli-secret-value",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      // The CLI face as shipped: its own runtime (disk files, system clock, the SDK's credential chain).
      const io = captureIO(env, dir);
      expect(await runCli(["status", "--env", "staging", "--json"], io)).toBe(0);
      expect(JSON.parse(io.out.join("\n"))).toMatchObject({ command: "status", taskDefinition: h.v1 });
      const bad = captureIO(env, dir);
      expect(await runCli(["deploy", "--env", "staging", "--image", "ghcr.io/acme/app:latest"], bad)).toBe(2);
      expect(bad.err.join("\n")).toMatch(/is not a digest reference/);
      expect(await runCli(["deploy", "--env", "staging"], captureIO(env, dir))).toBe(2);
      expect(h.sim.operations()).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
      expect([...io.out, ...io.err, ...bad.out, ...bad.err].join("\n")).not.toContain("cli-secret-value");
    } finally {
      process.env = saved;
    }
  });

  it("the CLI deploy command runs end to end with the real migration and verification steps (none configured)", async () => {
    h = await startWorld();
    h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
    const { code, stdout, stderr } = await h.cli(
      ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"],
      {
        env: { ...h.env, GITHUB_SHA: "0123456789abcdef" },
      },
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ outcome: "succeeded", release: "0123456789abcdef" });
    expect(report.details.steps).toEqual([
      {
        name: "image in registry",
        status: "passed",
        note: `ghcr.io has ${NEW_IMAGE.split("@")[1]!.slice(0, 19)}… in acme/app (public)`,
      },
      { name: "Sentry preflight", status: "passed", note: "no sentry in shipyard.json" },
      { name: "migration lint", status: "passed", note: "no migrations to lint" },
      { name: "migrate", status: "passed", note: "no migrations configured" },
      { name: "smoke test", status: "passed", note: "no healthCheck configured" },
      { name: "Sentry release", status: "passed", note: "Sentry release bookkeeping off" },
      {
        name: "error-rate gate",
        status: "passed",
        note: "error-rate gate not configured (no sentry in shipyard.json)",
      },
    ]);
    expect(report.verification).toMatchObject({
      smoke: { skipped: true },
      gate: { decision: "not-configured" },
    });
    expect(stderr).not.toContain(SECRET_ACCESS_KEY);
  });
});

describe("interrupting the CLI", () => {
  it("SIGINT during the wait prints the state and the commands to resume or roll back, exit 3", async () => {
    h = await startWorld({ config: configText({ pollSeconds: 30 }) });
    h.sim.behaviours.set(NEW_IMAGE, "stuck");
    const controller = new AbortController();
    // A person presses Ctrl-C while the CLI waits after the first poll. (A poll in flight is cancelled
    // by Ctrl-C, so the state printed is the one the last answered poll saw.)
    h.clock.onAdvance(() => {
      if (h.sim.callsTo("UpdateService").length > 0 && !controller.signal.aborted) {
        controller.abort(new Error("received SIGINT"));
      }
    });
    const { code, stderr } = await h.cli(["deploy", "--env", "staging", "--image", NEW_IMAGE], {
      signal: controller.signal,
    });
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /why: +the wait was interrupted \(received SIGINT\) during the rollout of web:2 at 2\/2 running, 2 deployment\(s\), rollout IN_PROGRESS; the rollout may still be running/,
    );
    expect(stderr).toContain("npx shipyard status --env staging");
    expect(stderr).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
    expect(stderr).toContain(
      `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${h.v1}`,
    );
  });
});
