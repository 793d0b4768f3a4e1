/**
 * The production image, for real: the module's default Dockerfile builds the example app (BuildKit, pnpm
 * cache mount, only NODE_IMAGE pointed at the local stand-in), and the image runs against PostgreSQL on
 * one Docker network the way an ECS task does.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appDir,
  appImage,
  appPackageJson,
  exposedPort,
  inspectImage,
  nodeImage,
  stopTimeoutSeconds,
} from "./app-image.js";
import { type ContainerInspect, docker, engineAnswers, type ImageInspect, inspectJson } from "./docker.js";
import { runMigrations, type Stack, startAppTask, startStack } from "./stack.js";

const release = `image-test-${randomBytes(4).toString("hex")}`;

let image: ImageInspect;
let imageTag: string;
let port: number;
let stack: Stack;
let app: StartedTestContainer;
let migrationOutput: string;

beforeAll(async () => {
  if (!(await engineAnswers())) {
    throw new Error("no Docker engine answers: run `bash test/image/provision.sh` as root first");
  }
  imageTag = (await appImage(release)).tag;
  image = await inspectImage(imageTag);
  port = exposedPort(image);
  stack = await startStack();
  const migration = await runMigrations(imageTag, stack);
  migrationOutput = migration.stdout + migration.stderr;
  expect(migration.exitCode, migrationOutput).toBe(0);
  app = await startAppTask(imageTag, stack, { port });
});

afterAll(async () => {
  // The SIGTERM test already stopped the app; stopping an exited container is harmless.
  await app?.stop({ timeout: 30_000 });
  await stack?.stop();
  // Each run tags its own release: untag it so repeated runs leave no pile of images behind.
  if (imageTag !== undefined) await docker(["image", "rm", imageTag], { allowFailure: true });
});

function appUrl(path: string): string {
  return `http://${app.getHost()}:${app.getMappedPort(port)}${path}`;
}

function databaseClient(): pg.Client {
  return new pg.Client({ connectionString: stack.database.getConnectionUri() });
}

async function withDatabase<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = databaseClient();
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Tables and indexes the migrations create, read from the SQL files themselves. */
function objectsCreatedByMigrations(): string[] {
  const directory = `${appDir}/migrations`;
  const created =
    /CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi;
  return readdirSync(directory)
    .filter((name) => name.endsWith(".sql"))
    .map((name) => readFileSync(`${directory}/${name}`, "utf8").replace(/--.*$/gm, ""))
    .flatMap((sql) => [...sql.matchAll(created)].map((match) => match[1]!));
}

describe("the default Dockerfile's image of the example app", () => {
  it("applies every migration with the image's migrate command", async () => {
    const files = readdirSync(`${appDir}/migrations`).filter((name) => name.endsWith(".sql"));
    const applied = await withDatabase(async (client) => {
      const { rows } = await client.query<{ name: string }>(
        "SELECT name FROM schema_migrations ORDER BY name",
      );
      return rows.map((row) => row.name);
    });
    expect(applied).toEqual(files.sort());
    const objects = objectsCreatedByMigrations();
    expect(objects.length).toBeGreaterThan(0);
    const missing = await withDatabase(async (client) => {
      const { rows } = await client.query<{ name: string }>(
        "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL",
        [objects],
      );
      return rows.map((row) => row.name);
    });
    expect(missing).toEqual([]);
  });

  it("answers /health with 200", async () => {
    const response = await fetch(appUrl("/health"));
    expect(response.status).toBe(200);
  });

  it("reports the SENTRY_RELEASE build argument on /version", async () => {
    const response = await fetch(appUrl("/version"));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { release?: string };
    expect(body.release).toBe(release);
  });

  it("runs every process of the container as a non-root user", async () => {
    const user = image.Config.User ?? "";
    expect(user, "the image must set USER").not.toBe("");
    expect(["root", "0", "0:0"]).not.toContain(user);
    const { stdout } = await docker(["top", app.getId(), "-o", "pid,uid,comm"]);
    const processes = stdout.trim().split("\n").slice(1);
    expect(processes.length).toBeGreaterThan(0);
    for (const line of processes) expect(line.trim().split(/\s+/)[1], line).not.toBe("0");
  });

  it("turns healthy through the image's own HEALTHCHECK", async () => {
    expect(image.Config.Healthcheck?.Test?.length ?? 0).toBeGreaterThan(0);
    const state = await inspectJson<ContainerInspect>("container", app.getId());
    expect(state.State.Health?.Status).toBe("healthy");
  });

  it("ships node without the base's npm, npx, corepack, yarn and C headers", async () => {
    const base = await buildToolsInBase();
    // The removal is proven only if the base had them: every official Node image ships npm.
    expect(base.onPath, `${nodeImage} should ship npm`).toContain("npm");
    expect(base.paths).toContain("/usr/local/lib/node_modules/npm");
    expect(await buildToolsInRuntime()).toEqual({ onPath: [], paths: [] });
  });

  it("carries no development dependency", async () => {
    const devDependencies = Object.keys(appPackageJson().devDependencies ?? {});
    expect(devDependencies.length).toBeGreaterThan(0);
    const installed = await installedPackages(image.Config.WorkingDir || "/");
    expect(installed, "the production node_modules is empty: is the app's pg missing?").toContain("pg");
    expect(installed.filter((name) => devDependencies.includes(name))).toEqual([]);
  });
});

/** What the runtime stage removes from the base: package managers on PATH, and their official paths. */
interface BuildTools {
  onPath: string[];
  paths: string[];
}

/** Read with node itself (the one program both the base and the runtime image must have). */
const buildToolsScript = `
  const fs = require("node:fs"), path = require("node:path");
  const executable = (file) => { try { fs.accessSync(file, fs.constants.X_OK); return true; } catch { return false; } };
  const dirs = (process.env.PATH || "").split(":").filter(Boolean);
  const onPath = ["npm", "npx", "corepack", "yarn", "yarnpkg"].filter((name) => dirs.some((dir) => executable(path.join(dir, name))));
  let yarns = [];
  try { yarns = fs.readdirSync("/opt").filter((name) => name.startsWith("yarn")).map((name) => "/opt/" + name); } catch {}
  const paths = ["/usr/local/lib/node_modules/npm", "/usr/local/lib/node_modules/corepack", "/usr/local/include/node", ...yarns]
    .filter((file) => fs.existsSync(file));
  process.stdout.write(JSON.stringify({ onPath, paths }));
`;

async function buildToolsInRuntime(): Promise<BuildTools> {
  const result = await app.exec(["node", "-e", buildToolsScript]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as BuildTools;
}

async function buildToolsInBase(): Promise<BuildTools> {
  const { stdout } = await docker(["run", "--rm", "--entrypoint", "node", nodeImage, "-e", buildToolsScript]);
  return JSON.parse(stdout) as BuildTools;
}

/**
 * Every package name under the app's node_modules (pnpm's .pnpm store included), read inside the
 * container with node itself so it works on any base image.
 */
async function installedPackages(appRoot: string): Promise<string[]> {
  const script = `
    const fs = require("node:fs"), path = require("node:path");
    const names = new Set();
    const packageRoot = /[\\\\/]node_modules[\\\\/](@[^\\\\/]+[\\\\/])?[^\\\\/]+$/;
    function walk(dir) {
      let entries;
      try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile() && entry.name === "package.json" && packageRoot.test(dir)) {
          try { const name = JSON.parse(fs.readFileSync(full, "utf8")).name; if (name) names.add(name); } catch {}
        }
      }
    }
    walk(path.join(process.argv[1], "node_modules"));
    process.stdout.write(JSON.stringify([...names]));
  `;
  const result = await app.exec(["node", "-e", script, appRoot]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as string[];
}

describe("stopping the image's container with SIGTERM, as ECS does", () => {
  it("finishes the request in flight and exits 0 within the task definition's stopTimeout", async () => {
    const stopTimeoutMs = stopTimeoutSeconds() * 1000;
    const lock = databaseClient();
    await lock.connect();
    try {
      // Hold the notes table so GET /notes is provably in flight when SIGTERM arrives.
      await lock.query("BEGIN");
      await lock.query("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE");
      const inFlight = fetch(appUrl("/notes"));
      await until("GET /notes waits on the lock", async () => {
        const { rows } = await lock.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'shipyard-example' AND wait_event_type = 'Lock'",
        );
        return rows.length > 0;
      });

      const sigtermAt = performance.now();
      const draining = logLine(app, "draining");
      await docker(["kill", "--signal", "SIGTERM", app.getId()]);
      await draining;
      const whileDraining = await inspectJson<ContainerInspect>("container", app.getId());
      expect(whileDraining.State.Running, "the process must wait for the request in flight").toBe(true);

      await lock.query("COMMIT");
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toHaveProperty("notes");

      const { stdout } = await docker(["wait", app.getId()]);
      const stoppedAfterMs = performance.now() - sigtermAt;
      const logs = await docker(["logs", app.getId()]);
      expect(Number(stdout.trim()), `exit code after a clean drain; the app logged:\n${logs.stdout}`).toBe(0);
      expect(stoppedAfterMs).toBeLessThan(stopTimeoutMs);
    } finally {
      await lock.end();
    }
  });
});

/** Resolves when the container logs a line containing `text` (the app logs JSON lines on stdout). */
async function logLine(container: StartedTestContainer, text: string): Promise<void> {
  const stream = await container.logs();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the container never logged "${text}"`)), 30_000);
    stream.on("data", (chunk: Buffer | string) => {
      if (chunk.toString().includes(text)) {
        clearTimeout(timer);
        stream.destroy();
        resolve();
      }
    });
  });
}

/** Polls real external state (PostgreSQL's view of the app's query) until it holds; bounded. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
