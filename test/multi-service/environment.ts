/**
 * An environment of several services on the test world: the world's web service (web:1) plus
 * workers registered and created on the same ECS simulator, and a shipyard.json that lists them in
 * `services` (and, when given, `scheduledTasks`).
 */
import { ECSClient, TagResourceCommand } from "@aws-sdk/client-ecs";
import { ACCESS_KEY_ID, configText, OLD_IMAGE, SECRET_ACCESS_KEY, type World } from "../support/world.js";

/** One template for every service: each renders its own family ({{SERVICE}}). */
export const SERVICES_TEMPLATE = JSON.stringify({
  family: "{{SERVICE}}",
  containerDefinitions: [
    {
      name: "app",
      image: "{{IMAGE}}",
      environment: [
        { name: "APP_ENV", value: "{{ENV}}" },
        { name: "LOG_LEVEL", value: "{{LOG_LEVEL}}" },
      ],
    },
  ],
});

/** A live revision as the template renders it for `family` with the old image and release v1. */
export function liveBody(family: string, command?: string[]): Record<string, unknown> {
  return {
    family,
    containerDefinitions: [
      {
        name: "app",
        image: OLD_IMAGE,
        ...(command ? { command } : {}),
        environment: [
          { name: "APP_ENV", value: "staging" },
          { name: "LOG_LEVEL", value: "info" },
          { name: "SENTRY_RELEASE", value: "v1" },
        ],
      },
    ],
  };
}

/** Registers `family`:1 (the live body) and creates the service; returns the revision's ARN. */
export function addService(
  world: World,
  name: string,
  options: {
    command?: string[];
    desiredCount?: number;
    deploymentConfiguration?: Record<string, unknown>;
  } = {},
): string {
  const revision = world.sim.registerTaskDefinition(liveBody(name, options.command));
  world.sim.createService({
    cluster: "main",
    service: name,
    taskDefinition: revision,
    desiredCount: options.desiredCount ?? 1,
    ...(options.deploymentConfiguration ? { deploymentConfiguration: options.deploymentConfiguration } : {}),
  });
  return revision;
}

/** shipyard.json with `services` (and more keys of the environment) instead of `service`. */
export function servicesConfig(
  services: Array<Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): string {
  const config = JSON.parse(configText({}, extra));
  delete config.environments.staging.service;
  config.environments.staging.services = services;
  return JSON.stringify(config);
}

/** Tags a service (or revision) the way a deploy would, through the simulator's ECS API. */
export async function tagResource(world: World, arn: string, tags: Record<string, string>): Promise<void> {
  const ecs = new ECSClient({
    region: "eu-west-1",
    endpoint: world.sim.endpoint,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  await ecs.send(
    new TagResourceCommand({
      resourceArn: arn,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );
  ecs.destroy();
}

/** The ARN of a service of cluster main, as the simulator answers it. */
export function serviceArn(world: World, name: string): string {
  return String(world.sim.describe("main", name).serviceArn);
}
