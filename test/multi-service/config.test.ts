/**
 * shipyard.json with several services or scheduled tasks, written wrong: exit 2, a message that names
 * the key and the fix, and not one AWS call. A one-service config stays valid as it always was.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/config/schema.js";
import { configText, NEW_IMAGE, startWorld, type World } from "../support/world.js";
import { servicesConfig } from "./environment.js";

let h: World | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** The config of the world's staging environment with `edit` applied to it. */
function edited(edit: (staging: Record<string, unknown>) => void): string {
  const config = JSON.parse(servicesConfig([{ name: "web", traffic: true }, { name: "worker" }]));
  edit(config.environments.staging);
  return JSON.stringify(config);
}

const cases: Array<[string, (staging: Record<string, unknown>) => void, RegExp]> = [
  [
    "both service and services",
    (s) => {
      s.service = "web";
    },
    /environments\.staging\.service: give either `service` \(one ECS service\) or `services`/,
  ],
  [
    "neither service nor services",
    (s) => {
      delete s.services;
    },
    /environments\.staging\.service: give either `service`/,
  ],
  [
    "a service listed twice",
    (s) => {
      s.services = [{ name: "web", traffic: true }, { name: "web" }];
    },
    /environments\.staging\.services\[1\]\.name: "web" is listed twice/,
  ],
  [
    "a health check but no service with traffic",
    (s) => {
      s.services = [{ name: "web" }, { name: "worker" }];
      s.healthCheck = { url: "https://staging.example.com/health" };
    },
    /environments\.staging\.healthCheck: no service has `traffic: true`/,
  ],
  [
    "a scheduled task with both a rule and a schedule",
    (s) => {
      s.scheduledTasks = [{ rule: "nightly", schedule: "nightly" }];
    },
    /environments\.staging\.scheduledTasks\[0\]: give exactly one of `rule` .* or `schedule`/,
  ],
  [
    "a rule name EventBridge would refuse",
    (s) => {
      s.scheduledTasks = [{ rule: "nightly report" }];
    },
    /environments\.staging\.scheduledTasks\[0\]\.rule: an EventBridge rule name: 1-64 letters/,
  ],
  [
    "a worker command that is not a list of words",
    (s) => {
      s.services = [
        { name: "web", traffic: true },
        { name: "worker", command: "node dist/worker.js" },
      ];
    },
    /environments\.staging\.services\[1\]\.command/,
  ],
  [
    "an unknown key in a service",
    (s) => {
      s.services = [{ name: "web", traffic: true, replicas: 3 }];
    },
    /environments\.staging\.services\[0\].*replicas/,
  ],
];

describe("several services, written wrong", () => {
  it.each(cases)("%s: exit 2 naming the key, no AWS call", async (_, edit, message) => {
    h = await startWorld();
    h.setConfig(edited(edit));
    const report = await h.run("deploy", { env: "staging", image: NEW_IMAGE });
    expect(report.exitCode).toBe(2);
    expect(`${report.reason}\n${(report.nextSteps ?? []).join("\n")}`).toMatch(message);
    expect(h.sim.calls).toEqual([]);
  });
});

describe("the one-service config", () => {
  it("is the list of one: its service is the primary, with traffic, and its container", async () => {
    const config = ConfigSchema.parse(JSON.parse(configText()));
    const staging = config.environments.staging!;
    expect(staging.services).toEqual([{ name: "web", container: "app", traffic: true }]);
    expect(staging.scheduledTasks).toEqual([]);
    expect(staging.service).toBe("web");
  });

  it("in a list, the first service with traffic is the primary, and services inherit the environment's container", () => {
    const config = ConfigSchema.parse(
      JSON.parse(
        edited((s) => {
          s.container = "api";
          s.services = [{ name: "worker" }, { name: "web", traffic: true, container: "web" }];
        }),
      ),
    );
    const staging = config.environments.staging!;
    expect(staging.service).toBe("web");
    expect(staging.container).toBe("web");
    expect(staging.services.map((s) => [s.name, s.container])).toEqual([
      ["worker", "api"],
      ["web", "web"],
    ]);
  });
});
