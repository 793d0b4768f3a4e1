/**
 * The emulators' time: a clock that runs `speed` times faster than the one it is built on, so a
 * five-minute verification window passes in seconds on a laptop. Built on the system clock it
 * really waits (shortened); built on a test's fake clock it jumps. Emulators listen to it to move
 * their own state (rollouts, traffic) when time passes.
 */
import type { Clock } from "../clock.js";

export interface EmulatorClock extends Clock {
  /** Lets an emulator move its state when time passes. */
  onAdvance(listener: (now: number) => void): void;
}

export function scaledClock(base: Clock, speed: number): EmulatorClock {
  if (!(speed >= 1)) throw new RangeError(`speed must be at least 1, got ${speed}`);
  const origin = base.now();
  const listeners: Array<(now: number) => void> = [];
  const now = () => origin + (base.now() - origin) * speed;
  return {
    now,
    async sleep(ms, signal) {
      await base.sleep(ms / speed, signal);
      const at = now();
      for (const listener of listeners) listener(at);
    },
    onAdvance: (listener) => listeners.push(listener),
  };
}
