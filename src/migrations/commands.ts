/**
 * Face-neutral entry points for `migrate-lint` and `migrate`: the CLI (bin/commands/*) and the Dagger
 * functions (src/index.ts) call these with plain data and get a result back. Bad input throws an
 * InputError (exit 2) before anything runs. Light at import time: squawk runs as a child process and
 * the AWS SDK loads only inside `runMigrate`.
 *
 * Exit codes
 *   migrate-lint: 0 no unsafe statement (advice may be printed) · 1 unsafe statements found ·
 *                 2 bad input (config, folder, base ref, rule name) · 3 squawk could not run.
 *   migrate:      0 the task exited 0 · 1 it did not (failed, never started, refused, timed out and
 *                 stopped); the service was not changed · 2 bad input · 3 the task may still be running.
 */
import { parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { CommandDeps, CommandInput } from "../deploy/commands.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { taskSummary } from "./hook.js";
import { type LintResult, lintMigrations } from "./lint.js";
import type { MigrationTaskResult } from "./run-task.js";

export type { LintFinding, LintResult } from "./lint.js";
export { formatLintResult } from "./lint.js";

export interface MigrateLintInput {
  /** Folder with shipyard.json (the app root); file paths are reported relative to it. */
  appRoot: string;
  /** Text of shipyard.json, or null/absent to lint with defaults (folder "migrations"). */
  configText?: string | null;
  configSource?: string;
  /** Take `migrations` settings from this environment (needed only when environments disagree). */
  environmentName?: string;
  /** Overrides migrations.directory. */
  directory?: string;
  /** Lint only migrations added or edited since `git merge-base <baseRef> HEAD`. */
  baseRef?: string;
  /** Added to migrations.excludeRules. */
  excludeRules?: readonly string[];
  squawkPath?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

interface LintSettings {
  directory: string;
  excludeRules: string[];
}

/** Environments usually share one migrations folder; if they do not, the caller must pick one. */
function lintSettingsFrom(config: Config, environmentName: string | undefined): LintSettings {
  const defaults: LintSettings = { directory: "migrations", excludeRules: [] };
  if (environmentName !== undefined) {
    const env = config.environments[environmentName];
    if (!env) {
      throw new InputError(
        `There is no environment "${environmentName}" in shipyard.json.`,
        [],
        `use one of: ${Object.keys(config.environments).join(", ")}`,
      );
    }
    return env.migrations ?? defaults;
  }
  const distinct = new Map<string, LintSettings>();
  for (const env of Object.values(config.environments)) {
    if (!env.migrations) continue;
    const { directory, excludeRules } = env.migrations;
    distinct.set(JSON.stringify([directory, [...excludeRules].sort()]), { directory, excludeRules });
  }
  if (distinct.size > 1) {
    throw new InputError(
      "The environments in shipyard.json lint different migration folders or rules.",
      [],
      "pass --env NAME to choose whose `migrations` settings to use",
    );
  }
  return [...distinct.values()][0] ?? defaults;
}

export async function runMigrateLint(input: MigrateLintInput): Promise<LintResult> {
  const settings = input.configText
    ? lintSettingsFrom(parseConfig(input.configText, input.configSource), input.environmentName)
    : { directory: "migrations", excludeRules: [] };
  const excludeRules = [...new Set([...settings.excludeRules, ...(input.excludeRules ?? [])])];
  return lintMigrations({
    appRoot: input.appRoot,
    directory: input.directory ?? settings.directory,
    excludeRules,
    ...(input.baseRef ? { baseRef: input.baseRef } : {}),
    ...(input.squawkPath ? { squawkPath: input.squawkPath } : {}),
    ...(input.env ? { env: input.env } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
}

export interface MigrateInput extends CommandInput {
  /**
   * Revision whose image runs the migrations (ARN, family:revision). Default: the one the service
   * runs now — e.g. to re-run migrations after fixing the database by hand.
   */
  taskDefinition?: string;
}

function nextStepsFor(task: MigrationTaskResult, environmentName: string, cluster: string): string[] {
  const steps: string[] = [];
  if (task.logs?.tailCommand) steps.push(task.logs.tailCommand);
  if (task.stillRunning && !task.taskArn) {
    steps.push(
      `aws ecs list-tasks --cluster ${cluster} --started-by shipyard-migrate --desired-status RUNNING`,
    );
  }
  if (task.stillRunning && task.taskArn) {
    steps.push(`aws ecs stop-task --cluster ${cluster} --task ${task.taskArn} --reason "stop migration"`);
  }
  if (task.status === "timed_out") {
    steps.push(
      "# in psql, find what it waited on: SELECT pid, wait_event_type, state, query FROM pg_stat_activity WHERE datname = current_database();",
    );
  }
  if (task.status === "not_started") {
    steps.push(
      "# check the stop reason above: image pull, subnets/security groups, secrets, CPU/memory capacity",
    );
  }
  steps.push(
    "# fix the migration in a NEW migration file (never edit one that may have run), then:",
    `npx shipyard deploy --env ${environmentName}   # or: npx shipyard migrate --env ${environmentName}`,
  );
  return steps;
}

export function migrateReport(
  task: MigrationTaskResult,
  context: {
    environmentName: string;
    cluster: string;
    service: string;
    startedAt: number;
    finishedAt: number;
  },
): Report {
  const exitCode = task.ok
    ? ExitCode.Success
    : task.stillRunning
      ? ExitCode.NeedsAttention
      : ExitCode.RolledBack;
  const report: Report = {
    command: "migrate",
    outcome: task.ok ? "succeeded" : "failed",
    exitCode,
    environment: context.environmentName,
    cluster: context.cluster,
    service: context.service,
    image: task.image,
    release: null,
    taskDefinition: task.taskDefinition,
    previousTaskDefinition: task.serviceTaskDefinition,
    timings: {
      startedAt: new Date(context.startedAt).toISOString(),
      finishedAt: new Date(context.finishedAt).toISOString(),
      totalSeconds: Math.round((context.finishedAt - context.startedAt) / 100) / 10,
      phases: [
        { name: "migrate", startedAt: new Date(context.startedAt).toISOString(), seconds: task.seconds },
      ],
    },
    migration: taskSummary(task),
  };
  if (!task.ok) {
    report.reason = `${task.reason ?? "The migration task failed"}; the service was not changed.`;
    report.nextSteps = nextStepsFor(task, context.environmentName, context.cluster);
  }
  return report;
}

export async function runMigrate(input: MigrateInput, deps: CommandDeps): Promise<Report> {
  const { prepare } = await import("../deploy/commands.js");
  const prepared = prepare(input, deps);
  const settings = prepared.environment.migrations;
  if (!settings) {
    throw new InputError(
      `Environment "${input.environmentName}" has no migrations configured; nothing was run.`,
      [],
      `add "migrations": { "command": ["node", "dist/migrate.js"] } to environments.${input.environmentName} in shipyard.json`,
    );
  }
  const { runMigrationTask } = await import("./run-task.js");
  const env = prepared.environment;
  const startedAt = deps.clock.now();
  const task = await runMigrationTask({
    ecs: await prepared.ecs(),
    region: env.region,
    cluster: env.cluster,
    service: env.service,
    container: env.container,
    command: settings.command,
    ...(input.taskDefinition ? { taskDefinition: input.taskDefinition } : {}),
    timeoutSeconds: settings.timeoutSeconds,
    pollSeconds: env.deployment.pollSeconds,
    clock: deps.clock,
    progress: deps.progress,
    signal: deps.signal,
  });
  return migrateReport(task, {
    environmentName: input.environmentName,
    cluster: env.cluster,
    service: env.service,
    startedAt,
    finishedAt: deps.clock.now(),
  });
}
