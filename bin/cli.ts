/**
 * `shipyard <command>`: the same commands as the Dagger functions, over the same src/commands, for
 * operators and runners without Dagger. Parses the command line against the command's declaration,
 * runs it, prints its one report. Exit codes: see src/errors.ts.
 */
import { type AnyCommand, loadCommand } from "../src/commands/catalog.js";
import type { Runtime } from "../src/commands/context.js";
import { isPrintable } from "../src/commands/spec.js";
import { ExitCode, InputError } from "../src/errors.js";
import type { Output } from "../src/report/output.js";
import type { Report } from "../src/report/report.js";
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
  const page = await planReportPage(raw, io.cwd, invalid);
  const { runCommand } = await import("../src/commands/run.js");
  const report = await runCommand(command, runtime, raw, invalid ?? page.invalid);
  const code = await runtime.output.emit(report, { json });
  if (page.write) await page.write(report, runtime.output);
  return code;
}

/** What `--report-html` asks for: a page to write once the command is done, or why it cannot be. */
interface PagePlan {
  write?: (report: Report, output: Output) => Promise<void>;
  invalid?: InputError;
}

/**
 * `--report-html FILE`, checked before the command runs (a bad path is bad input, exit 2). The page's
 * code, and the Mermaid library it inlines, are loaded only when the flag is given.
 */
async function planReportPage(
  raw: Record<string, unknown>,
  cwd: string,
  invalid: InputError | undefined,
): Promise<PagePlan> {
  const given = raw.reportHtml;
  // An unprintable value is refused by the option parser, with the other options.
  if (invalid || typeof given !== "string" || given === "" || !isPrintable(given)) return {};
  const { prepareReportHtml, writeReportHtml } = await import("./report-html.js");
  try {
    const target = await prepareReportHtml(given, cwd);
    return { write: (report, output) => writeReportHtml(target, report, output) };
  } catch (error) {
    if (error instanceof InputError) return { invalid: error };
    throw error;
  }
}
