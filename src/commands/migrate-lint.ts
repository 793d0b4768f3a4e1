/**
 * `migrate-lint`: lint SQL migrations with squawk for what breaks the running release or takes
 * dangerous locks during a rolling deploy. Reads shipyard.json when there is one (which folder, which
 * rules to exclude); works without it.
 */
import type { Config } from "../config/schema.js";
import { ExitCode, InputError } from "../errors.js";
import { formatLintResult, type LintResult, lintMigrations } from "../migrations/lint.js";
import type { Report } from "../report/report.js";
import type { OptionalConfigContext } from "./context.js";
import { defineCommand, ENVIRONMENT_NAME, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  base: {
    type: "string",
    value: "REF",
    help: "lint only migrations added or edited since `git merge-base REF HEAD` (in a pull request: --base origin/$GITHUB_BASE_REF); default: all migrations",
  },
  env: {
    type: "string",
    value: "NAME",
    help: "use this environment's `migrations` settings (when environments differ)",
    pattern: ENVIRONMENT_NAME,
  },
  dir: {
    type: "string",
    value: "PATH",
    help: 'migrations folder, relative to the app root (default: migrations.directory or "migrations")',
  },
  exclude: {
    type: "list",
    value: "RULE",
    help: "ignore a squawk rule (repeatable; adds to migrations.excludeRules)",
  },
  config: {
    ...environmentOptions.config,
    help: "shipyard.json (default: ./shipyard.json; optional for this command)",
  },
  json: environmentOptions.json,
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "migrate-lint",
  description:
    "Lints SQL migrations with squawk for what breaks the running release or takes dangerous locks during a rolling deploy. Drops and renames are allowed only in migrations marked post-deploy: a `-- shipyard:post-deploy` line in the header comment (ship them one release after the code stopped using what they remove).",
  config: "optional",
  options,
  examples: ["shipyard migrate-lint", "shipyard migrate-lint --base origin/main --json"],
  exitCodes: "0 no unsafe statement · 1 unsafe statements found · 2 bad input · 3 squawk could not run",
  run: migrateLint,
});

async function migrateLint(ctx: OptionalConfigContext, options: Options): Promise<Report> {
  const settings = ctx.config
    ? lintSettingsFrom(ctx.config, options.env)
    : { directory: "migrations", excludeRules: [] };
  const result = await ctx.report.phase("lint", () =>
    lintMigrations({
      appRoot: ctx.appRoot,
      directory: options.dir ?? settings.directory,
      excludeRules: [...new Set([...settings.excludeRules, ...options.exclude])],
      ...(options.base ? { baseRef: options.base } : {}),
      ...(ctx.runtime.squawkPath ? { squawkPath: ctx.runtime.squawkPath } : {}),
      env: ctx.runtime.env,
      signal: ctx.runtime.signal,
      lintCommand: ctx.command("migrate-lint"),
    }),
  );
  for (const line of formatLintResult(result)) ctx.output.info(line);
  ctx.report.section("migration", { lint: result });
  if (result.outcome === "passed") return ctx.report.succeeded();
  return ctx.report.finish("failed", ExitCode.RolledBack, {
    ...(result.reason ? { reason: result.reason } : {}),
    nextSteps: result.nextSteps ?? [],
  });
}

interface LintSettings {
  directory: string;
  excludeRules: string[];
}

/** Environments usually share one migrations folder; if they do not, the caller must pick one. */
function lintSettingsFrom(config: Config, environmentName: string | undefined): LintSettings {
  const defaults: LintSettings = { directory: "migrations", excludeRules: [] };
  if (environmentName !== undefined) {
    const env = Object.hasOwn(config.environments, environmentName)
      ? config.environments[environmentName]
      : undefined;
    if (!env) {
      throw new InputError(
        `There is no environment "${environmentName}" in shipyard.json.`,
        [],
        `use one of: ${Object.keys(config.environments).join(", ")}`,
      );
    }
    return env.migrations ?? defaults;
  }
  const distinct = new Map<string, LintSettings>();
  for (const env of Object.values(config.environments)) {
    if (!env.migrations) continue;
    const { directory, excludeRules } = env.migrations;
    distinct.set(JSON.stringify([directory, [...excludeRules].sort()]), { directory, excludeRules });
  }
  if (distinct.size > 1) {
    throw new InputError(
      "The environments in shipyard.json lint different migration folders or rules.",
      [],
      "pass --env NAME to choose whose `migrations` settings to use",
    );
  }
  return [...distinct.values()][0] ?? defaults;
}

/** The lint result inside a migrate-lint report (the Dagger face reads it back from the CLI's JSON). */
export function lintResultOf(report: Report): LintResult | null {
  const lint = report.migration?.lint;
  return lint && typeof lint === "object" ? (lint as LintResult) : null;
}
