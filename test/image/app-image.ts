/**
 * Building the example app with the module's default Dockerfile, exactly as shipped: the only
 * difference from production is the NODE_IMAGE build argument, pointed at the local stand-in because no
 * registry is reachable here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { docker, type ImageInspect, inspectJson } from "./docker.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const appDir = `${repoRoot}examples/app`;
/** The module's default Dockerfile; SHIPYARD_TEST_DOCKERFILE tries a variant without touching it. */
export const defaultDockerfile = process.env["SHIPYARD_TEST_DOCKERFILE"] || `${repoRoot}Dockerfile`;
export const taskDefinitionPath = process.env["SHIPYARD_TEST_TASK_DEFINITION"] || `${repoRoot}task-def.json`;

/** Stand-ins made by test/image/provision.sh; override to test against other local images. */
export const nodeImage = process.env["SHIPYARD_TEST_NODE_IMAGE"] || "shipyard-local/node:24";
export const postgresImage = process.env["SHIPYARD_TEST_POSTGRES_IMAGE"] || "shipyard-local/postgres:15";

export interface BuildOptions {
  tag: string;
  release: string;
  /** Build context; the example app by default. */
  context?: string;
  /** Ignore the layer cache (the pnpm cache mount stays unless the build cache is pruned first). */
  noCache?: boolean;
}

export interface BuildResult {
  tag: string;
  seconds: number;
  /** BuildKit's plain progress output: says which steps were CACHED. */
  log: string;
}

export async function buildAppImage(options: BuildOptions): Promise<BuildResult> {
  const args = [
    "build",
    "--progress=plain",
    "--file",
    defaultDockerfile,
    "--build-arg",
    `NODE_IMAGE=${nodeImage}`,
    "--build-arg",
    `SENTRY_RELEASE=${options.release}`,
    "--tag",
    options.tag,
    ...(options.noCache ? ["--no-cache"] : []),
    options.context ?? appDir,
  ];
  const result = await docker(args, { env: { ...process.env, DOCKER_BUILDKIT: "1" } });
  return { tag: options.tag, seconds: result.seconds, log: result.stderr + result.stdout };
}

/** Builds the image once per test process: every check looks at the same image. */
const builds = new Map<string, Promise<BuildResult>>();
export function appImage(release: string): Promise<BuildResult> {
  const tag = `shipyard-image-test/app:${release}`;
  let build = builds.get(tag);
  if (build === undefined) {
    build = buildAppImage({ tag, release });
    builds.set(tag, build);
  }
  return build;
}

export function inspectImage(reference: string): Promise<ImageInspect> {
  return inspectJson<ImageInspect>("image", reference);
}

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export function appPackageJson(): PackageJson {
  return JSON.parse(readFileSync(`${appDir}/package.json`, "utf8")) as PackageJson;
}

/** The one-off migration command, as the ECS migration task runs it: the app's `migrate` script. */
export function migrateCommand(): string[] {
  const script = appPackageJson().scripts?.["migrate"];
  if (script === undefined) throw new Error("examples/app/package.json has no migrate script");
  return script.split(/\s+/);
}

interface TaskDefinition {
  memory?: string;
  containerDefinitions?: {
    name?: string;
    stopTimeout?: number;
    environment?: { name: string; value: string }[];
    linuxParameters?: { initProcessEnabled?: boolean };
  }[];
}

function readTaskDefinition(): TaskDefinition {
  return JSON.parse(readFileSync(taskDefinitionPath, "utf8")) as TaskDefinition;
}

/**
 * `docker run` flags that give a container what the bundled task definition gives the ECS task: its
 * memory limit, the init process, and the environment values that are not {{placeholders}}.
 */
export function taskRunFlags(): string[] {
  const definition = readTaskDefinition();
  const container = definition.containerDefinitions?.[0];
  const flags: string[] = [];
  if (definition.memory !== undefined && /^\d+$/.test(definition.memory))
    flags.push("--memory", `${definition.memory}m`);
  if (container?.linuxParameters?.initProcessEnabled) flags.push("--init");
  for (const { name, value } of container?.environment ?? []) {
    if (!value.includes("{{")) flags.push("--env", `${name}=${value}`);
  }
  return flags;
}

/** Seconds ECS waits between SIGTERM and SIGKILL for the app container (ECS default: 30). */
export function stopTimeoutSeconds(): number {
  const definition = readTaskDefinition();
  const timeouts = (definition.containerDefinitions ?? []).map((container) => container.stopTimeout ?? 30);
  return timeouts.length === 0 ? 30 : Math.min(...timeouts);
}

/** The container port the image exposes (its EXPOSE line). */
export function exposedPort(image: ImageInspect): number {
  const [first] = Object.keys(image.Config.ExposedPorts ?? {});
  if (first === undefined) throw new Error("the image exposes no port: the Dockerfile needs an EXPOSE line");
  return Number.parseInt(first, 10);
}
