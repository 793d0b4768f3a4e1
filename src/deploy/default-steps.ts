/**
 * The steps a real deploy runs: migrations before UpdateService (src/migrations/hook.ts), then after
 * the rollout the smoke test, Sentry release bookkeeping and the error-rate gate (src/verify/hook.ts).
 * Loaded lazily so importing the deploy core stays cheap; each step decides by itself whether its
 * part is configured for the environment (and passes, saying so, when it is not).
 */
import type { DeploySteps } from "./steps.js";

export async function defaultDeploySteps(): Promise<DeploySteps> {
  const [{ createMigrationStep }, { createVerificationSteps }] = await Promise.all([
    import("../migrations/hook.js"),
    import("../verify/hook.js"),
  ]);
  return { beforeUpdate: [createMigrationStep()], afterRollout: createVerificationSteps() };
}
