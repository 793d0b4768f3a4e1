/**
 * Deterministic concurrency for in-process tests: a virtual clock whose sleeps wait for the
 * scheduler (time moves only when every run is blocked), and a scheduler that holds every ECS call
 * at the simulator and answers the due events one at a time, ties broken by a seeded random. Given
 * the same seed, the same interleaving of the runs' AWS calls happens every time; different seeds
 * explore different ones.
 *
 * Every run is blocked on exactly one thing at a time (an ECS call or a sleep), so "all blocked" is
 * a count: held calls + pending sleeps + finished runs = runs.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Clock } from "../../../src/clock.js";
import type { EcsSimulator, RecordedCall, SimClock } from "../../../src/emulator/ecs/simulator.js";

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class VirtualClock implements Clock, SimClock {
  private current: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private readonly listeners: Array<(now: number) => void> = [];

  constructor(start = Date.UTC(2026, 10, 27, 12, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.remove(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  onAdvance(listener: (now: number) => void): void {
    this.listeners.push(listener);
  }

  /** Sleeps not yet over. */
  get sleeping(): readonly Timer[] {
    return this.timers;
  }

  /** Moves time to `at` (never back) and ends one sleep. */
  fire(timer: Timer): void {
    this.moveTo(timer.at);
    this.remove(timer);
    timer.fire();
  }

  moveTo(at: number): void {
    if (at <= this.current) return;
    this.current = at;
    for (const listener of this.listeners) listener(at);
  }

  private remove(timer: Timer): void {
    const at = this.timers.indexOf(timer);
    if (at >= 0) this.timers.splice(at, 1);
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same interleaving. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface HeldCall {
  call: RecordedCall;
  at: number;
  seq: number;
  answer: () => void;
}

export interface SchedulerOptions {
  /** Picks among events due at the same moment; default: the earliest held first. */
  random?: () => number;
  /** Time a call's request or response takes on the virtual clock (default 0). */
  latency?: (call: RecordedCall, phase: "request" | "response") => number;
  /** Real milliseconds to wait for the runs to block before calling it a hang. */
  stallMs?: number;
}

/** A run that dies at a call: the call is never answered, and the run counts as finished. */
export type Crash = (call: RecordedCall) => boolean;

export class Scheduler {
  private readonly held: HeldCall[] = [];
  private seq = 0;
  private crashed = 0;
  private readonly random: (() => number) | undefined;
  /** Runs die at the calls this matches (set before `run`). */
  crash: Crash | undefined;

  constructor(
    sim: EcsSimulator,
    private readonly clock: VirtualClock,
    private readonly options: SchedulerOptions = {},
  ) {
    this.random = options.random;
    // A call is held twice: on its way in (before it takes effect) and on its way out.
    const hold = (phase: "request" | "response") => (call: RecordedCall) =>
      new Promise<void>((answer) => {
        if (phase === "request" && this.crash?.(call)) {
          this.crashed += 1;
          return;
        }
        this.held.push({
          call,
          at: clock.now() + (options.latency?.(call, phase) ?? 0),
          seq: this.seq++,
          answer,
        });
      });
    sim.beforeAnswer = hold("request");
    sim.afterAnswer = hold("response");
  }

  /** Starts every run at once and drives them to the end; settles like Promise.allSettled. */
  async run<T>(starts: ReadonlyArray<() => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
    let finished = 0;
    this.crashed = 0;
    const runs = starts.map((start) =>
      start().finally(() => {
        finished += 1;
      }),
    );
    const ended = () => finished + this.crashed;
    for (;;) {
      await this.untilBlocked(runs.length, ended);
      if (ended() === runs.length) break;
      this.fireOne();
    }
    // A crashed run never settles: report it as rejected.
    return Promise.all(
      runs.map((run) =>
        Promise.race([
          run.then(
            (value) => ({ status: "fulfilled", value }) as const,
            (reason: unknown) => ({ status: "rejected", reason }) as const,
          ),
          nextTurn().then(() => ({ status: "rejected", reason: new Error("crashed") }) as const),
        ]),
      ),
    );
  }

  private async untilBlocked(total: number, finished: () => number): Promise<void> {
    const started = Date.now();
    while (this.held.length + this.clock.sleeping.length + finished() !== total) {
      if (Date.now() - started > (this.options.stallMs ?? 10_000)) {
        throw new Error(
          `runs did not block: ${this.held.length} held call(s), ${this.clock.sleeping.length} sleep(s), ${finished()}/${total} finished`,
        );
      }
      await nextTurn();
    }
  }

  private fireOne(): void {
    fireEarliest(this.held, this.clock, this.random);
  }
}

/** A call held by a scheduler: answered when its turn comes. */
export interface Held {
  at: number;
  seq: number;
  answer: () => void;
}

/**
 * Answers one held call or ends one sleep: the earliest due; among equals, a seeded pick (the
 * first held, without `random`). Throws when nothing is due, so a stuck scheduler says so.
 */
export function fireEarliest(held: Held[], clock: VirtualClock, random: (() => number) | undefined): void {
  type Event = { at: number; seq: number; fire: () => void };
  const events: Event[] = [
    ...held.map((h) => ({
      at: h.at,
      seq: h.seq,
      fire: () => {
        held.splice(held.indexOf(h), 1);
        clock.moveTo(h.at);
        h.answer();
      },
    })),
    ...clock.sleeping.map((t) => ({ at: t.at, seq: t.seq, fire: () => clock.fire(t) })),
  ];
  if (events.length === 0) throw new Error("every run is blocked and nothing is due");
  const earliest = Math.min(...events.map((e) => e.at));
  const due = events.filter((e) => e.at === earliest).sort((a, b) => a.seq - b.seq);
  const pick = random ? due[Math.floor(random() * due.length)]! : due[0]!;
  pick.fire();
}
