/**
 * Waiting on deployments, truthfully: a fixed, capped poll interval (never backed off, so a
 * finished rollout is noticed within one interval), ONE DescribeServices per poll for up to ten
 * services of a cluster (plus our service deployment for native strategies), ECS service events
 * printed as they arrive with the elapsed time, a timeout per deployment, and an abort signal
 * (SIGINT/SIGTERM/SIGHUP) that stops the wait without touching any service. Several services (an
 * environment's web and workers) share one loop; each is judged on its own deployment.
 *
 * Each read is bounded by the poll interval and is not retried inside the SDK: a throttled, 5xx or
 * timed-out read is "no news" and the next poll comes on time. Only reads that fail for other reasons
 * (access denied, the service gone) count towards giving up.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, type ServiceLookup, type ServiceRef } from "../aws/ecs.js";
import { isTransient } from "../aws/errors.js";
import type { Clock } from "../clock.js";
import type { DeploymentSettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { formatSeconds } from "../report/progress.js";
import type { Judgement, Observation, StrategyPlan, WaitTarget } from "./strategies.js";

/** What every change to a service (a rollout, a restore) needs. */
export interface ServiceChange {
  ecs: Ecs;
  ref: ServiceRef;
  clock: Clock;
  progress: Progress;
  signal: AbortSignal;
  settings: DeploymentSettings;
  /** Collects ECS events across waits (the report lists them). */
  events: EventLog;
  /** The revision the service is to run. */
  taskDefinitionArn: string;
}

/** What every watch of one wait shares: the gateway, the clock, the output, the abort, the cadence. */
export interface WaitShared {
  ecs: Ecs;
  clock: Clock;
  progress: Progress;
  signal: AbortSignal;
  pollSeconds: number;
  /** Results count their seconds from this instant (a restore counts from its start); default: the wait's. */
  secondsFrom?: number;
}

/** One deployment a wait watches: its service, judged by its own strategy against its own target. */
export interface Watch {
  ref: ServiceRef;
  timeoutSeconds: number;
  strategy: Pick<StrategyPlan, "judge" | "readsServiceDeployment">;
  target: WaitTarget;
  /** Collects ECS events across waits (the report lists them). */
  events: EventLog;
  /** What we wait for, for progress lines ("rollout of web:13"). */
  label: string;
}

export interface WaitOptions extends WaitShared, Watch {}

export type WaitResult =
  | { status: "completed"; service: Service; seconds: number }
  | { status: "failed"; reason: string; service: Service; seconds: number }
  | { status: "timeout"; reason: string; service: Service | null; seconds: number }
  | { status: "aborted"; reason: string; service: Service | null; seconds: number }
  | { status: "unknown"; reason: string; service: Service | null; seconds: number };

/** A watch no longer waited on because another one of the same wait failed (stopOnFirstFailure). */
export type WatchResult =
  | WaitResult
  | { status: "stopped"; reason: string; service: Service | null; seconds: number };

/** Reading ECS failed this many times in a row for a reason other than load: stop guessing. */
const MAX_CONSECUTIVE_READ_ERRORS = 3;

/**
 * Remembers which ECS service events were already shown. Events that existed before the command
 * changed anything are marked seen up front (`markSeen`), so nothing depends on the runner's clock
 * agreeing with AWS's; the elapsed time printed is the runner's own.
 */
export class EventLog {
  readonly seen: Array<{ at: string; message: string }> = [];
  private readonly ids = new Set<string>();
  private startedAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly progress: Progress,
  ) {
    this.startedAt = clock.now();
  }

  /** Elapsed times count from now: the moment the service starts changing. */
  startCounting(): void {
    this.startedAt = this.clock.now();
  }

  /** Events already on the service before we changed anything: not news. */
  markSeen(service: Service): void {
    for (const event of service.events ?? []) if (event.id) this.ids.add(event.id);
  }

  /** Prints the events not printed yet, oldest first; returns the latest message. */
  record(service: Service): string | null {
    const fresh = (service.events ?? []).filter((e) => e.id && !this.ids.has(e.id)).reverse();
    const elapsed = formatSeconds(this.clock.now() - this.startedAt);
    for (const event of fresh) {
      this.ids.add(event.id!);
      const message = event.message ?? "";
      this.seen.push({ at: (event.createdAt ?? new Date(this.clock.now())).toISOString(), message });
      this.progress.step(`[${elapsed}] ECS: ${message}`);
    }
    return this.seen.at(-1)?.message ?? null;
  }
}

/** Even when nothing changes, say that we are still waiting this often. */
const HEARTBEAT_MS = 30_000;

/** Where one watch stands between polls. */
interface WatchState {
  watch: Watch;
  deadline: number;
  lastService: Service | null;
  lastSummary: string;
  lastPrinted: number;
  /** Consecutive reads that failed for a reason other than load. */
  errors: number;
  /** Consecutive reads that failed under load (throttled, 5xx, timed out). */
  quietReads: number;
  result: WatchResult | null;
}

/** What one wait knows about itself. */
interface Loop {
  shared: WaitShared;
  started: number;
  /** Several watches: warnings name the one they are about. */
  several: boolean;
}

/** How a watch ended, before its seconds are counted. */
type Ending = WatchResult extends infer R ? (R extends WatchResult ? Omit<R, "seconds"> : never) : never;

/** One poll's news about one watch: what ECS showed, or why it could not be read. */
type Read = { observation: Observation } | { error: unknown };

/** One deployment: `waitForDeployments` with a list of one. */
export async function waitForDeployment(options: WaitOptions): Promise<WaitResult> {
  const [result] = await waitForDeployments(options, [options], { stopOnFirstFailure: false });
  // Only another watch's failure stops a watch: a wait of one ends any other way.
  if (result === undefined || result.status === "stopped") throw new Error("a wait of one was stopped");
  return result;
}

/**
 * Several deployments in ONE loop: each poll reads every watch still waiting at once (ceil(N/10)
 * DescribeServices per cluster, plus each native strategy's service deployment), and judges each
 * with its own strategy, target, timeout and error count. The verdict comes in the poll that decides
 * the last watch: the loop never sleeps after it. With `stopOnFirstFailure`, a watch that fails, times
 * out or becomes unreadable ends the others that have not completed as "stopped": the caller is about
 * to restore them anyway. Results come in the order of `watches`.
 */
export async function waitForDeployments(
  shared: WaitShared,
  watches: Watch[],
  options: { stopOnFirstFailure: boolean },
): Promise<WatchResult[]> {
  const loop: Loop = { shared, started: shared.clock.now(), several: watches.length > 1 };
  const states = watches.map((watch) => startWatching(loop, watch));
  for (;;) {
    const waiting = states.filter((s) => s.result === null);
    if (waiting.length === 0) return states.map((s) => s.result!);
    if (shared.signal.aborted) {
      for (const state of waiting) end(loop, state, aborted(loop, state));
      continue;
    }
    const reads = await observeAll(shared, waiting);
    for (const [i, state] of waiting.entries()) absorb(loop, state, reads[i]!);
    for (const state of waiting) if (state.result === null) checkTimeout(loop, state);
    if (options.stopOnFirstFailure) stopAfterFailure(loop, states);
    const still = states.filter((s) => s.result === null);
    if (still.length === 0) continue;
    const remaining = Math.min(...still.map((s) => s.deadline - shared.clock.now()));
    try {
      await shared.clock.sleep(Math.min(shared.pollSeconds * 1000, remaining), shared.signal);
    } catch {
      for (const state of still) end(loop, state, aborted(loop, state));
    }
  }
}

function startWatching(loop: Loop, watch: Watch): WatchState {
  loop.shared.progress.info(
    `Waiting for ${watch.label} (polling every ${loop.shared.pollSeconds}s, timeout ${formatSeconds(watch.timeoutSeconds * 1000)})`,
  );
  return {
    watch,
    deadline: loop.started + watch.timeoutSeconds * 1000,
    lastService: null,
    lastSummary: "",
    lastPrinted: loop.started,
    errors: 0,
    quietReads: 0,
    result: null,
  };
}

function elapsedSeconds(loop: Loop): number {
  const from = loop.shared.secondsFrom ?? loop.started;
  return Math.round((loop.shared.clock.now() - from) / 1000);
}

function end(loop: Loop, state: WatchState, result: Ending): void {
  state.result = { ...result, seconds: elapsedSeconds(loop) } as WatchResult;
}

function aborted(loop: Loop, state: WatchState): Ending {
  const reason = abortReason(loop.shared.signal, state.watch.label, state.lastSummary);
  return { status: "aborted", reason, service: state.lastService };
}

/** Takes one poll's news: judges what ECS showed, or counts the failed read. */
function absorb(loop: Loop, state: WatchState, read: Read): void {
  if ("observation" in read) {
    state.errors = 0;
    state.quietReads = 0;
    state.lastService = read.observation.service;
    state.watch.events.record(read.observation.service);
    judge(loop, state, state.watch.strategy.judge(read.observation, state.watch.target));
    return;
  }
  if (loop.shared.signal.aborted) {
    end(loop, state, aborted(loop, state));
    return;
  }
  const { progress } = loop.shared;
  const about = loop.several ? `${state.watch.label}: ` : "";
  const why = `${awsErrorName(read.error)}: ${(read.error as Error).message}`;
  if (isTransient(read.error)) {
    // Load on ECS is not news about the deployment: say so once per streak, keep the cadence.
    state.quietReads += 1;
    if (state.quietReads === 1) progress.warn(`${about}no news from ECS (${why}); polling on`);
  } else {
    state.errors += 1;
    progress.warn(
      `${about}reading the service failed (${state.errors}/${MAX_CONSECUTIVE_READ_ERRORS}): ${why}`,
    );
  }
  if (state.errors >= MAX_CONSECUTIVE_READ_ERRORS) {
    end(loop, state, {
      status: "unknown",
      reason: `ECS could not be read: ${why}`,
      service: state.lastService,
    });
  }
}

function judge(loop: Loop, state: WatchState, judgement: Judgement): void {
  const service = state.lastService!;
  if (judgement.state === "completed") {
    end(loop, state, { status: "completed", service });
    return;
  }
  if (judgement.state === "failed") {
    end(loop, state, { status: "failed", reason: judgement.reason, service });
    return;
  }
  const { clock, progress } = loop.shared;
  if (judgement.summary === state.lastSummary && clock.now() - state.lastPrinted < HEARTBEAT_MS) return;
  state.lastSummary = judgement.summary;
  state.lastPrinted = clock.now();
  const latest = state.watch.events.seen.at(-1)?.message;
  progress.step(
    `${state.watch.label}: ${judgement.summary} (${formatSeconds(clock.now() - loop.started)} elapsed${latest ? `; last ECS event: ${latest}` : ""})`,
  );
}

function checkTimeout(loop: Loop, state: WatchState): void {
  if (state.deadline - loop.shared.clock.now() > 0) return;
  const { label, timeoutSeconds } = state.watch;
  end(loop, state, {
    status: "timeout",
    reason: `${label} did not finish within ${formatSeconds(timeoutSeconds * 1000)} (last state: ${state.lastSummary || "unknown"})`,
    service: state.lastService,
  });
}

const FAILURES = new Set<WatchResult["status"]>(["failed", "timeout", "unknown"]);

/** Once one watch failed, the others that have not completed are no longer worth waiting for. */
function stopAfterFailure(loop: Loop, states: WatchState[]): void {
  const failed = states.find((s) => s.result !== null && FAILURES.has(s.result.status));
  if (failed === undefined) return;
  for (const state of states.filter((s) => s.result === null)) {
    end(loop, state, {
      status: "stopped",
      reason: `stopped waiting: ${failed.watch.label} failed`,
      service: state.lastService,
    });
  }
}

/**
 * Reads every waiting watch's service, grouped by cluster so each cluster costs ceil(N/10)
 * DescribeServices, then the service deployments the native strategies judge by, all at once.
 * Each read is bounded by the poll interval and not retried: the next poll is the retry.
 */
async function observeAll(shared: WaitShared, waiting: WatchState[]): Promise<Read[]> {
  const read = { poll: { timeoutMs: shared.pollSeconds * 1000 }, signal: shared.signal };
  const byCluster = new Map<string, Promise<Map<string, ServiceLookup>>>();
  for (const cluster of new Set(waiting.map((s) => s.watch.ref.cluster))) {
    const names = waiting.filter((s) => s.watch.ref.cluster === cluster).map((s) => s.watch.ref.service);
    byCluster.set(cluster, shared.ecs.describeServicesByName(cluster, names, read));
  }
  return Promise.all(
    waiting.map(async ({ watch }): Promise<Read> => {
      try {
        const lookup = (await byCluster.get(watch.ref.cluster)!).get(watch.ref.service)!;
        if (!lookup.found)
          throw Object.assign(new Error(lookup.reason), { name: "ServiceNotFoundException" });
        const arn = watch.target.serviceDeploymentArn;
        const serviceDeployment =
          watch.strategy.readsServiceDeployment && arn
            ? await shared.ecs.describeServiceDeployment(arn, read)
            : null;
        return { observation: { service: lookup.service, serviceDeployment } };
      } catch (error) {
        return { error };
      }
    }),
  );
}

/** What a person needs after Ctrl-C: why we stopped and where the deployment stood. */
function abortReason(signal: AbortSignal, label: string, lastSummary: string): string {
  const reason = signal.reason;
  const text = reason instanceof Error ? reason.message : reason ? String(reason) : "aborted";
  return `the wait was interrupted (${text}) during the ${label}${lastSummary ? ` at ${lastSummary}` : ""}`;
}
