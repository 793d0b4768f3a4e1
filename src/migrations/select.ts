/**
 * Which migration files to lint: all of them, or — given a base git ref — only those this change adds
 * or edits (the ones not yet applied anywhere). Migrations already in the base branch ran in
 * production long ago; re-linting them every time only teaches people to ignore the linter.
 */
import { join, posix, relative, sep } from "node:path";
import { InputError } from "../errors.js";

export interface SelectedFiles {
  /** Paths relative to the app root, sorted (the order migrations apply in). */
  files: string[];
  /** Every migration in the folder, selected or not, in the same order: the schema they build. */
  all: string[];
  /** Commit the change is compared with (only with a base ref). */
  mergeBase?: string;
  /** Files that already existed at the merge base and were edited: they will NOT run again where applied. */
  edited: string[];
}

/** Down/rollback scripts are run by hand, not by the deploy: they are not linted. */
const isMigrationFile = (path: string) => path.endsWith(".sql") && !path.endsWith(".down.sql");

const toPosix = (path: string) => path.split(sep).join(posix.sep);

async function listSqlFiles(root: string, directory: string): Promise<string[]> {
  const { readdir, stat } = await import("node:fs/promises");
  const full = join(root, directory);
  const info = await stat(full).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InputError(
      `The migrations folder ${directory} does not exist in ${root}.`,
      [],
      "create it, or set migrations.directory in shipyard.json (or pass --dir) to where the .sql files are",
    );
  }
  const entries = await readdir(full, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && isMigrationFile(entry.name))
    .map((entry) => toPosix(relative(root, join(entry.parentPath, entry.name))))
    .sort();
}

async function git(cwd: string, args: string[], signal?: AbortSignal): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, signal, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr.trim() || error.message));
      else resolve(stdout);
    });
  });
}

async function mergeBaseOf(root: string, baseRef: string, signal?: AbortSignal): Promise<string> {
  try {
    return (await git(root, ["merge-base", baseRef, "HEAD"], signal)).trim();
  } catch (error) {
    throw new InputError(
      `Cannot find where this change branched from ${baseRef}: ${(error as Error).message}`,
      [],
      `fetch the base branch with history (actions/checkout with fetch-depth: 0, or \`git fetch origin ${baseRef.replace(/^origin\//, "")}\`), or lint every migration by leaving out --base`,
    );
  }
}

const splitNul = (text: string) => text.split("\0").filter((part) => part.length > 0);

/**
 * Added/edited since the merge base, including uncommitted and untracked files, so running it before
 * committing shows the same as CI.
 */
async function changedSince(root: string, directory: string, mergeBase: string, signal?: AbortSignal) {
  const status = splitNul(
    await git(
      root,
      ["diff", "--name-status", "-z", "--no-renames", "--relative", mergeBase, "--", directory],
      signal,
    ),
  );
  const added: string[] = [];
  const edited: string[] = [];
  for (let i = 0; i + 1 < status.length; i += 2) {
    const code = status[i];
    const path = status[i + 1] ?? "";
    if (code === "A") added.push(path);
    else if (code === "M") edited.push(path);
  }
  const untracked = splitNul(
    await git(root, ["ls-files", "--others", "--exclude-standard", "-z", "--", directory], signal),
  );
  return { added: [...added, ...untracked], edited };
}

export async function selectMigrationFiles(options: {
  appRoot: string;
  directory: string;
  baseRef?: string;
  signal?: AbortSignal;
}): Promise<SelectedFiles> {
  const all = await listSqlFiles(options.appRoot, options.directory);
  if (options.baseRef === undefined) return { files: all, all, edited: [] };
  const mergeBase = await mergeBaseOf(options.appRoot, options.baseRef, options.signal);
  const { added, edited } = await changedSince(options.appRoot, options.directory, mergeBase, options.signal);
  const present = new Set(all);
  const pick = (paths: string[]) => paths.map(toPosix).filter((path) => present.has(path));
  const editedFiles = pick(edited);
  const files = [...new Set([...pick(added), ...editedFiles])].sort();
  return { files, all, mergeBase, edited: editedFiles.sort() };
}
