/**
 * The deploy's migration step: lint, then run the migration task, before UpdateService. A failed
 * step leaves the service untouched (the controller's contract, src/deploy/steps.ts) and the deploy
 * exits 1 with the reason. Light at import time: squawk and the AWS SDK load only when it runs.
 */
import { execFile } from "node:child_process";
import type { MigrationSettings } from "../config/schema.js";
import type { DeployStep, DeployStepContext, StepVerdict } from "../deploy/steps.js";
import { formatLintResult, type LintResult, lintMigrations } from "./lint.js";
import type { MigrationTaskResult } from "./run-task.js";

export interface MigrationStepOptions {
  /** squawk binary; default: the installed squawk-cli's. */
  squawkPath?: string;
}

/** `file:line rule` for the first few blocking findings: enough for the deploy's one-line reason. */
function lintReason(result: LintResult): string {
  const errors = result.findings.filter((f) => f.level === "error");
  const shown = errors
    .slice(0, 3)
    .map((f) => `${f.file}:${f.line} ${f.rule}`)
    .join(", ");
  const more = errors.length > 3 ? ` and ${errors.length - 3} more` : "";
  return `Migration lint found ${errors.length} unsafe statement(s): ${shown}${more}, so no migration ran (\`npx shipyard migrate-lint\` shows why and how to fix each)`;
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

/** The previous release is a commit when releases are commits: then lint only what came after it. */
function commitKnownToGit(appRoot: string, release: string | null): Promise<string | undefined> {
  if (!release || !/^[0-9a-f]{7,40}$/.test(release)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile("git", ["cat-file", "-e", `${release}^{commit}`], { cwd: appRoot }, (error) =>
      resolve(error ? undefined : release),
    );
  });
}

async function lintStep(ctx: DeployStepContext, settings: MigrationSettings, options: MigrationStepOptions) {
  const baseRef = await commitKnownToGit(ctx.appRoot, ctx.previousRelease);
  ctx.progress.info(
    baseRef
      ? `Linting migrations added since the running release ${baseRef.slice(0, 12)}`
      : "Linting all migrations (the running release is not a commit in this checkout)",
  );
  return lintMigrations({
    appRoot: ctx.appRoot,
    directory: settings.directory,
    excludeRules: settings.excludeRules,
    ...(baseRef ? { baseRef } : {}),
    ...(options.squawkPath ? { squawkPath: options.squawkPath } : {}),
    env: ctx.env,
    signal: ctx.signal,
    now: () => ctx.clock.now(),
  });
}

export function createMigrationStep(options: MigrationStepOptions = {}): DeployStep {
  return {
    name: "migrate",
    reportKey: "migration",
    async run(ctx: DeployStepContext): Promise<StepVerdict> {
      const settings = ctx.environment.migrations;
      if (!settings) return { status: "passed", summary: "no migrations configured" };
      let report: Record<string, unknown> = {};
      if (settings.lint) {
        const lint = await lintStep(ctx, settings, options);
        report = lintSummary(lint);
        if (lint.outcome === "failed") {
          for (const line of formatLintResult(lint)) ctx.progress.info(line);
          return { status: "failed", reason: lintReason(lint), report };
        }
        ctx.progress.info(`Migration lint ${String(report.lint)}`);
      }
      const { runMigrationTask } = await import("./run-task.js");
      const task = await runMigrationTask({
        ecs: ctx.ecs,
        region: ctx.environment.region,
        cluster: ctx.environment.cluster,
        service: ctx.environment.service,
        container: ctx.environment.container,
        command: settings.command,
        taskDefinition: ctx.taskDefinitionArn,
        timeoutSeconds: settings.timeoutSeconds,
        pollSeconds: ctx.environment.deployment.pollSeconds,
        clock: ctx.clock,
        progress: ctx.progress,
        signal: ctx.signal,
      });
      report = { ...report, ...taskSummary(task) };
      if (task.ok) {
        return { status: "passed", summary: `migrations applied in ${task.seconds}s`, report };
      }
      const where = task.logs?.tailCommand ? ` Logs: \`${task.logs.tailCommand}\`` : "";
      return {
        status: "failed",
        reason: `${task.reason ?? "The migration task failed"}${where ? `.${where}` : ""}`,
        report,
      };
    },
  };
}
