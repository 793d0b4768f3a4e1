/**
 * GitHub Deployments through `dagger call`. A Dagger function runs in the module's container and does
 * not see the runner's GITHUB_* variables, so the workflow hands the module what the deploy's
 * announcer reads from them (a token, the repository, the run) as constructor arguments; the Dagger
 * face puts them back into the runtime's environment under the same names, and the CLI's code path
 * runs unchanged. Pure TypeScript: no Dagger import, so it is tested without an engine.
 */
import { InputError } from "../errors.js";

/** The variables the announcer reads; in the Dagger face only the module's arguments set them. */
export const GITHUB_VARIABLES = [
  "GITHUB_ACTIONS",
  "SHIPYARD_GITHUB_TOKEN",
  "GITHUB_TOKEN",
  "GITHUB_REPOSITORY",
  "GITHUB_RUN_ID",
  "GITHUB_SERVER_URL",
  "GITHUB_API_URL",
] as const;

/** Where the deployments go and which run made them (constructor arguments of `Shipyard`). */
export interface GitHubSettings {
  /** owner/name; "" when deployments are not recorded. */
  repository: string;
  /** The Actions run, for the deployment's log link; "" for none. */
  runId: string;
  /** e.g. https://github.com; "" for github.com. */
  serverUrl: string;
  /** e.g. https://api.github.com; "" for api.github.com. */
  apiUrl: string;
}

const HTTP_URL = /^https?:\/\/\S+$/;

/**
 * Checks the GitHub arguments once, in the constructor, so a mistake fails every function the same
 * way before anything runs. `hasToken` says whether --github-token was given (its value is not read).
 */
export function validateGitHubSettings(settings: GitHubSettings, hasToken: boolean): GitHubSettings {
  const trimmed: GitHubSettings = {
    repository: settings.repository.trim(),
    runId: settings.runId.trim(),
    serverUrl: settings.serverUrl.trim().replace(/\/+$/, ""),
    apiUrl: settings.apiUrl.trim().replace(/\/+$/, ""),
  };
  const problems: string[] = [];
  if (trimmed.repository !== "" && !/^[\w.-]+\/[\w.-]+$/.test(trimmed.repository)) {
    problems.push(
      `--github-repository "${settings.repository}" must be owner/name, e.g. acme/api (in a workflow: \${{ github.repository }})`,
    );
  }
  if (hasToken && trimmed.repository === "") {
    problems.push(
      `--github-token needs --github-repository=owner/name (in a workflow: \${{ github.repository }}) to know where to record deployments`,
    );
  }
  if (trimmed.runId !== "" && !/^\d+$/.test(trimmed.runId)) {
    problems.push(
      `--github-run-id "${settings.runId}" must be the run's number (in a workflow: \${{ github.run_id }})`,
    );
  }
  if (trimmed.serverUrl !== "" && !HTTP_URL.test(trimmed.serverUrl)) {
    problems.push(
      `--github-server-url "${settings.serverUrl}" must be an http(s) URL (in a workflow: \${{ github.server_url }})`,
    );
  }
  if (trimmed.apiUrl !== "" && !HTTP_URL.test(trimmed.apiUrl)) {
    problems.push(
      `--github-api-url "${settings.apiUrl}" must be an http(s) URL (in a workflow: \${{ github.api_url }})`,
    );
  }
  if (problems.length > 0) {
    throw new InputError(
      "Shipyard's GitHub settings are invalid; nothing was run. Fix these flags:",
      problems,
    );
  }
  return trimmed;
}

/**
 * The environment the announcer reads GitHub Deployments from: the module's process environment
 * without any GITHUB_* it happens to have (a module container has none; a test process in CI does),
 * plus, when a token was given, the variables GitHub Actions would set, from the module's arguments.
 */
export function githubEnvironment(
  base: NodeJS.ProcessEnv,
  settings: GitHubSettings,
  token: string,
): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const name of GITHUB_VARIABLES) delete env[name];
  if (token === "" || settings.repository === "") return env;
  return {
    ...env,
    GITHUB_ACTIONS: "true",
    SHIPYARD_GITHUB_TOKEN: token,
    GITHUB_REPOSITORY: settings.repository,
    ...(settings.runId ? { GITHUB_RUN_ID: settings.runId } : {}),
    ...(settings.serverUrl ? { GITHUB_SERVER_URL: settings.serverUrl } : {}),
    ...(settings.apiUrl ? { GITHUB_API_URL: settings.apiUrl } : {}),
  };
}
