/**
 * The schema the migrations build, replayed statement by statement over every migration file in order
 * (also the ones `--base` does not lint: a new migration is judged against the columns the old ones
 * made). Only what the rules need: each column's type, NOT NULL and whether it has a default.
 * Unknown stays unknown — a table created outside the migrations, a column added inside a DO block —
 * and the rules assume nothing about it.
 *
 * Tables are keyed by name, with the schema only when it is not `public`, so `users` and
 * `public.users` are the same table.
 */
import { type ColumnType, columnType, isSerial, typeNodeOf } from "./column-types.js";
import {
  child,
  findBelow,
  firstDescendant,
  hasChild,
  nameParts,
  type SqlSource,
  type SyntaxNode,
} from "./syntax.js";

export interface ColumnFacts {
  /** undefined: written in a way we do not model. */
  type: ColumnType | undefined;
  notNull: boolean;
  hasDefault: boolean;
}

export function tableKey(parts: readonly string[]): string {
  const [schema, table] = parts.length > 1 ? [parts.at(-2), parts.at(-1)] : [undefined, parts[0]];
  return schema === undefined || schema === "public" ? (table ?? "") : `${schema}.${table}`;
}

const tableNameKinds = new Set(["TABLE_NAME_REF", "RELATION_NAME_REF", "TABLE_NAME", "PATH_REF", "PATH"]);

/** The table a statement or clause names (ALTER TABLE, CREATE INDEX ... ON, REFERENCES...). */
export function tableNamedIn(n: SyntaxNode, source: SqlSource): string | undefined {
  const holder = tableNameKinds.has(n.kind) ? n : findBelow(n, (d) => tableNameKinds.has(d.kind));
  return holder === undefined ? undefined : tableKey(nameParts(holder, source));
}

/** The column name of COLUMN, ADD_COLUMN, ALTER_COLUMN, DROP_COLUMN... */
export function columnNamedIn(n: SyntaxNode, source: SqlSource): string | undefined {
  const name = child(n, "COLUMN_NAME") ?? child(n, "COLUMN_NAME_REF") ?? firstDescendant(n, "NAME_REF");
  return name === undefined ? undefined : nameParts(name, source).join(".");
}

export function columnFacts(column: SyntaxNode, source: SqlSource): ColumnFacts {
  const typeNode = typeNodeOf(column);
  return {
    type: typeNode === undefined ? undefined : columnType(typeNode, source),
    notNull:
      hasChild(column, "NOT_NULL_CONSTRAINT") ||
      hasChild(column, "PRIMARY_KEY_CONSTRAINT") ||
      firstDescendant(column, "GENERATED_IDENTITY") !== undefined,
    hasDefault:
      hasChild(column, "DEFAULT_CONSTRAINT") ||
      firstDescendant(column, "GENERATED_IDENTITY") !== undefined ||
      (typeNode !== undefined && isSerial(typeNode, source)),
  };
}

export class Schema {
  private readonly tables = new Map<string, Map<string, ColumnFacts>>();

  column(table: string, column: string): ColumnFacts | undefined {
    return this.tables.get(table)?.get(column);
  }

  hasTable(table: string): boolean {
    return this.tables.has(table);
  }

  /** Replays one statement; anything it does not model leaves the schema as it was. */
  apply(statement: SyntaxNode, source: SqlSource): void {
    switch (statement.kind) {
      case "CREATE_TABLE":
      case "CREATE_TABLE_AS":
        this.createTable(statement, source);
        return;
      case "ALTER_TABLE":
        this.alterTable(statement, source);
        return;
      case "DROP_TABLE":
        for (const name of statement.children.filter((c) => c.kind === "TABLE_NAME_REF")) {
          this.tables.delete(tableKey(nameParts(name, source)));
        }
        return;
    }
  }

  private createTable(statement: SyntaxNode, source: SqlSource): void {
    const name = child(statement, "TABLE_NAME");
    if (name === undefined) return;
    const key = tableKey(nameParts(name, source));
    if (hasChild(statement, "IF_NOT_EXISTS") && this.tables.has(key)) return;
    const columns = new Map<string, ColumnFacts>();
    const list = child(statement, "TABLE_ARG_LIST");
    for (const item of list?.children ?? []) {
      if (item.kind === "COLUMN") {
        const column = columnNamedIn(item, source);
        if (column !== undefined) columns.set(column, columnFacts(item, source));
      }
      if (item.kind === "PRIMARY_KEY_CONSTRAINT") {
        for (const ref of [...walkKind(item, "COLUMN_REF")]) {
          const facts = columns.get(nameParts(ref, source).join("."));
          if (facts !== undefined) facts.notNull = true;
        }
      }
    }
    this.tables.set(key, columns);
  }

  private alterTable(statement: SyntaxNode, source: SqlSource): void {
    const relation = child(statement, "TABLE_RELATION_NAME");
    if (relation === undefined) return;
    let key = tableNamedIn(relation, source) ?? "";
    for (const action of statement.children) {
      const columns = this.tables.get(key) ?? new Map<string, ColumnFacts>();
      this.tables.set(key, columns);
      const column = columnNamedIn(action, source);
      switch (action.kind) {
        case "ADD_COLUMN":
          if (column !== undefined && !(hasChild(action, "IF_NOT_EXISTS") && columns.has(column))) {
            columns.set(column, columnFacts(action, source));
          }
          break;
        case "ALTER_COLUMN":
          if (column !== undefined) alterColumn(columns, column, action, source);
          break;
        case "DROP_COLUMN":
          if (column !== undefined) columns.delete(column);
          break;
        case "RENAME_COLUMN": {
          const from = child(action, "COLUMN_NAME_REF");
          const to = child(action, "COLUMN_NAME");
          if (from === undefined || to === undefined) break;
          const facts = columns.get(nameParts(from, source).join("."));
          columns.delete(nameParts(from, source).join("."));
          if (facts !== undefined) columns.set(nameParts(to, source).join("."), facts);
          break;
        }
        case "TABLE_RENAME_TO": {
          const to = child(action, "TABLE_NAME");
          if (to === undefined) break;
          this.tables.delete(key);
          // RENAME TO takes a bare name: the table stays in its schema.
          const schema = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : undefined;
          key = tableKey([...(schema ? [schema] : []), ...nameParts(to, source)]);
          this.tables.set(key, columns);
          break;
        }
      }
    }
  }
}

function alterColumn(
  columns: Map<string, ColumnFacts>,
  column: string,
  action: SyntaxNode,
  source: SqlSource,
) {
  const facts = columns.get(column) ?? { type: undefined, notNull: false, hasDefault: false };
  columns.set(column, facts);
  for (const option of action.children) {
    if (option.kind === "SET_TYPE") {
      const typeNode = typeNodeOf(option);
      facts.type = typeNode === undefined ? undefined : columnType(typeNode, source);
    }
    if (option.kind === "SET_NOT_NULL") facts.notNull = true;
    if (option.kind === "DROP_NOT_NULL") facts.notNull = false;
    if (option.kind === "SET_DEFAULT") facts.hasDefault = true;
    if (option.kind === "DROP_DEFAULT") facts.hasDefault = false;
  }
}

function* walkKind(n: SyntaxNode, kind: string): Generator<SyntaxNode> {
  for (const c of n.children) {
    if (c.kind === kind) yield c;
    else yield* walkKind(c, kind);
  }
}
