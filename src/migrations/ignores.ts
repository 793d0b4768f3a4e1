/**
 * `-- squawk-ignore RULE[, RULE]` and `-- squawk-ignore-file [RULE...]` comments, read the way squawk
 * reads them, so one comment silences a squawk rule and a Shipyard rule alike:
 * - squawk-ignore RULES: findings that start on the comment's line or the line after it;
 * - squawk-ignore-file RULES: those rules anywhere in the file; with no rule names, every rule.
 * A trailing `-- why` after the names is allowed. A Shipyard finding also counts as ignored when the
 * comment sits on the line above its statement (our findings can point inside a long ALTER TABLE).
 */
import type { SqlSource, SyntaxNode } from "./syntax.js";

export class Ignores {
  private readonly byLine = new Map<number, Set<string>>();
  private readonly fileRules = new Set<string>();
  private ignoreAll = false;

  constructor(root: SyntaxNode, source: SqlSource) {
    for (const comment of comments(root)) {
      const body = commentBody(source.textOf(comment));
      if (body === undefined) continue;
      const trimmed = body.trim().replace(/\s*--.*$/, "");
      const file = trimmed.startsWith("squawk-ignore-file");
      if (!file && !trimmed.startsWith("squawk-ignore")) continue;
      const names = trimmed
        .slice(file ? "squawk-ignore-file".length : "squawk-ignore".length)
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name !== "");
      if (file) {
        if (names.length === 0) this.ignoreAll = true;
        for (const name of names) this.fileRules.add(name);
      } else {
        const line = source.position(comment.start).line;
        const rules = this.byLine.get(line) ?? new Set<string>();
        for (const name of names) rules.add(name);
        this.byLine.set(line, rules);
      }
    }
  }

  /** `lines`: 0-based lines the finding may be silenced from (the comment's own line or the one below). */
  covers(rule: string, lines: readonly number[]): boolean {
    if (this.ignoreAll || this.fileRules.has(rule)) return true;
    return lines.some((line) => [line, line - 1].some((at) => this.byLine.get(at)?.has(rule) === true));
  }
}

function comments(n: SyntaxNode, found: SyntaxNode[] = []): SyntaxNode[] {
  for (const c of n.children) {
    if (c.kind === "COMMENT") found.push(c);
    else if (!c.token) comments(c, found);
  }
  return found;
}

function commentBody(text: string): string | undefined {
  if (text.startsWith("--")) return text.slice(2);
  if (text.startsWith("/*") && text.endsWith("*/")) return text.slice(2, -2);
  return undefined;
}
