/**
 * The ECS gateway a command talks through, built for one region from what the face provides: its
 * client factory (the simulators in tests), its credentials (the SDK chain, or the Dagger face's
 * Secrets), and the scrubber that must know whatever credentials were found.
 */
import { createEcsClient, MUTATION_ATTEMPTS, POLL_ATTEMPTS, resolvedCredentials } from "../aws/client.js";
import { Ecs } from "../aws/ecs.js";
import type { Runtime } from "./context.js";

export async function buildEcs(runtime: Runtime, region: string, endpoint: string | undefined): Promise<Ecs> {
  const factory = runtime.ecsClientFactory ?? createEcsClient;
  const credentials = runtime.awsCredentials ? await runtime.awsCredentials() : undefined;
  const options = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  const [mutations, polls] = await Promise.all([
    factory({ ...options, maxAttempts: MUTATION_ATTEMPTS }),
    factory({ ...options, maxAttempts: POLL_ATTEMPTS }),
  ]);
  // Whatever the credential chain found is a secret from now on, wherever it came from.
  const resolved = await resolvedCredentials(mutations);
  runtime.output.scrubber.add(resolved?.accessKeyId, resolved?.secretAccessKey, resolved?.sessionToken);
  return new Ecs({
    mutations,
    polls,
    ...(runtime.requestSignal ? { requestSignal: runtime.requestSignal } : {}),
  });
}
