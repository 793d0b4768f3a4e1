/**
 * Builds the ECS client. The SDK is imported lazily: every `dagger call` loads src/index.ts, and
 * only deploy/rollback/status/plan need the SDK.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";

export interface AwsAccess {
  /** Explicit credentials (the Dagger functions pass Secrets' plaintext here). Absent: default chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** ECS endpoint override (simulators, moto, VPC endpoints). Absent: AWS_ENDPOINT_URL_ECS, then AWS_ENDPOINT_URL. */
  endpoint?: string;
}

export interface EcsClientOptions {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call, including the first; throttling and 5xx are retried with backoff. */
  maxAttempts: number;
}

export type EcsClientFactory = (options: EcsClientOptions) => Promise<ECSClient>;

/** Attempts per ECS call: RegisterTaskDefinition throttles at about 1/s, so allow a burst to pass. */
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * The real client: adaptive retry mode (exponential backoff with jitter plus client-side rate
 * limiting after throttling), so ThrottlingException and 5xx answers are retried, not fatal.
 */
export const createEcsClient: EcsClientFactory = async (options) => {
  const { ECSClient } = await import("@aws-sdk/client-ecs");
  return new ECSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts,
    retryMode: "adaptive",
  });
};

/** Resolves the client options from the environment's region, explicit access and the process env. */
export function ecsClientOptions(
  region: string,
  access: AwsAccess,
  env: NodeJS.ProcessEnv,
): EcsClientOptions {
  const endpoint = access.endpoint || env.AWS_ENDPOINT_URL_ECS || env.AWS_ENDPOINT_URL || undefined;
  const options: EcsClientOptions = { region, maxAttempts: DEFAULT_MAX_ATTEMPTS };
  if (endpoint) options.endpoint = endpoint;
  if (access.accessKeyId && access.secretAccessKey) {
    options.credentials = {
      accessKeyId: access.accessKeyId,
      secretAccessKey: access.secretAccessKey,
      ...(access.sessionToken ? { sessionToken: access.sessionToken } : {}),
    };
  }
  return options;
}
