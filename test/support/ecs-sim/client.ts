/**
 * A client factory for tests: the real SDK client, with a retry strategy that retries throttling and
 * 5xx exactly like the production one decides to, but without real-time backoff, so fault tests stay
 * fast. One test uses the production factory (adaptive retry) to prove the real settings cope too.
 */
import { ECSClient } from "@aws-sdk/client-ecs";
import type { EcsClientFactory } from "../../../src/aws/client.js";

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

function token(count: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => 1 };
}

export const fastRetryEcsFactory: EcsClientFactory = async (options) =>
  new ECSClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials ?? { accessKeyId: "AKIASIMULATOR", secretAccessKey: "simulator-secret" },
    maxAttempts: options.maxAttempts,
    retryStrategy: {
      mode: "standard",
      acquireInitialRetryToken: async () => token(0),
      refreshRetryTokenForRetry: async (previous: RetryToken, info: { errorType: string }) => {
        const next = previous.getRetryCount() + 1;
        if (info.errorType === "CLIENT_ERROR" || next >= options.maxAttempts)
          throw new Error("no more retries");
        return token(next);
      },
      recordSuccess: () => {},
    },
  });
