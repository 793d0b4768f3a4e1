/**
 * `migrate-lint`: lints SQL migrations with the real squawk binary and judges each finding for a
 * rolling deploy, where the old and new releases share one schema (see rules.ts for the judgement).
 *
 * The post-deploy convention: a migration is a "contract" migration — allowed to drop or rename
 * what an OLDER release used — when its leading comment block has the line `-- shipyard:post-deploy`
 * (a comment, not a file-name suffix, so runners that insist on NNNN_name.sql names still accept it). Writing it asserts: the release running now (and
 * every release a rollback could return to) no longer uses what this migration removes. Lock rules
 * still apply to it: a DROP COLUMN needs a lock_timeout like anything else.
 *
 * Besides squawk's rules, Shipyard runs its own over squawk's syntax tree (shipyard-rules.ts), while
 * replaying the schema over every migration in order, also those `--base` leaves out: that is how a
 * type change PostgreSQL makes without rewriting the table is told apart from one that rewrites it.
 *
 * Exit codes: 0 no blocking finding (warnings allowed) · 1 at least one blocking finding (CI fails,
 * deploy refuses to migrate) · 2 bad input (folder, base ref, rule name) · 3 squawk could not run.
 */
import { join } from "node:path";
import { ExitCode, InputError } from "../errors.js";
import { adviceFor, isShipyardRule } from "./rules.js";
import { selectMigrationFiles } from "./select.js";
import {
  analyzeMigrations,
  type MigrationAnalysis,
  type MigrationInput,
  needsEarlierSchema,
  reportedBySquawkToo,
  shipyardRuleNames,
} from "./shipyard-rules.js";
import { findSquawk, parseWithSquawk, runSquawk, type SquawkFinding, squawkVersion } from "./squawk.js";
import { type ParsedTree, SqlSource, startOf } from "./syntax.js";

export type FindingLevel = "error" | "warning" | "allowed";

export interface LintFinding {
  /** Relative to the app root. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  rule: string;
  /** error fails the check; warning is advice; allowed = a contract change in a post-deploy migration. */
  level: FindingLevel;
  /** squawk's own message. */
  message: string;
  why: string;
  fix: string;
}

export interface LintedFile {
  path: string;
  postDeploy: boolean;
  /** Existed at the merge base and was edited: databases that applied it will not run it again. */
  edited: boolean;
  /** Linted as running inside the runner's transaction (no `-- shipyard:no-transaction` header). */
  transaction: boolean;
}

export interface LintResult {
  outcome: "passed" | "failed";
  exitCode: typeof ExitCode.Success | typeof ExitCode.RolledBack;
  directory: string;
  /** "changed": only files added or edited since the merge base with `baseRef`. */
  selection: "all" | "changed";
  baseRef?: string;
  mergeBase?: string;
  files: LintedFile[];
  findings: LintFinding[];
  counts: { errors: number; warnings: number; allowed: number };
  excludedRules: string[];
  squawkVersion: string;
  seconds: number;
  reason?: string;
  nextSteps?: string[];
}

export interface LintOptions {
  /** Folder with shipyard.json; file paths in the result are relative to it. */
  appRoot: string;
  /** Migrations folder relative to appRoot (default "migrations"). */
  directory?: string;
  /** Lint only files added/edited since `git merge-base baseRef HEAD`. */
  baseRef?: string;
  excludeRules?: readonly string[];
  /**
   * The runner wraps each file in a transaction unless its header says `-- shipyard:no-transaction`
   * (default true, like the example app's runner). False: files run as written.
   */
  runnerWrapsInTransaction?: boolean;
  /** Path to squawk; default: the binary of the installed squawk-cli (or $SHIPYARD_SQUAWK). */
  squawkPath?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  now?: () => number;
  /** How the user runs the lint again (named in the next steps). */
  lintCommand?: string;
}

/** Markers count only in the leading comment block, so they cannot hide between statements. */
function hasHeaderMarker(sql: string, marker: string): boolean {
  const pattern = new RegExp(`^--\\s*shipyard:${marker}\\b`, "i");
  for (const raw of sql.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("--")) return false;
    if (pattern.test(line)) return true;
  }
  return false;
}

export function isPostDeploy(sql: string): boolean {
  return hasHeaderMarker(sql, "post-deploy");
}

/**
 * The example app's runner (and the convention we document) wraps each file in a transaction unless
 * its FIRST line is `-- shipyard:no-transaction` (needed for CREATE INDEX CONCURRENTLY). Same test as
 * the runner's, so the lint never assumes a mode the runner will not use.
 */
export function runsInTransaction(sql: string): boolean {
  return !sql.trimStart().startsWith("-- shipyard:no-transaction");
}

/** A finding before it is judged: squawk's, or one of Shipyard's own rules. */
interface RawFinding {
  file: string;
  /** 0-based line, byte column: squawk's convention. */
  line: number;
  column: number;
  rule: string;
  message: string;
  help: string | null;
}

function judge(finding: RawFinding, postDeploy: boolean): LintFinding {
  const advice = adviceFor(finding.rule, finding.message, finding.help);
  const level: FindingLevel =
    advice.kind === "advice" ? "warning" : advice.kind === "contract" && postDeploy ? "allowed" : "error";
  return {
    file: finding.file,
    line: finding.line + 1,
    column: finding.column + 1,
    rule: finding.rule,
    level,
    message: finding.message,
    why: advice.why,
    fix: advice.fix,
  };
}

const EDITED_RULE = "shipyard-edited-migration";
const UNUSED_IGNORE = "unused-ignore";

function editedWarning(path: string): LintFinding {
  return {
    file: path,
    line: 1,
    column: 1,
    rule: EDITED_RULE,
    level: "warning",
    message: "This migration existed before this change and was edited.",
    why: "Databases that already applied it will not run it again: the edit only reaches new databases, so environments drift apart.",
    fix: "Revert the edit and put the change in a new migration file.",
  };
}

/**
 * excludeRules names squawk's rules and Shipyard's own. squawk checks its names (an unknown one is
 * exit 2); we check ours, and filter unused-ignore ourselves: squawk reports it but does not accept
 * it in --exclude.
 */
function splitExcludedRules(rules: readonly string[]): { squawk: string[]; shipyard: Set<string> } {
  const ours = (rule: string) => rule.startsWith("shipyard-") || rule === UNUSED_IGNORE;
  const known = (rule: string) => isShipyardRule(rule) || rule === EDITED_RULE || rule === UNUSED_IGNORE;
  const unknown = rules.filter(ours).find((rule) => !known(rule));
  if (unknown !== undefined) {
    throw new InputError(
      `Shipyard has no rule "${unknown}" (listed in migrations.excludeRules); nothing was linted.`,
      [],
      `fix the rule name in shipyard.json; Shipyard's rules are ${[...shipyardRuleNames, EDITED_RULE].join(", ")}`,
    );
  }
  return { squawk: rules.filter((rule) => !ours(rule)), shipyard: new Set(rules.filter(ours)) };
}

const byPosition = (a: LintFinding, b: LintFinding) =>
  a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule);

function summarize(findings: LintFinding[]) {
  const count = (level: FindingLevel) => findings.filter((f) => f.level === level).length;
  return { errors: count("error"), warnings: count("warning"), allowed: count("allowed") };
}

interface Migration extends MigrationInput {
  selected: boolean;
}

/** A file left unparsed: it contributes no statement to the replayed schema. */
const emptyTree = (source: SqlSource): ParsedTree => ({
  root: { kind: "SOURCE_FILE", start: 0, end: source.bytes.length, token: false, children: [] },
  errors: [],
});

/** Every migration of the folder (the selected ones are linted; all of them build the schema). */
async function readSources(appRoot: string, paths: readonly string[]): Promise<SqlSource[]> {
  // Synchronous on purpose: hundreds of small files read faster in one go than through the thread pool.
  const { readFileSync } = await import("node:fs");
  return paths.map((path) => new SqlSource(readFileSync(join(appRoot, path), "utf8")));
}

/**
 * squawk's findings minus what the replayed schema proves harmless (a type change PostgreSQL makes
 * without a rewrite; an index built on a table the same file created), squawk's complaint that `-- squawk-ignore shipyard-...` names no squawk rule,
 * and the rules excluded here rather than by squawk.
 */
function keepSquawkFinding(
  finding: SquawkFinding,
  migration: Migration,
  analysis: MigrationAnalysis,
  excluded: ReadonlySet<string>,
): boolean {
  if (excluded.has(finding.rule_name)) return false;
  const offset = migration.source.offset(finding.line, finding.column);
  if (finding.rule_name === "require-concurrent-index-creation") {
    return !analysis.indexesOnNewTables.some((index) => offset >= index.start && offset < index.end);
  }
  if (finding.rule_name === "changing-column-type") {
    const change = analysis.typeChanges.get(offset);
    return change === undefined || change.rewrite;
  }
  if (finding.rule_name === UNUSED_IGNORE) {
    const name = /^unknown name (\S+)$/.exec(finding.message)?.[1] ?? "";
    return !isShipyardRule(name) && name !== EDITED_RULE;
  }
  return true;
}

function shipyardFindings(
  migration: Migration,
  analysis: MigrationAnalysis,
  squawkFindings: readonly SquawkFinding[],
  excluded: ReadonlySet<string>,
): RawFinding[] {
  const { source } = migration;
  const squawkAt = squawkFindings.map((f) => ({
    rule: f.rule_name,
    offset: source.offset(f.line, f.column),
  }));
  return analysis.findings
    .filter((finding) => {
      if (excluded.has(finding.rule)) return false;
      const lines = [source.position(finding.offset).line, source.position(startOf(finding.statement)).line];
      if (analysis.ignores.covers(finding.rule, lines)) return false;
      const same = reportedBySquawkToo[finding.rule] ?? [];
      const { start, end } = finding.statement;
      return !squawkAt.some((s) => same.includes(s.rule) && s.offset >= start && s.offset < end);
    })
    .map((finding) => {
      const { line, column } = source.position(finding.offset);
      return { file: migration.path, line, column, rule: finding.rule, message: finding.message, help: null };
    });
}

export async function lintMigrations(options: LintOptions): Promise<LintResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const directory = options.directory ?? "migrations";
  const excludedRules = [...(options.excludeRules ?? [])];
  const excluded = splitExcludedRules(excludedRules);
  const selected = await selectMigrationFiles({
    appRoot: options.appRoot,
    directory,
    baseRef: options.baseRef,
    signal: options.signal,
  });
  const edited = new Set(selected.edited);
  const binary = options.squawkPath ?? findSquawk(options.env);
  const wraps = options.runnerWrapsInTransaction ?? true;
  const sources = await readSources(options.appRoot, selected.all);
  const chosen = new Set(selected.files);
  const inputs = selected.all.map((path, i) => {
    const source = sources[i] as SqlSource;
    return { path, source, transaction: wraps && runsInTransaction(source.text), selected: chosen.has(path) };
  });
  const linted = inputs.filter((m) => m.selected);
  const files: LintedFile[] = linted.map((m) => ({
    path: m.path,
    postDeploy: isPostDeploy(m.source.text),
    edited: edited.has(m.path),
    transaction: m.transaction,
  }));
  // Two runs, because squawk's --assume-in-transaction applies to every file it is given.
  const lintGroup = (inTransaction: boolean) =>
    runSquawk({
      binary,
      files: linted.filter((m) => m.transaction === inTransaction).map((m) => m.path),
      cwd: options.appRoot,
      excludeRules: excluded.squawk,
      assumeInTransaction: inTransaction,
      signal: options.signal,
    });
  const parse = (files: readonly (typeof inputs)[number][]) =>
    parseWithSquawk({
      binary,
      files: files.map((m) => ({ path: m.path, bytes: m.source.bytes.length })),
      cwd: options.appRoot,
      signal: options.signal,
    });
  const [inTransaction, outside, version, lintedTrees] = await Promise.all([
    lintGroup(true),
    lintGroup(false),
    squawkVersion(binary, options.signal),
    parse(linted),
  ]);
  const trees = new Map(linted.map((m, i) => [m.path, lintedTrees[i] as ParsedTree]));
  // The migrations --base leaves out build the schema too, but they matter (and are parsed) only
  // when a linted one has a statement whose verdict depends on it.
  const unlinted = inputs.filter((m) => !m.selected);
  if (unlinted.length > 0 && [...trees.values()].some(needsEarlierSchema)) {
    const unlintedTrees = await parse(unlinted);
    for (const [i, m] of unlinted.entries()) trees.set(m.path, unlintedTrees[i] as ParsedTree);
  }
  const migrations: Migration[] = inputs.map((m) => ({
    ...m,
    tree: trees.get(m.path) ?? emptyTree(m.source),
  }));
  const analyses = analyzeMigrations(migrations);
  const raw: RawFinding[] = [];
  for (const migration of migrations.filter((m) => m.selected)) {
    const analysis = analyses.get(migration.path);
    if (analysis === undefined) continue;
    const fromSquawk = [...inTransaction, ...outside].filter((f) => f.file === migration.path);
    for (const finding of fromSquawk.filter((f) =>
      keepSquawkFinding(f, migration, analysis, excluded.shipyard),
    )) {
      raw.push({ ...finding, rule: finding.rule_name });
    }
    raw.push(...shipyardFindings(migration, analysis, fromSquawk, excluded.shipyard));
  }
  const postDeploy = new Set(files.filter((f) => f.postDeploy).map((f) => f.path));
  const findings = [
    ...raw.map((finding) => judge(finding, postDeploy.has(finding.file))),
    ...(excluded.shipyard.has(EDITED_RULE)
      ? []
      : files.filter((f) => f.edited).map((f) => editedWarning(f.path))),
  ].sort(byPosition);
  const counts = summarize(findings);
  const failed = counts.errors > 0;
  const result: LintResult = {
    outcome: failed ? "failed" : "passed",
    exitCode: failed ? ExitCode.RolledBack : ExitCode.Success,
    directory,
    selection: options.baseRef === undefined ? "all" : "changed",
    files,
    findings,
    counts,
    excludedRules,
    squawkVersion: version,
    seconds: 0,
  };
  if (options.baseRef !== undefined) {
    result.baseRef = options.baseRef;
    result.mergeBase = selected.mergeBase;
  }
  if (failed) {
    const fileCount = new Set(findings.filter((f) => f.level === "error").map((f) => f.file)).size;
    result.reason = `${counts.errors} unsafe statement${counts.errors === 1 ? "" : "s"} in ${fileCount} migration${fileCount === 1 ? "" : "s"}: they would break the running release or lock tables during the deploy.`;
    result.nextSteps = [
      `Rewrite each statement as its \`fix\` says, then run \`${options.lintCommand ?? "shipyard migrate-lint"}\` again.`,
      "A drop/rename the running release no longer needs: put it in a new migration whose header comment has the line `-- shipyard:post-deploy`.",
      "A rule that does not apply to you: add it to migrations.excludeRules in shipyard.json, or put `-- squawk-ignore RULE` above the statement.",
    ];
  }
  result.seconds = Math.round((now() - started) / 10) / 100;
  return result;
}

const levelLabel: Record<FindingLevel, string> = {
  error: "unsafe",
  warning: "advice",
  allowed: "allowed (post-deploy)",
};

/** Human text for stderr: one block per finding, then the verdict. */
export function formatLintResult(result: LintResult): string[] {
  const lines: string[] = [];
  const scope =
    result.selection === "all"
      ? `all ${result.files.length} migration(s) in ${result.directory}`
      : `${result.files.length} migration(s) added or edited since ${result.baseRef} (${result.mergeBase?.slice(0, 12)})`;
  lines.push(`shipyard migrate-lint: squawk ${result.squawkVersion} on ${scope}`);
  for (const finding of result.findings) {
    const where = `${finding.file}:${finding.line}:${finding.column}`;
    if (finding.level === "error") {
      lines.push(
        "",
        `${where}  unsafe  ${finding.rule}`,
        `  ${finding.message}`,
        `  why: ${finding.why}`,
        `  fix: ${finding.fix}`,
      );
    } else {
      // Advice and allowed contract changes: one line each, so the unsafe ones stand out.
      lines.push(`${where}  ${levelLabel[finding.level]}  ${finding.rule}: ${finding.message}`);
    }
  }
  const { errors, warnings, allowed } = result.counts;
  lines.push(
    "",
    `${result.outcome === "passed" ? "passed" : "FAILED"}: ${errors} unsafe, ${warnings} advice, ${allowed} allowed post-deploy (exit ${result.exitCode}, ${result.seconds}s)`,
  );
  if (result.reason) lines.push(result.reason);
  for (const step of result.nextSteps ?? []) lines.push(`  next: ${step}`);
  return lines;
}
