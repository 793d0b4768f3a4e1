import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { systemClock } from "../../src/clock.js";
import { InputError } from "../../src/errors.js";
import { runMigrate } from "../../src/migrations/commands.js";
import { streamProgress } from "../../src/progress.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";

const usage = `Usage: shipyard migrate --env NAME [--task-definition REVISION] [--config PATH] [--json]

Runs the environment's migrations.command as a one-off ECS task with the service's network settings,
waits until it stops, and succeeds only if the app container exited with code 0. The service itself
is never changed. (\`shipyard deploy\` does this by itself, with the new revision, before UpdateService.)

  --env NAME                  environment in shipyard.json (required)
  --task-definition REVISION  revision whose image runs the migrations (ARN or family:revision);
                              default: the revision the service runs now
  --config PATH               shipyard.json (default: ./shipyard.json)
  --json                      print the report as JSON on stdout

Uses the standard AWS credential chain and AWS_REGION / AWS_ENDPOINT_URL_ECS.
Exit codes: 0 migrated · 1 the migration failed, did not start or timed out (service unchanged) ·
2 bad input · 3 the task may still be running: stop it by hand (the command is printed).`;

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
    if (!values.env) throw new InputError("migrate needs --env NAME.", [], `see the usage:\n${usage}`);
    const configPath = resolve(io.cwd, values.config ?? "shipyard.json");
    const configText = await readFile(configPath, "utf8").catch(() => {
      throw new InputError(
        `Cannot read the configuration ${configPath}.`,
        [],
        "run from the app's root or pass --config path/to/shipyard.json",
      );
    });
    const report = await runMigrate(
      {
        configText,
        configSource: values.config ?? "shipyard.json",
        environmentName: values.env,
        appRoot: dirname(configPath),
        aws: {},
        ...(values["task-definition"] ? { taskDefinition: values["task-definition"] } : {}),
      },
      {
        clock: systemClock,
        random: Math.random,
        progress: streamProgress(io.stderr),
        signal: io.signal,
        env: io.env,
      },
    );
    return emitReport(report, io, { json: values.json });
  },
};
