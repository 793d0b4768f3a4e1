/**
 * Runs the module the two ways the engine runs a TypeScript module, each in a child Node process
 * talking to the fake engine as its session (DAGGER_SESSION_PORT/TOKEN):
 *
 * - registration (`dagger functions`, `dagger call --help`): the engine's TypeScript SDK runs the
 *   SDK's introspection entrypoint over the module's src/ folder and client bindings; it reads the
 *   source with the TypeScript compiler (it never imports it), builds the typedefs through the API
 *   and writes the module id to TYPEDEF_OUTPUT_FILE.
 * - a function call: the engine starts the module runtime, which runs the SDK's `entrypoint` over the
 *   module's files; it asks the session which call it serves (currentModule, currentFunctionCall),
 *   invokes the function (or, with no parent, registers the module: the older way, still supported)
 *   and answers with returnValue, or returnError and exit code 1. Our TypeScript loads with tsx, as
 *   in the engine's Node runtime.
 *
 * A runtime start costs seconds of CPU (the TypeScript compiler reads src/ and its dependencies'
 * types), so at most two run at once: more would only share the same cores.
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ArgValue, Chain, FakeEngine, Responder } from "../support/fake-engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = join(ROOT, "src");
const SDK = join(ROOT, "node_modules/@dagger.io/dagger");
const INTROSPECTOR = join(SDK, "dist/src/module/entrypoint/introspection_entrypoint.js");
const RUNTIME_SCRIPT = fileURLToPath(new URL("./module-runtime.ts", import.meta.url));
const COMPILE_CACHE = join(tmpdir(), "shipyard-module-runtime-compile-cache");
/**
 * A hung runtime fails its test instead of the whole run. Generous: a start takes a few seconds alone
 * and several times that on a machine busy with other work.
 */
export const RUNTIME_TIMEOUT_MS = 120_000;
/** How long a test may take that starts one runtime, including its wait for a free slot. */
export const RUNTIME_TEST_TIMEOUT_MS = 3 * RUNTIME_TIMEOUT_MS;
const MAX_CONCURRENT_RUNTIMES = 2;

/** Names the start (ms since the epoch) of the fake clock the runtime should use; see module-runtime.ts. */
export const FAKE_CLOCK_START_MS = "SHIPYARD_FAKE_CLOCK_START_MS";

/** The runtime environment that swaps the Dagger face's clock for a FakeClock starting at `startMs`. */
export function fakeClock(startMs: number): Record<string, string> {
  return { [FAKE_CLOCK_START_MS]: String(startMs) };
}

/** dagger.json's name: what `currentModule.name` answers. */
export const MODULE_NAME = "shipyard";

/** The module's files as the engine hands them to the runtime, and where the runtime's config lives. */
export interface ModuleFiles {
  files: string[];
  /** The client bindings (client.gen.ts), also the last of `files`. */
  client: string;
  tsconfig: string;
  /** A scratch folder for what a runtime writes (the introspector's module id). */
  dir: string;
  /** Removes the temporary copies. */
  dispose(): void;
}

/** Every .ts and .mts file under `dir`, as the engine's generated entrypoint lists them. */
function typescriptFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return typescriptFiles(path);
    return /\.m?ts$/.test(name) ? [path] : [];
  });
}

/**
 * Every .ts file under src/, plus the SDK's client declarations copied as client.gen.ts (in the engine
 * the generated client is a .ts file beside the module's; the introspector looks for it by name).
 *
 * The runtime compiles with the repository's tsconfig, except its `paths`: they point
 * @dagger.io/dagger at the sdk/ folder `dagger develop` generates, and the entrypoint and the module
 * must share one copy of the SDK (the one pinned in node_modules) or they would talk through two.
 */
export function moduleFiles(): ModuleFiles {
  const dir = mkdtempSync(join(tmpdir(), "shipyard-module-runtime-"));
  const client = join(dir, "client.gen.ts");
  copyFileSync(join(SDK, "dist/src/api/client.gen.d.ts"), client);
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { paths: {} } }),
  );
  return {
    files: [...typescriptFiles(SOURCE), client],
    client,
    tsconfig,
    dir,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The call the engine asks the runtime to serve. */
export interface FunctionCall {
  /** The object the function belongs to; "" asks the runtime to register the module. */
  parentName: string;
  /** The function; "" is the constructor. */
  name: string;
  /** The parent object's state, as the engine keeps it (what the constructor call returned). */
  parent: Record<string, ArgValue>;
  /** The arguments by name, as JSON values: scalars as themselves, core objects as their IDs. */
  inputArgs: Record<string, ArgValue>;
}

export const REGISTRATION: FunctionCall = { parentName: "", name: "", parent: {}, inputArgs: {} };

const CALL = "currentFunctionCall";
/** The chain a FunctionCallArgValue's id stands for (there is no such field; only the id travels). */
const argChain = (name: string): Chain => [
  { field: CALL, args: {} },
  { field: "inputArgs", args: {} },
  { field: "inputArg", args: { name } },
];

/**
 * Answers the context queries of `call`: the module's name, the call's parent name, function name,
 * parent state (a JSON string), its input arguments (a list of ids, then `name` and `value` — a JSON
 * string — of each), and acknowledges returnValue/returnError, which the tests read off the record.
 */
export function functionCallResponder(call: FunctionCall): Responder {
  return (chain, engine) => {
    const fields = chain.map((c) => c.field);
    const leaf = chain.at(-1)!;
    if (fields.join(".") === "currentModule.name") return { value: MODULE_NAME };
    if (fields[0] !== CALL) return undefined;
    switch (fields.slice(1).join(".")) {
      case "parentName":
        return { value: call.parentName };
      case "name":
        return { value: call.name };
      case "parent":
        return { value: JSON.stringify(call.parent) };
      case "inputArgs.id":
        return { list: Object.keys(call.inputArgs).map((name) => engine.idFor(argChain(name))) };
      case "inputArgs.inputArg.name":
        return { value: String(chain[2]!.args["name"]) };
      case "inputArgs.inputArg.value":
        return { value: JSON.stringify(call.inputArgs[String(chain[2]!.args["name"])]) };
      case "returnValue":
      case "returnError":
        return { value: null };
      default:
        return leaf.field === "id" ? undefined : { error: `no ${fields.join(".")} in a function call` };
    }
  };
}

/** What the runtime did: how the process ended, what it printed and what it returned. */
export interface RuntimeRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSON given to returnValue, parsed; undefined when it never called it. */
  value?: unknown;
  /** The message of the error given to returnError; undefined when it never called it. */
  error?: string;
  /** How many times the runtime called returnValue or returnError (exactly once, or the engine would refuse). */
  returns: number;
}

/** Names of the child's environment: what the engine gives a module runtime, and nothing of ours. */
function runtimeEnv(engine: FakeEngine, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"],
    ...(process.env["TMPDIR"] ? { TMPDIR: process.env["TMPDIR"] } : {}),
    DAGGER_SESSION_PORT: String(engine.port),
    DAGGER_SESSION_TOKEN: engine.token,
    // Should the session variables ever be lost, fail fast instead of downloading a CLI.
    _EXPERIMENTAL_DAGGER_CLI_BIN: "/bin/false",
    // Nothing reaches the real Sentry: a call no test expected is refused at once (discard port).
    SENTRY_URL: "http://127.0.0.1:9",
    // V8's code cache for the SDK's many modules: a runtime starts in about half the time.
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    ...extra,
  };
}

/** Lets at most MAX_CONCURRENT_RUNTIMES children run at once; the others wait their turn. */
let running = 0;
const waiting: Array<() => void> = [];

async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_RUNTIMES) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

interface ProcessRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` in the repository with exactly `env`, killed after RUNTIME_TIMEOUT_MS. */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return inTurn(async () => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (text: string) => stdout.push(text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => stderr.push(text));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUNTIME_TIMEOUT_MS);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, sig) => resolve([code, sig]));
      },
    ).finally(() => clearTimeout(timer));
    return { exitCode, signal, stdout: stdout.join(""), stderr: stderr.join("") };
  });
}

/**
 * Starts the real entrypoint in a child Node process against `engine` (already started), serving
 * `call`, and waits for the process to end. `env` adds to the runtime's environment (e.g. endpoint
 * overrides the commands read, as in the engine's runtime container).
 */
export async function runModuleRuntime(
  engine: FakeEngine,
  module: ModuleFiles,
  call: FunctionCall,
  env: Record<string, string> = {},
): Promise<RuntimeRun> {
  engine.respond(functionCallResponder(call));
  const run = await runNode(
    ["--import", "tsx/esm", RUNTIME_SCRIPT, ...module.files],
    runtimeEnv(engine, { TSX_TSCONFIG_PATH: module.tsconfig, ...env }),
  );
  return { ...run, ...returned(engine) };
}

/** What the introspector did: how it ended, and the module id it wrote (undefined when none). */
export interface IntrospectorRun extends ProcessRun {
  moduleId?: string;
}

/**
 * Registers the module the way the engine does: the SDK's introspection entrypoint, given the module's
 * name, its src/ folder and the client bindings, with TYPEDEF_OUTPUT_FILE naming where the module id
 * goes. It never imports the module, so it needs no tsx.
 */
export async function runIntrospector(engine: FakeEngine, module: ModuleFiles): Promise<IntrospectorRun> {
  const output = join(module.dir, "module-id.json");
  const run = await runNode(
    [INTROSPECTOR, MODULE_NAME, SOURCE, module.client],
    runtimeEnv(engine, { TYPEDEF_OUTPUT_FILE: output }),
  );
  let moduleId: unknown;
  try {
    moduleId = JSON.parse(readFileSync(output, "utf8"));
  } catch {
    return run;
  }
  return typeof moduleId === "string" ? { ...run, moduleId } : run;
}

function returned(engine: FakeEngine): Pick<RuntimeRun, "value" | "error" | "returns"> {
  const values = engine.chainsEndingWith("returnValue");
  const errors = engine.chainsEndingWith("returnError");
  const result: Pick<RuntimeRun, "value" | "error" | "returns"> = { returns: values.length + errors.length };
  const value = values[0]?.at(-1)?.args["value"];
  if (value !== undefined) result.value = JSON.parse(String(value));
  const errorId = errors[0]?.at(-1)?.args["error"];
  if (errorId !== undefined) {
    const made = engine.chainOf(String(errorId)).find((c) => c.field === "error");
    result.error = String(made?.args["message"]);
  }
  return result;
}
