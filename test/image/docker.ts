/**
 * The docker CLI, for what testcontainers does not do: BuildKit builds (cache mounts need the CLI's
 * BuildKit session), image inspection and layer history. Debian's client (/usr/bin/docker) is preferred:
 * it has BuildKit built in, whereas a newer stray client without the buildx plugin refuses
 * DOCKER_BUILDKIT=1.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

export const dockerBinary = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve with the exit code instead of rejecting when the command fails. */
  allowFailure?: boolean;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message);
  }
}

/** Runs a command without a shell, collecting its output; rejects with the output's tail on failure. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) =>
      reject(new Error(`could not start ${command}: ${error.message}. Is it installed and on PATH?`)),
    );
    child.on("close", (code) => {
      const result: CommandResult = {
        exitCode: code ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        seconds: (performance.now() - started) / 1000,
      };
      if (result.exitCode === 0 || options.allowFailure) return resolve(result);
      const tail = (result.stderr || result.stdout).trim().split("\n").slice(-25).join("\n");
      reject(
        new CommandError(`${command} ${args.join(" ")} exited with ${result.exitCode}:\n${tail}`, result),
      );
    });
  });
}

export function docker(args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return run(dockerBinary, args, options);
}

/** True when a Docker engine answers: the image suite cannot run without one. */
export async function engineAnswers(): Promise<boolean> {
  const result = await docker(["info", "--format", "{{.ServerVersion}}"], { allowFailure: true }).catch(
    () => undefined,
  );
  return result?.exitCode === 0;
}

export async function inspectJson<T>(kind: "image" | "container", reference: string): Promise<T> {
  const { stdout } = await docker([kind, "inspect", reference]);
  const [first] = JSON.parse(stdout) as T[];
  if (first === undefined) throw new Error(`docker ${kind} inspect ${reference} returned nothing`);
  return first;
}

export interface ImageInspect {
  Id: string;
  Size: number;
  RootFS: { Layers: string[] };
  Config: {
    User?: string;
    WorkingDir?: string;
    Env?: string[];
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    ExposedPorts?: Record<string, object>;
    Healthcheck?: {
      Test?: string[];
      Interval?: number;
      Timeout?: number;
      StartPeriod?: number;
      Retries?: number;
    };
    Labels?: Record<string, string> | null;
  };
}

export interface ContainerInspect {
  State: { Status: string; Running: boolean; ExitCode: number; Health?: { Status: string } };
}

export interface LayerEntry {
  createdBy: string;
  bytes: number;
}

/** The image's layers, oldest first, with the instruction that made each (docker history). */
export async function imageHistory(reference: string): Promise<LayerEntry[]> {
  const { stdout } = await docker([
    "history",
    "--no-trunc",
    "--human=false",
    "--format",
    "{{.Size}}\t{{.CreatedBy}}",
    reference,
  ]);
  return stdout
    .trim()
    .split("\n")
    .reverse()
    .map((line) => {
      const [size = "0", ...createdBy] = line.split("\t");
      return { bytes: Number(size), createdBy: createdBy.join("\t") };
    });
}
