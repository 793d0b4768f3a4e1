/**
 * The SQL a preview's database is created and dropped with, run on a real PostgreSQL server
 * (DATABASE_URL): through the documented database command (sh + psql, the statements as arguments,
 * never spliced into a shell string), and with hostile names, which the name check refuses and the
 * identifier quoting keeps inert even when a name gets past it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import {
  checkIdentifier,
  createDatabaseStatements,
  databaseName,
  dropDatabaseStatements,
  previewNames,
  quoteIdentifier,
} from "../../src/deploy/preview.js";
import { InputError } from "../../src/errors.js";
import { ROOT } from "../docs/generate.js";

const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL)
  throw new Error("set DATABASE_URL to a PostgreSQL server the tests may create databases on");

/** The command the README documents for `previews.database.command`. */
const DOCUMENTED_COMMAND = [
  "sh",
  "-c",
  'for s in "$@"; do psql --no-psqlrc -v ON_ERROR_STOP=1 -c "$s" "$DATABASE_ADMIN_URL" || exit 1; done',
  "sql",
];

const HOSTILE = [
  'x"; DROP DATABASE shipyard_test; --',
  "Robert'); DROP TABLE students;--",
  'a""b',
  "back\\slash",
  "$$ dollar $$",
  "semi;colon",
  "Großbuchstaben",
  "with space",
];

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
});

afterAll(async () => {
  for (const name of [...HOSTILE, "preview_pr_424242", "preview_pr_424243"]) {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  }
  await client.end();
});

/** DATABASE_URL with another database (pg lets the URL win over a `database` option). */
function urlOf(database: string): string {
  const url = new URL(DATABASE_URL!);
  url.pathname = `/${database}`;
  return url.toString();
}

async function exists(name: string): Promise<boolean> {
  const answer = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  return answer.rowCount === 1;
}

/** Runs the documented command with the statements as its arguments, as the one-off task does. */
function runDocumentedCommand(statements: string[]): { status: number | null; stderr: string } {
  const [program, ...args] = DOCUMENTED_COMMAND;
  const result = spawnSync(program!, [...args, ...statements], {
    env: { PATH: process.env.PATH, DATABASE_ADMIN_URL: DATABASE_URL },
    encoding: "utf8",
  });
  return { status: result.status, stderr: result.stderr };
}

describe("the statements", () => {
  it("run through the very command the README documents", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Preview environments"));
    const line = /"command": (\[.*\])\n/.exec(section)?.[1];
    expect(JSON.parse(line ?? "null")).toEqual(DOCUMENTED_COMMAND);
  });

  it("are exactly these, one per argument", () => {
    expect(createDatabaseStatements("preview_pr_42", "app")).toEqual([
      'DROP DATABASE IF EXISTS "preview_pr_42" WITH (FORCE)',
      'CREATE DATABASE "preview_pr_42" OWNER "app"',
    ]);
    expect(createDatabaseStatements("preview_pr_42")).toEqual([
      'DROP DATABASE IF EXISTS "preview_pr_42" WITH (FORCE)',
      'CREATE DATABASE "preview_pr_42"',
    ]);
    expect(dropDatabaseStatements("preview_pr_42")).toEqual([
      'DROP DATABASE IF EXISTS "preview_pr_42" WITH (FORCE)',
    ]);
  });

  it("come from the pull request's number only", () => {
    const settings = parseConfig(
      JSON.stringify({
        image: "ghcr.io/acme/app",
        environments: { staging: { region: "eu-west-1", cluster: "main", service: "web" } },
        previews: {
          from: "staging",
          listenerArn:
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2",
          vpcId: "vpc-0abc12345def67890",
          host: "pr-{{PR}}.preview.example.com",
          database: { command: DOCUMENTED_COMMAND },
        },
      }),
    ).previews!;
    expect(previewNames(settings, { cluster: "main", service: "web" }, 42)).toMatchObject({
      service: "web-pr-42",
      family: "web-pr-42",
      host: "pr-42.preview.example.com",
      url: "https://pr-42.preview.example.com",
      database: "preview_pr_42",
    });
  });

  it("refuse names that are not plain identifiers, before any SQL is written", () => {
    for (const name of [...HOSTILE, "", "1abc", "a-b", "Preview", "a".repeat(64), "nul\u0000byte"]) {
      expect(() => createDatabaseStatements(name), name).toThrow(InputError);
      expect(() => dropDatabaseStatements(name), name).toThrow(InputError);
      expect(() => checkIdentifier(name, "a name"), name).toThrow(/is not a plain PostgreSQL identifier/);
    }
    expect(() => createDatabaseStatements("preview_pr_1", 'app" SUPERUSER')).toThrow(/the database owner/);
    expect(databaseName("preview_pr_", 42)).toBe("preview_pr_42");
    expect(() => databaseName(`${"p".repeat(60)}_`, 123456)).toThrow(InputError);
  });

  it("shipyard.json refuses a hostile database prefix or owner", () => {
    const config = (database: Record<string, unknown>) =>
      JSON.stringify({
        image: "ghcr.io/acme/app",
        environments: { staging: { region: "eu-west-1", cluster: "main", service: "web" } },
        previews: {
          from: "staging",
          listenerArn:
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2",
          vpcId: "vpc-0abc12345def67890",
          host: "pr-{{PR}}.preview.example.com",
          database: { command: ["true"], ...database },
        },
      });
    expect(() => parseConfig(config({ namePrefix: 'x"; DROP DATABASE postgres; --' }))).toThrow(
      /previews\.database\.namePrefix/,
    );
    expect(() => parseConfig(config({ owner: "app; DROP ROLE admin" }))).toThrow(/previews\.database\.owner/);
    expect(() => parseConfig(config({ namePrefix: "Preview_" }))).toThrow(InputError);
  });
});

describe("on a real PostgreSQL server", () => {
  it("the documented command creates the database, a second create gives a fresh one, drop removes it, twice", async () => {
    const name = "preview_pr_424242";
    const created = runDocumentedCommand(createDatabaseStatements(name));
    expect(created.stderr).not.toMatch(/ERROR/);
    expect(created.status).toBe(0);
    expect(await exists(name)).toBe(true);

    // A crashed up left a half-migrated database: the next up starts from an empty one.
    const inside = new pg.Client({ connectionString: urlOf(name) });
    await inside.connect();
    await inside.query("CREATE TABLE half_migrated (id int)");
    await inside.end();
    expect(runDocumentedCommand(createDatabaseStatements(name)).status).toBe(0);
    const again = new pg.Client({ connectionString: urlOf(name) });
    await again.connect();
    const tables = await again.query("SELECT 1 FROM pg_tables WHERE tablename = 'half_migrated'");
    await again.end();
    expect(tables.rowCount).toBe(0);

    expect(runDocumentedCommand(dropDatabaseStatements(name)).status).toBe(0);
    expect(await exists(name)).toBe(false);
    expect(runDocumentedCommand(dropDatabaseStatements(name)).status).toBe(0);
  });

  it("drops a database that still has connections (a preview's running tasks)", async () => {
    const name = "preview_pr_424243";
    expect(runDocumentedCommand(createDatabaseStatements(name)).status).toBe(0);
    const connected = new pg.Client({ connectionString: urlOf(name) });
    await connected.connect();
    connected.on("error", () => {
      // The server ends this connection when the database is dropped WITH (FORCE): expected.
    });
    expect(runDocumentedCommand(dropDatabaseStatements(name)).status).toBe(0);
    expect(await exists(name)).toBe(false);
    await connected.end().catch(() => undefined);
  });

  it("a failing statement stops the command with a non-zero exit", () => {
    const result = runDocumentedCommand(['CREATE DATABASE "preview_pr_1" OWNER "no_such_role_here"']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/role "no_such_role_here" does not exist/);
  });

  it("quoting keeps hostile names inert: each creates exactly the database it names, and nothing else happens", async () => {
    const before = (await client.query("SELECT datname FROM pg_database ORDER BY 1")).rows.map(
      (r) => r.datname,
    );
    for (const name of HOSTILE) {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      expect(await exists(name), name).toBe(true);
      await client.query(`DROP DATABASE ${quoteIdentifier(name)} WITH (FORCE)`);
      expect(await exists(name), name).toBe(false);
    }
    const after = (await client.query("SELECT datname FROM pg_database ORDER BY 1")).rows.map(
      (r) => r.datname,
    );
    expect(after).toEqual(before);
    expect(() => quoteIdentifier("nul\u0000byte")).toThrow(InputError);
  });
});
