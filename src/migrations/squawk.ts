/**
 * Runs the real squawk binary (npm `squawk-cli`) with its JSON reporter. The npm package ships the
 * binary in per-platform optional packages (glibc Linux, macOS, Windows): we ask squawk-cli's own
 * resolver where it is, so npm, pnpm and hoisted layouts all work, and `SHIPYARD_SQUAWK` overrides it.
 */
import { createRequire } from "node:module";
import { ExitCode, InputError, ShipyardError } from "../errors.js";
import { shipyardRuleNames } from "./shipyard-rules.js";
import { type ParsedTree, readSyntaxTrees } from "./syntax.js";

/** One entry of `squawk --reporter json` (lines are 0-based there). */
export interface SquawkFinding {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

const installHint =
  "run `npm ci` with optional dependencies (squawk-cli ships its binary as @squawk-cli/<platform>), " +
  "or point SHIPYARD_SQUAWK at a squawk binary; on Alpine (musl) use a Debian-based Node image: the binary needs glibc";

export function findSquawk(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.SHIPYARD_SQUAWK;
  if (override) return override;
  const require = createRequire(import.meta.url);
  try {
    const resolver = require("squawk-cli/js/index.js") as { getBinaryPath(): string };
    return resolver.getBinaryPath();
  } catch (error) {
    throw new ShipyardError(`Cannot find the squawk binary: ${(error as Error).message}`, {
      exitCode: ExitCode.NeedsAttention,
      hint: installHint,
    });
  }
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function execute(binary: string, args: string[], cwd: string, signal?: AbortSignal): Promise<Finished> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, signal, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.name === "AbortError") return reject(error);
      reject(
        new ShipyardError(`squawk could not start (${binary}): ${error.code ?? error.message}.`, {
          exitCode: ExitCode.NeedsAttention,
          hint: installHint,
        }),
      );
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A binary's version does not change while this process runs: asked once per path. */
const versions = new Map<string, string>();

export async function squawkVersion(binary: string, signal?: AbortSignal): Promise<string> {
  const known = versions.get(binary);
  if (known !== undefined) return known;
  const { code, stdout } = await execute(binary, ["--version"], process.cwd(), signal);
  const version = stdout.trim().replace(/^squawk\s+/, "");
  if (code === 0 && version !== "") versions.set(binary, version);
  return version;
}

export interface SquawkRun {
  binary: string;
  files: readonly string[];
  cwd: string;
  excludeRules: readonly string[];
  /** Tell squawk the runner wraps each file in a transaction. */
  assumeInTransaction: boolean;
  signal?: AbortSignal;
}

/** squawk reads its path arguments as glob patterns: a file named `a[1].sql` must match itself. */
const globEscape = (path: string) => path.replace(/[[\]*?]/g, (c) => `[${c}]`);

/**
 * squawk's concrete syntax tree of each file (`squawk --debug parse`), in the order given, in one
 * process. `--exclude-path` replaces any excluded_paths of an app's .squawk.toml, which would
 * otherwise drop files silently and shift the trees against the file list.
 */
export async function parseWithSquawk(run: {
  binary: string;
  files: readonly { path: string; bytes: number }[];
  cwd: string;
  signal?: AbortSignal;
}): Promise<ParsedTree[]> {
  if (run.files.length === 0) return [];
  const args = [
    "--debug",
    "parse",
    "--exclude-path=/dev/null/nothing",
    "--",
    ...run.files.map((f) => globEscape(f.path)),
  ];
  const result = await execute(run.binary, args, run.cwd, run.signal);
  const trees = result.code === 0 ? readSyntaxTrees(result.stdout) : [];
  const matches =
    trees.length === run.files.length && trees.every((tree, i) => tree.root.end === run.files[i]?.bytes);
  if (!matches) {
    throw new ShipyardError(
      `squawk could not parse the migrations (exit ${result.code ?? "signal"}, ${trees.length} of ${run.files.length} syntax trees): ${result.stderr.trim() || "no error output"}`,
      {
        exitCode: ExitCode.NeedsAttention,
        hint: "run `npx squawk --debug parse FILE` on the migrations to see the problem",
      },
    );
  }
  return trees;
}

/** squawk exits 0 when clean and 1 with findings; anything else (or non-JSON output) is an error. */
export async function runSquawk(run: SquawkRun): Promise<SquawkFinding[]> {
  if (run.files.length === 0) return [];
  const args = ["--reporter", "json"];
  if (run.excludeRules.length > 0) args.push(`--exclude=${run.excludeRules.join(",")}`);
  // Explicit both ways: a .squawk.toml in the app must not change what the runner really does.
  args.push(run.assumeInTransaction ? "--assume-in-transaction" : "--no-assume-in-transaction");
  args.push("--", ...run.files.map(globEscape));
  const result = await execute(run.binary, args, run.cwd, run.signal);
  if (/invalid rule name/i.test(result.stderr)) {
    const rule = /invalid rule name (\S+)/i.exec(result.stderr)?.[1] ?? "";
    throw new InputError(
      `squawk does not know the rule "${rule}" listed in migrations.excludeRules; nothing was linted.`,
      [],
      `fix the rule name in shipyard.json (squawk's rules are listed at https://squawkhq.com/docs/rules; Shipyard's own are ${[...shipyardRuleNames, "shipyard-edited-migration"].join(", ")})`,
    );
  }
  if ((result.code === 0 || result.code === 1) && result.stdout.trim().startsWith("[")) {
    return JSON.parse(result.stdout) as SquawkFinding[];
  }
  throw new ShipyardError(
    `squawk failed (exit ${result.code ?? "signal"}): ${result.stderr.trim() || result.stdout.trim() || "no output"}`,
    { exitCode: ExitCode.NeedsAttention, hint: "run the same files through `npx squawk` to see the problem" },
  );
}
