/**
 * A typical AWS-CLI pipeline's post-deploy check and Shipyard's gate, fed the same situations through the same
 * Sentry simulator: where does that check roll back a good release or keep a bad one, and what does
 * Shipyard do instead? Each row is asserted; `SHOW_TABLE=1` prints the Markdown table for the README.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Ecs } from "../../src/aws/ecs.js";
import { parseConfig } from "../../src/config/load.js";
import type { StepContext } from "../../src/deploy/steps.js";
import { type SentrySim, SIM_TOKEN, startSentrySim, type TrafficModel } from "../../src/emulator/sentry.js";
import { SentryClient } from "../../src/verify/sentry-api.js";
import { FakeClock } from "../support/clock.js";
import { projectStats, typicalCheck } from "../support/typical-check.js";
import { captureOutput } from "../support/world.js";
import { deployStep } from "./step-context.js";

/** 40 minutes into the hour: the typical pipeline's hourly bucket already holds 40 minutes of errors. */
const T0 = Date.UTC(2026, 10, 27, 12, 40, 0);

interface Situation {
  name: string;
  /** Is the new release good (should stay) or bad (should be rolled back)? */
  good: boolean;
  previous: Partial<TrafficModel>;
  next: Partial<TrafficModel>;
  /** Other traffic in the same Sentry project (another environment, say). */
  other?: TrafficModel[];
  fault?: Parameters<SentrySim["fault"]>[0];
  expectTypical: "rollback" | "keep";
  expectShipyard: "pass" | "fail" | "inconclusive";
}

const situations: Situation[] = [
  {
    name: "Healthy release on a busy service (200 req/s, 0.5% background errors)",
    good: true,
    previous: { ratePerSecond: 200, errorRate: 0.005 },
    next: { ratePerSecond: 200, errorRate: 0.005 },
    expectTypical: "rollback",
    expectShipyard: "pass",
  },
  {
    name: "Healthy release, previous release was worse (3% at 20 req/s)",
    good: true,
    previous: { ratePerSecond: 20, errorRate: 0.03 },
    next: { ratePerSecond: 20, errorRate: 0.01 },
    expectTypical: "rollback",
    expectShipyard: "pass",
  },
  {
    name: "Healthy production release while staging (same project) throws errors",
    good: true,
    previous: { ratePerSecond: 5, errorRate: 0.001 },
    next: { ratePerSecond: 5, errorRate: 0.001 },
    other: [
      { release: "v3-rc", environment: "staging", startAt: T0 - 3_600_000, ratePerSecond: 2, errorRate: 0.2 },
    ],
    expectTypical: "rollback",
    expectShipyard: "pass",
  },
  {
    name: "Healthy release, quiet service (5 req/s, 0.1%)",
    good: true,
    previous: { ratePerSecond: 5, errorRate: 0.001 },
    next: { ratePerSecond: 5, errorRate: 0.001 },
    expectTypical: "keep",
    expectShipyard: "pass",
  },
  {
    name: "Bad release: 50% of requests fail at 0.5 req/s",
    good: false,
    previous: { ratePerSecond: 0.5, errorRate: 0.005 },
    next: { ratePerSecond: 0.5, errorRate: 0.5 },
    expectTypical: "keep",
    expectShipyard: "fail",
  },
  {
    name: "Bad release: 5% of requests fail at 5 req/s",
    good: false,
    previous: { ratePerSecond: 5, errorRate: 0.001 },
    next: { ratePerSecond: 5, errorRate: 0.05 },
    expectTypical: "keep",
    expectShipyard: "fail",
  },
  {
    name: "Bad release: 50% failing at 20 req/s",
    good: false,
    previous: { ratePerSecond: 20, errorRate: 0.005 },
    next: { ratePerSecond: 20, errorRate: 0.5 },
    expectTypical: "rollback",
    expectShipyard: "fail",
  },
  {
    name: "Bad release (50% failing), Sentry API answers 500",
    good: false,
    previous: { ratePerSecond: 20, errorRate: 0.005 },
    next: { ratePerSecond: 20, errorRate: 0.5 },
    fault: {
      match: "/api/0/",
      status: 500,
      body: '{"detail":"Internal Error"}',
      times: Number.POSITIVE_INFINITY,
    },
    expectTypical: "keep",
    expectShipyard: "inconclusive",
  },
  {
    name: "Bad release (50% failing), token revoked (401)",
    good: false,
    previous: { ratePerSecond: 20, errorRate: 0.005 },
    next: { ratePerSecond: 20, errorRate: 0.5 },
    fault: {
      match: "/api/0/",
      status: 401,
      body: '{"detail":"Invalid token"}',
      times: Number.POSITIVE_INFINITY,
    },
    expectTypical: "keep",
    expectShipyard: "inconclusive",
  },
  {
    name: "Bad release (50% failing), Sentry behind a login page (HTML)",
    good: false,
    previous: { ratePerSecond: 20, errorRate: 0.005 },
    next: { ratePerSecond: 20, errorRate: 0.5 },
    fault: {
      match: "/api/0/",
      status: 200,
      body: "<html>Sign in</html>",
      contentType: "text/html",
      times: Number.POSITIVE_INFINITY,
    },
    expectTypical: "keep",
    expectShipyard: "inconclusive",
  },
  {
    name: "Healthy release with almost no traffic (0.2 req/s)",
    good: true,
    previous: { ratePerSecond: 0.2, errorRate: 0 },
    next: { ratePerSecond: 0.2, errorRate: 0 },
    expectTypical: "keep",
    expectShipyard: "inconclusive",
  },
];

async function withSim<T>(
  situation: Situation,
  body: (sim: SentrySim, clock: FakeClock) => Promise<T>,
): Promise<T> {
  const clock = new FakeClock(T0);
  const sim = await startSentrySim({ clock });
  sim.addTraffic({
    release: "v1",
    environment: "production",
    startAt: T0 - 7_200_000,
    endAt: T0,
    ratePerSecond: 1,
    errorRate: 0,
    ...situation.previous,
  });
  // The new release took traffic during a 60 s rollout before verification starts.
  sim.addTraffic({
    release: "v2",
    environment: "production",
    startAt: T0 - 60_000,
    ratePerSecond: 1,
    errorRate: 0,
    ...situation.next,
  });
  for (const other of situation.other ?? []) sim.addTraffic(other);
  if (situation.fault) sim.fault(situation.fault);
  try {
    return await body(sim, clock);
  } finally {
    await sim.close();
  }
}

/** The typical pipeline: `sleep 30`, one stats call, `jq '.[-1][1]'`, `-gt 50`; any failure passes. */
function runTypicalCheck(situation: Situation) {
  return withSim(situation, async (sim, clock) => {
    await clock.sleep(30_000);
    const client = new SentryClient({ baseUrl: sim.url, token: SIM_TOKEN, org: "acme", clock });
    const stats = await projectStats(client, "acme", "app");
    return typicalCheck(
      stats.ok
        ? { ok: true, body: stats.value }
        : {
            ok: false,
            problem: `${stats.problem.status ? `HTTP ${stats.problem.status} ` : ""}${stats.problem.kind}`,
          },
    );
  });
}

function runShipyard(situation: Situation) {
  return withSim(situation, async (sim, clock) => {
    const config = parseConfig(
      JSON.stringify({
        image: "ghcr.io/acme/app",
        environments: {
          production: {
            region: "eu-west-1",
            cluster: "prod",
            service: "app",
            sentry: { org: "acme", project: "app", releases: false },
          },
        },
      }),
    );
    const ctx: StepContext = {
      environmentName: "production",
      environment: config.environments.production!,
      config,
      image: "ghcr.io/acme/app@sha256:2222222222222222222222222222222222222222222222222222222222222222",
      release: "v2",
      taskDefinitionArn: "arn:aws:ecs:eu-west-1:1:task-definition/app:2",
      previousTaskDefinitionArn: "arn:aws:ecs:eu-west-1:1:task-definition/app:1",
      previousRelease: "v1",
      ecs: {} as unknown as Ecs,
      clock,
      random: () => 0.5,
      progress: captureOutput().output,
      signal: new AbortController().signal,
      appRoot: ".",
      env: { SENTRY_URL: sim.url, SENTRY_AUTH_TOKEN: SIM_TOKEN },
    };
    const started = clock.now();
    const verdict = await deployStep("error-rate gate").run(ctx);
    return { verdict, seconds: (clock.now() - started) / 1000 };
  });
}

const rows: string[] = [];
afterAll(() => {
  if (process.env.SHOW_TABLE) {
    console.log(
      [
        "| Situation | Release is | Typical pipeline's check | Shipyard's gate (default `onInconclusive: rollback`) |",
        "|---|---|---|---|",
        ...rows,
      ].join("\n"),
    );
  }
});

describe("typical pipeline check vs Shipyard gate, same situations", () => {
  for (const situation of situations) {
    it(situation.name, async () => {
      const typical = await runTypicalCheck(situation);
      const ours = await runShipyard(situation);
      const typicalAction = typical.rollback ? "rollback" : "keep";
      expect(typicalAction).toBe(situation.expectTypical);
      expect(
        ours.verdict.status === "passed"
          ? "pass"
          : ours.verdict.status === "failed"
            ? "fail"
            : "inconclusive",
      ).toBe(situation.expectShipyard);

      const typicalRight = typical.rollback !== situation.good;
      const oursRollsBack = ours.verdict.status !== "passed";
      const oursRight = oursRollsBack !== situation.good;
      const typicalText = `${typical.rollback ? "rolls back" : "keeps"} (${typical.why}) ${typicalRight ? "✅" : situation.good ? "❌ good release rolled back" : "❌ bad release kept"}`;
      const why = ours.verdict.status === "passed" ? ours.verdict.summary : ours.verdict.reason;
      const oursText = `${ours.verdict.status} after ${ours.seconds} s → ${oursRollsBack ? "rolls back" : "keeps"} ${oursRight ? "✅" : situation.good ? "⚠️ good release rolled back" : "❌ bad release kept"}: ${why.length > 140 ? `${why.slice(0, 137)}…` : why}`;
      rows.push(`| ${situation.name} | ${situation.good ? "good" : "bad"} | ${typicalText} | ${oursText} |`);
      // Shipyard never keeps a bad release, and never rolls back a good one it had the data to judge.
      if (!situation.good) expect(oursRollsBack).toBe(true);
      if (situation.good && ours.verdict.status !== "inconclusive") expect(oursRollsBack).toBe(false);
    });
  }
});
