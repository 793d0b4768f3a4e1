import { appendFile, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { InputError } from "../../src/errors.js";
import { runMigrateLint } from "../../src/migrations/commands.js";
import { formatLintResult, lintResultToMarkdown } from "../../src/migrations/lint.js";
import { type CliIO, type Command, parseFlags } from "../io.js";

const usage = `Usage: shipyard migrate-lint [--base REF] [--env NAME] [--dir PATH] [--exclude RULE]... [--config PATH] [--json]

Lints SQL migrations with squawk for what breaks the running release or takes dangerous locks during a
rolling deploy. Drops and renames are allowed only in migrations marked post-deploy: a
\`-- shipyard:post-deploy\` line in the header comment (ship them one release after the code stopped
using what they remove).

  --base REF       lint only migrations added or edited since \`git merge-base REF HEAD\`
                   (in a pull request: --base origin/\${GITHUB_BASE_REF}); default: all migrations
  --env NAME       use this environment's \`migrations\` settings (when environments differ)
  --dir PATH       migrations folder, relative to the app root (default: migrations.directory or "migrations")
  --exclude RULE   ignore a squawk rule (repeatable; adds to migrations.excludeRules)
  --config PATH    shipyard.json (default: ./shipyard.json; optional for this command)
  --json           print the full result as JSON on stdout

Exit codes: 0 no unsafe statement · 1 unsafe statements found · 2 bad input · 3 squawk could not run.`;

async function readConfig(path: string, explicit: boolean): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    if (!explicit) return null;
    throw new InputError(`Cannot read the configuration ${path}.`, [], "pass --config path/to/shipyard.json");
  }
}

export const command: Command = {
  summary: "Lint SQL migrations for rolling-deploy safety (squawk)",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        base: { type: "string" },
        env: { type: "string" },
        dir: { type: "string" },
        exclude: { type: "string", multiple: true },
        config: { type: "string" },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const configPath = resolve(io.cwd, values.config ?? "shipyard.json");
    const configText = await readConfig(configPath, values.config !== undefined);
    const result = await runMigrateLint({
      appRoot: dirname(configPath),
      configText,
      configSource: values.config ?? "shipyard.json",
      ...(values.env ? { environmentName: values.env } : {}),
      ...(values.dir ? { directory: values.dir } : {}),
      ...(values.base ? { baseRef: values.base } : {}),
      excludeRules: values.exclude ?? [],
      env: io.env,
      signal: io.signal,
    });
    for (const line of formatLintResult(result)) io.stderr(line);
    if (values.json) io.stdout(JSON.stringify(result, null, 2));
    if (io.env.GITHUB_STEP_SUMMARY) {
      await appendFile(io.env.GITHUB_STEP_SUMMARY, lintResultToMarkdown(result)).catch((error: Error) =>
        io.stderr(
          `warning: could not write $GITHUB_STEP_SUMMARY (${error.message}); the result above is complete.`,
        ),
      );
    }
    return result.exitCode;
  },
};
