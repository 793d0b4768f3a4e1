/**
 * A healthy rolling deployment as ECS's scheduler plays it, when a scenario gives the emulator the
 * settings that decide its pace (`sim.settingsTiming`): the deployment percents bound how many tasks
 * may run and how many must stay healthy; a new task runs after its start time and counts as healthy
 * once its container health check, the grace period and the load balancer's health checks all agree;
 * an old task is drained first (deregistration delay) and then stops. The scheduler acts at every
 * event: it drains old tasks while enough stay healthy, and starts new ones while there is room.
 *
 * Played event by event, so the emulator does not share the advisor's closed formula: a test can
 * compare the two.
 */

export interface ScheduleInput {
  desiredCount: number;
  /** Old tasks running (and serving) when the deployment starts. */
  oldCount: number;
  maximumPercent: number;
  minimumHealthyPercent: number;
  /** From launch to RUNNING. */
  taskStartSeconds: number;
  /** From RUNNING to healthy (the slowest of container check, grace period, load balancer checks). */
  healthySeconds: number;
  /** From draining to stopped. */
  drainSeconds: number;
}

export interface Schedule {
  /** Seconds after the deployment started when each new task is launched (in order). */
  launches: number[];
  /** Seconds after the deployment started when each old task stops (in order). */
  oldStops: number[];
  /** When the deployment is complete: every new task healthy and every old one stopped. */
  completeSeconds: number;
}

/** The schedule, or null when the percents leave the scheduler no move (the deployment never ends). */
export function playRollout(input: ScheduleInput): Schedule | null {
  const upper = Math.floor((input.desiredCount * input.maximumPercent) / 100);
  const lower = Math.ceil((input.desiredCount * input.minimumHealthyPercent) / 100);
  const launches: number[] = [];
  const oldStops: number[] = [];
  let serving = input.oldCount;
  let t = 0;
  for (;;) {
    const draining = () => oldStops.filter((s) => s > t).length;
    const healthyNew = launches.filter((l) => l + input.taskStartSeconds + input.healthySeconds <= t).length;
    // Drain old tasks while the healthy ones stay at or above the lower bound.
    while (serving > 0 && serving - 1 + healthyNew >= lower) {
      serving -= 1;
      oldStops.push(t + input.drainSeconds);
    }
    // Start new tasks while there is room under the upper bound (draining tasks still take room).
    while (serving + draining() + launches.length < upper && launches.length < input.desiredCount) {
      launches.push(t);
    }
    const upcoming = [
      ...oldStops.filter((s) => s > t),
      ...launches.map((l) => l + input.taskStartSeconds + input.healthySeconds).filter((h) => h > t),
    ];
    if (upcoming.length === 0) {
      const done = launches.length === input.desiredCount && serving === 0;
      return done ? { launches, oldStops, completeSeconds: t } : null;
    }
    t = Math.min(...upcoming);
  }
}
