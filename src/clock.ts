/**
 * Time is injected everywhere a wait happens, so tests drive rollouts, timeouts and verification
 * windows with a fake clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/**
 * A clock that jumps forward instead of waiting: `sleep(ms)` advances `now()` by `ms` at once.
 * Deterministic, and a 15-minute timeout test finishes in milliseconds.
 */
export class FakeClock implements Clock {
  private current: number;
  private readonly listeners: Array<(now: number) => void> = [];

  constructor(start = Date.UTC(2026, 10, 27, 12, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.advance(ms);
    await Promise.resolve();
    if (signal?.aborted) throw signal.reason;
  }

  advance(ms: number): void {
    this.current += Math.max(0, ms);
    for (const listener of this.listeners) listener(this.current);
  }

  /** Lets a simulator move its own state when time passes. */
  onAdvance(listener: (now: number) => void): void {
    this.listeners.push(listener);
  }
}

/** Randomness is injected too (jitter), so tests are repeatable. */
export type Random = () => number;
