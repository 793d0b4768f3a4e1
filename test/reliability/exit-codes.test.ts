/**
 * Exit codes are a contract. A first read that fails, before anything was changed, is exit 2 for
 * every command that reads ECS, with advice that fits the failure (an unreachable endpoint is named;
 * it is not a credentials problem). Once a change was sent (UpdateService, RunTask), losing ECS is
 * exit 3 with the commands to check the service.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import type { EcsClientFactory } from "../../src/aws/client.js";
import { fastRetryEcsFactory } from "../support/ecs-sim/client.js";
import { configText, startWorld, type World } from "../support/world.js";
import { runCliIn } from "./support/cli.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

/** A port nothing listens on: connecting is refused at once. */
const CLOSED = "http://127.0.0.1:1";

const MIGRATIONS = { migrations: { command: ["node", "dist/migrate.js"], lint: false } };

/** Every command that reads ECS, as a person types it. */
const COMMANDS: Array<[string, string[]]> = [
  ["deploy", ["deploy", "--env", "staging", "--image", "ghcr.io/acme/app@sha256:" + "a".repeat(64)]],
  ["rollback", ["rollback", "--env", "staging"]],
  ["status", ["status", "--env", "staging"]],
  ["plan", ["plan", "--env", "staging"]],
  ["migrate", ["migrate", "--env", "staging"]],
  ["verify", ["verify", "--env", "staging"]],
];

/** Clients whose requests go to a closed port once `gone()` says so: ECS disappears mid-command. */
function vanishingEcs(gone: () => boolean): EcsClientFactory {
  return async (options) => {
    const client: ECSClient = await fastRetryEcsFactory(options);
    client.middlewareStack.add(
      (next) => async (args) => {
        if (gone()) (args.request as { port?: number }).port = 1;
        return next(args);
      },
      { step: "finalizeRequest", name: "vanishingEcs" },
    );
    return client;
  };
}

describe("a first read that fails: exit 2, nothing changed", () => {
  it.each(COMMANDS)(
    "%s against an endpoint that refuses connections names the endpoint",
    async (name, argv) => {
      h = await startWorld({ config: configText({}, MIGRATIONS) });
      const result = await runCliIn(h, [...argv, "--json"], { env: { AWS_ENDPOINT_URL_ECS: CLOSED } });
      expect(result.code).toBe(2);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ command: name, exitCode: 2, outcome: "failed" });
      expect(report.reason).toBe(
        `Could not reach ${CLOSED} (ECONNREFUSED) during ${name}; nothing was changed.`,
      );
      expect(report.nextSteps).toEqual([
        `check that the endpoint ${CLOSED} (AWS_ENDPOINT_URL_ECS) is up, then run the command again`,
      ]);
      expect(`${report.reason} ${report.nextSteps}`).not.toMatch(/credential/i);
    },
  );

  it.each(COMMANDS)(
    "%s whose first read ECS refuses (AccessDenied, an unexpected 4xx) is exit 2",
    async (name, argv) => {
      h = await startWorld({ config: configText({}, MIGRATIONS) });
      h.sim.injectFault("DescribeServices", "AccessDeniedException", 400, 1);
      const denied = await runCliIn(h, [...argv, "--json"]);
      expect(denied.code).toBe(2);
      expect(JSON.parse(denied.stdout).reason).toMatch(
        new RegExp(
          `^AWS refused ${name} \\(AccessDeniedException: injected AccessDeniedException\\); nothing was changed\\.$`,
        ),
      );
      h.sim.injectFault("DescribeServices", "ValidationException", 400, 1);
      const invalid = await runCliIn(h, [...argv, "--json"]);
      expect(invalid.code).toBe(2);
      expect(JSON.parse(invalid.stdout).reason).toMatch(
        /ValidationException: injected ValidationException.*nothing was changed/,
      );
      expect(
        h.sim.operations().filter((op) => ["UpdateService", "RunTask", "TagResource"].includes(op)),
      ).toEqual([]);
    },
  );
});

describe("after a change was sent: exit 3", () => {
  it("deploy that loses ECS after UpdateService", async () => {
    h = await startWorld();
    const result = await runCliIn(
      h,
      ["deploy", "--env", "staging", "--image", "ghcr.io/acme/app@sha256:" + "a".repeat(64), "--json"],
      {
        overrides: { ecsClientFactory: vanishingEcs(() => h.sim.callsTo("UpdateService").length > 0) },
      },
    );
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout);
    expect(report.reason).toMatch(
      /ECS could not be read: .*ECONNREFUSED.*; the rollout may still be running$/,
    );
    expect(report.nextSteps).toEqual([
      "npx shipyard status --env staging",
      `npx shipyard rollback --env staging --to ${h.v1}`,
      `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${h.v1}`,
    ]);
  });

  it("migrate that loses ECS after RunTask", async () => {
    h = await startWorld({ config: configText({}, MIGRATIONS) });
    const result = await runCliIn(h, ["migrate", "--env", "staging", "--json"], {
      overrides: { ecsClientFactory: vanishingEcs(() => h.sim.callsTo("RunTask").length > 0) },
    });
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).reason).toMatch(/ECONNREFUSED/);
  });
});
