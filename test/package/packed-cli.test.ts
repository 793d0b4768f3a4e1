/**
 * The `shipyard` package, as a team installs it: compiled JavaScript (no TypeScript at start), a
 * `bin`, only what it needs in the tarball, installable with `npm install -D` into an app that has
 * nothing else, and working from there with `npx shipyard`: help, a plan against ECS (the
 * simulator), and the commands it prints running as printed.
 */
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/report.js";
import { installPackedCli, type PackedCli } from "../support/package.js";
import { configText, startWorld, TEMPLATE, type World } from "../support/world.js";

const run = promisify(execFile);

let packed: PackedCli;
let h: World;

beforeAll(async () => {
  packed = await installPackedCli();
  h = await startWorld();
}, 240_000);

afterAll(async () => {
  await h?.stop();
  if (packed) await rm(join(packed.app, ".."), { recursive: true, force: true });
});

/** `npx shipyard ARGS` in the app, on this Node (22+), against the simulator. */
async function npx(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npx", ["--no-install", "shipyard", ...args], {
      cwd: packed.app,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ENDPOINT_URL_ECS: h.sim.endpoint,
        AWS_ACCESS_KEY_ID: "AKIAPACKAGETEST00001",
        AWS_SECRET_ACCESS_KEY: "package-test-secret-value",
        AWS_REGION: "eu-west-1",
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the packed CLI", () => {
  it("ships compiled JavaScript, the schema and the bundled template, and no sources or tests", async () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        "dist/bin/shipyard.js",
        "dist/src/commands/deploy.js",
        "dist/task-def.json",
        "schema/shipyard.schema.json",
        "docs/iam-policy.json",
        "package.json",
      ]),
    );
    expect(packed.files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(
      packed.files.filter((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("bin/")),
    ).toEqual([]);
    const manifest = JSON.parse(
      await readFile(join(packed.app, "node_modules/@acme/shipyard/package.json"), "utf8"),
    );
    expect(manifest.bin).toEqual({ shipyard: "dist/bin/shipyard.js" });
    expect(manifest.engines.node).toBe(">=22");
    expect(manifest.dependencies).not.toHaveProperty("tsx");
    expect(await readFile(packed.bin, "utf8")).toMatch(/^#!\/usr\/bin\/env node/);
  });

  it("runs `npx shipyard --help` from the app", async () => {
    const { code, stderr } = await npx(["--help"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^Usage: shipyard <command> \[options\]/);
    expect(stderr).toContain("deploy ");
  });

  it("plans against ECS from the app's folder, and its printed commands run as printed", async () => {
    await writeFile(join(packed.app, "shipyard.json"), configText());
    await writeFile(join(packed.app, "task-def.json"), TEMPLATE);
    const plan = await npx(["plan", "--env", "staging", "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    const report = JSON.parse(plan.stdout) as Report;
    expect(report).toMatchObject({ command: "plan", outcome: "planned", cluster: "main", service: "web" });
    // Nothing recorded yet: rollback refuses and says how to pick a revision, with the program the user ran.
    const rollback = await npx(["rollback", "--env", "staging", "--json"]);
    expect(rollback.code).toBe(2);
    const refused = JSON.parse(rollback.stdout) as Report;
    const next = refused.nextSteps?.[0] ?? "";
    expect(next).toMatch(/^npx shipyard rollback --env staging --to /);
    const picked = await npx(["rollback", "--env", "staging", "--to", "1", "--json"]);
    expect(picked.code, picked.stderr).toBe(0);
  });

  it("runs `npx shipyard try` from the installed package: the emulators ship with it", async () => {
    const tried = await npx(["try", "--speed", "1000", "--json"]);
    expect(tried.code, tried.stderr).toBe(0);
    expect(tried.stderr).toContain("LOCAL EMULATORS, not AWS and not Sentry");
    const report = JSON.parse(tried.stdout) as Report;
    expect(report.details).toMatchObject({
      emulated: true,
      runningRelease: "v1.5.0",
      deploys: [
        { release: "v1.5.0", outcome: "succeeded", exitCode: 0 },
        { release: "v1.6.0", outcome: "rolled_back", exitCode: 1 },
      ],
    });
  });
});
