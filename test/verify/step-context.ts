/**
 * The context the deploy's verification steps run with, outside a deploy: production on cluster
 * prod / service app, release v2 replacing v1, the Sentry simulator on a fake clock at T0 (40 minutes
 * into the hour). The steps are the deploy's own (src/commands/deploy-steps.ts), looked up by name.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ecs } from "../../src/aws/ecs.js";
import type { EnvironmentContext } from "../../src/commands/context.js";
import { deploySteps } from "../../src/commands/deploy-steps.js";
import { parseConfig } from "../../src/config/load.js";
import type { DeployStep, StepContext } from "../../src/deploy/steps.js";
import { type SentrySim, SIM_TOKEN, type TrafficModel } from "../../src/emulator/sentry.js";
import type { FakeClock } from "../support/clock.js";
import { type Captured, captureOutput } from "../support/world.js";

export const T0 = Date.UTC(2026, 10, 27, 12, 40, 0);

export function tempAppRoot(): string {
  return mkdtempSync(join(tmpdir(), "shipyard-verify-app-"));
}

export interface StepOptions {
  verify?: Record<string, unknown>;
  sentry?: Record<string, unknown> | null;
  healthCheck?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  previousRelease?: string | null;
}

export function stepContext(
  sim: SentrySim,
  clock: FakeClock,
  appRoot: string,
  options: StepOptions = {},
): { ctx: StepContext; progress: Captured } {
  const environment: Record<string, unknown> = {
    region: "eu-west-1",
    cluster: "prod",
    service: "app",
    verify: options.verify ?? {},
  };
  if (options.sentry !== null)
    environment.sentry = options.sentry ?? { org: "acme", project: "app", releases: false };
  if (options.healthCheck) environment.healthCheck = options.healthCheck;
  const config = parseConfig(
    JSON.stringify({ image: "ghcr.io/acme/app", environments: { production: environment } }),
  );
  // An empty scrubber: nothing is masked on the way out, so token checks test the steps themselves.
  const progress = captureOutput();
  const ctx: StepContext = {
    environmentName: "production",
    environment: config.environments.production!,
    config,
    image: "ghcr.io/acme/app@sha256:2222222222222222222222222222222222222222222222222222222222222222",
    release: "v2",
    taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:2",
    previousTaskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:1",
    previousRelease: options.previousRelease === undefined ? "v1" : options.previousRelease,
    // The verification steps never call ECS.
    ecs: {} as unknown as Ecs,
    clock,
    random: () => 0.5,
    progress: progress.output,
    signal: new AbortController().signal,
    appRoot,
    env: options.env ?? { SENTRY_URL: sim.url, SENTRY_AUTH_TOKEN: SIM_TOKEN, PATH: process.env.PATH },
  };
  return { ctx, progress };
}

/** The previous release served the two hours before T0; the new one took traffic during a 60 s rollout. */
export function traffic(
  sim: SentrySim,
  newRelease: Partial<TrafficModel>,
  previous: Partial<TrafficModel> = {},
) {
  sim.addTraffic({
    release: "v1",
    environment: "production",
    startAt: T0 - 7_200_000,
    endAt: T0,
    ratePerSecond: 20,
    errorRate: 0.005,
    ...previous,
  });
  sim.addTraffic({
    release: "v2",
    environment: "production",
    startAt: T0 - 60_000,
    ratePerSecond: 20,
    errorRate: 0.005,
    ...newRelease,
  });
}

/**
 * One of the steps a real deploy runs, by name. The verification steps read only the runtime's
 * optional capabilities (fetch, requestSignal, sentryCli): none here, so they use the real ones.
 */
export function deployStep(name: string): DeployStep {
  const steps = deploySteps({ runtime: {} } as unknown as EnvironmentContext);
  const step = [...(steps.beforeRegister ?? []), ...steps.beforeUpdate, ...steps.afterRollout].find(
    (s) => s.name === name,
  );
  if (!step) throw new Error(`the deploy has no step "${name}"`);
  return step;
}
