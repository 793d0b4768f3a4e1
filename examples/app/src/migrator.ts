/**
 * A small SQL migration runner, safe to start from several deploys at once.
 *
 * - Files: `migrations/NNNN_description.sql`, applied in name order, each exactly once.
 * - A PostgreSQL advisory lock serialises runners: a second run waits (up to `lockWaitMs`), then finds
 *   everything applied and does nothing.
 * - Each file runs in its own transaction together with its row in the `schema_migrations` table, so a
 *   failing file leaves no trace and is retried next time.
 * - A file whose first line is `-- shipyard:no-transaction` runs outside a transaction, one statement
 *   at a time (needed by CREATE INDEX CONCURRENTLY and friends). It is recorded only after its last
 *   statement succeeds, so it must be safe to run again from the top (IF NOT EXISTS / IF EXISTS).
 * - An applied file that changed on disk is an error (never edit an applied migration: add a new one).
 *   Applied names missing on disk are fine: that is an older release (a rollback) running migrate.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import pg from "pg";
import type { Log } from "./log.js";

export const NO_TRANSACTION_MARKER = "-- shipyard:no-transaction";
const FILE_NAME = /^\d{4,}_[a-z0-9_]+\.sql$/;
const DEFAULT_TABLE = "schema_migrations";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
  transaction: boolean;
}

export interface MigrateOptions {
  databaseUrl: string;
  directory: string;
  log: Log;
  /** How long to wait for another runner's lock before giving up. */
  lockWaitMs?: number;
  /** How often to retry the lock meanwhile. */
  lockPollMs?: number;
  table?: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

export async function readMigrations(directory: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith(".sql")).sort();
  } catch (error) {
    throw new MigrationError(
      `cannot read the migrations folder ${directory} (${(error as Error).message}); set MIGRATIONS_DIR`,
    );
  }
  const badName = names.find((name) => !FILE_NAME.test(name));
  if (badName !== undefined) {
    throw new MigrationError(
      `${badName}: name migrations NNNN_description.sql (digits, underscore, lowercase), e.g. 0003_add_tags.sql`,
    );
  }
  return Promise.all(
    names.map(async (name) => {
      const sql = (await readFile(join(directory, name), "utf8")).replace(/\r\n/g, "\n");
      return {
        name,
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
        transaction: !sql.trimStart().startsWith(NO_TRANSACTION_MARKER),
      };
    }),
  );
}

export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { log, lockWaitMs = 60_000, lockPollMs = 500, table = DEFAULT_TABLE } = options;
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new MigrationError(`invalid migrations table name ${table}`);
  const migrations = await readMigrations(options.directory);

  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: "migrate" });
  await client.connect();
  try {
    await acquireLock(client, table, lockWaitMs, lockPollMs, log);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           name text PRIMARY KEY,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now(),
           duration_ms integer NOT NULL
         )`,
      );
      const applied = await appliedChecksums(client, table);
      checkUnchanged(migrations, applied);
      const pending = migrations.filter((m) => !applied.has(m.name));
      log("info", "migrations", { pending: pending.map((m) => m.name), alreadyApplied: applied.size });
      for (const migration of pending) {
        const started = performance.now();
        await apply(client, migration, table);
        const durationMs = Math.round(performance.now() - started);
        log("info", "applied migration", { name: migration.name, durationMs });
      }
      return { applied: pending.map((m) => m.name), alreadyApplied: applied.size };
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [table]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Polls pg_try_advisory_lock instead of blocking in pg_advisory_lock: a session blocked in a statement
 * holds a snapshot, and CREATE INDEX CONCURRENTLY in the runner that owns the lock waits for every
 * such snapshot to end — a deadlock PostgreSQL only breaks by failing one of them (seen in the tests).
 */
async function acquireLock(client: pg.Client, table: string, waitMs: number, pollMs: number, log: Log) {
  const deadline = performance.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked",
      [table],
    );
    if (rows[0]?.locked) return;
    if (attempt === 0) log("info", "waiting for another migration run to finish", { waitMs });
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new MigrationError(
        `another migration run has held the lock for more than ${waitMs} ms; wait for it to finish, ` +
          "or find it with: SELECT pid, application_name, query_start FROM pg_stat_activity " +
          "WHERE pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
      );
    }
    await setTimeout(Math.min(pollMs, left));
  }
}

async function appliedChecksums(client: pg.Client, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT name, checksum FROM ${table} ORDER BY name`,
  );
  return new Map(rows.map((row) => [row.name, row.checksum]));
}

function checkUnchanged(migrations: Migration[], applied: Map<string, string>): void {
  const changed = migrations.filter((m) => applied.has(m.name) && applied.get(m.name) !== m.checksum);
  if (changed.length > 0) {
    throw new MigrationError(
      `${changed.map((m) => m.name).join(", ")} changed after being applied; restore the applied ` +
        "version and put the change in a new migration file",
    );
  }
}

async function apply(client: pg.Client, migration: Migration, table: string): Promise<void> {
  const started = performance.now();
  const record = () =>
    client.query(`INSERT INTO ${table} (name, checksum, duration_ms) VALUES ($1, $2, $3)`, [
      migration.name,
      migration.checksum,
      Math.round(performance.now() - started),
    ]);
  try {
    if (migration.transaction) {
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await record();
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw describeFailure(migration, error, 0);
      }
    } else {
      for (const statement of splitStatements(migration.sql)) {
        try {
          await client.query(statement.text);
        } catch (error) {
          throw describeFailure(migration, error, statement.offset);
        }
      }
      await record();
    }
  } finally {
    // A migration's SET lock_timeout / statement_timeout must not leak into the next one.
    await client.query("RESET ALL");
  }
}

function describeFailure(migration: Migration, error: unknown, offset: number): MigrationError {
  if (error instanceof MigrationError) return error;
  const dbError = error as Partial<pg.DatabaseError>;
  // PostgreSQL gives a position for parse errors only; a statement run alone still has its own line.
  const position = Number(dbError.position ?? 0);
  const index = position > 0 ? offset + position - 1 : migration.transaction ? -1 : offset;
  const where = index >= 0 ? ` (line ${lineAt(migration.sql, index)})` : "";
  const outcome = migration.transaction
    ? "it was rolled back and nothing of it was applied"
    : "it runs without a transaction: the statements before the failing one stay applied, so it must be safe to re-run";
  let hint = "fix the file (if it was never applied anywhere) or add a new migration, then run migrate again";
  if (dbError.code === "25001") {
    hint = `this statement cannot run inside a transaction: make "${NO_TRANSACTION_MARKER}" the first line`;
  } else if (dbError.code === "55P03") {
    hint = "a lock was not granted within lock_timeout (busy table); run migrate again when traffic is lower";
  }
  return new MigrationError(
    `${migration.name}${where} failed: ${String(dbError.message)}; ${outcome}; ${hint}`,
  );
}

function lineAt(text: string, index: number): number {
  return text.slice(0, Math.max(0, index)).split("\n").length;
}

export interface Statement {
  text: string;
  /** Where the statement starts in the file, to turn a PostgreSQL error position into a line. */
  offset: number;
}

/**
 * Splits SQL at top-level semicolons, skipping those inside quotes, dollar-quoted bodies and comments.
 * Used only for no-transaction files: one simple query with several statements would run as one
 * implicit transaction, which CREATE INDEX CONCURRENTLY refuses.
 */
export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const raw = sql.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    if (stripComments(raw).trim() !== "") statements.push({ text: raw.trim(), offset: start + lead });
    start = end + 1;
  };
  while (i < sql.length) {
    const rest = sql.slice(i);
    if (rest.startsWith("--")) i = indexOrEnd(sql, "\n", i);
    else if (rest.startsWith("/*")) i = indexOrEnd(sql, "*/", i + 2) + 1;
    else if (sql[i] === "'" || sql[i] === '"') i = indexOrEnd(sql, sql[i]!, i + 1);
    else {
      const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
      if (dollar !== null) i = indexOrEnd(sql, dollar[0], i + dollar[0].length) + dollar[0].length - 1;
      else if (sql[i] === ";") push(i);
    }
    i++;
  }
  push(sql.length);
  return statements;
}

function indexOrEnd(text: string, search: string, from: number): number {
  const found = text.indexOf(search, from);
  return found === -1 ? text.length : found;
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
}
