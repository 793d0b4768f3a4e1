/**
 * The verification window: read the new release's health every `intervalSeconds` on the injected
 * clock, fold each reading into the gate (src/verify/gate.ts), and stop at the first decision (a
 * failure, or an early pass once health is conclusive) or when the window's time budget is spent.
 * The source of readings is an interface, so the deploy reads Sentry while the bench and table tests
 * feed simulated traffic through the very same loop.
 */
import type { Clock } from "../clock.js";
import type { VerifySettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { formatSeconds } from "../report/progress.js";
import {
  addReading,
  addUnavailable,
  closeWindow,
  type GateDecision,
  type GateEnd,
  type GateState,
  type HealthSample,
  initialGateState,
  judgeReading,
  type Reading,
} from "./gate.js";
import type { SentryResult } from "./sentry-api.js";

export interface HealthSource {
  /** Sessions of `release` between `start` and `end` (ms since epoch). */
  read(release: string, start: number, end: number, deadline: number): Promise<SentryResult<HealthSample>>;
}

export interface WatchInput {
  source: HealthSource;
  release: string;
  /** The baseline; null when there is none (first release) — the fixed limit applies. */
  previousRelease: string | null;
  settings: VerifySettings;
  clock: Clock;
  progress: Progress;
  signal?: AbortSignal;
  /** Start of the new release's range (it may have taken traffic during the rollout). */
  releaseSince: number;
  /** End of the baseline's range (when the deploy started); its start is baselineSeconds before. */
  baselineUntil: number;
}

export interface WatchResult {
  decision: GateDecision;
  why: string;
  state: GateState;
  baseline: HealthSample | null;
  /** Seconds from the start of the window to the decision. */
  seconds: number;
  /** When and why the window ended, for the report and the step summary. */
  ended: GateEnding;
  /** Report section: every number behind the decision. */
  report: Record<string, unknown>;
}

/** One judged reading, for the report's chart of the error rate over the window. */
export interface HistoryPoint {
  /** Seconds from the start of the window to the reading. */
  atSeconds: number;
  requests: number;
  errored: number;
  errorRate: number;
  /** The rate the new release's lower bound had to stay at or below. */
  allowedErrorRate: number;
  status: Reading["status"];
}

function historyPoint(reading: Reading, atSeconds: number): HistoryPoint {
  return {
    atSeconds,
    requests: reading.sample.total,
    errored: reading.sample.errored,
    errorRate: round(reading.errorRate),
    allowedErrorRate: round(reading.allowedErrorRate),
    status: reading.status,
  };
}

export interface GateEnding {
  how: GateEnd;
  afterSeconds: number;
  /** One line: "passed early after 60 s of the 300 s window: …", "failed after 10 s: …", … */
  summary: string;
  /** Early pass: the failure rate's anytime upper bound, and the rate it had to be below. */
  upperBound?: number;
  allowedErrorRate?: number;
}

const percent = (rate: number) => `${Math.round(rate * 10_000) / 100}%`;

/** The report's account of how the window ended. */
export function gateEnding(state: GateState, seconds: number, settings: VerifySettings): GateEnding {
  const how = state.end ?? "window-end";
  const reading = state.lastReading;
  const requests = reading ? `${reading.sample.total} requests` : "no reading";
  switch (how) {
    case "early-pass": {
      const upper = state.upperBound ?? 1;
      const allowed = reading?.allowedErrorRate ?? 0;
      return {
        how,
        afterSeconds: seconds,
        summary: `passed early after ${seconds} s of the ${settings.windowSeconds} s window: failure rate at most ${percent(upper)} (anytime ${Math.round(settings.confidence * 1000) / 10}% bound, ${requests}), below the allowed ${percent(allowed)}`,
        upperBound: round(upper),
        allowedErrorRate: round(allowed),
      };
    }
    case "catastrophic":
      return {
        how,
        afterSeconds: seconds,
        summary: `failed after ${seconds} s: catastrophic failure rate (${requests})`,
      };
    case "consecutive-breaches":
      return {
        how,
        afterSeconds: seconds,
        summary: `failed after ${seconds} s: ${settings.consecutiveBreaches} breaching readings in a row (${requests})`,
      };
    case "source-problem":
      return {
        how,
        afterSeconds: seconds,
        summary: `ended after ${seconds} s: release health could not be read`,
      };
    default: {
      const decision = state.decision ?? "inconclusive";
      // `shipyard verify` without --watch judges one reading: a window of 0 s.
      if (settings.windowSeconds === 0)
        return { how, afterSeconds: seconds, summary: `${decision} on one reading, taken now (${requests})` };
      return {
        how,
        afterSeconds: seconds,
        summary: `${decision} at the window's end after ${seconds} s (${requests}; no early pass: ${earlyPassMissing(state, settings)})`,
      };
    }
  }
}

/** Why a window that ran to its end did not pass early: the one condition that was missing. */
function earlyPassMissing(state: GateState, settings: VerifySettings): string {
  const reading = state.lastReading;
  if (reading === null) return "no reading";
  if (reading.status !== "healthy") return `the last reading was ${reading.status}`;
  if (settings.minWatchSeconds >= settings.windowSeconds)
    return "minWatchSeconds is not shorter than the window";
  return "the evidence of health was not yet conclusive";
}

const round = (n: number, digits = 5) => Math.round(n * 10 ** digits) / 10 ** digits;

export function readingReport(reading: Reading | null): Record<string, unknown> {
  if (reading === null) return { sample: null };
  return {
    sample: reading.sample,
    errorRate: round(reading.errorRate),
    errorRateLowerBound: round(reading.bound.lower),
    baselineSample: reading.baseline,
    baselineErrorRate: reading.baselineRate === null ? null : round(reading.baselineRate),
    baselineUpperBound: reading.baselineBound ? round(reading.baselineBound.upper) : null,
    baselineUsable: reading.baselineUsable,
    allowedErrorRate: round(reading.allowedErrorRate),
    lastReading: reading.status,
  };
}

/** Reads the baseline once (retrying on later readings if the source is down). */
async function readBaseline(
  input: WatchInput,
  deadline: number,
): Promise<{ sample: HealthSample | null; problem: string | null; permanent: boolean }> {
  if (input.previousRelease === null || input.previousRelease === input.release) {
    return { sample: null, problem: null, permanent: false };
  }
  const start = input.baselineUntil - input.settings.baselineSeconds * 1000;
  const result = await input.source.read(input.previousRelease, start, input.baselineUntil, deadline);
  if (result.ok) return { sample: result.value, problem: null, permanent: false };
  return {
    sample: null,
    problem: `baseline (${input.previousRelease}): ${result.problem.message}`,
    permanent: result.problem.permanent,
  };
}

export async function watchReleaseHealth(input: WatchInput): Promise<WatchResult> {
  const { clock, settings, progress } = input;
  const started = clock.now();
  const windowEnd = started + settings.windowSeconds * 1000;
  const intervalMs = settings.intervalSeconds * 1000;
  let state: GateState = initialGateState;
  let baseline: HealthSample | null = null;
  let baselineRead = false;
  const history: HistoryPoint[] = [];

  const earlyFrom =
    settings.minWatchSeconds < settings.windowSeconds
      ? `, passing early once healthy beyond doubt after ${formatSeconds(settings.minWatchSeconds * 1000)}`
      : "";
  progress.step(
    `error-rate gate: watching release ${input.release} for ${formatSeconds(settings.windowSeconds * 1000)}${earlyFrom}` +
      (input.previousRelease ? ` against ${input.previousRelease}` : " (no previous release: fixed limit)"),
  );
  for (;;) {
    if (!baselineRead) {
      const base = await readBaseline(input, windowEnd);
      if (base.problem === null) {
        baseline = base.sample;
        baselineRead = true;
      } else {
        state = addUnavailable(state, base.problem, base.permanent);
        progress.step(`error-rate gate (${formatSeconds(clock.now() - started)}): ${base.problem}`);
      }
    }
    if (state.decision === null && baselineRead) {
      const result = await input.source.read(input.release, input.releaseSince, clock.now(), windowEnd);
      if (result.ok) {
        const reading = judgeReading(result.value, baseline, settings);
        state = addReading(state, reading, settings, (clock.now() - started) / 1000);
        history.push(historyPoint(reading, Math.round((clock.now() - started) / 1000)));
        progress.step(
          `error-rate gate (${formatSeconds(clock.now() - started)}): ${reading.status}: ${reading.why}`,
        );
      } else {
        state = addUnavailable(state, result.problem.message, result.problem.permanent);
        progress.step(`error-rate gate (${formatSeconds(clock.now() - started)}): ${result.problem.message}`);
      }
    }
    if (state.decision !== null) break;
    const now = clock.now();
    if (now >= windowEnd) {
      state = closeWindow(state, settings);
      break;
    }
    await clock.sleep(Math.min(intervalMs, windowEnd - now), input.signal);
  }

  const seconds = Math.round((clock.now() - started) / 1000);
  const decision = state.decision ?? "inconclusive";
  const why = state.why ?? "no decision";
  const ended = gateEnding(state, seconds, settings);
  return {
    decision,
    why,
    state,
    baseline,
    seconds,
    ended,
    report: {
      decision,
      why,
      ended,
      release: input.release,
      previousRelease: input.previousRelease,
      ...readingReport(state.lastReading),
      readings: state.readings,
      history,
      unavailableReads: state.unavailable,
      ...(state.lastProblem ? { lastReadProblem: state.lastProblem } : {}),
      consecutiveBreaches: state.consecutiveBreaches,
      windowSeconds: settings.windowSeconds,
      minWatchSeconds: settings.minWatchSeconds,
      decidedAfterSeconds: seconds,
      thresholds: {
        minRequests: settings.minRequests,
        catastrophicMinRequests: settings.catastrophicMinRequests,
        tolerance: settings.tolerance,
        minErrorRateDelta: settings.minErrorRateDelta,
        noBaselineErrorRate: settings.noBaselineErrorRate,
        consecutiveBreaches: settings.consecutiveBreaches,
        catastrophicErrorRate: settings.catastrophicErrorRate,
        confidence: settings.confidence,
      },
    },
  };
}
