/**
 * What deploy/rollback/status/plan share on the command line: reading shipyard.json and the task
 * definition template from disk, and the injected dependencies (real clock, stderr progress with
 * secrets scrubbed, the abort signal from SIGINT/SIGTERM). AWS access is the standard chain plus
 * AWS_ENDPOINT_URL_ECS; nothing secret is ever taken as a flag.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import type { CommandDeps, CommandInput } from "../../src/deploy/commands.js";
import { InputError } from "../../src/errors.js";
import { streamProgress } from "../../src/progress.js";
import type { CliIO } from "../io.js";

export const COMMON_OPTIONS = `  --env NAME        environment in shipyard.json (required)
  --config PATH     shipyard.json (default: ./shipyard.json)
  --json            print the report as JSON on stdout (progress stays on stderr)`;

export const AWS_NOTE = `AWS: the standard credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID..., OIDC web identity) and
AWS_ENDPOINT_URL_ECS for ECS-compatible endpoints. The region comes from shipyard.json.`;

export const EXIT_CODES = `Exit codes: 0 done and verified · 1 failed, service back on the previous revision ·
2 bad input or configuration, nothing changed · 3 failed and NOT restored or state unknown (commands printed).`;

export interface LoadedInput extends CommandInput {
  /** Template text, or null when the app has none (Shipyard's bundled template is used). */
  taskDefinitionText: string | null;
}

export function requireEnv(env: string | undefined, usage: string): string {
  if (!env) throw new InputError("--env NAME is required.", [], `see the usage:\n${usage}`);
  return env;
}

export async function loadInput(
  io: CliIO,
  environmentName: string,
  configFlag: string | undefined,
): Promise<LoadedInput> {
  const configPath = resolve(io.cwd, configFlag ?? "shipyard.json");
  const configText = await readFile(configPath, "utf8").catch(() => {
    throw new InputError(
      `Cannot read the configuration ${configPath}.`,
      [],
      "run from the app's root or pass --config path/to/shipyard.json",
    );
  });
  const source = configFlag ?? "shipyard.json";
  const config = parseConfig(configText, source);
  const appRoot = dirname(configPath);
  const templatePath = resolve(appRoot, config.taskDefinition);
  let taskDefinitionText: string | null = null;
  try {
    taskDefinitionText = await readFile(templatePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new InputError(
        `Cannot read the task definition template ${templatePath}: ${(error as Error).message}`,
      );
    }
  }
  return { configText, configSource: source, environmentName, appRoot, aws: {}, taskDefinitionText };
}

/** Values that must never reach a terminal or a log. */
function secretsOf(env: NodeJS.ProcessEnv): string[] {
  return ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SENTRY_AUTH_TOKEN", "DATABASE_URL"]
    .map((name) => env[name])
    .filter((v): v is string => typeof v === "string" && v.length > 0);
}

export function cliDeps(io: CliIO): CommandDeps {
  return {
    clock: systemClock,
    random: Math.random,
    progress: streamProgress(io.stderr, secretsOf(io.env)),
    signal: io.signal,
    env: io.env,
  };
}
