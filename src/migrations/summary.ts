/**
 * What a migration lint and a migration task mean for a deploy, as verdicts and report sections:
 * an unsafe migration or a task that did not exit 0 stops the deploy before the service changes.
 */
import type { Verdict } from "../report/verdict.js";
import type { LintResult } from "./lint.js";
import type { MigrationTaskResult } from "./task.js";

/** `file:line rule` for the first few blocking findings: enough for the deploy's one-line reason. */
export function lintReason(result: LintResult, lintCommand: string): string {
  const errors = result.findings.filter((f) => f.level === "error");
  const shown = errors
    .slice(0, 3)
    .map((f) => `${f.file}:${f.line} ${f.rule}`)
    .join(", ");
  const more = errors.length > 3 ? ` and ${errors.length - 3} more` : "";
  return `Migration lint found ${errors.length} unsafe statement(s): ${shown}${more}, so no migration ran (\`${lintCommand}\` shows why and how to fix each)`;
}

export function lintSummary(result: LintResult): Record<string, unknown> {
  return {
    lint: `${result.outcome}: ${result.files.length} file(s), ${result.counts.errors} unsafe, ${result.counts.warnings} advice, ${result.counts.allowed} allowed post-deploy`,
    lintScope: result.selection === "all" ? "all migrations" : `added since ${result.baseRef}`,
    ...(result.counts.errors > 0
      ? {
          lintFindings: result.findings
            .filter((f) => f.level === "error")
            .map((f) => `${f.file}:${f.line} ${f.rule}`),
        }
      : {}),
  };
}

export function taskSummary(result: MigrationTaskResult): Record<string, unknown> {
  return {
    task: result.status,
    taskArn: result.taskArn,
    taskDefinition: result.taskDefinition,
    command: result.command.join(" "),
    exitCode: result.exitCode,
    stopCode: result.stopCode,
    stoppedReason: result.stoppedReason,
    seconds: result.seconds,
    ...(result.logs?.consoleUrl ? { logs: result.logs.consoleUrl } : {}),
    ...(result.logs?.tailCommand ? { tailLogs: result.logs.tailCommand } : {}),
    ...(result.logs && !result.logs.consoleUrl ? { logs: `log driver ${result.logs.driver}` } : {}),
  };
}

/** The lint's verdict for a deploy: any unsafe statement stops it before a migration runs. */
export function lintVerdict(result: LintResult, lintCommand: string): Verdict {
  const section = lintSummary(result);
  if (result.outcome === "failed")
    return { status: "failed", reason: lintReason(result, lintCommand), section };
  return { status: "passed", summary: `migration lint ${String(section.lint)}`, section };
}

/** The migration task's verdict: only exit code 0 passes. */
export function taskVerdict(task: MigrationTaskResult): Verdict {
  const section = taskSummary(task);
  if (task.ok) return { status: "passed", summary: `migrations applied in ${task.seconds}s`, section };
  const where = task.logs?.tailCommand ? `. Logs: \`${task.logs.tailCommand}\`` : "";
  return { status: "failed", reason: `${task.reason ?? "The migration task failed"}${where}`, section };
}

/** The previous release is a commit when releases are commits: then lint only what came after it. */
export async function commitKnownToGit(appRoot: string, release: string | null): Promise<string | undefined> {
  if (!release || !/^[0-9a-f]{7,40}$/.test(release)) return undefined;
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) => {
    execFile("git", ["cat-file", "-e", `${release}^{commit}`], { cwd: appRoot }, (error) =>
      resolve(error ? undefined : release),
    );
  });
}
