/**
 * How a command is declared: its name, what it does, its options (each with its help text and
 * default in one declaration), and its story (`run`). The CLI builds its flags and usage from this,
 * the docs generator builds the README's tables from it, and both faces pass their raw values
 * through the same `parseOptions`, so `--since` means the same on `shipyard verify` and
 * `dagger call verify`.
 *
 * Light on purpose: `shipyard --help` loads every declaration and must not pay for zod or the SDK.
 */
import type { Config } from "../config/schema.js";
import { InputError } from "../errors.js";
import type { CommandName, Report } from "../report/report.js";
import type { CommandContext, EnvironmentContext, OptionalConfigContext } from "./context.js";

export type OptionSpec =
  | { type: "string"; value: string; help: string; required?: true; pattern?: RegExp; cli?: "only" }
  | { type: "boolean"; help: string; cli?: "only" }
  | { type: "list"; value: string; help: string; cli?: "only" }
  /** "90", "90s", "15m", "2h", "7d": whole seconds. */
  | { type: "duration"; value: string; help: string; cli?: "only" };

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<O extends OptionSpec> = O extends { type: "boolean" }
  ? boolean
  : O extends { type: "list" }
    ? string[]
    : O extends { type: "duration" }
      ? number | undefined
      : O extends { required: true }
        ? string
        : string | undefined;

export type OptionValues<S extends OptionSpecs> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** Which context a command runs in: an environment of shipyard.json, an optional config, or none. */
export type ConfigNeed = "environment" | "optional" | "none";

type ContextFor<N extends ConfigNeed> = N extends "environment"
  ? EnvironmentContext
  : N extends "optional"
    ? OptionalConfigContext
    : CommandContext;

export interface CommandSpec<S extends OptionSpecs = OptionSpecs, N extends ConfigNeed = ConfigNeed> {
  name: CommandName;
  /** A paragraph for `shipyard <command> --help`. */
  description: string;
  config: N;
  options: S;
  examples: readonly string[];
  /** Exit codes as this command uses them, when they differ from the common table. */
  exitCodes?: string;
  /** Checks that options agree with each other, before anything is read (throws InputError). */
  check?(options: OptionValues<S>): void;
  /** The environment when the command takes no --env but shipyard.json names it (previews). */
  environmentOf?(config: Config): string;
  run(ctx: ContextFor<N>, options: OptionValues<S>): Promise<Report>;
}

/** A command of any declaration, as the catalog and the faces hold it. */
export interface AnyCommand {
  name: CommandName;
  description: string;
  config: ConfigNeed;
  options: OptionSpecs;
  examples: readonly string[];
  exitCodes?: string;
  check?(options: never): void;
  environmentOf?(config: Config): string;
  run(ctx: never, options: never): Promise<Report>;
}

export function defineCommand<S extends OptionSpecs, N extends ConfigNeed>(
  spec: CommandSpec<S, N>,
): CommandSpec<S, N> {
  return spec;
}

/** Environment names are shipyard.json keys, and end up in tags and command lines: boring only. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** What every command that works on one environment takes. */
export const environmentOptions = {
  env: {
    type: "string",
    value: "NAME",
    help: "environment in shipyard.json, e.g. staging or production",
    required: true,
    pattern: ENVIRONMENT_NAME,
  },
  config: {
    type: "string",
    value: "PATH",
    help: "the shipyard.json to read (default: ./shipyard.json)",
    cli: "only",
  },
  json: {
    type: "boolean",
    help: "print the report as one JSON object on stdout (progress stays on stderr)",
    cli: "only",
  },
  reportHtml: {
    type: "string",
    value: "FILE",
    help: "also write the report as a self-contained HTML page with its diagrams (phase timeline, error rate over the gate's window), viewable offline; a CI artifact",
    cli: "only",
  },
} as const satisfies OptionSpecs;

/** The CLI flag of an option key: skipRequires → --skip-requires. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "600", "600s", "10m", "2h", "7d" → seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (UNITS[match[2] || "s"] ?? 1);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * Checks raw option values (from the command line or a Dagger call) against the declaration and
 * returns them typed. Empty strings count as "not given": Dagger's defaults are "".
 */
export function parseOptions<S extends OptionSpecs>(
  specs: S,
  raw: Readonly<Record<string, unknown>>,
): OptionValues<S> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(specs, key)) problems.push(`${flagName(key)} is not an option of this command`);
  }
  for (const [key, spec] of Object.entries(specs)) {
    const given = raw[key];
    const flag = flagName(key);
    switch (spec.type) {
      case "boolean":
        values[key] = given === true;
        break;
      case "list":
        values[key] = Array.isArray(given) ? given.map(String).filter((v) => v !== "") : [];
        break;
      case "duration": {
        if (given === undefined || given === "" || given === 0) break;
        const seconds = parseDuration(String(given));
        if (seconds === undefined) {
          problems.push(
            `${flag} ${JSON.stringify(given)} is not a duration: write seconds (600) or 600s, 10m, 2h, 7d`,
          );
        }
        values[key] = seconds;
        break;
      }
      case "string": {
        const text = typeof given === "string" ? given : undefined;
        if (text === undefined || text === "") {
          if (spec.required) problems.push(`${flag} ${spec.value} is required`);
          break;
        }
        if (!isPrintable(text)) {
          problems.push(`${flag} contains a control character or line break; retype it`);
        } else if (spec.pattern && !spec.pattern.test(text)) {
          problems.push(`${flag} ${JSON.stringify(text)} is not a valid ${spec.value}`);
        }
        values[key] = text;
        break;
      }
    }
  }
  if (problems.length > 0) {
    throw new InputError("The command line is not valid; nothing was changed.", problems, "see --help");
  }
  return values as OptionValues<S>;
}

/** A whole-number option within bounds (`--limit 20`): its value, or the InputError that names the fix. */
export function wholeNumberOption(
  flag: string,
  given: string | undefined,
  bounds: { min: number; max: number; fallback: number; unit: string },
): number {
  if (given === undefined) return bounds.fallback;
  const value = /^\d+$/.test(given) ? Number(given) : Number.NaN;
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new InputError(
      `${flag} ${JSON.stringify(given)} is not a number of ${bounds.unit} from ${bounds.min} to ${bounds.max}; nothing was read.`,
      [],
      `pass a whole number, e.g. ${flag} ${bounds.fallback}`,
    );
  }
  return value;
}

/** No control characters, no line breaks, no lone surrogates (what a terminal paste can carry). */
export function isPrintable(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds.
  return !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text) && text.isWellFormed();
}
