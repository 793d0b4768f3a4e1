/**
 * `history` and `metrics` against moto's ECS server (a second, independent implementation of the
 * API), on the same recorded history as the simulator tests: moto ignores ListTaskDefinitions'
 * `sort` and paging and has no `registeredAt`, so this proves the reading does not lean on them.
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
import { captureOutput, configText, memoryFiles, OLD_IMAGE, TEMPLATE } from "../support/world.js";
import { COMMIT_TIMES, EXPECTED_METRICS, gateway, gitRepo, NOW, seedHistory } from "./seed.js";

const credentials = { accessKeyId: "AKIAMOTOHISTORY", secretAccessKey: "moto-secret" };
let moto: Moto;
let endpoint: string;
let appRoot: string;

beforeAll(async () => {
  moto = await startMoto();
  endpoint = moto.endpoint;
  const ecs = new ECSClient({ region: "eu-west-1", endpoint, credentials });
  await ecs.send(new CreateClusterCommand({ clusterName: "main" }));
  const v1 = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      containerDefinitions: [{ name: "app", image: OLD_IMAGE, memory: 512 }],
    }),
  );
  const v1Arn = v1.taskDefinition?.taskDefinitionArn ?? "";
  await ecs.send(
    new CreateServiceCommand({ cluster: "main", serviceName: "web", taskDefinition: v1Arn, desiredCount: 1 }),
  );
  const repo = gitRepo(COMMIT_TIMES);
  appRoot = repo.root;
  await seedHistory(gateway(endpoint, credentials), v1Arn, repo.shas);
}, 40_000);

afterAll(() => {
  moto?.stop();
});

/** Runs a command as the faces do, against moto, at NOW on a fake clock. */
async function run(name: string, raw: Record<string, unknown>): Promise<Report> {
  const command = await loadCommand(name);
  if (!command) throw new Error(`no command ${name}`);
  return runCommand(
    command,
    {
      clock: new FakeClock(NOW),
      random: () => 0.5,
      signal: new AbortController().signal,
      env: { AWS_ENDPOINT_URL_ECS: endpoint, PATH: process.env.PATH },
      output: captureOutput().output,
      files: memoryFiles({ "shipyard.json": configText(), "task-def.json": TEMPLATE }, appRoot),
      invocation: cliInvocation(
        { script: "/app/node_modules/.bin/shipyard", cwd: "/app" },
        { env: "staging" },
      ),
      awsCredentials: async () => credentials,
    },
    { env: "staging", ...raw },
  );
}

const short = (arn: unknown) => String(arn).split("/").at(-1);

describe("against moto's ECS server", () => {
  it("history reads the deploys and the rollback back from the revisions' tags", async () => {
    const report = await run("history", { limit: "20" });
    expect(report.exitCode).toBe(0);
    const events = report.details?.events as Array<Record<string, unknown>>;
    expect(events.map((e) => [e.kind, short(e.revision), e.outcome, e.seconds, e.by])).toEqual([
      ["deploy", "web:9", "succeeded", 360, "alice"],
      ["deploy", "web:8", "failed", 30, "alice"],
      ["deploy", "web:7", "succeeded", 300, "octocat"],
      ["deploy", "web:6", "failed", 900, "alice"],
      ["deploy", "web:5", "rolled_back", 600, "alice"],
      ["rollback", "web:4", "succeeded", 90, "bob"],
      ["deploy", "web:4", "succeeded", 240, "alice"],
      ["deploy", "web:3", "succeeded", 300, "alice"],
      ["deploy", "web:2", "succeeded", 300, "alice"],
    ]);
    expect(short(events[4]?.rollbackTarget)).toBe("web:3");
    expect(short(events[5]?.rollbackTarget)).toBe("web:3");
    // moto answers every revision in one page, whatever maxResults says.
    expect(report.details).toMatchObject({ revisionsRead: 9, awsCalls: 11 });
  }, 30_000);

  it("metrics finds the same exact numbers", async () => {
    const report = await run("metrics", { days: "30" });
    expect(report.exitCode).toBe(0);
    expect(report.details?.metrics).toMatchObject(EXPECTED_METRICS);
    expect(report.details).toMatchObject({
      changeFailureRate: "50% (3 of 6 changes)",
      timeToRestore: "median 2h 04m over 3 restore(s)",
      awsCalls: 11,
    });
  }, 30_000);
});
