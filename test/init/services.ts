/**
 * Services with real-world task definitions for `init` to adopt (test/init/fixtures/README.md), set up
 * on the ECS simulator: shared by the tests and the `init` benchmark.
 */
import { readFile } from "node:fs/promises";
import { parseConfig } from "../../src/config/load.js";
import { renderTaskDefinition } from "../../src/config/taskdef.js";
import type { EcsSimulator } from "../../src/emulator/ecs/simulator.js";

const EXAMPLE = new URL("../../examples/ecr/", import.meta.url);

/** The FireLens/Datadog example as a task definition body (what RegisterTaskDefinition took). */
export const DATADOG = JSON.parse(
  await readFile(new URL("./fixtures/firelens-datadog.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

export const ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/notes-api";
export const ecrImage = (c: string) => `${ECR}@sha256:${c.repeat(64)}`;

/** The FireLens/Datadog service: cluster apps, service httpd; returns its task definition ARN. */
export function datadogService(sim: EcsSimulator, deploymentConfiguration?: Record<string, unknown>): string {
  const arn = sim.registerTaskDefinition(DATADOG, [
    { key: "team", value: "web" },
    { key: "shipyard:release", value: "old" },
  ]);
  sim.createService({
    cluster: "apps",
    service: "httpd",
    taskDefinition: arn,
    ...(deploymentConfiguration ? { deploymentConfiguration } : {}),
  });
  return arn;
}

/**
 * examples/ecr rendered for its staging and production (images ecrImage("1") and ecrImage("2"),
 * releases "<env>-release"), each registered and run as its environment's service, with the
 * deployment settings examples/ecr/shipyard.json gives it. Returns the task definition ARNs.
 */
export async function exampleServices(sim: EcsSimulator): Promise<Record<string, string>> {
  const config = parseConfig(await readFile(new URL("shipyard.json", EXAMPLE), "utf8"));
  const templateText = await readFile(new URL("task-def.json", EXAMPLE), "utf8");
  const arns: Record<string, string> = {};
  for (const [name, environment] of Object.entries(config.environments)) {
    const { tags: _none, ...body } = renderTaskDefinition({
      templateText,
      source: "examples/ecr/task-def.json",
      environmentName: name,
      environment,
      repository: config.image,
      image: ecrImage(name === "staging" ? "1" : "2"),
      release: `${name}-release`,
      planCommand: "plan",
    });
    const arn = sim.registerTaskDefinition(body as Record<string, unknown>);
    arns[name] = arn;
    const alarms = environment.deployment.alarms;
    sim.createService({
      cluster: environment.cluster,
      service: environment.service,
      taskDefinition: arn,
      deploymentConfiguration: {
        strategy: "ROLLING",
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        ...(alarms ? { alarms: { alarmNames: alarms.names, enable: true, rollback: alarms.rollback } } : {}),
      },
    });
  }
  return arns;
}
