import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { Fields } from "../src/log.js";
import { MigrationError, migrate, readMigrations, splitStatements } from "../src/migrator.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

const EXAMPLE_MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));
const serverUrl = inject("databaseServerUrl");

let db: TestDatabase;
let folders: string[] = [];
const messages: string[] = [];
const waiters: Array<{ message: string; resolve: () => void }> = [];
const log = (_level: string, message: string, _fields?: Fields) => {
  messages.push(message);
  for (const waiter of waiters.filter((w) => w.message === message)) waiter.resolve();
};
/** Resolves when the runner logs `message`: lets a test act at the right moment without sleeping. */
const logged = (message: string) =>
  new Promise<void>((resolve) => {
    if (messages.includes(message)) resolve();
    else waiters.push({ message, resolve });
  });

beforeEach(async () => {
  db = await createTestDatabase(serverUrl, "migrator");
  messages.length = 0;
  waiters.length = 0;
});
afterEach(async () => {
  await db.drop();
});
afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  folders = [];
});

async function folderWith(files: Record<string, string>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "example-migrations-"));
  folders.push(folder);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(folder, name), sql);
  return folder;
}

async function query<Row extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const appliedNames = async () =>
  (await query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name")).map((r) => r.name);

describe("the example app's migrations", () => {
  it("apply to an empty database, build a valid index concurrently, and record both", async () => {
    const result = await migrate({ databaseUrl: db.url, directory: EXAMPLE_MIGRATIONS, log });

    expect(result).toEqual({
      applied: ["0001_create_notes.sql", "0002_index_notes_created_at.sql"],
      alreadyApplied: 0,
    });
    expect(await appliedNames()).toEqual(result.applied);
    const [index] = await query<{ indisvalid: boolean }>(
      "SELECT indisvalid FROM pg_index WHERE indexrelid = 'notes_created_at_idx'::regclass",
    );
    expect(index?.indisvalid).toBe(true);
  });

  it("do nothing the second time", async () => {
    await migrate({ databaseUrl: db.url, directory: EXAMPLE_MIGRATIONS, log });
    const again = await migrate({ databaseUrl: db.url, directory: EXAMPLE_MIGRATIONS, log });
    expect(again).toEqual({ applied: [], alreadyApplied: 2 });
  });

  it("are marked the way the runner expects: only the index migration runs outside a transaction", async () => {
    const migrations = await readMigrations(EXAMPLE_MIGRATIONS);
    expect(migrations.map((m) => [m.name, m.transaction])).toEqual([
      ["0001_create_notes.sql", true],
      ["0002_index_notes_created_at.sql", false],
    ]);
  });
});

describe("concurrent runs", () => {
  it("apply each migration once when two runners start together", async () => {
    const run = () => migrate({ databaseUrl: db.url, directory: EXAMPLE_MIGRATIONS, log, lockPollMs: 20 });
    const [first, second] = await Promise.all([run(), run()]);
    expect([...first.applied, ...second.applied].sort()).toEqual([
      "0001_create_notes.sql",
      "0002_index_notes_created_at.sql",
    ]);
    expect(await appliedNames()).toHaveLength(2);
  });

  it("wait for the lock held by another runner, then apply", async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtextextended('schema_migrations', 0))");

    const running = migrate({ databaseUrl: db.url, directory: EXAMPLE_MIGRATIONS, log, lockPollMs: 20 });
    await logged("waiting for another migration run to finish");
    expect(await tableExists("notes")).toBe(false);

    await holder.query("SELECT pg_advisory_unlock_all()");
    await holder.end();
    expect((await running).applied).toHaveLength(2);
  });

  it("give up with a clear message when the lock is not released in time", async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtextextended('schema_migrations', 0))");
    try {
      const run = migrate({
        databaseUrl: db.url,
        directory: EXAMPLE_MIGRATIONS,
        log,
        lockWaitMs: 50,
        lockPollMs: 10,
      });
      await expect(run).rejects.toThrow(/another migration run has held the lock for more than 50 ms/);
      expect(await tableExists("notes")).toBe(false);
    } finally {
      await holder.end();
    }
  });
});

describe("a failing migration", () => {
  it("is rolled back completely, keeps the earlier ones, and names the file and line", async () => {
    const directory = await folderWith({
      "0001_first.sql": "CREATE TABLE first (id bigint);",
      "0002_broken.sql":
        "CREATE TABLE second (id bigint);\nINSERT INTO second VALUES (1);\nSELECT no_such_column FROM second;\n",
    });
    const run = migrate({ databaseUrl: db.url, directory, log });

    await expect(run).rejects.toThrow(MigrationError);
    await expect(run).rejects.toThrow(
      /0002_broken\.sql \(line 3\) failed: column "no_such_column" does not exist; it was rolled back/,
    );
    expect(await appliedNames()).toEqual(["0001_first.sql"]);
    expect(await tableExists("second")).toBe(false);
  });

  it("is retried on the next run once fixed", async () => {
    const directory = await folderWith({ "0001_broken.sql": "SELECT 1/0;" });
    await expect(migrate({ databaseUrl: db.url, directory, log })).rejects.toThrow(/division by zero/);
    await writeFile(join(directory, "0001_broken.sql"), "SELECT 1;");
    expect((await migrate({ databaseUrl: db.url, directory, log })).applied).toEqual(["0001_broken.sql"]);
  });

  it("outside a transaction keeps its earlier statements and says it must be re-runnable", async () => {
    const directory = await folderWith({
      "0001_no_tx.sql": "-- shipyard:no-transaction\nCREATE TABLE kept (id bigint);\nSELECT 1/0;\n",
    });
    await expect(migrate({ databaseUrl: db.url, directory, log })).rejects.toThrow(
      /0001_no_tx\.sql \(line 3\) failed: division by zero; it runs without a transaction/,
    );
    expect(await tableExists("kept")).toBe(true);
    expect(await appliedNames()).toEqual([]);
  });

  it("using CONCURRENTLY without the marker gets told how to mark the file", async () => {
    const directory = await folderWith({
      "0001_table.sql": "CREATE TABLE t (id bigint);",
      "0002_index.sql": "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);",
    });
    await expect(migrate({ databaseUrl: db.url, directory, log })).rejects.toThrow(
      /make "-- shipyard:no-transaction" the first line/,
    );
  });
});

describe("settings do not leak between migrations", () => {
  it("resets a migration's SET lock_timeout before the next one", async () => {
    const directory = await folderWith({
      "0001_set.sql": "SET lock_timeout = '1234ms'; CREATE TABLE a (id bigint);",
      "0002_read.sql": "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS value;",
    });
    await migrate({ databaseUrl: db.url, directory, log });
    expect(await query<{ value: string }>("SELECT value FROM seen")).toEqual([{ value: "0" }]);
  });
});

describe("history checks", () => {
  it("refuses to run when an applied migration was edited", async () => {
    const directory = await folderWith({ "0001_a.sql": "CREATE TABLE a (id bigint);" });
    await migrate({ databaseUrl: db.url, directory, log });
    await writeFile(join(directory, "0001_a.sql"), "CREATE TABLE a (id bigint, extra text);");
    await expect(migrate({ databaseUrl: db.url, directory, log })).rejects.toThrow(
      /0001_a\.sql changed after being applied; restore the applied version/,
    );
  });

  it("accepts a database that is ahead of the code (an older release running migrate after a rollback)", async () => {
    const newer = await folderWith({ "0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;" });
    await migrate({ databaseUrl: db.url, directory: newer, log });
    const older = await folderWith({ "0001_a.sql": "SELECT 1;" });
    expect(await migrate({ databaseUrl: db.url, directory: older, log })).toEqual({
      applied: [],
      alreadyApplied: 2,
    });
  });

  it("rejects a file name that does not sort reliably", async () => {
    const directory = await folderWith({ "add-users.sql": "SELECT 1;" });
    await expect(migrate({ databaseUrl: db.url, directory, log })).rejects.toThrow(
      /add-users\.sql: name migrations NNNN_description\.sql/,
    );
  });

  it("names the folder when it does not exist", async () => {
    await expect(migrate({ databaseUrl: db.url, directory: "/no/such/folder", log })).rejects.toThrow(
      /cannot read the migrations folder \/no\/such\/folder/,
    );
  });
});

describe("splitStatements", () => {
  it("splits at top-level semicolons only", () => {
    const sql = [
      "-- a comment; with a semicolon",
      "SET lock_timeout = '5s';",
      "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
      'CREATE TABLE "odd;name" (id bigint);',
      "/* block; comment */ CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
      "DO $$ BEGIN PERFORM 1; END $$;",
      "-- trailing comment only",
    ].join("\n");
    expect(splitStatements(sql).map((s) => s.text)).toEqual([
      "-- a comment; with a semicolon\nSET lock_timeout = '5s'",
      "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
      'CREATE TABLE "odd;name" (id bigint)',
      "/* block; comment */ CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
      "DO $$ BEGIN PERFORM 1; END $$",
    ]);
  });

  it("keeps each statement's offset in the file", () => {
    const sql = "SELECT 1;\n\nSELECT 2;";
    expect(splitStatements(sql)).toEqual([
      { text: "SELECT 1", offset: 0 },
      { text: "SELECT 2", offset: 11 },
    ]);
  });
});

async function tableExists(name: string): Promise<boolean> {
  const [row] = await query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [name]);
  return row?.exists ?? false;
}
