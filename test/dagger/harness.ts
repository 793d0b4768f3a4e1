/**
 * Helpers shared by the fake-engine contract tests: build a Shipyard over a fixture directory, run one
 * function against a fresh fake engine and look at the container graphs it asked for.
 */
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dag, type Secret } from "@dagger.io/dagger";
import { Shipyard } from "../../src/index.js";
import {
  type Call,
  type Chain,
  type FakeEngine,
  type FakeEngineOptions,
  type Responder,
  withFakeEngine,
} from "../support/fake-engine.js";

export const SHA = "3f2c9a1b7d4e5f60718293a4b5c6d7e8f9012345";

export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export interface ShipyardArgs {
  fixture?: string;
  /** An absolute source directory instead of a fixture (e.g. the repository root). */
  sourceDir?: string;
  app?: string;
  nodeVersion?: string;
  pnpmVersion?: string;
  postgresImage?: string;
  commit?: string;
  sourceUrl?: string;
  /**
   * Secret URIs for the credential arguments of the constructor (e.g. "env://AWS_ACCESS_KEY_ID"), made
   * into Secrets with dag.secret() inside the engine session, as `--aws-access-key-id=env://...` would.
   */
  awsAccessKeyId?: string;
  awsSecretAccessKey?: string;
  awsSessionToken?: string;
  sentryAuthToken?: string;
  /** Secret URI for --github-token, e.g. "env://GITHUB_TOKEN". */
  githubToken?: string;
  githubRepository?: string;
  githubRunId?: string;
  githubServerUrl?: string;
  githubApiUrl?: string;
}

const secret = (uri: string | undefined): Secret | undefined => (uri ? dag.secret(uri) : undefined);

/** The constructor exactly as the engine calls it: every argument present, defaults filled in. */
export function shipyardFor(args: ShipyardArgs = {}): Shipyard {
  return new Shipyard(
    dag.host().directory(args.sourceDir ?? fixture(args.fixture ?? "app")),
    args.app ?? ".",
    args.nodeVersion ?? "24",
    args.pnpmVersion ?? "",
    args.postgresImage ?? "postgres:16",
    args.commit ?? "",
    args.sourceUrl ?? "",
    secret(args.awsAccessKeyId),
    secret(args.awsSecretAccessKey),
    secret(args.awsSessionToken),
    secret(args.sentryAuthToken),
    secret(args.githubToken),
    args.githubRepository ?? "",
    args.githubRunId ?? "",
    args.githubServerUrl ?? "",
    args.githubApiUrl ?? "",
  );
}

export interface Outcome<T> {
  engine: FakeEngine;
  result?: T;
  error?: Error;
}

/** host.directory(/x).directory(y).file(z) → /x/y/z; undefined for anything not rooted on the host. */
function hostPath(chain: Chain): string | undefined {
  const [host, root, ...rest] = chain;
  if (host?.field !== "host" || root?.field !== "directory") return undefined;
  let path = String(root.args["path"]);
  for (const call of rest) {
    if (call.field !== "directory" && call.field !== "file") return undefined;
    path = join(path, String(call.args["path"]));
  }
  return path;
}

/**
 * `exists(path:, expectedType:)` on a host directory, as the engine answers it: true only when the
 * path exists AND is of that type (the fake engine's default answer ignores the type). The Dagger
 * face asks "is it a directory?" before reading shipyard.json.
 */
export const existsOfType: Responder = (chain) => {
  const leaf = chain.at(-1);
  const expected = leaf?.args["expectedType"];
  if (leaf?.field !== "exists" || typeof expected !== "string") return undefined;
  const dir = hostPath(chain.slice(0, -1));
  if (dir === undefined) return undefined;
  const path = join(dir, String(leaf.args["path"]));
  if (!existsSync(path)) return { value: false };
  const stat = lstatSync(path);
  const is: Record<string, boolean> = {
    DIRECTORY_TYPE: stat.isDirectory(),
    REGULAR_TYPE: stat.isFile(),
    SYMLINK_TYPE: stat.isSymbolicLink(),
  };
  return { value: is[expected] ?? false };
};

/** Runs `call` on a Shipyard inside a fresh fake engine and captures its result or error. */
export async function runOn<T>(
  args: ShipyardArgs,
  call: (shipyard: Shipyard) => Promise<T>,
  options: FakeEngineOptions = {},
): Promise<Outcome<T>> {
  const outcome: Partial<Outcome<T>> = {};
  const engineOptions = { ...options, responders: [...(options.responders ?? []), existsOfType] };
  // The module runtime in a real engine never sees the host's database (the test runner sets
  // DATABASE_URL for the PostgreSQL suites; its password would rightly be scrubbed everywhere).
  const databaseUrl = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  try {
    outcome.engine = await withFakeEngine(engineOptions, async () => {
      try {
        outcome.result = await call(shipyardFor(args));
      } catch (error) {
        outcome.error = error as Error;
      }
    });
  } finally {
    if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
  }
  return outcome as Outcome<T>;
}

/** The exec argument lists of a chain, in order. */
export function execs(chain: Chain): string[][] {
  return chain.filter((call) => call.field === "withExec").map((call) => call.args["args"] as string[]);
}

/** Index of the first call matching `predicate` (-1 when absent). */
export function indexOf(chain: Chain, predicate: (call: Call) => boolean): number {
  return chain.findIndex(predicate);
}

export function isExec(...args: string[]): (call: Call) => boolean {
  return (call) => call.field === "withExec" && JSON.stringify(call.args["args"]) === JSON.stringify(args);
}

export function envOf(chain: Chain): Record<string, string> {
  const env: Record<string, string> = {};
  for (const call of chain) {
    if (call.field === "withEnvVariable") env[String(call.args["name"])] = String(call.args["value"]);
  }
  return env;
}

/** The one recorded chain ending in `leaf` whose execs include `command` (fails loudly otherwise). */
export function chainRunning(engine: FakeEngine, leaf: string, command: string[]): Chain {
  const matches = engine
    .chainsEndingWith(leaf)
    .filter((chain) => execs(chain).some((args) => JSON.stringify(args) === JSON.stringify(command)));
  if (matches.length !== 1) {
    const seen = engine.queries.map((q) => engine.render(q.chain)).join("\n");
    throw new Error(
      `expected one ${leaf} query running ${command.join(" ")}, found ${matches.length}:\n${seen}`,
    );
  }
  return matches[0]!;
}

/** An answer for a failing exec: the SDK turns it into an ExecError. */
export function failingExec(command: string[], exitCode: number, stdout: string, stderr = "") {
  return (chain: Chain) => {
    const last = [...chain].reverse().find((call) => call.field === "withExec");
    if (chain.at(-1)?.field !== "sync" || JSON.stringify(last?.args["args"]) !== JSON.stringify(command)) {
      return undefined;
    }
    return { execError: { cmd: command, exitCode, stdout, stderr } };
  };
}
