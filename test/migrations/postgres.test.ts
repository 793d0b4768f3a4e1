/**
 * The migration command Shipyard runs as its one-off ECS task — the example app's `migrate` entry
 * point, started as a real process exactly like the task's container does — against a real
 * PostgreSQL, in a database of this file's own:
 * - the example app's migrations apply (and a second run is a no-op);
 * - the safe corpus and the post-deploy contract migrations really run on PostgreSQL;
 * - two concurrent runs do not both apply (advisory lock);
 * - a failing migration is rolled back, reported with file, line and error, and exits non-zero —
 *   the exit code the migration task turns into a failed deploy — and a fixed re-run recovers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const runnerEntry = join(root, "examples", "app", "src", "migrate.ts");
const exampleMigrations = join(root, "examples", "app", "migrations");
const corpus = join(import.meta.dirname, "corpus");
const serverUrl = process.env.DATABASE_URL || "postgres://shipyard:shipyard@127.0.0.1:5432/shipyard_test";

let databaseUrl: string;
let databaseName: string;
let db: pg.Client;
const folders: string[] = [];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  databaseName = `shipyard_migrations_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE "${databaseName}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  databaseUrl = url.toString();
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

beforeEach(async () => {
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  // A clean schema per test, cheaper than a database per test.
  await db.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
});

afterEach(async () => {
  await db.end();
});

interface Run {
  process: ChildProcess;
  lines: string[];
  exited: Promise<number>;
  /** Resolves once the runner logs `message` (no sleeping). */
  logged(message: string): Promise<void>;
}

/** Starts the example app's migrate entry point, as the ECS task would (`node dist/migrate.js`). */
function startRunner(directory: string): Run {
  const child = spawn(process.execPath, ["--import", "tsx", runnerEntry], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, MIGRATIONS_DIR: directory },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: Array<{ message: string; resolve: () => void }> = [];
  let buffer = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => line.includes(w.message))) waiter.resolve();
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => lines.push(`stderr: ${chunk}`));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return {
    process: child,
    lines,
    exited,
    logged: (message) =>
      new Promise((resolve) => {
        if (lines.some((line) => line.includes(message))) resolve();
        else waiters.push({ message, resolve });
      }),
  };
}

async function folderWith(files: Record<string, string>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "shipyard-migrations-"));
  folders.push(folder);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(folder, name), sql);
  return folder;
}

const appliedNames = async () =>
  (await db.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name")).rows.map(
    (r) => r.name,
  );

const tableExists = async (name: string) =>
  (await db.query("SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = $1", [name]))
    .rowCount === 1;

/** The runner's JSON log lines, parsed. */
const logEntries = (run: Run) =>
  run.lines
    .filter((line) => line.startsWith("{"))
    .map(
      (line) => JSON.parse(line) as { level: string; message: string; applied?: string[]; error?: string },
    );

describe("the example app's migrate command on PostgreSQL", () => {
  it("applies the example app's migrations, then finds nothing to do", async () => {
    const first = startRunner(exampleMigrations);
    expect(await first.exited).toBe(0);
    const files = (await readdir(exampleMigrations)).filter((f) => f.endsWith(".sql")).sort();
    expect(await appliedNames()).toEqual(files);
    expect(await tableExists("notes")).toBe(true);
    const index = await db.query(
      "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'notes_created_at_idx'",
    );
    expect(index.rows).toEqual([{ indisvalid: true }]);

    const second = startRunner(exampleMigrations);
    expect(await second.exited).toBe(0);
    expect(logEntries(second).at(-1)).toMatchObject({ message: "database is up to date", applied: [] });
  });

  it("runs the safe corpus and then the post-deploy contract migrations", async () => {
    const folder = await mkdtemp(join(tmpdir(), "shipyard-corpus-"));
    folders.push(folder);
    await cp(join(corpus, "safe"), folder, { recursive: true });
    await cp(join(corpus, "post-deploy"), folder, { recursive: true });
    const run = startRunner(folder);
    expect(await run.exited, run.lines.join("\n")).toBe(0);
    const constraints = await db.query<{ conname: string; convalidated: boolean }>(
      "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype IN ('c', 'f', 'u') ORDER BY conname",
    );
    expect(constraints.rows).toEqual([
      { conname: "users_amount_positive", convalidated: true },
      { conname: "users_email_not_null", convalidated: true },
      { conname: "users_org_fk", convalidated: true },
      { conname: "users_token_key", convalidated: true },
    ]);
    const columns = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name",
    );
    expect(columns.rows.map((r) => r.column_name)).not.toContain("legacy");
    expect(columns.rows.map((r) => r.column_name)).not.toContain("name");
    expect(await tableExists("old_audit")).toBe(false);
  });

  it("lets only one of two concurrent runs apply the migrations (advisory lock)", async () => {
    // Not idempotent on purpose: applying twice would fail on CREATE TABLE or insert two rows.
    const folder = await folderWith({
      "0001_create_runs.sql": "SET lock_timeout = '5s';\nCREATE TABLE runs (id bigint);\n",
      "0002_insert_run.sql": "INSERT INTO runs VALUES (1);\n",
    });
    // Hold the runners' lock so both are certainly waiting at the same time.
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtextextended('schema_migrations', 0))");
    const [a, b] = [startRunner(folder), startRunner(folder)];
    await Promise.all([a, b].map((run) => run.logged("waiting for another migration run to finish")));
    await holder.query("SELECT pg_advisory_unlock(hashtextextended('schema_migrations', 0))");
    await holder.end();

    expect([await a.exited, await b.exited]).toEqual([0, 0]);
    const applied = [a, b].map((run) => logEntries(run).at(-1)?.applied ?? []);
    expect(applied.flat().sort()).toEqual(["0001_create_runs.sql", "0002_insert_run.sql"]);
    expect(applied.map((list) => list.length).sort()).toEqual([0, 2]);
    expect((await db.query("SELECT count(*)::int AS n FROM runs")).rows).toEqual([{ n: 1 }]);
    expect(await appliedNames()).toEqual(["0001_create_runs.sql", "0002_insert_run.sql"]);
  });

  it("rolls back a failing migration, reports file, line and error, exits 1; a fixed re-run recovers", async () => {
    const folder = await folderWith({
      "0001_create_accounts.sql": "SET lock_timeout = '5s';\nCREATE TABLE accounts (id bigint);\n",
      "0002_half_done.sql": [
        "SET lock_timeout = '5s';",
        "CREATE TABLE ledger (id bigint);",
        "INSERT INTO ledger VALUES (1);",
        "INSERT INTO ledger VALUES (1 / 0);",
        "",
      ].join("\n"),
    });
    const failed = startRunner(folder);
    expect(await failed.exited).toBe(1);
    const error = logEntries(failed).find((entry) => entry.level === "error");
    expect(error?.message).toBe("migration failed");
    expect(error?.error).toMatch(
      /^0002_half_done\.sql .*failed: division by zero; it was rolled back and nothing of it was applied/,
    );
    expect(await tableExists("accounts")).toBe(true);
    expect(await tableExists("ledger")).toBe(false);
    expect(await appliedNames()).toEqual(["0001_create_accounts.sql"]);

    // Recovery: the failed file never applied anywhere, so fixing it in place is allowed.
    await writeFile(
      join(folder, "0002_half_done.sql"),
      "SET lock_timeout = '5s';\nCREATE TABLE ledger (id bigint);\nINSERT INTO ledger VALUES (1);\n",
    );
    const fixed = startRunner(folder);
    expect(await fixed.exited).toBe(0);
    expect(await appliedNames()).toEqual(["0001_create_accounts.sql", "0002_half_done.sql"]);
    expect((await db.query("SELECT count(*)::int AS n FROM ledger")).rows).toEqual([{ n: 1 }]);
  });
});
