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
 * Exit codes: 0 no blocking finding (warnings allowed) · 1 at least one blocking finding (CI fails,
 * deploy refuses to migrate) · 2 bad input (folder, base ref, rule name) · 3 squawk could not run.
 */
import { join } from "node:path";
import { ExitCode } from "../errors.js";
import { adviceFor } from "./rules.js";
import { selectMigrationFiles } from "./select.js";
import { findSquawk, runSquawk, type SquawkFinding, squawkVersion } from "./squawk.js";

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

function judge(finding: SquawkFinding, postDeploy: boolean): LintFinding {
  const advice = adviceFor(finding.rule_name, finding.message, finding.help);
  const level: FindingLevel =
    advice.kind === "advice" ? "warning" : advice.kind === "contract" && postDeploy ? "allowed" : "error";
  return {
    file: finding.file,
    line: finding.line + 1,
    column: finding.column + 1,
    rule: finding.rule_name,
    level,
    message: finding.message,
    why: advice.why,
    fix: advice.fix,
  };
}

function editedWarning(path: string): LintFinding {
  return {
    file: path,
    line: 1,
    column: 1,
    rule: "shipyard-edited-migration",
    level: "warning",
    message: "This migration existed before this change and was edited.",
    why: "Databases that already applied it will not run it again: the edit only reaches new databases, so environments drift apart.",
    fix: "Revert the edit and put the change in a new migration file.",
  };
}

const byPosition = (a: LintFinding, b: LintFinding) =>
  a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule);

function summarize(findings: LintFinding[]) {
  const count = (level: FindingLevel) => findings.filter((f) => f.level === level).length;
  return { errors: count("error"), warnings: count("warning"), allowed: count("allowed") };
}

export async function lintMigrations(options: LintOptions): Promise<LintResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const directory = options.directory ?? "migrations";
  const excludedRules = [...(options.excludeRules ?? [])];
  const selected = await selectMigrationFiles({
    appRoot: options.appRoot,
    directory,
    baseRef: options.baseRef,
    signal: options.signal,
  });
  const edited = new Set(selected.edited);
  const { readFile } = await import("node:fs/promises");
  const wraps = options.runnerWrapsInTransaction ?? true;
  const files: LintedFile[] = [];
  for (const path of selected.files) {
    const sql = await readFile(join(options.appRoot, path), "utf8");
    const transaction = wraps && runsInTransaction(sql);
    files.push({ path, postDeploy: isPostDeploy(sql), edited: edited.has(path), transaction });
  }
  const binary = options.squawkPath ?? findSquawk(options.env);
  // Two runs, because squawk's --assume-in-transaction applies to every file it is given.
  const lintGroup = (inTransaction: boolean) =>
    runSquawk({
      binary,
      files: files.filter((f) => f.transaction === inTransaction).map((f) => f.path),
      cwd: options.appRoot,
      excludeRules: excludedRules,
      assumeInTransaction: inTransaction,
      signal: options.signal,
    });
  const raw = [...(await lintGroup(true)), ...(await lintGroup(false))];
  const postDeploy = new Set(files.filter((f) => f.postDeploy).map((f) => f.path));
  const findings = [
    ...raw.map((finding) => judge(finding, postDeploy.has(finding.file))),
    ...files.filter((f) => f.edited).map((f) => editedWarning(f.path)),
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
    squawkVersion: await squawkVersion(binary, options.signal),
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
