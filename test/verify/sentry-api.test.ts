import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import { parseSessions, SentryClient, sentryEnv } from "../../src/verify/sentry-api.js";
import { FakeClock } from "../support/clock.js";

const T0 = Date.UTC(2026, 10, 27, 12, 40, 0);
let clock: FakeClock;
let sim: SentrySim;

beforeEach(async () => {
  clock = new FakeClock(T0);
  sim = await startSentrySim({ clock });
});
afterEach(async () => {
  await sim.close();
});

function client(token = SIM_TOKEN, extra: Partial<ConstructorParameters<typeof SentryClient>[0]> = {}) {
  return new SentryClient({ baseUrl: sim.url, token, org: "acme", clock, ...extra });
}

const query = (release = "v2") => ({
  projectId: "4501",
  release,
  environment: "production",
  start: new Date(T0 - 600_000),
  end: new Date(T0),
  deadline: T0 + 300_000,
});

describe("release health through the sessions API", () => {
  it("sums sessions by status for one release, environment and project", async () => {
    sim.addTraffic({
      release: "v2",
      environment: "production",
      startAt: T0 - 100_000,
      ratePerSecond: 10,
      errorRate: 0.05,
    });
    sim.addTraffic({
      release: "v2",
      environment: "staging",
      startAt: T0 - 100_000,
      ratePerSecond: 10,
      errorRate: 0.9,
    });
    sim.addTraffic({
      release: "v1",
      environment: "production",
      startAt: T0 - 100_000,
      ratePerSecond: 10,
      errorRate: 0.9,
    });
    const result = await client().releaseHealth(query());
    expect(result).toEqual({
      ok: true,
      value: { total: 1000, errored: 50, byStatus: { healthy: 950, errored: 50 } },
    });
    const call = sim.calls.at(-1)!;
    expect(call.path).toBe("/api/0/organizations/acme/sessions/");
    expect(call.query).toMatchObject({
      field: "sum(session)",
      groupBy: "session.status",
      query: 'release:"v2"',
      environment: "production",
      project: "4501",
    });
    expect(call.authorized).toBe(true);
  });

  it("answers an empty sample for a release with no sessions yet", async () => {
    expect(await client().releaseHealth(query("nothing"))).toEqual({
      ok: true,
      value: { total: 0, errored: 0, byStatus: {} },
    });
  });

  it("counts crashed, abnormal and unhandled sessions as failed requests", () => {
    const body = {
      groups: ["healthy", "errored", "crashed", "abnormal", "unhandled"].map((s, i) => ({
        by: { "session.status": s },
        totals: { "sum(session)": (i + 1) * 10 },
      })),
    };
    expect(parseSessions(body, "v")).toMatchObject({ ok: true, value: { total: 150, errored: 140 } });
    expect(parseSessions({ groups: [{ by: {}, totals: {} }] }, "v")).toMatchObject({
      ok: false,
      problem: { kind: "malformed" },
    });
    expect(parseSessions({ data: [] }, "v")).toMatchObject({ ok: false, problem: { kind: "malformed" } });
  });

  it("looks up the project id once", async () => {
    const c = client();
    expect(await c.projectId("app")).toEqual({ ok: true, value: "4501" });
    expect(await c.projectId("app")).toEqual({ ok: true, value: "4501" });
    expect(sim.calls.filter((call) => call.path === "/api/0/projects/acme/app/")).toHaveLength(1);
    const missing = await c.projectId("nope");
    expect(missing).toMatchObject({ ok: false, problem: { kind: "not-found", permanent: true } });
    if (!missing.ok) expect(missing.problem.message).toContain("sentry.org and sentry.project");
  });

  it("reads SENTRY_URL and SENTRY_AUTH_TOKEN like sentry-cli, defaulting to sentry.io", () => {
    expect(sentryEnv({})).toEqual({ baseUrl: "https://sentry.io", token: null });
    expect(sentryEnv({ SENTRY_URL: "https://sentry.example.com/", SENTRY_AUTH_TOKEN: " t " })).toEqual({
      baseUrl: "https://sentry.example.com",
      token: "t",
    });
  });
});

describe("every failure is a typed problem, never data", () => {
  const cases: Array<{
    name: string;
    fault: Parameters<SentrySim["fault"]>[0];
    kind: string;
    permanent: boolean;
    says: RegExp;
  }> = [
    {
      name: "401",
      fault: { match: "/sessions/", status: 401, body: '{"detail":"Invalid token"}' },
      kind: "auth",
      permanent: true,
      says: /SENTRY_AUTH_TOKEN .*org:read and project:read/,
    },
    {
      name: "403",
      fault: { match: "/sessions/", status: 403, body: '{"detail":"no"}' },
      kind: "scopes",
      permanent: true,
      says: /lacks the scopes org:read and project:read/,
    },
    {
      name: "500",
      fault: { match: "/sessions/", status: 500, body: '{"detail":"boom"}' },
      kind: "server",
      permanent: false,
      says: /answered 500/,
    },
    {
      name: "502 HTML",
      fault: { match: "/sessions/", status: 502, body: "<html>Bad gateway</html>", contentType: "text/html" },
      kind: "server",
      permanent: false,
      says: /answered 502/,
    },
    {
      name: "HTML page with 200",
      fault: {
        match: "/sessions/",
        status: 200,
        body: "<!doctype html><html><body>Sign in</body></html>",
        contentType: "text/html",
      },
      kind: "not-json",
      permanent: false,
      says: /HTML page, not JSON: SENTRY_URL/,
    },
    {
      name: "empty body",
      fault: { match: "/sessions/", status: 200, body: "" },
      kind: "empty",
      permanent: false,
      says: /empty body/,
    },
    {
      name: "malformed JSON",
      fault: { match: "/sessions/", status: 200, body: '{"groups": [' },
      kind: "malformed",
      permanent: false,
      says: /not valid JSON/,
    },
    {
      name: "JSON of another shape",
      fault: { match: "/sessions/", status: 200, body: '{"detail":"ok"}' },
      kind: "malformed",
      permanent: false,
      says: /no "groups" list/,
    },
    {
      name: "429 without Retry-After",
      fault: { match: "/sessions/", status: 429, body: "{}" },
      kind: "rate-limited",
      permanent: false,
      says: /rate-limited/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      sim.fault(c.fault);
      const result = await client().releaseHealth(query());
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problem.kind).toBe(c.kind);
      expect(result.problem.permanent).toBe(c.permanent);
      expect(result.problem.message).toMatch(c.says);
      expect(result.problem.message).not.toContain(SIM_TOKEN);
    });
  }

  it("a wrong token is rejected by the server as 401 and never appears in the message", async () => {
    const secret = "sntrys_wrong_secret_value";
    const result = await client(secret).releaseHealth(query());
    expect(result).toMatchObject({ ok: false, problem: { kind: "auth", status: 401 } });
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(sim.calls.at(-1)!.authorized).toBe(false);
  });

  it("retries a 429 after Retry-After when that fits in the budget", async () => {
    sim.addTraffic({
      release: "v2",
      environment: "production",
      startAt: T0 - 10_000,
      ratePerSecond: 1,
      errorRate: 0,
    });
    sim.fault({ match: "/sessions/", status: 429, body: "{}", headers: { "retry-after": "7" } });
    const result = await client().releaseHealth(query());
    expect(result).toMatchObject({ ok: true, value: { total: 10 } });
    expect(clock.now() - T0).toBe(7000);
    expect(sim.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it("does not wait past the budget for a 429", async () => {
    sim.fault({ match: "/sessions/", status: 429, body: "{}", headers: { "retry-after": "600" } });
    const result = await client().releaseHealth(query());
    expect(result).toMatchObject({ ok: false, problem: { kind: "rate-limited" } });
    expect(clock.now()).toBe(T0);
  });

  it("times out a request that never answers", async () => {
    const aborter = new AbortController();
    const c = client(SIM_TOKEN, {
      requestTimeoutMs: 3000,
      fetch: (input, init) => {
        // The server is slow: the per-request timer fires while we wait.
        queueMicrotask(() => aborter.abort(new DOMException("timed out", "TimeoutError")));
        return fetch(`${input}&slow=1`, init);
      },
      requestSignal: () => aborter.signal,
    });
    const result = await c.releaseHealth(query());
    expect(result).toMatchObject({ ok: false, problem: { kind: "timeout", permanent: false } });
    if (!result.ok) expect(result.problem.message).toContain("no answer within 3s");
  });

  it("says connection refused when nothing listens", async () => {
    const url = sim.url;
    await sim.close();
    sim = await startSentrySim({ clock });
    const result = await new SentryClient({
      baseUrl: url,
      token: SIM_TOKEN,
      org: "acme",
      clock,
    }).releaseHealth(query());
    expect(result).toMatchObject({ ok: false, problem: { kind: "network" } });
    if (!result.ok) expect(result.problem.message).toMatch(/connection refused; check SENTRY_URL/);
  });
});
