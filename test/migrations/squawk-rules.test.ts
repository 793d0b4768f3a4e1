/**
 * The rule catalogue (src/migrations/rules.ts) against the squawk binary Shipyard pins (squawk-cli
 * 2.61.0), in both directions:
 * - every catalogue name is one squawk emits: the SQL below makes the real binary report each one;
 * - every name squawk emits is in the catalogue: the same run reports no other name, and the
 *   binary's own table of rule names (the strings its Display impl prints, stored back to back in
 *   the executable) is exactly the catalogue plus the one alias squawk accepts but never reports.
 *
 * How the list was enumerated: the `Rule` enum and its Display impl in squawk's source at the
 * v2.61.0 tag (crates/squawk_linter/src/lib.rs) — 39 names, of which require-timeout-settings only
 * expands to require-lock-timeout and require-statement-timeout, and prefer-timestamptz is an alias
 * squawk parses but never prints (it prints prefer-timestamp-tz). The trigger SQL comes from each
 * rule's source in crates/squawk_linter/src/rules/. A squawk upgrade that adds, renames or drops a
 * rule fails this file until the catalogue follows.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode, ShipyardError } from "../../src/errors.js";
import { lintMigrations } from "../../src/migrations/lint.js";
import { adviceFor, squawkRules } from "../../src/migrations/rules.js";
import { findSquawk, type SquawkFinding, squawkVersion } from "../../src/migrations/squawk.js";

const squawk = findSquawk();

/** Names squawk accepts in --exclude and squawk-ignore but never puts in a finding. */
const neverReported = ["require-timeout-settings"];

interface Trigger {
  sql: string;
  /** Extra squawk flags the rule needs (opt-in rules, a PostgreSQL version). */
  flags?: string[];
}

const timeouts = "SET lock_timeout = '1s';\nSET statement_timeout = '5s';\n";

/** SQL that makes squawk 2.61 report the rule (each file is linted on its own). */
const triggers: Record<string, Trigger> = {
  "require-concurrent-index-creation": { sql: `${timeouts}CREATE INDEX i ON t (a);` },
  "require-concurrent-index-deletion": { sql: `${timeouts}DROP INDEX i;` },
  "ban-concurrent-index-creation-in-transaction": {
    sql: `${timeouts}CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);`,
    flags: ["--assume-in-transaction"],
  },
  "adding-not-nullable-field": { sql: `${timeouts}ALTER TABLE t ALTER COLUMN a SET NOT NULL;` },
  "adding-required-field": { sql: `${timeouts}ALTER TABLE t ADD COLUMN a text NOT NULL;` },
  "adding-field-with-default": {
    sql: `${timeouts}ALTER TABLE t ADD COLUMN a uuid DEFAULT gen_random_uuid();`,
  },
  "changing-column-type": { sql: `${timeouts}ALTER TABLE t ALTER COLUMN a TYPE bigint;` },
  "constraint-missing-not-valid": { sql: `${timeouts}ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);` },
  "adding-foreign-key-constraint": {
    sql: `${timeouts}ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id);`,
  },
  "disallowed-unique-constraint": { sql: `${timeouts}ALTER TABLE t ADD CONSTRAINT k UNIQUE (a);` },
  "adding-serial-primary-key-field": { sql: `${timeouts}ALTER TABLE t ADD PRIMARY KEY (id);` },
  "require-lock-timeout": { sql: "SET statement_timeout = '5s';\nALTER TABLE t ADD COLUMN a text;" },
  "require-statement-timeout": { sql: "SET lock_timeout = '1s';\nALTER TABLE t ADD COLUMN a text;" },
  "ban-drop-database": { sql: "DROP DATABASE d;" },
  "ban-truncate-cascade": { sql: `${timeouts}TRUNCATE t CASCADE;` },
  "ban-drop-column": { sql: `${timeouts}ALTER TABLE t DROP COLUMN IF EXISTS a;` },
  "ban-drop-table": { sql: `${timeouts}DROP TABLE IF EXISTS t;` },
  "renaming-column": { sql: `${timeouts}ALTER TABLE t RENAME COLUMN a TO b;` },
  "renaming-table": { sql: `${timeouts}ALTER TABLE t RENAME TO u;` },
  "ban-drop-not-null": { sql: `${timeouts}ALTER TABLE t ALTER COLUMN a DROP NOT NULL;` },
  "prefer-robust-stmts": { sql: `${timeouts}ALTER TABLE t ADD COLUMN a text;` },
  "prefer-text-field": { sql: `${timeouts}ALTER TABLE t ADD COLUMN IF NOT EXISTS a varchar(20);` },
  "prefer-bigint-over-int": { sql: `${timeouts}ALTER TABLE t ADD COLUMN IF NOT EXISTS a integer;` },
  "prefer-bigint-over-smallint": { sql: `${timeouts}ALTER TABLE t ADD COLUMN IF NOT EXISTS a smallint;` },
  "prefer-identity": { sql: `${timeouts}CREATE TABLE IF NOT EXISTS t (id bigserial PRIMARY KEY);` },
  "prefer-timestamp-tz": { sql: `${timeouts}ALTER TABLE t ADD COLUMN IF NOT EXISTS created_at timestamp;` },
  "ban-char-field": { sql: `${timeouts}ALTER TABLE t ADD COLUMN IF NOT EXISTS a char(2);` },
  "require-concurrent-reindex": { sql: `${timeouts}REINDEX TABLE t;` },
  "require-concurrent-partition-detach": { sql: `${timeouts}ALTER TABLE t DETACH PARTITION p;` },
  "prefer-repack": { sql: `${timeouts}CLUSTER t USING t_pkey;`, flags: ["--pg-version=19"] },
  "transaction-nesting": { sql: `BEGIN;\n${timeouts}SELECT 1;\nCOMMIT;`, flags: ["--assume-in-transaction"] },
  "ban-uncommitted-transaction": { sql: `BEGIN;\n${timeouts}SELECT 1;` },
  "ban-create-domain-with-constraint": {
    sql: `${timeouts}CREATE DOMAIN positive AS bigint CHECK (VALUE > 0);`,
  },
  "ban-alter-domain-with-add-constraint": {
    sql: `${timeouts}ALTER DOMAIN positive ADD CONSTRAINT c CHECK (VALUE > 0);`,
  },
  "require-enum-value-ordering": { sql: `${timeouts}ALTER TYPE mood ADD VALUE 'calm';` },
  "require-table-schema": {
    sql: `${timeouts}CREATE TABLE IF NOT EXISTS t (id bigint PRIMARY KEY);`,
    flags: ["--include=require-table-schema"],
  },
  "identifier-too-long": {
    sql: `${timeouts}CREATE TABLE IF NOT EXISTS a_table_name_that_is_much_longer_than_the_sixty_three_bytes_postgres_keeps (id bigint);`,
  },
  "unused-ignore": { sql: `${timeouts}-- squawk-ignore no-such-rule\nSELECT 1;` },
};

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(squawk, args, { cwd }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? -1), stdout, stderr }),
    );
  });
}

let folder: string;
/** Rule name → the rule names squawk reported for that rule's trigger file. */
const reported = new Map<string, string[]>();

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "shipyard-squawk-rules-"));
  const groups = new Map<string, string[]>();
  for (const [rule, trigger] of Object.entries(triggers)) {
    await writeFile(join(folder, `${rule}.sql`), `${trigger.sql}\n`);
    const flags = (trigger.flags ?? []).join(" ");
    groups.set(flags, [...(groups.get(flags) ?? []), `${rule}.sql`]);
  }
  // One squawk run per set of flags, as migrate-lint runs it (JSON reporter).
  for (const [flags, files] of groups) {
    const args = ["--reporter", "json", ...(flags === "" ? [] : flags.split(" ")), "--", ...files];
    const result = await run(args, folder);
    for (const finding of JSON.parse(result.stdout) as SquawkFinding[]) {
      const rule = finding.file.replace(/\.sql$/, "");
      reported.set(rule, [...(reported.get(rule) ?? []), finding.rule_name]);
    }
  }
});

afterAll(() => rm(folder, { recursive: true, force: true }));

describe("the rule catalogue matches the squawk Shipyard runs", () => {
  it("is squawk 2.61.0, the version the catalogue was written for", async () => {
    expect(await squawkVersion(squawk)).toBe("2.61.0");
  });

  it("has a trigger for exactly the catalogued rules", () => {
    expect(Object.keys(triggers).sort()).toEqual([...squawkRules].sort());
  });

  it.each(Object.keys(triggers))("squawk reports %s for its trigger SQL", (rule) => {
    expect(reported.get(rule) ?? []).toContain(rule);
  });

  it("every rule name squawk reported is in the catalogue, with an explanation of its own", () => {
    const all = new Set([...reported.values()].flat());
    expect([...all].filter((rule) => !squawkRules.includes(rule))).toEqual([]);
    for (const rule of all) {
      // An uncatalogued rule would get squawk's message back as its `why`.
      expect(adviceFor(rule, "SQUAWK MESSAGE", null).why).not.toContain("SQUAWK MESSAGE");
    }
  });

  it("names the timestamp rule as squawk prints it, and judges it as advice", () => {
    expect(squawkRules).toContain("prefer-timestamp-tz");
    expect(squawkRules).not.toContain("prefer-timestamptz");
    expect(adviceFor("prefer-timestamp-tz", "", null).kind).toBe("advice");
  });

  it("still honours the old spelling prefer-timestamptz in excludeRules (squawk keeps it as an alias)", async () => {
    const app = join(folder, "alias");
    await mkdir(join(app, "migrations"), { recursive: true });
    await writeFile(join(app, "migrations", "0001.sql"), `${triggers["prefer-timestamp-tz"]?.sql}\n`);
    const plain = await lintMigrations({ appRoot: app });
    expect(plain.findings.map((f) => [f.rule, f.level])).toEqual([["prefer-timestamp-tz", "warning"]]);
    const excluded = await lintMigrations({ appRoot: app, excludeRules: ["prefer-timestamptz"] });
    expect(excluded.findings).toEqual([]);
  });

  it("is the binary's own table of rule names, minus the alias it never reports", async () => {
    // The Display strings sit back to back in the executable. Every run of [a-z-] around a rule
    // name is a candidate; the table is the one that, after the tail of whatever string precedes
    // it (no hyphen: not a rule name), splits into catalogue names, each used exactly once.
    const binary = await readFile(squawk);
    const names = [...squawkRules, ...neverReported];
    const tables: string[][] = [];
    const isNameByte = (byte: number | undefined) =>
      byte !== undefined && ((byte >= 0x61 && byte <= 0x7a) || byte === 0x2d);
    for (
      let at = binary.indexOf("adding-field-with-default");
      at !== -1;
      at = binary.indexOf("adding-field-with-default", at + 1)
    ) {
      let start = at;
      let end = at;
      while (isNameByte(binary[start - 1])) start -= 1;
      while (isNameByte(binary[end])) end += 1;
      const run = binary.subarray(start, end).toString("latin1");
      const prefix = /^[a-z]*/.exec(run)?.[0] ?? "";
      for (let cut = 0; cut <= prefix.length; cut++) {
        const split = splitInto(run.slice(cut), names);
        if (split !== undefined) tables.push(split);
      }
    }
    expect(tables.map((table) => [...table].sort())).toContainEqual([...names].sort());
  });

  it("accepts every catalogue name as a rule name to exclude, except unused-ignore (Shipyard filters that one)", async () => {
    await writeFile(join(folder, "clean.sql"), `${timeouts}SELECT 1;\n`);
    const excludable = squawkRules.filter((rule) => rule !== "unused-ignore");
    const accepted = await run(
      ["--reporter", "json", `--exclude=${excludable.join(",")}`, "clean.sql"],
      folder,
    );
    expect(accepted.code).toBe(0);
    for (const name of ["unused-ignore", "prefer-big-int"]) {
      const rejected = await run(["--reporter", "json", `--exclude=${name}`, "clean.sql"], folder);
      expect(rejected.stderr).toContain(`invalid rule name ${name}`);
    }
  });
});

describe("a rule the catalogue does not know (a squawk upgrade brings new ones)", () => {
  it("blocks only its own statement, and says so, naming how to exclude it", async () => {
    // The real squawk, with one rule renamed in its JSON report to a name Shipyard has never seen.
    const app = join(folder, "upgraded");
    await mkdir(join(app, "migrations"), { recursive: true });
    const wrapper = join(app, "squawk");
    await writeFile(
      wrapper,
      `#!/bin/sh\nout=$("${squawk}" "$@")\ncode=$?\nprintf '%s\\n' "$out" | sed 's/"rule_name":"require-concurrent-index-deletion"/"rule_name":"require-future-check"/g'\nexit $code\n`,
    );
    await chmod(wrapper, 0o755);
    await writeFile(join(app, "migrations", "0001_drop_index.sql"), `${timeouts}DROP INDEX IF EXISTS i;\n`);
    await writeFile(join(app, "migrations", "0002_clean.sql"), `${timeouts}SELECT 1;\n`);
    const result = await lintMigrations({ appRoot: app, squawkPath: wrapper });
    expect(result.findings).toHaveLength(1);
    const [finding] = result.findings;
    expect(finding).toMatchObject({
      file: "migrations/0001_drop_index.sql",
      line: 3,
      rule: "require-future-check",
    });
    expect(finding?.level).toBe("error");
    expect(finding?.why).toContain("Shipyard does not know squawk's rule require-future-check");
    expect(finding?.fix).toContain("Drop the index `CONCURRENTLY`.");
    expect(finding?.fix).toContain("add require-future-check to migrations.excludeRules");
    expect(result.reason).toMatch(/^1 unsafe statement in 1 migration:/);
  });
});

describe("a squawk whose syntax trees cannot be read", () => {
  it("fails with exit 3 and how to see the problem, instead of judging without Shipyard's rules", async () => {
    const app = join(folder, "no-trees");
    await mkdir(join(app, "migrations"), { recursive: true });
    const wrapper = join(app, "squawk");
    // Lints as usual, but its parse prints nothing (as a squawk without the debug command would).
    await writeFile(
      wrapper,
      `#!/bin/sh\nif [ "$1" = "--debug" ]; then echo "unknown command" >&2; exit 2; fi\nexec "${squawk}" "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    await writeFile(join(app, "migrations", "0001.sql"), `${timeouts}SELECT 1;\n`);
    const error = await lintMigrations({ appRoot: app, squawkPath: wrapper }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShipyardError);
    expect((error as ShipyardError).exitCode).toBe(ExitCode.NeedsAttention);
    expect((error as ShipyardError).message).toMatch(
      /squawk could not parse the migrations \(exit 2, 0 of 1 syntax trees\): unknown command/,
    );
    expect((error as ShipyardError).hint).toMatch(/squawk --debug parse/);
  });
});

/** Splits all of `text` into `names`, each used exactly once, or undefined when it cannot. */
function splitInto(text: string, names: readonly string[], used: string[] = []): string[] | undefined {
  if (text === "") return used.length === names.length ? used : undefined;
  for (const name of names) {
    if (used.includes(name) || !text.startsWith(name)) continue;
    const rest = splitInto(text.slice(name.length), names, [...used, name]);
    if (rest !== undefined) return rest;
  }
  return undefined;
}
