/**
 * The error-rate decision, as pure functions over request counts. No I/O and no clock here, so the
 * table tests and the bench feed the exact same code the deploy runs.
 *
 * How a reading is judged (see README "How the gate decides"):
 *  - The new release's error rate is bounded from BELOW and the baseline's (the previous release's)
 *    from ABOVE with Wilson score intervals at `confidence`: a handful of unlucky requests cannot look
 *    like a regression, and a thin baseline cannot look spotless.
 *  - Allowed = baselineUpper + max(baselineUpper × tolerance, minErrorRateDelta): a relative tolerance,
 *    plus an absolute noise floor so a 0.01% → 0.05% change on a quiet service is not a rollback.
 *  - No usable baseline (first release, or too little traffic) → allowed = noBaselineErrorRate.
 *  - Catastrophic: once `catastrophicMinRequests` are in and the lower bound is ≥ catastrophicErrorRate
 *    (and above allowed), fail at once. Otherwise a regression needs `minRequests` and
 *    `consecutiveBreaches` breaching readings in a row.
 *  - The window is a time budget: at its end, a release with too little data, or one that is breaching
 *    but not yet often enough, is "inconclusive" — never a silent pass.
 */
import type { VerifySettings } from "../config/schema.js";

export interface HealthSample {
  /** Requests (sessions) the release served in the range. */
  total: number;
  /** Of those, the ones that ended errored, crashed or abnormal. */
  errored: number;
}

export type GateSettings = Pick<
  VerifySettings,
  | "minRequests"
  | "catastrophicMinRequests"
  | "tolerance"
  | "minErrorRateDelta"
  | "noBaselineErrorRate"
  | "consecutiveBreaches"
  | "catastrophicErrorRate"
  | "confidence"
>;

export interface Interval {
  lower: number;
  upper: number;
}

/** Two-sided standard normal quantile for a confidence level (Acklam's approximation, |err| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const rational = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + 4.374664141464968) * q + 2.938163982698783) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return rational(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -rational(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + 2.506628274631) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * Wilson score interval of errored/total. Unlike the naive p ± z·√(p(1−p)/n) it stays inside [0, 1]
 * and does not collapse to zero width at 0 or n errors, which is exactly where small samples mislead.
 */
export function wilsonInterval(errored: number, total: number, confidence: number): Interval {
  if (total <= 0) return { lower: 0, upper: 1 };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = Math.min(1, Math.max(0, errored / total));
  const z2 = z * z;
  const denominator = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denominator;
  const margin = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denominator;
  // At 0 or n errors the exact bound is 0 or 1; floating point would leave 1e-17 crumbs.
  return {
    lower: errored <= 0 ? 0 : Math.max(0, centre - margin),
    upper: errored >= total ? 1 : Math.min(1, centre + margin),
  };
}

export type ReadingStatus = "insufficient" | "healthy" | "breach" | "catastrophic";

/** One judged reading: every number the report and the why-sentence need. */
export interface Reading {
  status: ReadingStatus;
  sample: HealthSample;
  baseline: HealthSample | null;
  /** errored / total of the new release (0 when no traffic). */
  errorRate: number;
  bound: Interval;
  baselineRate: number | null;
  baselineBound: Interval | null;
  /** Whether the baseline had enough traffic to be compared against. */
  baselineUsable: boolean;
  /** The highest error rate the new release's lower bound may reach. */
  allowedErrorRate: number;
  why: string;
}

const pct = (rate: number) => {
  const value = rate * 100;
  return `${value >= 10 || value === 0 ? value.toFixed(1) : value.toPrecision(2)}%`;
};

/** The rate the new release's lower bound must stay at or below. */
export function allowedErrorRate(
  baseline: HealthSample | null,
  settings: GateSettings,
): { allowed: number; baselineBound: Interval | null; usable: boolean } {
  if (baseline === null || baseline.total < settings.minRequests) {
    return {
      allowed: settings.noBaselineErrorRate,
      baselineBound:
        baseline && baseline.total > 0
          ? wilsonInterval(baseline.errored, baseline.total, settings.confidence)
          : null,
      usable: false,
    };
  }
  const bound = wilsonInterval(baseline.errored, baseline.total, settings.confidence);
  const headroom = Math.max(bound.upper * settings.tolerance, settings.minErrorRateDelta);
  return { allowed: Math.min(1, bound.upper + headroom), baselineBound: bound, usable: true };
}

/** Judges one cumulative reading of the new release against the baseline. */
export function judgeReading(
  sample: HealthSample,
  baseline: HealthSample | null,
  settings: GateSettings,
): Reading {
  const { allowed, baselineBound, usable } = allowedErrorRate(baseline, settings);
  const errorRate = sample.total > 0 ? sample.errored / sample.total : 0;
  const bound = wilsonInterval(sample.errored, sample.total, settings.confidence);
  const baselineRate = baseline && baseline.total > 0 ? baseline.errored / baseline.total : null;
  const conf = `${Math.round(settings.confidence * 1000) / 10}%`;
  const newPart = `${sample.errored} of ${sample.total} requests failed (${pct(errorRate)}, ${conf} lower bound ${pct(bound.lower)})`;
  const basePart = usable
    ? `the previous release failed ${baseline!.errored} of ${baseline!.total} (${pct(baselineRate ?? 0)}, upper bound ${pct(baselineBound!.upper)}), so up to ${pct(allowed)} is allowed`
    : baseline && baseline.total > 0
      ? `the previous release served only ${baseline.total} requests (fewer than ${settings.minRequests}), so the fixed limit ${pct(allowed)} applies`
      : `there is no data for a previous release, so the fixed limit ${pct(allowed)} applies`;
  const result = (status: ReadingStatus, why: string): Reading => ({
    status,
    sample,
    baseline,
    errorRate,
    bound,
    baselineRate,
    baselineBound,
    baselineUsable: usable,
    allowedErrorRate: allowed,
    why,
  });

  if (sample.total < settings.catastrophicMinRequests) {
    return result(
      "insufficient",
      `only ${sample.total} requests so far (${sample.errored} failed); at least ${settings.catastrophicMinRequests} are needed to judge`,
    );
  }
  if (bound.lower >= settings.catastrophicErrorRate && bound.lower > allowed) {
    return result(
      "catastrophic",
      `${newPart}: at or above the catastrophic rate ${pct(settings.catastrophicErrorRate)}, and ${basePart}`,
    );
  }
  if (sample.total < settings.minRequests) {
    return result(
      "insufficient",
      `only ${sample.total} requests so far (${sample.errored} failed); ${settings.minRequests} are needed to compare with the previous release`,
    );
  }
  if (bound.lower > allowed) return result("breach", `${newPart}, above what is allowed: ${basePart}`);
  return result("healthy", `${newPart}, within what is allowed: ${basePart}`);
}

export type GateDecision = "pass" | "fail" | "inconclusive";

/** What a window of readings adds up to so far. `decision` is null while the window is still open. */
export interface GateState {
  readings: number;
  consecutiveBreaches: number;
  /** Failed reads of the metric source (API errors), counted for the report. */
  unavailable: number;
  lastReading: Reading | null;
  lastProblem: string | null;
  decision: GateDecision | null;
  why: string | null;
}

export const initialGateState: GateState = {
  readings: 0,
  consecutiveBreaches: 0,
  unavailable: 0,
  lastReading: null,
  lastProblem: null,
  decision: null,
  why: null,
};

/** Folds one successful reading into the state; fails early on catastrophe or enough breaches. */
export function addReading(state: GateState, reading: Reading, settings: GateSettings): GateState {
  const consecutive = reading.status === "breach" ? state.consecutiveBreaches + 1 : 0;
  const next: GateState = {
    ...state,
    readings: state.readings + 1,
    consecutiveBreaches: reading.status === "insufficient" ? state.consecutiveBreaches : consecutive,
    lastReading: reading,
  };
  if (reading.status === "catastrophic") return { ...next, decision: "fail", why: reading.why };
  if (reading.status === "breach" && next.consecutiveBreaches >= settings.consecutiveBreaches) {
    return {
      ...next,
      decision: "fail",
      why: `${reading.why} (${next.consecutiveBreaches} breaching readings in a row)`,
    };
  }
  return next;
}

/**
 * Folds a failed read of the metric source. A permanent problem (bad token, missing scopes, unknown
 * project) ends the window at once as inconclusive: waiting will not fix it.
 */
export function addUnavailable(state: GateState, problem: string, permanent: boolean): GateState {
  const next = { ...state, unavailable: state.unavailable + 1, lastProblem: problem };
  if (!permanent) return next;
  return { ...next, decision: "inconclusive", why: `release health could not be read: ${problem}` };
}

/** Closes the window (its time budget is spent): pass only on a conclusive healthy reading. */
export function closeWindow(state: GateState, settings: GateSettings): GateState {
  if (state.decision !== null) return state;
  const last = state.lastReading;
  if (last === null) {
    const problem = state.lastProblem ?? "no reading was taken";
    return { ...state, decision: "inconclusive", why: `release health could not be read: ${problem}` };
  }
  switch (last.status) {
    case "healthy":
      return { ...state, decision: "pass", why: last.why };
    case "breach":
      return {
        ...state,
        decision: "inconclusive",
        why: `${last.why}; the window ended after ${state.consecutiveBreaches} of ${settings.consecutiveBreaches} breaching readings needed to fail`,
      };
    default: {
      const source = state.lastProblem ? ` (last read error: ${state.lastProblem})` : "";
      return {
        ...state,
        decision: "inconclusive",
        why: `too little traffic to judge the release: ${last.why}${source}`,
      };
    }
  }
}
