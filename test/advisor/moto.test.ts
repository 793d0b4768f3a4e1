/**
 * The rollout-speed section against moto (a second, independent implementation of ECS and ELBv2):
 * moto 5.2.1 answers DescribeTargetGroupAttributes with deregistration_delay.timeout_seconds (300 by
 * default, as AWS) and DescribeTargetGroups with the health check interval and healthy threshold, so
 * `plan` reads the same settings from it as from AWS, and ModifyTargetGroupAttributes shows in it.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import type { RolloutSpeed } from "../../src/commands/rollout-speed.js";
import { runCommand } from "../../src/commands/run.js";
import type { Report } from "../../src/report/report.js";
import { FakeClock } from "../support/clock.js";
import { type Moto, startMoto } from "../support/moto.js";
import {
  captureOutput,
  configText,
  holdsTheWorldsImages,
  memoryFiles,
  NEW_IMAGE,
  OLD_IMAGE,
  TEMPLATE,
} from "../support/world.js";

const region = "eu-west-1";
const credentials = { accessKeyId: "AKIAMOTOADVISOR", secretAccessKey: "moto-secret" };
let moto: Moto;
let targetGroupArn: string;

/** EC2 over its query protocol (moto routes by the signature's service name; it does not check it). */
async function createVpc(endpoint: string): Promise<string> {
  const answer = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: "CreateVpc",
      CidrBlock: "10.0.0.0/16",
      Version: "2016-11-15",
    }).toString(),
  });
  const text = await answer.text();
  const vpcId = /<vpcId>([^<]+)<\/vpcId>/.exec(text)?.[1];
  if (!answer.ok || !vpcId) throw new Error(`CreateVpc: ${text}`);
  return vpcId;
}

beforeAll(async () => {
  moto = await startMoto();
  const { endpoint } = moto;
  const elb = new ElasticLoadBalancingV2Client({ region, endpoint, credentials });
  const group = await elb.send(
    new CreateTargetGroupCommand({
      Name: "web",
      Protocol: "HTTP",
      Port: 3000,
      VpcId: await createVpc(endpoint),
      TargetType: "ip",
      HealthCheckIntervalSeconds: 30,
      HealthyThresholdCount: 5,
    }),
  );
  targetGroupArn = group.TargetGroups![0]!.TargetGroupArn!;
  const ecs = new ECSClient({ region, endpoint, credentials });
  await ecs.send(new CreateClusterCommand({ clusterName: "main" }));
  const v1 = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      containerDefinitions: [{ name: "app", image: OLD_IMAGE, memory: 512 }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: "main",
      serviceName: "web",
      taskDefinition: v1.taskDefinition!.taskDefinitionArn!,
      desiredCount: 2,
      loadBalancers: [{ targetGroupArn, containerName: "app", containerPort: 3000 }],
    }),
  );
}, 40_000);

afterAll(() => {
  moto?.stop();
});

async function plan(): Promise<Report> {
  const command = await loadCommand("plan");
  if (!command) throw new Error("no command plan");
  return runCommand(
    command,
    {
      clock: new FakeClock(),
      random: () => 0.5,
      signal: new AbortController().signal,
      env: { AWS_ENDPOINT_URL: moto.endpoint },
      output: captureOutput().output,
      files: memoryFiles({ "shipyard.json": configText(), "task-def.json": TEMPLATE }),
      invocation: cliInvocation(
        { script: "/app/node_modules/.bin/shipyard", cwd: "/app" },
        { env: "staging" },
      ),
      awsCredentials: async () => credentials,
      fetch: holdsTheWorldsImages(),
    },
    { env: "staging", image: NEW_IMAGE, release: "v2" },
  );
}

describe("rollout speed against moto's ECS and ELBv2", () => {
  it("reads the target group's defaults, then the deregistration delay a person lowered", async () => {
    const before = await plan();
    expect(before.exitCode).toBe(0);
    const speed = before.details?.rolloutSpeed as RolloutSpeed;
    expect(speed.notes).toEqual([]);
    expect(speed.settings.loadBalancer).toEqual({
      targetGroup: "web",
      healthCheckIntervalSeconds: 30,
      healthyThresholdCount: 5,
      deregistrationDelaySeconds: 300,
    });
    expect(speed.predictedSeconds).toBe(480);
    expect(speed.loadBalancerCalls).toBe(2);

    const elb = new ElasticLoadBalancingV2Client({ region, endpoint: moto.endpoint, credentials });
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: targetGroupArn,
        Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "30" }],
      }),
    );
    const after = (await plan()).details?.rolloutSpeed as RolloutSpeed;
    expect(after.settings.loadBalancer?.deregistrationDelaySeconds).toBe(30);
    expect(after.predictedSeconds).toBe(210);
    expect(after.advice.map((a) => a.setting)).not.toContain(
      "target group web: deregistration_delay.timeout_seconds",
    );
  }, 60_000);
});
