/**
 * Functions invoked the way `dagger call` invokes them: the engine calls the constructor (its result
 * is the object's state), then the function with that state as its parent, each call in a fresh
 * module runtime running @dagger.io/dagger's entrypoint. Arguments arrive as the engine sends them:
 * JSON values, with the defaults filled in, and core objects (the source Directory, the credential
 * Secrets) as IDs the fake engine minted. The commands reach the ECS simulator through the endpoint
 * override in the runtime's environment, with credentials read from the Secrets; a plan is compared
 * with the same plan made by the CLI, and a deploy runs on a fake clock (module-runtime.ts) so its
 * waits take no real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIO, runCli } from "../../bin/cli.js";
import { cliRuntime } from "../../bin/runtime.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { SIM_TOKEN } from "../../src/emulator/sentry.js";
import type { Report } from "../../src/report/report.js";
import { execs, existsOfType, fixture } from "../dagger/harness.js";
import { FakeClock } from "../support/clock.js";
import { type ArgValue, type Chain, FakeEngine } from "../support/fake-engine.js";
import {
  type FunctionCall,
  fakeClock,
  type ModuleFiles,
  moduleFiles,
  RUNTIME_TEST_TIMEOUT_MS,
  type RuntimeRun,
  runModuleRuntime,
} from "./runner.js";

const KEY_ID = "AKIAENTRYPOINTTEST01";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiEntrypointKey";
const SESSION = "FwoGZXIvYXdzEEntrypointSessionToken";
/** What `--aws-access-key-id=env://AWS_ACCESS_KEY_ID` and friends resolve to in the engine. */
const SECRETS: Record<string, string> = {
  "env://AWS_ACCESS_KEY_ID": KEY_ID,
  "env://AWS_SECRET_ACCESS_KEY": SECRET_KEY,
  "env://AWS_SESSION_TOKEN": SESSION,
  "env://SENTRY_AUTH_TOKEN": SIM_TOKEN,
};
const CREDENTIALS = {
  awsAccessKeyId: "env://AWS_ACCESS_KEY_ID",
  awsSecretAccessKey: "env://AWS_SECRET_ACCESS_KEY",
  awsSessionToken: "env://AWS_SESSION_TOKEN",
  sentryAuthToken: "env://SENTRY_AUTH_TOKEN",
};
const AWS_URIS = ["env://AWS_ACCESS_KEY_ID", "env://AWS_SECRET_ACCESS_KEY", "env://AWS_SESSION_TOKEN"];
const RUNNING_IMAGE = `ghcr.io/acme/app@sha256:${"0".repeat(64)}`;
const IMAGE = `ghcr.io/acme/app@sha256:${"e".repeat(64)}`;
const DEPLOYED_IMAGE = `ghcr.io/acme/app@sha256:${"f".repeat(64)}`;

let sim: EcsSimulator;
let module: ModuleFiles;
const engines: FakeEngine[] = [];

beforeAll(async () => {
  sim = await EcsSimulator.start(new FakeClock());
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: RUNNING_IMAGE }],
  });
  sim.createService({ cluster: "main", service: "web", taskDefinition: v1, desiredCount: 2 });
  module = moduleFiles();
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await sim?.stop();
  module?.dispose();
});

async function startEngine(): Promise<FakeEngine> {
  const engine = new FakeEngine({ secrets: SECRETS, responders: [existsOfType] });
  await engine.start();
  engines.push(engine);
  return engine;
}

/** The source Directory as the engine loads it for the constructor's defaultPath: `host.directory(path)`. */
function sourceId(engine: FakeEngine, name: string): string {
  return engine.idFor([
    { field: "host", args: {} },
    { field: "directory", args: { path: fixture(name) } },
  ]);
}

/** A Secret for `--flag=env://NAME`. */
function secretId(engine: FakeEngine, uri: string): string {
  return engine.idFor([{ field: "secret", args: { uri } }]);
}

/** The constructor's arguments as the engine sends them: the defaults filled in, objects as IDs. */
function constructorArgs(
  engine: FakeEngine,
  fixtureName: string,
  credentials: boolean,
): Record<string, ArgValue> {
  return {
    source: sourceId(engine, fixtureName),
    app: ".",
    nodeVersion: "24",
    pnpmVersion: "",
    postgresImage: "postgres:16",
    commit: "",
    sourceUrl: "",
    githubRepository: "",
    githubRunId: "",
    githubServerUrl: "",
    githubApiUrl: "",
    ...(credentials
      ? Object.fromEntries(Object.entries(CREDENTIALS).map(([name, uri]) => [name, secretId(engine, uri)]))
      : {}),
  };
}

/**
 * The state the engine keeps for Shipyard after the constructor call, and hands back as the parent
 * of every function call. The first test proves the constructor returns exactly this.
 */
const moduleState = constructorArgs;

function invocation(
  engine: FakeEngine,
  name: string,
  inputArgs: Record<string, ArgValue>,
  parent: { fixture: string; credentials: boolean },
): FunctionCall {
  return {
    parentName: "Shipyard",
    name,
    parent: moduleState(engine, parent.fixture, parent.credentials),
    inputArgs,
  };
}

function run(engine: FakeEngine, call: FunctionCall, ecs: EcsSimulator = sim): Promise<RuntimeRun> {
  return runModuleRuntime(engine, module, call, { AWS_ENDPOINT_URL_ECS: ecs.endpoint });
}

/**
 * A simulator of its own, for a test that changes a service or counts every call (the shared one
 * serves the plans, which only read). It runs qa-web on revision 1, and is stopped afterwards.
 */
async function withOwnSimulator<T>(work: (ecs: EcsSimulator, clock: FakeClock) => Promise<T>): Promise<T> {
  const clock = new FakeClock();
  const ecs = await EcsSimulator.start(clock);
  try {
    const v1 = ecs.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: RUNNING_IMAGE }],
    });
    ecs.createService({ cluster: "main", service: "qa-web", taskDefinition: v1, desiredCount: 2 });
    return await work(ecs, clock);
  } finally {
    await ecs.stop();
  }
}

function plaintextReads(engine: FakeEngine): string[] {
  return engine
    .chainsEndingWith("plaintext")
    .map((chain) => String(chain.at(-2)?.args["uri"]))
    .sort();
}

/** No secret's plaintext in any query the runtime sent, nor in anything it printed. */
function expectNoPlaintext(engine: FakeEngine, result: RuntimeRun): void {
  const sent = [...engine.queries.map((q) => q.text), result.stdout, result.stderr];
  for (const secret of Object.values(SECRETS)) {
    for (const text of sent) expect(text).not.toContain(secret);
  }
}

/**
 * The same command through the other face: `shipyard <argv> --json` (the CLI, in-process) in the
 * fixture's folder, with the same credentials and the same simulator.
 */
async function cliReport(fixtureName: string, argv: string[]): Promise<Report> {
  const stdout: string[] = [];
  const io: CliIO = {
    stdout: (text) => stdout.push(text),
    stderr: () => {},
    env: { PATH: process.env["PATH"], AWS_ENDPOINT_URL_ECS: sim.endpoint },
    cwd: fixture(fixtureName),
    signal: new AbortController().signal,
    script: "/usr/local/bin/shipyard",
  };
  // The CLI's credentials come from the AWS SDK's chain (this process's environment): handed in
  // directly instead, so concurrent tests need not share process.env.
  const credentials = { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY, sessionToken: SESSION };
  await runCli([...argv, "--json"], io, (cliIo, current) => ({
    ...cliRuntime(cliIo, current),
    awsCredentials: async () => credentials,
  }));
  return JSON.parse(stdout.join("\n")) as Report;
}

/** What two runs of one command share: everything but when it ran and the commands it suggests. */
function outcomeOf(report: Report): Partial<Report> {
  const { timings, nextSteps, ...rest } = report;
  void timings;
  void nextSteps;
  return rest;
}

/** A successful call: one returnValue, no returnError, the process ending by itself with 0. */
function expectReturned(result: RuntimeRun): void {
  expect(result.error, result.stderr).toBeUndefined();
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.returns).toBe(1);
}

describe.concurrent("function calls through the SDK entrypoint", () => {
  it(
    "the constructor returns the object's state: settings as given, source and Secrets as their IDs, no plaintext read",
    async () => {
      const engine = await startEngine();
      const inputArgs = constructorArgs(engine, "deployable", true);
      const result = await run(engine, { parentName: "Shipyard", name: "", parent: {}, inputArgs });
      expectReturned(result);
      expect(result.value).toEqual(moduleState(engine, "deployable", true));
      expect(plaintextReads(engine)).toEqual([]);
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );

  it(
    "plan --env staging --image <digest> returns the plan the CLI makes, read with the Secrets, changing nothing",
    async () => {
      const engine = await startEngine();
      const registered = sim.callsTo("RegisterTaskDefinition").length;
      const result = await run(
        engine,
        invocation(
          engine,
          "plan",
          { env: "staging", image: IMAGE, release: "" },
          { fixture: "deployable", credentials: true },
        ),
      );
      expectReturned(result);
      const report = JSON.parse(String(result.value)) as Report;
      expect(report).toMatchObject({
        command: "plan",
        environment: "staging",
        outcome: "planned",
        exitCode: 0,
        image: IMAGE,
      });
      // ECS was read with the access key from the Secret (before the CLI below reads it too).
      expect(sim.callsTo("DescribeServices").map((call) => call.caller)).toContain(KEY_ID);
      // The same command layer as the CLI: the same plan, down to the rendered task definition.
      const cli = await cliReport("deployable", ["plan", "--env", "staging", "--image", IMAGE]);
      expect(outcomeOf(report)).toEqual(outcomeOf(cli));
      expect(report.details).toHaveProperty("renderedTaskDefinition.containerDefinitions.0.image", IMAGE);
      expect(sim.callsTo("RegisterTaskDefinition")).toHaveLength(registered);
      expect(sim.callsTo("UpdateService")).toEqual([]);
      // shipyard.json came from the source Directory the constructor was given.
      expect(engine.chainsEndingWith("contents").map((chain) => engine.render(chain))).toContain(
        `host.directory(path: ${JSON.stringify(fixture("deployable"))}).file(path: "shipyard.json").contents`,
      );
      // Plan never talks to Sentry: the token given to the module stays unread.
      expect(plaintextReads(engine)).toEqual(AWS_URIS);
      expectNoPlaintext(engine, result);
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );

  it(
    "deploy --env qa --image <digest> --release v2 rolls the image out on ECS and returns the succeeded report",
    async () => {
      await withOwnSimulator(async (ecs, clock) => {
        // The runtime's clock jumps through its waits (module-runtime.ts); the simulator's moves 5 s
        // with every call it answers, so the rollout completes after a few polls and nothing sleeps.
        ecs.onCall = () => clock.advance(5_000);
        const startedAt = clock.now();
        const engine = await startEngine();
        const call = invocation(
          engine,
          "deploy",
          { env: "qa", image: DEPLOYED_IMAGE, release: "v2", registryUsername: "", skipRequires: false },
          { fixture: "deployable", credentials: true },
        );
        const result = await runModuleRuntime(engine, module, call, {
          AWS_ENDPOINT_URL_ECS: ecs.endpoint,
          ...fakeClock(startedAt),
        });
        expectReturned(result);
        const report = JSON.parse(String(result.value)) as Report;
        expect(report).toMatchObject({
          command: "deploy",
          environment: "qa",
          outcome: "succeeded",
          exitCode: 0,
          cluster: "main",
          service: "qa-web",
          image: DEPLOYED_IMAGE,
          release: "v2",
        });
        expect(report.previousTaskDefinition).toMatch(/:task-definition\/web:1$/);
        expect(report.taskDefinition).toMatch(/:task-definition\/web:2$/);
        // The waits ran on the injected clock: fake seconds passed, not real ones.
        expect(report.timings.startedAt).toBe(new Date(startedAt).toISOString());
        expect(report.timings.totalSeconds).toBeGreaterThan(0);
        // The service runs the new revision with the image, and every ECS call was signed with the
        // access key read from the Secret given to the module.
        const registered = ecs.callsTo("RegisterTaskDefinition").map((c) => c.input) as Array<{
          containerDefinitions: Array<{ image: string }>;
        }>;
        expect(registered.map((input) => input.containerDefinitions[0]!.image)).toEqual([DEPLOYED_IMAGE]);
        expect(ecs.describe("main", "qa-web")["taskDefinition"]).toBe(report.taskDefinition);
        expect(ecs.callsTo("UpdateService")).toHaveLength(1);
        expect(new Set(ecs.calls.map((c) => c.caller))).toEqual(new Set([KEY_ID]));
        // deploy is one of the two commands that read the Sentry token (qa has no sentry: unused).
        expect(plaintextReads(engine)).toEqual([...AWS_URIS, "env://SENTRY_AUTH_TOKEN"].sort());
        expectNoPlaintext(engine, result);
      });
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );

  it(
    "deploy with a token pasted as --image fails with the exit-2 report as the Dagger error, the token masked, no AWS call",
    async () => {
      await withOwnSimulator(async (ecs) => {
        const engine = await startEngine();
        const call = invocation(
          engine,
          "deploy",
          { env: "qa", image: SIM_TOKEN, release: "", registryUsername: "", skipRequires: false },
          { fixture: "deployable", credentials: true },
        );
        const result = await run(engine, call, ecs);
        expect(result.exitCode, result.stderr).toBe(1);
        expect(result.returns).toBe(1);
        expect(result.value).toBeUndefined();
        expect(result.error).toMatch(
          /^deploy qa: bad input or configuration; nothing was changed \(exit 2\)\./,
        );
        expect(result.error).toContain('image "***" is not a digest reference');
        const json = result.error!.slice(result.error!.indexOf("Report:\n") + "Report:\n".length);
        expect(JSON.parse(json)).toMatchObject({ command: "deploy", environment: "qa", exitCode: 2 });
        // The Sentry token was read (deploy reads it first), so the scrubber knew it everywhere: in the
        // error the engine shows, in every query, and in what the runtime printed.
        expect(plaintextReads(engine)).toEqual(["env://SENTRY_AUTH_TOKEN"]);
        expect(result.error).not.toContain(SIM_TOKEN);
        expectNoPlaintext(engine, result);
        expect(ecs.calls).toEqual([]);
      });
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );

  it(
    "lint runs the app's lint and typecheck containers and returns null",
    async () => {
      const engine = await startEngine();
      const result = await run(
        engine,
        invocation(engine, "lint", {}, { fixture: "app", credentials: false }),
      );
      expectReturned(result);
      expect(result.value).toBeNull();
      const synced = engine.chainsEndingWith("sync").map((chain: Chain) => execs(chain).at(-1));
      expect(synced).toEqual(
        expect.arrayContaining([
          ["pnpm", "run", "lint"],
          ["pnpm", "run", "typecheck"],
        ]),
      );
      expect(synced).toHaveLength(2);
      // The containers are built on the source Directory given to the constructor.
      for (const chain of engine.chainsEndingWith("sync")) {
        const mounted = chain.filter(
          (call) => call.field === "withDirectory" && call.args["path"] === "/app",
        );
        expect(mounted.map((call) => call.args["source"])).toEqual([
          sourceId(engine, "app"),
          sourceId(engine, "app"),
        ]);
      }
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );
});
