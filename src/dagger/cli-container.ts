/**
 * The `shipyard` CLI in a Debian (glibc) Node container, over the app's source. Used for what cannot
 * run in the module runtime: squawk ships glibc-only binaries and the TypeScript module runtime is
 * Alpine (musl). The container runs the very same code as the module: the module's own source,
 * compiled in a build stage exactly as the npm package is.
 */
import { type Container, type Directory, dag, ReturnType } from "@dagger.io/dagger";
import { type ExitCode, ShipyardError } from "../errors.js";
import { SOURCE_EXCLUDES } from "./containers.js";
import { tail } from "./failure.js";

/** Where the module's own code (package.json, bin/, src/) is placed. */
export const SHIPYARD_DIR = "/shipyard";
/** Where the app is placed; the CLI runs from there, as an operator would. */
export const CLI_APP_DIR = "/app";
export const NPM_CACHE = "shipyard-npm-cache";

/** The files of the module the CLI is compiled from (no tests, no examples). */
const MODULE_SOURCE_FILES = ["bin/**", "src/**", "task-def.json", "tsconfig.json", "tsconfig.build.json"];
const LOCKFILES = ["package.json", "package-lock.json"];
/** The compiled CLI inside the containers. */
export const CLI_ENTRY = `${SHIPYARD_DIR}/dist/bin/shipyard.js`;

export function cliImage(nodeVersion: string): string {
  return `node:${nodeVersion}-bookworm-slim`;
}

function npmInstalled(nodeVersion: string, module: Directory, production: boolean): Container {
  return dag
    .container()
    .from(cliImage(nodeVersion))
    .withMountedCache("/root/.npm", dag.cacheVolume(NPM_CACHE))
    .withDirectory(SHIPYARD_DIR, module, { include: LOCKFILES })
    .withWorkdir(SHIPYARD_DIR)
    .withExec(["npm", "ci", ...(production ? ["--omit=dev"] : []), "--no-audit", "--no-fund"]);
}

/** Node (Debian) + Shipyard's production dependencies (from its lockfile, cached) + the compiled CLI + the app. */
export function shipyardCli(nodeVersion: string, appDir: Directory): Container {
  const module = dag.currentModule().source();
  const compiled = npmInstalled(nodeVersion, module, false)
    .withDirectory(SHIPYARD_DIR, module, { include: MODULE_SOURCE_FILES })
    .withExec(["npm", "run", "build"])
    .directory(`${SHIPYARD_DIR}/dist`);
  return npmInstalled(nodeVersion, module, true)
    .withDirectory(`${SHIPYARD_DIR}/dist`, compiled)
    .withDirectory(CLI_APP_DIR, appDir, { exclude: SOURCE_EXCLUDES })
    .withWorkdir(CLI_APP_DIR);
}

export interface CliContainerRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `shipyard ARGS` and returns its exit code and output whatever the exit code: the CLI's exit
 * codes are a contract (0/1/2/3), so the caller decides, not the engine.
 */
export async function runCliContainer(
  container: Container,
  args: readonly string[],
): Promise<CliContainerRun> {
  const ran = container.withExec(["node", CLI_ENTRY, ...args], {
    expect: ReturnType.Any,
  });
  const [exitCode, stdout, stderr] = await Promise.all([ran.exitCode(), ran.stdout(), ran.stderr()]);
  return { exitCode, stdout, stderr };
}

/**
 * The CLI's JSON output when it exited 0; otherwise an error carrying its exit code, its human
 * output (stderr) and the JSON, so `dagger call`/`dagger check` fail with the reason on screen.
 */
export function cliResult(run: CliContainerRun, what: string): string {
  if (run.exitCode === 0) return run.stdout.trim();
  const lines = [`${what} failed (exit ${run.exitCode}).`];
  if (run.stderr.trim() !== "") lines.push(tail(run.stderr, 60));
  if (run.stdout.trim() !== "") lines.push("", "Report:", run.stdout.trim());
  throw new ShipyardError(lines.join("\n"), { exitCode: run.exitCode as ExitCode });
}
