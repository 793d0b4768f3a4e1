/**
 * What each squawk rule means for a rolling deploy on ECS, in our own words: why the statement is
 * unsafe while the old and new releases share one database, and what to write instead.
 *
 * Every rule falls in one of three kinds:
 * - `contract`: breaks the release that is still running (or the one a rollback returns to). Allowed
 *   only in a migration marked post-deploy, i.e. shipped after the release that stopped using the object.
 * - `lock`: takes a lock that stalls reads or writes for as long as a scan or rewrite lasts, or
 *   fails half-way. Never allowed: there is always a safe way to write it.
 * - `advice`: style and robustness. Printed as a warning; does not fail the check.
 * A rule we do not know is treated as `lock` (fail closed): a new squawk rule is probably about safety.
 * Its finding says that Shipyard does not know the rule and how to exclude it.
 *
 * The squawk catalogue lists exactly the rule names the pinned squawk (2.61) can emit, no alias and no
 * retired name: test/migrations/squawk-rules.test.ts makes the real binary emit each one and checks
 * both directions. Shipyard's own rules (shipyard-rules.ts) are explained here as well.
 */

import { type ShipyardRule, shipyardRuleNames } from "./shipyard-rules.js";

export type RuleKind = "contract" | "lock" | "advice";

export interface RuleAdvice {
  kind: RuleKind;
  /** Why this is dangerous during a rolling deploy. */
  why: string;
  /** The safe way to get the same result. */
  fix: string;
}

const EXPAND_CONTRACT =
  "Expand/contract: stop using it in release N, then remove it in a migration marked `-- shipyard:post-deploy` shipped with release N+1.";

const squawkCatalogue: Record<string, RuleAdvice> = {
  "require-concurrent-index-creation": {
    kind: "lock",
    why: "CREATE INDEX holds a SHARE lock for the whole build: every INSERT/UPDATE/DELETE on the table waits, so the running release stalls.",
    fix: "CREATE INDEX CONCURRENTLY IF NOT EXISTS ... in a migration of its own that runs outside a transaction; if it fails, DROP INDEX CONCURRENTLY the INVALID index and retry.",
  },
  "require-concurrent-index-deletion": {
    kind: "lock",
    why: "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: reads and writes wait behind it.",
    fix: "DROP INDEX CONCURRENTLY IF EXISTS ... in a migration that runs outside a transaction.",
  },
  "ban-concurrent-index-creation-in-transaction": {
    kind: "lock",
    why: "CREATE INDEX CONCURRENTLY cannot run inside a transaction block: the migration fails when it reaches it.",
    fix: "Move the CONCURRENTLY statement into its own migration file that the runner executes without a transaction.",
  },
  "adding-not-nullable-field": {
    kind: "lock",
    why: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock (reads and writes wait), and the running release may still write NULLs.",
    fix: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; then VALIDATE CONSTRAINT c in a later migration; then SET NOT NULL (PostgreSQL 12+ uses the validated check, no scan) and drop the check.",
  },
  "adding-required-field": {
    kind: "lock",
    why: "ADD COLUMN ... NOT NULL without a default fails on a non-empty table, and INSERTs from the running release (which does not know the column) start failing.",
    fix: "Add the column nullable or with a constant DEFAULT, backfill in batches, then enforce NOT NULL with a NOT VALID check constraint validated separately.",
  },
  "adding-field-with-default": {
    kind: "lock",
    why: "A volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp()...) rewrites every row under an ACCESS EXCLUSIVE lock.",
    fix: "ADD COLUMN without a default; ALTER COLUMN ... SET DEFAULT for new rows; backfill existing rows in small batches.",
  },
  "changing-column-type": {
    kind: "lock",
    why: "ALTER COLUMN ... TYPE usually rewrites the table under an ACCESS EXCLUSIVE lock, and the running release still reads and writes the old type.",
    fix: "Add a new column of the new type, write both from the app, backfill, switch reads, then drop the old column in a post-deploy migration.",
  },
  "constraint-missing-not-valid": {
    kind: "lock",
    why: "Adding a CHECK or FOREIGN KEY constraint validates every row while holding a lock that blocks writes.",
    fix: "ADD CONSTRAINT ... NOT VALID (instant), then ALTER TABLE ... VALIDATE CONSTRAINT ... in a separate migration (it does not block writes).",
  },
  "adding-foreign-key-constraint": {
    kind: "lock",
    why: "A new FOREIGN KEY scans the table under a SHARE ROW EXCLUSIVE lock on BOTH tables: writes to either wait.",
    fix: "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a separate migration.",
  },
  "disallowed-unique-constraint": {
    kind: "lock",
    why: "ADD CONSTRAINT ... UNIQUE builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole build.",
    fix: "CREATE UNIQUE INDEX CONCURRENTLY idx ... (own migration, no transaction), then ADD CONSTRAINT c UNIQUE USING INDEX idx.",
  },
  "adding-serial-primary-key-field": {
    kind: "lock",
    why: "Adding a primary key builds a unique index under an ACCESS EXCLUSIVE lock.",
    fix: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT pk PRIMARY KEY USING INDEX idx.",
  },
  "require-lock-timeout": {
    kind: "lock",
    why: "Without lock_timeout, an ALTER that waits behind one long query makes every later query on the table queue behind it: a full outage.",
    fix: "Start the migration with SET lock_timeout = '5s'; (SET LOCAL inside a transaction) and simply re-run the deploy if it times out.",
  },
  "ban-drop-database": {
    kind: "lock",
    why: "Dropping a database from a migration destroys every table of every release.",
    fix: "Never do this from a migration; do it by hand, deliberately.",
  },
  "ban-truncate-cascade": {
    kind: "lock",
    why: "TRUNCATE ... CASCADE empties every table that references this one, and takes ACCESS EXCLUSIVE locks on all of them.",
    fix: "Delete the rows you mean, in batches, naming each table.",
  },
  "ban-drop-column": {
    kind: "contract",
    why: "The running release (and the release a rollback returns to) still selects or inserts this column: its queries fail the moment it is gone.",
    fix: EXPAND_CONTRACT,
  },
  "ban-drop-table": {
    kind: "contract",
    why: "The running release (and the rollback target) may still query this table.",
    fix: EXPAND_CONTRACT,
  },
  "renaming-column": {
    kind: "contract",
    why: "The running release keeps using the old column name during the whole rollout and after a rollback.",
    fix: "Add the new column, write both, backfill, switch reads to the new one; drop the old column in a post-deploy migration one release later.",
  },
  "renaming-table": {
    kind: "contract",
    why: "The running release keeps using the old table name during the rollout and after a rollback.",
    fix: "Create the new table (or a view named like the old one), move readers and writers over, then drop the old name in a post-deploy migration.",
  },
  "ban-drop-not-null": {
    kind: "contract",
    why: "The running release may assume the column is never NULL; new NULLs can crash it.",
    fix: "Make the code tolerate NULL first, then drop NOT NULL in a post-deploy migration.",
  },
  "prefer-robust-stmts": {
    kind: "advice",
    why: "A statement without IF [NOT] EXISTS cannot be re-run after a partial failure outside a transaction.",
    fix: "Use IF NOT EXISTS / IF EXISTS, or keep the statements inside the runner's transaction.",
  },
  "require-statement-timeout": {
    kind: "advice",
    why: "A statement without statement_timeout can run (and hold its locks) for as long as it likes.",
    fix: "SET statement_timeout to a generous value (minutes), or 0 deliberately for CONCURRENTLY builds.",
  },
  "prefer-text-field": {
    kind: "advice",
    why: "Changing the length of a varchar(n) later takes an ACCESS EXCLUSIVE lock.",
    fix: "Use text with a CHECK (length(col) <= n) constraint added NOT VALID.",
  },
  "prefer-bigint-over-int": {
    kind: "advice",
    why: "32-bit ids run out, and widening them later rewrites the table.",
    fix: "Use bigint (or bigint identity) for ids and counters.",
  },
  "prefer-bigint-over-smallint": {
    kind: "advice",
    why: "smallint overflows quickly, and widening it later rewrites the table.",
    fix: "Use bigint.",
  },
  "prefer-identity": {
    kind: "advice",
    why: "serial columns make ownership and permissions of the sequence awkward.",
    fix: "Use bigint GENERATED BY DEFAULT AS IDENTITY.",
  },
  "prefer-timestamp-tz": {
    kind: "advice",
    why: "timestamp without time zone silently drops the offset.",
    fix: "Use timestamptz.",
  },
  "ban-char-field": {
    kind: "advice",
    why: "char(n) pads with spaces and is never faster than text.",
    fix: "Use text (with a length CHECK if needed).",
  },
  "require-concurrent-reindex": {
    kind: "lock",
    why: "REINDEX without CONCURRENTLY blocks writes to the table (and reads that would use the index) for the whole rebuild.",
    fix: "REINDEX INDEX CONCURRENTLY ... (or TABLE CONCURRENTLY) in a migration whose first line is `-- shipyard:no-transaction`.",
  },
  "require-concurrent-partition-detach": {
    kind: "lock",
    why: "DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the parent table: reads and writes of every partition wait.",
    fix: "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY in a migration whose first line is `-- shipyard:no-transaction`.",
  },
  "prefer-repack": {
    kind: "lock",
    why: "CLUSTER and VACUUM FULL rewrite the table under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole rewrite.",
    fix: "REPACK (CONCURRENTLY) on PostgreSQL 19+, or pg_repack outside the deploy.",
  },
  "transaction-nesting": {
    kind: "lock",
    why: "The runner already wraps this file in a transaction: a BEGIN inside it is ignored and a COMMIT ends the runner's transaction early, so a failure half-way leaves part of the migration applied.",
    fix: "Remove BEGIN/COMMIT and let the runner's transaction cover the file; or put `-- shipyard:no-transaction` on its first line and manage the transaction yourself.",
  },
  "ban-uncommitted-transaction": {
    kind: "lock",
    why: "The file opens a transaction it never commits: its changes (and its locks) are rolled back or held until the connection ends.",
    fix: "Add the COMMIT, or drop the BEGIN and let the runner's transaction cover the file.",
  },
  "ban-create-domain-with-constraint": {
    kind: "lock",
    why: "A domain's CHECK constraint cannot be added NOT VALID or changed without re-checking every column that uses the domain, under locks.",
    fix: "Put the CHECK on the table columns instead (ADD CONSTRAINT ... NOT VALID, then VALIDATE).",
  },
  "ban-alter-domain-with-add-constraint": {
    kind: "lock",
    why: "ALTER DOMAIN ... ADD CONSTRAINT checks every column of every table that uses the domain, holding locks on all of them.",
    fix: "Add a CHECK constraint to each table column with NOT VALID, then VALIDATE CONSTRAINT in a later migration.",
  },
  "require-enum-value-ordering": {
    kind: "advice",
    why: "ADD VALUE without BEFORE/AFTER appends the label, so ORDER BY on the enum may not sort the way the code expects.",
    fix: "ALTER TYPE ... ADD VALUE 'new' BEFORE 'existing' (or AFTER).",
  },
  "require-table-schema": {
    kind: "advice",
    why: "An unqualified table name depends on search_path, which can differ between the migration and the app.",
    fix: "Qualify the table: public.my_table.",
  },
  "identifier-too-long": {
    kind: "advice",
    why: "PostgreSQL silently truncates identifiers to 63 bytes, so the name in the database is not the one in the migration.",
    fix: "Use a name of at most 63 bytes.",
  },
  "unused-ignore": {
    kind: "advice",
    why: "A squawk-ignore comment names a rule that does not exist, so it silences nothing.",
    fix: "Fix the rule name in the comment (squawk's rules, or Shipyard's shipyard-* rules).",
  },
};

/** Shipyard's own rules, in the same terms (the checks are in shipyard-rules.ts). */
const shipyardCatalogue: Record<ShipyardRule, RuleAdvice> = {
  "shipyard-drop-default-not-null": {
    kind: "contract",
    why: "The release still running inserts rows without this column (it relies on the default): with the default gone those INSERTs fail with a not-null violation, during the rollout and after a rollback.",
    fix: "Keep the default until every running release writes the column itself; drop it in a migration marked `-- shipyard:post-deploy` one release later.",
  },
  "shipyard-backfill-in-ddl-transaction": {
    kind: "lock",
    why: "Locks are held until a transaction ends: a backfill after DDL in the same transaction keeps the DDL's lock for the whole backfill, so the running release's queries on that table wait (and time out) meanwhile.",
    fix: "Move the UPDATE/DELETE/INSERT ... SELECT into a migration of its own (better: batches of a few thousand rows), so the DDL commits and releases its lock first.",
  },
  "shipyard-rename-enum-value": {
    kind: "contract",
    why: "The running release (and the rollback target) still sends and expects the old label; PostgreSQL rejects it as soon as it is renamed.",
    fix: "ALTER TYPE ... ADD VALUE the new label; ship code that reads both and writes the new one; UPDATE the rows in batches. Rename or stop using the old label only in a migration marked `-- shipyard:post-deploy` once no release uses it.",
  },
  "shipyard-rename-schema": {
    kind: "contract",
    why: "Every query of the running release that names the schema (or reaches it through search_path) fails the moment it is renamed.",
    fix: "Create the new schema and move objects over while the code uses both names (views, search_path with both schemas); rename or drop the old one in a migration marked `-- shipyard:post-deploy`.",
  },
  "shipyard-set-tablespace": {
    kind: "lock",
    why: "SET TABLESPACE copies the whole table or index to the new tablespace under an ACCESS EXCLUSIVE lock: reads and writes wait for the copy.",
    fix: "Move it outside the deploy (pg_repack --tablespace works online); for an index, CREATE INDEX CONCURRENTLY ... TABLESPACE new, then DROP INDEX CONCURRENTLY the old one.",
  },
  "shipyard-cluster": {
    kind: "lock",
    why: "CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole rewrite.",
    fix: "Use pg_repack (--order-by / --index) outside the deploy, or REPACK (CONCURRENTLY) on PostgreSQL 19+.",
  },
  "shipyard-vacuum-full": {
    kind: "lock",
    why: "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole rewrite (and it cannot run inside the runner's transaction anyway).",
    fix: "Plain VACUUM (no lock on reads or writes) from maintenance, not a migration; to give space back, pg_repack outside the deploy or REPACK (CONCURRENTLY) on PostgreSQL 19+.",
  },
  "shipyard-lock-table": {
    kind: "lock",
    why: "An explicit LOCK in a blocking mode stops the running release's queries on the table until the migration commits.",
    fix: "Drop the LOCK: each statement takes the lock it needs for as short as it can. If you need one, take the weakest mode that works (SHARE UPDATE EXCLUSIVE lets reads and writes through) after SET lock_timeout.",
  },
  "shipyard-not-in-transaction": {
    kind: "lock",
    why: "PostgreSQL refuses this statement inside a transaction block, so the migration fails when it reaches it.",
    fix: "Put the statement in a migration file of its own whose first line is `-- shipyard:no-transaction` (the runner then runs it outside a transaction).",
  },
};

/** Rules that merely break old readers (drop index, drop default...) follow the drop-column logic. */
function isContractDrop(rule: string): boolean {
  return rule.startsWith("ban-drop-") && rule !== "ban-drop-database";
}

export function adviceFor(rule: string, squawkMessage: string, squawkHelp: string | null): RuleAdvice {
  const known = squawkCatalogue[rule] ?? (isShipyardRule(rule) ? shipyardCatalogue[rule] : undefined);
  if (known) return known;
  if (rule === "syntax-error") {
    return {
      kind: "lock",
      why: `squawk cannot parse this statement (${squawkMessage}); PostgreSQL will most likely reject it too.`,
      fix: "Fix the SQL syntax (run it against a local database first).",
    };
  }
  if (isContractDrop(rule)) {
    return {
      kind: "contract",
      why: `${squawkMessage} The running release may still depend on it.`,
      fix: EXPAND_CONTRACT,
    };
  }
  // Fail closed, but say so: the finding names the rule and how to let it through on purpose, so
  // a squawk upgrade that brings a new rule blocks one statement, visibly, not the pipeline for good.
  return {
    kind: "lock",
    why: `${squawkMessage} (Shipyard does not know squawk's rule ${rule} yet, so it treats it as unsafe.)`,
    fix: `${squawkHelp ?? `See https://squawkhq.com/docs/${rule} for the safe alternative.`} If the rule does not apply to you, add ${rule} to migrations.excludeRules or put \`-- squawk-ignore ${rule}\` above the statement.`,
  };
}

export function isShipyardRule(rule: string): rule is ShipyardRule {
  return (shipyardRuleNames as readonly string[]).includes(rule);
}

/** Every rule name squawk 2.61 can put in a finding (syntax-error aside: that is the parser speaking). */
export const squawkRules: readonly string[] = Object.keys(squawkCatalogue);

/** Rules Shipyard has its own explanation for (the README lists them). */
export const explainedRules: readonly string[] = [...squawkRules, ...shipyardRuleNames];
