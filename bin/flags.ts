/**
 * The command line of one command, parsed with node:util's parseArgs against the command's option
 * declarations (no argument library: `shipyard --help` must start fast, and parseArgs' tokens let us
 * refuse a flag given twice instead of silently taking the last one).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { AnyCommand } from "../src/commands/catalog.js";
import { flagName } from "../src/commands/spec.js";
import { InputError } from "../src/errors.js";

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandLine(command: AnyCommand, argv: readonly string[]): Record<string, unknown> {
  const byFlag = new Map<string, string>();
  const options: ParseOptions = {};
  for (const [key, spec] of Object.entries(command.options)) {
    const flag = flagName(key).slice(2);
    byFlag.set(flag, key);
    options[flag] =
      spec.type === "boolean" ? { type: "boolean" } : { type: "string", multiple: spec.type === "list" };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new InputError(`${(error as Error).message}`, [], `see \`shipyard ${command.name} --help\``);
  }
  const seen = new Map<string, number>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind === "option") seen.set(token.name, (seen.get(token.name) ?? 0) + 1);
  }
  const repeated = [...seen]
    .filter(([flag, count]) => count > 1 && command.options[byFlag.get(flag) ?? ""]?.type !== "list")
    .map(([flag]) => `--${flag} is given more than once; which one did you mean?`);
  if (repeated.length > 0) {
    throw new InputError(
      "The command line is not valid; nothing was changed.",
      repeated,
      "give each flag once",
    );
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(parsed.values)) raw[byFlag.get(flag) ?? flag] = value;
  return raw;
}
