/**
 * Builds the AWS clients. The SDK is imported lazily: every `dagger call` loads src/index.ts, and
 * `shipyard --help` must start fast; only the commands that talk to AWS pay for it.
 *
 * Two ECS clients share one configuration: `mutations` retries throttling and 5xx with adaptive
 * backoff (RegisterTaskDefinition throttles at about 1/s), while `polls` never retries inside a call:
 * during a wait the loop itself is the retry, so a throttled read is "no news" and the next poll
 * keeps the cadence instead of disappearing into 40 s of SDK backoff.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What every gateway's SDK client is built from. */
export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  /** Explicit credentials (the Dagger face); absent: the SDK's default chain. */
  credentials?: AwsCredentials;
}

/** The SDK client configuration every gateway shares; a gateway adds its own retry settings. */
export function clientConfig(options: AwsClientOptions) {
  return {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

/**
 * A service's endpoint override: its own AWS_ENDPOINT_URL_<SERVICE> (ECS, ECR,
 * ELASTIC_LOAD_BALANCING_V2, CLOUDWATCH_LOGS, EVENTBRIDGE, SCHEDULER), then AWS_ENDPOINT_URL (the
 * emulator, moto, VPC endpoints).
 */
export function endpointOverride(env: NodeJS.ProcessEnv, service: string): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * What the ECR, ELBv2 and CloudWatch Logs gateways share: the operations they sent (for reports and
 * tests; never their inputs), and the one place the SDK's per-command overloads of `send` are erased.
 */
export abstract class AwsGateway {
  /** Operation names sent, in order. */
  readonly sent: string[] = [];

  protected constructor(private readonly sdkClient: object) {}

  protected async send<T>(operation: string, command: unknown, signal?: AbortSignal): Promise<T> {
    this.sent.push(operation);
    const client = this.sdkClient as {
      send(c: unknown, o?: { abortSignal?: AbortSignal }): Promise<T>;
    };
    return client.send(command, signal ? { abortSignal: signal } : undefined);
  }
}

export interface EcsClientOptions extends AwsClientOptions {
  /** Attempts per call, including the first. */
  maxAttempts: number;
}

export type EcsClientFactory = (options: EcsClientOptions) => Promise<ECSClient>;

/** Attempts per changing call: allow a burst of throttling to pass. */
export const MUTATION_ATTEMPTS = 8;
/** Reads during a wait: one attempt, the poll loop retries at its own cadence. */
export const POLL_ATTEMPTS = 1;

/** The real client: adaptive retry (backoff with jitter plus client-side rate limiting). */
export const createEcsClient: EcsClientFactory = async (options) => {
  const { ECSClient } = await import("@aws-sdk/client-ecs");
  return new ECSClient({
    ...clientConfig(options),
    maxAttempts: options.maxAttempts,
    retryMode: "adaptive",
  });
};

/** The ECS endpoint override: AWS_ENDPOINT_URL_ECS, then AWS_ENDPOINT_URL (simulators, moto, VPC endpoints). */
export function ecsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return endpointOverride(env, "ECS");
}

/** The credentials an SDK client resolved (default chain included), for the scrubber. */
export async function resolvedCredentials(client: ECSClient): Promise<AwsCredentials | null> {
  try {
    const provider = client.config.credentials as unknown;
    const value = typeof provider === "function" ? await (provider as () => Promise<unknown>)() : provider;
    const creds = value as Partial<AwsCredentials> | undefined;
    if (!creds?.accessKeyId || !creds.secretAccessKey) return null;
    return {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
    };
  } catch {
    // No credentials: the first call fails and says so; nothing to scrub.
    return null;
  }
}
