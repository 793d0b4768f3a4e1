/**
 * `shipyard init` against moto's ECS server, a second implementation of the API: the same real-world
 * task definitions as against the simulator (test/init/fixtures/README.md), adopted through the real
 * SDK, and `plan` on the written files shows no task definition change but the image.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import type { SourceFiles } from "../../src/commands/context.js";
import { runCommand } from "../../src/commands/run.js";
import { parseConfig } from "../../src/config/load.js";
import { renderTaskDefinition } from "../../src/config/taskdef.js";
import type { Report } from "../../src/report/report.js";
import { FakeClock } from "../support/clock.js";
import { type Moto, startMoto } from "../support/moto.js";
import { captureOutput, memoryFiles } from "../support/world.js";

const credentials = { accessKeyId: "AKIAMOTOINIT", secretAccessKey: "moto-secret" };
const DATADOG = JSON.parse(
  await readFile(new URL("./fixtures/firelens-datadog.json", import.meta.url), "utf8"),
) as RegisterTaskDefinitionCommandInput;
const APP_REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-httpd-service";
const NEXT_IMAGE = `${APP_REPO}@sha256:${"b".repeat(64)}`;
const ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/notes-api";
const EXAMPLE = new URL("../../examples/ecr/", import.meta.url);

let moto: Moto;
let ecs: ECSClient;
let dir: string;

beforeAll(async () => {
  moto = await startMoto();
  ecs = new ECSClient({ region: "eu-west-1", endpoint: moto.endpoint, credentials });
  // moto loads its ECS backend on the first call (seconds): pay it here, not in a test's budget.
  await ecs.send(new ListClustersCommand({}));
}, 40_000);

afterAll(() => moto?.stop());

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shipyard-init-moto-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, raw: Record<string, unknown>, files: SourceFiles): Promise<Report> {
  const command = await loadCommand(name);
  if (!command) throw new Error(`no command ${name}`);
  return runCommand(
    command,
    {
      clock: new FakeClock(),
      random: () => 0.5,
      signal: new AbortController().signal,
      env: { AWS_ENDPOINT_URL_ECS: moto.endpoint },
      output: captureOutput().output,
      files,
      invocation: cliInvocation({ script: "/app/node_modules/.bin/shipyard", cwd: dir }, {}),
      awsCredentials: async () => credentials,
    },
    raw,
  );
}

const init = (raw: Record<string, unknown>) => run("init", raw, memoryFiles({}, dir));

async function plan(env: string, image: string, release: string): Promise<Report> {
  const read = (file: string) => readFile(join(dir, file), "utf8");
  const files = memoryFiles(
    { "shipyard.json": await read("shipyard.json"), "task-def.json": await read("task-def.json") },
    dir,
  );
  return run("plan", { env, image, release }, files);
}

/** A cluster, a registered task definition and a service running it (moto keeps them per region). */
async function service(
  region: string,
  cluster: string,
  name: string,
  definition: RegisterTaskDefinitionCommandInput,
): Promise<string> {
  const client = new ECSClient({ region, endpoint: moto.endpoint, credentials });
  await client.send(new CreateClusterCommand({ clusterName: cluster }));
  const registered = await client.send(new RegisterTaskDefinitionCommand(definition));
  const arn = registered.taskDefinition!.taskDefinitionArn!;
  await client.send(
    new CreateServiceCommand({ cluster, serviceName: name, taskDefinition: arn, desiredCount: 1 }),
  );
  return arn;
}

describe("init against moto", () => {
  it("adopts the FireLens/Datadog service; plan then shows only the image", async () => {
    const arn = await service("eu-west-1", "apps", "httpd", {
      ...DATADOG,
      tags: [{ key: "team", value: "web" }],
    });
    const report = await init({
      env: ["production"],
      region: ["eu-west-1"],
      cluster: ["apps"],
      service: ["httpd"],
    });
    expect(report.reason).toBeUndefined();
    expect(report).toMatchObject({ outcome: "succeeded", exitCode: 0 });
    expect(report.details).toMatchObject({ awsCalls: 2, container: "app" });
    expect((await readdir(dir)).sort()).toEqual([".github", "shipyard.json", "task-def.json"]);

    const config = parseConfig(await readFile(join(dir, "shipyard.json"), "utf8"));
    expect(config.image).toBe(APP_REPO);
    // moto reports no deployment settings: Shipyard's defaults apply, and init says so.
    expect(config.environments.production?.deployment).toMatchObject({
      strategy: "rolling",
      maximumPercent: 200,
    });
    expect(report.details?.toDecide).toContain(
      "production: ECS reported no deployment settings: Shipyard's defaults apply (rolling, 200%/100%, circuit breaker with rollback)",
    );
    const template = JSON.parse(await readFile(join(dir, "task-def.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(template).toMatchObject({
      family: "firelens-example-datadog",
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      ephemeralStorage: { sizeInGiB: 30 },
      tags: [{ key: "team", value: "web" }],
    });

    const planned = await plan("production", NEXT_IMAGE, "v2");
    expect(planned.outcome).toBe("planned");
    expect(planned.previousTaskDefinition).toBe(arn);
    expect(planned.details?.taskDefinitionChanges).toEqual([
      `~ containerDefinitions[app].image: "${DATADOG.containerDefinitions![1]!.image}" → "${NEXT_IMAGE}"`,
      '+ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v2"',
    ]);
  });

  it("adopts two environments with four calls; plan shows only the image for each", async () => {
    const config = parseConfig(await readFile(new URL("shipyard.json", EXAMPLE), "utf8"));
    const templateText = await readFile(new URL("task-def.json", EXAMPLE), "utf8");
    const live: Record<string, string> = {};
    for (const [name, environment] of Object.entries(config.environments)) {
      live[name] = `${ECR}@sha256:${(name === "staging" ? "1" : "2").repeat(64)}`;
      const rendered = renderTaskDefinition({
        templateText,
        source: "examples/ecr/task-def.json",
        environmentName: name,
        environment,
        repository: config.image,
        image: live[name]!,
        release: `${name}-release`,
        planCommand: "plan",
      });
      await service(environment.region, environment.cluster, environment.service, rendered);
    }
    const report = await init({
      env: ["staging", "production"],
      region: ["eu-central-1"],
      cluster: ["notes-staging", "notes-production"],
      service: ["notes-api"],
    });
    expect(report.reason).toBeUndefined();
    expect(report.details).toMatchObject({ awsCalls: 4, container: "api" });
    const written = parseConfig(await readFile(join(dir, "shipyard.json"), "utf8"));
    expect(Object.keys(written.environments.production!.variables).sort()).toEqual([
      "DATABASE_URL_SECRET",
      "EXECUTION_ROLE_ARN",
      "FAMILY",
      "LOG_GROUP",
      "SESSION_KEY_SECRET",
      "TASK_ROLE_ARN",
    ]);
    for (const name of ["staging", "production"]) {
      const next = `${ECR}@sha256:${"9".repeat(64)}`;
      const planned = await plan(name, next, `${name}-release`);
      expect(planned.details?.taskDefinitionChanges).toEqual([
        `~ containerDefinitions[api].image: "${live[name]}" → "${next}"`,
      ]);
    }
  });

  it("refuses a service moto does not have, with the reason", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "empty" }));
    const report = await init({
      env: ["staging"],
      region: ["eu-west-1"],
      cluster: ["empty"],
      service: ["nope"],
    });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^Cannot read staging \(empty\/nope in eu-west-1\): service "nope" in cluster "empty" was not found/,
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
