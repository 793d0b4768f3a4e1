import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli.js";
import type { CliIO } from "../../bin/io.js";
import { runRollback, runStatus } from "../../src/deploy/commands.js";
import { ExitCode, ShipyardError } from "../../src/errors.js";
import { configText, type Harness, startHarness, TEMPLATE } from "./harness.js";

let h: Harness;
afterEach(async () => {
  await h?.sim.stop();
});

/** A port nothing listens on: connecting is refused at once. */
const CLOSED_ENDPOINT = "http://127.0.0.1:1";

async function failure(promise: Promise<unknown>): Promise<ShipyardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShipyardError);
  return error as ShipyardError;
}

describe("AWS failures say what to do next", () => {
  it("no credentials anywhere in the default chain: exit 2, how to provide them, no ECS call", async () => {
    h = await startHarness();
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
    };
    try {
      const exit = await runCli(["status", "--env", "staging", "--config", join(dir, "shipyard.json")], io);
      expect(exit).toBe(ExitCode.BadInput);
      const text = err.join("\n");
      expect(text).toMatch(/No AWS credentials were found for status; nothing was changed/);
      expect(text).toMatch(/Next: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      expect(h.sim.calls).toHaveLength(0);
    } finally {
      process.env = saved;
    }
  });

  it("credentials ECS rejects: exit 2 for a read-only command, naming the permissions", async () => {
    h = await startHarness();
    h.sim.injectFault("*", "UnrecognizedClientException", 400, 100);
    const error = await failure(runStatus(h.input(), h.deps()));
    expect(error.exitCode).toBe(ExitCode.BadInput);
    expect(error.message).toMatch(/^AWS rejected the credentials \(UnrecognizedClientException: /);
    expect(error.hint).toMatch(/ecs:DescribeServices/);
    expect(error.message).not.toContain("test-secret-value");
  });

  it("an endpoint that refuses connections: exit 2 for status, with the endpoint to check", async () => {
    h = await startHarness();
    const input = h.input();
    const error = await failure(
      runStatus({ ...input, aws: { ...input.aws, endpoint: CLOSED_ENDPOINT } }, h.deps()),
    );
    expect(error.exitCode).toBe(ExitCode.BadInput);
    expect(error.message).toBe(
      `Could not reach ${CLOSED_ENDPOINT} (ECONNREFUSED) during status; nothing was changed.`,
    );
    expect(error.hint).toContain("AWS_ENDPOINT_URL_ECS");
  });

  it("the same failure during a rollback is exit 3: whether anything changed is unknown", async () => {
    h = await startHarness();
    const input = h.input();
    const error = await failure(
      runRollback({ ...input, aws: { ...input.aws, endpoint: CLOSED_ENDPOINT } }, h.deps()),
    );
    expect(error.exitCode).toBe(ExitCode.NeedsAttention);
    expect(error.message).toMatch(
      /the state of the service is unknown; check it with npx shipyard status --env staging/,
    );
  });
});
