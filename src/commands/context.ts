/**
 * What a command runs with. A face (the CLI, the Dagger module) provides a Runtime: its clock, its
 * way of reading the app's files, its credentials, its output channels. From it the runner builds a
 * context ONCE per command run: shipyard.json read and validated once, the environment picked once,
 * the task definition template read once, AWS clients built once (on first use), one report builder
 * and one scrubbed output.
 */
import type { EcsClientFactory } from "../aws/client.js";
import type { EcrClientFactory } from "../aws/ecr.js";
import type { Ecs, ServiceRef } from "../aws/ecs.js";
import type { Schedules } from "../aws/schedules.js";
import type { Clock, Random } from "../clock.js";
import type { Config, Environment } from "../config/schema.js";
import type { RenderedTaskDefinition } from "../config/taskdef.js";
import type { DeploySteps } from "../deploy/steps.js";
import type { LintOptions, LintResult } from "../migrations/lint.js";
import type { Output } from "../report/output.js";
import type { ReportBuilder } from "../report/report.js";
import type { SentryCliRunner } from "../verify/releases.js";
import type { FetchLike } from "../verify/sentry-api.js";

/** One file of the app, as a face can read it. */
export type FileRead =
  | { kind: "file"; text: string }
  | { kind: "missing" }
  | { kind: "directory" }
  | { kind: "unreadable"; why: string };

export interface SourceFiles {
  /** The app folder on disk for what needs a real folder (migrations, git); "." on Dagger. */
  root: string;
  /** How messages name a file, e.g. "examples/app/shipyard.json". */
  describe(path: string): string;
  read(path: string): Promise<FileRead>;
  /** What to do when shipyard.json is missing, where the face says it differently. */
  missingConfigHint?: string;
}

export interface Invocation {
  /**
   * A command line the user can run from where they ran this one (same program, same config).
   * Flags are added in order; `env` defaults to the environment of this run.
   */
  command(name: string, flags?: Record<string, string | boolean | undefined>): string;
}

/** Lints the app's migrations (the Dagger face runs the CLI in a glibc container for this). */
export type MigrationLinter = (options: Omit<LintOptions, "appRoot">) => Promise<LintResult>;

/** Builds and pushes the image when a deploy is given none (the Dagger face); returns it by digest. */
export type ImagePublisher = (repository: string, release: string) => Promise<string>;

export interface Runtime {
  clock: Clock;
  random: Random;
  /** Aborted on SIGINT/SIGTERM/SIGHUP: waits stop and report exit 3 with the commands to resume. */
  signal: AbortSignal;
  /** Process environment (SENTRY_AUTH_TOKEN, AWS_ENDPOINT_URL_ECS...). Never printed. */
  env: NodeJS.ProcessEnv;
  output: Output;
  files: SourceFiles;
  invocation: Invocation;
  /** Explicit AWS credentials (the Dagger face's Secrets); absent: the SDK's default chain. */
  awsCredentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  /** Tests inject clients for the simulators; default: the real SDK client. */
  ecsClientFactory?: EcsClientFactory;
  /** Tests inject clients for moto; default: the real SDK client. */
  ecrClientFactory?: EcrClientFactory;
  /** Builds the real-time bound of one network read (tests shorten it). */
  requestSignal?: (ms: number) => AbortSignal;
  fetch?: FetchLike;
  sentryCli?: SentryCliRunner;
  squawkPath?: string;
  lintMigrations?: MigrationLinter;
  publishImage?: ImagePublisher;
  /** The steps a deploy runs around its rollout; default: src/commands/deploy-steps.ts. */
  deploySteps?: DeploySteps;
}

/** Every command gets this. */
export interface CommandContext {
  runtime: Runtime;
  report: ReportBuilder;
  output: Output;
  /** A command line the user can run next (see Invocation). */
  command(name: string, flags?: Record<string, string | boolean | undefined>): string;
}

/** Commands that may read shipyard.json when there is one (migrate-lint). */
export interface OptionalConfigContext extends CommandContext {
  config: Config | null;
  appRoot: string;
}

/** Commands that work on one environment of shipyard.json. */
export interface EnvironmentContext extends CommandContext {
  config: Config;
  environmentName: string;
  environment: Environment;
  appRoot: string;
  service: ServiceRef;
  /** ECS in the environment's region (built on first use, then reused). */
  ecs(): Promise<Ecs>;
  /** ECS in another region (an environment named by `requires`), same credentials. */
  ecsFor(region: string): Promise<Ecs>;
  /** The endpoint override in effect, for messages. */
  endpoint: string | undefined;
  /** EventBridge rules and Scheduler schedules in the environment's region (built on first use, then reused). */
  schedules(): Promise<Schedules>;
  /**
   * The task definition for an image and release: rendered and validated, no AWS call. For the
   * primary service unless another of the environment's services or scheduled tasks is named.
   */
  renderTaskDefinition(image: string, release: string, unit?: RenderUnit): Promise<RenderedTaskDefinition>;
}

/** What a service or scheduled task renders differently: its template, container and command. */
export interface RenderUnit {
  /** The ECS service it is for ({{SERVICE}}); a scheduled task keeps the primary's. */
  service?: string;
  container: string;
  command?: string[] | undefined;
  /** Its own template, relative to shipyard.json; else the file's `taskDefinition`. */
  taskDefinition?: string | undefined;
}
