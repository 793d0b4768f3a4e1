/**
 * The steps a real deploy runs: the Sentry preflight and migrations before UpdateService (src/migrations/hook.ts), then after
 * the rollout the smoke test, Sentry release bookkeeping and the error-rate gate (src/verify/hook.ts).
 * Loaded lazily so importing the deploy core stays cheap; each step decides by itself whether its
 * part is configured for the environment (and passes, saying so, when it is not).
 */
import type { DeploySteps } from "./steps.js";

export async function defaultDeploySteps(): Promise<DeploySteps> {
  const [{ createMigrationStep }, { createVerificationPreflight, createVerificationSteps }] =
    await Promise.all([import("../migrations/hook.js"), import("../verify/hook.js")]);
  return {
    // The Sentry check is read-only and cheap: a token that cannot read the release's health should
    // stop the deploy before a migration changes the database, not after a full rollout.
    beforeUpdate: [createVerificationPreflight(), createMigrationStep()],
    afterRollout: createVerificationSteps(),
  };
}
