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
 *  - Early pass: after `minWatchSeconds`, a healthy reading with `minRequests` passes before the window
 *    ends once a sequential test shows the new release's failure rate is below the allowed rate. The
 *    test (see `healthyEvidence`) stays valid however often the counts are looked at, which the Wilson
 *    bounds do not: checking a fixed-sample bound every few seconds would pass releases by luck.
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
  | "minWatchSeconds"
  | "windowSeconds"
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

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function logGamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const shifted = x - 1;
  let series = coefficients[0]!;
  for (let i = 1; i < coefficients.length; i += 1) series += coefficients[i]! / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(series);
}

/** ln P(X = k) for X ~ Binomial(n, p), 0 < p < 1. */
function logBinomialPmf(k: number, n: number, p: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/** ln P(X ≤ k) for X ~ Binomial(n, p): the terms by their ratio, summed in log space. */
function logBinomialCdf(k: number, n: number, p: number): number {
  let term = logBinomialPmf(0, n, p);
  let largest = term;
  const terms = [term];
  const odds = Math.log(p) - Math.log1p(-p);
  for (let i = 1; i <= k; i += 1) {
    term += Math.log((n - i + 1) / i) + odds;
    terms.push(term);
    if (term > largest) largest = term;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - largest);
  return Math.min(0, largest + Math.log(sum));
}

/**
 * Evidence (natural log of a test martingale) that the release's true failure rate is BELOW `rate`.
 *
 * For every p' < rate, the likelihood ratio (p'/rate)^errored · ((1−p')/(1−rate))^(total−errored) has
 * expectation at most 1 at every step when the true rate is `rate` or more; so does its average over
 * p' uniform on [0, rate]. By Ville's inequality such a process ever reaches 1/α with probability at
 * most α — over ALL looks, whenever they are taken and however the looking stops. Passing when the
 * evidence reaches ln(1/α) is therefore a test of "failure rate ≥ rate" at level α that may be run on
 * every reading, provided `rate` is fixed before the first look (the gate reads the baseline, and so
 * the allowed rate, once, before the new release's first reading). The average has a closed form:
 *   M = P(Binomial(total+1, rate) ≥ errored+1) / ((errored+1) · P(Binomial(total+1, rate) = errored+1)).
 */
export function healthyEvidence(sample: HealthSample, rate: number): number {
  if (rate <= 0 || sample.total <= 0) return Number.NEGATIVE_INFINITY;
  if (rate >= 1) return sample.errored < sample.total ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  const errored = Math.min(sample.total, Math.max(0, sample.errored));
  const trials = sample.total + 1;
  const below = logBinomialCdf(errored, trials, rate);
  // ln(1 − e^below); a tail of 0 means no evidence at all.
  const tail = below >= 0 ? Number.NEGATIVE_INFINITY : Math.log(-Math.expm1(below));
  return tail - Math.log(errored + 1) - logBinomialPmf(errored + 1, trials, rate);
}

/** The evidence a healthy release needs to pass early: ln(1/α), α = 1 − confidence. */
export function evidenceNeeded(confidence: number): number {
  return -Math.log(1 - confidence);
}

/**
 * The anytime-valid upper bound of the failure rate: the lowest rate the release is shown to be below
 * (evidence ≥ ln(1/α)). The evidence grows with the rate tested, so bisection finds it.
 */
export function anytimeUpperBound(sample: HealthSample, confidence: number): number {
  if (sample.total <= 0) return 1;
  const needed = evidenceNeeded(confidence);
  let low = Math.min(1, Math.max(0, sample.errored / sample.total));
  let high = 1;
  for (let i = 0; i < 60 && high - low > 1e-7; i += 1) {
    const middle = (low + high) / 2;
    if (healthyEvidence(sample, middle) >= needed) high = middle;
    else low = middle;
  }
  return high;
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

/** How the window ended, for the report: early on evidence, or when its time budget was spent. */
export type GateEnd =
  | "early-pass"
  | "catastrophic"
  | "consecutive-breaches"
  | "source-problem"
  | "window-end";

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
  end: GateEnd | null;
  /** The anytime-valid upper bound of the failure rate when the release passed early. */
  upperBound: number | null;
}

export const initialGateState: GateState = {
  readings: 0,
  consecutiveBreaches: 0,
  unavailable: 0,
  lastReading: null,
  lastProblem: null,
  decision: null,
  why: null,
  end: null,
  upperBound: null,
};

/**
 * Whether a reading taken `elapsedSeconds` into the window ends it with an early pass: a healthy
 * reading (so at least `minRequests`), the minimum watch time over but the window not (its last
 * reading is judged by `closeWindow`), and conclusive sequential evidence that the failure rate is
 * below the allowed rate.
 */
export function passesEarly(reading: Reading, elapsedSeconds: number, settings: GateSettings): boolean {
  if (reading.status !== "healthy" || elapsedSeconds < settings.minWatchSeconds) return false;
  if (elapsedSeconds >= settings.windowSeconds) return false;
  if (reading.sample.total < settings.minRequests) return false;
  return healthyEvidence(reading.sample, reading.allowedErrorRate) >= evidenceNeeded(settings.confidence);
}

function earlyPass(state: GateState, reading: Reading, elapsedSeconds: number, settings: GateSettings) {
  const upper = anytimeUpperBound(reading.sample, settings.confidence);
  const conf = `${Math.round(settings.confidence * 1000) / 10}%`;
  const why =
    `${reading.why}; passed early after ${Math.round(elapsedSeconds)} s: the failure rate's ${conf} ` +
    `anytime upper bound ${pct(upper)} is below the allowed ${pct(reading.allowedErrorRate)}`;
  return { ...state, decision: "pass" as const, why, end: "early-pass" as const, upperBound: upper };
}

/**
 * Folds one successful reading, taken `elapsedSeconds` into the window, into the state; fails early on
 * catastrophe or enough breaches, passes early on conclusive evidence of health.
 */
export function addReading(
  state: GateState,
  reading: Reading,
  settings: GateSettings,
  elapsedSeconds: number,
): GateState {
  const consecutive = reading.status === "breach" ? state.consecutiveBreaches + 1 : 0;
  const next: GateState = {
    ...state,
    readings: state.readings + 1,
    consecutiveBreaches: reading.status === "insufficient" ? state.consecutiveBreaches : consecutive,
    lastReading: reading,
  };
  if (reading.status === "catastrophic")
    return { ...next, decision: "fail", why: reading.why, end: "catastrophic" };
  if (reading.status === "breach" && next.consecutiveBreaches >= settings.consecutiveBreaches) {
    return {
      ...next,
      decision: "fail",
      why: `${reading.why} (${next.consecutiveBreaches} breaching readings in a row)`,
      end: "consecutive-breaches",
    };
  }
  if (passesEarly(reading, elapsedSeconds, settings))
    return earlyPass(next, reading, elapsedSeconds, settings);
  return next;
}

/**
 * Folds a failed read of the metric source. A permanent problem (bad token, missing scopes, unknown
 * project) ends the window at once as inconclusive: waiting will not fix it.
 */
export function addUnavailable(state: GateState, problem: string, permanent: boolean): GateState {
  const next = { ...state, unavailable: state.unavailable + 1, lastProblem: problem };
  if (!permanent) return next;
  return {
    ...next,
    decision: "inconclusive",
    why: `release health could not be read: ${problem}`,
    end: "source-problem",
  };
}

/** Closes the window (its time budget is spent): pass only on a conclusive healthy reading. */
export function closeWindow(state: GateState, settings: GateSettings): GateState {
  if (state.decision !== null) return state;
  const closing = { ...state, end: "window-end" as const };
  const last = state.lastReading;
  if (last === null) {
    const problem = state.lastProblem ?? "no reading was taken";
    return { ...closing, decision: "inconclusive", why: `release health could not be read: ${problem}` };
  }
  switch (last.status) {
    case "healthy":
      return { ...closing, decision: "pass", why: last.why };
    case "breach":
      return {
        ...closing,
        decision: "inconclusive",
        why: `${last.why}; the window ended after ${state.consecutiveBreaches} of ${settings.consecutiveBreaches} breaching readings needed to fail`,
      };
    default: {
      const source = state.lastProblem ? ` (last read error: ${state.lastProblem})` : "";
      return {
        ...closing,
        decision: "inconclusive",
        why: `too little traffic to judge the release: ${last.why}${source}`,
      };
    }
  }
}
