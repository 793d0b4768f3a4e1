/**
 * The Dagger face of deploy/rollback/status/plan: reads shipyard.json and the task definition from the
 * source Directory, builds the CommandDeps for the module runtime and turns the core's Report into the
 * function's result. The core itself (src/deploy) is loaded lazily, with the AWS SDK behind it.
 *
 * Credentials arrive as Secrets and their plaintext is read only inside the ECS client factory, i.e.
 * when the core first needs a client; the values are then added to the progress scrub list.
 */
import type { Directory, Secret } from "@dagger.io/dagger";
import { type Clock, type Random, systemClock } from "../clock.js";
import type { CommandDeps, CommandInput } from "../deploy/commands.js";
import type { DeployStep, DeploySteps } from "../deploy/steps.js";
import { ExitCode, InputError, ShipyardError } from "../errors.js";
import { stderrProgress } from "../progress.js";
import type { Report } from "../report/report.js";

export interface AwsSecrets {
  /** Optional only where the core may not need AWS at all (verify with both releases given). */
  accessKeyId?: Secret | undefined;
  secretAccessKey?: Secret | undefined;
  sessionToken?: Secret | undefined;
}

export interface DeployFiles {
  configText: string;
  /** How messages name the config, e.g. "examples/app/shipyard.json". */
  configSource: string;
  /** The app's task definition template, or null for Shipyard's bundled one. */
  taskDefinitionText: string | null;
  /** The image repository shipyard.json names (where `deploy` without --image publishes). */
  imageRepository: string;
}

/** shipyard.json (required) and the task definition template it names (optional) from the app. */
export async function readDeployFiles(appDir: Directory, app: string): Promise<DeployFiles> {
  const where = (file: string) => (app === "." ? file : `${app}/${file}`);
  if (!(await appDir.exists("shipyard.json"))) {
    throw new InputError(
      `No shipyard.json at ${where("shipyard.json")}: Shipyard does not know where to deploy.`,
      [],
      "add shipyard.json next to package.json (see the README), or point --app at the app",
    );
  }
  const configText = await appDir.file("shipyard.json").contents();
  const { parseConfig } = await import("../config/load.js");
  const config = parseConfig(configText, where("shipyard.json"));
  const template = config.taskDefinition;
  const taskDefinitionText = (await appDir.exists(template)) ? await appDir.file(template).contents() : null;
  return {
    configText,
    configSource: where("shipyard.json"),
    taskDefinitionText,
    imageRepository: config.image,
  };
}

/**
 * Time and randomness of the Dagger face. The engine always runs with the real ones; the contract
 * tests swap in the FakeClock that drives the ECS simulator, as the CLI's tests inject theirs.
 */
export const faceRuntime: { clock: Clock; random: Random } = { clock: systemClock, random: Math.random };

/**
 * Dependencies for the core in the module runtime: real clock, progress on stderr (Dagger shows it),
 * and an ECS client factory that reads the credential Secrets only when a client is built.
 */
export function daggerDeps(aws: AwsSecrets, extraEnv: Record<string, string> = {}): CommandDeps {
  const secrets = Object.values(extraEnv).filter((value) => value.length > 0);
  return {
    clock: faceRuntime.clock,
    random: faceRuntime.random,
    progress: stderrProgress(secrets),
    // The engine stops the runtime when the call is cancelled; nothing to forward.
    signal: new AbortController().signal,
    env: { ...process.env, ...extraEnv },
    ecsClientFactory: async (options) => {
      const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
        optionalPlaintext(aws.accessKeyId),
        optionalPlaintext(aws.secretAccessKey),
        optionalPlaintext(aws.sessionToken),
      ]);
      if (accessKeyId.trim() === "" || secretAccessKey.trim() === "") {
        throw new InputError(
          "AWS credentials are missing or empty, and this command needs to read ECS.",
          [],
          "pass --aws-access-key-id=env://AWS_ACCESS_KEY_ID --aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY with those variables set (in GitHub Actions: aws-actions/configure-aws-credentials)",
        );
      }
      secrets.push(secretAccessKey, ...(sessionToken ? [sessionToken] : []));
      const { createEcsClient } = await import("../deploy/client.js");
      return createEcsClient({
        ...options,
        credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
      });
    },
  };
}

export interface FaceRequest {
  appDir: Directory;
  /** The app's path inside the source, for messages. */
  app: string;
  environmentName: string;
  aws: AwsSecrets;
  sentryAuthToken?: Secret | undefined;
}

export interface Face {
  input: CommandInput;
  files: DeployFiles;
  deps: CommandDeps;
}

/** Everything a deploy-side command needs: the parsed inputs from the source and the runtime deps. */
export async function prepareFace(request: FaceRequest): Promise<Face> {
  const files = await readDeployFiles(request.appDir, request.app);
  const sentryToken = await optionalPlaintext(request.sentryAuthToken);
  const input: CommandInput = {
    configText: files.configText,
    configSource: files.configSource,
    environmentName: request.environmentName,
    // Files the core would read from disk (migrations) are handled in containers by the Dagger face.
    appRoot: ".",
    aws: {},
  };
  const deps = daggerDeps(request.aws, sentryToken ? { SENTRY_AUTH_TOKEN: sentryToken } : {});
  return { input, files, deps };
}

/** Does this environment lint its migrations before running them? */
export async function lintsMigrations(face: Face): Promise<boolean> {
  const { parseConfig, selectEnvironment } = await import("../config/load.js");
  const environment = selectEnvironment(
    parseConfig(face.input.configText, face.input.configSource),
    face.input.environmentName,
  );
  return environment.migrations?.lint === true;
}

/**
 * The CLI's deploy steps, with the migration lint turned off: the Dagger face lints in a glibc
 * container before the deploy starts (squawk cannot run in the Alpine module runtime).
 */
export async function stepsLintedElsewhere(): Promise<DeploySteps> {
  const { defaultDeploySteps } = await import("../deploy/default-steps.js");
  const steps = await defaultDeploySteps();
  return { ...steps, beforeUpdate: steps.beforeUpdate.map(withoutLint) };
}

export function withoutLint(step: DeployStep): DeployStep {
  return {
    ...step,
    run: (ctx) => {
      const migrations = ctx.environment.migrations;
      if (!migrations) return step.run(ctx);
      return step.run({
        ...ctx,
        environment: { ...ctx.environment, migrations: { ...migrations, lint: false } },
      });
    },
  };
}

/** An optional Secret's plaintext, or "" when absent. */
export async function optionalPlaintext(secret: Secret | undefined): Promise<string> {
  return secret ? (await secret.plaintext()).trim() : "";
}

/** What each exit code means; exit 1 means "restored" only for the commands that change the service. */
function headline(report: Report): string {
  switch (report.exitCode) {
    case ExitCode.RolledBack:
      return report.command === "deploy" || report.command === "rollback"
        ? "failed; the service is back on the previous task definition"
        : "failed";
    case ExitCode.BadInput:
      return "refused: bad input, nothing was changed";
    case ExitCode.NeedsAttention:
      return "failed and was NOT restored (or the state is unknown): a person must look";
    default:
      return `exit ${report.exitCode}`;
  }
}

/**
 * The function's result: the report as JSON when it succeeded; otherwise an error whose message
 * carries the reason, the next steps and the same JSON, so a CI log shows everything.
 */
export function reportResult(report: Report): string {
  const json = JSON.stringify(report, null, 2);
  if (report.exitCode === ExitCode.Success) return json;
  const lines = [`${report.command} ${report.environment}: ${headline(report)} (exit ${report.exitCode}).`];
  if (report.reason) lines.push(report.reason);
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("Next:", ...report.nextSteps.map((step) => `  ${step}`));
  }
  lines.push("", "Report:", json);
  return fail(lines.join("\n"), report.exitCode);
}

function fail(message: string, exitCode: ExitCode): never {
  throw new ShipyardError(message, { exitCode });
}
