import { type ParseArgsConfig, parseArgs } from "node:util";
import { InputError } from "../src/errors.js";

/** What a command may touch: injected so tests run commands in-process and read what they print. */
export interface CliIO {
  /** One line of machine output (the JSON report). */
  stdout(text: string): void;
  /** One line of human progress. */
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM: a wait must stop, print the state and the command to resume. */
  signal: AbortSignal;
}

export interface Command {
  /** One line for `shipyard --help`. */
  summary: string;
  /** Full usage text for `shipyard <command> --help`. */
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

/** parseArgs with strict checks, turned into exit-code-2 errors a user can act on. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new InputError(`${(error as Error).message}`, [], `see the usage:\n${usage}`);
  }
}

export function processIO(signal: AbortSignal): CliIO {
  return {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    cwd: process.cwd(),
    signal,
  };
}
