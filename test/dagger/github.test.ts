/**
 * GitHub Deployments through `dagger call`: the module's container never sees the runner's GITHUB_*
 * variables, so the workflow gives the module --github-token (a Secret) and --github-repository,
 * --github-run-id, --github-server-url, --github-api-url. Proved here with the real SDK against the
 * fake engine, the real AWS SDK against the ECS emulator and the deployments API of test/notify/fakes.ts
 * (reached through --github-api-url): a deploy records its deployment and statuses, with the run's log
 * link; a rollback marks the release it went back to active again; only deploy and rollback read the
 * token; the token never travels in a query, the result or the output; without the token nothing is
 * sent to GitHub, whatever GITHUB_* the module's own process has; wrong GitHub flags are bad input
 * before anything is read.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { faceRuntime } from "../../src/dagger/runtime.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import type { Report } from "../../src/report/report.js";
import { type FakeGitHub, startFakeGitHub } from "../notify/fakes.js";
import { FakeClock } from "../support/clock.js";
import type { Chain } from "../support/fake-engine.js";
import { holdsTheWorldsImages } from "../support/world.js";
import { type Outcome, runOn, SHA, type ShipyardArgs } from "./harness.js";

const KEY_ID = "AKIAGITHUBFACETEST01";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiGitHubFaceKey";
const TOKEN = "ghs_DaggerFaceDeploymentToken0123456789";
const SECRETS = {
  secrets: {
    "env://AWS_ACCESS_KEY_ID": KEY_ID,
    "env://AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "env://GITHUB_TOKEN": TOKEN,
  },
};
const AWS_URIS = ["env://AWS_ACCESS_KEY_ID", "env://AWS_SECRET_ACCESS_KEY"];
const AWS: ShipyardArgs = {
  fixture: "deployable",
  commit: SHA,
  awsAccessKeyId: "env://AWS_ACCESS_KEY_ID",
  awsSecretAccessKey: "env://AWS_SECRET_ACCESS_KEY",
};
const RUN_ID = "4242";
const SERVER = "https://github.example.com";
const RUN_URL = `${SERVER}/acme/app/actions/runs/${RUN_ID}`;
const DEPLOYMENTS = "/repos/acme/app/deployments";
const image = (digit: string) => `ghcr.io/acme/app@sha256:${digit.repeat(64)}`;

let clock: FakeClock;
let sim: EcsSimulator;
let github: FakeGitHub;
let savedEndpoint: string | undefined;

/** The module's flags as the deploy workflow passes them, with the API at the fake. */
function withGitHub(extra: ShipyardArgs = {}): ShipyardArgs {
  return {
    ...AWS,
    githubToken: "env://GITHUB_TOKEN",
    githubRepository: "acme/app",
    githubRunId: RUN_ID,
    githubServerUrl: SERVER,
    githubApiUrl: github.url,
    ...extra,
  };
}

beforeAll(async () => {
  clock = new FakeClock();
  sim = await EcsSimulator.start(clock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: image("0") }],
  });
  sim.createService({ cluster: "main", service: "web", taskDefinition: v1, desiredCount: 2 });
  sim.createService({ cluster: "main", service: "qa-web", taskDefinition: v1, desiredCount: 2 });
  savedEndpoint = process.env.AWS_ENDPOINT_URL_ECS;
  process.env.AWS_ENDPOINT_URL_ECS = sim.endpoint;
  faceRuntime.fetch = holdsTheWorldsImages();
  // The rollout's waits run on the emulator's clock; the jitter is fixed.
  faceRuntime.clock = clock;
  faceRuntime.random = () => 0.5;
});

afterEach(async () => {
  await github?.close();
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_ECS;
  else process.env.AWS_ENDPOINT_URL_ECS = savedEndpoint;
  faceRuntime.fetch = undefined;
  faceRuntime.clock = systemClock;
  faceRuntime.random = Math.random;
  await sim.stop();
});

/** Runs a function like runOn, also capturing what the module printed on stdout and stderr. */
async function printing<T>(
  args: ShipyardArgs,
  call: Parameters<typeof runOn<T>>[1],
): Promise<Outcome<T> & { printed: string }> {
  const printed: string[] = [];
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (chunk: string | Uint8Array) => {
    printed.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const outcome = await runOn(args, call, SECRETS);
    return { ...outcome, printed: printed.join("") };
  } finally {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  }
}

function plaintextReads(outcome: Outcome<unknown>): string[] {
  return outcome.engine.queries
    .map((query) => query.chain)
    .filter((chain: Chain) => chain.at(-1)?.field === "plaintext")
    .map((chain) => String(chain.at(-2)?.args["uri"]))
    .sort();
}

/** The token is in no query sent to the engine, nor in the result, the error or the output. */
function expectTokenNowhere(outcome: Outcome<unknown> & { printed: string }): void {
  const texts = [
    ...outcome.engine.queries.map((query) => query.text),
    String(outcome.result ?? ""),
    outcome.error?.message ?? "",
    outcome.printed,
  ];
  for (const text of texts) expect(text).not.toContain(TOKEN);
}

describe("GitHub Deployments through the Dagger face", () => {
  it("a deploy records its deployment, in progress then success, linked to the run; the token is read once and shown nowhere", async () => {
    github = await startFakeGitHub(TOKEN);
    const outcome = await printing(withGitHub(), (shipyard) => shipyard.deploy("qa", image("1"), "v2"));
    expect(outcome.error).toBeUndefined();
    const report = JSON.parse(String(outcome.result)) as Report;
    expect(report).toMatchObject({ command: "deploy", outcome: "succeeded", exitCode: 0 });
    expect(report.details).toMatchObject({ githubDeployment: 1 });
    expect(github.routes()).toEqual([
      `POST ${DEPLOYMENTS}`,
      `POST ${DEPLOYMENTS}/1/statuses`,
      `POST ${DEPLOYMENTS}/1/statuses`,
    ]);
    expect(github.requests.map((request) => request.headers.authorization)).toEqual(
      Array(3).fill(`token ${TOKEN}`),
    );
    expect(github.deployments[0]).toMatchObject({
      ref: SHA,
      environment: "qa",
      payload: { release: "v2", image: image("1"), cluster: "main", service: "qa-web" },
    });
    expect(github.deployments[0]!.statuses).toEqual([
      expect.objectContaining({ state: "in_progress", log_url: RUN_URL }),
      expect.objectContaining({ state: "success", log_url: RUN_URL }),
    ]);
    expect(outcome.printed).toContain(`GitHub deployment 1 of ${SHA} to qa: in progress.`);
    expect(plaintextReads(outcome)).toEqual([...AWS_URIS, "env://GITHUB_TOKEN"].sort());
    expectTokenNowhere(outcome);
  });

  it("a rollback marks the deployment of the release it went back to active again", async () => {
    github = await startFakeGitHub(TOKEN);
    const first = await printing(withGitHub(), (shipyard) => shipyard.deploy("qa", image("2"), "v3"));
    expect(first.error).toBeUndefined();
    const v3 = JSON.parse(String(first.result)) as Report;
    const second = await printing(withGitHub(), (shipyard) => shipyard.deploy("qa", image("3"), "v4"));
    expect(second.error).toBeUndefined();
    const before = github.requests.length;

    const outcome = await printing(withGitHub(), (shipyard) => shipyard.rollback("qa", v3.taskDefinition!));
    expect(outcome.error).toBeUndefined();
    expect(JSON.parse(String(outcome.result))).toMatchObject({ command: "rollback", outcome: "succeeded" });
    expect(github.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${DEPLOYMENTS}`,
      `GET ${DEPLOYMENTS}/1/statuses`,
      `POST ${DEPLOYMENTS}/1/statuses`,
    ]);
    expect(github.deployments[0]!.statuses.at(-1)).toMatchObject({
      state: "success",
      log_url: RUN_URL,
      description: expect.stringMatching(/^Active again: rolled back from /),
    });
    expect(outcome.printed).toContain("GitHub deployment 1 (v3) is active on qa again.");
    expect(plaintextReads(outcome)).toEqual([...AWS_URIS, "env://GITHUB_TOKEN"].sort());
    expectTokenNowhere(outcome);
  });

  it("the other functions never read the GitHub token", async () => {
    github = await startFakeGitHub(TOKEN);
    const outcome = await printing(withGitHub(), (shipyard) => shipyard.status("qa"));
    expect(outcome.error).toBeUndefined();
    expect(plaintextReads(outcome)).toEqual(AWS_URIS);
    expect(github.requests).toEqual([]);
  });

  it("without --github-token nothing goes to GitHub, even when the module's own process has GITHUB_* set", async () => {
    github = await startFakeGitHub(TOKEN);
    const planted = {
      GITHUB_ACTIONS: "true",
      GITHUB_TOKEN: TOKEN,
      GITHUB_REPOSITORY: "acme/app",
      GITHUB_API_URL: github.url,
    };
    const saved = Object.fromEntries(Object.keys(planted).map((name) => [name, process.env[name]]));
    Object.assign(process.env, planted);
    try {
      const outcome = await printing(withGitHub({ githubToken: undefined }), (shipyard) =>
        shipyard.deploy("qa", image("4"), "v5"),
      );
      expect(outcome.error).toBeUndefined();
      const report = JSON.parse(String(outcome.result)) as Report;
      expect(report).toMatchObject({ command: "deploy", outcome: "succeeded" });
      expect(report.details).not.toHaveProperty("githubDeployment");
      expect(github.requests).toEqual([]);
      expect(plaintextReads(outcome)).toEqual(AWS_URIS);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("a token GitHub refuses is a warning naming the permission; the deploy still succeeds and the token stays hidden", async () => {
    github = await startFakeGitHub("ghs_SomeOtherTokenTheFakeAccepts");
    const outcome = await printing(withGitHub(), (shipyard) => shipyard.deploy("qa", image("5"), "v6"));
    expect(outcome.error).toBeUndefined();
    const report = JSON.parse(String(outcome.result)) as Report;
    expect(report).toMatchObject({ command: "deploy", outcome: "succeeded", exitCode: 0 });
    expect(report.warnings).toContainEqual(
      expect.stringMatching(
        /^GitHub Deployments: creating the deployment failed \(HTTP 401.*the token needs the deployments: write permission/,
      ),
    );
    // After the refusal the run leaves GitHub alone.
    expect(github.routes()).toEqual([`POST ${DEPLOYMENTS}`]);
    expectTokenNowhere(outcome);
  });
});

describe("the GitHub flags are checked before anything is read", () => {
  const refused: Array<[string, ShipyardArgs, string]> = [
    [
      "a token without a repository",
      { githubRepository: "" },
      "--github-token needs --github-repository=owner/name",
    ],
    [
      "a repository that is not owner/name",
      { githubRepository: "https://github.com/acme/app" },
      '--github-repository "https://github.com/acme/app" must be owner/name',
    ],
    ["a run id that is not a number", { githubRunId: "run-7" }, '--github-run-id "run-7" must be'],
    [
      "an API URL that is not http(s)",
      { githubApiUrl: "api.github.com" },
      '--github-api-url "api.github.com" must be an http(s) URL',
    ],
    [
      "a server URL that is not http(s)",
      { githubServerUrl: "github.example.com" },
      '--github-server-url "github.example.com" must be an http(s) URL',
    ],
  ];

  for (const [what, flags, message] of refused) {
    it(`refuses ${what}`, async () => {
      github = await startFakeGitHub(TOKEN);
      const deploysBefore = sim.callsTo("UpdateService").length;
      const outcome = await printing(withGitHub(flags), (shipyard) => shipyard.deploy("qa", image("6")));
      expect(outcome.error?.message).toContain(
        "Shipyard's GitHub settings are invalid; nothing was run. Fix these flags:",
      );
      expect(outcome.error?.message).toContain(message);
      expect(outcome.engine.queries.filter((query) => query.chain.at(-1)?.field === "plaintext")).toEqual([]);
      expect(sim.callsTo("UpdateService")).toHaveLength(deploysBefore);
      expect(github.requests).toEqual([]);
    });
  }
});
