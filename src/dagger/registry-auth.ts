/**
 * Who `publish` pushes as. Amazon ECR needs no user name or password: the login comes from ECR
 * itself (GetAuthorizationToken with the module's AWS credentials) and reaches the engine only as a
 * Secret, so it is never in a query's text, a log or an error. Before anything is built, the ECR
 * repository must exist: a missing one is an error naming the command that creates it, or, with
 * --create-repository, it is created with scan on push and immutable tags. Every other registry
 * takes the user name and password given to `publish`.
 */
import { dag, type Secret } from "@dagger.io/dagger";
import {
  createRepositoryCommand,
  type Ecr,
  type EcrRegistry,
  ecrEndpoint,
  ecrRegistry,
  openEcr,
} from "../aws/ecr.js";
import { explainAwsError } from "../aws/errors.js";
import { ExitCode, InputError, ShipyardError } from "../errors.js";
import { Scrubber } from "../report/scrub.js";
import { registryHost } from "./image.js";
import type { ModuleSecrets } from "./runtime.js";

export interface RegistryAuth {
  username: string;
  password: Secret;
  /** What must never appear in what publish prints (the ECR login); the engine only sees the Secret. */
  scrubber: Scrubber;
}

export interface PublishCredentials {
  repository: string;
  username: string;
  password: Secret | undefined;
  createRepository: boolean;
  secrets: ModuleSecrets;
  /** Where the module runtime reads endpoint overrides (AWS_ENDPOINT_URL_ECR), as the CLI does. */
  env: NodeJS.ProcessEnv;
}

export async function publishAuth(request: PublishCredentials): Promise<RegistryAuth> {
  const host = registryHost(request.repository.trim());
  const ecr = ecrRegistry(host);
  if (ecr === null) return givenAuth(request, host);
  const scrubber = new Scrubber();
  // A password given for ECR (e.g. `aws ecr get-login-password`) is used as given.
  if (request.password) return { username: request.username || "AWS", password: request.password, scrubber };
  const repositoryName = request.repository.trim().slice(host.length + 1);
  const gateway = await openEcr(ecr, {
    credentials: await awsCredentials(request.secrets, scrubber),
    ...(ecrEndpoint(request.env) ? { endpoint: ecrEndpoint(request.env) } : {}),
  });
  const login = await explained(ecr, request.env, async () => {
    await ensureRepository(gateway, ecr, repositoryName, request.createRepository);
    return gateway.login();
  });
  scrubber.add(login.password, Buffer.from(`${login.username}:${login.password}`).toString("base64"));
  // Named per registry: a second publish in the same session replaces the login, it does not pile up.
  const secret = dag.setSecret(`shipyard-ecr-login-${ecr.registryId}-${ecr.region}`, login.password);
  return { username: login.username, password: secret, scrubber };
}

function givenAuth(request: PublishCredentials, host: string): RegistryAuth {
  const problems = [
    ...(request.username === "" ? [`--username is required to push to ${host}`] : []),
    ...(request.password === undefined ? [`--password is required to push to ${host}`] : []),
    ...(request.createRepository
      ? ["--create-repository only applies to Amazon ECR (<account>.dkr.ecr.<region>.amazonaws.com)"]
      : []),
  ];
  if (problems.length > 0 || request.password === undefined) {
    throw new InputError(
      "Cannot publish; nothing was pushed.",
      problems,
      `pass --username=USER --password=env://TOKEN for ${host} (for ghcr.io: the GitHub actor and env://GITHUB_TOKEN); Amazon ECR needs neither, only the module's AWS credentials`,
    );
  }
  return { username: request.username, password: request.password, scrubber: new Scrubber() };
}

async function awsCredentials(secrets: ModuleSecrets, scrubber: Scrubber) {
  const read = async (secret: Secret | undefined) => (secret ? (await secret.plaintext()).trim() : "");
  const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
    read(secrets.awsAccessKeyId),
    read(secrets.awsSecretAccessKey),
    read(secrets.awsSessionToken),
  ]);
  scrubber.add(accessKeyId, secretAccessKey, sessionToken);
  if (accessKeyId === "" || secretAccessKey === "") {
    throw new InputError(
      "Publishing to Amazon ECR logs in with AWS credentials, and the module has none; nothing was pushed.",
      [],
      "pass --aws-access-key-id=env://AWS_ACCESS_KEY_ID --aws-secret-access-key=env://AWS_SECRET_ACCESS_KEY (and --aws-session-token=env://AWS_SESSION_TOKEN) before the function name; the identity needs ecr:GetAuthorizationToken and the push actions in docs/iam-policy.json",
    );
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

async function ensureRepository(
  ecr: Ecr,
  registry: EcrRegistry,
  repositoryName: string,
  create: boolean,
): Promise<void> {
  if (await ecr.repositoryExists(registry, repositoryName)) return;
  if (create) {
    await ecr.createRepository(registry, repositoryName);
    process.stderr.write(
      `Created the ECR repository ${repositoryName} in ${registry.host} (scan on push, immutable tags).\n`,
    );
    return;
  }
  throw new InputError(
    `The ECR repository ${repositoryName} does not exist in ${registry.host}; nothing was built or pushed.`,
    [],
    `create it with \`${createRepositoryCommand(registry, repositoryName)}\`, or pass --create-repository to publish`,
  );
}

/** An AWS error of the login or the repository check, as the one explanation every command gives. */
async function explained<T>(
  registry: EcrRegistry,
  env: NodeJS.ProcessEnv,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ShipyardError) throw error;
    const explanation = explainAwsError(error, {
      command: "publish",
      region: registry.region,
      endpoint: ecrEndpoint(env) ?? `ECR in ${registry.region}`,
      changed: false,
      statusCommand: "",
    });
    throw explanation ?? error;
  }
}

/** Runs the push; should an error ever quote the login, it leaves with the login masked. */
export async function withLoginScrubbed<T>(auth: RegistryAuth, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const scrubbed = auth.scrubber.scrub(message);
    if (scrubbed === message) throw error;
    throw new ShipyardError(scrubbed, {
      exitCode: error instanceof ShipyardError ? error.exitCode : ExitCode.NeedsAttention,
    });
  }
}

/** Whether `publish` would log in to this repository's registry by itself. */
export function isEcrRepository(repository: string): boolean {
  return ecrRegistry(registryHost(repository.trim())) !== null;
}
