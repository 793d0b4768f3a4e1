/**
 * Everything the tests know about PostgreSQL, in one place.
 *
 * `setup` runs once per `vitest run` (it is the configs' globalSetup): it finds a server, checks that it
 * answers, and hands its URL to the test files. Each test file then creates its OWN database with
 * `createTestDatabase`, so files run in parallel and two runs on one server never collide.
 *
 * The server comes from DATABASE_URL. Without it, and with a Docker engine at hand (a laptop), the
 * tests start a throwaway PostgreSQL with testcontainers, image SHIPYARD_TEST_POSTGRES_IMAGE
 * (default postgres:16, production's major version), and stop it when the run ends.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    databaseServerUrl: string;
  }
}

const HOW_TO_SET =
  "The tests need a PostgreSQL server on which they may create databases. Set DATABASE_URL, e.g.\n" +
  "  export DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres\n" +
  "(any database on that server; the tests create and drop their own next to it).";

interface Server {
  url: string;
  stop(): Promise<void>;
}

const DEFAULT_POSTGRES_IMAGE = "postgres:16";

async function findServer(): Promise<Server> {
  const url = process.env["DATABASE_URL"];
  if (url !== undefined && url !== "") return { url, stop: async () => {} };
  return startContainer();
}

/** The fallback: a PostgreSQL container, when a Docker engine answers. */
async function startContainer(): Promise<Server> {
  // Loaded only here: runs with DATABASE_URL never pay for testcontainers.
  const { getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    throw new Error(
      `DATABASE_URL is not set and no Docker engine answers (${(error as Error).message}), ` +
        `so there is no PostgreSQL to test against. ${HOW_TO_SET}\nOr start Docker: the tests then run their own PostgreSQL.`,
    );
  }
  const image = process.env["SHIPYARD_TEST_POSTGRES_IMAGE"] || DEFAULT_POSTGRES_IMAGE;
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  console.log(`DATABASE_URL is not set: starting a PostgreSQL container (${image}) with testcontainers.`);
  const container = await new PostgreSqlContainer(image).start().catch((error: Error) => {
    throw new Error(
      `Could not start the PostgreSQL container ${image}: ${error.message}. ` +
        "Set SHIPYARD_TEST_POSTGRES_IMAGE to an image you have, or set DATABASE_URL.",
    );
  });
  return {
    url: container.getConnectionUri(),
    stop: async () => {
      await container.stop();
    },
  };
}

/** vitest globalSetup; the function it returns is the teardown. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await findServer();
  const url = server.url;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    await server.stop();
    throw new Error(
      `Cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}. ` +
        `Start the server or fix DATABASE_URL. ${HOW_TO_SET}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  project.provide("databaseServerUrl", url);
  return server.stop;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server; `drop()` removes it even if connections are left open. */
export async function createTestDatabase(serverUrl: string, label: string): Promise<TestDatabase> {
  const name = `example_${label}_${process.pid}_${randomBytes(4).toString("hex")}`.slice(0, 63);
  await admin(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(DATABASE_URL is not a valid URL)";
  }
}
