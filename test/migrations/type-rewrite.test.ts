/**
 * `ALTER COLUMN ... TYPE` changes that migrate-lint lets through must be the ones PostgreSQL makes
 * without rewriting anything. Each case runs twice:
 * - through migrate-lint (the real squawk, Shipyard's schema replay), which flags it or not;
 * - on the real PostgreSQL server, on a table with a row and an index on the column: a rewrite of the
 *   table or a rebuild of the index gives the relation a new file, so pg_class.relfilenode changes.
 * The two verdicts must agree, in both directions: a change we pass never rewrites, and the cases
 * that do rewrite (narrower, another scale, another type, a computing USING, a new collation) are
 * flagged.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LintResult, lintMigrations } from "../../src/migrations/lint.js";

interface TypeCase {
  from: string;
  /** What follows `ALTER COLUMN c TYPE`. */
  to: string;
  /** A value of the old type, so the table has a row to rewrite. */
  value: string;
}

/** PostgreSQL changes only the catalogue (documented in the ALTER TABLE notes and 9.2+ release notes). */
const noRewrite: TypeCase[] = [
  { from: "varchar(20)", to: "varchar(40)", value: "'abc'" },
  { from: "character varying(20)", to: "character varying(255)", value: "'abc'" },
  { from: "varchar(20)", to: "varchar", value: "'abc'" },
  { from: "varchar(20)", to: "text", value: "'abc'" },
  { from: "varchar", to: "text", value: "'abc'" },
  { from: "text", to: "varchar", value: "'abc'" },
  { from: "text", to: "character varying", value: "'abc'" },
  { from: "varchar(20)", to: "varchar(40) USING c::varchar(40)", value: "'abc'" },
  { from: "varchar(20)", to: "varchar(20)", value: "'abc'" },
  { from: "numeric(10, 2)", to: "numeric(12, 2)", value: "1.25" },
  { from: "decimal(10, 2)", to: "numeric(14, 2)", value: "1.25" },
  { from: "numeric(10, 2)", to: "numeric", value: "1.25" },
  { from: "varbit(8)", to: "varbit(16)", value: "B'101'" },
  { from: "bit varying(8)", to: "bit varying", value: "B'101'" },
  { from: "timestamp(3)", to: "timestamp(6)", value: "'2024-01-01 10:00:00.123'" },
  { from: "timestamp(0)", to: "timestamp without time zone", value: "'2024-01-01 10:00:00'" },
  { from: "timestamptz(0)", to: "timestamp(3) with time zone", value: "'2024-01-01 10:00:00+00'" },
  { from: "interval(2)", to: "interval", value: "'1 day'" },
  { from: "cidr", to: "inet", value: "'10.0.0.0/8'" },
];

/** PostgreSQL rewrites the table, or rebuilds the index on the column. */
const rewrite: TypeCase[] = [
  { from: "varchar(40)", to: "varchar(20)", value: "'abc'" },
  { from: "text", to: "varchar(10)", value: "'abc'" },
  { from: "varchar(20)", to: "varchar(40) USING lower(c)", value: "'abc'" },
  { from: "varchar(20)", to: 'varchar(40) COLLATE "C"', value: "'abc'" },
  { from: "numeric(10, 2)", to: "numeric(10, 4)", value: "1.25" },
  { from: "numeric(10, 2)", to: "numeric(8, 2)", value: "1.25" },
  { from: "numeric", to: "numeric(10, 2)", value: "1.25" },
  { from: "integer", to: "bigint", value: "1" },
  { from: "timestamp(6)", to: "timestamp(3)", value: "'2024-01-01 10:00:00'" },
  // Without a rewrite only when the session time zone is UTC (PostgreSQL 12+); the test's is not.
  { from: "timestamp", to: "timestamptz", value: "'2024-01-01 10:00:00'" },
  { from: "inet", to: "cidr", value: "'10.0.0.0/8'" },
  { from: "varchar(20)[]", to: "varchar(40)[]", value: "ARRAY['abc']" },
];

const cases = [...noRewrite, ...rewrite].map((c, i) => ({ ...c, table: `t${String(i).padStart(2, "0")}` }));

const serverUrl = process.env.DATABASE_URL || "postgres://shipyard:shipyard@127.0.0.1:5432/shipyard_test";
let databaseName: string;
let app: string;
let lint: LintResult;
/** Table → whether the ALTER gave the table or its index a new relfilenode on the real server. */
const rewritten = new Map<string, boolean>();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const migrationOf = (c: (typeof cases)[number]) => `${c.table}_alter.sql`;

async function lintAll(): Promise<LintResult> {
  app = await mkdtemp(join(tmpdir(), "shipyard-type-rewrite-"));
  await mkdir(join(app, "migrations"));
  const timeouts = "SET lock_timeout = '5s';\nSET statement_timeout = '60s';\n";
  // The tables exist before the change (a table created in the same file is nobody's yet).
  await writeFile(
    join(app, "migrations", "0000_create.sql"),
    timeouts + cases.map((c) => `CREATE TABLE ${c.table} (c ${c.from});\n`).join(""),
  );
  for (const c of cases) {
    await writeFile(
      join(app, "migrations", migrationOf(c)),
      `${timeouts}ALTER TABLE ${c.table} ALTER COLUMN c TYPE ${c.to};\n`,
    );
  }
  return lintMigrations({ appRoot: app });
}

async function runAll(): Promise<void> {
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await db.query("SET TimeZone = 'Europe/Paris'");
    const files = async (table: string) =>
      (
        await db.query<{ relname: string; relfilenode: string }>(
          `SELECT relname, relfilenode FROM pg_class WHERE relname IN ($1, $2) ORDER BY relname`,
          [table, `${table}_c_idx`],
        )
      ).rows.map((row) => `${row.relname}:${row.relfilenode}`);
    for (const c of cases) {
      await db.query(`CREATE TABLE ${c.table} (c ${c.from})`);
      await db.query(`INSERT INTO ${c.table} VALUES (${c.value})`);
      const arrayColumn = c.from.endsWith("]");
      await db.query(`CREATE INDEX ${c.table}_c_idx ON ${c.table} ${arrayColumn ? "USING gin " : ""}(c)`);
      const before = await files(c.table);
      expect(before).toHaveLength(2);
      await db.query(`ALTER TABLE ${c.table} ALTER COLUMN c TYPE ${c.to}`);
      rewritten.set(c.table, JSON.stringify(await files(c.table)) !== JSON.stringify(before));
    }
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  databaseName = `shipyard_type_rewrite_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE "${databaseName}"`);
  [lint] = await Promise.all([lintAll(), runAll()]);
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  await rm(app, { recursive: true, force: true });
});

const flagged = (c: (typeof cases)[number]) =>
  lint.findings.some(
    (f) =>
      f.file === `migrations/${migrationOf(c)}` && f.rule === "changing-column-type" && f.level === "error",
  );

describe("type changes: migrate-lint against what PostgreSQL really does", () => {
  it.each(cases.slice(0, noRewrite.length))("$from → $to: not flagged, and no rewrite on PostgreSQL", (c) => {
    expect(rewritten.get(c.table)).toBe(false);
    expect(flagged(c)).toBe(false);
  });

  it.each(cases.slice(noRewrite.length))("$from → $to: flagged, and PostgreSQL rewrites", (c) => {
    expect(rewritten.get(c.table)).toBe(true);
    expect(flagged(c)).toBe(true);
  });

  it("ran every case on the server", () => {
    expect(rewritten.size).toBe(cases.length);
  });
});
