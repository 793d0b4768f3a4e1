/**
 * Shared setup for the deploy tests: a FakeClock, the ECS simulator with a running service on
 * revision web:1, a config and template, and deps that record progress.
 */
import { FakeClock } from "../../src/clock.js";
import type { CommandDeps, DeployInput } from "../../src/deploy/commands.js";
import type { DeploySteps } from "../../src/deploy/steps.js";
import { RecordingProgress } from "../../src/progress.js";
import { fastRetryEcsFactory } from "../ecs-sim/client.js";
import { EcsSimulator } from "../ecs-sim/simulator.js";

export const REPO = "ghcr.io/acme/app";
export const digest = (c: string) => `${REPO}@sha256:${c.repeat(64).slice(0, 64)}`;
export const OLD_IMAGE = digest("0");
export const NEW_IMAGE = digest("a");

export function configText(
  deployment: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    image: REPO,
    environments: {
      staging: {
        region: "eu-west-1",
        cluster: "main",
        service: "web",
        container: "app",
        deployment: { pollSeconds: 5, timeoutSeconds: 120, rollbackTimeoutSeconds: 120, ...deployment },
        variables: { LOG_LEVEL: "info" },
        ...extra,
      },
    },
  });
}

export const TEMPLATE = JSON.stringify({
  family: "web",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [
    {
      name: "app",
      image: "{{IMAGE}}",
      essential: true,
      environment: [
        { name: "APP_ENV", value: "{{ENV}}" },
        { name: "LOG_LEVEL", value: "{{LOG_LEVEL}}" },
      ],
    },
  ],
});

export interface Harness {
  clock: FakeClock;
  sim: EcsSimulator;
  progress: RecordingProgress;
  controller: AbortController;
  v1: string;
  deps(steps?: DeploySteps): CommandDeps;
  input(overrides?: Partial<DeployInput>): DeployInput;
}

export async function startHarness(options: { desiredCount?: number } = {}): Promise<Harness> {
  const clock = new FakeClock();
  const sim = await EcsSimulator.start(clock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [
      { name: "app", image: OLD_IMAGE, environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
    ],
  });
  sim.createService({
    cluster: "main",
    service: "web",
    taskDefinition: v1,
    desiredCount: options.desiredCount ?? 2,
  });
  const progress = new RecordingProgress();
  const controller = new AbortController();
  return {
    clock,
    sim,
    progress,
    controller,
    v1,
    deps: (steps) => ({
      clock,
      random: () => 0.5,
      progress,
      signal: controller.signal,
      env: {},
      ecsClientFactory: fastRetryEcsFactory,
      ...(steps ? { steps } : {}),
    }),
    input: (overrides = {}) => ({
      configText: configText(),
      taskDefinitionText: TEMPLATE,
      environmentName: "staging",
      appRoot: "/tmp",
      aws: { endpoint: sim.endpoint, accessKeyId: "AKIATESTING", secretAccessKey: "test-secret-value" },
      image: NEW_IMAGE,
      release: "v2",
      commit: "abc1234",
      ...overrides,
    }),
  };
}
