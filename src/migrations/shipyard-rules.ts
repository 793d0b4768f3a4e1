/**
 * Shipyard's own rules: unsafe statements squawk 2.61 lets through, checked over squawk's syntax tree
 * while the schema is replayed over every migration in order (schema.ts). The same pass records, for
 * every `ALTER COLUMN ... TYPE`, whether it needs a rewrite, so squawk's changing-column-type can be
 * dropped where PostgreSQL changes only the catalogue.
 *
 * Why each rule matters and what to write instead lives in rules.ts with squawk's rules.
 */
import { type ColumnType, changeNeedsNoRewrite, columnType, formatType, typeNodeOf } from "./column-types.js";
import { Ignores } from "./ignores.js";
import { type ColumnFacts, columnFacts, columnNamedIn, Schema, tableNamedIn } from "./schema.js";
import {
  child,
  descendants,
  firstDescendant,
  hasChild,
  nameParts,
  type ParsedTree,
  type SqlSource,
  type SyntaxNode,
  startOf,
  statementsOf,
  tokensOf,
} from "./syntax.js";

export const shipyardRuleNames = [
  "shipyard-drop-default-not-null",
  "shipyard-backfill-in-ddl-transaction",
  "shipyard-rename-enum-value",
  "shipyard-rename-schema",
  "shipyard-set-tablespace",
  "shipyard-cluster",
  "shipyard-vacuum-full",
  "shipyard-lock-table",
  "shipyard-not-in-transaction",
] as const;

export type ShipyardRule = (typeof shipyardRuleNames)[number];

/** squawk rules that already report the same statement: when one did, ours stays quiet. */
export const reportedBySquawkToo: Partial<Record<ShipyardRule, readonly string[]>> = {
  "shipyard-not-in-transaction": ["ban-concurrent-index-creation-in-transaction"],
  "shipyard-cluster": ["prefer-repack"],
  "shipyard-vacuum-full": ["prefer-repack"],
};

export interface ShipyardFinding {
  rule: ShipyardRule;
  /** Byte offset the finding points at. */
  offset: number;
  /** The statement it belongs to (for ignores and for squawk's duplicate). */
  statement: SyntaxNode;
  message: string;
}

export interface TypeChange {
  table: string;
  column: string;
  from: ColumnType | undefined;
  to: ColumnType | undefined;
  rewrite: boolean;
}

export interface MigrationInput {
  path: string;
  source: SqlSource;
  tree: ParsedTree;
  /** The runner wraps the file in a transaction. */
  transaction: boolean;
}

export interface MigrationAnalysis {
  findings: ShipyardFinding[];
  /** By the offset of the SET TYPE clause (where squawk's changing-column-type points). */
  typeChanges: Map<number, TypeChange>;
  /**
   * CREATE INDEX statements on a table created earlier in the same file: no release uses that table
   * yet, so building the index without CONCURRENTLY stalls nobody, in a transaction or not.
   */
  indexesOnNewTables: SyntaxNode[];
  ignores: Ignores;
}

/**
 * Whether a file has a statement whose verdict depends on what earlier migrations made: a type
 * change (was the old type narrower?), a dropped default (is the column NOT NULL?), a CREATE TABLE
 * IF NOT EXISTS (does the table exist already?). Without one, the earlier files need not be parsed.
 */
export function needsEarlierSchema(tree: ParsedTree): boolean {
  return statementsOf(tree.root).some((statement) => {
    if (statement.kind === "CREATE_TABLE" || statement.kind === "CREATE_TABLE_AS") {
      return hasChild(statement, "IF_NOT_EXISTS");
    }
    if (statement.kind !== "ALTER_TABLE") return false;
    return statement.children.some(
      (action) =>
        action.kind === "ALTER_COLUMN" && (hasChild(action, "SET_TYPE") || hasChild(action, "DROP_DEFAULT")),
    );
  });
}

/** Replays every migration in order; returns what our rules found in each. */
export function analyzeMigrations(migrations: readonly MigrationInput[]): Map<string, MigrationAnalysis> {
  const schema = new Schema();
  const results = new Map<string, MigrationAnalysis>();
  for (const migration of migrations) {
    const analysis: MigrationAnalysis = {
      findings: [],
      typeChanges: new Map(),
      indexesOnNewTables: [],
      ignores: new Ignores(migration.tree.root, migration.source),
    };
    results.set(migration.path, analysis);
    new FileCheck(migration, schema, analysis).run();
  }
  return results;
}

/** A lock that stops the running release's reads or writes, held until the transaction ends. */
interface HeldLock {
  statement: SyntaxNode;
  /** The statement that took it: "ALTER TABLE". */
  verb: string;
  mode: string;
  on: string;
  blocks: "reads and writes" | "writes" | "reads";
}

const backfillVerbs: Record<string, string> = {
  UPDATE: "UPDATE",
  DELETE: "DELETE",
  MERGE: "MERGE",
  INSERT: "INSERT ... SELECT",
};

class FileCheck {
  private readonly source: SqlSource;
  private inTransaction: boolean;
  private readonly createdInFile = new Set<string>();
  private createdInTransaction = new Set<string>();
  private heldLocks: HeldLock[] = [];

  constructor(
    private readonly migration: MigrationInput,
    private readonly schema: Schema,
    private readonly analysis: MigrationAnalysis,
  ) {
    this.source = migration.source;
    this.inTransaction = migration.transaction;
  }

  run(): void {
    // squawk reports a file that does not parse (syntax-error); a half-read tree would only mislead us.
    const parsed = this.migration.tree.errors.length === 0;
    for (const statement of statementsOf(this.migration.tree.root)) {
      this.trackTransaction(statement);
      if (parsed) this.check(statement);
      this.recordTypeChanges(statement);
      this.recordIndexOnNewTable(statement);
      const created = this.createdTable(statement);
      this.schema.apply(statement, this.source);
      if (created !== undefined) {
        this.createdInFile.add(created);
        this.createdInTransaction.add(created);
      }
      if (this.inTransaction) this.trackLocks(statement);
    }
  }

  private report(rule: ShipyardRule, statement: SyntaxNode, message: string, at: SyntaxNode = statement) {
    this.analysis.findings.push({ rule, offset: startOf(at), statement, message });
  }

  private text(n: SyntaxNode): string {
    return tokensOf(n)
      .map((t) => this.source.textOf(t))
      .join(" ")
      .replace(/ ([.,);])/g, "$1")
      .replace(/([.(]) /g, "$1")
      .replace(/;$/, "");
  }

  private line(n: SyntaxNode): number {
    return this.source.position(startOf(n)).line + 1;
  }

  private trackTransaction(statement: SyntaxNode): void {
    if (statement.kind === "BEGIN") this.inTransaction = true;
    if (statement.kind === "COMMIT" || statement.kind === "ROLLBACK") {
      // The runner's transaction, or the file's own, ends here: its locks are released.
      this.inTransaction = false;
      this.heldLocks = [];
      this.createdInTransaction = new Set();
    }
  }

  /**
   * The table a CREATE TABLE makes; not one that IF NOT EXISTS finds already there (the earlier
   * migrations made it), which running releases may use.
   */
  private createdTable(statement: SyntaxNode): string | undefined {
    if (statement.kind !== "CREATE_TABLE" && statement.kind !== "CREATE_TABLE_AS") return undefined;
    const name = child(statement, "TABLE_NAME");
    const table = name === undefined ? undefined : tableNamedIn(name, this.source);
    if (table === undefined) return undefined;
    return hasChild(statement, "IF_NOT_EXISTS") && this.schema.hasTable(table) ? undefined : table;
  }

  private check(statement: SyntaxNode): void {
    this.checkBackfill(statement);
    this.checkNotInTransaction(statement);
    switch (statement.kind) {
      case "ALTER_TABLE":
        this.checkAlterTable(statement);
        return;
      case "ALTER_TYPE":
        if (hasChild(statement, "RENAME_VALUE")) {
          const type = child(statement, "TYPE_NAME_REF");
          const [from, to] = (child(statement, "RENAME_VALUE")?.children ?? []).filter(
            (c) => c.kind === "LITERAL",
          );
          this.report(
            "shipyard-rename-enum-value",
            statement,
            `Renaming the label ${from ? this.text(from) : "?"} of enum ${type ? this.text(type) : "?"} to ${to ? this.text(to) : "?"}: the running release still reads and writes the old label, and fails with "invalid input value for enum" the moment it is gone.`,
          );
        }
        return;
      case "ALTER_SCHEMA":
        if (hasChild(statement, "SCHEMA_RENAME_TO")) {
          const schema = child(statement, "SCHEMA_REF");
          this.report(
            "shipyard-rename-schema",
            statement,
            `Renaming schema ${schema ? this.text(schema) : "?"}: every query of the running release that names it (or finds its tables through search_path) fails at once.`,
          );
        }
        return;
      case "ALTER_INDEX":
      case "ALTER_MATERIALIZED_VIEW":
      case "ALTER_DATABASE":
        if (hasChild(statement, "SET_TABLESPACE")) this.reportTablespace(statement, statement);
        return;
      case "CLUSTER":
        this.report(
          "shipyard-cluster",
          statement,
          `${this.text(statement)} rewrites the whole table under an ACCESS EXCLUSIVE lock: every read and write waits until it finishes.`,
        );
        return;
      case "VACUUM":
        if (isVacuumFull(statement, this.source)) {
          this.report(
            "shipyard-vacuum-full",
            statement,
            `${this.text(statement)} rewrites the table under an ACCESS EXCLUSIVE lock: every read and write waits until it finishes.`,
          );
        }
        return;
      case "LOCK": {
        const mode = lockMode(statement);
        if (blockingLockModes.has(mode)) {
          this.report(
            "shipyard-lock-table",
            statement,
            `LOCK TABLE in ${mode} mode stops the running release's ${mode === "SHARE" ? "writes" : "reads and writes"} on ${this.relations(statement)} until the migration commits.`,
          );
        }
        return;
      }
    }
  }

  private checkAlterTable(statement: SyntaxNode): void {
    const relation = child(statement, "TABLE_RELATION_NAME");
    const table = relation === undefined ? undefined : tableNamedIn(relation, this.source);
    if (hasChild(statement, "ALL_IN_TABLESPACE")) this.reportTablespace(statement, statement);
    // Columns an earlier action of this same statement adds (`ADD COLUMN c ... , ALTER c DROP DEFAULT`).
    const added = new Map<string, ColumnFacts>();
    for (const action of statement.children) {
      if (action.kind === "SET_TABLESPACE") this.reportTablespace(statement, action);
      if (action.kind === "ADD_COLUMN") {
        const column = columnNamedIn(action, this.source);
        if (column !== undefined) added.set(column, columnFacts(action, this.source));
      }
      if (action.kind !== "ALTER_COLUMN" || !hasChild(action, "DROP_DEFAULT") || table === undefined)
        continue;
      const column = columnNamedIn(action, this.source) ?? "";
      const facts = added.get(column) ?? this.schema.column(table, column);
      // A table this migration creates is used by no running release yet.
      if (facts?.notNull !== true || !facts.hasDefault || this.createdInFile.has(table)) continue;
      this.report(
        "shipyard-drop-default-not-null",
        statement,
        `${table}.${column} is NOT NULL: once its default is gone, every INSERT that leaves it out fails — and the running release, written before this column had to be filled in, leaves it out.`,
        action,
      );
    }
  }

  private reportTablespace(statement: SyntaxNode, at: SyntaxNode): void {
    this.report(
      "shipyard-set-tablespace",
      statement,
      `${this.text(statement)} copies every block of the relation to the new tablespace under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole copy.`,
      at,
    );
  }

  private relations(statement: SyntaxNode): string {
    const list = child(statement, "RELATION_LIST");
    return list === undefined ? "the table" : this.text(list);
  }

  private checkBackfill(statement: SyntaxNode): void {
    if (!this.inTransaction || this.heldLocks.length === 0 || !isBackfill(statement)) return;
    // Name the lock on the table being backfilled when there is one: that is the table that stalls.
    const target = tableNamedIn(statement, this.source);
    const held = this.heldLocks.find((lock) => lock.on === target) ?? this.heldLocks[0];
    if (held === undefined) return;
    const others = this.heldLocks.length - 1;
    const more = others > 0 ? ` (and ${others} more lock${others > 1 ? "s" : ""})` : "";
    this.report(
      "shipyard-backfill-in-ddl-transaction",
      statement,
      `This ${backfillVerbs[statement.kind] ?? statement.kind} runs in the same transaction as the ${held.verb} on line ${this.line(held.statement)}: the ${held.mode} lock it took on ${held.on}${more} is held until the migration commits, so ${held.blocks} of ${held.on} wait for as long as this backfill runs.`,
    );
  }

  private checkNotInTransaction(statement: SyntaxNode): void {
    if (!this.inTransaction) return;
    const refused = refusedInTransaction(statement);
    if (refused === undefined) return;
    this.report(
      "shipyard-not-in-transaction",
      statement,
      `${refused} cannot run inside a transaction block, and this migration runs in one${this.migration.transaction ? " (the runner wraps the file in a transaction)" : " (opened by its BEGIN)"}: it fails here.`,
    );
  }

  private recordIndexOnNewTable(statement: SyntaxNode): void {
    if (statement.kind !== "CREATE_INDEX") return;
    const relation = child(statement, "TABLE_RELATION_NAME");
    const table = relation === undefined ? undefined : tableNamedIn(relation, this.source);
    if (table !== undefined && this.createdInFile.has(table)) {
      this.analysis.indexesOnNewTables.push(statement);
    }
  }

  private recordTypeChanges(statement: SyntaxNode): void {
    if (statement.kind !== "ALTER_TABLE") return;
    const relation = child(statement, "TABLE_RELATION_NAME");
    const table = relation === undefined ? undefined : tableNamedIn(relation, this.source);
    if (table === undefined) return;
    for (const action of statement.children) {
      const setType = action.kind === "ALTER_COLUMN" ? child(action, "SET_TYPE") : undefined;
      if (setType === undefined) continue;
      const column = columnNamedIn(action, this.source) ?? "";
      const from = this.schema.column(table, column)?.type;
      const typeNode = typeNodeOf(setType);
      const to = typeNode === undefined ? undefined : columnType(typeNode, this.source);
      const rewrite =
        from === undefined ||
        to === undefined ||
        hasChild(setType, "COLLATE") ||
        !this.usingKeepsValue(setType, column, to) ||
        !changeNeedsNoRewrite(from, to);
      this.analysis.typeChanges.set(startOf(setType), { table, column, from, to, rewrite });
    }
  }

  /** No USING, or a USING that only restates the conversion (`col`, `col::newtype`), as ORMs write it. */
  private usingKeepsValue(setType: SyntaxNode, column: string, to: ColumnType): boolean {
    const using = setType.children.findIndex((c) => c.kind === "USING_KW");
    if (using === -1) return true;
    const expression = setType.children.slice(using + 1).find((c) => !c.token || c.kind === "IDENT");
    if (expression === undefined) return false;
    const named = (n: SyntaxNode) => nameParts(n, this.source).join(".") === column;
    if (expression.kind === "NAME_REF") return named(expression);
    if (expression.kind !== "CAST_EXPR") return false;
    const [value, ...rest] = expression.children.filter((c) => !c.token);
    const castType = rest.find((c) => c.kind.endsWith("_TYPE"));
    const cast = castType === undefined ? undefined : columnType(castType, this.source);
    return (
      value?.kind === "NAME_REF" && named(value) && cast !== undefined && formatType(cast) === formatType(to)
    );
  }

  private trackLocks(statement: SyntaxNode): void {
    for (const lock of this.blockingLocks(statement)) {
      // The first lock on a relation is the one the backfill message names; later ones add nothing.
      if (!this.heldLocks.some((held) => held.on === lock.on)) this.heldLocks.push(lock);
    }
  }

  /** The locks a statement takes that stop reads or writes of a relation other releases use. */
  private blockingLocks(statement: SyntaxNode): HeldLock[] {
    const existing = (table: string | undefined): table is string =>
      table !== undefined && !this.createdInTransaction.has(table);
    const named = (n: SyntaxNode | undefined) => (n === undefined ? undefined : tableNamedIn(n, this.source));
    const lock = (mode: string, on: string, blocks: HeldLock["blocks"]): HeldLock => ({
      statement,
      verb: statement.kind.replaceAll("_", " "),
      mode,
      on,
      blocks,
    });
    const foreignKeyLocks = () =>
      referencedTables(statement, this.source)
        .filter(existing)
        .map((table) => lock("SHARE ROW EXCLUSIVE", table, "writes"));
    switch (statement.kind) {
      case "ALTER_TABLE": {
        const table = named(child(statement, "TABLE_RELATION_NAME"));
        const actions = statement.children.filter(
          (c) => !c.token && c.kind !== "TABLE_RELATION_NAME" && c.kind !== "IF_EXISTS",
        );
        const letsWritesThrough = (a: SyntaxNode) =>
          alterActionsThatLetWritesThrough.has(a.kind) || isWeakColumnAction(a);
        if (!existing(table) || actions.every(letsWritesThrough)) return foreignKeyLocks();
        const writesOnly = actions.every((a) => isForeignKey(a) || letsWritesThrough(a));
        return [
          writesOnly
            ? lock("SHARE ROW EXCLUSIVE", table, "writes")
            : lock("ACCESS EXCLUSIVE", table, "reads and writes"),
          ...foreignKeyLocks(),
        ];
      }
      case "CREATE_TABLE":
        return foreignKeyLocks();
      case "CREATE_INDEX": {
        const table = named(child(statement, "TABLE_RELATION_NAME"));
        return hasChild(statement, "CONCURRENTLY_KW") || !existing(table)
          ? []
          : [lock("SHARE", table, "writes")];
      }
      case "DROP_INDEX":
        return hasChild(statement, "CONCURRENTLY_KW")
          ? []
          : [
              lock(
                "ACCESS EXCLUSIVE",
                `the table of ${this.text(child(statement, "INDEX_REF") ?? statement)}`,
                "reads and writes",
              ),
            ];
      case "DROP_TABLE":
      case "TRUNCATE":
        return [lock("ACCESS EXCLUSIVE", this.targets(statement), "reads and writes")];
      case "DROP_TRIGGER":
      case "CREATE_TRIGGER": {
        const table = named(child(statement, "ON_RELATION"));
        if (!existing(table)) return [];
        return statement.kind === "DROP_TRIGGER"
          ? [lock("ACCESS EXCLUSIVE", table, "reads and writes")]
          : [lock("SHARE ROW EXCLUSIVE", table, "writes")];
      }
      case "CLUSTER":
        return [lock("ACCESS EXCLUSIVE", this.targets(statement), "reads and writes")];
      case "REINDEX":
        return isConcurrentReindex(statement) ? [] : [lock("SHARE", this.targets(statement), "writes")];
      case "REFRESH":
        return hasChild(statement, "CONCURRENTLY_KW")
          ? []
          : [lock("ACCESS EXCLUSIVE", this.targets(statement), "reads")];
      case "LOCK": {
        const mode = lockMode(statement);
        if (!blockingLockModes.has(mode)) return [];
        return [lock(mode, this.relations(statement), mode === "SHARE" ? "writes" : "reads and writes")];
      }
      default:
        return [];
    }
  }

  /** The relations a statement names, as written (for messages). */
  private targets(statement: SyntaxNode): string {
    const names = statement.children.filter((c) =>
      ["TABLE_NAME_REF", "TABLE_LIST", "TABLE_RELATION_NAME", "VIEW_REF", "INDEX_REF"].includes(c.kind),
    );
    return names.length === 0 ? "the table" : names.map((n) => this.text(n)).join(", ");
  }
}

/** ALTER TABLE actions that take SHARE UPDATE EXCLUSIVE: reads and writes go on. */
const alterActionsThatLetWritesThrough = new Set([
  "VALIDATE_CONSTRAINT",
  "SET_OPTIONS",
  "RESET_OPTIONS",
  "ATTACH_PARTITION",
  "CLUSTER_ON",
  "SET_WITHOUT_CLUSTER",
]);

const isWeakColumnAction = (action: SyntaxNode) =>
  action.kind === "ALTER_COLUMN" && (hasChild(action, "SET_STATISTICS") || hasChild(action, "SET_OPTIONS"));

const isForeignKey = (action: SyntaxNode) =>
  action.kind === "ADD_CONSTRAINT" && hasChild(action, "FOREIGN_KEY_CONSTRAINT");

function referencedTables(statement: SyntaxNode, source: SqlSource): string[] {
  const tables: string[] = [];
  for (const n of descendants(statement)) {
    if (n.kind !== "REFERENCES_CONSTRAINT" && n.kind !== "FOREIGN_KEY_CONSTRAINT") continue;
    const ref = n.children.find((c) => c.kind === "TABLE_NAME_REF" || c.kind === "PATH_REF");
    const table = ref === undefined ? undefined : tableNamedIn(ref, source);
    if (table !== undefined) tables.push(table);
  }
  return tables;
}

function isBackfill(statement: SyntaxNode): boolean {
  if (["UPDATE", "DELETE", "MERGE"].includes(statement.kind)) return true;
  return statement.kind === "INSERT" && hasChild(statement, "SELECT");
}

const blockingLockModes = new Set(["SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"]);

const lockModeKinds: Record<string, string> = {
  ACCESS_SHARE: "ACCESS SHARE",
  ROW_SHARE: "ROW SHARE",
  ROW_EXCLUSIVE: "ROW EXCLUSIVE",
  SHARE_UPDATE_EXCLUSIVE: "SHARE UPDATE EXCLUSIVE",
  SHARE: "SHARE",
  SHARE_ROW_EXCLUSIVE: "SHARE ROW EXCLUSIVE",
  EXCLUSIVE: "EXCLUSIVE",
  ACCESS_EXCLUSIVE: "ACCESS EXCLUSIVE",
};

/** LOCK without IN ... MODE takes ACCESS EXCLUSIVE. */
function lockMode(statement: SyntaxNode): string {
  for (const c of statement.children) {
    const mode = lockModeKinds[c.kind];
    if (mode !== undefined) return mode;
  }
  return "ACCESS EXCLUSIVE";
}

function isVacuumFull(statement: SyntaxNode, source: SqlSource): boolean {
  if (hasChild(statement, "FULL_KW")) return true;
  const options = child(statement, "VACUUM_OPTION_LIST");
  for (const option of options?.children.filter((c) => c.kind === "VACUUM_OPTION") ?? []) {
    if (firstDescendant(option, "FULL_KW") === undefined) continue;
    const value = child(option, "VACUUM_OPTION_VALUE");
    const setting = value === undefined ? "true" : source.textOf(value).toLowerCase().replaceAll("'", "");
    if (!["false", "off", "0", "no"].includes(setting)) return true;
  }
  return false;
}

function isConcurrentReindex(statement: SyntaxNode): boolean {
  return (
    hasChild(statement, "CONCURRENTLY_KW") ||
    (child(statement, "REINDEX_OPTION_LIST")?.children ?? []).some((o) => hasChild(o, "CONCURRENTLY_KW"))
  );
}

/** Statements PostgreSQL refuses inside a transaction block, named as the user wrote them. */
function refusedInTransaction(statement: SyntaxNode): string | undefined {
  switch (statement.kind) {
    case "CREATE_INDEX":
      return hasChild(statement, "CONCURRENTLY_KW") ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DROP_INDEX":
      return hasChild(statement, "CONCURRENTLY_KW") ? "DROP INDEX CONCURRENTLY" : undefined;
    case "REINDEX":
      return isConcurrentReindex(statement) ? "REINDEX CONCURRENTLY" : undefined;
    case "ALTER_TABLE": {
      const detach = child(statement, "DETACH_PARTITION");
      return detach !== undefined && hasChild(detach, "CONCURRENTLY_KW")
        ? "DETACH PARTITION CONCURRENTLY"
        : undefined;
    }
    case "VACUUM":
      return "VACUUM";
    case "CREATE_DATABASE":
      return "CREATE DATABASE";
    case "ALTER_SYSTEM":
      return "ALTER SYSTEM";
    default:
      return undefined;
  }
}
