/**
 * Every Elastic Load Balancing (v2) call Shipyard makes, in one place. Like the ECS and ECR gateways
 * it loads the SDK on first use: `shipyard --help` and every `dagger call` load this file, and only a
 * command that asks a load balancer something pays for the SDK.
 *
 * The endpoint override is AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, then AWS_ENDPOINT_URL (the
 * local emulator, moto, VPC endpoints); the credentials are the ones the ECS gateway uses.
 */
import type {
  ElasticLoadBalancingV2Client,
  Rule,
  TagDescription,
  TargetGroup,
  TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { type AwsClientOptions, AwsGateway, clientConfig, endpointOverride } from "./client.js";

export type ElbClientOptions = AwsClientOptions;

export type ElbClientFactory = (options: ElbClientOptions) => Promise<ElasticLoadBalancingV2Client>;

/** The real client, with the SDK's standard retries (these calls are few and read-only or rare). */
export const createElbClient: ElbClientFactory = async (options) => {
  const { ElasticLoadBalancingV2Client } = await import("@aws-sdk/client-elastic-load-balancing-v2");
  return new ElasticLoadBalancingV2Client({
    ...clientConfig(options),
  });
};

/** The ELBv2 endpoint override: AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, then AWS_ENDPOINT_URL. */
export function elbEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return endpointOverride(env, "ELASTIC_LOAD_BALANCING_V2");
}

/** One registered target as the load balancer sees it. */
export interface TargetHealth {
  id: string;
  port: number | null;
  /** initial, healthy, unhealthy, unused, draining, unavailable... */
  state: string;
  /** Target.ResponseCodeMismatch, Target.Timeout, Target.FailedHealthChecks... */
  reason: string | null;
  description: string | null;
}

const sdk = () => import("@aws-sdk/client-elastic-load-balancing-v2");

export class Elb extends AwsGateway {
  constructor(client: ElasticLoadBalancingV2Client) {
    super(client);
  }

  /** DescribeTargetHealth: every target registered in one target group, with its state and why. */
  async describeTargetHealth(targetGroupArn: string, signal?: AbortSignal): Promise<TargetHealth[]> {
    const { DescribeTargetHealthCommand } = await sdk();
    const answer = await this.send<{ TargetHealthDescriptions?: TargetHealthDescription[] }>(
      "DescribeTargetHealth",
      new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
      signal,
    );
    return (answer.TargetHealthDescriptions ?? []).map((d) => ({
      id: d.Target?.Id ?? "(unknown)",
      port: d.Target?.Port ?? null,
      state: d.TargetHealth?.State ?? "unknown",
      reason: d.TargetHealth?.Reason ?? null,
      description: d.TargetHealth?.Description ?? null,
    }));
  }

  /** DescribeTargetGroups by ARN: their health check settings and load balancers. */
  async describeTargetGroups(targetGroupArns: string[], signal?: AbortSignal): Promise<TargetGroup[]> {
    if (targetGroupArns.length === 0) return [];
    const { DescribeTargetGroupsCommand } = await sdk();
    const answer = await this.send<{ TargetGroups?: TargetGroup[] }>(
      "DescribeTargetGroups",
      new DescribeTargetGroupsCommand({ TargetGroupArns: targetGroupArns }),
      signal,
    );
    return answer.TargetGroups ?? [];
  }

  /** DescribeTargetGroupAttributes: one target group's attributes (deregistration delay...), by key. */
  async describeTargetGroupAttributes(
    targetGroupArn: string,
    signal?: AbortSignal,
  ): Promise<Record<string, string>> {
    const { DescribeTargetGroupAttributesCommand } = await sdk();
    const answer = await this.send<{ Attributes?: Array<{ Key?: string; Value?: string }> }>(
      "DescribeTargetGroupAttributes",
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }),
      signal,
    );
    return Object.fromEntries((answer.Attributes ?? []).map((a) => [a.Key ?? "", a.Value ?? ""]));
  }

  /** A target group by name, or null when there is none. */
  async findTargetGroup(name: string): Promise<TargetGroup | null> {
    const { DescribeTargetGroupsCommand } = await sdk();
    try {
      const answer = await this.send<{ TargetGroups?: TargetGroup[] }>(
        "DescribeTargetGroups",
        new DescribeTargetGroupsCommand({ Names: [name] }),
      );
      return answer.TargetGroups?.[0] ?? null;
    } catch (error) {
      if (errorName(error) === "TargetGroupNotFoundException") return null;
      throw error;
    }
  }

  /** Every target group of the account and region (all pages). */
  async listTargetGroups(): Promise<TargetGroup[]> {
    const { DescribeTargetGroupsCommand } = await sdk();
    const groups: TargetGroup[] = [];
    let marker: string | undefined;
    do {
      const answer = await this.send<{ TargetGroups?: TargetGroup[]; NextMarker?: string }>(
        "DescribeTargetGroups",
        new DescribeTargetGroupsCommand({ PageSize: 400, ...(marker ? { Marker: marker } : {}) }),
      );
      groups.push(...(answer.TargetGroups ?? []));
      marker = answer.NextMarker || undefined;
    } while (marker);
    return groups;
  }

  /** CreateTargetGroup for ECS tasks in awsvpc mode (targets are IP addresses), with its tags. */
  async createTargetGroup(input: {
    name: string;
    vpcId: string;
    port: number;
    healthCheckPath: string;
    tags: Record<string, string>;
  }): Promise<TargetGroup> {
    const { CreateTargetGroupCommand } = await sdk();
    const answer = await this.send<{ TargetGroups?: TargetGroup[] }>(
      "CreateTargetGroup",
      new CreateTargetGroupCommand({
        Name: input.name,
        Protocol: "HTTP",
        Port: input.port,
        VpcId: input.vpcId,
        TargetType: "ip",
        HealthCheckPath: input.healthCheckPath,
        Tags: tagList(input.tags),
      }),
    );
    const group = answer.TargetGroups?.[0];
    if (!group?.TargetGroupArn) throw new Error("CreateTargetGroup answered without a target group ARN");
    return group;
  }

  /** DeleteTargetGroup; false when it was already gone. */
  async deleteTargetGroup(targetGroupArn: string): Promise<boolean> {
    const { DeleteTargetGroupCommand } = await sdk();
    try {
      await this.send("DeleteTargetGroup", new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn }));
      return true;
    } catch (error) {
      if (errorName(error) === "TargetGroupNotFoundException") return false;
      throw error;
    }
  }

  /** Every rule of a listener (all pages), the default rule included. */
  async describeRules(listenerArn: string): Promise<Rule[]> {
    const { DescribeRulesCommand } = await sdk();
    const rules: Rule[] = [];
    let marker: string | undefined;
    do {
      const answer = await this.send<{ Rules?: Rule[]; NextMarker?: string }>(
        "DescribeRules",
        new DescribeRulesCommand({
          ListenerArn: listenerArn,
          PageSize: 400,
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      rules.push(...(answer.Rules ?? []));
      marker = answer.NextMarker || undefined;
    } while (marker);
    return rules;
  }

  /**
   * CreateRule forwarding one host name to a target group. ELBv2 refuses a priority another rule
   * holds with PriorityInUseException; the caller chooses again.
   */
  async createHostRule(input: {
    listenerArn: string;
    priority: number;
    host: string;
    targetGroupArn: string;
    tags: Record<string, string>;
  }): Promise<Rule> {
    const { CreateRuleCommand } = await sdk();
    const answer = await this.send<{ Rules?: Rule[] }>(
      "CreateRule",
      new CreateRuleCommand({
        ListenerArn: input.listenerArn,
        Priority: input.priority,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: [input.host] } }],
        Actions: [{ Type: "forward", TargetGroupArn: input.targetGroupArn }],
        Tags: tagList(input.tags),
      }),
    );
    const rule = answer.Rules?.[0];
    if (!rule?.RuleArn) throw new Error("CreateRule answered without a rule ARN");
    return rule;
  }

  /** DeleteRule; false when it was already gone. */
  async deleteRule(ruleArn: string): Promise<boolean> {
    const { DeleteRuleCommand } = await sdk();
    try {
      await this.send("DeleteRule", new DeleteRuleCommand({ RuleArn: ruleArn }));
      return true;
    } catch (error) {
      if (errorName(error) === "RuleNotFoundException") return false;
      throw error;
    }
  }

  /** The tags of load balancer resources (rules, target groups), twenty ARNs per call. */
  async describeTags(resourceArns: string[]): Promise<Map<string, Record<string, string>>> {
    const { DescribeTagsCommand } = await sdk();
    const tags = new Map<string, Record<string, string>>();
    for (let i = 0; i < resourceArns.length; i += 20) {
      const answer = await this.send<{ TagDescriptions?: TagDescription[] }>(
        "DescribeTags",
        new DescribeTagsCommand({ ResourceArns: resourceArns.slice(i, i + 20) }),
      );
      for (const description of answer.TagDescriptions ?? []) {
        tags.set(
          description.ResourceArn ?? "",
          Object.fromEntries((description.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
        );
      }
    }
    return tags;
  }

  /** AddTags: sets (or overwrites) tags on load balancer resources. */
  async addTags(resourceArns: string[], tags: Record<string, string>): Promise<void> {
    if (resourceArns.length === 0) return;
    const { AddTagsCommand } = await sdk();
    await this.send("AddTags", new AddTagsCommand({ ResourceArns: resourceArns, Tags: tagList(tags) }));
  }
}

function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

/** Builds the gateway for a region. */
export async function openElb(options: AwsClientOptions & { factory?: ElbClientFactory }): Promise<Elb> {
  const { factory = createElbClient, ...clientOptions } = options;
  const client = await factory(clientOptions);
  return new Elb(client);
}
