/**
 * The diagnosis a failed release gets, composed for the commands: builds the load balancer and
 * CloudWatch Logs gateways on first use (same credentials and endpoint rules as ECS), finds OUR
 * deployment's tasks, asks src/deploy/diagnosis.ts to read and explain them, and puts the result in
 * the report and on stderr. It never throws and never changes the outcome or the exit code.
 */
import type { Service, TaskDefinition } from "@aws-sdk/client-ecs";
import type { Ecs } from "../aws/ecs.js";
import { type Elb, elbEndpoint, openElb } from "../aws/elb.js";
import { type Logs, logsEndpoint, openLogs } from "../aws/logs.js";
import { type DiagnosisRequest, gatherDiagnosis, type TaskSelection } from "../deploy/diagnosis.js";
import { messageOf } from "../errors.js";
import type { Diagnosis } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";

/** What failed: a rollout, a deploy step (only "migrate" and "smoke test" are diagnosed), a migration task. */
export interface FailedRelease {
  /** "rollout", or the name of the deploy step that failed. */
  failed: string;
  /** The revision that failed. */
  revision: string;
  /** The service as last seen, when the caller has it (saves a DescribeServices). */
  service?: Service | null;
  /** The migration task, when the caller knows it. */
  taskArn?: string | null;
  taskDefinition?: TaskDefinition;
}

/** The whole diagnosis, in real time: a read that hangs must not hold up the restore that follows. */
export const DIAGNOSIS_BUDGET_MS = 15_000;

const SUBJECTS: Record<string, Diagnosis["subject"]> = {
  rollout: "rollout",
  migrate: "migration",
  migration: "migration",
  "smoke test": "smoke test",
};

/** Gateways for the diagnosis and `shipyard logs`, built once per command run, on first use. */
export function readGateways(ctx: EnvironmentContext): {
  elb(): Promise<Elb>;
  logs(region: string): Promise<Logs>;
} {
  const { runtime } = ctx;
  let elb: Promise<Elb> | undefined;
  const logs = new Map<string, Promise<Logs>>();
  const credentials = async () => (runtime.awsCredentials ? await runtime.awsCredentials() : undefined);
  return {
    elb() {
      elb ??= credentials().then((found) =>
        openElb({
          region: ctx.environment.region,
          ...(elbEndpoint(runtime.env) ? { endpoint: elbEndpoint(runtime.env) } : {}),
          ...(found ? { credentials: found } : {}),
        }),
      );
      return elb;
    },
    logs(region) {
      let built = logs.get(region);
      if (built === undefined) {
        built = credentials().then((found) =>
          openLogs({
            region,
            ...(logsEndpoint(runtime.env) ? { endpoint: logsEndpoint(runtime.env) } : {}),
            ...(found ? { credentials: found } : {}),
          }),
        );
        logs.set(region, built);
      }
      return built;
    },
  };
}

/** Diagnoses a failed release into the report; a failure to diagnose is a note, never an error. */
export async function diagnoseRelease(
  ctx: EnvironmentContext,
  ecs: Ecs,
  release: FailedRelease,
): Promise<void> {
  const subject = SUBJECTS[release.failed];
  if (subject === undefined) return;
  const { runtime } = ctx;
  const budget = (runtime.requestSignal ?? ((ms: number) => AbortSignal.timeout(ms)))(DIAGNOSIS_BUDGET_MS);
  const signal = AbortSignal.any([runtime.signal, budget]);
  try {
    const before = ecs.sent.length;
    const request = await requestFor(ctx, ecs, subject, release, signal);
    const lookups = ecs.sent.length - before;
    const gateways = readGateways(ctx);
    const diagnosis = await gatherDiagnosis(
      {
        ecs,
        cluster: ctx.service.cluster,
        region: ctx.environment.region,
        elb: gateways.elb,
        logs: gateways.logs,
        scrub: (text) => ctx.output.scrubber.scrub(text),
        signal,
      },
      request,
    );
    // The calls made to find our deployment count as the diagnosis's too.
    diagnosis.calls += lookups;
    ctx.report.diagnose(diagnosis);
    ctx.output.info(`Cause: ${diagnosis.summary}`);
    if (diagnosis.fix) ctx.output.info(`Fix: ${diagnosis.fix}`);
  } catch (error) {
    // The diagnosis is an explanation, not a step: whatever breaks here leaves the outcome alone.
    ctx.output.warn(`could not diagnose the failure (${messageOf(error)})`);
  }
}

async function requestFor(
  ctx: EnvironmentContext,
  ecs: Ecs,
  subject: Diagnosis["subject"],
  release: FailedRelease,
  signal: AbortSignal,
): Promise<DiagnosisRequest> {
  const known = release.taskDefinition ? { taskDefinition: release.taskDefinition } : {};
  if (subject === "migration") {
    const tasks: TaskSelection = release.taskArn
      ? { taskArns: [release.taskArn] }
      : { startedBy: "shipyard-migrate", desiredStatus: "STOPPED", taskDefinitionArn: release.revision };
    return { subject, tasks, targetGroupArns: [], ...known };
  }
  const service = release.service ?? (await currentService(ctx, ecs, signal));
  const ours = service?.deployments?.find((d) => d.taskDefinition === release.revision && d.id);
  const targetGroupArns = (service?.loadBalancers ?? [])
    .map((lb) => lb.targetGroupArn)
    .filter((arn): arn is string => Boolean(arn));
  const tasks: TaskSelection | null = ours?.id
    ? { startedBy: ours.id, desiredStatus: subject === "smoke test" ? "RUNNING" : "STOPPED" }
    : null;
  return { subject, tasks, targetGroupArns, ...known };
}

async function currentService(
  ctx: EnvironmentContext,
  ecs: Ecs,
  signal: AbortSignal,
): Promise<Service | null> {
  const lookup = await ecs.describeService(ctx.service, { signal }).catch(() => null);
  return lookup?.found ? lookup.service : null;
}
