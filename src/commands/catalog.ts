/**
 * Every command, by name, with the one line `shipyard --help` shows. Each command's file loads on
 * demand: `shipyard --help` loads none of them, running one loads only its own.
 * To add a command: write src/commands/NAME.ts exporting `command` (see spec.ts), add it here, then
 * a Dagger function in src/index.ts if it belongs on that face too.
 */
import type { AnyCommand } from "./spec.js";

export type { AnyCommand } from "./spec.js";

type Loader = () => Promise<{ command: AnyCommand }>;

export const catalog: Readonly<Record<string, { summary: string; load: Loader }>> = {
  deploy: {
    summary: "Deploy an image to an environment (rolls back on failure)",
    load: () => import("./deploy.js"),
  },
  history: {
    summary: "Show the last deploys and rollbacks of an environment (changes nothing)",
    load: () => import("./history.js"),
  },
  init: {
    summary: "Write shipyard.json, task-def.json and workflows from running services",
    load: () => import("./init.js"),
  },
  logs: {
    summary: "Print the service's logs from CloudWatch Logs, across its tasks (--follow until Ctrl-C)",
    load: () => import("./logs.js"),
  },
  metrics: {
    summary: "Show delivery metrics: deploy frequency, lead time, change failure rate, time to restore",
    load: () => import("./metrics.js"),
  },
  migrate: {
    summary: "Run the app's migrations as a one-off ECS task",
    load: () => import("./migrate.js"),
  },
  "migrate-lint": {
    summary: "Lint SQL migrations for rolling-deploy safety (squawk)",
    load: () => import("./migrate-lint.js"),
  },
  plan: {
    summary: "Show what a deploy would change (changes nothing)",
    load: () => import("./plan.js"),
  },
  "preview-down": {
    summary: "Remove a pull request's preview environment (service, rule, target group, database)",
    load: () => import("./preview-down.js"),
  },
  "preview-gc": {
    summary: "Remove expired and orphaned preview environments",
    load: () => import("./preview-gc.js"),
  },
  "preview-list": {
    summary: "List the preview environments (changes nothing)",
    load: () => import("./preview-list.js"),
  },
  "preview-up": {
    summary: "Create or update a pull request's preview environment and print its URL",
    load: () => import("./preview-up.js"),
  },
  rollback: {
    summary: "Return the service to the last good revision",
    load: () => import("./rollback.js"),
  },
  schema: {
    summary: "Write the JSON Schema of shipyard.json",
    load: () => import("./schema.js"),
  },
  status: {
    summary: "Show what runs in an environment and where rollback would go",
    load: () => import("./status.js"),
  },
  try: {
    summary: "Two deploys of the example app against local emulators (no AWS account)",
    load: () => import("./try.js"),
  },
  verify: {
    summary: "Check the running release now: smoke test and Sentry error-rate gate",
    load: () => import("./verify.js"),
  },
};

export async function loadCommand(name: string): Promise<AnyCommand | undefined> {
  const entry = Object.hasOwn(catalog, name) ? catalog[name] : undefined;
  return entry ? (await entry.load()).command : undefined;
}
