/**
 * The one world every test and benchmark builds on: a fake clock, the ECS simulator (real AWS SDK
 * over HTTP) with a service running revision web:1, optionally the Sentry simulator on the same
 * clock, an app's files in memory (shipyard.json + task-def.json, with read counts), captured output,
 * and the two ways in: `run` (the command layer, as both faces call it) and `cli` (the CLI face,
 * in-process, exactly as `shipyard ...` parses and prints).
 */
import { runCli } from "../../bin/cli.js";
import { type CliIO, cliInvocation } from "../../bin/runtime.js";
import { loadCommand } from "../../src/commands/catalog.js";
import type { Runtime, SourceFiles } from "../../src/commands/context.js";
import { runCommand } from "../../src/commands/run.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import { Output } from "../../src/report/output.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import type { FetchLike } from "../../src/verify/sentry-api.js";
import { FakeClock } from "./clock.js";
import { fastRetryEcsFactory } from "./ecs-sim/client.js";

export const REPO = "ghcr.io/acme/app";
export const digest = (c: string) => `${REPO}@sha256:${c.repeat(64).slice(0, 64)}`;
export const OLD_IMAGE = digest("0");
export const NEW_IMAGE = digest("a");
/** Credentials the world's runtime hands to the SDK (and that must never be printed). */
export const ACCESS_KEY_ID = "AKIATESTINGWORLD0001";
export const SECRET_ACCESS_KEY = "test-secret-value-world";

/** shipyard.json with one environment, `staging`, on cluster main / service web. */
export function configText(
  deployment: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    image: REPO,
    ...top,
    environments: {
      staging: {
        region: "eu-west-1",
        cluster: "main",
        service: "web",
        container: "app",
        deployment: { pollSeconds: 5, timeoutSeconds: 120, rollbackTimeoutSeconds: 120, ...deployment },
        variables: { LOG_LEVEL: "info" },
        ...extra,
      },
    },
  });
}

export const TEMPLATE = JSON.stringify({
  family: "web",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [
    {
      name: "app",
      image: "{{IMAGE}}",
      essential: true,
      environment: [
        { name: "APP_ENV", value: "{{ENV}}" },
        { name: "LOG_LEVEL", value: "{{LOG_LEVEL}}" },
      ],
    },
  ],
});

/** An app's files in memory; a value of `null` is a directory. Counts reads per path. */
export interface MemoryFiles extends SourceFiles {
  files: Map<string, string | null>;
  reads: Map<string, number>;
}

export function memoryFiles(files: Record<string, string | null>, root = "/app"): MemoryFiles {
  const map = new Map(Object.entries(files));
  const reads = new Map<string, number>();
  const normal = (path: string) => path.replace(/^\.\//, "");
  return {
    root,
    files: map,
    reads,
    describe: (path) => normal(path),
    async read(path) {
      const key = normal(path);
      reads.set(key, (reads.get(key) ?? 0) + 1);
      if (!map.has(key)) return { kind: "missing" };
      const text = map.get(key);
      return text === null || text === undefined ? { kind: "directory" } : { kind: "file", text };
    },
  };
}

export interface Captured {
  output: Output;
  /** stderr lines (progress and the human summary). */
  lines: string[];
  /** stdout writes (the JSON report). */
  stdout: string[];
  /** Markdown appended to the step summary. */
  summaries: string[];
  /** Everything that left "the process", for secret checks. */
  all(): string;
}

export function captureOutput(scrubber = new Scrubber()): Captured {
  const lines: string[] = [];
  const stdout: string[] = [];
  const summaries: string[] = [];
  const output = new Output(
    {
      stdout: (text) => stdout.push(text),
      stderr: (text) => lines.push(text),
      appendSummary: async (markdown) => {
        summaries.push(markdown);
      },
    },
    scrubber,
  );
  return { output, lines, stdout, summaries, all: () => [...lines, ...stdout, ...summaries].join("\n") };
}

export interface WorldOptions {
  desiredCount?: number;
  /** Start the Sentry simulator on the world's clock and point SENTRY_URL/SENTRY_AUTH_TOKEN at it. */
  sentry?: boolean;
  /** shipyard.json text (default: configText()). */
  config?: string;
  /** task-def.json text, or null for none (the bundled template). Default: TEMPLATE. */
  template?: string | null;
}

export interface World {
  clock: FakeClock;
  sim: EcsSimulator;
  sentry: SentrySim | null;
  /** The revision the service runs at the start (web:1, release v1, OLD_IMAGE). */
  v1: string;
  files: MemoryFiles;
  captured: Captured;
  controller: AbortController;
  /** The environment the commands see (endpoints, tokens). */
  env: NodeJS.ProcessEnv;
  /** Replaces shipyard.json (returns the world, for chaining). */
  setConfig(text: string): World;
  runtime(overrides?: Partial<Runtime>): Runtime;
  /** Runs a command through the command layer, as both faces do. */
  run(command: string, raw?: Record<string, unknown>, overrides?: Partial<Runtime>): Promise<Report>;
  /** deploy --env staging --image NEW_IMAGE --release v2 --commit abc1234, overridable. */
  deploy(raw?: Record<string, unknown>, overrides?: Partial<Runtime>): Promise<Report>;
  /** The CLI in-process: exit code and what it printed. */
  cli(
    argv: string[],
    io?: Partial<CliIO>,
    overrides?: Partial<Runtime>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** `HEAD /v2/acme/<name>/manifests/sha256:…` on ghcr.io: the deploy's registry preflight for the world's images. */
const WORLD_MANIFEST = /^https:\/\/ghcr\.io\/v2\/acme\/[^/]+\/manifests\/sha256:[0-9a-f]{64}$/;

/**
 * The world's registry: ghcr.io holds every image under acme/, so a deploy's registry preflight is
 * answered here and never reaches for the network; every other request goes to `next` (a test's own
 * fetch, else the real one).
 */
export function holdsTheWorldsImages(next?: FetchLike): FetchLike {
  return async (input, init) => {
    if (WORLD_MANIFEST.test(input)) return new Response(null, { status: 200 });
    return next ? next(input, init) : fetch(input, init);
  };
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const clock = new FakeClock();
  const sim = await EcsSimulator.start(clock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [
      { name: "app", image: OLD_IMAGE, environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
    ],
  });
  sim.createService({
    cluster: "main",
    service: "web",
    taskDefinition: v1,
    desiredCount: options.desiredCount ?? 2,
  });
  const sentry = options.sentry ? await startSentrySim({ clock }) : null;
  const files = memoryFiles({
    "shipyard.json": options.config ?? configText(),
    ...(options.template === null ? {} : { "task-def.json": options.template ?? TEMPLATE }),
  });
  const captured = captureOutput();
  const controller = new AbortController();
  const env: NodeJS.ProcessEnv = {
    AWS_ENDPOINT_URL_ECS: sim.endpoint,
    // The emulator answers ELBv2 and CloudWatch Logs on the same endpoint (diagnosis, `logs`).
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: sim.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: sim.endpoint,
    PATH: process.env.PATH,
    ...(sentry ? { SENTRY_URL: sentry.url, SENTRY_AUTH_TOKEN: SIM_TOKEN } : {}),
  };
  const runtime = (
    overrides: Partial<Runtime> = {},
    current: { env?: string; config?: string } = {},
  ): Runtime => ({
    clock,
    random: () => 0.5,
    signal: controller.signal,
    env,
    output: captured.output,
    files,
    invocation: cliInvocation({ script: "/app/node_modules/.bin/shipyard", cwd: "/app" }, current),
    awsCredentials: async () => ({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }),
    ecsClientFactory: fastRetryEcsFactory,
    ...overrides,
    fetch: holdsTheWorldsImages(overrides.fetch),
  });
  const run = async (name: string, raw: Record<string, unknown> = {}, overrides: Partial<Runtime> = {}) => {
    const command = await loadCommand(name);
    if (!command) throw new Error(`no command ${name}`);
    const current = {
      ...(typeof raw.env === "string" ? { env: raw.env } : {}),
      ...(typeof raw.config === "string" ? { config: raw.config } : {}),
    };
    return runCommand(command, runtime(overrides, current), raw);
  };
  const world: World = {
    clock,
    sim,
    sentry,
    v1,
    files,
    captured,
    controller,
    env,
    runtime,
    run,
    deploy: (raw = {}, overrides = {}) =>
      run(
        "deploy",
        { env: "staging", image: NEW_IMAGE, release: "v2", commit: "abc1234", ...raw },
        overrides,
      ),
    async cli(argv, io = {}, overrides = {}) {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const local = captureOutput(new Scrubber());
      const code = await runCli(
        argv,
        {
          stdout: (t) => stdout.push(t),
          stderr: (t) => stderr.push(t),
          env,
          cwd: "/app",
          signal: controller.signal,
          script: "/app/node_modules/.bin/shipyard",
          ...io,
        },
        (cliIo, current) =>
          runtime(
            {
              output: new Output(
                {
                  stdout: cliIo.stdout,
                  stderr: cliIo.stderr,
                  appendSummary: async (markdown) => {
                    local.summaries.push(markdown);
                  },
                },
                new Scrubber(),
              ),
              env: cliIo.env,
              signal: cliIo.signal,
              ...overrides,
            },
            current,
          ),
      );
      return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
    },
    setConfig(text) {
      files.files.set("shipyard.json", text);
      return world;
    },
    async stop() {
      await sim.stop();
      await sentry?.close();
    },
  };
  return world;
}
