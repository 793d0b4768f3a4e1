/**
 * Integration smoke test against moto's ECS server (a second, independent implementation of the
 * API): deploy, status and rollback through the real SDK. moto has no service-deployment APIs and
 * keeps stale deployment entries, so this exercises the count-based fallback, not rollout behaviour.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import { runCommand } from "../../src/commands/run.js";
import type { Report } from "../../src/report/report.js";
import { FakeClock } from "../support/clock.js";
import { type Moto, startMoto } from "../support/moto.js";
import {
  captureOutput,
  configText,
  digest,
  holdsTheWorldsImages,
  memoryFiles,
  NEW_IMAGE,
  OLD_IMAGE,
  TEMPLATE,
} from "../support/world.js";

const credentials = { accessKeyId: "AKIAMOTOTEST", secretAccessKey: "moto-secret" };
let moto: Moto;
let endpoint: string;

beforeAll(async () => {
  moto = await startMoto();
  endpoint = moto.endpoint;
  const ecs = new ECSClient({ region: "eu-west-1", endpoint, credentials });
  await ecs.send(new CreateClusterCommand({ clusterName: "main" }));
  const v1 = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      containerDefinitions: [
        {
          name: "app",
          image: OLD_IMAGE,
          memory: 512,
          environment: [{ name: "SENTRY_RELEASE", value: "v1" }],
        },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: "main",
      serviceName: "web",
      taskDefinition: v1.taskDefinition!.taskDefinitionArn!,
      desiredCount: 1,
    }),
  );
}, 40_000);

afterAll(() => {
  moto?.stop();
});

/** Runs a command as the faces do, against moto: the real SDK client, a fake clock, the app in memory. */
async function run(name: string, raw: Record<string, unknown>): Promise<Report> {
  const command = await loadCommand(name);
  if (!command) throw new Error(`no command ${name}`);
  return runCommand(
    command,
    {
      clock: new FakeClock(),
      random: () => 0.5,
      signal: new AbortController().signal,
      env: { AWS_ENDPOINT_URL_ECS: endpoint },
      output: captureOutput().output,
      files: memoryFiles({ "shipyard.json": configText(), "task-def.json": TEMPLATE }),
      invocation: cliInvocation(
        { script: "/app/node_modules/.bin/shipyard", cwd: "/app" },
        { env: "staging" },
      ),
      awsCredentials: async () => credentials,
      // The registry preflight is answered here, never on the network.
      fetch: holdsTheWorldsImages(),
    },
    { env: "staging", ...raw },
  );
}

const deploy = (raw: Record<string, unknown> = {}) =>
  run("deploy", { image: NEW_IMAGE, release: "v2", ...raw });

describe("against moto's ECS server", () => {
  it("deploys, shows status and rolls back", async () => {
    const deployed = await deploy();
    expect(deployed.outcome).toBe("succeeded");
    expect(deployed.taskDefinition).toMatch(/task-definition\/web:2$/);
    expect(deployed.previousTaskDefinition).toMatch(/task-definition\/web:1$/);

    const status = await run("status", {});
    expect(status).toMatchObject({
      outcome: "succeeded",
      taskDefinition: deployed.taskDefinition,
      image: NEW_IMAGE,
      release: "v2",
    });

    const third = await deploy({ image: digest("b"), release: "v3" });
    expect(third.outcome).toBe("succeeded");

    const back = await run("rollback", {});
    expect(back.outcome).toBe("succeeded");
    expect(back.taskDefinition).toBe(deployed.taskDefinition);
    expect(back.release).toBe("v2");
    expect(back.details?.chosenBecause).toBe("the revision before the last good one");

    const after = await run("status", {});
    expect(after.taskDefinition).toBe(deployed.taskDefinition);
  }, 60_000);
});
