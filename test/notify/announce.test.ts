/**
 * GitHub Deployments and notifications, end to end through the command layer: the ECS emulator, a
 * local GitHub API and webhook receivers (test/notify/fakes.ts), every request recorded in order.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Runtime } from "../../src/commands/context.js";
import type { DeploySteps } from "../../src/deploy/steps.js";
import { DELIVERY_TIMEOUT_MS } from "../../src/report/delivery.js";
import type { Report } from "../../src/report/report.js";
import { configText, digest, startWorld, type World } from "../support/world.js";
import { type FakeGitHub, type FakeServer, startFakeGitHub, startReceiver } from "./fakes.js";

const TOKEN = "ghs_PlantedGitHubToken0123456789abcdefXYZ";
const SLACK_PATH = "/services/T0PLANTED/B0PLANTED/slackSecretPath0123456789";
const HOOK_PATH = "/hooks/deploySecretPath0123456789abcdef";
const HEALTH_URL = "https://staging.example.com/health";
const RUN_URL = "https://github.example.com/acme/app/actions/runs/42";
const NOTIFY = {
  slack: { webhookUrlEnv: "SLACK_WEBHOOK_URL" },
  webhook: { urlEnv: "DEPLOY_WEBHOOK_URL" },
};

/** The deploy's own steps are not what is tested here: none, or one verification that fails. */
const NO_STEPS: DeploySteps = { beforeRegister: [], beforeUpdate: [], afterRollout: [] };
const failingVerification = (reason: string): DeploySteps => ({
  ...NO_STEPS,
  afterRollout: [
    {
      name: "smoke test",
      section: "verification",
      check: "smoke",
      run: async () => ({ status: "failed", reason }),
    },
  ],
});

interface Rig {
  h: World;
  github: FakeGitHub;
  slack: FakeServer;
  hook: FakeServer;
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.h.stop();
  await rig?.github.close();
  await rig?.slack.close();
  await rig?.hook.close();
  rig = undefined;
});

async function start(notify: Record<string, unknown> | null = NOTIFY, inActions = true): Promise<Rig> {
  const extra = { healthCheck: { url: HEALTH_URL }, ...(notify ? { notify } : {}) };
  const h = await startWorld({ config: configText({}, extra) });
  const github = await startFakeGitHub(TOKEN);
  const slack = await startReceiver();
  const hook = await startReceiver();
  Object.assign(h.env, {
    ...(inActions ? { GITHUB_ACTIONS: "true" } : {}),
    GITHUB_TOKEN: TOKEN,
    GITHUB_REPOSITORY: "acme/app",
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: "https://github.example.com",
    GITHUB_RUN_ID: "42",
    SLACK_WEBHOOK_URL: `${slack.url}${SLACK_PATH}`,
    DEPLOY_WEBHOOK_URL: `${hook.url}${HOOK_PATH}`,
  });
  rig = { h, github, slack, hook };
  return rig;
}

const deployV2 = (h: World, overrides: Partial<Runtime> = {}) =>
  h.deploy({}, { deploySteps: NO_STEPS, ...overrides });
const deployV3 = (h: World, steps: DeploySteps = NO_STEPS) =>
  h.deploy({ image: digest("b"), release: "v3", commit: "def5678" }, { deploySteps: steps });

const events = (server: FakeServer) => server.requests.map((r) => (r.body as { event?: string }).event);
const slackTitles = (slack: FakeServer) =>
  slack.requests.map((r) => (r.body as { blocks: Array<{ text?: { text: string } }> }).blocks[0]!.text!.text);

describe("GitHub Deployments", () => {
  it("creates the deployment, marks it in progress, then success with the environment and the run", async () => {
    const { h, github } = await start(null);
    const report = await deployV2(h);
    expect(report.outcome).toBe("succeeded");
    expect(report.warnings).toBeUndefined();
    expect(github.routes()).toEqual([
      "POST /repos/acme/app/deployments",
      "POST /repos/acme/app/deployments/1/statuses",
      "POST /repos/acme/app/deployments/1/statuses",
    ]);
    const [create, inProgress, success] = github.requests.map((r) => r.body);
    expect(create).toEqual({
      ref: "abc1234",
      environment: "staging",
      description: "Shipyard: v2 to staging",
      payload: { release: "v2", image: report.image, cluster: "main", service: "web" },
      auto_merge: false,
      required_contexts: [],
    });
    expect(inProgress).toEqual({ state: "in_progress", description: "Deploying v2", log_url: RUN_URL });
    expect(success).toEqual({
      state: "success",
      description: "v2 live on staging, verified by ECS only",
      environment_url: "https://staging.example.com",
      log_url: RUN_URL,
    });
    expect(github.requests[0]!.headers.authorization).toBe(`token ${TOKEN}`);
    expect(report.details).toMatchObject({ githubDeployment: 1 });
  });

  it("a rolled-back deploy fails its deployment and makes the previous release's deployment active again", async () => {
    const { h, github } = await start(null);
    expect((await deployV2(h)).outcome).toBe("succeeded");
    const before = github.requests.length;
    const report = await deployV3(h, failingVerification("/health answered 503"));
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    const requests = github.requests.slice(before);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /repos/acme/app/deployments",
      "POST /repos/acme/app/deployments/2/statuses",
      "POST /repos/acme/app/deployments/2/statuses",
      "GET /repos/acme/app/deployments",
      "GET /repos/acme/app/deployments/1/statuses",
      "POST /repos/acme/app/deployments/1/statuses",
    ]);
    expect(requests[2]!.body).toEqual({
      state: "failure",
      description: report.reason!.length > 140 ? `${report.reason!.slice(0, 139)}…` : report.reason,
      log_url: RUN_URL,
    });
    // v2 was deployed from abc1234: its deployment is found by that commit, for this environment.
    expect(requests[3]!.query).toMatchObject({ environment: "staging", sha: "abc1234" });
    expect(requests[5]!.body).toEqual({
      state: "success",
      description: "Active again: v3 was rolled back",
      environment_url: "https://staging.example.com",
      log_url: RUN_URL,
    });
    expect(github.deployments.map((d) => d.statuses.at(-1)!.state)).toEqual(["success", "failure"]);
  });

  it("cuts a long failure reason to GitHub's 140 characters", async () => {
    const { h, github } = await start(null);
    await deployV2(h);
    const report = await deployV3(h, failingVerification(`the error rate ${"rose ".repeat(60)}`));
    const failure = github.requests.find((r) => (r.body as { state?: string } | null)?.state === "failure");
    const description = (failure!.body as { description: string }).description;
    expect(description).toHaveLength(140);
    expect(description.endsWith("…")).toBe(true);
    expect(report.reason!.startsWith(description.slice(0, -1))).toBe(true);
  });

  it("`shipyard rollback` makes the deployment of the release it returns to active again", async () => {
    const { h, github, hook } = await start();
    await deployV2(h);
    await deployV3(h);
    const before = github.requests.length;
    const hooked = hook.requests.length;
    const report = await h.run("rollback", { env: "staging" });
    expect(report.outcome).toBe("succeeded");
    expect(report.release).toBe("v2");
    expect(github.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /repos/acme/app/deployments",
      "GET /repos/acme/app/deployments/1/statuses",
      "POST /repos/acme/app/deployments/1/statuses",
    ]);
    expect(github.deployments[0]!.statuses.at(-1)).toMatchObject({
      state: "success",
      description: "Active again: rolled back from web:3",
    });
    const told = hook.requests.slice(hooked).map((r) => r.body as { event: string; report: Report });
    expect(told.map((b) => b.event)).toEqual(["rollback"]);
    expect(told[0]!.report).toMatchObject({ command: "rollback", outcome: "succeeded", release: "v2" });
  });

  it("a deploy that throws after it started marks its deployment failed with the error", async () => {
    const { h, github, hook } = await start();
    h.sim.injectFault("DescribeTaskDefinition", "ServerException", 500, 20);
    const report = await deployV2(h);
    expect(report.outcome).toBe("failed");
    expect(github.routes()).toEqual([
      "POST /repos/acme/app/deployments",
      "POST /repos/acme/app/deployments/1/statuses",
      "POST /repos/acme/app/deployments/1/statuses",
    ]);
    expect(github.deployments[0]!.statuses.map((s) => s.state)).toEqual(["in_progress", "failure"]);
    expect(events(hook)).toEqual(["start", "failure"]);
    expect(report.warnings).toBeUndefined();
  });

  it("outside GitHub Actions, no GitHub call is made (the notifications still go out)", async () => {
    const { h, github, slack } = await start(NOTIFY, false);
    const report = await deployV2(h);
    expect(report.outcome).toBe("succeeded");
    expect(github.requests).toEqual([]);
    expect(slack.requests).toHaveLength(2);
  });

  it("without a token, no GitHub call is made", async () => {
    const { h, github } = await start(null);
    delete h.env.GITHUB_TOKEN;
    expect((await deployV2(h)).outcome).toBe("succeeded");
    expect(github.requests).toEqual([]);
  });

  it("SHIPYARD_GITHUB_TOKEN is used before GITHUB_TOKEN", async () => {
    const { h, github } = await start(null);
    h.env.GITHUB_TOKEN = "ghs_SomeOtherTokenWithoutDeploymentRights";
    h.env.SHIPYARD_GITHUB_TOKEN = TOKEN;
    expect((await deployV2(h)).warnings).toBeUndefined();
    expect(github.requests.map((r) => r.headers.authorization)).toEqual(Array(3).fill(`token ${TOKEN}`));
  });
});

describe("notifications", () => {
  it("Slack and the webhook hear the start and the end, with the report at the end", async () => {
    const { h, slack, hook } = await start();
    const report = await deployV2(h);
    expect(events(hook)).toEqual(["start", "success"]);
    const end = hook.requests[1]!.body as { report: Report; environment: string; runUrl: string };
    expect(end).toMatchObject({ environment: "staging", release: "v2", runUrl: RUN_URL });
    expect(end.report).toMatchObject({
      command: "deploy",
      outcome: "succeeded",
      taskDefinition: report.taskDefinition,
    });
    expect(slackTitles(slack)).toEqual(["🚀 Deploying v2 to staging", "✅ v2 is live on staging"]);
    const message = slack.requests[1]!.body as { text: string; blocks: Array<Record<string, unknown>> };
    expect(message.text).toBe("✅ v2 is live on staging");
    expect(message.blocks.at(-1)).toEqual({
      type: "context",
      elements: [
        { type: "mrkdwn", text: `\`${report.image}\`` },
        { type: "mrkdwn", text: `<${RUN_URL}|CI run>` },
      ],
    });
    expect(h.captured.lines).toContain("Notified Slack and the webhook: v2 is live on staging.");
  });

  it("a rollback says why, and `on` limits what is sent", async () => {
    const { h, slack, hook } = await start({ ...NOTIFY, on: ["rollback", "failure"] });
    await deployV2(h);
    expect(slack.requests).toEqual([]);
    const report = await deployV3(h, failingVerification("/health answered 503"));
    expect(events(hook)).toEqual(["rollback"]);
    expect(slackTitles(slack)).toEqual(["↩️ v3 was rolled back on staging"]);
    const why = (slack.requests[0]!.body as { blocks: Array<{ text?: { text: string } }> }).blocks[2]!.text!
      .text;
    expect(why).toBe(`*Why:* ${report.reason}`);
    expect(why).toContain("smoke test failed: /health answered 503");
  });

  it("a variable named by the config but not set is a warning at the start, not a failure", async () => {
    const { h, hook } = await start();
    delete h.env.SLACK_WEBHOOK_URL;
    const report = await deployV2(h);
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    const warning =
      "environments.staging.notify.slack names SLACK_WEBHOOK_URL, which is not set: Slack is not notified";
    expect(report.warnings).toEqual([warning]);
    expect(h.captured.lines).toContain(`warning: ${warning}.`);
    // Said at the start, once; the webhook still hears both.
    expect(h.captured.lines.findIndex((l) => l.includes(warning))).toBeLessThan(
      h.captured.lines.findIndex((l) => l.startsWith("Deploying")),
    );
    expect(events(hook)).toEqual(["start", "success"]);
  });

  it("a variable that holds no URL is a warning, and its value is never shown", async () => {
    const { h, slack } = await start();
    h.env.SLACK_WEBHOOK_URL = "not-a-url-but-a-secret-0123456789";
    const report = await deployV2(h);
    expect(report.warnings).toEqual([
      "SLACK_WEBHOOK_URL (named by environments.staging.notify.slack) is not an http(s) URL: Slack is not notified",
    ]);
    expect(slack.requests).toEqual([]);
    expect(h.captured.all()).not.toContain("secret-0123456789");
  });
});

describe("a failing announcement never fails the deploy", () => {
  it("500s from GitHub, Slack and the webhook: one retry each, then a warning; the deploy succeeds", async () => {
    const { h, github, slack, hook } = await start();
    github.fail("POST /repos/acme/app/deployments", { status: 500, body: '{"message":"Server Error"}' }, 2);
    slack.fail(`POST ${SLACK_PATH}`, { status: 500, body: "internal_error" }, 4);
    hook.fail(`POST ${HOOK_PATH}`, { status: 502, body: "bad gateway" }, 2);
    const report = await deployV2(h);
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    // Tried twice, then GitHub is left alone for the rest of the run.
    expect(github.routes()).toEqual(Array(2).fill("POST /repos/acme/app/deployments"));
    expect(slack.requests).toHaveLength(4);
    expect(events(hook)).toEqual(["start", "start", "success"]);
    expect(report.warnings).toEqual([
      "Slack was not notified of start (HTTP 500 (internal_error), also on the retry); the deploy itself is unaffected",
      "the webhook was not notified of start (HTTP 502 (bad gateway), also on the retry); the deploy itself is unaffected",
      "GitHub Deployments: creating the deployment failed (HTTP 500 (Server Error), also on the retry)",
      "Slack was not notified of success (HTTP 500 (internal_error), also on the retry); the deploy itself is unaffected",
    ]);
  });

  it("a webhook nobody listens on is tried twice, then a warning", async () => {
    const { h, hook } = await start({ webhook: NOTIFY.webhook, on: ["start"] });
    await hook.close();
    delete h.env.GITHUB_ACTIONS;
    const report = await deployV2(h);
    expect(report.exitCode).toBe(0);
    expect(report.warnings).toEqual([
      "the webhook was not notified of start (no connection (ECONNREFUSED), also on the retry); the deploy itself is unaffected",
    ]);
  });

  it("a 4xx is not retried, and a refused token says which permission is missing", async () => {
    const { h, github } = await start(null);
    github.fail("POST /repos/acme/app/deployments", {
      status: 403,
      body: '{"message":"Resource not accessible by integration"}',
    });
    const report = await deployV2(h);
    expect(report.exitCode).toBe(0);
    expect(github.requests).toHaveLength(1);
    expect(report.warnings).toEqual([
      "GitHub Deployments: creating the deployment failed (HTTP 403 (Resource not accessible by integration)); the token needs the deployments: write permission on the repository",
    ]);
  });

  it("a GitHub API that hangs costs one timeout, once; the deploy goes on", async () => {
    const { h, github } = await start(null);
    const timers: AbortController[] = [];
    github.fail("POST /repos/acme/app/deployments", "hang");
    // The request's time bound (controlled here) runs out once the request has arrived.
    github.onHang = () => {
      for (const timer of timers) timer.abort(new DOMException("timed out", "TimeoutError"));
    };
    const report = await deployV2(h, { requestSignal: boundedBy(timers) });
    expect(report.outcome).toBe("succeeded");
    expect(github.requests).toHaveLength(1);
    expect(report.warnings).toEqual([
      `GitHub Deployments: creating the deployment failed (no answer within ${DELIVERY_TIMEOUT_MS / 1000}s)`,
    ]);
  });

  it("a webhook that hangs is a warning, not a wait for ever", async () => {
    const { h, hook } = await start({ webhook: NOTIFY.webhook, on: ["failure", "rollback"] });
    const timers: AbortController[] = [];
    hook.fail(`POST ${HOOK_PATH}`, "hang");
    hook.onHang = () => {
      for (const timer of timers) timer.abort(new DOMException("timed out", "TimeoutError"));
    };
    delete h.env.GITHUB_ACTIONS;
    await deployV2(h);
    const report = await h.deploy(
      { image: digest("b"), release: "v3", commit: "def5678" },
      { deploySteps: failingVerification("/health answered 503"), requestSignal: boundedBy(timers) },
    );
    expect(report.exitCode).toBe(1);
    expect(hook.requests).toHaveLength(1);
    expect(report.warnings).toEqual([
      "the webhook was not notified of rollback (no answer within 10s); the deploy itself is unaffected",
    ]);
  });
});

describe("secrets", () => {
  const PLANTED = {
    AWS_ACCESS_KEY_ID: "AKIAPLANTEDKEY000001",
    AWS_SECRET_ACCESS_KEY: "plantedSecretAccessKey/0123456789abcdefghij",
    AWS_SESSION_TOKEN: "plantedSessionToken0123456789abcdefghijklmnop",
    SENTRY_AUTH_TOKEN: "sntrys_plantedSentryToken0123456789abcdef",
  };

  it("no body sent anywhere, and nothing printed, holds a secret, even when a server echoes them", async () => {
    const { h, github, slack, hook } = await start();
    Object.assign(h.env, PLANTED);
    const secrets = [...Object.values(PLANTED), TOKEN, SLACK_PATH, HOOK_PATH];
    const echo = `echo: ${secrets.join(" ")}`;
    // GitHub refuses the deployment quoting every secret; the webhook does the same at the start.
    github.fail("POST /repos/acme/app/deployments", { status: 422, body: JSON.stringify({ message: echo }) });
    hook.fail(`POST ${HOOK_PATH}`, { status: 400, body: echo });
    // A step failing with a reason that quotes them all (the report's reason, Slack's "why").
    const report = await h.deploy({}, { deploySteps: failingVerification(echo) });
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    expect(
      report.warnings?.some((w) =>
        w.startsWith("GitHub Deployments: creating the deployment failed (HTTP 422"),
      ),
    ).toBe(true);
    await h.captured.output.emit(report, { json: true });
    const sent = [...github.requests, ...slack.requests, ...hook.requests].map((r) => r.raw);
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expectNoneOf(secrets, [...sent, h.captured.all()]);
    // What was said, masked: the end's webhook body carries the reason and the echoed warnings.
    const end = hook.requests.at(-1)!.body as { event: string; reason: string; report: Report };
    expect(end.event).toBe("rollback");
    expect(end.reason).toContain("***");
    expect(end.report.warnings?.join(" ")).toContain("HTTP 422 (echo: ***");
  });

  it("a reason quoting secrets reaches GitHub's statuses, Slack and the webhook masked", async () => {
    const { h, github, slack, hook } = await start();
    Object.assign(h.env, PLANTED);
    // A token only Shipyard's own variable holds: it is a secret because the announcer says so.
    delete h.env.GITHUB_TOKEN;
    h.env.SHIPYARD_GITHUB_TOKEN = TOKEN;
    const secrets = [TOKEN, SLACK_PATH, HOOK_PATH, ...Object.values(PLANTED)];
    await deployV2(h);
    const report = await deployV3(h, failingVerification(secrets.join(" ")));
    expect(report.exitCode).toBe(1);
    expect(report.warnings).toBeUndefined();
    const failure = github.deployments[1]!.statuses.find((s) => s.state === "failure");
    expect(failure!.description).toMatch(/^smoke test failed: \*\*\* \*\*\*/);
    await h.captured.output.emit(report, { json: true });
    const sent = [...github.requests, ...slack.requests, ...hook.requests].map((r) => r.raw);
    expectNoneOf(secrets, [...sent, h.captured.all()]);
  });
});

describe("configuration", () => {
  const refuses = async (notify: unknown, key: string) => {
    const h = await startWorld({ config: configText({}, { notify }) });
    try {
      const report = await h.deploy({}, { deploySteps: NO_STEPS });
      expect(report.exitCode).toBe(2);
      expect(report.nextSteps?.join(" ") ?? "").toContain("fix the fields above");
      expect(h.sim.calls).toEqual([]);
      const cli = await h.cli(["deploy", "--env", "staging", "--image", digest("a")]);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain(key);
      expect(h.sim.calls).toEqual([]);
      return cli.stderr;
    } finally {
      await h.stop();
    }
  };

  it("a webhook URL written into shipyard.json is refused (exit 2), naming the key and the fix", async () => {
    const stderr = await refuses(
      { slack: { webhookUrl: "https://hooks.slack.com/services/T0/B0/xyz" } },
      'environments.staging.notify.slack: unknown key "webhookUrl"',
    );
    expect(stderr).not.toContain("hooks.slack.com/services");
  });

  it("a URL where the variable's name belongs is refused without repeating it", async () => {
    const stderr = await refuses(
      { webhook: { urlEnv: "https://example.com/hooks/secret-path" } },
      "environments.staging.notify.webhook.urlEnv: the NAME of an environment variable",
    );
    expect(stderr).not.toContain("secret-path");
  });

  it("an unknown event is refused", async () => {
    await refuses({ on: ["deployed"] }, "environments.staging.notify.on[0]");
  });
});

/** Neither a secret nor a 12-character piece of one (its start, its end) is in any of the texts. */
function expectNoneOf(secrets: string[], texts: string[]): void {
  for (const secret of secrets) {
    for (const text of texts) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(0, 12));
      expect(text).not.toContain(secret.slice(-12));
    }
  }
}

/** A requestSignal whose delivery bounds the test ends (others, e.g. ECS polls, are real). */
function boundedBy(timers: AbortController[]): (ms: number) => AbortSignal {
  return (ms) => {
    if (ms !== DELIVERY_TIMEOUT_MS) return AbortSignal.timeout(ms);
    const timer = new AbortController();
    timers.push(timer);
    return timer.signal;
  };
}
