/**
 * Reading shipyard.json: JSON, then the zod schema, every problem reported at once with its JSON
 * path. The command context calls this exactly once per command run.
 */
import type { z } from "zod";
import { InputError } from "../errors.js";
import { parseJson } from "./json.js";
import { jsonPath } from "./paths.js";
import { type Config, ConfigSchema, type Environment } from "./schema.js";

export { jsonPath } from "./paths.js";

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
  const raw = parseJson(text, source);
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

export function selectEnvironment(config: Config, name: string): Environment {
  // Own keys only: "__proto__" or "toString" must not find something on Object.prototype.
  const env = Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
  if (env === undefined) {
    const known = Object.keys(config.environments).join(", ");
    throw new InputError(
      `There is no environment ${JSON.stringify(name)} in shipyard.json.`,
      [],
      `use one of: ${known}`,
    );
  }
  return env;
}
