/**
 * Several runs of Shipyard against one ECS simulator, in-process: each run has its own credentials
 * (the simulator records which run sent a call), its own randomness (so its own lock run id), its
 * own captured output, and shares the clock, the app's files and the service with the others.
 */
import { cliInvocation } from "../../../bin/runtime.js";
import type { Clock } from "../../../src/clock.js";
import { loadCommand } from "../../../src/commands/catalog.js";
import type { Runtime } from "../../../src/commands/context.js";
import { runCommand } from "../../../src/commands/run.js";
import { EcsSimulator, type SimClock } from "../../../src/emulator/ecs/simulator.js";
import type { Report } from "../../../src/report/report.js";
import { fastRetryEcsFactory } from "../../support/ecs-sim/client.js";
import {
  type Captured,
  captureOutput,
  configText,
  holdsTheWorldsImages,
  type MemoryFiles,
  memoryFiles,
  NEW_IMAGE,
  OLD_IMAGE,
  TEMPLATE,
} from "../../support/world.js";
import { seeded } from "./virtual-time.js";

export interface RunResult {
  report: Report;
  captured: Captured;
  /** The access key id this run signed its calls with. */
  key: string;
}

export interface RunOptions {
  /** Names the run: its access key id is derived from it, its randomness seeded by it. */
  name: string;
  overrides?: Partial<Runtime>;
  env?: NodeJS.ProcessEnv;
}

export interface Rig {
  clock: Clock & SimClock;
  sim: EcsSimulator;
  v1: string;
  files: MemoryFiles;
  run(command: string, raw: Record<string, unknown>, options: RunOptions): Promise<RunResult>;
  deploy(options: RunOptions & { image?: string; commit?: string; force?: boolean }): Promise<RunResult>;
  /** The key a run of this name signs with. */
  keyOf(name: string): string;
  stop(): Promise<void>;
}

/** Access key ids look like AKIA + 16 upper-case letters/digits. */
export function accessKeyOf(name: string): string {
  return `AKIA${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`.padEnd(20, "0").slice(0, 20);
}

export async function startRig(
  clock: Clock & SimClock,
  options: { config?: string; template?: string; desiredCount?: number } = {},
): Promise<Rig> {
  const sim = await EcsSimulator.start(clock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [
      { name: "app", image: OLD_IMAGE, environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
    ],
  });
  sim.createService({ taskDefinition: v1, desiredCount: options.desiredCount ?? 2 });
  const files = memoryFiles({
    "shipyard.json": options.config ?? configText(),
    "task-def.json": options.template ?? TEMPLATE,
  });
  const env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL_ECS: sim.endpoint, USER: "ci" };
  const run = async (command: string, raw: Record<string, unknown>, run: RunOptions) => {
    const spec = await loadCommand(command);
    if (!spec) throw new Error(`no command ${command}`);
    const captured = captureOutput();
    const key = accessKeyOf(run.name);
    const runtime: Runtime = {
      clock,
      random: seeded([...run.name].reduce((sum, c) => sum * 31 + c.charCodeAt(0), 7)),
      signal: new AbortController().signal,
      env: { ...env, ...run.env },
      output: captured.output,
      files,
      invocation: cliInvocation(
        { script: "/app/node_modules/.bin/shipyard", cwd: "/app" },
        { env: typeof raw.env === "string" ? raw.env : undefined },
      ),
      awsCredentials: async () => ({ accessKeyId: key, secretAccessKey: `secret-of-${run.name}` }),
      ecsClientFactory: fastRetryEcsFactory,
      // Virtual time: a call held by the scheduler is not a hung read.
      requestSignal: () => new AbortController().signal,
      // The registry preflight is answered here, not on the network.
      fetch: holdsTheWorldsImages(),
      ...run.overrides,
    };
    const report = await runCommand(spec, runtime, raw);
    return { report, captured, key };
  };
  return {
    clock,
    sim,
    v1,
    files,
    run,
    deploy: ({ image, commit, force, ...options }) =>
      run(
        "deploy",
        {
          env: "staging",
          image: image ?? NEW_IMAGE,
          release: commit ?? options.name,
          commit: commit ?? options.name,
          ...(force ? { force: true } : {}),
        },
        options,
      ),
    keyOf: accessKeyOf,
    stop: () => sim.stop(),
  };
}
