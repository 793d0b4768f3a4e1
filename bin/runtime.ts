/**
 * The CLI's Runtime for src/commands: files from disk (relative to where the user stands), the AWS
 * SDK's default credential chain, stdout/stderr and $GITHUB_STEP_SUMMARY through one scrubbed Output,
 * and recovery commands printed the way this process was started.
 */
import { appendFile, readFile, stat } from "node:fs/promises";
import { basename, relative, resolve, sep } from "node:path";
import { systemClock } from "../src/clock.js";
import type { Invocation, Runtime, SourceFiles } from "../src/commands/context.js";
import { flagName } from "../src/commands/spec.js";
import { type Channels, Output } from "../src/report/output.js";
import { Scrubber } from "../src/report/scrub.js";
import { shellQuote } from "../src/report/shell.js";

/** What the CLI touches of its process: injected so tests run it in-process and read what it printed. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM/SIGHUP. */
  signal: AbortSignal;
  /** The script this process runs (process.argv[1]), to print commands the way the user ran them. */
  script: string;
}

export function diskFiles(cwd: string): SourceFiles {
  return {
    root: cwd,
    describe: (path) => relative(cwd, resolve(cwd, path)) || ".",
    async read(path) {
      const full = resolve(cwd, path);
      try {
        if ((await stat(full)).isDirectory()) return { kind: "directory" };
        return { kind: "file", text: await readFile(full, "utf8") };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" };
        if (code === "ELOOP")
          return { kind: "unreadable", why: "it is a symbolic link that points back at itself (ELOOP)" };
        return { kind: "unreadable", why: `${code ?? "error"}: ${(error as Error).message}` };
      }
    },
  };
}

/**
 * How to run shipyard again from here: `npx shipyard` when it is installed in this project (npx then
 * finds the local one, never the public registry), `shipyard` when it is on the PATH, else
 * `node <script>` as it was started.
 */
export function programName(script: string, cwd: string): string {
  const parts = script.split(sep);
  const modules = parts.lastIndexOf("node_modules");
  if (modules > 0) {
    const project = parts.slice(0, modules).join(sep);
    const local = cwd === project || cwd.startsWith(`${project}${sep}`);
    return local ? "npx shipyard" : "shipyard";
  }
  if (basename(script) === "shipyard") return "shipyard";
  const shown = relative(cwd, script);
  return `node ${shown.startsWith("..") || shown === "" ? script : shown}`;
}

export function cliInvocation(
  io: Pick<CliIO, "script" | "cwd">,
  current: { env?: string | undefined; config?: string | undefined },
): Invocation {
  const program = programName(io.script, io.cwd);
  return {
    command(name, flags = {}) {
      const all: Record<string, string | boolean | undefined> = {
        env: current.env,
        ...flags,
        config: current.config,
      };
      const words = [name];
      for (const [key, value] of Object.entries(all)) {
        if (value === undefined || value === false) continue;
        words.push(flagName(key));
        if (value !== true) words.push(value);
      }
      return `${program} ${shellQuote(words)}`;
    },
  };
}

export function cliRuntime(io: CliIO, current: { env?: string; config?: string }): Runtime {
  const channels: Channels = {
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.env.GITHUB_STEP_SUMMARY
      ? { appendSummary: (markdown: string) => appendFile(io.env.GITHUB_STEP_SUMMARY!, markdown) }
      : {}),
  };
  return {
    clock: systemClock,
    random: Math.random,
    signal: io.signal,
    env: io.env,
    output: new Output(channels, new Scrubber()),
    files: diskFiles(io.cwd),
    invocation: cliInvocation(io, current),
  };
}
