/**
 * migrate-lint on the public migration histories of two other projects (real-world/README.md says
 * where they come from, under which licence, and how each project runs them). Every blocking finding
 * is listed with its line, and each was checked by reading the SQL; advice is counted per rule.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type LintResult, lintMigrations } from "../../src/migrations/lint.js";

const realWorld = join(import.meta.dirname, "real-world");

type Verdicts = Record<string, Record<string, number[]>>;

/** file → rule → lines of the blocking findings, for the files of one lint result. */
function blocking(result: LintResult, strip: (file: string) => string): Verdicts {
  const verdicts: Verdicts = {};
  for (const finding of result.findings.filter((f) => f.level === "error")) {
    const rules = verdicts[strip(finding.file)] ?? {};
    verdicts[strip(finding.file)] = rules;
    rules[finding.rule] = [...(rules[finding.rule] ?? []), finding.line];
  }
  for (const rules of Object.values(verdicts))
    for (const lines of Object.values(rules)) lines.sort((a, b) => a - b);
  return verdicts;
}

function adviceCounts(result: LintResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const finding of result.findings.filter((f) => f.level === "warning")) {
    counts[finding.rule] = (counts[finding.rule] ?? 0) + 1;
  }
  return counts;
}

/**
 * Umami (Prisma; each file runs in one transaction). Besides squawk's usual findings (no
 * lock_timeout anywhere, indexes built and dropped without CONCURRENTLY on live tables, renames and
 * drops of columns the running release reads), the backfills Prisma's data migrations put after
 * DDL in the same file: the DDL's ACCESS EXCLUSIVE lock stays held for the whole UPDATE.
 */
const umamiErrors: Verdicts = {
  // CREATE EXTENSION first; squawk asks for lock_timeout before it.
  "01_init": { "require-lock-timeout": [2] },
  // Five column renames on event_data; then two UPDATEs of event_data under the rename's lock.
  "02_report_schema_session_data": {
    "renaming-column": [2, 3, 4, 5, 6],
    "require-lock-timeout": [2],
    "shipyard-backfill-in-ddl-transaction": [64, 68],
  },
  "03_metric_performance_index": {
    "require-concurrent-index-creation": [2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50],
    "require-lock-timeout": [2],
  },
  // UPDATE website while the ADD COLUMN of line 16 holds website's ACCESS EXCLUSIVE lock.
  "04_team_redesign": {
    "ban-drop-table": [23],
    "require-concurrent-index-creation": [26, 29],
    "require-lock-timeout": [8],
    "shipyard-backfill-in-ddl-transaction": [20],
  },
  // ADD COLUMN visit_id, a full-table UPDATE under its lock, then SET NOT NULL (a scan).
  "05_add_visit_id": {
    "adding-not-nullable-field": [16],
    "require-concurrent-index-creation": [19, 22],
    "require-lock-timeout": [2],
    "shipyard-backfill-in-ddl-transaction": [4],
  },
  "06_session_data": {
    "ban-drop-column": [8],
    "renaming-column": [5, 9],
    "require-concurrent-index-creation": [12, 15, 18],
    "require-concurrent-index-deletion": [2],
    "require-lock-timeout": [2],
  },
  "07_add_tag": { "require-concurrent-index-creation": [5], "require-lock-timeout": [2] },
  "08_add_utm_clid": { "require-lock-timeout": [2] },
  // The hostname backfill of every website_event row runs under the ADD COLUMN's lock.
  "09_update_hostname_region": {
    "ban-drop-column": [17, 18],
    "renaming-column": [16],
    "require-concurrent-index-creation": [21, 22],
    "require-concurrent-index-deletion": [12, 13],
    "require-lock-timeout": [2],
    "shipyard-backfill-in-ddl-transaction": [5],
  },
  "10_add_distinct_id": { "require-lock-timeout": [2] },
  // squawk asks for lock_timeout before indexing the table this very transaction created: harmless,
  // but one SET line answers it.
  "11_add_segment": { "require-lock-timeout": [15] },
  // varchar(6000) → jsonb USING a cast: a rewrite.
  "12_update_report_parameter": { "changing-column-type": [3], "require-lock-timeout": [2] },
  "13_add_revenue": { "require-lock-timeout": [16] },
  // varchar(200) → varchar(50) and varchar(100) → varchar(10): narrower, so PostgreSQL rewrites;
  // then six data migrations of report under the first ALTER's lock.
  "14_add_link_and_pixel": {
    "changing-column-type": [2, 5, 8],
    "require-lock-timeout": [2],
    "shipyard-backfill-in-ddl-transaction": [76, 77, 79, 98, 100, 119],
  },
  // The INSERT INTO share ... SELECT FROM website holds no DDL lock on an existing table: not a finding.
  "15_add_share": {
    "ban-drop-column": [40],
    "require-concurrent-index-deletion": [34, 37],
    "require-lock-timeout": [16],
  },
  "16_boards": { "require-lock-timeout": [18] },
  "17_remove_duplicate_key": {
    "require-concurrent-index-deletion": [2, 5, 8, 11, 14, 17, 20, 23, 26, 29],
    "require-lock-timeout": [2],
  },
  "18_add_performance": { "require-lock-timeout": [2] },
  // ADD COLUMN ... BOOLEAN NOT NULL DEFAULT false is a constant default: no rewrite, no finding.
  "19_add_session_replay": {
    "ban-drop-column": [4],
    "require-concurrent-index-deletion": [2, 3],
    "require-lock-timeout": [2],
  },
};

/**
 * Temporal (statements run one by one, no transaction). Its type changes all widen a varchar
 * (v1.05: 15 → 128, v1.08: 64 → 255, v1.20: 255 → 1000 on ten tables), which PostgreSQL does without
 * a rewrite: none is flagged, because the schema is replayed from v1.00. The indexes v1.00 builds on
 * the tables it has just created are not flagged either.
 */
const temporalErrors: Verdicts = {
  // The first CREATE INDEX, on the cluster_membership table created just above (see 11_add_segment).
  "v1.00/schema.sql": { "require-lock-timeout": [257] },
  "v1.01/cluster_metadata.sql": { "require-lock-timeout": [1] },
  "v1.02/queue.sql": { "require-lock-timeout": [1] },
  "v1.04/cluster_metadata.sql": { "ban-drop-column": [1, 2], "require-lock-timeout": [1] },
  "v1.05/1-event.sql": { "require-lock-timeout": [1] },
  "v1.05/2-executions.sql": { "require-lock-timeout": [1] },
  "v1.05/3-cluster_membership.sql": { "require-lock-timeout": [1] },
  "v1.06/queue_metadata.sql": { "require-lock-timeout": [1] },
  "v1.07/2-no_start_version.sql": { "require-lock-timeout": [1] },
  "v1.08/1-drop_unused_tasks_table.sql": { "ban-drop-table": [1], "require-lock-timeout": [1] },
  "v1.08/2-alter_columns.sql": { "require-lock-timeout": [1] },
  "v1.13/nexus_endpoints.sql": { "ban-drop-table": [1, 2], "require-lock-timeout": [1] },
  "v1.14/add_current_executions_start_time.sql": { "require-lock-timeout": [1] },
  "v1.15/add_current_executions_data.sql": { "require-lock-timeout": [1] },
  // Drops data_encoding and adds it back NOT NULL DEFAULT '': the running release loses its values.
  "v1.16/fix_data_encoding_column.sql": { "ban-drop-column": [1], "require-lock-timeout": [1] },
  "v1.20/alter_workflow_id_columns.sql": { "require-lock-timeout": [1] },
};

describe("Umami's Prisma migrations", () => {
  let result: LintResult;
  beforeAll(async () => {
    result = await lintMigrations({ appRoot: join(realWorld, "umami"), directory: "prisma/migrations" });
  });

  it("lints all 19 and blocks exactly the statements read as unsafe", () => {
    expect(result.files).toHaveLength(19);
    const strip = (file: string) => file.replace(/^prisma\/migrations\/(.*)\/migration\.sql$/, "$1");
    expect(blocking(result, strip)).toEqual(umamiErrors);
    expect(result.outcome).toBe("failed");
  });

  it("gives the rest as advice", () => {
    expect(adviceCounts(result)).toEqual({
      "ban-char-field": 1,
      "prefer-bigint-over-int": 6,
      "prefer-text-field": 70,
      "require-statement-timeout": 19,
    });
    expect(result.counts.allowed).toBe(0);
  });

  it("names the lock a backfill keeps held: the one on the table it updates", () => {
    const backfill = result.findings.find(
      (f) => f.file === "prisma/migrations/04_team_redesign/migration.sql" && f.line === 20,
    );
    expect(backfill?.message).toMatch(
      /^This UPDATE runs in the same transaction as the ALTER TABLE on line 16: the ACCESS EXCLUSIVE lock it took on website /,
    );
    expect(backfill?.fix).toMatch(/migration of its own/);
  });
});

describe("Temporal's PostgreSQL schema updates", () => {
  let result: LintResult;
  beforeAll(async () => {
    result = await lintMigrations({
      appRoot: join(realWorld, "temporal"),
      directory: ".",
      runnerWrapsInTransaction: false,
    });
  });

  it("lints all 26 files and blocks exactly the statements read as unsafe", () => {
    expect(result.files).toHaveLength(26);
    expect(result.files.every((f) => !f.transaction)).toBe(true);
    expect(blocking(result, (file) => file)).toEqual(temporalErrors);
  });

  it("gives the rest as advice", () => {
    expect(adviceCounts(result)).toEqual({
      "prefer-bigint-over-int": 39,
      "prefer-bigint-over-smallint": 2,
      "prefer-identity": 1,
      "prefer-robust-stmts": 78,
      "prefer-text-field": 76,
      "prefer-timestamp-tz": 7,
      "require-statement-timeout": 16,
    });
  });

  it("flags the widenings when the earlier migrations are not there to say what the columns were", async () => {
    const alone = await lintMigrations({
      appRoot: join(realWorld, "temporal"),
      directory: "v1.20",
      runnerWrapsInTransaction: false,
    });
    expect(blocking(alone, (file) => file)).toEqual({
      "v1.20/alter_workflow_id_columns.sql": {
        "changing-column-type": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "require-lock-timeout": [1],
      },
    });
  });
});
