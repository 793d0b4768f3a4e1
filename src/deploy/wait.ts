/**
 * Waiting on one deployment, truthfully: a fixed, capped poll interval (never backed off, so a
 * finished rollout is noticed within one interval), ONE DescribeServices per poll (plus our service
 * deployment for native strategies), ECS service events printed as they arrive with the elapsed time,
 * a timeout, and an abort signal (SIGINT/SIGTERM/SIGHUP) that stops the wait without touching the
 * service.
 *
 * Each read is bounded by the poll interval and is not retried inside the SDK: a throttled, 5xx or
 * timed-out read is "no news" and the next poll comes on time. Only reads that fail for other reasons
 * (access denied, the service gone) count towards giving up.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, type ServiceRef } from "../aws/ecs.js";
import { isTransient } from "../aws/errors.js";
import type { Clock } from "../clock.js";
import type { DeploymentSettings } from "../config/schema.js";
import type { Progress } from "../report/progress.js";
import { formatSeconds } from "../report/progress.js";
import type { Judgement, StrategyPlan, WaitTarget } from "./strategies.js";

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

export interface WaitOptions {
  ecs: Ecs;
  ref: ServiceRef;
  clock: Clock;
  progress: Progress;
  signal: AbortSignal;
  pollSeconds: number;
  timeoutSeconds: number;
  strategy: Pick<StrategyPlan, "judge" | "readsServiceDeployment">;
  target: WaitTarget;
  /** Collects ECS events across waits (the report lists them). */
  events: EventLog;
  /** What we wait for, for progress lines ("rollout of web:13"). */
  label: string;
}

export type WaitResult =
  | { status: "completed"; service: Service; seconds: number }
  | { status: "failed"; reason: string; service: Service; seconds: number }
  | { status: "timeout"; reason: string; service: Service | null; seconds: number }
  | { status: "aborted"; reason: string; service: Service | null; seconds: number }
  | { status: "unknown"; reason: string; service: Service | null; seconds: number };

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

export async function waitForDeployment(options: WaitOptions): Promise<WaitResult> {
  const { clock, progress, signal } = options;
  const started = clock.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const seconds = () => Math.round((clock.now() - started) / 1000);
  let lastService: Service | null = null;
  let lastSummary = "";
  let lastPrinted = started;
  let errors = 0;
  let quietReads = 0;
  progress.info(
    `Waiting for ${options.label} (polling every ${options.pollSeconds}s, timeout ${formatSeconds(options.timeoutSeconds * 1000)})`,
  );
  for (;;) {
    if (signal.aborted)
      return {
        status: "aborted",
        reason: abortReason(signal, options.label, lastSummary),
        service: lastService,
        seconds: seconds(),
      };
    let judgement: Judgement | null = null;
    try {
      const observation = await observe(options);
      errors = 0;
      quietReads = 0;
      lastService = observation.service;
      options.events.record(observation.service);
      judgement = options.strategy.judge(observation, options.target);
    } catch (error) {
      if (signal.aborted)
        return {
          status: "aborted",
          reason: abortReason(signal, options.label, lastSummary),
          service: lastService,
          seconds: seconds(),
        };
      const why = `${awsErrorName(error)}: ${(error as Error).message}`;
      if (isTransient(error)) {
        // Load on ECS is not news about the deployment: say so once per streak, keep the cadence.
        quietReads += 1;
        if (quietReads === 1) progress.warn(`no news from ECS (${why}); polling on`);
      } else {
        errors += 1;
        progress.warn(`reading the service failed (${errors}/${MAX_CONSECUTIVE_READ_ERRORS}): ${why}`);
      }
      if (errors >= MAX_CONSECUTIVE_READ_ERRORS) {
        return {
          status: "unknown",
          reason: `ECS could not be read: ${why}`,
          service: lastService,
          seconds: seconds(),
        };
      }
    }
    if (judgement?.state === "completed")
      return { status: "completed", service: lastService!, seconds: seconds() };
    if (judgement?.state === "failed") {
      return { status: "failed", reason: judgement.reason, service: lastService!, seconds: seconds() };
    }
    if (judgement && (judgement.summary !== lastSummary || clock.now() - lastPrinted >= HEARTBEAT_MS)) {
      lastSummary = judgement.summary;
      lastPrinted = clock.now();
      const latest = options.events.seen.at(-1)?.message;
      progress.step(
        `${options.label}: ${judgement.summary} (${formatSeconds(clock.now() - started)} elapsed${latest ? `; last ECS event: ${latest}` : ""})`,
      );
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      return {
        status: "timeout",
        reason: `${options.label} did not finish within ${formatSeconds(options.timeoutSeconds * 1000)} (last state: ${lastSummary || "unknown"})`,
        service: lastService,
        seconds: seconds(),
      };
    }
    try {
      await clock.sleep(Math.min(options.pollSeconds * 1000, remaining), signal);
    } catch {
      return {
        status: "aborted",
        reason: abortReason(signal, options.label, lastSummary),
        service: lastService,
        seconds: seconds(),
      };
    }
  }
}

async function observe(options: WaitOptions) {
  const read = { poll: { timeoutMs: options.pollSeconds * 1000 }, signal: options.signal };
  const lookup = await options.ecs.describeService(options.ref, read);
  if (!lookup.found) throw Object.assign(new Error(lookup.reason), { name: "ServiceNotFoundException" });
  const arn = options.target.serviceDeploymentArn;
  const serviceDeployment =
    options.strategy.readsServiceDeployment && arn
      ? await options.ecs.describeServiceDeployment(arn, read)
      : null;
  return { service: lookup.service, serviceDeployment };
}

/** What a person needs after Ctrl-C: why we stopped and where the deployment stood. */
function abortReason(signal: AbortSignal, label: string, lastSummary: string): string {
  const reason = signal.reason;
  const text = reason instanceof Error ? reason.message : reason ? String(reason) : "aborted";
  return `the wait was interrupted (${text}) during the ${label}${lastSummary ? ` at ${lastSummary}` : ""}`;
}
