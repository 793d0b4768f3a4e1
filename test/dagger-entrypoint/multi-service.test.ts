/**
 * An environment of two services (web and a worker with its own command) through the Dagger face, the
 * way `dagger call` invokes it: each function call in a fresh module runtime running
 * @dagger.io/dagger's entrypoint against the fake engine, the source Directory a folder on the host,
 * the credentials Secrets, the ECS simulator reached through the endpoint override and the deploy's
 * waits on a fake clock (module-runtime.ts). What the command layer does with several services is
 * proven in test/multi-service/; here: that the Dagger face gets the same results, the same failure
 * as its error, and passes `rollback --service` through.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import type { Report } from "../../src/report/report.js";
import { existsOfType } from "../dagger/harness.js";
import { FakeClock } from "../support/clock.js";
import { type ArgValue, FakeEngine } from "../support/fake-engine.js";
import {
  type FunctionCall,
  fakeClock,
  type ModuleFiles,
  moduleFiles,
  RUNTIME_TEST_TIMEOUT_MS,
  type RuntimeRun,
  runModuleRuntime,
} from "./runner.js";

const KEY_ID = "AKIAMULTISERVICE0001";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiMultiServiceKey";
/** What `--aws-access-key-id=env://AWS_ACCESS_KEY_ID` and friends resolve to in the engine. */
const SECRETS: Record<string, string> = {
  "env://AWS_ACCESS_KEY_ID": KEY_ID,
  "env://AWS_SECRET_ACCESS_KEY": SECRET_KEY,
};
const RUNNING_IMAGE = `ghcr.io/acme/app@sha256:${"0".repeat(64)}`;
const DEPLOYED_IMAGE = `ghcr.io/acme/app@sha256:${"d".repeat(64)}`;
const WORKER_COMMAND = ["node", "dist/worker.js"];

/** The app as the source Directory holds it: shipyard.json listing both services, one template for both. */
const SHIPYARD_JSON = {
  image: "ghcr.io/acme/app",
  environments: {
    staging: {
      region: "eu-west-1",
      cluster: "main",
      services: [
        { name: "web", traffic: true },
        { name: "worker", command: WORKER_COMMAND },
      ],
      container: "app",
      deployment: { pollSeconds: 5, timeoutSeconds: 120, rollbackTimeoutSeconds: 120 },
    },
  },
};
const TASK_DEF = {
  family: "{{SERVICE}}",
  containerDefinitions: [{ name: "app", image: "{{IMAGE}}", essential: true }],
};

let source: string;
let module: ModuleFiles;
const engines: FakeEngine[] = [];

beforeAll(() => {
  source = mkdtempSync(join(tmpdir(), "shipyard-multi-service-app-"));
  writeFileSync(join(source, "shipyard.json"), JSON.stringify(SHIPYARD_JSON, null, 2));
  writeFileSync(join(source, "task-def.json"), JSON.stringify(TASK_DEF, null, 2));
  module = moduleFiles();
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  module?.dispose();
  if (source) rmSync(source, { recursive: true, force: true });
});

async function startEngine(): Promise<FakeEngine> {
  const engine = new FakeEngine({ secrets: SECRETS, responders: [existsOfType] });
  await engine.start();
  engines.push(engine);
  return engine;
}

/** The module's state after the constructor: the defaults, the source folder and the Secrets as IDs. */
function moduleState(engine: FakeEngine): Record<string, ArgValue> {
  const secret = (uri: string) => engine.idFor([{ field: "secret", args: { uri } }]);
  return {
    source: engine.idFor([
      { field: "host", args: {} },
      { field: "directory", args: { path: source } },
    ]),
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
    awsAccessKeyId: secret("env://AWS_ACCESS_KEY_ID"),
    awsSecretAccessKey: secret("env://AWS_SECRET_ACCESS_KEY"),
  };
}

/** One function call of Shipyard, in a fresh runtime, on the simulator and a fake clock from `clock`. */
async function call(
  ecs: EcsSimulator,
  clock: FakeClock,
  name: string,
  inputArgs: Record<string, ArgValue>,
): Promise<RuntimeRun> {
  const engine = await startEngine();
  const functionCall: FunctionCall = { parentName: "Shipyard", name, parent: moduleState(engine), inputArgs };
  return runModuleRuntime(engine, module, functionCall, {
    AWS_ENDPOINT_URL_ECS: ecs.endpoint,
    ...fakeClock(clock.now()),
  });
}

/** `deploy --env staging --image <digest> --release v2`, with the defaults the engine fills in. */
const deployArgs = {
  env: "staging",
  image: DEPLOYED_IMAGE,
  release: "v2",
  registryUsername: "",
  skipRequires: false,
};

/** A simulator of its own running web (2 tasks) and worker (1 task, its command) on revision 1; stopped afterwards. */
async function withTwoServices<T>(work: (ecs: EcsSimulator, clock: FakeClock) => Promise<T>): Promise<T> {
  const clock = new FakeClock();
  const ecs = await EcsSimulator.start(clock);
  try {
    for (const [service, desiredCount, command] of [
      ["web", 2, undefined],
      ["worker", 1, WORKER_COMMAND],
    ] as const) {
      const v1 = ecs.registerTaskDefinition({
        family: service,
        containerDefinitions: [{ name: "app", image: RUNNING_IMAGE, ...(command ? { command } : {}) }],
      });
      ecs.createService({ cluster: "main", service, taskDefinition: v1, desiredCount });
    }
    // The runtime's clock jumps through its waits; the simulator's moves 5 s with every call it
    // answers, so rollouts finish (or fail) after a few polls and nothing sleeps.
    ecs.onCall = () => clock.advance(5_000);
    return await work(ecs, clock);
  } finally {
    await ecs.stop();
  }
}

const revision = (family: string, n: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${family}:${n}`;

/** A successful call: one returnValue, no returnError, the process ending by itself with 0. */
function returnedReport(result: RuntimeRun): Report {
  expect(result.error, result.stderr).toBeUndefined();
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.returns).toBe(1);
  return JSON.parse(String(result.value)) as Report;
}

/** A failed call: one returnError whose message ends with the report; returns that report. */
function failedReport(result: RuntimeRun): Report {
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.returns).toBe(1);
  expect(result.value).toBeUndefined();
  const error = String(result.error);
  return JSON.parse(error.slice(error.indexOf("Report:\n") + "Report:\n".length)) as Report;
}

const running = (ecs: EcsSimulator) => ({
  web: ecs.describe("main", "web").taskDefinition,
  worker: ecs.describe("main", "worker").taskDefinition,
});

describe.concurrent("an environment of two services through the SDK entrypoint", () => {
  it(
    "deploy moves web and worker and returns a report with a row for each; rollback --service worker then moves the worker alone",
    async () => {
      await withTwoServices(async (ecs, clock) => {
        const deployed = returnedReport(await call(ecs, clock, "deploy", deployArgs));
        expect(deployed).toMatchObject({
          command: "deploy",
          outcome: "succeeded",
          exitCode: 0,
          service: "web",
        });
        expect(deployed.services?.map((r) => [r.name, r.kind, r.state, r.taskDefinition])).toEqual([
          ["web", "service", "deployed", revision("web", 2)],
          ["worker", "service", "deployed", revision("worker", 2)],
        ]);
        expect(running(ecs)).toEqual({ web: revision("web", 2), worker: revision("worker", 2) });
        const worker = ecs.taskDefinitionBody(revision("worker", 2)) as {
          containerDefinitions: Array<{ image: string; command?: string[] }>;
        };
        expect(worker.containerDefinitions[0]).toMatchObject({
          image: DEPLOYED_IMAGE,
          command: WORKER_COMMAND,
        });
        for (const name of ["web", "worker"]) {
          expect(ecs.serviceTags("main", name)["shipyard:last-good"]).toBe(revision(name, 2));
        }
        // Every call signed with the key read from the Secret given to the module.
        expect(new Set(ecs.calls.map((c) => c.caller))).toEqual(new Set([KEY_ID]));

        const updates = ecs.callsTo("UpdateService").length;
        const back = returnedReport(
          await call(ecs, clock, "rollback", { env: "staging", to: "", service: "worker" }),
        );
        expect(back).toMatchObject({ command: "rollback", outcome: "succeeded", exitCode: 0 });
        expect(back.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
          ["worker", "deployed", revision("worker", 1)],
        ]);
        expect(running(ecs)).toEqual({ web: revision("web", 2), worker: revision("worker", 1) });
        expect(
          ecs
            .callsTo("UpdateService")
            .slice(updates)
            .map((c) => c.input.service),
        ).toEqual(["worker"]);
      });
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );

  it(
    "a worker that fails its rollout fails the call with the exit-1 report as the Dagger error, both services back on revision 1",
    async () => {
      await withTwoServices(async (ecs, clock) => {
        ecs.timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 };
        ecs.serviceBehaviours.set("worker", "failing");
        const result = await call(ecs, clock, "deploy", deployArgs);
        const report = failedReport(result);
        expect(result.error).toMatch(/\(exit 1\)/);
        expect(report).toMatchObject({ command: "deploy", outcome: "rolled_back", exitCode: 1 });
        expect(report.reason).toMatch(/^worker: the rollout failed: /);
        expect(report.services?.map((r) => [r.name, r.state, r.taskDefinition])).toEqual([
          ["web", "restored", revision("web", 1)],
          ["worker", "restored", revision("worker", 1)],
        ]);
        expect(running(ecs)).toEqual({ web: revision("web", 1), worker: revision("worker", 1) });
        expect(ecs.serviceTags("main", "web")["shipyard:last-good"]).toBeUndefined();
        expect(result.error).not.toContain(SECRET_KEY);
      });
    },
    RUNTIME_TEST_TIMEOUT_MS,
  );
});
