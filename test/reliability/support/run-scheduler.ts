/**
 * Deterministic concurrency for runs that wait on several things at once. A deploy of several
 * services sends their UpdateService calls together and restores them together, so the Scheduler of
 * virtual-time.ts, which counts one blocked thing per run, cannot tell when such a run is blocked.
 * This one sees each run from inside: the ECS requests its client has in flight (a middleware in its
 * client), the ones of them the simulator holds (by the access key that signed them), and the sleeps
 * it has pending (its own view of the shared VirtualClock). A run is blocked when every request it has
 * in flight is held and it waits on something; time moves, one event at a time, only when every run
 * is blocked or finished. Among events due at the same moment, a seeded pick, as in Scheduler.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { EcsClientFactory } from "../../../src/aws/client.js";
import type { Clock } from "../../../src/clock.js";
import type { Runtime } from "../../../src/commands/context.js";
import type { EcsSimulator, RecordedCall } from "../../../src/emulator/ecs/simulator.js";
import { fastRetryEcsFactory } from "../../support/ecs-sim/client.js";
import { fireEarliest, type VirtualClock } from "./virtual-time.js";

interface HeldCall {
  /** The access key id that signed it: which run is waiting for it. */
  caller: string | undefined;
  at: number;
  seq: number;
  answer: () => void;
}

/** What one run waits on now. */
interface RunState {
  /** ECS requests sent by its client and not yet answered back to it. */
  inFlight: number;
  /** Its sleeps on the clock not yet over. */
  sleeping: number;
  finished: boolean;
}

export interface RunSchedulerOptions {
  /** Picks among events due at the same moment; default: the earliest held first. */
  random?: () => number;
  /** Real milliseconds to wait for the runs to block before calling it a hang. */
  stallMs?: number;
}

export class RunScheduler {
  private readonly held: HeldCall[] = [];
  private readonly runs = new Map<string, RunState>();
  private seq = 0;

  constructor(
    sim: EcsSimulator,
    private readonly clock: VirtualClock,
    private readonly options: RunSchedulerOptions = {},
  ) {
    // A call is held twice: on its way in (before it takes effect) and on its way out.
    const hold = (call: RecordedCall) =>
      new Promise<void>((answer) => {
        this.held.push({ caller: call.caller, at: clock.now(), seq: this.seq++, answer });
      });
    sim.beforeAnswer = hold;
    sim.afterAnswer = hold;
  }

  /**
   * The runtime overrides through which the scheduler sees the run that signs with `key`: its clock
   * (counting its sleeps) and its ECS client (counting its requests). Give every run its own key.
   */
  runtimeFor(key: string): Partial<Runtime> {
    const state = this.stateOf(key);
    const clock: Clock = {
      now: () => this.clock.now(),
      sleep: async (ms, signal) => {
        state.sleeping += 1;
        try {
          await this.clock.sleep(ms, signal);
        } finally {
          state.sleeping -= 1;
        }
      },
    };
    const ecsClientFactory: EcsClientFactory = async (options) => {
      const client = await fastRetryEcsFactory(options);
      // Around the HTTP handler itself: once per attempt, from sending until the answer is back.
      client.middlewareStack.add(
        (next) => async (args) => {
          state.inFlight += 1;
          try {
            return await next(args);
          } finally {
            state.inFlight -= 1;
          }
        },
        { step: "deserialize", priority: "low", name: "runSchedulerInFlight" },
      );
      return client;
    };
    return { clock, ecsClientFactory };
  }

  /** Starts the runs (each started with runtimeFor(its key)) at once and drives them to the end. */
  async run<T>(starts: ReadonlyArray<{ key: string; start: () => Promise<T> }>): Promise<T[]> {
    const runs = starts.map(({ key, start }) => {
      const state = this.stateOf(key);
      state.finished = false;
      return start().finally(() => {
        state.finished = true;
      });
    });
    const states = starts.map(({ key }) => this.stateOf(key));
    for (;;) {
      await this.untilBlocked(states);
      if (states.every((state) => state.finished)) break;
      this.fireOne();
    }
    return Promise.all(runs);
  }

  private stateOf(key: string): RunState {
    let state = this.runs.get(key);
    if (!state) {
      state = { inFlight: 0, sleeping: 0, finished: true };
      this.runs.set(key, state);
    }
    return state;
  }

  private blocked(key: string, state: RunState): boolean {
    if (state.finished) return true;
    const held = this.held.filter((call) => call.caller === key).length;
    return state.inFlight === held && state.inFlight + state.sleeping > 0;
  }

  private async untilBlocked(states: RunState[]): Promise<void> {
    // What the last event set going (a sleep over, a call answered) shows in the counts only once
    // the runs' promise callbacks have run.
    await nextTurn();
    const started = Date.now();
    const keys = [...this.runs.entries()].filter(([, state]) => states.includes(state));
    while (!keys.every(([key, state]) => this.blocked(key, state))) {
      if (Date.now() - started > (this.options.stallMs ?? 10_000)) {
        const described = keys.map(
          ([key, s]) =>
            `${key}: ${s.inFlight} in flight, ${this.held.filter((c) => c.caller === key).length} held, ${s.sleeping} sleeping${s.finished ? ", finished" : ""}`,
        );
        throw new Error(`runs did not block: ${described.join("; ")}`);
      }
      await nextTurn();
    }
  }

  private fireOne(): void {
    fireEarliest(this.held, this.clock, this.options.random);
  }
}
