/**
 * The example app's `pnpm test` on a machine with Docker and no DATABASE_URL: its globalSetup starts a
 * PostgreSQL container with testcontainers (the image from SHIPYARD_TEST_POSTGRES_IMAGE, here the local
 * stand-in) and removes it when the run ends.
 */
import { existsSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { appDir, postgresImage, repoRoot } from "./app-image.js";
import { docker, run } from "./docker.js";

const pnpm = `${repoRoot}node_modules/.bin/pnpm`;

function environmentWithoutDatabase(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPYARD_TEST_POSTGRES_IMAGE: postgresImage,
    TESTCONTAINERS_RYUK_DISABLED: "true",
    NO_COLOR: "1",
  };
  delete env["DATABASE_URL"];
  delete env["FORCE_COLOR"];
  return env;
}

async function containersOf(image: string): Promise<string[]> {
  const { stdout } = await docker(["ps", "--all", "--quiet", "--filter", `ancestor=${image}`]);
  return stdout.split("\n").filter(Boolean);
}

beforeAll(async () => {
  if (!existsSync(`${appDir}/node_modules/.bin/vitest`)) {
    await run(pnpm, ["install", "--frozen-lockfile"], { cwd: appDir });
  }
});

it("runs the app's tests against a testcontainers PostgreSQL when DATABASE_URL is unset", async () => {
  const before = await containersOf(postgresImage);
  const result = await run(pnpm, ["test"], {
    cwd: appDir,
    env: environmentWithoutDatabase(),
    allowFailure: true,
  });
  const output = result.stdout + result.stderr;

  expect(result.exitCode, output).toBe(0);
  expect(output).toContain(`starting a PostgreSQL container (${postgresImage}) with testcontainers`);
  expect(output).toMatch(/Tests\s+\d+ passed/);
  // The run removed its container: nothing is left behind on the developer's machine.
  expect(await containersOf(postgresImage)).toEqual(before);
});
