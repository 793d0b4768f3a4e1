/**
 * Exit codes are a contract: CI systems and people branch on them. This file is the one place that
 * says what each means; the usage text, the human summary, the Dagger error and the README table
 * all read it from here.
 */
export const ExitCode = {
  Success: 0,
  RolledBack: 1,
  BadInput: 2,
  NeedsAttention: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What an exit code means, in one line, for every command. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  0: "done and verified",
  1: "the release failed and the service is back on the previous task definition",
  2: "bad input or configuration; nothing was changed",
  3: "failed and NOT restored, or the state is unknown: a person must look (the commands to run are printed)",
};

/** Commands that never change a service: their exit 1 cannot mean "restored". */
const READ_ONLY = new Set([
  "plan",
  "status",
  "verify",
  "migrate-lint",
  "schema",
  "history",
  "metrics",
  "logs",
]);

/** What exit 0 means for the commands that do not deploy. */
const SUCCESS: Readonly<Record<string, string>> = {
  plan: "planned; nothing was changed",
  status: "read; nothing was changed",
  verify: "the running release is healthy",
  migrate: "migrated; the service was not changed",
  "migrate-lint": "no unsafe statement",
  schema: "written",
  init: "written",
  history: "read; nothing was changed",
  metrics: "read; nothing was changed",
  logs: "read; nothing was changed",
};

/** The meaning of `code` for one command (exit 1 of `migrate` means "failed, service untouched"). */
export function exitMeaning(code: ExitCode, command: string): string {
  if (code === ExitCode.Success && SUCCESS[command]) return SUCCESS[command];
  if (code === ExitCode.RolledBack && command === "migrate") {
    return "the migration failed; the service was not changed";
  }
  if (code === ExitCode.RolledBack && command === "migrate-lint") return "unsafe migrations were found";
  if (code === ExitCode.RolledBack && READ_ONLY.has(command)) return "failed; nothing was changed";
  return EXIT_CODE_MEANINGS[code];
}

/**
 * An error a user can act on: what happened (`message`), what to do next (`hint`), and the exit code
 * it maps to. Anything thrown that is not a ShipyardError is explained (AWS) or treated as unknown.
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

/** Bad configuration or arguments, found before anything remote changed: exit 2. */
export class InputError extends ShipyardError {
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [], hint?: string) {
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  - ${p}`).join("\n")}` : message, {
      exitCode: ExitCode.BadInput,
      ...(hint ? { hint } : {}),
    });
    this.name = "InputError";
    this.problems = problems;
  }
}

/** Message plus the next step, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof ShipyardError)
    return error.hint ? `${error.message}\nNext: ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The error's own message, for `why` fragments. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
