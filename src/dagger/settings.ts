/**
 * The module-wide settings a team points Shipyard at (constructor arguments of `Shipyard`), validated
 * once so every function fails the same way, before any container runs, with the fix in the message.
 * Pure TypeScript: no Dagger import, so it is tested without an engine.
 */
import { InputError } from "../errors.js";

/** Node majors with upstream support (Node 20 reached end of life on 2026-04-30). */
export const SUPPORTED_NODE_MAJORS = ["22", "24"] as const;

export interface PipelineSettings {
  /** Path of the application inside the source directory ("." when the repo IS the app). */
  app: string;
  /** Node version for images: "24", "22" or a full version such as "24.11.1". */
  nodeVersion: string;
  /** pnpm version; "" means the app's `packageManager` field decides (through corepack). */
  pnpmVersion: string;
  /** Image of the throwaway PostgreSQL the tests run against. */
  postgresImage: string;
  /** Commit being built; "" when unknown. */
  commit: string;
  /** URL of the source repository, for the image's org.opencontainers.image.source label. */
  sourceUrl: string;
}

export function validateSettings(settings: PipelineSettings): PipelineSettings {
  const problems: string[] = [];
  const node = settings.nodeVersion.trim();
  const major = node.split(".")[0] ?? "";
  if (!/^\d+(\.\d+){0,2}$/.test(node) || !(SUPPORTED_NODE_MAJORS as readonly string[]).includes(major)) {
    problems.push(
      `--node-version "${settings.nodeVersion}" is not supported: use ${SUPPORTED_NODE_MAJORS.join(" or ")} (or a full version such as 24.11.1)`,
    );
  }
  const app = normalizeAppPath(settings.app);
  if (app === undefined) {
    problems.push(
      `--app "${settings.app}" must be a path inside the source, e.g. "." or "services/api" (no "..", not absolute)`,
    );
  }
  if (settings.pnpmVersion !== "" && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(settings.pnpmVersion)) {
    problems.push(`--pnpm-version "${settings.pnpmVersion}" must be an exact version such as 10.18.3`);
  }
  if (!/^[a-z0-9][\w.\-/:@]*$/i.test(settings.postgresImage)) {
    problems.push(`--postgres-image "${settings.postgresImage}" is not an image reference, e.g. postgres:16`);
  }
  if (settings.commit !== "" && !/^[0-9a-f]{7,40}$/.test(settings.commit)) {
    problems.push(`--commit "${settings.commit}" must be a git sha (7 to 40 lowercase hex characters)`);
  }
  if (settings.sourceUrl !== "" && !/^https?:\/\/\S+$/.test(settings.sourceUrl)) {
    problems.push(`--source-url "${settings.sourceUrl}" must be an http(s) URL of the repository`);
  }
  if (problems.length > 0) {
    // No separate hint: the constructor's error message is all the engine shows.
    throw new InputError("Shipyard settings are invalid; nothing was run. Fix these flags:", problems);
  }
  return { ...settings, app: app ?? ".", nodeVersion: node };
}

/** "./services/api/" → "services/api"; "" or "./" → "."; undefined when it escapes the source. */
export function normalizeAppPath(path: string): string | undefined {
  const parts = path
    .trim()
    .split("/")
    .filter((part) => part !== "" && part !== ".");
  if (path.trim().startsWith("/") || parts.includes("..")) return undefined;
  return parts.length === 0 ? "." : parts.join("/");
}

/** The official Node image every container starts from (Alpine, like the default Dockerfile). */
export function nodeImage(nodeVersion: string): string {
  return `node:${nodeVersion}-alpine`;
}

/** The release name baked into the image: an explicit one, else the commit, else a clear "dev" marker. */
export function releaseName(release: string, commit: string): string {
  if (release !== "") return release;
  return commit !== "" ? commit : "dev";
}
