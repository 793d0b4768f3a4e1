/**
 * `shipyard <command>`: the same deploy/rollback/status/plan/verify/migrate over the same core as the
 * Dagger functions, for operators and for runners without Dagger. Commands load lazily so `--help`
 * does not pay for the AWS SDK.
 */
import { describeError, ExitCode, ShipyardError } from "../src/errors.js";
import { type CliIO, type Command, processIO } from "./io.js";

/** One file per command under bin/commands/, each exporting `command`. Keep the list alphabetical. */
const commands: Record<string, () => Promise<{ command: Command }>> = {
  deploy: () => import("./commands/deploy.js"),
  migrate: () => import("./commands/migrate.js"),
  "migrate-lint": () => import("./commands/migrate-lint.js"),
  plan: () => import("./commands/plan.js"),
  rollback: () => import("./commands/rollback.js"),
  schema: () => import("./commands/schema.js"),
  status: () => import("./commands/status.js"),
  verify: () => import("./commands/verify.js"),
};

async function help(io: CliIO): Promise<number> {
  io.stderr("Usage: shipyard <command> [options]\n\nCommands:");
  for (const [name, load] of Object.entries(commands)) {
    const { command } = await load();
    io.stderr(`  ${name.padEnd(14)} ${command.summary}`);
  }
  io.stderr("\nRun `shipyard <command> --help` for a command's options.");
  return ExitCode.Success;
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") return help(io);
  const load = commands[name];
  if (load === undefined) {
    io.stderr(`Unknown command "${name}".`);
    await help(io);
    return ExitCode.BadInput;
  }
  const { command } = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stderr(command.usage);
    return ExitCode.Success;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    io.stderr(`error: ${describeError(error)}`);
    return error instanceof ShipyardError ? error.exitCode : ExitCode.NeedsAttention;
  }
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => controller.abort(new Error(`received ${signal}`));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return runCli(argv, processIO(controller.signal));
}
