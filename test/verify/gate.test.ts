import { describe, expect, it } from "vitest";
import { VerifySchema } from "../../src/config/schema.js";
import {
  addReading,
  addUnavailable,
  allowedErrorRate,
  anytimeUpperBound,
  closeWindow,
  evidenceNeeded,
  type HealthSample,
  healthyEvidence,
  initialGateState,
  judgeReading,
  logGamma,
  normalQuantile,
  passesEarly,
  wilsonInterval,
} from "../../src/verify/gate.js";
import { type WatchResult, watchReleaseHealth } from "../../src/verify/watch.js";
import { seededRandom } from "../bench/verify.js";
import { FakeClock } from "../support/clock.js";
import { typicalCheck } from "../support/typical-check.js";
import { captureOutput } from "../support/world.js";

const settings = VerifySchema.parse({});

describe("statistics", () => {
  it("normal quantiles match the tables", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it("Wilson intervals match published values and stay inside [0, 1]", () => {
    // 95%: 0 of 10 → [0, 0.2775]; 5 of 10 → [0.2366, 0.7634]
    const zero = wilsonInterval(0, 10, 0.95);
    expect(zero.lower).toBe(0);
    expect(zero.upper).toBeCloseTo(0.2775, 4);
    const half = wilsonInterval(5, 10, 0.95);
    expect(half.lower).toBeCloseTo(0.2366, 4);
    expect(half.upper).toBeCloseTo(0.7634, 4);
    const all = wilsonInterval(10, 10, 0.95);
    expect(all.upper).toBe(1);
    expect(all.lower).toBeCloseTo(0.7225, 4);
    expect(wilsonInterval(0, 0, 0.95)).toEqual({ lower: 0, upper: 1 });
  });

  it("the bound narrows as the sample grows", () => {
    const small = wilsonInterval(1, 20, 0.99);
    const large = wilsonInterval(100, 2000, 0.99);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
  });
});

describe("judgeReading", () => {
  const baseline = { total: 36_000, errored: 180 }; // 0.5%

  it("allows the baseline's upper bound plus the larger of tolerance and noise floor", () => {
    const { allowed, usable, baselineBound } = allowedErrorRate(baseline, settings);
    expect(usable).toBe(true);
    expect(allowed).toBeCloseTo(baselineBound!.upper + 0.01, 6);
    const noisy = allowedErrorRate({ total: 36_000, errored: 3600 }, settings); // 10%: tolerance wins
    expect(noisy.allowed).toBeCloseTo(noisy.baselineBound!.upper * 1.5, 6);
  });

  it("uses the fixed limit without a usable baseline", () => {
    expect(allowedErrorRate(null, settings)).toMatchObject({ allowed: 0.05, usable: false });
    expect(allowedErrorRate({ total: 12, errored: 0 }, settings)).toMatchObject({
      allowed: 0.05,
      usable: false,
    });
  });

  it("waits for the minimum sample", () => {
    const r = judgeReading({ total: 5, errored: 1 }, baseline, settings);
    expect(r.status).toBe("insufficient");
    expect(r.why).toContain("only 5 requests");
    const mid = judgeReading({ total: 60, errored: 1 }, baseline, settings);
    expect(mid.status).toBe("insufficient");
    expect(mid.why).toContain("100 are needed");
  });

  it("fails a catastrophic release on a small sample", () => {
    const r = judgeReading({ total: 20, errored: 12 }, baseline, settings);
    expect(r.status).toBe("catastrophic");
    expect(r.why).toMatch(/12 of 20 requests failed \(60\.0%/);
  });

  it("is not catastrophic when the previous release was as bad", () => {
    const r = judgeReading({ total: 200, errored: 60 }, { total: 5000, errored: 1500 }, settings);
    expect(r.status).toBe("healthy");
  });

  it("flags a 5% release against a 0.5% baseline, not a 0.6% one", () => {
    expect(judgeReading({ total: 1000, errored: 50 }, baseline, settings).status).toBe("breach");
    expect(judgeReading({ total: 1000, errored: 6 }, baseline, settings).status).toBe("healthy");
  });

  it("does not flag a small absolute change on a quiet service (noise floor)", () => {
    const quiet = { total: 100_000, errored: 10 }; // 0.01%
    expect(judgeReading({ total: 5000, errored: 5 }, quiet, settings).status).toBe("healthy"); // 0.1%
  });

  it("passes a release better than its baseline", () => {
    const r = judgeReading({ total: 2000, errored: 20 }, { total: 20_000, errored: 600 }, settings);
    expect(r.status).toBe("healthy");
    expect(r.why).toContain("within what is allowed");
  });
});

describe("the window", () => {
  const baseline = { total: 36_000, errored: 180 };
  const bad = judgeReading({ total: 1000, errored: 50 }, baseline, settings);
  const good = judgeReading({ total: 1000, errored: 5 }, baseline, settings);
  const thin = judgeReading({ total: 3, errored: 0 }, baseline, settings);

  it("fails only after consecutive breaches; a healthy reading resets the count", () => {
    let state = addReading(initialGateState, bad, settings, 0);
    expect(state.decision).toBeNull();
    state = addReading(state, good, settings, 0);
    expect(state.consecutiveBreaches).toBe(0);
    state = addReading(state, bad, settings, 0);
    state = addReading(state, bad, settings, 0);
    expect(state.decision).toBe("fail");
    expect(state.why).toContain("2 breaching readings in a row");
  });

  it("fails at once on a catastrophic reading", () => {
    const state = addReading(
      initialGateState,
      judgeReading({ total: 20, errored: 15 }, baseline, settings),
      settings,
      0,
    );
    expect(state.decision).toBe("fail");
  });

  it("passes at the end of the window only on a healthy last reading", () => {
    expect(closeWindow(addReading(initialGateState, good, settings, 0), settings).decision).toBe("pass");
    const breaching = closeWindow(addReading(initialGateState, bad, settings, 0), settings);
    expect(breaching.decision).toBe("inconclusive");
    expect(breaching.why).toContain("1 of 2 breaching readings");
    const starved = closeWindow(addReading(initialGateState, thin, settings, 0), settings);
    expect(starved.decision).toBe("inconclusive");
    expect(starved.why).toContain("too little traffic");
  });

  it("treats a metric source that never answered as inconclusive, never a pass", () => {
    let state = addUnavailable(initialGateState, "Sentry answered 500", false);
    expect(state.decision).toBeNull();
    state = closeWindow(state, settings);
    expect(state.decision).toBe("inconclusive");
    expect(state.why).toContain("Sentry answered 500");
  });

  it("ends at once on a permanent source problem", () => {
    const state = addUnavailable(initialGateState, "token rejected", true);
    expect(state.decision).toBe("inconclusive");
  });
});

describe("the evidence for an early pass", () => {
  it("log-gamma matches factorials", () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3_628_800), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    let logFactorial = 0;
    for (let i = 2; i <= 60_000; i += 1) logFactorial += Math.log(i);
    expect(logGamma(60_001)).toBeCloseTo(logFactorial, 4);
  });

  it("matches the closed form by hand: no failures in n requests", () => {
    // errored = 0: M = (1 − (1−r)^(n+1)) / ((n+1) · r · (1−r)^n)
    const [n, r] = [400, 0.02];
    const expected = Math.log((1 - (1 - r) ** (n + 1)) / ((n + 1) * r * (1 - r) ** n));
    expect(healthyEvidence({ total: n, errored: 0 }, r)).toBeCloseTo(expected, 9);
  });

  it("grows with the traffic and the distance to the allowed rate, and the bound is where it is conclusive", () => {
    const needed = evidenceNeeded(0.99);
    expect(needed).toBeCloseTo(Math.log(100), 12);
    expect(healthyEvidence({ total: 1100, errored: 5 }, 0.0157)).toBeGreaterThan(needed);
    expect(healthyEvidence({ total: 1100, errored: 8 }, 0.0157)).toBeLessThan(needed);
    expect(healthyEvidence({ total: 300, errored: 0 }, 0.0157)).toBeLessThan(needed);
    expect(healthyEvidence({ total: 2200, errored: 8 }, 0.0157)).toBeGreaterThan(needed);
    const sample = { total: 1100, errored: 5 };
    const upper = anytimeUpperBound(sample, 0.99);
    expect(healthyEvidence(sample, upper)).toBeCloseTo(needed, 4);
    // Valid at every look costs width: the anytime bound is wider than the one-look Wilson bound.
    expect(upper).toBeGreaterThan(wilsonInterval(5, 1100, 0.99).upper);
    expect(upper).toBeLessThan(0.0157);
  });

  it("grows with the rate tested above the observed rate (what the bound's bisection relies on)", () => {
    for (const sample of [
      { total: 120, errored: 0 },
      { total: 1100, errored: 5 },
      { total: 60_000, errored: 300 },
      { total: 400, errored: 40 },
    ]) {
      const observed = sample.errored / sample.total;
      let previous = Number.NEGATIVE_INFINITY;
      for (let step = 1; step <= 200; step += 1) {
        const rate = observed + ((1 - observed) * step) / 201;
        const evidence = healthyEvidence(sample, rate);
        expect(evidence).toBeGreaterThanOrEqual(previous - 1e-9);
        previous = evidence;
      }
    }
  });

  it("is never evidence of health at or above the allowed rate, nor with no traffic", () => {
    expect(healthyEvidence({ total: 60_000, errored: 1200 }, 0.02)).toBeLessThan(0);
    expect(healthyEvidence({ total: 0, errored: 0 }, 0.02)).toBe(Number.NEGATIVE_INFINITY);
    expect(healthyEvidence({ total: 5000, errored: 0 }, 0)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("keeps its error rate under 1 − confidence although it is checked at every reading", () => {
    // 2000 releases failing exactly at the allowed rate, 60 readings each: the chance of ever passing
    // early must stay under α = 1%. The one-look Wilson bound, checked as often, passes far more.
    const random = seededRandom(7);
    const allowed = 0.05;
    let sequential = 0;
    let naive = 0;
    for (let release = 0; release < 2000; release += 1) {
      const sample = { total: 0, errored: 0 };
      let passedSequential = false;
      let passedNaive = false;
      for (let reading = 0; reading < 60; reading += 1) {
        for (let request = 0; request < 40; request += 1) {
          sample.total += 1;
          if (random() < allowed) sample.errored += 1;
        }
        if (healthyEvidence(sample, allowed) >= evidenceNeeded(0.99)) passedSequential = true;
        if (wilsonInterval(sample.errored, sample.total, 0.98).upper < allowed) passedNaive = true;
      }
      if (passedSequential) sequential += 1;
      if (passedNaive) naive += 1;
    }
    expect(sequential / 2000).toBeLessThanOrEqual(0.01);
    expect(naive / 2000).toBeGreaterThan(0.02);
  });
});

describe("early pass", () => {
  const baseline = { total: 72_000, errored: 360 }; // 20 req/s for an hour at 0.5%
  const allowed = allowedErrorRate(baseline, settings).allowed;

  it("needs the minimum watch time, the minimum sample and a healthy reading", () => {
    const conclusive = judgeReading({ total: 4000, errored: 10 }, baseline, settings);
    expect(passesEarly(conclusive, 59.9, settings)).toBe(false);
    expect(passesEarly(conclusive, 60, settings)).toBe(true);
    const strict = { ...settings, minRequests: 5000 };
    expect(passesEarly(judgeReading({ total: 4000, errored: 0 }, baseline, strict), 120, strict)).toBe(false);
    const breaching = judgeReading({ total: 4000, errored: 200 }, baseline, settings);
    expect(passesEarly(breaching, 120, settings)).toBe(false);
  });

  it("ends the window with the bound it reached in the why", () => {
    const reading = judgeReading({ total: 4000, errored: 10 }, baseline, settings);
    const state = addReading(initialGateState, reading, settings, 60);
    expect(state).toMatchObject({ decision: "pass", end: "early-pass" });
    expect(state.upperBound).toBeLessThan(allowed);
    expect(state.why).toMatch(
      /passed early after 60 s: the failure rate's 99% anytime upper bound .*% is below the allowed 1\.6%/,
    );
    // Healthy but not yet conclusive: the window stays open.
    const unsure = addReading(
      initialGateState,
      judgeReading({ total: 400, errored: 4 }, baseline, settings),
      settings,
      60,
    );
    expect(unsure.decision).toBeNull();
    expect(closeWindow(unsure, settings)).toMatchObject({ decision: "pass", end: "window-end" });
  });

  /** Requests per second and failure rate at second t; sessions become visible 5 s later. */
  interface Traffic {
    rate: number;
    failing: (second: number) => number;
  }

  /** The real window loop on a fake clock, reading deterministic cumulative counts. */
  async function watch(traffic: Traffic, overrides: Partial<typeof settings> = {}): Promise<WatchResult> {
    const clock = new FakeClock(0);
    const visible = (now: number): HealthSample => {
      const sample = { total: 0, errored: 0 };
      for (let second = 0; second < Math.floor(now / 1000) - 5; second += 1) {
        sample.total += traffic.rate;
        sample.errored += traffic.rate * traffic.failing(second);
      }
      return { total: Math.floor(sample.total), errored: Math.floor(sample.errored) };
    };
    return watchReleaseHealth({
      source: {
        read: async (release, _start, end) => ({
          ok: true,
          value: release === "v1" ? baseline : visible(end),
        }),
      },
      release: "v2",
      previousRelease: "v1",
      settings: { ...settings, ...overrides },
      clock,
      progress: captureOutput().output,
      releaseSince: 0,
      baselineUntil: 0,
    });
  }

  const cases: Array<{
    name: string;
    traffic: Traffic;
    decision: string;
    end: string;
    seconds: number | [number, number];
  }> = [
    {
      name: "busy healthy release (200 req/s, 0.5%): passes at the minimum watch time",
      traffic: { rate: 200, failing: () => 0.005 },
      decision: "pass",
      end: "early-pass",
      seconds: 60,
    },
    {
      name: "healthy release at 20 req/s, no errors: passes at the minimum watch time",
      traffic: { rate: 20, failing: () => 0 },
      decision: "pass",
      end: "early-pass",
      seconds: 60,
    },
    {
      name: "release failing 5% above the allowed rate (200 req/s): never passes early",
      traffic: { rate: 200, failing: () => allowed * 1.05 },
      decision: "pass",
      end: "window-end",
      seconds: 300,
    },
    {
      name: "release failing 20% above the allowed rate (200 req/s): never passes early, and fails",
      traffic: { rate: 200, failing: () => allowed * 1.2 },
      decision: "fail",
      end: "consecutive-breaches",
      seconds: [60, 300],
    },
    {
      name: "errors that start after the minimum watch time (5 req/s, 20% from 65 s): caught in the window",
      traffic: { rate: 5, failing: (second) => (second >= 65 ? 0.2 : 0) },
      decision: "fail",
      end: "consecutive-breaches",
      seconds: [70, 120],
    },
    {
      name: "the same release without the late errors: passes early, after the errors would have shown",
      traffic: { rate: 5, failing: () => 0 },
      decision: "pass",
      end: "early-pass",
      seconds: [70, 120],
    },
    {
      name: "thin traffic (1 req/s, no errors): waits for the window's end",
      traffic: { rate: 1, failing: () => 0 },
      decision: "pass",
      end: "window-end",
      seconds: 300,
    },
    {
      name: "thinner traffic (0.2 req/s): inconclusive at the window's end, never an early pass",
      traffic: { rate: 0.2, failing: () => 0 },
      decision: "inconclusive",
      end: "window-end",
      seconds: 300,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const result = await watch(c.traffic);
      expect(result.decision).toBe(c.decision);
      expect(result.ended.how).toBe(c.end);
      if (typeof c.seconds === "number") expect(result.seconds).toBe(c.seconds);
      else {
        expect(result.seconds).toBeGreaterThanOrEqual(c.seconds[0]);
        expect(result.seconds).toBeLessThanOrEqual(c.seconds[1]);
      }
    });
  }

  it("the report says when and why the window ended", async () => {
    const early = await watch({ rate: 200, failing: () => 0.005 });
    expect(early.ended.summary).toMatch(
      /^passed early after 60 s of the 300 s window: failure rate at most 0\.\d+% \(anytime 99% bound, 11000 requests\), below the allowed 1\.\d+%$/,
    );
    expect(early.report).toMatchObject({
      ended: { how: "early-pass", afterSeconds: 60 },
      minWatchSeconds: 60,
    });
    const thin = await watch({ rate: 1, failing: () => 0 });
    expect(thin.ended.summary).toBe(
      "pass at the window's end after 300 s (295 requests; no early pass: the evidence of health was not yet conclusive)",
    );
  });

  it("minWatchSeconds at the window's length turns early passes off", async () => {
    const result = await watch({ rate: 200, failing: () => 0 }, { minWatchSeconds: 300 });
    expect(result).toMatchObject({ decision: "pass", seconds: 300 });
    expect(result.ended.summary).toContain("minWatchSeconds is not shorter than the window");
  });

  it("a minimum watch time of 0 lets a conclusive first reading pass", async () => {
    const result = await watch({ rate: 200, failing: () => 0 }, { minWatchSeconds: 0 });
    expect(result).toMatchObject({ decision: "pass", ended: { how: "early-pass" } });
    expect(result.seconds).toBeLessThan(60);
  });
});

describe("the typical pipeline's check", () => {
  it("rolls back above 50 errors in the last hourly bucket", () => {
    expect(
      typicalCheck({
        ok: true,
        body: [
          [0, 10],
          [3600, 51],
        ],
      }),
    ).toMatchObject({ rollback: true, value: 51 });
    expect(
      typicalCheck({
        ok: true,
        body: [
          [0, 500],
          [3600, 50],
        ],
      }),
    ).toMatchObject({ rollback: false, value: 50 });
  });

  it("passes whenever the API fails or the body is not what jq expects (fail-open)", () => {
    expect(typicalCheck({ ok: false, problem: "401" }).rollback).toBe(false);
    expect(typicalCheck({ ok: true, body: { detail: "Invalid token" } }).rollback).toBe(false);
    expect(typicalCheck({ ok: true, body: [] }).rollback).toBe(false);
  });
});
