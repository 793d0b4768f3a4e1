/**
 * Benchmark: how soon does the waiter notice that our deployment finished (or failed), and how many
 * DescribeServices calls does it spend? Shipyard's wait (fixed 5 s poll, one describe per poll) vs the
 * AWS SDK's `waitUntilServicesStable` (defaults: 15 s minimum, exponential backoff to 600 s), and the
 * SDK waiter with maxDelay capped at 15 s. Everything runs in the ECS simulator on virtual time: the
 * simulator moves with a FakeClock, and while the SDK waiter runs, its own sleeps advance that clock
 * instead of waiting (Date.now and the waiter's setTimeout are redirected), so a 7-minute rollout is
 * measured in milliseconds. The SDK waiter's jitter is seeded, and each SDK row is averaged over seeds.
 */
import { ECSClient, UpdateServiceCommand, waitUntilServicesStable } from "@aws-sdk/client-ecs";
import { Ecs } from "../../src/aws/ecs.js";
import { strategies } from "../../src/deploy/strategies.js";
import { EventLog, waitForDeployment } from "../../src/deploy/wait.js";
import { FakeClock } from "../support/clock.js";
import { type Behaviour, EcsSimulator } from "../support/ecs-sim/simulator.js";
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
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await run());
}
