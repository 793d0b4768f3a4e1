/**
 * `shipyard <command>`: the same commands as the Dagger functions, over the same src/commands, for
 * operators and runners without Dagger. Parses the command line against the command's declaration,
 * runs it, prints its one report. Exit codes: see src/errors.ts.
 */
import { type AnyCommand, loadCommand } from "../src/commands/catalog.js";
import type { Runtime } from "../src/commands/context.js";
import { ExitCode, InputError } from "../src/errors.js";
import { parseCommandLine } from "./flags.js";
import { type CliIO, cliRuntime } from "./runtime.js";
import { commandUsage, overview } from "./usage.js";

export type { CliIO } from "./runtime.js";

/** Tests hand in a runtime of their own (simulators, a fake clock); by default the process's. */
export type RuntimeFor = (io: CliIO, current: { env?: string; config?: string }) => Runtime;

export async function runCli(
  argv: readonly string[],
  io: CliIO,
  runtimeFor: RuntimeFor = cliRuntime,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stderr(overview());
    return ExitCode.Success;
  }
  const command = await loadCommand(name);
  if (command === undefined) {
    io.stderr(`Unknown command "${name}".\n\n${overview()}`);
    return ExitCode.BadInput;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stderr(commandUsage(command));
    return ExitCode.Success;
  }
  const json = rest.includes("--json");
  try {
    return await run(command, io, runtimeFor, parseCommandLine(command, rest), json);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // Even an unreadable command line gets its one report (for --json users).
    return run(command, io, runtimeFor, { json }, json, error);
  }
}

async function run(
  command: AnyCommand,
  io: CliIO,
  runtimeFor: RuntimeFor,
  raw: Record<string, unknown>,
  json: boolean,
  invalid?: InputError,
): Promise<number> {
  const current = {
    ...(typeof raw.env === "string" ? { env: raw.env } : {}),
    ...(typeof raw.config === "string" ? { config: raw.config } : {}),
  };
  const runtime = runtimeFor(io, current);
  const { runCommand } = await import("../src/commands/run.js");
  const report = await runCommand(command, runtime, raw, invalid);
  return runtime.output.emit(report, { json });
}
