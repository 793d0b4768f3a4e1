/**
 * Every Amazon ECR call Shipyard makes, in one place: the registry login a publish needs, the
 * repository it pushes to, and the deploy's question "is this digest in the repository?". Like the
 * ECS client, the SDK is imported on first use: `shipyard --help` and every `dagger call` load this
 * file, and only a publish to ECR or a deploy of an ECR image pays for the SDK.
 *
 * ECR is recognised by its registry host: `<account>.dkr.ecr.<region>.amazonaws.com`, the FIPS
 * (`dkr.ecr-fips`) and China (`.amazonaws.com.cn`) forms, and the dual-stack `dkr-ecr.<region>.on.aws`.
 */
import type { ECRClient } from "@aws-sdk/client-ecr";
import { type AwsClientOptions, AwsGateway, clientConfig, endpointOverride } from "./client.js";
import { awsErrorName } from "./ecs.js";

/** A private ECR registry, as its host names it. */
export interface EcrRegistry {
  host: string;
  /** The AWS account that owns the registry. */
  registryId: string;
  region: string;
  /** The host is a FIPS endpoint: the API calls go to the FIPS endpoint too. */
  fips: boolean;
}

const ECR_HOSTS = [
  /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/,
  /^(\d{12})\.dkr-ecr(-fips)?\.([a-z0-9-]+)\.on\.aws$/,
];

/** The ECR registry a host names, or null for any other registry (ghcr.io, Docker Hub, public.ecr.aws...). */
export function ecrRegistry(host: string): EcrRegistry | null {
  const lower = host.toLowerCase();
  for (const pattern of ECR_HOSTS) {
    const match = pattern.exec(lower);
    if (match) return { host: lower, registryId: match[1]!, fips: match[2] !== undefined, region: match[3]! };
  }
  return null;
}

/** The command that creates a repository the way `publish --create-repository` would. */
export function createRepositoryCommand(registry: EcrRegistry, repositoryName: string): string {
  return [
    "aws ecr create-repository",
    `--repository-name ${repositoryName}`,
    `--region ${registry.region}`,
    `--registry-id ${registry.registryId}`,
    "--image-scanning-configuration scanOnPush=true",
    "--image-tag-mutability IMMUTABLE",
  ].join(" ");
}

export interface EcrClientOptions extends AwsClientOptions {
  /** The registry host is a FIPS endpoint: the API calls go to the FIPS endpoint too. */
  fips?: boolean;
}

export type EcrClientFactory = (options: EcrClientOptions) => Promise<ECRClient>;

/** The real client; ECR calls are few and not throttled like RegisterTaskDefinition: standard retries. */
export const createEcrClient: EcrClientFactory = async (options) => {
  const { ECRClient } = await import("@aws-sdk/client-ecr");
  return new ECRClient({
    ...clientConfig(options),
    ...(options.fips ? { useFipsEndpoint: true } : {}),
  });
};

/** The ECR endpoint override: AWS_ENDPOINT_URL_ECR, then AWS_ENDPOINT_URL (moto, VPC endpoints). */
export function ecrEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return endpointOverride(env, "ECR");
}

/** A registry login: the user name is always "AWS", the password a token valid for 12 hours. */
export interface EcrLogin {
  username: string;
  password: string;
  expiresAt: Date | undefined;
}

export type ImageLookup =
  | { found: true }
  | { found: false; missing: "image" | "repository"; message: string };

const sdk = () => import("@aws-sdk/client-ecr");

export class Ecr extends AwsGateway {
  constructor(client: ECRClient) {
    super(client);
  }

  /** GetAuthorizationToken: the login for every registry these credentials may reach. */
  async login(): Promise<EcrLogin> {
    const { GetAuthorizationTokenCommand } = await sdk();
    const answer = await this.send<{
      authorizationData?: Array<{ authorizationToken?: string; expiresAt?: Date }>;
    }>("GetAuthorizationToken", new GetAuthorizationTokenCommand({}));
    const data = answer.authorizationData?.[0];
    // The token is base64("AWS:<password>").
    const decoded = Buffer.from(data?.authorizationToken ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0 || colon === decoded.length - 1) {
      throw new Error("ECR GetAuthorizationToken answered without a usable authorization token");
    }
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      expiresAt: data?.expiresAt,
    };
  }

  /** DescribeImages by digest: is this exact manifest in the repository? */
  async findImage(
    registry: EcrRegistry,
    repositoryName: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<ImageLookup> {
    const { DescribeImagesCommand } = await sdk();
    try {
      const answer = await this.send<{ imageDetails?: Array<{ imageDigest?: string }> }>(
        "DescribeImages",
        new DescribeImagesCommand({
          registryId: registry.registryId,
          repositoryName,
          imageIds: [{ imageDigest: digest }],
        }),
        signal,
      );
      if (answer.imageDetails?.some((image) => image.imageDigest === digest)) return { found: true };
      return { found: false, missing: "image", message: `no image with digest ${digest}` };
    } catch (error) {
      const name = awsErrorName(error);
      if (name === "ImageNotFoundException")
        return { found: false, missing: "image", message: (error as Error).message };
      if (name === "RepositoryNotFoundException")
        return { found: false, missing: "repository", message: (error as Error).message };
      throw error;
    }
  }

  /** DescribeRepositories for one name: does the repository exist? */
  async repositoryExists(registry: EcrRegistry, repositoryName: string): Promise<boolean> {
    const { DescribeRepositoriesCommand } = await sdk();
    try {
      await this.send(
        "DescribeRepositories",
        new DescribeRepositoriesCommand({
          registryId: registry.registryId,
          repositoryNames: [repositoryName],
        }),
      );
      return true;
    } catch (error) {
      if (awsErrorName(error) === "RepositoryNotFoundException") return false;
      throw error;
    }
  }

  /** CreateRepository with scan on push and immutable tags: a pushed tag never moves. */
  async createRepository(registry: EcrRegistry, repositoryName: string): Promise<void> {
    const { CreateRepositoryCommand } = await sdk();
    await this.send(
      "CreateRepository",
      new CreateRepositoryCommand({
        registryId: registry.registryId,
        repositoryName,
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: "IMMUTABLE",
      }),
    );
  }
}

/** Builds the gateway for a registry's region (FIPS when its host is). */
export async function openEcr(
  registry: EcrRegistry,
  options: Omit<AwsClientOptions, "region"> & { factory?: EcrClientFactory },
): Promise<Ecr> {
  const factory = options.factory ?? createEcrClient;
  const client = await factory({
    region: registry.region,
    ...(registry.fips ? { fips: true } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return new Ecr(client);
}
