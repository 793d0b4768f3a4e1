/**
 * What migrate-lint must say about each file of the corpus (test/migrations/corpus), in one place so
 * the library test, the CLI test and the benchmark count the same thing.
 */

/** Each unsafe corpus file and exactly the rules that flag it as an error (one finding each). */
export const unsafeCorpus: Record<string, readonly string[]> = {
  "add_required_column.sql": ["adding-required-field"],
  "backfill_after_add_column.sql": ["shipyard-backfill-in-ddl-transaction"],
  "check_without_not_valid.sql": ["constraint-missing-not-valid"],
  "cluster.sql": ["shipyard-cluster"],
  "concurrently_in_transaction.sql": ["ban-concurrent-index-creation-in-transaction"],
  "drop_column.sql": ["ban-drop-column"],
  "drop_default_in_same_alter.sql": ["shipyard-drop-default-not-null"],
  "drop_default_of_new_not_null_column.sql": ["shipyard-drop-default-not-null"],
  "drop_index.sql": ["require-concurrent-index-deletion"],
  "drop_index_concurrently_in_transaction.sql": ["shipyard-not-in-transaction"],
  "drop_table.sql": ["ban-drop-table"],
  "foreign_key.sql": ["adding-foreign-key-constraint", "constraint-missing-not-valid"],
  "index_without_concurrently.sql": ["require-concurrent-index-creation"],
  // The LOCK itself, and the UPDATE that keeps it held for as long as it runs.
  "lock_table.sql": ["shipyard-backfill-in-ddl-transaction", "shipyard-lock-table"],
  "marker_after_first_statement.sql": ["ban-drop-column"],
  "missing_lock_timeout.sql": ["require-lock-timeout"],
  "post_deploy_still_needs_concurrently.sql": ["require-concurrent-index-creation"],
  "reindex_without_concurrently.sql": ["require-concurrent-reindex"],
  "rename_column.sql": ["renaming-column"],
  "rename_enum_value.sql": ["shipyard-rename-enum-value"],
  "rename_schema.sql": ["shipyard-rename-schema"],
  "rename_table.sql": ["renaming-table"],
  "set_not_null.sql": ["adding-not-nullable-field"],
  "set_tablespace.sql": ["shipyard-set-tablespace"],
  "type_change.sql": ["changing-column-type"],
  // squawk reports both for ADD CONSTRAINT ... UNIQUE.
  "unique_constraint.sql": ["constraint-missing-not-valid", "disallowed-unique-constraint"],
  "vacuum_full.sql": ["shipyard-vacuum-full"],
  "validate_in_same_transaction.sql": ["constraint-missing-not-valid"],
  "volatile_default.sql": ["adding-field-with-default"],
};

/** How many unsafe statements migrate-lint must count over the whole unsafe corpus. */
export const unsafeStatementCount = Object.values(unsafeCorpus).reduce((sum, rules) => sum + rules.length, 0);

/**
 * The post-deploy contracts, linted after the safe migrations they follow (the schema those build
 * is what tells a dropped default of a NOT NULL column apart from a harmless one): file → rule, all
 * allowed.
 */
export const postDeployCorpus: Record<string, string> = {
  "0200_drop_legacy_column.sql": "ban-drop-column",
  "0210_drop_old_audit.sql": "ban-drop-table",
  "0220_drop_renamed_column.sql": "ban-drop-column",
  "0230_drop_plan_default.sql": "shipyard-drop-default-not-null",
};
