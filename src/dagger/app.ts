/**
 * Locates the application inside the source directory and reads what the pipeline needs from it,
 * failing with the fix in the message when something a check depends on is missing.
 */
import type { Container, Directory } from "@dagger.io/dagger";
import { InputError } from "../errors.js";
import { explained, type StepContext } from "./failure.js";
import { type AppManifest, parseManifest } from "./manifest.js";

export interface AppSource {
  dir: Directory;
  /** "examples/app/package.json" — how messages name the file. */
  manifestPath: string;
  manifest: AppManifest;
}

export async function loadApp(source: Directory, app: string): Promise<AppSource> {
  const dir = app === "." ? source : source.directory(app);
  const where = (file: string) => (app === "." ? file : `${app}/${file}`);
  const [hasManifest, hasLockfile] = await Promise.all([
    dir.exists("package.json"),
    dir.exists("pnpm-lock.yaml"),
  ]);
  if (!hasManifest) {
    throw new InputError(
      `No package.json at ${where("package.json")} in the source.`,
      [],
      "point Shipyard at the app with --app=<path inside the repository>, or pass --source=<app directory>",
    );
  }
  if (!hasLockfile) {
    throw new InputError(
      `No pnpm-lock.yaml next to ${where("package.json")}: installs must be reproducible.`,
      [],
      "run `pnpm install` and commit pnpm-lock.yaml",
    );
  }
  const text = await dir.file("package.json").contents();
  return { dir, manifestPath: where("package.json"), manifest: parseManifest(text, where("package.json")) };
}

/**
 * A check whose script the app does not have passes with a note instead of failing: `dagger check`
 * must work on an app without e2e tests. The note says how to turn the check on.
 */
export function skipCheck(app: AppSource, fn: string, scripts: readonly string[]): void {
  const names = scripts.map((script) => `"${script}"`).join(" or ");
  process.stderr.write(
    `The ${fn} check has nothing to run: ${app.manifestPath} has no ${names} script. Add one to enable it.\n`,
  );
}

export interface Step extends StepContext {
  container: Container;
}

/**
 * Runs independent steps in parallel and waits for all of them, so one run reports every failing step
 * (lint AND typecheck), not just the first.
 */
export async function runSteps(steps: readonly Step[]): Promise<void> {
  const results = await Promise.allSettled(
    steps.map((step) => explained(step, async () => void (await step.container.sync()))),
  );
  const failures = results.flatMap((result) =>
    result.status === "rejected" ? [result.reason as unknown] : [],
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const messages = failures.map((failure) =>
      failure instanceof Error ? failure.message : String(failure),
    );
    throw new Error(`${failures.length} steps failed.\n\n${messages.join("\n\n")}`);
  }
}
