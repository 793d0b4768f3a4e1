/**
 * What Shipyard needs to know about the app's package.json before it builds containers: which scripts
 * exist, so that a missing script fails with the fix in the message instead of "Missing script" deep
 * inside a container log. Pure TypeScript.
 */
import { InputError } from "../errors.js";

export interface AppManifest {
  name: string;
  scripts: Readonly<Record<string, string>>;
  packageManager: string | undefined;
}

export function parseManifest(text: string, where: string): AppManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`, [], `fix ${where}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new InputError(`${where} must contain a JSON object.`, [], `fix ${where}`);
  }
  const record = data as Record<string, unknown>;
  const scripts: Record<string, string> = {};
  if (typeof record["scripts"] === "object" && record["scripts"] !== null) {
    for (const [name, command] of Object.entries(record["scripts"] as Record<string, unknown>)) {
      if (typeof command === "string") scripts[name] = command;
    }
  }
  const packageManager = typeof record["packageManager"] === "string" ? record["packageManager"] : undefined;
  if (packageManager !== undefined && !packageManager.startsWith("pnpm@")) {
    throw new InputError(
      `${where} declares packageManager "${packageManager}", but Shipyard's pipeline uses pnpm.`,
      [],
      'set "packageManager": "pnpm@<version>" and commit a pnpm-lock.yaml',
    );
  }
  return { name: typeof record["name"] === "string" ? record["name"] : "app", scripts, packageManager };
}

/** Fails with every missing script listed, naming the function that needs them. */
export function requireScripts(
  manifest: AppManifest,
  needed: readonly string[],
  fn: string,
  where: string,
): void {
  const missing = needed.filter((script) => manifest.scripts[script] === undefined);
  if (missing.length === 0) return;
  throw new InputError(
    `\`dagger call ${fn}\` needs the script${missing.length > 1 ? "s" : ""} ${missing.map((s) => `"${s}"`).join(", ")} in ${where}.`,
    missing.map((script) => `scripts.${script} is missing`),
    `add ${missing.length > 1 ? "them" : "it"} to "scripts" in ${where}`,
  );
}

export function hasScript(manifest: AppManifest, script: string): boolean {
  return manifest.scripts[script] !== undefined;
}
