/**
 * Turns a failed container command into a message a person can act on: which step, the command,
 * its exit code, the last lines of its output and the one command that reproduces it locally.
 * The bundled SDK in the engine does not export ExecError, so we read the fields off the error object.
 */
import { describeError, ExitCode, ShipyardError } from "../errors.js";
import { shellQuote } from "../report/shell.js";

/** How many trailing output lines a failure shows: enough for a stack trace, short enough to read. */
export const OUTPUT_TAIL_LINES = 30;

interface ExecFailure {
  cmd: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An exec failure as the SDK raises it (ExecError): cmd, exitCode, stdout, stderr. */
export function asExecFailure(error: unknown): ExecFailure | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const fields = error as Record<string, unknown>;
  if (typeof fields["exitCode"] !== "number") return undefined;
  const cmd = Array.isArray(fields["cmd"]) ? fields["cmd"].map(String) : [];
  return {
    cmd,
    exitCode: fields["exitCode"],
    stdout: typeof fields["stdout"] === "string" ? fields["stdout"] : "",
    stderr: typeof fields["stderr"] === "string" ? fields["stderr"] : "",
  };
}

export function tail(text: string, lines = OUTPUT_TAIL_LINES): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}

export interface StepContext {
  /** The Dagger function that ran the step, e.g. "test". */
  fn: string;
  /** Human name of the step, e.g. "unit tests". */
  step: string;
}

/**
 * Rewrites an exec failure into a ShipyardError; any other error passes through unchanged
 * (the engine's own message is already the best we have).
 */
export function explainFailure(error: unknown, context: StepContext): unknown {
  const failure = asExecFailure(error);
  if (!failure) return error;
  const command = failure.cmd.length > 0 ? shellQuote(failure.cmd) : "(unknown command)";
  const output = [failure.stdout, failure.stderr].filter((part) => part.trim() !== "").join("\n");
  const lines = [
    `${context.step} failed: \`${command}\` exited with code ${failure.exitCode}.`,
    output === ""
      ? "It printed nothing."
      : `Last ${OUTPUT_TAIL_LINES} lines of its output:\n${indent(tail(output))}`,
  ];
  // The hint goes into the message itself: the engine shows a function's error message, nothing else.
  lines.push(
    `Next: reproduce it with \`dagger call ${context.fn}\`, or open a shell in the same container with \`dagger call dev terminal\` and run \`${command}\`.`,
  );
  return new ShipyardError(lines.join("\n"), { exitCode: ExitCode.NeedsAttention, cause: error });
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  | ${line}`)
    .join("\n");
}

/** Runs `work` and rethrows an exec failure as an explained ShipyardError. */
export async function explained<T>(context: StepContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw explainFailure(error, context);
  }
}

/**
 * The engine shows only an error's message, so a ShipyardError's hint ("Next: ...") is folded into it.
 * Every Shipyard function body runs inside this.
 */
export async function surfaced<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ShipyardError && error.hint) {
      throw new ShipyardError(describeError(error), { exitCode: error.exitCode, cause: error });
    }
    throw error;
  }
}
