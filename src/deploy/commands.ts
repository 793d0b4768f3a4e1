/**
 * Face-neutral entry points: the CLI (bin/commands/*) and the Dagger functions (src/index.ts) both
 * call these with plain data and injected dependencies, and get a Report back. Bad input throws an
 * InputError (exit 2) before any AWS call; everything else is expressed in the Report's outcome and
 * exitCode.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { Clock, Random } from "../clock.js";
import { parseConfig, selectEnvironment } from "../config/load.js";
import type { Config, Environment } from "../config/schema.js";
import { ShipyardError } from "../errors.js";
import type { Progress } from "../progress.js";
import type { Report } from "../report/report.js";
import { type AwsAccess, createEcsClient, type EcsClientFactory, ecsClientOptions } from "./client.js";
import type { DeploySteps } from "./steps.js";

export interface CommandInput {
  /** Text of shipyard.json. */
  configText: string;
  /** Name of the config for messages (default "shipyard.json"). */
  configSource?: string;
  environmentName: string;
  /** Folder with shipyard.json (migrations and templates are relative to it). */
  appRoot: string;
  /** Credentials as plain strings, or nothing for the default chain; optional endpoint. */
  aws: AwsAccess;
}

export interface DeployInput extends CommandInput {
  /** Text of the app's task-def.json, or null to use Shipyard's bundled template. */
  taskDefinitionText: string | null;
  /** Image by digest: repo@sha256:... */
  image: string;
  /** Release name (SENTRY_RELEASE). Default: the commit, else the image digest's first 12 hex digits. */
  release?: string;
  /** Git commit, tagged on the new revision when known. */
  commit?: string;
  /** Deploy even though the `requires` environment's verified image cannot be confirmed (a warning is reported). */
  skipRequires?: boolean;
}

/** Like a deploy; without an image, the live image is used to render the template. */
export type PlanInput = Omit<DeployInput, "image"> & { image?: string };

export interface RollbackInput extends CommandInput {
  /** Task definition revision to return to (ARN, family:revision, or a revision number). */
  to?: string;
}

export type StatusInput = CommandInput;

export interface CommandDeps {
  clock: Clock;
  random: Random;
  progress: Progress;
  /** Aborted on SIGINT/SIGTERM: waits stop and report exit 3 with the commands to resume. */
  signal: AbortSignal;
  /** Process environment: AWS_ENDPOINT_URL_ECS, SENTRY_AUTH_TOKEN... never printed. */
  env: NodeJS.ProcessEnv;
  /** Tests inject a client for the simulator; default: the real SDK client. */
  ecsClientFactory?: EcsClientFactory;
  /**
   * Migration / verification steps (deploy only). Real callers pass `await defaultDeploySteps()`
   * (src/deploy/default-steps.ts); absent means none (tests of the controller alone).
   */
  steps?: DeploySteps;
}

export interface Prepared {
  config: Config;
  environment: Environment;
  ecs: () => Promise<ECSClient>;
  /** A client for another region (an environment named by `requires`), same credentials and endpoint. */
  ecsFor: (region: string) => Promise<ECSClient>;
}

/** Parses the config and picks the environment; the client is built only when first needed. */
export function prepare(input: CommandInput, deps: CommandDeps): Prepared {
  const config = parseConfig(input.configText, input.configSource ?? "shipyard.json");
  const environment = selectEnvironment(config, input.environmentName);
  const clients = new Map<string, Promise<ECSClient>>();
  const factory = deps.ecsClientFactory ?? createEcsClient;
  const ecsFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = factory(ecsClientOptions(region, input.aws, deps.env));
      clients.set(region, client);
    }
    return client;
  };
  return { config, environment, ecs: () => ecsFor(environment.region), ecsFor };
}

/** Runs a command; an AWS failure that escapes it becomes an error that says what to do next. */
async function explained(
  command: string,
  readOnly: boolean,
  input: CommandInput,
  deps: CommandDeps,
  run: () => Promise<Report>,
): Promise<Report> {
  try {
    return await run();
  } catch (error) {
    // Config errors are thrown before any AWS call and explain themselves already.
    if (error instanceof ShipyardError) throw error;
    const { region } = prepare(input, deps).environment;
    const { explainAwsError } = await import("./aws-errors.js");
    const endpoint = ecsClientOptions(region, input.aws, deps.env).endpoint;
    throw (
      explainAwsError(error, {
        command,
        environmentName: input.environmentName,
        region,
        endpoint,
        readOnly,
      }) ?? error
    );
  }
}

export async function runDeploy(input: DeployInput, deps: CommandDeps): Promise<Report> {
  const { deploy } = await import("./deploy.js");
  return explained("deploy", false, input, deps, () => deploy(input, deps));
}

export async function runRollback(input: RollbackInput, deps: CommandDeps): Promise<Report> {
  const { rollback } = await import("./rollback.js");
  return explained("rollback", false, input, deps, () => rollback(input, deps));
}

export async function runStatus(input: StatusInput, deps: CommandDeps): Promise<Report> {
  const { status } = await import("./status.js");
  return explained("status", true, input, deps, () => status(input, deps));
}

export async function runPlan(input: PlanInput, deps: CommandDeps): Promise<Report> {
  const { plan } = await import("./plan.js");
  return explained("plan", true, input, deps, () => plan(input, deps));
}
