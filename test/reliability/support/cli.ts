/**
 * The CLI face in-process, as `shipyard ...` parses, runs and prints, with the world's clock and
 * simulators: stdout, stderr, the $GITHUB_STEP_SUMMARY file and anything thrown, all captured.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../bin/cli.js";
import { type CliIO, cliRuntime } from "../../../bin/runtime.js";
import type { Runtime } from "../../../src/commands/context.js";
import type { World } from "../../support/world.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  /** The message of anything runCli threw (it should throw nothing). */
  thrown: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the user stands (default: the world's app folder, /app). */
  cwd?: string;
  /** The script the process runs (process.argv[1]). */
  script?: string;
  overrides?: Partial<Runtime>;
  signal?: AbortSignal;
  /** Read the app's files from disk under `cwd`, as the CLI does (default: the world's files in memory). */
  disk?: boolean;
}

export async function runCliIn(world: World, argv: string[], options: CliOptions = {}): Promise<CliResult> {
  const summaryFile = join(await mkdtemp(join(tmpdir(), "shipyard-summary-")), "summary.md");
  const env: NodeJS.ProcessEnv = { ...world.env, GITHUB_STEP_SUMMARY: summaryFile, ...options.env };
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env,
    cwd: options.cwd ?? "/app",
    signal: options.signal ?? new AbortController().signal,
    script: options.script ?? "/app/node_modules/.bin/shipyard",
  };
  let code: number | null = null;
  let thrown = "";
  try {
    code = await runCli(argv, io, (cliIo, current) => {
      // The CLI's own output (stdout, stderr, step summary) and invocation; the world's clock and ECS.
      const cli = cliRuntime(cliIo, current);
      return world.runtime({
        output: cli.output,
        invocation: cli.invocation,
        env: cliIo.env,
        signal: cliIo.signal,
        ...(options.disk ? { files: cli.files } : {}),
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              awsCredentials: async () => ({
                accessKeyId: env.AWS_ACCESS_KEY_ID!,
                secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
                ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
              }),
            }
          : {}),
        ...options.overrides,
      });
    });
  } catch (error) {
    thrown = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
  }
  const summary = await readFile(summaryFile, "utf8").catch(() => "");
  return { code, stdout: out.join("\n"), stderr: err.join("\n"), summary, thrown };
}
