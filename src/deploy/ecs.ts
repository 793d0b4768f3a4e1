/**
 * The ECS calls the controller makes, each wrapped so its failure says what happened and what to do.
 * Command classes are imported lazily with the SDK (see client.ts).
 */
import type {
  DescribeServicesCommandOutput,
  ECSClient,
  Service,
  ServiceDeployment,
  Tag,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { ExitCode, ShipyardError } from "../errors.js";

export const TAG = {
  lastGood: "shipyard:last-good",
  previous: "shipyard:previous",
  release: "shipyard:release",
  commit: "shipyard:commit",
  environment: "shipyard:environment",
} as const;

export interface ServiceRef {
  cluster: string;
  service: string;
}

const sdk = () => import("@aws-sdk/client-ecs");

/** The error's AWS type name (ThrottlingException, ClusterNotFoundException...) or "Error". */
export function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

/** Endpoints without the service-deployment APIs (moto, older ECS-compatible servers). */
export function isUnsupportedOperation(error: unknown): boolean {
  const name = awsErrorName(error);
  return (
    name === "UnknownOperationException" ||
    name === "UnsupportedOperation" ||
    name === "NotImplemented" ||
    name === "InvalidAction" ||
    /not (yet )?(implemented|supported)/i.test(error instanceof Error ? error.message : "")
  );
}

export type ServiceLookup =
  | { found: true; service: Service; tags: Record<string, string> }
  | { found: false; reason: string };

/** One DescribeServices call (with tags): the only read a poll makes. */
export async function describeService(ecs: ECSClient, ref: ServiceRef): Promise<ServiceLookup> {
  const { DescribeServicesCommand } = await sdk();
  let answer: DescribeServicesCommandOutput;
  try {
    answer = await ecs.send(
      new DescribeServicesCommand({ cluster: ref.cluster, services: [ref.service], include: ["TAGS"] }),
    );
  } catch (error) {
    if (awsErrorName(error) === "ClusterNotFoundException") {
      return { found: false, reason: `cluster "${ref.cluster}" does not exist in this account/region` };
    }
    throw error;
  }
  const service = answer.services?.[0];
  if (service === undefined) {
    const why = answer.failures?.[0]?.reason ?? "MISSING";
    return {
      found: false,
      reason: `service "${ref.service}" in cluster "${ref.cluster}" was not found (${why})`,
    };
  }
  return { found: true, service, tags: tagMap(service.tags) };
}

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));
}

export async function describeTaskDefinition(
  ecs: ECSClient,
  identifier: string,
): Promise<{ taskDefinition: TaskDefinition; tags: Record<string, string> }> {
  const { DescribeTaskDefinitionCommand } = await sdk();
  const answer = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: identifier, include: ["TAGS"] }),
  );
  if (!answer.taskDefinition) {
    throw new ShipyardError(`ECS returned no task definition for ${identifier}.`, {
      exitCode: ExitCode.NeedsAttention,
    });
  }
  return { taskDefinition: answer.taskDefinition, tags: tagMap(answer.tags) };
}

export async function tagService(
  ecs: ECSClient,
  serviceArn: string,
  tags: Record<string, string>,
): Promise<void> {
  const { TagResourceCommand } = await sdk();
  await ecs.send(
    new TagResourceCommand({
      resourceArn: serviceArn,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );
}

/**
 * The service deployment ECS created for our UpdateService (or null when the endpoint has no such
 * API). Matched by creation time: preflight refused to start while another deployment was in flight.
 */
export async function findServiceDeployment(
  ecs: ECSClient,
  ref: ServiceRef,
  createdAfterMs: number,
): Promise<string | null> {
  const { ListServiceDeploymentsCommand } = await sdk();
  try {
    const answer = await ecs.send(
      new ListServiceDeploymentsCommand({
        cluster: ref.cluster,
        service: ref.service,
        // Allow for clock skew between this runner and AWS.
        createdAt: { after: new Date(createdAfterMs - 60_000) },
      }),
    );
    const newest = [...(answer.serviceDeployments ?? [])].sort(
      (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
    )[0];
    return newest?.serviceDeploymentArn ?? null;
  } catch (error) {
    if (isUnsupportedOperation(error)) return null;
    throw error;
  }
}

export async function describeServiceDeployment(
  ecs: ECSClient,
  arn: string,
): Promise<ServiceDeployment | null> {
  const { DescribeServiceDeploymentsCommand } = await sdk();
  try {
    const answer = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    return answer.serviceDeployments?.[0] ?? null;
  } catch (error) {
    if (isUnsupportedOperation(error)) return null;
    throw error;
  }
}

/** A deployment other than the completed PRIMARY one means a rollout is still under way. */
export function deploymentInFlight(service: Service): string | null {
  const deployments = service.deployments ?? [];
  if (deployments.length > 1) {
    const primary = deployments.find((d) => d.status === "PRIMARY");
    return `${deployments.length} deployments are active (PRIMARY ${primary?.id ?? "?"} → ${shortArn(primary?.taskDefinition)})`;
  }
  const only = deployments[0];
  if (only?.rolloutState === "IN_PROGRESS") {
    return `deployment ${only.id} → ${shortArn(only.taskDefinition)} is still IN_PROGRESS`;
  }
  return null;
}

/** "arn:...:task-definition/web:12" → "web:12", for messages. */
export function shortArn(arn: string | undefined | null): string {
  if (!arn) return "(none)";
  return arn.split("/").at(-1) ?? arn;
}
