/**
 * The deploy's registry preflight as a step: the rendered task definition says whether the app
 * container carries repositoryCredentials, the runtime gives the HTTP function, the AWS credentials
 * and the clients, and the report gets the outcome — a warning when the registry could not be asked,
 * a refusal (exit 2, nothing changed) when the image is not there or ECS could not pull it.
 */
import { ecrEndpoint, openEcr } from "../aws/ecr.js";
import type { RegistryCredentials } from "../deploy/distribution.js";
import { checkImageInRegistry } from "../deploy/registry.js";
import type { DeployStep, StepContext } from "../deploy/steps.js";
import { InputError } from "../errors.js";
import type { Verdict } from "../report/verdict.js";
import type { EnvironmentContext } from "./context.js";

/** How long one registry request may take before the registry counts as unreachable. */
export const REGISTRY_TIMEOUT_MS = 10_000;

/** Where the credentials for a private registry other than ECR come from. */
export const REGISTRY_USERNAME = "SHIPYARD_REGISTRY_USERNAME";
export const REGISTRY_PASSWORD = "SHIPYARD_REGISTRY_PASSWORD";

export function registryStep(ctx: EnvironmentContext): DeployStep {
  return { name: "image in registry", section: "verification", run: (step) => checkRegistry(ctx, step) };
}

async function checkRegistry(ctx: EnvironmentContext, step: StepContext): Promise<Verdict> {
  const { runtime } = ctx;
  const definition = await ctx.renderTaskDefinition(step.image, step.release);
  const container = definition.containerDefinitions?.find((c) => c.name === step.environment.container);
  const check = await checkImageInRegistry({
    image: step.image,
    container: {
      name: step.environment.container,
      hasRepositoryCredentials: Boolean(container?.repositoryCredentials?.credentialsParameter),
    },
    http: {
      fetch: runtime.fetch ?? ((input, init) => fetch(input, init)),
      requestSignal: runtime.requestSignal ?? ((ms) => AbortSignal.timeout(ms)),
      timeoutMs: REGISTRY_TIMEOUT_MS,
      signal: step.signal,
      onSecret: (value) => ctx.output.scrubber.add(value),
    },
    credentials: registryCredentials(step.env),
    credentialsSource: `${REGISTRY_USERNAME} and ${REGISTRY_PASSWORD}`,
    ecr: async (registry) =>
      openEcr(registry, {
        ...(runtime.ecrClientFactory ? { factory: runtime.ecrClientFactory } : {}),
        ...(ecrEndpoint(runtime.env) ? { endpoint: ecrEndpoint(runtime.env) } : {}),
        ...(runtime.awsCredentials ? { credentials: await runtime.awsCredentials() } : {}),
      }),
    signal: step.signal,
  });
  switch (check.outcome) {
    case "found":
      return { status: "passed", summary: check.summary, section: check.section };
    case "unverified":
      step.progress.warn(`${check.warning}.`);
      ctx.report.warn(check.warning);
      return { status: "passed", summary: `not verified: ${check.warning}`, section: check.section };
    case "refused":
      // The step's section still says what was asked and answered; the refusal is bad input (exit 2).
      ctx.report.section("verification", check.section);
      throw new InputError(check.reason);
  }
}

function registryCredentials(env: NodeJS.ProcessEnv): RegistryCredentials | null {
  const password = env[REGISTRY_PASSWORD];
  if (!password) return null;
  return { username: env[REGISTRY_USERNAME] ?? "", password };
}
