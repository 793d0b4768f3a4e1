/**
 * `migrate`: run the environment's migrations.command now, as a one-off ECS task with the service's
 * network settings, from a given revision (default: the one the service runs), without changing the
 * service — e.g. after fixing the database by hand. `deploy` does the same by itself, with the new
 * revision, before UpdateService.
 */

import { ExitCode, InputError } from "../errors.js";
import { taskSummary } from "../migrations/summary.js";
import { type MigrationTaskResult, runMigrationTask } from "../migrations/task.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { diagnoseRelease } from "./diagnose.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  ...environmentOptions,
  taskDefinition: {
    type: "string",
    value: "REVISION",
    help: "revision whose image runs the migrations: a number (same family), family:revision or an ARN; default: the revision the service runs now",
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "migrate",
  description:
    "Runs the environment's migrations.command as a one-off ECS task with the service's network settings and launch type, waits until it stops, and succeeds only if the app container exited with code 0. The service itself is never changed.",
  config: "environment",
  options,
  examples: ["shipyard migrate --env staging --task-definition 2"],
  exitCodes:
    "0 migrated · 1 the migration failed, never started, was refused or timed out (the service was not changed) · 2 bad input, nothing ran · 3 the task may still be running (the command to stop it is printed)",
  run: migrate,
});

async function migrate(ctx: EnvironmentContext, options: Options): Promise<Report> {
  const { report, environment, runtime } = ctx;
  const settings = environment.migrations;
  if (!settings) {
    throw new InputError(
      `Environment "${ctx.environmentName}" has no migrations configured; nothing was run.`,
      [],
      `add "migrations": { "command": ["node", "dist/migrate.js"] } to environments.${ctx.environmentName} in shipyard.json`,
    );
  }
  const ecs = await ctx.ecs();
  // The first read goes through the explanation every command shares: an endpoint that cannot be
  // reached is named, a refusal is exit 2 with nothing run.
  await ecs.describeService(ctx.service);
  const task = await report.phase("migrate", () =>
    runMigrationTask({
      ecs,
      region: environment.region,
      cluster: environment.cluster,
      service: environment.service,
      container: environment.container,
      command: settings.command,
      ...(options.taskDefinition ? { taskDefinition: options.taskDefinition } : {}),
      timeoutSeconds: settings.timeoutSeconds,
      pollSeconds: environment.deployment.pollSeconds,
      clock: runtime.clock,
      progress: ctx.output,
      signal: runtime.signal,
    }),
  );
  report
    .set({
      image: task.image,
      taskDefinition: task.taskDefinition,
      previousTaskDefinition: task.serviceTaskDefinition,
    })
    .section("migration", taskSummary(task));
  if (task.ok) return report.succeeded();
  if (task.taskArn && task.status !== "cancelled") {
    await diagnoseRelease(ctx, ecs, {
      failed: "migration",
      revision: task.taskDefinition,
      taskArn: task.taskArn,
    });
  }
  return report.finish("failed", task.stillRunning ? ExitCode.NeedsAttention : ExitCode.RolledBack, {
    reason: `${task.reason ?? "The migration task failed"}; the service was not changed.`,
    nextSteps: nextStepsFor(ctx, task),
  });
}

function nextStepsFor(ctx: EnvironmentContext, task: MigrationTaskResult): string[] {
  const { cluster } = ctx.environment;
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
    `${ctx.command("deploy", { image: "<image>" })}   # or: ${ctx.command("migrate")}`,
  );
  return steps;
}
