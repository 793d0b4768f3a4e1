/**
 * Everything the tests know about PostgreSQL, in one place.
 *
 * `setup` runs once per `vitest run` (it is the configs' globalSetup): it finds a server, checks that it
 * answers, and hands its URL to the test files. Each test file then creates its OWN database with
 * `createTestDatabase`, so files run in parallel and two runs on one server never collide.
 *
 * Today the server comes from DATABASE_URL. A fallback (e.g. a testcontainers PostgreSQL when Docker
 * is available) belongs in `findServer` and nowhere else.
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

async function findServer(): Promise<string> {
  const url = process.env["DATABASE_URL"];
  if (url === undefined || url === "") throw new Error(`DATABASE_URL is not set. ${HOW_TO_SET}`);
  return url;
}

/** vitest globalSetup. */
export async function setup(project: TestProject): Promise<void> {
  const url = await findServer();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `Cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}. ` +
        `Start the server or fix DATABASE_URL. ${HOW_TO_SET}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  project.provide("databaseServerUrl", url);
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
