/**
 * Column types as PostgreSQL names them internally, and which `ALTER COLUMN ... TYPE` changes need no
 * table rewrite. PostgreSQL skips the rewrite (and the index rebuild) when the old type is binary
 * coercible to the new one and no value can change; the documented cases (ALTER TABLE notes, and the
 * 9.2 release notes that introduced them) are:
 * - varchar(n) → varchar(m ≥ n), varchar, text; text ↔ varchar without a limit;
 * - numeric(p, s) → numeric(p2 ≥ p, s), or numeric without a precision;
 * - varbit(n) → varbit(m ≥ n) or varbit;
 * - timestamp, timestamptz and interval to a precision at least as high (or none: 6 digits);
 * - cidr → inet.
 * Anything else — a narrower type, a USING expression that computes something, a new collation (its
 * indexes are rebuilt), arrays of a changed element type — is left to squawk's changing-column-type.
 */
import { type SqlSource, type SyntaxNode, tokensOf } from "./syntax.js";

export interface ColumnType {
  /** Internal name: varchar, bpchar, numeric, timestamptz, int8... or the user's own type as written. */
  name: string;
  /** Type modifiers: varchar(20) → [20], numeric(10, 2) → [10, 2]; [] when there are none. */
  modifiers: number[];
  /** Array dimensions: text[] → 1. */
  arrayDimensions: number;
}

/** How PostgreSQL spells the built-in types internally (keys are the SQL spellings, lowercased). */
const internalNames: Record<string, string> = {
  varchar: "varchar",
  "character varying": "varchar",
  "char varying": "varchar",
  char: "bpchar",
  character: "bpchar",
  bpchar: "bpchar",
  text: "text",
  numeric: "numeric",
  decimal: "numeric",
  dec: "numeric",
  varbit: "varbit",
  "bit varying": "varbit",
  bit: "bit",
  timestamp: "timestamp",
  "timestamp without time zone": "timestamp",
  timestamptz: "timestamptz",
  "timestamp with time zone": "timestamptz",
  time: "time",
  "time without time zone": "time",
  timetz: "timetz",
  "time with time zone": "timetz",
  interval: "interval",
  int: "int4",
  integer: "int4",
  int4: "int4",
  serial: "int4",
  serial4: "int4",
  bigint: "int8",
  int8: "int8",
  bigserial: "int8",
  serial8: "int8",
  smallint: "int2",
  int2: "int2",
  smallserial: "int2",
  serial2: "int2",
  "double precision": "float8",
  float8: "float8",
  real: "float4",
  float4: "float4",
  boolean: "bool",
  bool: "bool",
};

const serialTypes = new Set(["serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"]);
const punctuation = new Set(["L_PAREN", "R_PAREN", "COMMA", "L_BRACK", "R_BRACK"]);

/** The type node of a column definition or SET TYPE clause (PATH_TYPE, CHAR_TYPE, ARRAY_TYPE...). */
export function typeNodeOf(n: SyntaxNode): SyntaxNode | undefined {
  return n.children.find((c) => !c.token && c.kind.endsWith("_TYPE"));
}

/** Whether the column was declared serial: its default comes from a sequence. */
export function isSerial(typeNode: SyntaxNode, source: SqlSource): boolean {
  const words = tokensOf(typeNode).map((t) => source.textOf(t).toLowerCase());
  return words.length === 1 && serialTypes.has(words[0] ?? "");
}

/** undefined when the type is written in a way we do not model (then nothing is assumed about it). */
export function columnType(typeNode: SyntaxNode, source: SqlSource): ColumnType | undefined {
  let arrayDimensions = 0;
  const words: string[] = [];
  const modifiers: number[] = [];
  let quoted = false;
  for (const token of tokensOf(typeNode)) {
    const text = source.textOf(token);
    if (token.kind === "L_BRACK") arrayDimensions += 1;
    if (punctuation.has(token.kind)) continue;
    if (token.kind === "INT_NUMBER") modifiers.push(Number(text));
    else if (token.kind === "DOT") words.push(".");
    else if (token.kind === "ARRAY_KW") arrayDimensions = Math.max(arrayDimensions, 1);
    else if (/^[\p{L}_"]/u.test(text)) {
      quoted ||= text.startsWith('"');
      words.push(text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text.toLowerCase());
    } else return undefined;
  }
  const written = words
    .join(" ")
    .replaceAll(" . ", ".")
    .replace(/^pg_catalog\./, "");
  if (written === "") return undefined;
  // A quoted name is taken literally: "char" is PostgreSQL's one-byte type, not char(1).
  const name = quoted ? written : (internalNames[written] ?? written);
  return { name, modifiers, arrayDimensions };
}

export function formatType(type: ColumnType): string {
  const modifiers = type.modifiers.length > 0 ? `(${type.modifiers.join(",")})` : "";
  return `${type.name}${modifiers}${"[]".repeat(type.arrayDimensions)}`;
}

const sameType = (a: ColumnType, b: ColumnType) => formatType(a) === formatType(b);

/** Fractional-second digits of timestamp/interval; none written means the maximum, 6. */
const secondsPrecision = (type: ColumnType) => Math.min(type.modifiers[0] ?? 6, 6);

/** True when changing a column from `from` to `to` rewrites neither the table nor its indexes. */
export function changeNeedsNoRewrite(from: ColumnType, to: ColumnType): boolean {
  if (sameType(from, to)) return true;
  if (from.arrayDimensions > 0 || to.arrayDimensions > 0) return false;
  const [fromLimit] = from.modifiers;
  const [toLimit] = to.modifiers;
  switch (from.name) {
    case "varchar":
    case "text":
      if (to.name === "text") return true;
      if (to.name !== "varchar") return false;
      if (toLimit === undefined) return true;
      return from.name === "varchar" && fromLimit !== undefined && toLimit >= fromLimit;
    case "numeric": {
      if (to.name !== "numeric") return false;
      if (toLimit === undefined) return true;
      if (fromLimit === undefined) return false;
      return toLimit >= fromLimit && (to.modifiers[1] ?? 0) === (from.modifiers[1] ?? 0);
    }
    case "varbit":
      if (to.name !== "varbit") return false;
      return toLimit === undefined || (fromLimit !== undefined && toLimit >= fromLimit);
    case "timestamp":
    case "timestamptz":
    case "interval":
      return to.name === from.name && secondsPrecision(to) >= secondsPrecision(from);
    case "cidr":
      return to.name === "inet" && to.modifiers.length === 0;
    default:
      return false;
  }
}
