/**
 * Migration entry point: `node dist/migrate.js` (Shipyard runs it as a one-off ECS task from the new
 * task definition before the service changes). Exit code 0 only when every migration is applied.
 */
import { fileURLToPath } from "node:url";
import { errorFields, jsonLog } from "./log.js";
import { migrate } from "./migrator.js";

const log = jsonLog();
const databaseUrl = process.env["DATABASE_URL"];
const directory = process.env["MIGRATIONS_DIR"] || fileURLToPath(new URL("../migrations", import.meta.url));

if (databaseUrl === undefined || databaseUrl === "") {
  log("error", "DATABASE_URL is not set: set it to the PostgreSQL URL to migrate");
  process.exit(1);
}

try {
  const { applied, alreadyApplied } = await migrate({ databaseUrl, directory, log });
  log("info", applied.length === 0 ? "database is up to date" : "migrations done", {
    applied,
    alreadyApplied,
  });
} catch (error) {
  log("error", "migration failed", errorFields(error));
  process.exit(1);
}
