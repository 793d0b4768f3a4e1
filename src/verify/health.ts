/**
 * Release health from Sentry: the error-rate gate (a window of readings of the sessions endpoint,
 * judged by src/verify/gate.ts) and the preflight that makes sure the gate will be able to read
 * Sentry before anything changes. Both answer with a Verdict; the deploy and `verify` act on it.
 */
import type { Clock } from "../clock.js";
import type { Environment } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import type { Verdict } from "../report/verdict.js";
import type { HealthSample } from "./gate.js";
import type { SentryCliRunner } from "./releases.js";
import { type FetchLike, SentryClient, type SentryResult, sentryEnv } from "./sentry-api.js";
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

export interface GateInput {
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

/** The error-rate gate for a release; the deploy and `shipyard verify` both call it. */
export async function gateVerdict(input: GateInput, options: VerificationOptions): Promise<Verdict> {
  const sentry = input.environment.sentry;
  if (sentry === undefined) {
    return {
      status: "passed",
      notConfigured: true,
      summary: "error-rate gate not configured (no sentry in shipyard.json)",
      section: { gate: { decision: "not-configured" } },
    };
  }
  const { baseUrl, token } = sentryEnv(input.env);
  if (token === null) {
    const reason =
      "SENTRY_AUTH_TOKEN is not set, so the release's error rate cannot be read; set it to a token with org:read and project:read";
    return {
      status: "inconclusive",
      reason,
      section: { decision: "inconclusive", why: reason, gate: { decision: "inconclusive", why: reason } },
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
  const section = {
    decision: result.decision,
    why: result.why,
    gate: { ...result.report, server: client.server, sentryCalls: client.calls.length },
  };
  if (result.decision === "pass") return { status: "passed", summary: result.why, section };
  if (result.decision === "fail") return { status: "failed", reason: result.why, section };
  return { status: "inconclusive", reason: result.why, section };
}

export interface PreflightInput {
  environment: Environment;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  progress: Progress;
  signal: AbortSignal;
}

/**
 * Before the service changes: can the gate read Sentry (token set and accepted, project found)?
 * Otherwise every deploy would roll out, find the gate inconclusive and roll back. Transient errors
 * pass (the window retries); with `onInconclusive: "accept"` problems only warn.
 */
export async function sentryPreflight(ctx: PreflightInput, options: VerificationOptions): Promise<Verdict> {
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
      section: { preflight: { problem } },
    };
  }
  return {
    status: "failed",
    reason: `${problem}; nothing was changed`,
    section: { preflight: { problem } },
  };
}
