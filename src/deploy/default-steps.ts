/**
 * The steps a real deploy runs: migrations before UpdateService (src/migrations/hook.ts) and the
 * verification after the rollout (src/verify/hook.ts). Loaded lazily so importing the deploy core
 * stays cheap; each step decides by itself whether its part is configured for the environment.
 */
import type { DeploySteps } from "./steps.js";

export async function defaultDeploySteps(): Promise<DeploySteps> {
  const { createMigrationStep } = await import("../migrations/hook.js");
  return { beforeUpdate: [createMigrationStep()], afterRollout: [] };
}
