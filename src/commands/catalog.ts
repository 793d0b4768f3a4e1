/**
 * Every command, by name. Each loads on demand: running one command loads only its own file, and
 * `shipyard --help` (which loads them all for their summaries) never loads zod or the AWS SDK.
 * To add a command: write src/commands/NAME.ts exporting `command` (see spec.ts), add it here, then
 * a Dagger function in src/index.ts if it belongs on that face too.
 */
import type { AnyCommand } from "./spec.js";

export type { AnyCommand } from "./spec.js";

type Loader = () => Promise<{ command: AnyCommand }>;

export const catalog: Readonly<Record<string, Loader>> = {
  deploy: () => import("./deploy.js"),
  migrate: () => import("./migrate.js"),
  "migrate-lint": () => import("./migrate-lint.js"),
  plan: () => import("./plan.js"),
  rollback: () => import("./rollback.js"),
  schema: () => import("./schema.js"),
  status: () => import("./status.js"),
  verify: () => import("./verify.js"),
};

export async function loadCommand(name: string): Promise<AnyCommand | undefined> {
  const load = Object.hasOwn(catalog, name) ? catalog[name] : undefined;
  return load ? (await load()).command : undefined;
}
