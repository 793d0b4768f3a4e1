/**
 * The rollout-speed advisor: how long the shortest rollout of a service can take with the settings it
 * has, what dominates that time, and which settings would shorten it the most. Pure: the command
 * reads the settings (the service, its target groups, the task definition) and this file does the
 * arithmetic. It never changes a setting; it names them.
 *
 * ## The model
 *
 * A rolling deployment replaces the tasks in batches. ECS may run at most
 * floor(desired × maximumPercent / 100) tasks and must keep ceil(desired × minimumHealthyPercent / 100)
 * healthy, so each batch replaces
 *
 *     batchSize = min(desired, upper − lower)            (0: ECS cannot make progress)
 *     batches   = ceil(desired / batchSize)
 *
 * and one batch takes
 *
 *     taskStart                                   (provisioning, image pull, the app's boot)
 *   + max(containerHealthy, gracePeriod, loadBalancerHealthy)
 *   + deregistrationDelay                         (the old targets drain before their tasks stop)
 *
 * where containerHealthy = the container health check's interval (its first check passes; retries
 * and startPeriod only matter for a container that fails), loadBalancerHealthy = healthy threshold ×
 * interval of the target group's health check (a new target needs that many passes in a row), and
 * the grace period is the time ECS gives the task before it trusts those checks. Without a
 * container health check or a load balancer, their terms are 0.
 *
 *     rollout = batches × batch + bake time (blue-green, canary, linear: time both revisions stay up
 *               on purpose; not the advisor's business)
 *
 * Task start is not a setting ECS reports: it is an assumption (ASSUMED_TASK_START_SECONDS unless
 * the caller knows better).
 */

/** Fargate's typical start of a small Node.js task: provisioning, image pull, boot. */
export const ASSUMED_TASK_START_SECONDS = 30;

/** The defaults AWS gives a target group and a container health check when nobody sets them. */
export const AWS_DEFAULTS = {
  deregistrationDelaySeconds: 300,
  healthCheckIntervalSeconds: 30,
  healthyThresholdCount: 5,
  containerHealthCheckIntervalSeconds: 30,
} as const;

/** What the advisor would set, and the floor below which it does not go. */
export const ADVISED = {
  deregistrationDelaySeconds: 30,
  healthCheckIntervalSeconds: 10,
  healthyThresholdCount: 2,
  containerHealthCheckIntervalSeconds: 10,
} as const;

export interface LoadBalancerSettings {
  /** The target group's name or ARN, for the advice. */
  targetGroup: string;
  healthCheckIntervalSeconds: number;
  healthyThresholdCount: number;
  deregistrationDelaySeconds: number;
}

export interface ContainerHealthCheck {
  intervalSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export interface RolloutSettings {
  desiredCount: number;
  maximumPercent: number;
  minimumHealthyPercent: number;
  healthCheckGracePeriodSeconds: number;
  /** The slowest of the service's target groups; null without a load balancer. */
  loadBalancer: LoadBalancerSettings | null;
  /** The container's health check; null when the task definition has none. */
  containerHealthCheck: ContainerHealthCheck | null;
  /** The container's stopTimeout (seconds), when set: how long the app may drain on SIGTERM. */
  stopTimeoutSeconds: number | null;
  taskStartSeconds: number;
  bakeSeconds: number;
  /** Blue-green, canary and linear start every new task at once, whatever the percents say. */
  allAtOnce?: boolean;
}

export type Part =
  | "task start"
  | "container health check"
  | "grace period"
  | "load balancer health checks"
  | "deregistration delay"
  | "bake time";

export interface RolloutPrediction {
  /** null: the percents leave no room for a batch (ECS cannot replace a task). */
  seconds: number | null;
  batches: number;
  batchSize: number;
  batchSeconds: number;
  /** Seconds per part over the whole rollout (batches × the part); only the health term that counts. */
  parts: Array<{ part: Part; seconds: number }>;
  /** The largest part. */
  dominatedBy: Part | null;
}

/** The shortest rollout the settings allow (see the model above). */
export function predictRollout(settings: RolloutSettings): RolloutPrediction {
  const batchSize = settings.allAtOnce ? settings.desiredCount : batchSizeOf(settings);
  if (settings.desiredCount <= 0) {
    return {
      seconds: settings.bakeSeconds,
      batches: 0,
      batchSize: 0,
      batchSeconds: 0,
      parts: [],
      dominatedBy: null,
    };
  }
  if (batchSize <= 0) {
    return { seconds: null, batches: 0, batchSize: 0, batchSeconds: 0, parts: [], dominatedBy: null };
  }
  const batches = Math.ceil(settings.desiredCount / batchSize);
  const health = healthWait(settings);
  const drain = settings.loadBalancer?.deregistrationDelaySeconds ?? 0;
  const batchSeconds = settings.taskStartSeconds + health.seconds + drain;
  const parts: RolloutPrediction["parts"] = [
    { part: "task start", seconds: batches * settings.taskStartSeconds },
    ...(health.seconds > 0 ? [{ part: health.part, seconds: batches * health.seconds }] : []),
    ...(drain > 0 ? [{ part: "deregistration delay" as const, seconds: batches * drain }] : []),
    ...(settings.bakeSeconds > 0 ? [{ part: "bake time" as const, seconds: settings.bakeSeconds }] : []),
  ];
  const dominant = parts.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  return {
    seconds: batches * batchSeconds + settings.bakeSeconds,
    batches,
    batchSize,
    batchSeconds,
    parts,
    dominatedBy: dominant.part,
  };
}

/** How many tasks one batch replaces: the room between the percents' upper and lower bounds. */
function batchSizeOf(settings: RolloutSettings): number {
  const upper = Math.floor((settings.desiredCount * settings.maximumPercent) / 100);
  const lower = Math.ceil((settings.desiredCount * settings.minimumHealthyPercent) / 100);
  return Math.min(settings.desiredCount, upper - lower);
}

/** The wait for a new task to count as healthy: the slowest of the three. */
function healthWait(settings: RolloutSettings): { part: Part; seconds: number } {
  const candidates: Array<{ part: Part; seconds: number }> = [
    { part: "container health check", seconds: settings.containerHealthCheck?.intervalSeconds ?? 0 },
    { part: "grace period", seconds: settings.healthCheckGracePeriodSeconds },
    {
      part: "load balancer health checks",
      seconds: settings.loadBalancer
        ? settings.loadBalancer.healthyThresholdCount * settings.loadBalancer.healthCheckIntervalSeconds
        : 0,
    },
  ];
  return candidates.reduce((a, b) => (b.seconds > a.seconds ? b : a));
}

/** One setting the advisor would change, and what the rollout takes once it (and those above it) are. */
export interface Advice {
  setting: string;
  from: string;
  to: string;
  why: string;
  /** Seconds this change saves on top of the advice listed before it. */
  savesSeconds: number;
  /** The predicted rollout with this and every earlier advice applied. */
  predictedSeconds: number;
}

export interface RolloutAdvice {
  now: RolloutPrediction;
  advice: Advice[];
  /** The predicted rollout with every advice applied. */
  withAdvice: RolloutPrediction;
}

interface Candidate {
  setting: string;
  from: string;
  to: string;
  why: string;
  apply(settings: RolloutSettings): RolloutSettings;
}

/** The changes worth considering for these settings (each only when it goes below the current value). */
function candidates(settings: RolloutSettings): Candidate[] {
  const found: Candidate[] = [];
  const lb = settings.loadBalancer;
  if (lb && lb.deregistrationDelaySeconds > ADVISED.deregistrationDelaySeconds) {
    const stop = settings.stopTimeoutSeconds;
    found.push({
      setting: `target group ${lb.targetGroup}: deregistration_delay.timeout_seconds`,
      from: `${lb.deregistrationDelaySeconds} s`,
      to: `${ADVISED.deregistrationDelaySeconds} s`,
      why: `the app drains in-flight requests on SIGTERM within its stopTimeout${stop === null ? "" : ` (${stop} s)`}; old targets need no longer than the longest request`,
      apply: (s) => ({
        ...s,
        loadBalancer: { ...s.loadBalancer!, deregistrationDelaySeconds: ADVISED.deregistrationDelaySeconds },
      }),
    });
  }
  if (
    lb &&
    lb.healthCheckIntervalSeconds * lb.healthyThresholdCount >
      ADVISED.healthCheckIntervalSeconds * ADVISED.healthyThresholdCount
  ) {
    const interval = Math.min(lb.healthCheckIntervalSeconds, ADVISED.healthCheckIntervalSeconds);
    const threshold = Math.min(lb.healthyThresholdCount, ADVISED.healthyThresholdCount);
    found.push({
      setting: `target group ${lb.targetGroup}: health check interval × healthy threshold`,
      from: `${lb.healthCheckIntervalSeconds} s × ${lb.healthyThresholdCount}`,
      to: `${interval} s × ${threshold}`,
      why: `a new target is trusted after ${threshold} passes ${interval} s apart; a failing one is still caught by the unhealthy threshold`,
      apply: (s) => ({
        ...s,
        loadBalancer: {
          ...s.loadBalancer!,
          healthCheckIntervalSeconds: interval,
          healthyThresholdCount: threshold,
        },
      }),
    });
  }
  const check = settings.containerHealthCheck;
  if (check && check.intervalSeconds > ADVISED.containerHealthCheckIntervalSeconds) {
    found.push({
      setting: "task definition: container healthCheck.interval",
      from: `${check.intervalSeconds} s`,
      to: `${ADVISED.containerHealthCheckIntervalSeconds} s`,
      why: "the first check decides when a healthy container counts; startPeriod (not the interval) covers a slow boot",
      apply: (s) => ({
        ...s,
        containerHealthCheck: {
          ...s.containerHealthCheck!,
          intervalSeconds: ADVISED.containerHealthCheckIntervalSeconds,
        },
      }),
    });
  }
  // What the health checks take once tightened: the grace period has no reason to be longer.
  const checksNeed = Math.max(
    Math.min(check?.intervalSeconds ?? 0, ADVISED.containerHealthCheckIntervalSeconds),
    lb
      ? Math.min(
          lb.healthCheckIntervalSeconds * lb.healthyThresholdCount,
          ADVISED.healthCheckIntervalSeconds * ADVISED.healthyThresholdCount,
        )
      : 0,
  );
  if (settings.healthCheckGracePeriodSeconds > checksNeed) {
    found.push({
      setting: "service: healthCheckGracePeriodSeconds",
      from: `${settings.healthCheckGracePeriodSeconds} s`,
      to: `${checksNeed} s`,
      why: "the grace period only has to cover the app's boot; give a slow boot a container startPeriod instead",
      apply: (s) => ({ ...s, healthCheckGracePeriodSeconds: checksNeed }),
    });
  }
  if (!settings.allAtOnce && settings.desiredCount > 0 && batchSizeOf(settings) < settings.desiredCount) {
    const maximumPercent = settings.minimumHealthyPercent + 100;
    found.push({
      setting: "shipyard.json deployment.maximumPercent",
      from: `${settings.maximumPercent}%`,
      to: `${maximumPercent}%`,
      why: `with minimumHealthyPercent ${settings.minimumHealthyPercent}% every new task starts in one batch; the cluster needs room for the extra tasks during the rollout (Fargate has it)`,
      apply: (s) => ({ ...s, maximumPercent }),
    });
  }
  return found;
}

/**
 * The prediction now, then the changes in the order that shortens the rollout the most (each one
 * chosen with the earlier ones applied: the health checks sit inside a max, so a change alone can
 * save nothing while another one still dominates), and the prediction with all of them.
 */
export function adviseRollout(settings: RolloutSettings): RolloutAdvice {
  const now = predictRollout(settings);
  const advice: Advice[] = [];
  const applied = new Set<string>();
  let current = settings;
  let currentSeconds = now.seconds;
  while (currentSeconds !== null) {
    const remaining = candidates(current).filter((c) => !applied.has(c.setting));
    if (remaining.length === 0) break;
    const scored = remaining.map((candidate) => {
      const next = candidate.apply(current);
      return { candidate, next, seconds: predictRollout(next).seconds };
    });
    const best = scored.reduce((a, b) =>
      saving(currentSeconds!, b.seconds) > saving(currentSeconds!, a.seconds) ? b : a,
    );
    const saved = saving(currentSeconds, best.seconds);
    if (saved <= 0) break;
    advice.push({
      setting: best.candidate.setting,
      from: best.candidate.from,
      to: best.candidate.to,
      why: best.candidate.why,
      savesSeconds: saved,
      predictedSeconds: best.seconds!,
    });
    applied.add(best.candidate.setting);
    current = best.next;
    currentSeconds = best.seconds;
  }
  return { now, advice, withAdvice: predictRollout(current) };
}

function saving(before: number, after: number | null): number {
  return after === null ? 0 : before - after;
}

/** "5m30s", "45 s". */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return s === 0 ? `${m}m` : `${m}m${String(s).padStart(2, "0")}s`;
}
