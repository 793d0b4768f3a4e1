/**
 * The production image: built from the app's own Dockerfile when it has one, else from Shipyard's
 * default multi-stage Dockerfile, labelled per the OCI image spec and pushed by digest.
 */
import type { Container, Directory, File, Secret } from "@dagger.io/dagger";
import { InputError } from "../errors.js";

/** Where the module's default Dockerfile is placed inside the build context when the app has none. */
export const DEFAULT_DOCKERFILE_IN_CONTEXT = ".shipyard.Dockerfile";

export const LABEL_REVISION = "org.opencontainers.image.revision";
export const LABEL_SOURCE = "org.opencontainers.image.source";
export const LABEL_VERSION = "org.opencontainers.image.version";

export interface ImageBuild {
  appDir: Directory;
  /** The app's own Dockerfile is used when present; otherwise this one (the module's top-level Dockerfile). */
  appHasDockerfile: boolean;
  defaultDockerfile: File;
  nodeImage: string;
  release: string;
  commit: string;
  sourceUrl: string;
}

export function buildImage(build: ImageBuild): Container {
  const context = build.appHasDockerfile
    ? build.appDir
    : build.appDir.withFile(DEFAULT_DOCKERFILE_IN_CONTEXT, build.defaultDockerfile);
  let image = context
    .dockerBuild({
      dockerfile: build.appHasDockerfile ? "Dockerfile" : DEFAULT_DOCKERFILE_IN_CONTEXT,
      buildArgs: [
        { name: "NODE_IMAGE", value: build.nodeImage },
        { name: "SENTRY_RELEASE", value: build.release },
        // The default Dockerfile labels these itself; passed only when known so no fake value appears.
        ...(build.commit !== "" ? [{ name: "REVISION", value: build.commit }] : []),
        ...(build.sourceUrl !== "" ? [{ name: "SOURCE_URL", value: build.sourceUrl }] : []),
      ],
    })
    .withLabel(LABEL_VERSION, build.release);
  // Labels we do not know are left out rather than filled with a placeholder that looks real.
  if (build.commit !== "") image = image.withLabel(LABEL_REVISION, build.commit);
  if (build.sourceUrl !== "") image = image.withLabel(LABEL_SOURCE, build.sourceUrl);
  return image;
}

/** docker.io/library/x, ghcr.io/org/x, localhost:5000/x — lowercase path components, no tag, no digest. */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY = new RegExp(`^(?:[A-Za-z0-9.-]+(?::\\d+)?/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface PublishRequest {
  repository: string;
  commit: string;
  extraTags: readonly string[];
}

/** The full list of references to push, commit first; fails before any push when an input is wrong. */
export function publishReferences(request: PublishRequest): string[] {
  const problems: string[] = [];
  const repository = request.repository.trim();
  if (!REPOSITORY.test(repository) || repository.includes("@")) {
    problems.push(
      `--repository "${request.repository}" must be an image repository without tag or digest, e.g. ghcr.io/acme/api`,
    );
  }
  if (request.commit === "") {
    problems.push(
      "the commit is unknown: pass --commit=$(git rev-parse HEAD) to the module (images are tagged by commit)",
    );
  }
  for (const tag of request.extraTags) {
    if (!TAG.test(tag))
      problems.push(`--tags "${tag}" is not a valid image tag ([A-Za-z0-9_.-], at most 128)`);
  }
  if (problems.length > 0)
    throw new InputError("Cannot publish; nothing was pushed.", problems, "fix the flags above");
  const tags = [...new Set([request.commit, ...request.extraTags])];
  return tags.map((tag) => `${repository}:${tag}`);
}

/** The registry host of a repository, as `withRegistryAuth` wants it (Docker Hub when there is none). */
export function registryHost(repository: string): string {
  const first = repository.split("/")[0] ?? "";
  const looksLikeHost =
    repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return looksLikeHost ? first : "docker.io";
}

/**
 * Pushes `image` under every reference and returns the first one with its digest
 * (e.g. ghcr.io/acme/api:3f2c…@sha256:…), which is what a deploy must use.
 */
export async function publishImage(
  image: Container,
  references: readonly string[],
  auth: { username: string; password: Secret },
): Promise<string> {
  const first = references[0];
  if (first === undefined) throw new InputError("Nothing to publish: no image reference.", []);
  const authed = image.withRegistryAuth(registryHost(first), auth.username, auth.password);
  const pushed: string[] = [];
  for (const reference of references) pushed.push(await authed.publish(reference));
  const withDigest = pushed[0] ?? "";
  if (!/@sha256:[0-9a-f]{64}$/.test(withDigest)) {
    throw new Error(
      `The registry answered "${withDigest}" for ${first}, which has no sha256 digest; refusing to hand a mutable tag to a deploy.`,
    );
  }
  return withDigest;
}
