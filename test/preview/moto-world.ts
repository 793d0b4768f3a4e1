/**
 * A world for preview tests on moto (ECS, ELBv2 and EC2 in one server): a VPC with two subnets, an
 * Application Load Balancer with a listener, a cluster with the `staging` service on Fargate, and a
 * way to run the preview commands as the faces do (the real SDK clients, a fake clock, the app's
 * files in memory). moto's one-off tasks are told to stop at once with exit code 0, so the database
 * and migration tasks finish like real ones that succeed.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { runCli } from "../../bin/cli.js";
import { cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import type { Runtime } from "../../src/commands/context.js";
import { runCommand } from "../../src/commands/run.js";
import { Output } from "../../src/report/output.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import { FakeClock } from "../support/clock.js";
import { type Moto, startMoto } from "../support/moto.js";
import {
  type Captured,
  captureOutput,
  holdsTheWorldsImages,
  memoryFiles,
  OLD_IMAGE,
  REPO,
} from "../support/world.js";

export const credentials = { accessKeyId: "AKIAMOTOPREVIEW", secretAccessKey: "moto-preview-secret" };
const region = "eu-west-1";

/**
 * Bridge networking: moto 5.2.1's RunTask fails on awsvpc task definitions (its network interface
 * has no private_dns_name), and one-off tasks are what previews run their SQL in. Container memory:
 * moto's RunTask adds up container-level memory only.
 */
export const PREVIEW_TEMPLATE = JSON.stringify({
  family: "web",
  cpu: "256",
  memory: "512",
  containerDefinitions: [
    {
      name: "app",
      image: "{{IMAGE}}",
      essential: true,
      memory: 512,
      portMappings: [{ containerPort: 3000 }],
      environment: [
        { name: "APP_ENV", value: "{{ENV}}" },
        { name: "DATABASE_NAME", value: "{{DATABASE_NAME}}" },
        { name: "PUBLIC_URL", value: "{{PUBLIC_URL}}" },
      ],
    },
  ],
});

export interface PreviewWorld {
  moto: Moto;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  listenerArn: string;
  vpcId: string;
  clock: FakeClock;
  captured: Captured;
  /** URLs the smoke test asked for. */
  fetched: string[];
  /** Replaces shipyard.json: `previews` over the default section, `staging` over the environment. */
  config(
    previews?: Record<string, unknown>,
    staging?: Record<string, unknown>,
    top?: Record<string, unknown>,
  ): string;
  runtime(overrides?: Partial<Runtime>): Runtime;
  run(command: string, raw?: Record<string, unknown>, overrides?: Partial<Runtime>): Promise<Report>;
  /** The CLI in-process, as `shipyard ...` parses and prints. */
  cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Every rule on the listener but the default one: priority, hosts, tags. */
  rules(): Promise<Array<{ arn: string; priority: string; hosts: string[]; tags: Record<string, string> }>>;
  targetGroups(): Promise<Array<{ arn: string; name: string; tags: Record<string, string> }>>;
  stop(): void;
}

/** EC2 over its query protocol (moto routes by the signature's service name; it does not check it). */
async function ec2(endpoint: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ ...params, Version: "2016-11-15" }).toString();
  const answer = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body,
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`EC2 ${params.Action}: ${text}`);
  return text;
}

const tagOf = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1] ?? "";

export async function startPreviewWorld(): Promise<PreviewWorld> {
  const moto = await startMoto();
  const { endpoint } = moto;
  await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: "POST",
    body: JSON.stringify({ model_name: "ecs::task", transition: { progression: "immediate" } }),
  });
  const vpcId = tagOf(await ec2(endpoint, { Action: "CreateVpc", CidrBlock: "10.0.0.0/16" }), "vpcId");
  const subnets: string[] = [];
  for (const [cidr, zone] of [
    ["10.0.1.0/24", "eu-west-1a"],
    ["10.0.2.0/24", "eu-west-1b"],
  ] as const) {
    const xml = await ec2(endpoint, {
      Action: "CreateSubnet",
      VpcId: vpcId,
      CidrBlock: cidr,
      AvailabilityZone: zone,
    });
    subnets.push(tagOf(xml, "subnetId"));
  }
  const elb = new ElasticLoadBalancingV2Client({ region, endpoint, credentials });
  const lb = await elb.send(new CreateLoadBalancerCommand({ Name: "previews", Subnets: subnets }));
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn!,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [
        { Type: "fixed-response", FixedResponseConfig: { StatusCode: "404", ContentType: "text/plain" } },
      ],
    }),
  );
  const listenerArn = listener.Listeners![0]!.ListenerArn!;

  const ecs = new ECSClient({ region, endpoint, credentials });
  await ecs.send(new CreateClusterCommand({ clusterName: "main" }));
  const v1 = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: OLD_IMAGE, memory: 512 }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: "main",
      serviceName: "web",
      taskDefinition: v1.taskDefinition!.taskDefinitionArn!,
      desiredCount: 1,
      launchType: "FARGATE",
      networkConfiguration: {
        awsvpcConfiguration: { subnets, securityGroups: [], assignPublicIp: "DISABLED" },
      },
    }),
  );

  const clock = new FakeClock();
  const captured = captureOutput();
  const fetched: string[] = [];
  const config = (
    previews: Record<string, unknown> = {},
    staging: Record<string, unknown> = {},
    top: Record<string, unknown> = {},
  ) =>
    JSON.stringify({
      image: REPO,
      ...top,
      environments: {
        staging: {
          region,
          cluster: "main",
          service: "web",
          container: "app",
          deployment: { pollSeconds: 5, timeoutSeconds: 120, rollbackTimeoutSeconds: 120 },
          variables: { DATABASE_NAME: "app_staging", PUBLIC_URL: "https://staging.example.com" },
          ...staging,
        },
      },
      previews: {
        from: "staging",
        listenerArn,
        vpcId,
        host: "pr-{{PR}}.preview.example.com",
        maxPreviews: 3,
        timeToLiveHours: 48,
        database: {
          command: ["sh", "-c", 'for s in "$@"; do psql -c "$s" || exit 1; done', "sql"],
          owner: "app",
        },
        variables: { DATABASE_NAME: "{{PREVIEW_DATABASE}}", PUBLIC_URL: "https://{{PREVIEW_HOST}}" },
        ...previews,
      },
    });
  let configText = config();
  const runtime = (overrides: Partial<Runtime> = {}): Runtime => ({
    clock,
    random: () => 0.5,
    signal: new AbortController().signal,
    env: { AWS_ENDPOINT_URL: endpoint },
    output: captured.output,
    files: memoryFiles({ "shipyard.json": configText, "task-def.json": PREVIEW_TEMPLATE }),
    invocation: cliInvocation({ script: "/app/node_modules/.bin/shipyard", cwd: "/app" }, {}),
    awsCredentials: async () => credentials,
    // The registry preflight and the preview's smoke test are answered here, never on the network.
    fetch: holdsTheWorldsImages(async (url) => {
      fetched.push(url);
      return /^https:\/\/pr-\d+\.preview\.example\.com\/health$/.test(url)
        ? new Response("ok", { status: 200 })
        : new Response("not found", { status: 404 });
    }),
    ...overrides,
  });
  const world: PreviewWorld = {
    moto,
    ecs,
    elb,
    listenerArn,
    vpcId,
    clock,
    captured,
    fetched,
    config(previews, staging, top) {
      configText = config(previews, staging, top);
      return configText;
    },
    runtime,
    async run(name, raw = {}, overrides = {}) {
      const command = await loadCommand(name);
      if (!command) throw new Error(`no command ${name}`);
      return runCommand(command, runtime(overrides), raw);
    },
    async cli(argv) {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const io = {
        stdout: (text: string) => stdout.push(text),
        stderr: (text: string) => stderr.push(text),
        env: { AWS_ENDPOINT_URL: endpoint },
        cwd: "/app",
        signal: new AbortController().signal,
        script: "/app/node_modules/.bin/shipyard",
      };
      const code = await runCli(argv, io, (cliIo, current) =>
        runtime({
          output: new Output({ stdout: cliIo.stdout, stderr: cliIo.stderr }, new Scrubber()),
          invocation: cliInvocation(cliIo, current),
        }),
      );
      return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
    },
    async rules() {
      const answer = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
      const rules = (answer.Rules ?? []).filter((r) => !r.IsDefault);
      const tags = rules.length
        ? await elb.send(new DescribeTagsCommand({ ResourceArns: rules.map((r) => r.RuleArn!) }))
        : { TagDescriptions: [] };
      return rules.map((rule) => ({
        arn: rule.RuleArn!,
        priority: rule.Priority!,
        hosts: (rule.Conditions ?? []).flatMap((c) => c.HostHeaderConfig?.Values ?? c.Values ?? []),
        tags: Object.fromEntries(
          (tags.TagDescriptions?.find((t) => t.ResourceArn === rule.RuleArn)?.Tags ?? []).map((t) => [
            t.Key!,
            t.Value!,
          ]),
        ),
      }));
    },
    async targetGroups() {
      const answer = await elb.send(new DescribeTargetGroupsCommand({}));
      const groups = answer.TargetGroups ?? [];
      const tags = groups.length
        ? await elb.send(new DescribeTagsCommand({ ResourceArns: groups.map((g) => g.TargetGroupArn!) }))
        : { TagDescriptions: [] };
      return groups.map((group) => ({
        arn: group.TargetGroupArn!,
        name: group.TargetGroupName!,
        tags: Object.fromEntries(
          (tags.TagDescriptions?.find((t) => t.ResourceArn === group.TargetGroupArn)?.Tags ?? []).map((t) => [
            t.Key!,
            t.Value!,
          ]),
        ),
      }));
    },
    stop: () => moto.stop(),
  };
  return world;
}
