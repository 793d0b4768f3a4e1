/**
 * The health smoke test after a rollout: the health URL must answer the expected status
 * `consecutiveSuccesses` times in a row (one lucky answer from a flapping service is not enough), and
 * when a release URL is configured each check must also report the release we deployed (a load
 * balancer still routing to old tasks is not "deployed"). Failures back off with jitter; the whole
 * test has a time budget on the injected clock.
 */
import type { Clock, Random } from "../clock.js";
import type { HealthCheckSettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { formatSeconds } from "../report/progress.js";
import type { Verdict } from "../report/verdict.js";
import type { FetchLike } from "./sentry-api.js";

export interface SmokeInput {
  settings: HealthCheckSettings;
  /** The release the service should report at `releaseUrl` (ignored without releaseUrl). */
  release: string | null;
  fetch?: FetchLike;
  clock: Clock;
  random: Random;
  progress: Progress;
  signal?: AbortSignal;
  /** Builds the per-request abort signal (connect + answer + body); tests inject one they control. */
  requestSignal?: (ms: number) => AbortSignal;
}

export interface SmokeAttempt {
  /** Seconds since the smoke test started. */
  atSeconds: number;
  ok: boolean;
  status: number | null;
  /** What went wrong with this check, if anything. */
  problem: string | null;
  reportedRelease?: string | null;
}

export interface SmokeResult {
  passed: boolean;
  /** One sentence: why it passed or failed. */
  summary: string;
  checks: number;
  failures: number;
  seconds: number;
  attempts: SmokeAttempt[];
}

/** Longest pause between checks after repeated failures. */
const MAX_BACKOFF_MS = 30_000;
/** Attempts kept in the report (the rest are counted). */
const KEEP_ATTEMPTS = 20;

function networkProblem(error: unknown, url: string, timeoutSeconds: number): string {
  const name = (error as Error).name;
  if (name === "TimeoutError" || name === "AbortError")
    return `no answer within ${timeoutSeconds}s at ${url}`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === "ECONNREFUSED") return `connection refused at ${url}`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `DNS lookup failed for ${url}`;
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return `connection reset at ${url}`;
  return `${cause?.message ?? (error as Error).message} at ${url}`;
}

/** Delay before the next check: the interval, doubled per failure in a row, with ±50% jitter. */
export function backoffDelay(intervalMs: number, failuresInARow: number, random: Random): number {
  if (failuresInARow === 0) return intervalMs;
  const base = Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** Math.min(failuresInARow - 1, 10));
  return Math.round(base * (0.5 + random()));
}

interface Answer {
  status: number | null;
  body: string;
  problem: string | null;
}

async function request(url: string, input: SmokeInput): Promise<Answer> {
  const timeoutSeconds = input.settings.requestTimeoutSeconds;
  const makeSignal = input.requestSignal ?? ((ms: number) => AbortSignal.timeout(ms));
  const signals = [makeSignal(timeoutSeconds * 1000)];
  if (input.signal) signals.push(input.signal);
  const doFetch = input.fetch ?? ((u: string, init?: RequestInit) => fetch(u, init));
  try {
    const response = await doFetch(url, { signal: AbortSignal.any(signals), redirect: "manual" });
    // Reading the body is part of the answer: a server that sends headers and then hangs times out.
    const body = await response.text();
    return { status: response.status, body, problem: null };
  } catch (error) {
    if (input.signal?.aborted) throw input.signal.reason;
    return { status: null, body: "", problem: networkProblem(error, url, timeoutSeconds) };
  }
}

function releaseProblem(
  body: string,
  expected: string,
  url: string,
): { problem: string | null; reported: string | null } {
  let reported: unknown;
  try {
    reported = (JSON.parse(body) as { release?: unknown } | null)?.release;
  } catch {
    return { problem: `${url} did not answer JSON with a "release" field`, reported: null };
  }
  if (typeof reported !== "string")
    return { problem: `${url} answered JSON without a "release" string`, reported: null };
  if (reported !== expected)
    return { problem: `${url} reports release ${reported}, expected ${expected}`, reported };
  return { problem: null, reported };
}

async function check(input: SmokeInput, atSeconds: number): Promise<SmokeAttempt> {
  const { url, expectStatus, releaseUrl } = input.settings;
  const health = await request(url, input);
  if (health.problem !== null) return { atSeconds, ok: false, status: null, problem: health.problem };
  if (health.status !== expectStatus) {
    return {
      atSeconds,
      ok: false,
      status: health.status,
      problem: `status ${health.status} (expected ${expectStatus}) at ${url}`,
    };
  }
  if (releaseUrl === undefined || input.release === null)
    return { atSeconds, ok: true, status: health.status, problem: null };
  const version = await request(releaseUrl, input);
  if (version.problem !== null)
    return { atSeconds, ok: false, status: health.status, problem: version.problem };
  if (version.status !== 200) {
    return {
      atSeconds,
      ok: false,
      status: health.status,
      problem: `status ${version.status} at ${releaseUrl}`,
    };
  }
  const { problem, reported } = releaseProblem(version.body, input.release, releaseUrl);
  return { atSeconds, ok: problem === null, status: health.status, problem, reportedRelease: reported };
}

function failureSummary(
  attempts: SmokeAttempt[],
  checks: number,
  failures: number,
  needed: number,
  best: number,
  budget: number,
): string {
  const distinct = [...new Set(attempts.filter((a) => !a.ok).map((a) => a.problem))].slice(-3);
  const lastStatus = [...attempts].reverse().find((a) => a.status !== null)?.status;
  const parts = [`${failures} of ${checks} checks failed: ${distinct.join("; ")}`];
  if (lastStatus !== undefined) parts.push(`last status ${lastStatus}`);
  parts.push(
    `needed ${needed} healthy answers in a row within ${formatSeconds(budget)}, best run was ${best}`,
  );
  return parts.join("; ");
}

export async function runSmokeTest(input: SmokeInput): Promise<SmokeResult> {
  const { settings, clock } = input;
  const started = clock.now();
  const budgetMs = settings.budgetSeconds * 1000;
  const deadline = started + budgetMs;
  const needed = settings.consecutiveSuccesses;
  const attempts: SmokeAttempt[] = [];
  let checks = 0;
  let failures = 0;
  let inARow = 0;
  let best = 0;
  let failuresInARow = 0;

  input.progress.step(`smoke test: waiting for ${needed} healthy answers in a row from ${settings.url}`);
  for (;;) {
    const attempt = await check(input, Math.round((clock.now() - started) / 1000));
    checks += 1;
    attempts.push(attempt);
    if (attempts.length > KEEP_ATTEMPTS) attempts.shift();
    if (attempt.ok) {
      inARow += 1;
      failuresInARow = 0;
      best = Math.max(best, inARow);
      if (inARow >= needed) {
        const seconds = Math.round((clock.now() - started) / 1000);
        return {
          passed: true,
          summary: `${settings.url} answered ${settings.expectStatus} ${needed} times in a row${settings.releaseUrl && input.release ? ` reporting release ${input.release}` : ""} (${checks} checks, ${failures} failed, ${formatSeconds(clock.now() - started)})`,
          checks,
          failures,
          seconds,
          attempts,
        };
      }
    } else {
      inARow = 0;
      failures += 1;
      failuresInARow += 1;
      input.progress.step(`smoke test: ${attempt.problem} (${formatSeconds(clock.now() - started)} elapsed)`);
    }
    const delay = backoffDelay(settings.intervalSeconds * 1000, failuresInARow, input.random);
    if (clock.now() + delay > deadline) {
      return {
        passed: false,
        summary: failureSummary(attempts, checks, failures, needed, best, budgetMs),
        checks,
        failures,
        seconds: Math.round((clock.now() - started) / 1000),
        attempts,
      };
    }
    await clock.sleep(delay, input.signal);
  }
}

/** The smoke test as a verdict (not configured: passes, saying so), its numbers in the section. */
export async function smokeVerdict(
  input: Omit<SmokeInput, "settings"> & { settings: HealthCheckSettings | undefined },
): Promise<Verdict> {
  const { settings } = input;
  if (settings === undefined) {
    return {
      status: "passed",
      notConfigured: true,
      summary: "no healthCheck configured",
      section: { smoke: { skipped: true } },
    };
  }
  const result = await runSmokeTest({ ...input, settings });
  const section = {
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
    ? { status: "passed", summary: result.summary, section }
    : { status: "failed", reason: result.summary, section };
}
