/**
 * The example app's world, emulated in this process for `shipyard try`: its ECS service running the
 * first release, its Sentry project with steady traffic, its health and version URLs, and the
 * registry that holds its images. Traffic follows ECS: whichever release the service is moved to
 * starts taking the sessions, with that release's error rate.
 */
import type { Clock } from "../clock.js";
import { parseConfig, selectEnvironment } from "../config/load.js";
import { BUNDLED_SOURCE, readBundledTemplate, releaseOf, renderTaskDefinition } from "../config/taskdef.js";
import { type EmulatorClock, scaledClock } from "./clock.js";
import { EcsSimulator } from "./ecs/simulator.js";
import { EXAMPLE, SCENARIOS } from "./example.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "./sentry.js";

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** The files a deploy reads: the example's shipyard.json only (the template is Shipyard's own). */
interface ExampleFiles {
  root: string;
  describe(path: string): string;
  read(path: string): Promise<{ kind: "file"; text: string } | { kind: "missing" }>;
}

export interface EmulatedEstate {
  clock: EmulatorClock;
  ecsEndpoint: string;
  sentryEndpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  files: ExampleFiles;
  fetch: Fetch;
  /** The process environment a deploy sees: the emulators' endpoints, nothing of the caller's CI. */
  env(outer: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The release the service's running tasks report at the version URL. */
  runningRelease(): string | null;
  stop(): Promise<void>;
}

const CONTAINER = "app";
const errorRates = new Map<string, number>([
  [EXAMPLE.running.release, EXAMPLE.running.errorRate],
  ...SCENARIOS.map((s) => [s.release, s.errorRate] as const),
]);
const knownImages = new Set<string>([EXAMPLE.running.image, ...SCENARIOS.map((s) => s.image)]);

export async function startEstate(base: Clock, speed: number): Promise<EmulatedEstate> {
  const clock = scaledClock(base, speed);
  const ecs = await EcsSimulator.start(clock, EXAMPLE.config.environments.staging.region);
  const sentry = await startSentrySim({ clock, org: EXAMPLE.org, projects: { [EXAMPLE.project]: "4242" } });
  const running = ecs.registerTaskDefinition(await runningDefinition());
  ecs.createService({
    cluster: EXAMPLE.cluster,
    service: EXAMPLE.service,
    taskDefinition: running,
    desiredCount: 2,
  });
  // The running release has served for an hour: the baseline the gate compares against.
  sessionsFor(sentry, EXAMPLE.running.release, clock.now() - 3_600_000);
  ecs.onCall = (call) => {
    if (call.operation !== "UpdateService" || typeof call.input.taskDefinition !== "string") return;
    const release = releaseOf(ecs.taskDefinitionBody(call.input.taskDefinition) as never, CONTAINER);
    if (release) sessionsFor(sentry, release, clock.now());
  };
  const runningRelease = () => releaseServing(ecs);
  return {
    clock,
    ecsEndpoint: ecs.endpoint,
    sentryEndpoint: sentry.url,
    credentials: { accessKeyId: "AKIAEMULATEDLOCAL000", secretAccessKey: "emulated-not-a-secret" },
    files: exampleFiles(),
    fetch: appAndRegistry(runningRelease, sentry.url),
    env: (outer) => ({
      ...(outer.PATH ? { PATH: outer.PATH } : {}),
      ...(outer.HOME ? { HOME: outer.HOME } : {}),
      AWS_ENDPOINT_URL_ECS: ecs.endpoint,
      // The emulator answers the load balancer and log reads of a failure's diagnosis too.
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: ecs.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: ecs.endpoint,
      SENTRY_URL: sentry.url,
      SENTRY_AUTH_TOKEN: SIM_TOKEN,
    }),
    runningRelease,
    async stop() {
      await Promise.all([ecs.stop(), sentry.close()]);
    },
  };
}

/** The release `from` on takes every session; the one before stops. */
function sessionsFor(sentry: SentrySim, release: string, from: number): void {
  for (const model of sentry.traffic) model.endAt ??= from;
  sentry.addTraffic({
    release,
    environment: EXAMPLE.environmentName,
    startAt: from,
    ratePerSecond: EXAMPLE.trafficPerSecond,
    errorRate: errorRates.get(release) ?? 0,
    project: EXAMPLE.project,
  });
}

/** The first release, rendered from Shipyard's own template as a deploy would have registered it. */
async function runningDefinition(): Promise<Record<string, unknown>> {
  const config = parseConfig(JSON.stringify(EXAMPLE.config), "the example's shipyard.json");
  const environment = selectEnvironment(config, EXAMPLE.environmentName);
  const rendered = renderTaskDefinition({
    templateText: await readBundledTemplate(),
    source: BUNDLED_SOURCE,
    environmentName: EXAMPLE.environmentName,
    environment,
    repository: config.image,
    image: EXAMPLE.running.image,
    release: EXAMPLE.running.release,
    planCommand: "shipyard plan",
  });
  return rendered as unknown as Record<string, unknown>;
}

/** Tasks of the primary deployment answer once they run; before that, the deployment they replace. */
function releaseServing(ecs: EcsSimulator): string | null {
  const view = ecs.describe(EXAMPLE.cluster, EXAMPLE.service) as {
    deployments?: Array<{ status?: string; taskDefinition?: string; runningCount?: number }>;
  };
  const serving = [...(view.deployments ?? [])]
    .filter((d) => (d.runningCount ?? 0) > 0)
    .sort((a, b) => Number(b.status === "PRIMARY") - Number(a.status === "PRIMARY"))[0];
  if (!serving?.taskDefinition) return null;
  return releaseOf(ecs.taskDefinitionBody(serving.taskDefinition) as never, CONTAINER);
}

function exampleFiles(): ExampleFiles {
  const text = JSON.stringify(EXAMPLE.config, null, 2);
  return {
    root: ".",
    describe: (path) => `the example app's ${path}`,
    read: async (path) => (path === "shipyard.json" ? { kind: "file", text } : { kind: "missing" }),
  };
}

/**
 * What a deploy fetches: the emulated Sentry (for real, over HTTP), the app's health and version
 * URLs and the image registry (answered here); anything else is not reachable.
 */
function appAndRegistry(runningRelease: () => string | null, sentryUrl: string): Fetch {
  const health = new URL(EXAMPLE.config.environments.staging.healthCheck.url);
  const version = new URL(EXAMPLE.config.environments.staging.healthCheck.releaseUrl);
  const sentry = new URL(sentryUrl).origin;
  return async (input, init) => {
    const url = new URL(input);
    if (url.origin === sentry) return fetch(input, init);
    if (url.href === health.href) return new Response("ok", { status: 200 });
    if (url.href === version.href) return Response.json({ release: runningRelease() });
    const manifest = /^\/v2\/(.+)\/manifests\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (manifest) {
      const image = `${url.host}/${manifest[1]}@${manifest[2]}`;
      return knownImages.has(image)
        ? new Response(null, { status: 200, headers: { "docker-content-digest": manifest[2]! } })
        : new Response(null, { status: 404 });
    }
    throw new TypeError(`fetch failed: ${url.origin} is not part of the emulated estate`);
  };
}
