/**
 * Sentry release bookkeeping with the real sentry-cli binary (shipped by @sentry/cli, imported lazily
 * because every `dagger call` loads src/index.ts): create the release, attach commits, finalize, record
 * the deploy — and, when the controller rolls back, record that the environment is on the previous
 * release again. Bookkeeping is a courtesy to the people reading Sentry: a failure here warns with what
 * to do and never fails a deploy.
 */
import type { Progress } from "../report/progress.js";

export interface SentryCliRun {
  ok: boolean;
  stdout: string;
  /** First lines of stderr (or the spawn error), already scrubbed of the token. */
  detail: string;
}

export type SentryCliRunner = (
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number; signal?: AbortSignal },
) => Promise<SentryCliRun>;

export interface BookkeepingInput {
  org: string;
  project: string;
  /** Sentry environment name. */
  environment: string;
  release: string;
  /** Folder of the app (a git checkout, for `set-commits --auto`). */
  cwd: string;
  /** Process environment: SENTRY_URL and SENTRY_AUTH_TOKEN are read from here. */
  env: NodeJS.ProcessEnv;
  progress: Progress;
  signal?: AbortSignal;
  runner?: SentryCliRunner;
  timeoutMs?: number;
}

export interface BookkeepingStep {
  command: string;
  ok: boolean;
  detail?: string;
}

export interface BookkeepingResult {
  ok: boolean;
  steps: BookkeepingStep[];
  warnings: string[];
}

const DEFAULT_TIMEOUT_MS = 60_000;

const formatTimeout = (ms: number) => (ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`);

/** Finds the binary @sentry/cli installed for this platform. */
export async function sentryCliPath(): Promise<string> {
  const { SentryCli } = await import("@sentry/cli");
  return SentryCli.getPath();
}

function scrub(text: string, env: NodeJS.ProcessEnv): string {
  const token = env.SENTRY_AUTH_TOKEN;
  return token && token.length >= 4 ? text.split(token).join("***") : text;
}

/** Lines of sentry-cli's stderr worth showing: its error and cause, not the Rust backtrace. */
function errorLines(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim());
  const cut = lines.findIndex((l) => l.startsWith("Stack backtrace") || l.startsWith("Add --log-level"));
  return (cut >= 0 ? lines.slice(0, cut) : lines)
    .filter((l) => l !== "")
    .slice(0, 4)
    .join(" ");
}

/** Runs the real sentry-cli binary. */
export const realSentryCli: SentryCliRunner = async (args, options) => {
  let binary: string;
  try {
    binary = await sentryCliPath();
  } catch (error) {
    return { ok: false, stdout: "", detail: `sentry-cli is not installed (${(error as Error).message})` };
  }
  const { execFile } = await import("node:child_process");
  return new Promise<SentryCliRun>((resolve) => {
    execFile(
      binary,
      args,
      {
        env: options.env,
        cwd: options.cwd,
        timeout: options.timeoutMs,
        signal: options.signal,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout, detail: "" });
        const killed = (error as { killed?: boolean }).killed;
        const detail = killed
          ? `no answer within ${formatTimeout(options.timeoutMs)}`
          : errorLines(String(stderr)) || error.message;
        resolve({ ok: false, stdout, detail: scrub(detail, options.env) });
      },
    );
  });
};

function cliEnv(input: BookkeepingInput): NodeJS.ProcessEnv {
  return {
    ...input.env,
    SENTRY_ORG: input.org,
    SENTRY_PROJECT: input.project,
    // Keep sentry-cli from asking questions or phoning home for updates in CI.
    SENTRY_DISABLE_UPDATE_CHECK: "1",
    SENTRY_LOG_LEVEL: input.env.SENTRY_LOG_LEVEL ?? "warn",
  };
}

/** What a person should do when a bookkeeping command failed, by command. */
function adviceFor(command: string, detail: string): string {
  if (/401|403|auth|token/i.test(detail)) {
    return "check SENTRY_AUTH_TOKEN: it needs the project:releases (or project:write) and org:read scopes";
  }
  if (command.includes("set-commits")) {
    return "commits are missing from this release; run the deploy from a git checkout with a remote, or connect the repository in Sentry (Settings → Integrations)";
  }
  return `run \`sentry-cli ${command}\` by hand once Sentry is reachable, or set sentry.releases to false to skip bookkeeping`;
}

async function runSteps(
  input: BookkeepingInput,
  commands: Array<{ args: string[]; required: boolean }>,
): Promise<BookkeepingResult> {
  const runner = input.runner ?? realSentryCli;
  const env = cliEnv(input);
  const steps: BookkeepingStep[] = [];
  const warnings: string[] = [];
  if (!input.env.SENTRY_AUTH_TOKEN) {
    const warning =
      "Sentry release bookkeeping skipped: SENTRY_AUTH_TOKEN is not set; set it (project:releases and org:read scopes) or set sentry.releases to false";
    input.progress.warn(warning);
    return { ok: false, steps, warnings: [warning] };
  }
  for (const { args, required } of commands) {
    const command = args.join(" ");
    const result = await runner(args, {
      env,
      cwd: input.cwd,
      timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: input.signal,
    });
    steps.push(result.ok ? { command, ok: true } : { command, ok: false, detail: result.detail });
    if (result.ok) {
      input.progress.step(`sentry-cli ${command}: done`);
      continue;
    }
    const warning = `sentry-cli ${command} failed: ${result.detail}; ${adviceFor(command, result.detail)}. The deploy goes on.`;
    input.progress.warn(warning);
    warnings.push(warning);
    if (required) break;
  }
  return { ok: warnings.length === 0, steps, warnings };
}

/** releases new → set-commits --auto --ignore-missing → finalize → deploys new -e ENV. */
export function recordRelease(input: BookkeepingInput): Promise<BookkeepingResult> {
  const v = input.release;
  return runSteps(input, [
    // Without the release the rest cannot succeed: stop after it fails.
    { args: ["releases", "new", v], required: true },
    { args: ["releases", "set-commits", v, "--auto", "--ignore-missing"], required: false },
    { args: ["releases", "finalize", v], required: false },
    {
      args: ["deploys", "new", "-e", input.environment, "-r", v, "-n", `shipyard deploy ${v}`],
      required: false,
    },
  ]);
}

/**
 * After a rollback the environment runs the previous release again: record that as a deploy of the
 * previous release, named after the release that was rolled back, so Sentry's release page shows it.
 */
export function recordRollback(
  input: BookkeepingInput & { rolledBackRelease: string },
): Promise<BookkeepingResult> {
  const name = `shipyard rollback of ${input.rolledBackRelease}`;
  return runSteps(input, [
    // Idempotent (Sentry answers 208 when it exists); needed when the previous release predates Shipyard.
    { args: ["releases", "new", input.release], required: true },
    { args: ["deploys", "new", "-e", input.environment, "-r", input.release, "-n", name], required: true },
  ]);
}
