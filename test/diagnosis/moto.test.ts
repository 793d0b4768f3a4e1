/**
 * The load balancer and CloudWatch Logs gateways against moto, an implementation of the AWS APIs that
 * is not Shipyard's own emulator: the same answers, read the same way.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openElb } from "../../src/aws/elb.js";
import { openLogs } from "../../src/aws/logs.js";
import { type Moto, startMoto } from "../support/moto.js";

const credentials = { accessKeyId: "AKIAMOTOTEST", secretAccessKey: "moto-secret" };
const region = "eu-west-1";
let moto: Moto;

beforeAll(async () => {
  moto = await startMoto();
}, 40_000);
afterAll(() => moto?.stop());

/** moto's default VPC in the region (EC2's query API; no EC2 client is a dependency of Shipyard). */
async function defaultVpc(): Promise<string> {
  const answer = await fetch(moto.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: "Action=DescribeVpcs&Version=2016-11-15",
  });
  const id = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(await answer.text())?.[1];
  if (!id) throw new Error("moto answered DescribeVpcs without a VPC");
  return id;
}

describe("against moto", () => {
  it("Elb reads the target groups and their targets' health", async () => {
    const config = { region, endpoint: moto.endpoint, credentials };
    const vpcId = await defaultVpc();
    const raw = new ElasticLoadBalancingV2Client(config);
    const created = await raw.send(
      new CreateTargetGroupCommand({
        Name: "web",
        Protocol: "HTTP",
        Port: 3000,
        VpcId: vpcId,
        TargetType: "ip",
        HealthCheckPath: "/health",
      }),
    );
    const arn = created.TargetGroups![0]!.TargetGroupArn!;
    await raw.send(
      new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: "10.0.1.5", Port: 3000 }] }),
    );
    const elb = await openElb(config);
    const groups = await elb.describeTargetGroups([arn]);
    expect(groups.map((g) => [g.TargetGroupName, g.HealthCheckPath])).toEqual([["web", "/health"]]);
    const health = await elb.describeTargetHealth(arn);
    expect(health).toHaveLength(1);
    expect(health[0]).toMatchObject({ id: "10.0.1.5", port: 3000 });
    expect(typeof health[0]!.state).toBe("string");
    expect(elb.sent).toEqual(["DescribeTargetGroups", "DescribeTargetHealth"]);
  });

  it("Logs reads the last lines of a stream and filters a group's streams from a time", async () => {
    const config = { region, endpoint: moto.endpoint, credentials };
    const raw = new CloudWatchLogsClient(config);
    const group = "/ecs/web";
    const now = Date.now();
    await raw.send(new CreateLogGroupCommand({ logGroupName: group }));
    for (const [stream, lines] of [
      ["web/app/task1", ["one", "two", "three"]],
      ["web/app/task2", ["other"]],
    ] as const) {
      await raw.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      await raw.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          logEvents: lines.map((message, i) => ({ message, timestamp: now - 10_000 + i * 1000 })),
        }),
      );
    }
    const logs = await openLogs(config);
    const last = await logs.lastLines(group, "web/app/task1", 2);
    expect(last.map((l) => l.message)).toEqual(["two", "three"]);
    const filtered = await logs.filter({
      group,
      streams: ["web/app/task1", "web/app/task2"],
      startTime: now - 9_500,
    });
    expect(filtered.lines.map((l) => [l.stream, l.message]).sort()).toEqual([
      ["web/app/task1", "three"],
      ["web/app/task1", "two"],
    ]);
  });
});
