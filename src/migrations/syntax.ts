/**
 * Reads the concrete syntax tree squawk prints with `squawk --debug parse FILE...`: squawk's own
 * PostgreSQL parser, so Shipyard's rules see statements exactly as squawk's rules do. One line per
 * node or token, indented two spaces per level:
 *
 *     ALTER_TABLE@155..254          a node: kind, UTF-8 byte range in the file
 *       ALTER_KW@155..160 "ALTER"   a token: the same, plus its text (Rust-escaped; we slice the file instead)
 *
 * Several files print one tree after another, each starting at `SOURCE_FILE@0..<length>`; a file
 * that does not parse adds `ERROR@...` lines and a rendered report, which we skip.
 */

export interface SyntaxNode {
  kind: string;
  /** UTF-8 byte offsets into the file, end exclusive. */
  start: number;
  end: number;
  /** True for tokens (leaves with text); nodes may still be empty. */
  token: boolean;
  children: SyntaxNode[];
}

export interface ParsedTree {
  root: SyntaxNode;
  /** squawk's syntax errors; squawk reports them itself, so our rules skip such files. */
  errors: string[];
}

const treeLine = /^( *)([A-Z][A-Z0-9_]*)@(\d+)\.\.(\d+)( ".*)?$/;
const errorLine = /^ERROR@\S+ (".*")$/;
const fileStart = /^SOURCE_FILE@0\.\.\d+$/;

/** Splits squawk's debug output into one tree per file, in the order the files were given. */
export function readSyntaxTrees(dump: string): ParsedTree[] {
  const trees: ParsedTree[] = [];
  let stack: SyntaxNode[] = [];
  let current: ParsedTree | undefined;
  let inTree = false;
  for (const line of dump.split("\n")) {
    if (fileStart.test(line)) {
      const root = node(treeLine.exec(line));
      current = { root, errors: [] };
      trees.push(current);
      stack = [root];
      inTree = true;
      continue;
    }
    if (current === undefined) continue;
    if (inTree) {
      const match = line.startsWith("  ") ? treeLine.exec(line) : null;
      if (match !== null) {
        const depth = (match[1]?.length ?? 0) / 2;
        const child = node(match);
        stack.length = depth;
        stack[depth - 1]?.children.push(child);
        stack[depth] = child;
        continue;
      }
      inTree = false;
    }
    const error = errorLine.exec(line);
    if (error?.[1] !== undefined) current.errors.push(JSON.parse(error[1]) as string);
  }
  return trees;
}

function node(match: RegExpExecArray | null): SyntaxNode {
  if (match === null) throw new Error("not a syntax tree line");
  return {
    kind: match[2] ?? "",
    start: Number(match[3]),
    end: Number(match[4]),
    token: match[5] !== undefined,
    children: [],
  };
}

const triviaKinds = new Set(["WHITESPACE", "COMMENT"]);

export const isTrivia = (n: SyntaxNode) => triviaKinds.has(n.kind);

/** The statements of a file: the root's children that are nodes (comments and spaces are tokens). */
export function statementsOf(root: SyntaxNode): SyntaxNode[] {
  return root.children.filter((child) => !child.token);
}

export function child(n: SyntaxNode, kind: string): SyntaxNode | undefined {
  return n.children.find((c) => c.kind === kind);
}

export function hasChild(n: SyntaxNode, kind: string): boolean {
  return n.children.some((c) => c.kind === kind);
}

/** Every node and token below `n` (not `n` itself), depth first, in source order. */
export function descendants(n: SyntaxNode): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  const visit = (parent: SyntaxNode) => {
    for (const c of parent.children) {
      found.push(c);
      if (c.children.length > 0) visit(c);
    }
  };
  visit(n);
  return found;
}

/** The first node or token below `n` that `test` accepts, depth first; stops there. */
export function findBelow(n: SyntaxNode, test: (d: SyntaxNode) => boolean): SyntaxNode | undefined {
  for (const c of n.children) {
    if (test(c)) return c;
    const below = c.children.length > 0 ? findBelow(c, test) : undefined;
    if (below !== undefined) return below;
  }
  return undefined;
}

export function firstDescendant(n: SyntaxNode, kind: string): SyntaxNode | undefined {
  return findBelow(n, (d) => d.kind === kind);
}

const isText = (n: SyntaxNode) => n.token && !isTrivia(n);

/** Non-trivia tokens below `n`, in source order. */
export function tokensOf(n: SyntaxNode): SyntaxNode[] {
  if (n.token) return isTrivia(n) ? [] : [n];
  return descendants(n).filter(isText);
}

/** Where a finding about `n` points: its first token that is not a comment or space (as squawk does). */
export function startOf(n: SyntaxNode): number {
  if (n.token) return n.start;
  return findBelow(n, isText)?.start ?? n.start;
}

/** A migration file's text, addressed by the byte offsets of its syntax tree. */
export class SqlSource {
  readonly bytes: Buffer;
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, "utf8");
    this.bytes.forEach((byte, offset) => {
      if (byte === 0x0a) this.lineStarts.push(offset + 1);
    });
  }

  textOf(n: SyntaxNode): string {
    return this.bytes.subarray(n.start, n.end).toString("utf8");
  }

  /** 0-based line and byte column: the convention of squawk's JSON report. */
  position(offset: number): { line: number; column: number } {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low, column: offset - (this.lineStarts[low] ?? 0) };
  }

  offset(line: number, column: number): number {
    return (this.lineStarts[line] ?? this.bytes.length) + column;
  }
}

/** An SQL identifier as PostgreSQL folds it: quoted ones keep their case, the rest are lowercased. */
export function identifier(text: string): string {
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2)
    return text.slice(1, -1).replaceAll('""', '"');
  return text.toLowerCase();
}

/** The dotted name under a name node (TABLE_NAME, TABLE_NAME_REF, PATH...): `["public", "users"]`. */
export function nameParts(n: SyntaxNode, source: SqlSource): string[] {
  return tokensOf(n)
    .filter((t) => t.kind !== "DOT")
    .map((t) => identifier(source.textOf(t)));
}
