/**
 * Before a deploy changes anything: the service exists, is ACTIVE, is deployed by ECS itself, and no
 * other deployment is in flight. Reads only; a refusal means nothing was changed.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { type ServiceLookup, type ServiceRef, shortArn } from "../aws/ecs.js";

export type Preflight =
  | { ok: true; service: Service; tags: Record<string, string> }
  | { ok: false; problem: string; nextSteps: string[] };

/** Judges a service as DescribeServices answered it (read in one batch with its environment's others). */
export function checkServiceDeployable(
  lookup: ServiceLookup,
  ref: ServiceRef,
  hints: { region: string; environmentName: string; statusCommand: string },
): Preflight {
  if (!lookup.found) {
    return {
      ok: false,
      problem: lookup.reason,
      nextSteps: [`check environments.${hints.environmentName}.cluster/.service/.region in shipyard.json`],
    };
  }
  const { service } = lookup;
  if (service.status !== "ACTIVE") {
    return {
      ok: false,
      problem: `service ${ref.service} is ${service.status}, not ACTIVE`,
      nextSteps: [
        `aws ecs describe-services --region ${hints.region} --cluster ${ref.cluster} --services ${ref.service}`,
      ],
    };
  }
  const controller = service.deploymentController?.type ?? "ECS";
  if (controller !== "ECS") {
    return {
      ok: false,
      problem: `service ${ref.service} uses the ${controller} deployment controller; Shipyard deploys services that ECS itself deploys (rolling, blue-green, canary, linear)`,
      nextSteps: [
        "switch the service to the ECS deployment controller (aws ecs update-service --deployment-controller type=ECS)",
      ],
    };
  }
  const inFlight = deploymentInFlight(service);
  if (inFlight) {
    return {
      ok: false,
      problem: `another deployment is in flight (${inFlight})`,
      nextSteps: [`${hints.statusCommand}   # wait until one deployment remains, then deploy again`],
    };
  }
  return { ok: true, service, tags: lookup.tags };
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
