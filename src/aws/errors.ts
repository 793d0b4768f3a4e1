/**
 * What an AWS failure means for the person at the keyboard. The SDK's own messages ("connect
 * ECONNREFUSED", "Could not load credentials from any providers") say what broke, not what to do;
 * these say both. Applied once, by the command runner, to every command.
 */
import { ExitCode, ShipyardError } from "../errors.js";

const NETWORK_CODES = [
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
] as const;

const REJECTED_CREDENTIALS = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
]);

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
]);

export interface AwsErrorContext {
  command: string;
  region: string;
  endpoint: string | undefined;
  /** Whether anything that changes the service was sent before the failure. */
  changed: boolean;
  /** The command that shows the service's state, as the user would type it. */
  statusCommand: string;
}

export function networkCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const codes = [error as { code?: unknown }, error.cause as { code?: unknown } | undefined]
    .map((e) => e?.code)
    .filter((c): c is string => typeof c === "string");
  return (
    NETWORK_CODES.find((code) => codes.includes(code)) ??
    NETWORK_CODES.find((code) => error.message.includes(code))
  );
}

/**
 * The host a network error names (Node puts it on the error or its cause), when it is not the ECS
 * endpoint's: a command that also reads CloudWatch Logs or ELBv2 must name the one it could not reach.
 */
function otherHost(error: Error, endpoint: string | undefined): string | undefined {
  for (const e of [error, error.cause] as Array<
    { hostname?: unknown; address?: unknown; port?: unknown } | undefined
  >) {
    const host =
      typeof e?.hostname === "string" ? e.hostname : typeof e?.address === "string" ? e.address : undefined;
    if (host === undefined) continue;
    const named = typeof e?.port === "number" ? `${host}:${e.port}` : host;
    return endpoint?.includes(host) ? undefined : named;
  }
  return undefined;
}

/** Throttling, a 5xx or a bounded read that timed out: worth another try later, not a verdict. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = error as { $fault?: string; $metadata?: { httpStatusCode?: number } };
  return (
    THROTTLING.has(error.name) ||
    meta.$fault === "server" ||
    (meta.$metadata?.httpStatusCode ?? 0) >= 500 ||
    error.name === "TimeoutError" ||
    error.name === "AbortError"
  );
}

/** A ShipyardError with a next step for the AWS failures users hit, or null for anything else. */
export function explainAwsError(error: unknown, context: AwsErrorContext): ShipyardError | null {
  if (!(error instanceof Error) || error instanceof ShipyardError) return null;
  const where = context.endpoint ?? `ECS in ${context.region}`;
  const after = context.changed
    ? `the service may have changed; check it with ${context.statusCommand}`
    : "nothing was changed";
  const exitCode = context.changed ? ExitCode.NeedsAttention : ExitCode.BadInput;
  if (error.name === "CredentialsProviderError" || /could not load credentials/i.test(error.message)) {
    return new ShipyardError(`No AWS credentials were found for ${context.command}; ${after}.`, {
      exitCode,
      hint: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ones); in GitHub Actions use aws-actions/configure-aws-credentials; with Dagger pass --aws-access-key-id=env://AWS_ACCESS_KEY_ID --aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY before the function name",
      cause: error,
    });
  }
  if (REJECTED_CREDENTIALS.has(error.name)) {
    return new ShipyardError(`AWS rejected the credentials (${error.name}: ${error.message}); ${after}.`, {
      exitCode,
      hint: "check that the keys or role are current (temporary credentials expire) and belong to the account in shipyard.json",
      cause: error,
    });
  }
  if (error.name === "AccessDeniedException" || error.name === "AccessDenied") {
    return new ShipyardError(`AWS refused ${context.command} (${error.name}: ${error.message}); ${after}.`, {
      exitCode,
      hint: "grant the role the actions in docs/iam-policy.json (the message names the one that is missing)",
      cause: error,
    });
  }
  const code = networkCode(error);
  const elsewhere = code === undefined ? undefined : otherHost(error, context.endpoint);
  if (code !== undefined && elsewhere !== undefined) {
    return new ShipyardError(`Could not reach ${elsewhere} (${code}) during ${context.command}; ${after}.`, {
      exitCode,
      hint: `check the network (and any AWS_ENDPOINT_URL_* override for that service), then run the command again`,
      cause: error,
    });
  }
  if (code !== undefined) {
    return new ShipyardError(`Could not reach ${where} (${code}) during ${context.command}; ${after}.`, {
      exitCode,
      hint: context.endpoint
        ? `check that the endpoint ${context.endpoint} (AWS_ENDPOINT_URL_ECS) is up, then run the command again`
        : `check the network and the region "${context.region}" in shipyard.json, then run the command again`,
      cause: error,
    });
  }
  if (isTransient(error)) {
    return new ShipyardError(
      `ECS kept failing during ${context.command} (${error.name}: ${error.message}); ${after}.`,
      {
        exitCode,
        hint: "ECS is throttling or failing; wait a minute and run the command again",
        cause: error,
      },
    );
  }
  return null;
}
