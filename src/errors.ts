/**
 * Exit codes are a contract (DESIGN.md): CI systems and people branch on them.
 *   0 done and verified · 1 failed, service back on the previous revision
 *   2 bad input, nothing changed · 3 failed and NOT restored, or unknown: a person must look
 */
export const ExitCode = {
  Success: 0,
  RolledBack: 1,
  BadInput: 2,
  NeedsAttention: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error a user can act on: what happened (`message`), what to do next (`hint`), and the exit code
 * it maps to. Anything thrown that is not a ShipyardError is a bug or an unknown state (exit 3).
 */
export class ShipyardError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "ShipyardError";
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Bad configuration or arguments, found before anything remote changed. */
export class InputError extends ShipyardError {
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [], hint?: string) {
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  - ${p}`).join("\n")}` : message, {
      exitCode: ExitCode.BadInput,
      hint,
    });
    this.name = "InputError";
    this.problems = problems;
  }
}

/** One line for humans: message plus the next step, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof ShipyardError)
    return error.hint ? `${error.message}\nNext: ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
