/**
 * Benchmark: how soon does the waiter notice that our deployment finished (or failed), and how many
 * DescribeServices calls does it spend? Shipyard's wait (fixed 5 s poll, one describe per poll) vs the
 * AWS SDK's `waitUntilServicesStable` (defaults: 15 s minimum, exponential backoff to 600 s), and the
 * SDK waiter with maxDelay capped at 15 s. Everything runs in the ECS simulator on virtual time: the
 * simulator moves with a FakeClock, and while the SDK waiter runs, its own sleeps advance that clock
 * instead of waiting (Date.now and the waiter's setTimeout are redirected), so a 7-minute rollout is
 * measured in milliseconds. The SDK waiter's jitter is seeded, and each SDK row is averaged over seeds.
 * Then the time budget of a whole deploy of the example app: where its seconds go (see timeBudget),
 * and several services of one cluster waited on together (see severalServicesSection).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ECSClient, UpdateServiceCommand, waitUntilServicesStable } from "@aws-sdk/client-ecs";
import { Ecs } from "../../src/aws/ecs.js";
import { DeploymentSchema, HealthCheckSchema, VerifySchema } from "../../src/config/schema.js";
import {
  ASSUMED_TASK_START_SECONDS,
  AWS_DEFAULTS,
  adviseRollout,
  formatSeconds,
} from "../../src/deploy/advisor.js";
import { type RolloutOptions, rollOut, rollOutAll } from "../../src/deploy/rollout.js";
import { strategies } from "../../src/deploy/strategies.js";
import { EventLog, waitForDeployment } from "../../src/deploy/wait.js";
import { type Behaviour, EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { Output } from "../../src/report/output.js";
import { Scrubber } from "../../src/report/scrub.js";
import { addService, SERVICES_TEMPLATE, servicesConfig } from "../multi-service/environment.js";
import { FakeClock } from "../support/clock.js";
import { captureOutput, startWorld } from "../support/world.js";

const POLL_SECONDS = 5;
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

interface Scenario {
  name: string;
  behaviour: Behaviour;
  timing: EcsSimulator["timing"];
  /** Seconds after UpdateService when the outcome is decided (completed, or FAILED by the circuit breaker). */
  decidedAt: number;
  truth: "success" | "failure";
}

const scenarios: Scenario[] = [
  {
    name: "healthy rollout, done at 62 s",
    behaviour: "healthy",
    timing: { startSeconds: 5, healthySeconds: 62, failAfterSeconds: 30 },
    decidedAt: 62,
    truth: "success",
  },
  {
    name: "healthy rollout, done at 7m02s",
    behaviour: "healthy",
    timing: { startSeconds: 5, healthySeconds: 422, failAfterSeconds: 30 },
    decidedAt: 422,
    truth: "success",
  },
  {
    name: "tasks fail → circuit breaker at 32 s → ECS rollback",
    behaviour: "failing",
    timing: { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 32 },
    decidedAt: 32,
    truth: "failure",
  },
];

type Waiter = "shipyard" | "sdk-default" | "sdk-capped";

interface Measurement {
  verdict: "success" | "failure" | "timeout";
  noticedAt: number;
  describes: number;
  /** Waiter iterations: sleeps between reads, plus the first read. */
  polls: number;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` with the SDK waiter's clock and sleeps on virtual time; counts the waiter's sleeps. */
async function onVirtualTime<T>(
  clock: FakeClock,
  seed: number,
  sleeps: { count: number },
  work: () => Promise<T>,
): Promise<T> {
  const realNow = Date.now;
  const realRandom = Math.random;
  const realSetTimeout = globalThis.setTimeout;
  Date.now = () => clock.now();
  Math.random = seeded(seed);
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    // Only the waiter's own sleep (smithy's `sleep`) jumps; HTTP timers keep real time.
    if ((ms ?? 0) >= 1000 && /at sleep \(/.test(new Error().stack ?? "")) {
      sleeps.count += 1;
      clock.advance(ms ?? 0);
      return realSetTimeout(callback, 0, ...args);
    }
    return realSetTimeout(callback, ms, ...args);
  }) as typeof setTimeout;
  try {
    return await work();
  } finally {
    Date.now = realNow;
    Math.random = realRandom;
    globalThis.setTimeout = realSetTimeout;
  }
}

async function measure(scenario: Scenario, waiter: Waiter, seed: number): Promise<Measurement> {
  const clock = new FakeClock();
  const sim = await EcsSimulator.start(clock);
  try {
    sim.timing = scenario.timing;
    const image = (c: string) => `ghcr.io/acme/app@sha256:${c.repeat(64)}`;
    const v1 = sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: image("0") }],
    });
    const v2 = sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: image("a") }],
    });
    sim.behaviours.set(image("a"), scenario.behaviour);
    sim.createService({ taskDefinition: v1, desiredCount: 2 });
    const ecs = new ECSClient({
      region: "eu-west-1",
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIABENCH", secretAccessKey: "bench" },
    });
    const t0 = clock.now();
    const update = await ecs.send(
      new UpdateServiceCommand({
        cluster: "main",
        service: "web",
        taskDefinition: v2,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    const before = sim.callsTo("DescribeServices").length;
    const sleeps = { count: 0 };
    let verdict: Measurement["verdict"];
    if (waiter === "shipyard") {
      const { output: progress } = captureOutput();
      const polls = new ECSClient({
        region: "eu-west-1",
        endpoint: sim.endpoint,
        credentials: { accessKeyId: "AKIABENCH", secretAccessKey: "bench" },
        maxAttempts: 1,
      });
      const result = await waitForDeployment({
        ecs: new Ecs({ mutations: ecs, polls }),
        ref: { cluster: "main", service: "web" },
        clock: {
          now: () => clock.now(),
          sleep: (ms, signal) => {
            sleeps.count += 1;
            return clock.sleep(ms, signal);
          },
        },
        progress,
        signal: new AbortController().signal,
        pollSeconds: POLL_SECONDS,
        timeoutSeconds: 1800,
        strategy: strategies.rolling,
        target: {
          purpose: "rollout",
          taskDefinitionArn: v2,
          deploymentId: update.service!.deployments!.find((d) => d.taskDefinition === v2)!.id!,
        },
        events: new EventLog(clock, progress),
        label: "bench",
      });
      verdict =
        result.status === "completed" ? "success" : result.status === "failed" ? "failure" : "timeout";
    } else {
      const result = await onVirtualTime(clock, seed, sleeps, () =>
        waitUntilServicesStable(
          {
            client: ecs,
            maxWaitTime: 1800,
            ...(waiter === "sdk-capped" ? { minDelay: 15, maxDelay: 15 } : {}),
          },
          { cluster: "main", services: ["web"] },
        ).then(
          () => "success" as const,
          () => "timeout" as const,
        ),
      );
      verdict = result;
    }
    return {
      verdict,
      noticedAt: (clock.now() - t0) / 1000,
      describes: sim.callsTo("DescribeServices").length - before,
      polls: sleeps.count + 1,
    };
  } finally {
    await sim.stop();
  }
}

const label: Record<Waiter, string> = {
  shipyard: `Shipyard (poll ${POLL_SECONDS} s)`,
  "sdk-default": "SDK waitUntilServicesStable (defaults)",
  "sdk-capped": "SDK waitUntilServicesStable (maxDelay 15 s)",
};

/**
 * 30 s of ThrottlingException on every DescribeServices in the middle of a 60 s rollout, through the
 * whole deploy: the largest gap between two reads of the service during the window, against the poll
 * interval, and the verdict.
 */
async function throttlingRow(): Promise<string> {
  const world = await startWorld();
  try {
    world.sim.timing = { startSeconds: 5, healthySeconds: 60, failAfterSeconds: 30 };
    world.sim.onCall = (call) => {
      if (call.operation === "UpdateService") {
        const at = world.clock.now();
        world.sim.faultWindow("DescribeServices", "ThrottlingException", 400, at + 10_000, at + 40_000);
      }
    };
    const report = await world.deploy();
    const update = world.sim.callsTo("UpdateService")[0]!.atMs;
    const reads = world.sim.callsTo("DescribeServices").map((c) => c.atMs);
    const windowReads = reads.filter((t) => t >= update + 5_000 && t <= update + 45_000);
    const gaps = windowReads.slice(1).map((t, i) => (t - windowReads[i]!) / 1000);
    const throttled = world.sim.calls.filter((c) => c.fault === "ThrottlingException").length;
    return `| 30 s of ThrottlingException mid-rollout (poll ${POLL_SECONDS} s) | ${report.outcome} (exit ${report.exitCode}) | ${Math.max(...gaps)} s | ${(Math.max(...gaps) / POLL_SECONDS).toFixed(2)} | ${throttled} |`;
  } finally {
    await world.stop();
  }
}

/**
 * Time budget of a whole deploy with the example app's configuration (examples/app/shipyard.json,
 * staging), in the ECS and Sentry simulators on virtual time: where the seconds go, split into what
 * ECS itself takes (the migration task, the rollout), the evidence verification needs (the smoke
 * test's healthy answers in a row, the gate's minimum watch), and what is left: Shipyard's own
 * overhead. The app serves 20 req/s, 0.5% failing, as its previous release did.
 *
 * Kept close to the example: the cluster and service are the simulator's (main/web), the Sentry
 * project is the simulator's ("app"), the health URLs answer through an injected fetch, and the
 * registry answers "found". The migrations are the example's own (squawk lints them for real).
 */
const BUDGET_ROLLOUT_SECONDS = 62;
const BUDGET_MIGRATION_SECONDS = 10;
const BUDGET_GOAL_SECONDS = 10;

interface Mark {
  line: string;
  /** Virtual seconds since the deploy started. */
  at: number;
  /** Real milliseconds since the deploy started. */
  wallMs: number;
}

interface BudgetRun {
  marks: Mark[];
  totalSeconds: number;
  wallMs: number;
  outcome: string;
  gateEnded: string;
}

function exampleConfig(verify: Record<string, unknown> = {}): {
  text: string;
  staging: Record<string, unknown>;
} {
  const path = fileURLToPath(new URL("../../examples/app/shipyard.json", import.meta.url));
  const config = JSON.parse(readFileSync(path, "utf8")) as {
    $schema?: string;
    environments: Record<string, Record<string, unknown>>;
  };
  delete config.$schema;
  const staging = config.environments.staging!;
  Object.assign(staging, { cluster: "main", service: "web", container: "app" });
  staging.sentry = { ...(staging.sentry as object), project: "app" };
  staging.verify = { ...(staging.verify as object), ...verify };
  return { text: JSON.stringify(config), staging };
}

/** The example's hosts, answered in-process: the registry has the image, the app is healthy. */
function exampleFetch(): typeof fetch {
  const realFetch = globalThis.fetch;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.host === "ghcr.io") return new Response(null, { status: 200 });
    if (url.host.endsWith("acme.example")) {
      const body = url.pathname === "/version" ? JSON.stringify({ release: "v2" }) : "ok";
      return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
    }
    return realFetch(input, init);
  }) as typeof fetch;
}

async function budgetRun(verify: Record<string, unknown> = {}): Promise<BudgetRun> {
  const world = await startWorld({ sentry: true, config: exampleConfig(verify).text, template: null });
  const root = mkdtempSync(join(tmpdir(), "shipyard-budget-"));
  try {
    const migrations = fileURLToPath(new URL("../../examples/app/migrations", import.meta.url));
    cpSync(migrations, join(root, "migrations"), { recursive: true });
    world.sim.timing = { startSeconds: 5, healthySeconds: BUDGET_ROLLOUT_SECONDS, failAfterSeconds: 30 };
    const now = world.clock.now();
    const traffic = { environment: "staging", ratePerSecond: 20, errorRate: 0.005 };
    world.sentry!.addTraffic({ ...traffic, release: "v1", startAt: now - 7_200_000, endAt: now });
    world.sentry!.addTraffic({ ...traffic, release: "v2", startAt: now });
    const marks: Mark[] = [];
    const wallStart = performance.now();
    const mark = (line: string) =>
      marks.push({
        line: line.trim(),
        at: (world.clock.now() - now) / 1000,
        wallMs: performance.now() - wallStart,
      });
    const output = new Output(
      { stdout: () => {}, stderr: mark, appendSummary: async () => {} },
      new Scrubber(),
    );
    const report = await world.deploy(
      { image: `ghcr.io/acme/shipyard-example@sha256:${"b".repeat(64)}` },
      { output, fetch: exampleFetch(), files: { ...world.files, root } },
    );
    const gate = (report.verification?.gate ?? {}) as { ended?: { summary?: string } };
    return {
      marks,
      totalSeconds: report.timings.totalSeconds,
      wallMs: performance.now() - wallStart,
      outcome: report.outcome,
      gateEnded: gate.ended?.summary ?? "—",
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
    await world.stop();
  }
}

/** The deploy's progress lines that start each part of the budget, in order. */
const BUDGET_PARTS: Array<{ what: string; from: RegExp }> = [
  { what: "preflight (service, registry, Sentry, migration lint)", from: /^Deploying / },
  { what: "register the revision and take the service", from: /^Registered / },
  { what: "migration task", from: /^Step: migrate$/ },
  { what: `rollout (ECS completes it at ${BUDGET_ROLLOUT_SECONDS} s)`, from: /^UpdateService accepted/ },
  { what: "smoke test", from: /^Step: smoke test$/ },
  { what: "Sentry release bookkeeping (sentry-cli)", from: /^Step: Sentry release$/ },
  { what: "error-rate gate", from: /^Step: error-rate gate$/ },
  { what: "record last-good, report", from: /^Deployed / },
];

/** Virtual seconds and real milliseconds of each part: from its first line to the next part's. */
function budgetParts(run: BudgetRun): Array<{ what: string; seconds: number; wallMs: number }> {
  const starts = BUDGET_PARTS.map((part) => run.marks.find((m) => part.from.test(m.line)));
  return BUDGET_PARTS.map((part, i) => {
    const start = starts[i];
    const next = starts.slice(i + 1).find((m) => m !== undefined) ?? {
      at: run.totalSeconds,
      wallMs: run.wallMs,
    };
    return start === undefined
      ? { what: part.what, seconds: 0, wallMs: 0 }
      : { what: part.what, seconds: next.at - start.at, wallMs: next.wallMs - start.wallMs };
  });
}

async function timeBudget(): Promise<string[]> {
  const { staging } = exampleConfig();
  const settings = VerifySchema.parse(staging.verify);
  const health = HealthCheckSchema.parse(staging.healthCheck);
  const smokeEvidence = (health.consecutiveSuccesses - 1) * health.intervalSeconds;
  // What no deploy can skip: ECS's own time, and the evidence verification asks for.
  const needed: Record<string, number> = {
    "migration task": BUDGET_MIGRATION_SECONDS,
    [BUDGET_PARTS[3]!.what]: BUDGET_ROLLOUT_SECONDS,
    "smoke test": smokeEvidence,
    "error-rate gate": settings.minWatchSeconds,
  };
  const early = await budgetRun();
  const before = await budgetRun({ minWatchSeconds: settings.windowSeconds });
  const earlyParts = budgetParts(early);
  const beforeParts = budgetParts(before);
  const table = [
    "| Part | Seconds | of which ECS / evidence | Seconds before (gate to the window's end) | Real work, ms |",
    "|---|---:|---:|---:|---:|",
    ...earlyParts.map(
      (part, i) =>
        `| ${part.what} | ${part.seconds} | ${needed[part.what] ?? 0} | ${beforeParts[i]!.seconds} | ${part.wallMs.toFixed(0)} |`,
    ),
  ];
  const neededTotal = Object.values(needed).reduce((a, b) => a + b, 0);
  const overhead = early.totalSeconds - neededTotal;
  table.push(
    `| **total** | **${early.totalSeconds}** | ${neededTotal} | **${before.totalSeconds}** | ${early.wallMs.toFixed(0)} |`,
  );
  return [
    "",
    "### Time budget of a whole deploy",
    "",
    `A whole deploy of the example app (examples/app/shipyard.json, staging: window ${settings.windowSeconds} s, a reading every ${settings.intervalSeconds} s, minimum watch ${settings.minWatchSeconds} s; smoke test ${health.consecutiveSuccesses} healthy answers in a row, ${health.intervalSeconds} s apart) at 20 req/s, 0.5% failing like its previous release. ECS simulator (ECS completes the rollout at ${BUDGET_ROLLOUT_SECONDS} s; the migration task exits after ${BUDGET_MIGRATION_SECONDS} s) and Sentry simulator on virtual time. "Before" is the same deploy with early passes off (minWatchSeconds = windowSeconds), which is how every healthy deploy ended until now. "Real work": wall-clock time of the work itself against local simulators (real HTTP, real sentry-cli and squawk), which virtual time does not count.`,
    "",
    ...table,
    "",
    `Outcome: ${early.outcome}; gate: ${early.gateEnded}.`,
    "",
    `- Shipyard's own overhead beyond ECS (${BUDGET_MIGRATION_SECONDS + BUDGET_ROLLOUT_SECONDS} s) and the evidence it needs (smoke test ${smokeEvidence} s, gate ${settings.minWatchSeconds} s) ≤ ${BUDGET_GOAL_SECONDS} s: ${overhead <= BUDGET_GOAL_SECONDS ? "met" : "NOT met"} (${overhead} s of waiting, plus ${(early.wallMs / 1000).toFixed(1)} s of real work against local simulators)`,
  ];
}

/**
 * The rollout-speed advisor on Shipyard's bundled task-def.json behind a target group left at AWS's
 * defaults (deregistration delay 300 s, health checks 30 s × 5, no grace period), 2 tasks, the
 * default 200%/100%: the predicted rollout before and after the settings the advisor names.
 */
function rolloutSpeedRows(): string[] {
  const path = fileURLToPath(new URL("../../task-def.json", import.meta.url));
  const template = JSON.parse(readFileSync(path, "utf8")) as {
    containerDefinitions: Array<{
      healthCheck?: { interval?: number; retries?: number; startPeriod?: number };
      stopTimeout?: number;
    }>;
  };
  const container = template.containerDefinitions[0]!;
  const result = adviseRollout({
    desiredCount: 2,
    maximumPercent: 200,
    minimumHealthyPercent: 100,
    healthCheckGracePeriodSeconds: 0,
    loadBalancer: {
      targetGroup: "web",
      healthCheckIntervalSeconds: AWS_DEFAULTS.healthCheckIntervalSeconds,
      healthyThresholdCount: AWS_DEFAULTS.healthyThresholdCount,
      deregistrationDelaySeconds: AWS_DEFAULTS.deregistrationDelaySeconds,
    },
    containerHealthCheck: {
      intervalSeconds: container.healthCheck?.interval ?? AWS_DEFAULTS.containerHealthCheckIntervalSeconds,
      retries: container.healthCheck?.retries ?? 3,
      startPeriodSeconds: container.healthCheck?.startPeriod ?? 0,
    },
    stopTimeoutSeconds: container.stopTimeout ?? null,
    taskStartSeconds: ASSUMED_TASK_START_SECONDS,
    bakeSeconds: 0,
  });
  const parts = (p: typeof result.now) => p.parts.map((x) => `${x.part} ${x.seconds} s`).join(" + ");
  return [
    "",
    "### Rollout speed (the advisor, bundled task-def.json)",
    "",
    `Shipyard's bundled task-def.json (container health check every ${container.healthCheck?.interval} s, stopTimeout ${container.stopTimeout} s) behind a target group at AWS's defaults (deregistration delay ${AWS_DEFAULTS.deregistrationDelaySeconds} s, health checks ${AWS_DEFAULTS.healthCheckIntervalSeconds} s × ${AWS_DEFAULTS.healthyThresholdCount}), no grace period, 2 tasks at 200%/100%; task start assumed ${ASSUMED_TASK_START_SECONDS} s. Predicted by the advisor's model (\`shipyard plan\` prints the same).`,
    "",
    "| Settings | Predicted rollout | Parts | Dominated by |",
    "|---|---:|---|---|",
    `| AWS defaults | ${formatSeconds(result.now.seconds ?? 0)} | ${parts(result.now)} | ${result.now.dominatedBy} |`,
    ...result.advice.map(
      (a) =>
        `| + ${a.setting} ${a.from} → ${a.to} | ${formatSeconds(a.predictedSeconds)} | −${a.savesSeconds} s | |`,
    ),
    `| with every advice | ${formatSeconds(result.withAdvice.seconds ?? 0)} | ${parts(result.withAdvice)} | ${result.withAdvice.dominatedBy} |`,
  ];
}

/**
 * Several services of one environment in one cluster (web and workers, one image), rolled out
 * together: the shared wait (rollOutAll: one loop, ceil(N/10) DescribeServices per poll) against the
 * same services rolled out by N independent single-service waits in parallel (rollOut each, one
 * DescribeServices per service per poll). Every service completes at SEVERAL_DONE_AT s, off the
 * poll grid on purpose, so "verdict after the slowest completion" shows the cost of the grid.
 */
const SEVERAL_COUNTS = [1, 2, 5, 10, 11, 25];
const SEVERAL_DONE_AT = 62;

interface SeveralMeasurement {
  describes: number;
  polls: number;
  verdictAt: number;
  allCompleted: boolean;
  failed: number;
  stopped: number;
}

/**
 * A clock for N loops that each sleep: time moves only once every loop still running is asleep,
 * to the earliest wake-up, so N parallel waits poll at the same instants as one loop would
 * (the FakeClock alone would jump once per sleeper).
 */
class LockstepClock {
  private sleepers: Array<{ at: number; wake: () => void }> = [];

  constructor(
    private readonly fake: FakeClock,
    private running: number,
  ) {}

  now(): number {
    return this.fake.now();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.sleepers.push({ at: this.fake.now() + ms, wake });
      this.advanceWhenAllAsleep();
    });
  }

  /** One loop finished: it no longer holds time back. */
  finished(): void {
    this.running -= 1;
    this.advanceWhenAllAsleep();
  }

  private advanceWhenAllAsleep(): void {
    if (this.sleepers.length === 0 || this.sleepers.length < this.running) return;
    const next = Math.min(...this.sleepers.map((s) => s.at));
    this.fake.advance(next - this.fake.now());
    const due = this.sleepers.filter((s) => s.at <= next);
    this.sleepers = this.sleepers.filter((s) => s.at > next);
    for (const sleeper of due) sleeper.wake();
  }
}

/** When one service fails instead (worker-1: the circuit breaker at this many seconds). */
const SEVERAL_FAILS_AT = 32;

async function measureSeveral(count: number, shared: boolean, oneFails = false): Promise<SeveralMeasurement> {
  const clock = new FakeClock();
  const sim = await EcsSimulator.start(clock);
  const client = (maxAttempts: number) =>
    new ECSClient({
      region: "eu-west-1",
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIABENCH", secretAccessKey: "bench" },
      maxAttempts,
    });
  const clients = [client(3), client(1)];
  try {
    sim.timing = { startSeconds: 5, healthySeconds: SEVERAL_DONE_AT, failAfterSeconds: SEVERAL_FAILS_AT };
    if (oneFails) sim.serviceBehaviours.set("worker-1", "failing");
    const image = (c: string) => `ghcr.io/acme/app@sha256:${c.repeat(64)}`;
    const v1 = sim.registerTaskDefinition({
      family: "app",
      containerDefinitions: [{ name: "app", image: image("0") }],
    });
    const v2 = sim.registerTaskDefinition({
      family: "app",
      containerDefinitions: [{ name: "app", image: image("a") }],
    });
    const names = Array.from({ length: count }, (_, i) => (i === 0 ? "web" : `worker-${i}`));
    for (const service of names) sim.createService({ cluster: "main", service, taskDefinition: v1 });
    const ecs = new Ecs({ mutations: clients[0]!, polls: clients[1]! });
    const { output: progress } = captureOutput();
    const lockstep = new LockstepClock(clock, count);
    const change = (service: string): RolloutOptions => ({
      ecs,
      ref: { cluster: "main", service },
      clock: shared ? clock : lockstep,
      progress,
      signal: new AbortController().signal,
      settings: DeploymentSchema.parse({ pollSeconds: POLL_SECONDS, timeoutSeconds: 900 }),
      events: new EventLog(clock, progress),
      taskDefinitionArn: v2,
    });
    const t0 = clock.now();
    const results = shared
      ? await rollOutAll(names.map(change), { stopOnFirstFailure: true })
      : await Promise.all(names.map((name) => rollOut(change(name)).finally(() => lockstep.finished())));
    const reads = sim.callsTo("DescribeServices").filter((c) => c.atMs >= t0);
    return {
      describes: reads.length,
      polls: new Set(reads.map((c) => c.atMs)).size,
      verdictAt: (clock.now() - t0) / 1000,
      allCompleted: results.every((r) => r.status === "completed"),
      failed: results.filter((r) => r.status === "failed").length,
      stopped: results.filter((r) => r.status === "stopped").length,
    };
  } finally {
    for (const c of clients) c.destroy();
    await sim.stop();
  }
}

async function severalServicesSection(): Promise<string[]> {
  const rows = [
    "| Services N | Goal ceil(N/10) | Shared wait: DescribeServices / poll | N waits: DescribeServices / poll | Shared / N waits | Polls (shared, N waits) | Verdict after the slowest completion, polls (shared, N waits) | All completed |",
    "|---:|---:|---:|---:|---:|---|---|---|",
  ];
  const failures: string[] = [];
  for (const count of SEVERAL_COUNTS) {
    const shared = await measureSeveral(count, true);
    const baseline = await measureSeveral(count, false);
    const perPoll = (m: SeveralMeasurement) => m.describes / m.polls;
    const late = (m: SeveralMeasurement) => (m.verdictAt - SEVERAL_DONE_AT) / POLL_SECONDS;
    const goal = Math.ceil(count / 10);
    if (perPoll(shared) !== goal)
      failures.push(`N=${count}: ${perPoll(shared)} calls per poll, goal ${goal}`);
    if (late(shared) > 1)
      failures.push(`N=${count}: verdict ${late(shared)} polls after the slowest completion`);
    rows.push(
      `| ${count} | ${goal} | ${perPoll(shared).toFixed(2)} | ${perPoll(baseline).toFixed(2)} | ${(perPoll(shared) / perPoll(baseline)).toFixed(2)} | ${shared.polls}, ${baseline.polls} | ${late(shared).toFixed(1)}, ${late(baseline).toFixed(1)} | ${shared.allCompleted && baseline.allCompleted ? "yes" : "NO"} |`,
    );
  }
  const failing = [
    "| Services N | Shared wait (stop on first failure): verdict at | results | N waits: verdict at | results |",
    "|---:|---:|---|---:|---|",
  ];
  for (const count of [2, 10, 25]) {
    const shared = await measureSeveral(count, true, true);
    const baseline = await measureSeveral(count, false, true);
    const results = (m: SeveralMeasurement) =>
      `${m.failed} failed, ${m.stopped} stopped, ${count - m.failed - m.stopped} completed`;
    failing.push(
      `| ${count} | ${shared.verdictAt} s | ${results(shared)} | ${baseline.verdictAt} s | ${results(baseline)} |`,
    );
  }
  return [
    "",
    "### Several services in one cluster",
    "",
    `N services of one environment (one image) rolled out together in the ECS simulator on virtual time (poll ${POLL_SECONDS} s; every service completes at ${SEVERAL_DONE_AT} s, off the poll grid). "Shared wait": rollOutAll, one loop reading all services, ten per DescribeServices. "N waits": the same services rolled out by N independent single-service waits in parallel (rollOut each), polling at the same instants. DescribeServices / poll = DescribeServices sent during the wait / polls; the verdict delay counts from the slowest service's completion to the last result.`,
    "",
    ...rows,
    "",
    `- Goal: DescribeServices per poll = ceil(N/10), and the verdict at most one poll after the slowest service finishes: ${failures.length === 0 ? "met for every N" : `NOT met (${failures.join("; ")})`}`,
    "",
    `When worker-1's tasks fail (the circuit breaker marks its deployment FAILED at ${SEVERAL_FAILS_AT} s) while the others roll for ${SEVERAL_DONE_AT} s: the shared wait stops waiting for the others in the poll that sees the failure, so the restore can start then; N independent waits only answer together once the slowest finished.`,
    "",
    ...failing,
  ];
}

/**
 * The same through the deploy command (every step a deploy of several services takes: preflight of
 * each, register each, lock, UpdateService for all, the shared wait, record last-good on each), with
 * no verification configured, so the verdict is the rollout's: from the slowest service's
 * completion to the report, and the AWS calls the whole deploy made.
 */
async function severalServicesDeployRows(): Promise<string[]> {
  const rows = [
    "| Services N | Deploy | DescribeServices / poll during the rollout | Goal ceil(N/10) | Report after the slowest completion, polls | ECS calls in all | per service |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const count of [1, 2, 10, 11, 25]) {
    const world = await startWorld({ template: SERVICES_TEMPLATE });
    try {
      world.sim.timing = { startSeconds: 5, healthySeconds: SEVERAL_DONE_AT, failAfterSeconds: 30 };
      const names = ["web", ...Array.from({ length: count - 1 }, (_, i) => `worker-${i + 1}`)];
      for (const name of names.slice(1)) addService(world, name);
      world.setConfig(servicesConfig(names.map((name, i) => ({ name, traffic: i === 0 }))));
      const report = await world.deploy();
      const calls = world.sim.calls;
      const lastUpdate = calls.findLastIndex((c) => c.operation === "UpdateService");
      const updatedAt = calls[lastUpdate]!.atMs;
      const polls = calls
        .slice(lastUpdate + 1)
        .filter(
          (c) =>
            c.operation === "DescribeServices" &&
            c.atMs <= updatedAt + (SEVERAL_DONE_AT + POLL_SECONDS) * 1000,
        );
      const perPoll = polls.length / new Set(polls.map((c) => c.atMs)).size;
      const late =
        (Date.parse(report.timings.finishedAt) - updatedAt - SEVERAL_DONE_AT * 1000) / 1000 / POLL_SECONDS;
      rows.push(
        `| ${count} | ${report.outcome} (exit ${report.exitCode}) | ${perPoll.toFixed(2)} | ${Math.ceil(count / 10)} | ${late.toFixed(1)} | ${calls.length} | ${(calls.length / count).toFixed(1)} |`,
      );
    } finally {
      await world.stop();
    }
  }
  return [
    "",
    `A whole \`deploy\` of an environment of N services (command layer, ECS simulator, virtual time; each service completes ${SEVERAL_DONE_AT} s after its UpdateService; no smoke test or gate, so the verdict is the rollout's):`,
    "",
    ...rows,
  ];
}

export async function run(): Promise<string> {
  const throttling = [
    "",
    "Under throttling (the whole deploy, ECS simulator, virtual time): reads during a wait are not retried inside the SDK and are bounded by the poll interval, so a throttled read is no news and the cadence holds.",
    "",
    "| Scenario | Deploy | Largest gap between two reads | Gap / poll interval | Throttled reads |",
    "|---|---|---|---|---|",
    await throttlingRow(),
  ];
  const rows: string[] = [
    "| Scenario | Waiter | Verdict | Noticed after decision (s) | DescribeServices calls | Calls / min | Calls / poll |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const scenario of scenarios) {
    for (const waiter of ["shipyard", "sdk-default", "sdk-capped"] as const) {
      const runs = waiter === "shipyard" ? [await measure(scenario, waiter, 0)] : [];
      if (waiter !== "shipyard") for (const seed of SEEDS) runs.push(await measure(scenario, waiter, seed));
      const mean = (f: (m: Measurement) => number) => runs.reduce((s, m) => s + f(m), 0) / runs.length;
      const max = Math.max(...runs.map((m) => m.noticedAt - scenario.decidedAt));
      const verdicts = [...new Set(runs.map((m) => m.verdict))].join("/");
      const correct = runs.every((m) => m.verdict === scenario.truth);
      const latency =
        runs.length > 1
          ? `${mean((m) => m.noticedAt - scenario.decidedAt).toFixed(1)} mean, ${max.toFixed(1)} max`
          : (runs[0]!.noticedAt - scenario.decidedAt).toFixed(1);
      const perMinute = mean((m) => (m.noticedAt > 0 ? (m.describes * 60) / m.noticedAt : m.describes));
      const describes = mean((m) => m.describes);
      const perPoll = mean((m) => m.describes / m.polls);
      rows.push(
        `| ${scenario.name} | ${label[waiter]} | ${verdicts}${correct ? "" : " ✗ wrong"} | ${latency} | ${describes.toFixed(1)} | ${perMinute.toFixed(1)} | ${perPoll.toFixed(2)} |`,
      );
    }
  }
  return [
    `Virtual time in the ECS simulator; SDK rows averaged over ${SEEDS.length} jitter seeds. "Noticed after decision": seconds from the moment ECS decided (rollout completed, or the circuit breaker marked it FAILED) to the waiter returning. Every waiter issues one DescribeServices per poll; the difference is how often it polls and what it concludes.`,
    "",
    ...rows,
    ...throttling,
    ...(await timeBudget()),
    ...rolloutSpeedRows(),
    ...(await severalServicesSection()),
    ...(await severalServicesDeployRows()),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await run());
}
