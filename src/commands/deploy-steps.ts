/**
 * The steps a real deploy runs, put together from the parts that offer them: before the service
 * changes, the registry preflight, the Sentry preflight and the migrations (lint, then the one-off task); after the rollout,
 * the smoke test, the Sentry release bookkeeping and the error-rate gate. Each step passes, saying
 * so, when its part is not configured for the environment.
 */
import type { DeploySteps, StepContext } from "../deploy/steps.js";
import { lintMigrations } from "../migrations/lint.js";
import { commitKnownToGit, lintVerdict, taskVerdict } from "../migrations/summary.js";
import { runMigrationTask } from "../migrations/task.js";
import type { Verdict } from "../report/verdict.js";
import {
  gateVerdict,
  sentryEnvironmentName,
  sentryPreflight,
  type VerificationOptions,
} from "../verify/health.js";
import { type BookkeepingInput, recordRelease, recordRollback } from "../verify/releases.js";
import { smokeVerdict } from "../verify/smoke.js";
import type { EnvironmentContext } from "./context.js";
import { registryStep } from "./registry-step.js";

export function deploySteps(ctx: EnvironmentContext): DeploySteps {
  const http = verificationOptions(ctx);
  return {
    // Read-only and cheap: an image the registry does not have, a token that cannot read the
    // release's health, or an unsafe migration stops the deploy before anything is written.
    beforeRegister: [
      registryStep(ctx),
      { name: "Sentry preflight", section: "verification", run: (step) => sentryPreflight(step, http) },
      { name: "migration lint", section: "migration", run: (step) => lint(ctx, step) },
    ],
    beforeUpdate: [{ name: "migrate", section: "migration", run: (step) => migrate(step) }],
    afterRollout: [
      {
        name: "smoke test",
        section: "verification",
        check: "smoke",
        run: (step) => smokeVerdict({ ...step, ...http, settings: step.environment.healthCheck }),
      },
      {
        name: "Sentry release",
        section: "verification",
        run: (step) => bookkeeping(step, http),
        afterRollback: (step, reason) => recordReturn(step, http, reason),
      },
      {
        name: "error-rate gate",
        section: "verification",
        check: "gate",
        run: (step) =>
          gateVerdict(
            {
              ...step,
              // The new release may have served traffic since the rollout began (at most its timeout ago).
              releaseSince: step.clock.now() - step.environment.deployment.timeoutSeconds * 1000,
              // The previous release served until now; its range ends here.
              baselineUntil: step.clock.now(),
            },
            http,
          ),
      },
    ],
  };
}

export function verificationOptions(ctx: EnvironmentContext): VerificationOptions {
  const { runtime } = ctx;
  return {
    ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
    ...(runtime.requestSignal ? { requestSignal: runtime.requestSignal } : {}),
    ...(runtime.sentryCli ? { sentryCli: runtime.sentryCli } : {}),
  };
}

/** Lints the migrations (only what came after the running release, when git knows it). */
async function lint(ctx: EnvironmentContext, step: StepContext): Promise<Verdict> {
  const settings = step.environment.migrations;
  if (!settings?.lint) return { status: "passed", summary: "no migrations to lint" };
  const baseRef = await commitKnownToGit(step.appRoot, step.previousRelease);
  const lintCommand = ctx.command("migrate-lint");
  step.progress.info(
    baseRef
      ? `Linting migrations added since the running release ${baseRef.slice(0, 12)}`
      : "Linting all migrations (the running release is not a commit in this checkout)",
  );
  const options = {
    directory: settings.directory,
    excludeRules: settings.excludeRules,
    ...(baseRef ? { baseRef } : {}),
    env: step.env,
    signal: step.signal,
    now: () => step.clock.now(),
    lintCommand,
    ...(ctx.runtime.squawkPath ? { squawkPath: ctx.runtime.squawkPath } : {}),
  };
  const result = ctx.runtime.lintMigrations
    ? await ctx.runtime.lintMigrations(options)
    : await lintMigrations({ ...options, appRoot: step.appRoot });
  return lintVerdict(result, lintCommand);
}

/** The migration task, from the NEW revision: only exit code 0 lets the deploy go on. */
async function migrate(step: StepContext): Promise<Verdict> {
  const settings = step.environment.migrations;
  if (!settings) return { status: "passed", summary: "no migrations configured" };
  const task = await runMigrationTask({
    ecs: step.ecs,
    region: step.environment.region,
    cluster: step.environment.cluster,
    service: step.environment.service,
    container: step.environment.container,
    command: settings.command,
    taskDefinition: step.taskDefinitionArn,
    timeoutSeconds: settings.timeoutSeconds,
    pollSeconds: step.environment.deployment.pollSeconds,
    clock: step.clock,
    progress: step.progress,
    signal: step.signal,
  });
  return taskVerdict(task);
}

function bookkeepingInput(step: StepContext, release: string, http: VerificationOptions): BookkeepingInput {
  const sentry = step.environment.sentry!;
  return {
    org: sentry.org,
    project: sentry.project,
    environment: sentryEnvironmentName(step.environment, step.environmentName),
    release,
    cwd: step.appRoot,
    env: step.env,
    progress: step.progress,
    signal: step.signal,
    ...(http.sentryCli ? { runner: http.sentryCli } : {}),
  };
}

/** Release bookkeeping never fails a deploy: its warnings go to the report and the progress output. */
async function bookkeeping(step: StepContext, http: VerificationOptions): Promise<Verdict> {
  const sentry = step.environment.sentry;
  if (sentry === undefined || !sentry.releases) {
    return {
      status: "passed",
      summary: "Sentry release bookkeeping off",
      section: { sentryRelease: { skipped: true } },
    };
  }
  const result = await recordRelease(bookkeepingInput(step, step.release, http));
  const where = sentryEnvironmentName(step.environment, step.environmentName);
  return {
    status: "passed",
    summary: result.ok
      ? `release ${step.release} created, finalized and deployed to ${where} in Sentry`
      : `Sentry bookkeeping incomplete (${result.warnings.length} warning(s)); the deploy goes on`,
    section: { sentryRelease: { ok: result.ok, steps: result.steps, warnings: result.warnings } },
  };
}

/** After a rollback, Sentry learns the environment runs the previous release again. */
async function recordReturn(step: StepContext, http: VerificationOptions, reason: string): Promise<void> {
  const sentry = step.environment.sentry;
  if (sentry === undefined || !sentry.releases) return;
  if (step.previousRelease === null) {
    step.progress.warn(
      `the rollback of ${step.release} is not recorded in Sentry: the previous revision has no SENTRY_RELEASE (${reason})`,
    );
    return;
  }
  const result = await recordRollback({
    ...bookkeepingInput(step, step.previousRelease, http),
    rolledBackRelease: step.release,
  });
  if (result.ok) {
    step.progress.info(
      `Recorded in Sentry: ${sentryEnvironmentName(step.environment, step.environmentName)} is back on release ${step.previousRelease} (rollback of ${step.release}).`,
    );
  }
}
