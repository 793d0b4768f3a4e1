/**
 * Error-rate gate bench: Shipyard's gate against the seed story's check, over traffic levels ×
 * failure rates, on virtual time with a seeded RNG (one run, deterministic).
 *
 * Model of one trial:
 *  - The previous release served the hour before the deploy at the same traffic with a 0.5% failure
 *    rate (background errors: timeouts, bad input...). A new release failing 0% or 0.5% is HEALTHY
 *    (no worse than before); 5% and 50% are BAD.
 *  - At t=0 the new release takes all traffic: Poisson arrivals, each request failing with the
 *    release's rate. Sentry shows a request's session INGESTION_DELAY_S after it happened.
 *  - Shipyard: the real window loop (src/verify/watch.ts) with the default settings, reading the
 *    simulated counts. A "fail" — or an "inconclusive", which rolls back under the default
 *    onInconclusive — is a rollback.
 *  - Seed: `sleep 30`, then the project's error events in the current hour bucket (previous release
 *    since the top of the hour — the deploy happens at a uniformly random minute — plus the new
 *    release), roll back when > 50. The Sentry API always answers here; the seed's fail-open on API
 *    errors is shown in test/verify/seed-vs-shipyard.test.ts.
 */
import { VerifySchema, type VerifySettings } from "../../src/config/schema.js";
import type { HealthSample } from "../../src/verify/gate.js";
import type { SentryResult } from "../../src/verify/sentry-api.js";
import { watchReleaseHealth } from "../../src/verify/watch.js";
import { FakeClock } from "../support/clock.js";
import { captureOutput } from "../support/world.js";

export const TRAFFIC = [0.5, 1, 5, 20, 50, 200];
export const FAILURE_RATES = [0, 0.005, 0.05, 0.5];
const BACKGROUND = 0.005;
const TRIALS = 200;
const INGESTION_DELAY_S = 5;
const SEED_THRESHOLD = 50;
const SEED_SLEEP_S = 30;

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function poisson(lambda: number, random: () => number): number {
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(random)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

function binomial(n: number, p: number, random: () => number): number {
  if (n * p > 30 && n * (1 - p) > 30) {
    const x = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * gaussian(random));
    return Math.min(n, Math.max(0, x));
  }
  let k = 0;
  for (let i = 0; i < n; i += 1) if (random() < p) k += 1;
  return k;
}

interface TrialResult {
  shipyardRollback: boolean;
  /** Seconds from the release taking traffic to the rollback being issued. */
  shipyardSeconds: number | null;
  /** Seconds from the first request becoming visible in Sentry to the rollback being issued. */
  shipyardFromFirstDataSeconds: number | null;
  shipyardDecision: string;
  seedRollback: boolean;
}

function trial(
  rate: number,
  failure: number,
  settings: VerifySettings,
  random: () => number,
): Promise<TrialResult> {
  const windowS = settings.windowSeconds;
  // Per-second arrivals and failures of the new release over the window.
  const requests: number[] = [];
  const failures: number[] = [];
  for (let s = 0; s < windowS + 1; s += 1) {
    const n = poisson(rate, random);
    requests.push(n);
    failures.push(binomial(n, failure, random));
  }
  const baselineTotal = poisson(rate * settings.baselineSeconds, random);
  const baseline: HealthSample = {
    total: baselineTotal,
    errored: binomial(baselineTotal, BACKGROUND, random),
  };

  // The seed's hourly bucket: previous release since the top of the hour + new release until it reads.
  const minuteOfHour = random() * 3600;
  const previousErrorsThisHour = binomial(poisson(rate * minuteOfHour, random), BACKGROUND, random);
  const visibleNewErrors = failures
    .slice(0, Math.max(0, SEED_SLEEP_S - INGESTION_DELAY_S))
    .reduce((a, b) => a + b, 0);
  const seedRollback = previousErrorsThisHour + visibleNewErrors > SEED_THRESHOLD;

  const clock = new FakeClock(0);
  const progress = captureOutput().output;
  const visible = (seconds: number): HealthSample => {
    const upTo = Math.max(0, Math.min(windowS + 1, Math.floor(seconds - INGESTION_DELAY_S)));
    let total = 0;
    let errored = 0;
    for (let s = 0; s < upTo; s += 1) {
      total += requests[s]!;
      errored += failures[s]!;
    }
    return { total, errored };
  };
  const source = {
    async read(release: string, _start: number, end: number): Promise<SentryResult<HealthSample>> {
      return { ok: true, value: release === "previous" ? baseline : visible(end / 1000) };
    },
  };
  return watchReleaseHealth({
    source,
    release: "new",
    previousRelease: "previous",
    settings,
    clock,
    progress,
    releaseSince: 0,
    baselineUntil: 0,
  }).then((result) => {
    const rollback = result.decision !== "pass";
    const firstRequest = requests.findIndex((n) => n > 0);
    const firstData = firstRequest < 0 ? null : firstRequest + 1 + INGESTION_DELAY_S;
    return {
      shipyardRollback: rollback,
      shipyardSeconds: rollback ? result.seconds : null,
      shipyardFromFirstDataSeconds: rollback && firstData !== null ? result.seconds - firstData : null,
      shipyardDecision: result.decision,
      seedRollback,
    };
  });
}

export interface Cell {
  rate: number;
  failure: number;
  healthy: boolean;
  shipyardRollbacks: number;
  shipyardInconclusive: number;
  shipyardMedianS: number | null;
  shipyardMaxS: number | null;
  /** Slowest rollback measured from the release's first data in Sentry. */
  shipyardMaxFromFirstDataS: number | null;
  seedRollbacks: number;
  trials: number;
}

function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function simulate(
  settings: VerifySettings = VerifySchema.parse({}),
  trials = TRIALS,
  seed = 20261127,
): Promise<Cell[]> {
  const random = seededRandom(seed);
  const cells: Cell[] = [];
  for (const rate of TRAFFIC) {
    for (const failure of FAILURE_RATES) {
      const results: TrialResult[] = [];
      for (let i = 0; i < trials; i += 1) results.push(await trial(rate, failure, settings, random));
      const times = results.flatMap((r) => (r.shipyardSeconds === null ? [] : [r.shipyardSeconds]));
      cells.push({
        rate,
        failure,
        healthy: failure <= BACKGROUND,
        shipyardRollbacks: results.filter((r) => r.shipyardRollback).length,
        shipyardInconclusive: results.filter((r) => r.shipyardDecision === "inconclusive").length,
        shipyardMedianS: quantile(times, 0.5),
        shipyardMaxS: quantile(times, 1),
        shipyardMaxFromFirstDataS: quantile(
          results.flatMap((r) =>
            r.shipyardFromFirstDataSeconds === null ? [] : [r.shipyardFromFirstDataSeconds],
          ),
          1,
        ),
        seedRollbacks: results.filter((r) => r.seedRollback).length,
        trials,
      });
    }
  }
  return cells;
}

const pctText = (rate: number) => `${rate * 100}%`;

function verdict(cell: Cell, rollbacks: number): string {
  const share = `${rollbacks}/${cell.trials}`;
  if (cell.healthy) return rollbacks === 0 ? `${share} ✅` : `${share} ❌ false`;
  return rollbacks === cell.trials ? `${share} ✅` : `${share} ❌ kept ${cell.trials - rollbacks}`;
}

export function goals(cells: Cell[], settings: VerifySettings): string[] {
  const lines: string[] = [];
  const falseRollbacks = cells.filter((c) => c.healthy).reduce((n, c) => n + c.shipyardRollbacks, 0);
  lines.push(
    `- No false rollbacks of healthy releases: ${falseRollbacks === 0 ? "met" : `NOT met (${falseRollbacks})`}`,
  );
  const fast = cells.filter((c) => c.failure >= 0.5 && c.rate >= 1);
  const fastOk = fast.every(
    (c) => c.shipyardRollbacks === c.trials && (c.shipyardMaxFromFirstDataS ?? Infinity) <= 30,
  );
  const slowest = Math.max(...fast.map((c) => c.shipyardMaxFromFirstDataS ?? Infinity));
  lines.push(
    `- ≥50% failing rolled back within 30 s of its first data at ≥ 1 req/s: ${fastOk ? "met" : "NOT met"} (slowest: ${slowest} s after its first session became visible)`,
  );
  const five = cells.filter((c) => c.failure === 0.05 && c.rate >= 20);
  const fiveOk = five.every(
    (c) => c.shipyardRollbacks === c.trials && (c.shipyardMaxS ?? Infinity) <= settings.windowSeconds,
  );
  lines.push(
    `- ≥5% failing at ≥ 20 req/s caught within the ${settings.windowSeconds} s window: ${fiveOk ? "met" : "NOT met"} (slowest: ${Math.max(...five.map((c) => c.shipyardMaxS ?? Infinity))} s)`,
  );
  return lines;
}

export function table(cells: Cell[]): string {
  const rows = [
    "| req/s | new release fails | healthy? | Shipyard rollbacks | Shipyard time to rollback (median / max) | seed rollbacks | seed time |",
    "|---:|---:|:---:|---:|---:|---:|---:|",
  ];
  for (const c of cells) {
    const time = c.shipyardMedianS === null ? "—" : `${c.shipyardMedianS} s / ${c.shipyardMaxS} s`;
    const inconclusive = c.shipyardInconclusive > 0 ? ` (${c.shipyardInconclusive} inconclusive)` : "";
    rows.push(
      `| ${c.rate} | ${pctText(c.failure)} | ${c.healthy ? "yes" : "no"} | ${verdict(c, c.shipyardRollbacks)}${inconclusive} | ${time} | ${verdict(c, c.seedRollbacks)} | ${c.seedRollbacks > 0 ? `${SEED_SLEEP_S} s` : "—"} |`,
    );
  }
  return rows.join("\n");
}

export async function run(): Promise<string> {
  const settings = VerifySchema.parse({});
  const cells = await simulate(settings);
  return [
    `${TRIALS} trials per row, seeded RNG, virtual time. Previous release: same traffic, ${pctText(BACKGROUND)} failing (the baseline; a new release failing no more is healthy). Sessions visible in Sentry ${INGESTION_DELAY_S} s after the request. Shipyard defaults: window ${settings.windowSeconds} s, reading every ${settings.intervalSeconds} s, ${Math.round(settings.confidence * 100)}% Wilson bounds, catastrophic ≥ ${pctText(settings.catastrophicErrorRate)} after ${settings.catastrophicMinRequests} requests, regression after ${settings.minRequests} requests and ${settings.consecutiveBreaches} breaches in a row. Seed: sleep ${SEED_SLEEP_S} s, roll back when the current hour's project error count > ${SEED_THRESHOLD}. Times are from the bad release taking traffic to the rollback being issued.`,
    "",
    table(cells),
    "",
    ...goals(cells, settings),
  ].join("\n");
}
