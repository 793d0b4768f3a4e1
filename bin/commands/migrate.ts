import { runMigrate } from "../../src/migrations/commands.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, cliDeps, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard migrate --env NAME [--task-definition REVISION] [--config PATH] [--json]

Runs the environment's migrations.command as a one-off ECS task with the service's network settings
and launch type, waits until it stops, and succeeds only if the app container exited with code 0.
The service itself is never changed. (\`shipyard deploy\` does this by itself, with the new revision,
after linting the migrations and before UpdateService.)

  --env NAME                  environment in shipyard.json (required)
  --task-definition REVISION  revision whose image runs the migrations (ARN or family:revision);
                              default: the revision the service runs now
  --config PATH               shipyard.json (default: ./shipyard.json)
  --json                      print the report as JSON on stdout (progress stays on stderr)

Example:
  npx shipyard migrate --env staging --task-definition web:42

${AWS_NOTE}
Exit codes: 0 migrated · 1 the migration failed, never started, was refused or timed out (the service
was not changed) · 2 bad input, nothing ran · 3 the task may still be running: stop it by hand (the
command is printed).`;

export const command: Command = {
  summary: "Run the app's migrations as a one-off ECS task",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        env: { type: "string" },
        "task-definition": { type: "string" },
        config: { type: "string" },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const environmentName = requireEnv(values.env, usage);
    const { taskDefinitionText: _template, ...input } = await loadInput(io, environmentName, values.config);
    const taskDefinition = values["task-definition"];
    const report = await runMigrate({ ...input, ...(taskDefinition ? { taskDefinition } : {}) }, cliDeps(io));
    return emitReport(report, io, { json: values.json });
  },
};
