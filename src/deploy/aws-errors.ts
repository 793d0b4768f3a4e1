/**
 * What an AWS failure that escaped a command means for the person at the keyboard. The SDK's own
 * messages ("connect ECONNREFUSED", "Could not load credentials from any providers") say what broke,
 * not what to do; these say both.
 */
import { ExitCode, ShipyardError } from "../errors.js";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ECONNRESET",
  "EHOSTUNREACH",
]);
const REJECTED_CREDENTIALS = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "AccessDeniedException",
]);

export interface AwsErrorContext {
  command: string;
  environmentName: string;
  region: string;
  endpoint: string | undefined;
  /** Read-only commands changed nothing, whatever failed; the others may have left work half done. */
  readOnly: boolean;
}

function networkCode(error: Error): string | undefined {
  const own = (error as { code?: unknown }).code;
  if (typeof own === "string" && NETWORK_CODES.has(own)) return own;
  return [...NETWORK_CODES].find((code) => error.message.includes(code));
}

/** A ShipyardError with a next step for the AWS failures users hit, or null for anything else. */
export function explainAwsError(error: unknown, context: AwsErrorContext): ShipyardError | null {
  if (!(error instanceof Error) || error instanceof ShipyardError) return null;
  const where = context.endpoint ?? `ECS in ${context.region}`;
  const after = context.readOnly
    ? "nothing was changed"
    : `the state of the service is unknown; check it with npx shipyard status --env ${context.environmentName}`;
  const exitCode = context.readOnly ? ExitCode.BadInput : ExitCode.NeedsAttention;
  if (error.name === "CredentialsProviderError" || /could not load credentials/i.test(error.message)) {
    return new ShipyardError(`No AWS credentials were found for ${context.command}; ${after}.`, {
      exitCode,
      hint: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ones); in GitHub Actions use aws-actions/configure-aws-credentials; with Dagger pass --aws-access-key-id=env://AWS_ACCESS_KEY_ID --aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY",
      cause: error,
    });
  }
  if (REJECTED_CREDENTIALS.has(error.name)) {
    return new ShipyardError(`AWS rejected the credentials (${error.name}: ${error.message}); ${after}.`, {
      exitCode,
      hint: `check that the keys or role are current and allowed to use ECS in ${context.region} (ecs:DescribeServices, ecs:UpdateService, ecs:RegisterTaskDefinition, ecs:TagResource, iam:PassRole)`,
      cause: error,
    });
  }
  const code = networkCode(error);
  if (code !== undefined) {
    return new ShipyardError(`Could not reach ${where} (${code}) during ${context.command}; ${after}.`, {
      exitCode,
      hint: context.endpoint
        ? `check AWS_ENDPOINT_URL_ECS (${context.endpoint}) points at a running ECS endpoint`
        : `check the network and the region "${context.region}" in shipyard.json, then run the command again`,
      cause: error,
    });
  }
  return null;
}
