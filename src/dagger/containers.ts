/**
 * Container graphs behind the Shipyard functions. Each builder is small and returns a lazy Dagger object;
 * nothing runs until a function syncs, publishes or returns it. Kept out of src/index.ts so the class
 * stays a thin, documented surface.
 */
import { type Container, type Directory, dag, type Service } from "@dagger.io/dagger";
import { nodeImage } from "./settings.js";

/** Where the app lives inside every container. */
export const APP_DIR = "/app";
/** The pnpm content-addressed store, a cache volume shared by every run on the engine. */
export const PNPM_STORE_DIR = "/pnpm/store";
export const PNPM_STORE_CACHE = "shipyard-pnpm-store";
/** Corepack's download cache, so the pnpm binary itself is fetched once per engine, not once per run. */
export const COREPACK_HOME = "/corepack";
export const COREPACK_CACHE = "shipyard-corepack";

/**
 * The only files pnpm needs to download dependencies. Copying just these before the source keeps the
 * `pnpm fetch` layer cached across source edits: it is invalidated only when dependencies change.
 */
export const DEPENDENCY_FILES = [
  "package.json",
  "pnpm-lock.yaml",
  "pnpm-workspace.yaml",
  ".npmrc",
  "patches/**",
];

/** Build outputs and installed modules never come from the caller's tree: they are rebuilt inside. */
export const SOURCE_EXCLUDES = ["**/node_modules", "**/dist", "**/.git"];

export const POSTGRES_USER = "shipyard";
/** A throwaway database inside the engine's private network: not a secret, never reachable outside. */
export const POSTGRES_PASSWORD = "shipyard";
export const POSTGRES_PORT = 5432;
/** The hostname the database is bound as in every test container. */
export const DB_HOST = "db";

export const APP_PORT = 3000;
/** The hostname the running app is bound as in the e2e test container. */
export const APP_HOST = "app";
/** The variable that tells the app's e2e tests where the running app is. */
export const APP_URL_ENV = "APP_URL";

export interface NodeToolchain {
  nodeVersion: string;
  /** "" lets corepack pick the version from the app's `packageManager` field. */
  pnpmVersion: string;
}

/** Node + pnpm, with the pnpm store on a cache volume. */
export function nodeBase(toolchain: NodeToolchain): Container {
  let container = dag
    .container()
    .from(nodeImage(toolchain.nodeVersion))
    .withEnvVariable("CI", "true")
    .withEnvVariable("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0");
  container =
    toolchain.pnpmVersion === ""
      ? container
          .withMountedCache(COREPACK_HOME, dag.cacheVolume(COREPACK_CACHE))
          .withEnvVariable("COREPACK_HOME", COREPACK_HOME)
          .withExec(["corepack", "enable", "pnpm"])
      : container.withExec(["npm", "install", "--global", `pnpm@${toolchain.pnpmVersion}`]);
  return container.withMountedCache(PNPM_STORE_DIR, dag.cacheVolume(PNPM_STORE_CACHE)).withWorkdir(APP_DIR);
}

/**
 * The app with all its dependencies installed: dependency files, `pnpm fetch` (cached on the lockfile),
 * then the source, then an offline install that cannot drift from the lockfile.
 */
export function installedApp(toolchain: NodeToolchain, appDir: Directory): Container {
  return nodeBase(toolchain)
    .withDirectory(APP_DIR, appDir, { include: DEPENDENCY_FILES })
    .withExec(["pnpm", "fetch", "--store-dir", PNPM_STORE_DIR])
    .withDirectory(APP_DIR, appDir, { exclude: SOURCE_EXCLUDES })
    .withExec(["pnpm", "install", "--offline", "--frozen-lockfile", "--store-dir", PNPM_STORE_DIR]);
}

/**
 * A real PostgreSQL, data on tmpfs and durability off: it lives for one run, so speed wins.
 * The database name differs per check so parallel checks never share (Dagger dedupes identical services).
 */
export function postgresService(image: string, database: string): Service {
  return dag
    .container()
    .from(image)
    .withEnvVariable("POSTGRES_USER", POSTGRES_USER)
    .withEnvVariable("POSTGRES_PASSWORD", POSTGRES_PASSWORD)
    .withEnvVariable("POSTGRES_DB", database)
    .withMountedTemp("/var/lib/postgresql")
    .withExposedPort(POSTGRES_PORT)
    .asService({
      useEntrypoint: true,
      args: ["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    });
}

export function databaseUrl(database: string): string {
  return `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${DB_HOST}:${POSTGRES_PORT}/${database}`;
}

/** Binds the database as `db` and points DATABASE_URL at it. */
export function withDatabase(container: Container, database: Service, name: string): Container {
  return container.withServiceBinding(DB_HOST, database).withEnvVariable("DATABASE_URL", databaseUrl(name));
}

export function runScript(container: Container, script: string): Container {
  return container.withExec(["pnpm", "run", script]);
}

export interface AppScripts {
  build: boolean;
  migrate: boolean;
}

/**
 * Applies the app's migrations with its own `migrate` script, building first when the app has a build
 * (a migrate script usually runs compiled code, e.g. `node dist/migrate.js`). No migrate script: unchanged.
 */
export function withMigrations(container: Container, scripts: AppScripts): Container {
  if (!scripts.migrate) return container;
  return runScript(scripts.build ? runScript(container, "build") : container, "migrate");
}

/**
 * The built app with its own migrated database, ready to be started. The e2e tests run in this same
 * container too (DATABASE_URL set, dist/ present), so tests that start their own server or seed the
 * database work as well as tests that call APP_URL; identical steps run once.
 */
export function builtAndMigrated(
  installed: Container,
  database: Service,
  name: string,
  hasMigrate: boolean,
): Container {
  const built = runScript(withDatabase(installed, database, name), "build");
  return hasMigrate ? runScript(built, "migrate") : built;
}

/** The app started with its `start` script on APP_PORT, as a service. */
export function appService(builtApp: Container): Service {
  return builtApp
    .withEnvVariable("PORT", String(APP_PORT))
    .withEnvVariable("HOST", "0.0.0.0")
    .withExposedPort(APP_PORT)
    .asService({ args: ["pnpm", "run", "start"] });
}

export function appUrl(): string {
  return `http://${APP_HOST}:${APP_PORT}`;
}
