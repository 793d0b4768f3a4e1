/**
 * The deploy's verification steps (reportKey "verification"), run by the controller after the rollout
 * (src/deploy/steps.ts): the health smoke test, Sentry release bookkeeping, then the error-rate gate
 * over `verify.windowSeconds`. A failed smoke test or gate makes the controller restore the previous
 * revision; an inconclusive gate follows `verify.onInconclusive`. After a rollback, `afterRollback`
 * records it in Sentry. Light at import time: sentry-cli loads only when bookkeeping runs.
 */
import type { Clock } from "../clock.js";
import type { Environment } from "../config/schema.js";
import type { DeployStep, DeployStepContext, StepVerdict } from "../deploy/steps.js";
import type { Progress } from "../progress.js";
import type { HealthSample } from "./gate.js";
import { recordRelease, recordRollback, type SentryCliRunner } from "./releases.js";
import { type FetchLike, SentryClient, type SentryResult, sentryEnv } from "./sentry-api.js";
import { runSmokeTest } from "./smoke.js";
import { type HealthSource, watchReleaseHealth } from "./watch.js";

export interface VerificationOptions {
  /** HTTP for the smoke test and the Sentry API; default: global fetch. */
  fetch?: FetchLike;
  /** Per-request abort signal factory; default AbortSignal.timeout. */
  requestSignal?: (ms: number) => AbortSignal;
  /** sentry-cli runner; default: the real binary from @sentry/cli. */
  sentryCli?: SentryCliRunner;
}

/**
 * Sentry as a HealthSource: the sessions endpoint, filtered on project, release and environment. The
 * project's id is looked up on the first read (and again after a transient failure), so a Sentry
 * hiccup at the start of the window is retried like any other reading.
 */
export function sentryHealthSource(client: SentryClient, project: string, environment: string): HealthSource {
  return {
    async read(release, start, end, deadline): Promise<SentryResult<HealthSample>> {
      const projectId = await client.projectId(project);
      if (!projectId.ok) return projectId;
      const result = await client.releaseHealth({
        projectId: projectId.value,
        release,
        environment,
        start: new Date(start),
        end: new Date(end),
        interval: end - start > 6 * 3_600_000 ? "1h" : "1m",
        deadline,
      });
      return result.ok
        ? { ok: true, value: { total: result.value.total, errored: result.value.errored } }
        : result;
    },
  };
}

export function sentryEnvironmentName(environment: Environment, environmentName: string): string {
  return environment.sentry?.environment ?? environmentName;
}

interface GateInput {
  environment: Environment;
  environmentName: string;
  release: string;
  previousRelease: string | null;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  progress: Progress;
  signal?: AbortSignal;
  releaseSince: number;
  baselineUntil: number;
}

/** Runs the error-rate gate for a release; shared by the deploy step and `shipyard verify`. */
export async function runGate(input: GateInput, options: VerificationOptions): Promise<StepVerdict> {
  const sentry = input.environment.sentry;
  if (sentry === undefined) {
    return {
      status: "passed",
      summary: "error-rate gate not configured (no sentry in shipyard.json)",
      report: { gate: { decision: "not-configured" } },
    };
  }
  const { baseUrl, token } = sentryEnv(input.env);
  if (token === null) {
    const reason =
      "SENTRY_AUTH_TOKEN is not set, so the release's error rate cannot be read; set it to a token with org:read and project:read";
    return {
      status: "inconclusive",
      reason,
      report: { decision: "inconclusive", why: reason, gate: { decision: "inconclusive", why: reason } },
    };
  }
  const client = new SentryClient({
    baseUrl,
    token,
    org: sentry.org,
    clock: input.clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.requestSignal ? { requestSignal: options.requestSignal } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  const result = await watchReleaseHealth({
    source: sentryHealthSource(
      client,
      sentry.project,
      sentryEnvironmentName(input.environment, input.environmentName),
    ),
    release: input.release,
    previousRelease: input.previousRelease,
    settings: input.environment.verify,
    clock: input.clock,
    progress: input.progress,
    releaseSince: input.releaseSince,
    baselineUntil: input.baselineUntil,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  // Flat decision/why first (the Markdown summary shows them as rows), every number under `gate`.
  const report = {
    decision: result.decision,
    why: result.why,
    gate: { ...result.report, server: client.server, sentryCalls: client.calls.length },
  };
  if (result.decision === "pass") return { status: "passed", summary: result.why, report };
  if (result.decision === "fail") return { status: "failed", reason: result.why, report };
  return { status: "inconclusive", reason: result.why, report };
}

function smokeStep(options: VerificationOptions): DeployStep {
  return {
    name: "smoke test",
    reportKey: "verification",
    async run(ctx) {
      const settings = ctx.environment.healthCheck;
      if (settings === undefined) {
        return {
          status: "passed",
          summary: "no healthCheck configured",
          report: { smoke: { skipped: true } },
        };
      }
      const result = await runSmokeTest({
        settings,
        release: ctx.release,
        clock: ctx.clock,
        random: ctx.random,
        progress: ctx.progress,
        signal: ctx.signal,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.requestSignal ? { requestSignal: options.requestSignal } : {}),
      });
      const report = {
        smoke: {
          passed: result.passed,
          url: settings.url,
          summary: result.summary,
          checks: result.checks,
          failures: result.failures,
          seconds: result.seconds,
          attempts: result.attempts.slice(-5),
        },
      };
      return result.passed
        ? { status: "passed", summary: result.summary, report }
        : { status: "failed", reason: result.summary, report };
    },
  };
}

function bookkeepingInput(ctx: DeployStepContext, release: string, options: VerificationOptions) {
  const sentry = ctx.environment.sentry!;
  return {
    org: sentry.org,
    project: sentry.project,
    environment: sentryEnvironmentName(ctx.environment, ctx.environmentName),
    release,
    cwd: ctx.appRoot,
    env: ctx.env,
    progress: ctx.progress,
    signal: ctx.signal,
    ...(options.sentryCli ? { runner: options.sentryCli } : {}),
  };
}

function bookkeepingStep(options: VerificationOptions): DeployStep {
  return {
    name: "Sentry release",
    reportKey: "verification",
    async run(ctx) {
      const sentry = ctx.environment.sentry;
      if (sentry === undefined || !sentry.releases) {
        return {
          status: "passed",
          summary: "Sentry release bookkeeping off",
          report: { sentryRelease: { skipped: true } },
        };
      }
      const result = await recordRelease(bookkeepingInput(ctx, ctx.release, options));
      // Bookkeeping never fails a deploy: its warnings go to the report and the progress output.
      const summary = result.ok
        ? `release ${ctx.release} created, finalized and deployed to ${sentryEnvironmentName(ctx.environment, ctx.environmentName)} in Sentry`
        : `Sentry bookkeeping incomplete (${result.warnings.length} warning(s)); the deploy goes on`;
      return {
        status: "passed",
        summary,
        report: { sentryRelease: { ok: result.ok, steps: result.steps, warnings: result.warnings } },
      };
    },
    async afterRollback(ctx, reason) {
      const sentry = ctx.environment.sentry;
      if (sentry === undefined || !sentry.releases) return;
      if (ctx.previousRelease === null) {
        ctx.progress.warn(
          `the rollback of ${ctx.release} is not recorded in Sentry: the previous revision has no SENTRY_RELEASE (${reason})`,
        );
        return;
      }
      const result = await recordRollback({
        ...bookkeepingInput(ctx, ctx.previousRelease, options),
        rolledBackRelease: ctx.release,
      });
      if (result.ok) {
        ctx.progress.info(
          `Recorded in Sentry: ${sentryEnvironmentName(ctx.environment, ctx.environmentName)} is back on release ${ctx.previousRelease} (rollback of ${ctx.release}).`,
        );
      }
    },
  };
}

function gateStep(options: VerificationOptions): DeployStep {
  return {
    name: "error-rate gate",
    reportKey: "verification",
    async run(ctx) {
      const now = ctx.clock.now();
      return runGate(
        {
          environment: ctx.environment,
          environmentName: ctx.environmentName,
          release: ctx.release,
          previousRelease: ctx.previousRelease,
          env: ctx.env,
          clock: ctx.clock,
          progress: ctx.progress,
          signal: ctx.signal,
          // The new release may have served traffic since the rollout began (at most the rollout timeout ago).
          releaseSince: now - ctx.environment.deployment.timeoutSeconds * 1000,
          // The previous release served until now; its range ends here.
          baselineUntil: now,
        },
        options,
      );
    },
  };
}

/**
 * For `DeploySteps.beforeUpdate`: checks, before the service changes, that the gate will be able to
 * read Sentry (token set and accepted, project found). Otherwise every deploy would roll out, find the
 * gate inconclusive and roll back. Transient errors pass (the window retries); with
 * `onInconclusive: "accept"` problems only warn.
 */
export function createVerificationPreflight(options: VerificationOptions = {}): DeployStep {
  return {
    name: "Sentry preflight",
    reportKey: "verification",
    async run(ctx) {
      const sentry = ctx.environment.sentry;
      if (sentry === undefined) return { status: "passed", summary: "no sentry in shipyard.json" };
      const { baseUrl, token } = sentryEnv(ctx.env);
      let problem: string | null = null;
      if (token === null) {
        problem =
          "SENTRY_AUTH_TOKEN is not set, so the error-rate gate could not read the release's health; set it to a token with org:read and project:read (and project:releases for bookkeeping)";
      } else {
        const client = new SentryClient({
          baseUrl,
          token,
          org: sentry.org,
          clock: ctx.clock,
          signal: ctx.signal,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.requestSignal ? { requestSignal: options.requestSignal } : {}),
        });
        const project = await client.projectId(sentry.project);
        if (!project.ok && project.problem.permanent) problem = project.problem.message;
        if (!project.ok && !project.problem.permanent) {
          ctx.progress.warn(`${project.problem.message}; the error-rate gate will retry during its window`);
        }
      }
      if (problem === null)
        return { status: "passed", summary: `Sentry project ${sentry.org}/${sentry.project} is readable` };
      if (ctx.environment.verify.onInconclusive === "accept") {
        ctx.progress.warn(`${problem}; going on because verify.onInconclusive = "accept"`);
        return {
          status: "passed",
          summary: "Sentry not readable (accepted)",
          report: { preflight: { problem } },
        };
      }
      return {
        status: "failed",
        reason: `${problem}; nothing was changed`,
        report: { preflight: { problem } },
      };
    },
  };
}

/** The steps to put in `DeploySteps.afterRollout`, in order. */
export function createVerificationSteps(options: VerificationOptions = {}): DeployStep[] {
  return [smokeStep(options), bookkeepingStep(options), gateStep(options)];
}
