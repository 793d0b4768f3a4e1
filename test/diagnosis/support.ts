/**
 * A world whose service sits behind a load balancer target group and logs to CloudWatch Logs
 * (awslogs, group /ecs/web, prefix web), with every AWS client pointed at the emulator.
 */
import { TASK_FAILURES, type TaskFailure } from "../../src/emulator/ecs/simulator.js";
import { NEW_IMAGE, startWorld, TEMPLATE, type World, type WorldOptions } from "../support/world.js";

export { TASK_FAILURES };

export const LOG_GROUP = "/ecs/web";

const template = JSON.parse(TEMPLATE) as { containerDefinitions: Array<Record<string, unknown>> };
export const LOGGED_TEMPLATE = JSON.stringify({
  ...template,
  containerDefinitions: template.containerDefinitions.map((c) => ({
    ...c,
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": LOG_GROUP, "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web" },
    },
  })),
});

export interface BalancedWorld extends World {
  targetGroup: string;
}

/** The world, its service re-created behind a target group, its clients all on the emulator. */
export async function balancedWorld(options: WorldOptions = {}): Promise<BalancedWorld> {
  const h = await startWorld({ template: LOGGED_TEMPLATE, ...options });
  h.env.AWS_ENDPOINT_URL = h.sim.endpoint;
  const targetGroup = h.sim.createTargetGroup({ name: "web", port: 3000 });
  h.sim.createService({
    cluster: "main",
    service: "web",
    taskDefinition: h.v1,
    desiredCount: options.desiredCount ?? 2,
    loadBalancers: [{ targetGroupArn: targetGroup, containerName: "app", containerPort: 3000 }],
  });
  return Object.assign(h, { targetGroup });
}

/** A world where deploying NEW_IMAGE fails the way `failure` says. */
export async function failingWorld(failure: TaskFailure): Promise<BalancedWorld> {
  const h = await balancedWorld();
  h.sim.behaviours.set(NEW_IMAGE, "failing");
  h.sim.failures.set(NEW_IMAGE, failure);
  return h;
}

/** The operations sent after the first call to `operation`, up to (not including) the next `until`. */
export function operationsBetween(h: World, from: number, until: string): string[] {
  const rest = h.sim.calls.slice(from);
  const end = rest.findIndex((c) => c.operation === until);
  return rest.slice(0, end < 0 ? undefined : end).map((c) => c.operation);
}

/** Registers a revision of `web` that logs with awslogs (release `release`) and makes the service run it. */
export function runLoggedRevision(h: BalancedWorld, image: string, release: string): string {
  const arn = h.sim.registerTaskDefinition(
    {
      family: "web",
      containerDefinitions: [
        {
          name: "app",
          image,
          environment: [{ name: "SENTRY_RELEASE", value: release }],
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": LOG_GROUP,
              "awslogs-region": "eu-west-1",
              "awslogs-stream-prefix": "web",
            },
          },
        },
      ],
    },
    [{ key: "shipyard:release", value: release }],
  );
  h.sim.createService({
    cluster: "main",
    service: "web",
    taskDefinition: arn,
    desiredCount: 2,
    loadBalancers: [{ targetGroupArn: h.targetGroup, containerName: "app", containerPort: 3000 }],
  });
  return arn;
}

/** The running tasks of the service, oldest first. */
export function runningTasks(h: World) {
  return h.sim.serviceTasks().filter((t) => t.stoppedAtMs === undefined);
}
