import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import type { CliIO } from "../../bin/runtime.js";
import type { EcsClientFactory } from "../../src/aws/client.js";
import { explainAwsError } from "../../src/aws/errors.js";
import { ExitCode } from "../../src/errors.js";
import { fastRetryEcsFactory } from "../support/ecs-sim/client.js";
import { configText, SECRET_ACCESS_KEY, startWorld, TEMPLATE, type World } from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

/** A port nothing listens on: connecting is refused at once. */
const CLOSED_ENDPOINT = "http://127.0.0.1:1";

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

describe("AWS failures say what to do next", () => {
  it("no credentials anywhere in the default chain: exit 2, how to provide them, no ECS call", async () => {
    h = await startWorld();
    const dir = await mkdtemp(join(tmpdir(), "shipyard-nocreds-"));
    await writeFile(join(dir, "shipyard.json"), configText());
    await writeFile(join(dir, "task-def.json"), TEMPLATE);
    const saved = { ...process.env };
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      delete process.env[name];
    }
    // Keep the chain on this machine: no instance metadata service, no shared config files.
    Object.assign(process.env, {
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: join(dir, "no-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    });
    const err: string[] = [];
    const io: CliIO = {
      stdout: () => {},
      stderr: (t) => err.push(t),
      env: { AWS_ENDPOINT_URL_ECS: h.sim.endpoint },
      cwd: dir,
      signal: new AbortController().signal,
      script: join(dir, "node_modules/.bin/shipyard"),
    };
    try {
      // The CLI face as shipped: its own runtime (disk files, the SDK's default credential chain).
      const exit = await runCli(["status", "--env", "staging", "--config", join(dir, "shipyard.json")], io);
      expect(exit).toBe(ExitCode.BadInput);
      const text = err.join("\n");
      expect(text).toMatch(/No AWS credentials were found for status; nothing was changed/);
      expect(text).toMatch(/next:\n +set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      expect(h.sim.calls).toHaveLength(0);
    } finally {
      process.env = saved;
    }
  });

  it("credentials ECS rejects: exit 2 for a read-only command, saying what to check", async () => {
    h = await startWorld();
    h.sim.injectFault("*", "UnrecognizedClientException", 400, 100);
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(ExitCode.BadInput);
    expect(report.reason).toMatch(/^AWS rejected the credentials \(UnrecognizedClientException: /);
    expect(report.nextSteps?.[0]).toMatch(
      /^check that the keys or role are current \(temporary credentials expire\) and belong to the account in shipyard\.json$/,
    );
    expect(JSON.stringify(report)).not.toContain(SECRET_ACCESS_KEY);
    expect(h.captured.all()).not.toContain(SECRET_ACCESS_KEY);
  });

  it("credentials ECS accepts but may not use: exit 2, naming where the permissions are listed", async () => {
    h = await startWorld();
    h.sim.injectFault("*", "AccessDeniedException", 400, 100);
    const report = await h.run("status", { env: "staging" });
    expect(report.exitCode).toBe(ExitCode.BadInput);
    expect(report.reason).toMatch(
      /^AWS refused status \(AccessDeniedException: .*\); nothing was changed\.$/,
    );
    expect(report.nextSteps?.[0]).toMatch(/docs\/iam-policy\.json/);
  });

  it("an endpoint that refuses connections: exit 2 for status, with the endpoint to check", async () => {
    h = await startWorld();
    const report = await h.run(
      "status",
      { env: "staging" },
      { env: { ...h.env, AWS_ENDPOINT_URL_ECS: CLOSED_ENDPOINT } },
    );
    expect(report.exitCode).toBe(ExitCode.BadInput);
    expect(report.reason).toBe(
      `Could not reach ${CLOSED_ENDPOINT} (ECONNREFUSED) during status; nothing was changed.`,
    );
    expect(report.nextSteps?.[0]).toContain("AWS_ENDPOINT_URL_ECS");
  });

  it("the same failure before a rollback sent anything is exit 2: nothing was changed", async () => {
    h = await startWorld();
    const report = await h.run(
      "rollback",
      { env: "staging" },
      { env: { ...h.env, AWS_ENDPOINT_URL_ECS: CLOSED_ENDPOINT } },
    );
    expect(report.exitCode).toBe(ExitCode.BadInput);
    expect(report.reason).toBe(
      `Could not reach ${CLOSED_ENDPOINT} (ECONNREFUSED) during rollback; nothing was changed.`,
    );
  });

  it("losing ECS after a rollback's UpdateService is exit 3: whether it took effect is unknown", async () => {
    h = await startWorld();
    await h.deploy();
    const report = await h.run(
      "rollback",
      { env: "staging" },
      { ecsClientFactory: vanishingEcs(() => h.sim.callsTo("UpdateService").length === 2) },
    );
    expect(h.sim.callsTo("UpdateService")).toHaveLength(2);
    expect(report.exitCode).toBe(ExitCode.NeedsAttention);
    expect(report.reason).toMatch(
      /^the rollback to web:1 was not confirmed: ECS could not be read: .*ECONNREFUSED 127\.0\.0\.1:1$/,
    );
    expect(report.nextSteps?.[0]).toBe("npx shipyard status --env staging");
    expect(report.nextSteps).toContain(`npx shipyard rollback --env staging --to ${h.v1}`);
  });

  it("an AWS failure that escapes a command after a change is exit 3 and says how to check the service", () => {
    const refused = Object.assign(new Error(`connect ECONNREFUSED ${CLOSED_ENDPOINT.slice(7)}`), {
      code: "ECONNREFUSED",
    });
    const explained = explainAwsError(refused, {
      command: "rollback",
      region: "eu-west-1",
      endpoint: CLOSED_ENDPOINT,
      changed: true,
      statusCommand: "npx shipyard status --env staging",
    });
    expect(explained?.exitCode).toBe(ExitCode.NeedsAttention);
    expect(explained?.message).toMatch(
      /the service may have changed; check it with npx shipyard status --env staging/,
    );
  });
});
