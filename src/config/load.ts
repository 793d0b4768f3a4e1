import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { type Config, ConfigSchema, type Environment } from "./schema.js";

/** `environments.production.deployment.maximumPercent`, `migrations.command[0]`: where to look. */
export function jsonPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("");
}

export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return `${jsonPath(issue.path)}: unknown key ${keys} (check the spelling; see schema/shipyard.schema.json)`;
    }
    return `${jsonPath(issue.path)}: ${issue.message}`;
  });
}

/** Parses and validates shipyard.json text. Every problem is reported at once, with its JSON path. */
export function parseConfig(text: string, source = "shipyard.json"): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${source} is not valid JSON: ${(error as Error).message}`,
      [],
      `fix the syntax of ${source}`,
    );
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new InputError(
      `${source} is not a valid Shipyard configuration; nothing was changed.`,
      describeIssues(result.error),
      `fix the fields above in ${source} (an editor with schema/shipyard.schema.json shows them as you type)`,
    );
  }
  return result.data;
}

export interface LoadedConfig {
  config: Config;
  /** Folder the config sits in: the task definition template and migrations are relative to it. */
  root: string;
}

export async function loadConfigFile(path = "shipyard.json"): Promise<LoadedConfig> {
  const full = resolve(path);
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch {
    throw new InputError(
      `Cannot read the configuration ${full}.`,
      [],
      "run from the app's root or pass --config path/to/shipyard.json",
    );
  }
  return { config: parseConfig(text, path), root: dirname(full) };
}

export function selectEnvironment(config: Config, name: string): Environment {
  const env = config.environments[name];
  if (env === undefined) {
    const known = Object.keys(config.environments).join(", ");
    throw new InputError(`There is no environment "${name}" in shipyard.json.`, [], `use one of: ${known}`);
  }
  return env;
}
