import { describe, expect, it } from "vitest";
import { VerifySchema } from "../../src/config/schema.js";
import {
  addReading,
  addUnavailable,
  allowedErrorRate,
  closeWindow,
  initialGateState,
  judgeReading,
  normalQuantile,
  wilsonInterval,
} from "../../src/verify/gate.js";
import { seedCheck } from "../support/seed-check.js";

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
    let state = addReading(initialGateState, bad, settings);
    expect(state.decision).toBeNull();
    state = addReading(state, good, settings);
    expect(state.consecutiveBreaches).toBe(0);
    state = addReading(state, bad, settings);
    state = addReading(state, bad, settings);
    expect(state.decision).toBe("fail");
    expect(state.why).toContain("2 breaching readings in a row");
  });

  it("fails at once on a catastrophic reading", () => {
    const state = addReading(
      initialGateState,
      judgeReading({ total: 20, errored: 15 }, baseline, settings),
      settings,
    );
    expect(state.decision).toBe("fail");
  });

  it("passes at the end of the window only on a healthy last reading", () => {
    expect(closeWindow(addReading(initialGateState, good, settings), settings).decision).toBe("pass");
    const breaching = closeWindow(addReading(initialGateState, bad, settings), settings);
    expect(breaching.decision).toBe("inconclusive");
    expect(breaching.why).toContain("1 of 2 breaching readings");
    const starved = closeWindow(addReading(initialGateState, thin, settings), settings);
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

describe("the seed's check", () => {
  it("rolls back above 50 errors in the last hourly bucket", () => {
    expect(
      seedCheck({
        ok: true,
        body: [
          [0, 10],
          [3600, 51],
        ],
      }),
    ).toMatchObject({ rollback: true, value: 51 });
    expect(
      seedCheck({
        ok: true,
        body: [
          [0, 500],
          [3600, 50],
        ],
      }),
    ).toMatchObject({ rollback: false, value: 50 });
  });

  it("passes whenever the API fails or the body is not what jq expects (fail-open)", () => {
    expect(seedCheck({ ok: false, problem: "401" }).rollback).toBe(false);
    expect(seedCheck({ ok: true, body: { detail: "Invalid token" } }).rollback).toBe(false);
    expect(seedCheck({ ok: true, body: [] }).rollback).toBe(false);
  });
});
