/**
 * A clock that jumps forward instead of waiting: `sleep(ms)` advances `now()` by `ms` at once, so a
 * 15-minute timeout test finishes in milliseconds. Simulators listen to it to move their own state.
 */
import type { Clock } from "../../src/clock.js";

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
