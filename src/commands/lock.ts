/**
 * The service lock as the commands that change a service take it (src/deploy/lock.ts has the
 * algorithm): who this run is, and how long its lease lasts.
 */
import type { Ecs } from "../aws/ecs.js";
import { ServiceLock } from "../deploy/lock.js";
import { strategies } from "../deploy/strategies.js";
import type { EnvironmentContext } from "./context.js";

/** The lease lasts as long as this deploy can: every timeout it may wait out, plus a margin. */
export function leaseSeconds(environment: EnvironmentContext["environment"]): number {
  const { deployment, verify, migrations, healthCheck } = environment;
  return (
    deployment.timeoutSeconds +
    deployment.rollbackTimeoutSeconds +
    2 * strategies[deployment.strategy].bakeSeconds(deployment) +
    (migrations?.timeoutSeconds ?? 0) +
    verify.windowSeconds +
    (healthCheck?.budgetSeconds ?? 0) +
    600
  );
}

export function serviceLock(
  ctx: EnvironmentContext,
  ecs: Ecs,
  serviceArn: string,
  commit: string | undefined,
  force: boolean,
  command = "deploy",
): ServiceLock {
  const { runtime } = ctx;
  return new ServiceLock({
    ecs,
    ref: ctx.service,
    serviceArn,
    clock: runtime.clock,
    random: runtime.random,
    progress: ctx.output,
    signal: runtime.signal,
    command,
    commit: commit ?? null,
    by: runtime.env.GITHUB_ACTOR ?? runtime.env.USER ?? runtime.env.USERNAME ?? "unknown",
    leaseSeconds: leaseSeconds(ctx.environment),
    force,
  });
}

/** The option that breaks other runs' claims (deploy and rollback). */
export const forceOption = {
  force: {
    type: "boolean",
    help: "remove other runs' lock claims on the service first: only when you know those runs are dead (a cancelled CI job)",
  },
} as const;
