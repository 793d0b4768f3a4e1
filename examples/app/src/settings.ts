/** Runtime settings, read once from the environment so every mistake is reported before the server starts. */

export interface Settings {
  /** TCP port; 0 picks a free one (the tests use that). */
  port: number;
  host: string;
  databaseUrl: string;
  /** What /version reports: the image's SENTRY_RELEASE build argument, or "dev" outside an image. */
  release: string;
  /** How long SIGTERM waits for in-flight requests; keep it below the task definition's stopTimeout (30 s). */
  shutdownTimeoutMs: number;
  /** Upper bound on pooled database connections per process. */
  poolSize: number;
}

export class SettingsError extends Error {
  override name = "SettingsError";
}

type Environment = Readonly<Record<string, string | undefined>>;

export function readSettings(env: Environment): Settings {
  const databaseUrl = env["DATABASE_URL"];
  if (databaseUrl === undefined || databaseUrl === "") {
    throw new SettingsError(
      "DATABASE_URL is not set: set it to the service's PostgreSQL URL, e.g. postgres://user:password@host:5432/db",
    );
  }
  return {
    port: integer(env, "PORT", 3000, 0, 65535),
    host: env["HOST"] || "0.0.0.0",
    databaseUrl,
    release: env["SENTRY_RELEASE"] || "dev",
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 25_000, 0, 600_000),
    poolSize: integer(env, "PG_POOL_SIZE", 10, 1, 1000),
  };
}

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name}=${raw} is not valid: use a whole number from ${min} to ${max}`);
  }
  return value;
}
