/**
 * The registry preflight: before anything is written, the image's digest must be in its registry,
 * and ECS must be able to pull from it.
 *
 *  - ECR (`<account>.dkr.ecr.<region>.amazonaws.com/...`): DescribeImages by digest, with the
 *    deploy's AWS credentials. ECS pulls with the task execution role.
 *  - Any other registry: the distribution API, anonymously first (is it public?), then with
 *    SHIPYARD_REGISTRY_USERNAME / SHIPYARD_REGISTRY_PASSWORD when the registry is private.
 *
 * A digest the registry does not have, or a private registry ECS has no credentials for (no
 * `repositoryCredentials` on the container), refuses the deploy: nothing was changed, exit 2. A
 * registry this runner cannot reach, or cannot read, only warns: ECS pulls from its own network, with
 * its own credentials, and may well succeed.
 */
import { createRepositoryCommand, type Ecr, type EcrRegistry, ecrRegistry } from "../aws/ecr.js";
import { awsErrorName, isUnsupportedOperation } from "../aws/ecs.js";
import { isTransient, networkCode } from "../aws/errors.js";
import type { Section } from "../report/report.js";
import {
  type DistributionClient,
  type ImageReference,
  lookUpManifest,
  type ManifestAnswer,
  parseImageReference,
  type RegistryCredentials,
} from "./distribution.js";

export interface RegistryCheckInput {
  /** The image being deployed, by digest. */
  image: string;
  /** The app container of the rendered task definition. */
  container: { name: string; hasRepositoryCredentials: boolean };
  http: DistributionClient;
  /** Credentials for a private registry other than ECR, when the user gave them. */
  credentials: RegistryCredentials | null;
  /** Where the credentials came from, for messages (never their values). */
  credentialsSource: string;
  /** ECR for the registry's account and region. */
  ecr: (registry: EcrRegistry) => Promise<Ecr>;
  signal?: AbortSignal;
}

export type RegistryCheck =
  /** The registry holds the digest. */
  | { outcome: "found"; summary: string; section: Section }
  /** Could not be checked from here: the deploy goes on, with this warning. */
  | { outcome: "unverified"; warning: string; section: Section }
  /** The deploy must not go on: nothing was changed (exit 2). */
  | { outcome: "refused"; reason: string; section: Section };

export async function checkImageInRegistry(input: RegistryCheckInput): Promise<RegistryCheck> {
  const reference = parseImageReference(input.image);
  const ecr = ecrRegistry(reference.host);
  return ecr ? checkEcr(ecr, reference, input) : checkDistribution(reference, input);
}

interface Found {
  result: "found" | "missing" | "private" | "unreachable" | "unchecked";
  checkedWith: string;
  detail?: string;
}

function sectionOf(reference: ImageReference, found: Found): Section {
  return {
    registry: {
      host: reference.host,
      repository: reference.name,
      digest: reference.digest,
      ...found,
    },
  };
}

async function checkEcr(
  registry: EcrRegistry,
  reference: ImageReference,
  input: RegistryCheckInput,
): Promise<RegistryCheck> {
  const checkedWith = "ECR DescribeImages";
  const where = `${registry.host}/${reference.name}`;
  try {
    const ecr = await input.ecr(registry);
    const signals = [input.http.requestSignal(input.http.timeoutMs), ...(input.signal ? [input.signal] : [])];
    const lookup = await ecr.findImage(registry, reference.name, reference.digest, AbortSignal.any(signals));
    if (lookup.found) {
      return {
        outcome: "found",
        summary: `ECR has ${reference.digest.slice(0, 19)}… in ${where}`,
        section: sectionOf(reference, { result: "found", checkedWith }),
      };
    }
    const section = sectionOf(reference, { result: "missing", checkedWith, detail: lookup.message });
    if (lookup.missing === "repository") {
      return {
        outcome: "refused",
        reason: `the ECR repository ${reference.name} does not exist in ${registry.host}, so ECS cannot pull ${input.image}; create it (${createRepositoryCommand(registry, reference.name)}) and publish the image`,
        section,
      };
    }
    return {
      outcome: "refused",
      reason: `${where} has no image ${reference.digest} (ECR: ${lookup.message}); publish it first, or deploy the digest publish printed`,
      section,
    };
  } catch (error) {
    const why = `${awsErrorName(error)}: ${error instanceof Error ? error.message : String(error)}`;
    const denied = /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(awsErrorName(error));
    const unreachable = networkCode(error) !== undefined || isTransient(error);
    const result = unreachable ? "unreachable" : "unchecked";
    const next = denied
      ? "allow ecr:DescribeImages on the repository to the credentials that deploy (docs/iam-policy.json) to have it checked"
      : unreachable
        ? "ECS may still reach it"
        : isUnsupportedOperation(error)
          ? "this ECR endpoint does not answer DescribeImages"
          : "the deploy goes on";
    return {
      outcome: "unverified",
      warning: `could not check that ${where} holds ${reference.digest} (${why}); ${next}`,
      section: sectionOf(reference, { result, checkedWith, detail: why }),
    };
  }
}

async function checkDistribution(
  reference: ImageReference,
  input: RegistryCheckInput,
): Promise<RegistryCheck> {
  const anonymous = await lookUpManifest(reference, null, input.http);
  const checkedWith = "distribution API, anonymous";
  switch (anonymous.kind) {
    case "present":
      return found(reference, checkedWith, "public");
    case "missing":
      // A registry may hide a private repository behind a 404; with credentials, ask as the user.
      if (input.credentials) return checkHidden(reference, input);
      return missing(reference, input, checkedWith);
    case "denied":
      return checkPrivate(reference, input, anonymous);
    case "unreachable":
    case "unexpected":
      return notReached(reference, anonymous, checkedWith);
  }
}

/**
 * An anonymous 404 with credentials at hand: only a digest the user can see while anonymous cannot
 * is private (and then ECS needs repositoryCredentials); otherwise the 404 stands.
 */
async function checkHidden(reference: ImageReference, input: RegistryCheckInput): Promise<RegistryCheck> {
  const checkedWith = `distribution API, ${input.credentialsSource}`;
  const answer = await lookUpManifest(reference, input.credentials, input.http);
  switch (answer.kind) {
    case "present":
      if (!input.container.hasRepositoryCredentials) {
        return refusePrivate(reference, input.container.name, "HTTP 404 to an anonymous pull");
      }
      return found(reference, checkedWith, "private");
    case "missing":
    case "denied":
      return missing(reference, input, checkedWith);
    case "unreachable":
    case "unexpected":
      return notReached(reference, answer, checkedWith);
  }
}

/** The registry refused an anonymous pull: ECS needs credentials, and so does this check. */
async function checkPrivate(
  reference: ImageReference,
  input: RegistryCheckInput,
  anonymous: ManifestAnswer,
): Promise<RegistryCheck> {
  const { container } = input;
  if (!container.hasRepositoryCredentials) {
    const answered = anonymous.kind === "denied" ? `HTTP ${anonymous.status}` : "no anonymous access";
    return refusePrivate(reference, container.name, answered);
  }
  if (!input.credentials) {
    return {
      outcome: "unverified",
      warning: `${reference.host} is private and Shipyard has no credentials for it, so it did not check that ${reference.name} holds ${reference.digest} (ECS pulls with the container's repositoryCredentials); set ${input.credentialsSource} to have it checked`,
      section: sectionOf(reference, {
        result: "unchecked",
        checkedWith: "distribution API, anonymous",
        detail: "private registry, no credentials given to Shipyard",
      }),
    };
  }
  const checkedWith = `distribution API, ${input.credentialsSource}`;
  const answer = await lookUpManifest(reference, input.credentials, input.http);
  switch (answer.kind) {
    case "present":
      return found(reference, checkedWith, "private");
    case "missing":
      return missing(reference, input, checkedWith);
    case "denied":
      return {
        outcome: "unverified",
        warning: `${reference.host} refused ${input.credentialsSource} (${answer.detail}), so it was not checked that ${reference.name} holds ${reference.digest}; ECS pulls with the container's repositoryCredentials`,
        section: sectionOf(reference, { result: "unchecked", checkedWith, detail: answer.detail }),
      };
    case "unreachable":
    case "unexpected":
      return notReached(reference, answer, checkedWith);
  }
}

function refusePrivate(reference: ImageReference, container: string, answered: string): RegistryCheck {
  return {
    outcome: "refused",
    reason: `${reference.host} refused an anonymous pull of ${reference.name} (${answered}): the registry is private, and ECS pulls from a private registry other than ECR only with credentials, but container "${container}" in the task definition has no repositoryCredentials; add "repositoryCredentials": { "credentialsParameter": "<ARN of a Secrets Manager secret holding username and password>" } to it (the task execution role must be allowed secretsmanager:GetSecretValue on that secret), or push the image to ECR`,
    section: sectionOf(reference, {
      result: "private",
      checkedWith: "distribution API, anonymous",
      detail: `anonymous pull refused (${answered}); the container has no repositoryCredentials`,
    }),
  };
}

function found(reference: ImageReference, checkedWith: string, access: string): RegistryCheck {
  return {
    outcome: "found",
    summary: `${reference.host} has ${reference.digest.slice(0, 19)}… in ${reference.name} (${access})`,
    section: sectionOf(reference, { result: "found", checkedWith, detail: access }),
  };
}

function missing(reference: ImageReference, input: RegistryCheckInput, checkedWith: string): RegistryCheck {
  return {
    outcome: "refused",
    reason: `${reference.host} has no manifest ${reference.digest} in ${reference.name} (HTTP 404), so ECS could not pull ${input.image}; publish it first, or deploy the digest publish printed`,
    section: sectionOf(reference, { result: "missing", checkedWith, detail: "HTTP 404" }),
  };
}

function notReached(
  reference: ImageReference,
  answer: Extract<ManifestAnswer, { kind: "unreachable" | "unexpected" }>,
  checkedWith: string,
): RegistryCheck {
  const unreachable = answer.kind === "unreachable";
  return {
    outcome: "unverified",
    warning: unreachable
      ? `the registry ${reference.host} could not be reached from here (${answer.detail}), so it was not checked that it holds ${reference.digest}; ECS pulls from its own network and may still reach it`
      : `the registry ${reference.host} gave an unexpected answer (${answer.detail}), so it was not checked that it holds ${reference.digest}`,
    section: sectionOf(reference, {
      result: unreachable ? "unreachable" : "unchecked",
      checkedWith,
      detail: answer.detail,
    }),
  };
}
