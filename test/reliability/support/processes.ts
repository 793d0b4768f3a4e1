/**
 * The shipped CLI as real processes: built once the way `npm run build` builds it (tsc with
 * tsconfig.build.json, the bundled task-def.json beside it), then `node <build>/bin/shipyard.js ...`
 * on Node 24 (node_modules/.bin/node), each process with its own AWS credentials, against an ECS
 * simulator that runs on the real clock. The build goes to a folder of its own, not dist/:
 * `npm run build` empties dist/ first, which would pull the CLI from under anything else running
 * it. The folder sees the project's node_modules through a link, as dist/ would.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SimClock } from "../../../src/emulator/ecs/simulator.js";
import { accessKeyOf } from "./rig.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const NODE = join(ROOT, "node_modules/.bin/node");

export interface BuiltCli {
  /** The compiled bin/shipyard.js. */
  script: string;
  remove(): Promise<void>;
}

/** Compiles the CLI as `npm run build` does, into a fresh folder; fails on any compile error. */
export async function buildCli(): Promise<BuiltCli> {
  const folder = await mkdtemp(join(tmpdir(), "shipyard-built-cli-"));
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  const build = spawnSync(tsc, ["-p", "tsconfig.build.json", "--outDir", folder], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stdout}\n${build.stderr}`);
  await copyFile(join(ROOT, "task-def.json"), join(folder, "task-def.json"));
  await writeFile(join(folder, "package.json"), JSON.stringify({ type: "module" }));
  await symlink(join(ROOT, "node_modules"), join(folder, "node_modules"), "dir");
  return {
    script: join(folder, "bin/shipyard.js"),
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}

/** The simulator on wall-clock time: rollouts move on every call. */
export const realClock: SimClock = {
  now: () => Date.now(),
  onAdvance: () => {},
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  /** The access key id its calls are signed with. */
  key: string;
  done: Promise<Finished>;
}

/** An app folder on disk: shipyard.json and task-def.json. */
export async function appFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "shipyard-reliability-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

export interface ProcessOptions {
  cli: BuiltCli;
  cwd: string;
  endpoint: string;
  env?: NodeJS.ProcessEnv;
}

/** The environment of a run called `name`: its own AWS key, ECS at `endpoint`, nothing else of ours. */
function environmentOf(name: string, options: ProcessOptions): NodeJS.ProcessEnv {
  return {
    // Node 24 first: the `node` a printed command names is the one the CLI runs on.
    PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
    HOME: options.cwd,
    USER: name,
    AWS_ENDPOINT_URL_ECS: options.endpoint,
    AWS_ACCESS_KEY_ID: accessKeyOf(name),
    AWS_SECRET_ACCESS_KEY: secretKeyOf(name),
    // The credential chain stays on this machine: no instance metadata, no shared files.
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(options.cwd, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(options.cwd, "no-aws-credentials"),
    ...options.env,
  };
}

/** The secret access key a run called `name` signs with. */
export const secretKeyOf = (name: string) => `secret-of-${name}`;

/** Runs `shipyard <args>` in `cwd` against `endpoint`, as the run called `name`. */
export function startCli(name: string, args: string[], options: ProcessOptions): Started {
  return watch(
    spawn(NODE, [options.cli.script, ...args], {
      cwd: options.cwd,
      env: environmentOf(name, options),
      stdio: ["ignore", "pipe", "pipe"],
    }),
    accessKeyOf(name),
  );
}

/** Runs a command line through the shell, as a person pastes it, in `cwd`, as the run called `name`. */
export function startShell(name: string, commandLine: string, options: ProcessOptions): Started {
  return watch(
    spawn("/bin/sh", ["-c", commandLine], {
      cwd: options.cwd,
      env: environmentOf(name, options),
      stdio: ["ignore", "pipe", "pipe"],
    }),
    accessKeyOf(name),
  );
}

function watch(child: ChildProcess, key: string): Started {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, key, done };
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
