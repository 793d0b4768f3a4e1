/**
 * The Dagger face's Runtime for src/commands: the app's files come from the source Directory, AWS
 * credentials from the Secrets given to the module (their plaintext read only when a client is
 * built, and added to the scrubber at once), GitHub Deployments from the module's GitHub arguments, progress goes to stderr (Dagger shows it), the
 * migration lint runs in a glibc container, and a deploy without --image publishes first. The
 * report becomes the function's result: its JSON when it succeeded, else an error that carries the
 * reason, the next steps and the same JSON.
 */
import { type Directory, ExistsType, type Secret } from "@dagger.io/dagger";
import { type Clock, type Random, systemClock } from "../clock.js";
import type { ImagePublisher, MigrationLinter, Runtime, SourceFiles } from "../commands/context.js";
import { lintResultOf } from "../commands/migrate-lint.js";
import { flagName } from "../commands/spec.js";
import { ExitCode, exitMeaning, InputError, ShipyardError } from "../errors.js";
import { Output } from "../report/output.js";
import type { Report } from "../report/report.js";
import { Scrubber } from "../report/scrub.js";
import { shellQuote } from "../report/shell.js";
import type { FetchLike } from "../verify/sentry-api.js";
import { cliResult, runCliContainer, shipyardCli } from "./cli-container.js";
import { type GitHubSettings, githubEnvironment } from "./github.js";

/** The credentials a user gives the module once (constructor arguments). */
export interface ModuleSecrets {
  awsAccessKeyId?: Secret | undefined;
  awsSecretAccessKey?: Secret | undefined;
  awsSessionToken?: Secret | undefined;
  sentryAuthToken?: Secret | undefined;
  /** The job's GITHUB_TOKEN, for GitHub Deployments. */
  githubToken?: Secret | undefined;
}

/**
 * Time, randomness and HTTP of the Dagger face. The engine always runs with the real ones; the
 * contract tests swap in the fake clock that drives the ECS simulator, and a `fetch` that answers the
 * registry preflight on this machine.
 */
export const faceRuntime: { clock: Clock; random: Random; fetch?: FetchLike | undefined } = {
  clock: systemClock,
  random: Math.random,
};

export interface DaggerApp {
  /** The app folder inside the source. */
  dir: Directory;
  /** Its path inside the source, e.g. "examples/app" ("." when the source is the app). */
  path: string;
  nodeVersion: string;
  secrets: ModuleSecrets;
  /** Where GitHub Deployments are recorded (used only with the GitHub token). */
  github: GitHubSettings;
  /** Builds and pushes the image for a deploy given no --image. */
  publish?: ImagePublisher;
}

export function directoryFiles(dir: Directory, app: string): SourceFiles {
  return {
    root: ".",
    describe: (path) => (app === "." ? path : `${app}/${path}`),
    missingConfigHint: "add shipyard.json next to the app's package.json, or point --app at the app",
    async read(path) {
      if (await dir.exists(path, { expectedType: ExistsType.DirectoryType })) return { kind: "directory" };
      if (!(await dir.exists(path))) return { kind: "missing" };
      return { kind: "file", text: await dir.file(path).contents() };
    },
  };
}

/** `dagger call` lines for the next steps; credentials as environment variables, the common case. */
function daggerInvocation(app: DaggerApp, env: string | undefined) {
  const moduleFlags = [
    ...(app.path === "." ? [] : [`--app=${app.path}`]),
    ...(app.secrets.awsAccessKeyId ? ["--aws-access-key-id=env://AWS_ACCESS_KEY_ID"] : []),
    ...(app.secrets.awsSecretAccessKey ? ["--aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY"] : []),
    ...(app.secrets.awsSessionToken ? ["--aws-session-token=env://AWS_SESSION_TOKEN"] : []),
  ];
  return {
    command(name: string, flags: Record<string, string | boolean | undefined> = {}) {
      // The lint is a check: no environment, no credentials.
      if (name === "migrate-lint")
        return shellQuote(["dagger", "call", ...moduleFlags.slice(0, app.path === "." ? 0 : 1), name]);
      const words = ["dagger", "call", ...moduleFlags, name];
      const all: Record<string, string | boolean | undefined> = { env, ...flags };
      for (const [key, value] of Object.entries(all)) {
        if (value === undefined || value === false) continue;
        words.push(value === true ? flagName(key) : `${flagName(key)}=${value}`);
      }
      return shellQuote(words);
    },
  };
}

async function plaintext(secret: Secret | undefined, scrubber: Scrubber): Promise<string> {
  const value = secret ? (await secret.plaintext()).trim() : "";
  scrubber.add(value);
  return value;
}

export async function daggerRuntime(app: DaggerApp, env: string | undefined): Promise<Runtime> {
  const scrubber = new Scrubber();
  const sentryToken = await plaintext(app.secrets.sentryAuthToken, scrubber);
  const githubToken = await plaintext(app.secrets.githubToken, scrubber);
  const output = new Output(
    {
      stdout: (text) => process.stdout.write(`${text}\n`),
      stderr: (text) => process.stderr.write(`${text}\n`),
    },
    scrubber,
  );
  const { fetch, ...time } = faceRuntime;
  return {
    ...time,
    ...(fetch ? { fetch } : {}),
    // The engine stops the runtime when the call is cancelled; nothing to forward.
    signal: new AbortController().signal,
    env: {
      ...githubEnvironment(process.env, app.github, githubToken),
      ...(sentryToken ? { SENTRY_AUTH_TOKEN: sentryToken } : {}),
    },
    output,
    files: directoryFiles(app.dir, app.path),
    invocation: daggerInvocation(app, env),
    awsCredentials: async () => {
      const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
        plaintext(app.secrets.awsAccessKeyId, scrubber),
        plaintext(app.secrets.awsSecretAccessKey, scrubber),
        plaintext(app.secrets.awsSessionToken, scrubber),
      ]);
      if (accessKeyId === "" || secretAccessKey === "") {
        throw new InputError(
          "AWS credentials are missing or empty, and this command needs to read ECS.",
          [],
          "pass --aws-access-key-id=env://AWS_ACCESS_KEY_ID --aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY to the module (before the function name) with those variables set; in GitHub Actions: aws-actions/configure-aws-credentials",
        );
      }
      return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    },
    lintMigrations: containerLinter(app, env),
    ...(app.publish ? { publishImage: app.publish } : {}),
  };
}

/** squawk needs glibc; the module runtime is Alpine: the lint runs as the CLI in a Debian container. */
function containerLinter(app: DaggerApp, env: string | undefined): MigrationLinter {
  return async (options) => {
    const args = ["migrate-lint", "--json", ...(env ? ["--env", env] : [])];
    if (options.directory) args.push("--dir", options.directory);
    for (const rule of options.excludeRules ?? []) args.push("--exclude", rule);
    const run = await runCliContainer(shipyardCli(app.nodeVersion, app.dir), args);
    if (run.exitCode !== ExitCode.Success && run.exitCode !== ExitCode.RolledBack) {
      cliResult(run, `Migration lint before deploying to ${env ?? "the environment"} (nothing was changed)`);
    }
    const lint = lintResultOf(JSON.parse(run.stdout) as Report);
    if (!lint)
      throw new ShipyardError("The migration lint printed no result.", { exitCode: ExitCode.NeedsAttention });
    return lint;
  };
}

/**
 * The function's result: the report as JSON when it succeeded; otherwise an error whose message
 * carries the outcome, the reason, the next steps and the same JSON (the engine shows only an
 * error's message; a CI script reads `exitCode` from the JSON after "Report:").
 */
export function reportResult(report: Report, scrubber: Scrubber): string {
  const json = scrubber.scrub(JSON.stringify(report, null, 2));
  if (report.exitCode === ExitCode.Success) return json;
  const where = report.environment ? ` ${report.environment}` : "";
  const lines = [
    `${report.command}${where}: ${exitMeaning(report.exitCode, report.command)} (exit ${report.exitCode}).`,
  ];
  if (report.reason) lines.push(report.reason);
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("Next:", ...report.nextSteps.map((step) => `  ${step}`));
  }
  lines.push("", "Report:", json);
  throw new ShipyardError(scrubber.scrub(lines.join("\n")), { exitCode: report.exitCode });
}

/** The commands that talk to Sentry; the others never read the Sentry token given to the module. */
const SENTRY_COMMANDS = new Set(["deploy", "verify"]);
/** The commands that record GitHub Deployments; the others never read the GitHub token. */
const GITHUB_COMMANDS = new Set(["deploy", "rollback"]);

/** Runs one command of src/commands for a Dagger function and returns the function's result. */
export async function daggerCommand(
  name: string,
  app: DaggerApp,
  raw: Readonly<Record<string, unknown>>,
): Promise<string> {
  const env = typeof raw.env === "string" && raw.env !== "" ? raw.env : undefined;
  const [{ loadCommand }, { runCommand }] = await Promise.all([
    import("../commands/catalog.js"),
    import("../commands/run.js"),
  ]);
  const command = await loadCommand(name);
  if (!command) throw new Error(`no command ${name}`);
  const secrets: ModuleSecrets = {
    ...app.secrets,
    ...(SENTRY_COMMANDS.has(name) ? {} : { sentryAuthToken: undefined }),
    ...(GITHUB_COMMANDS.has(name) ? {} : { githubToken: undefined }),
  };
  const runtime = await daggerRuntime({ ...app, secrets }, env);
  const report = await runCommand(command, runtime, raw);
  await runtime.output.emit(report, { json: false });
  return reportResult(report, runtime.output.scrubber);
}
