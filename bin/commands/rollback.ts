import { runRollback } from "../../src/deploy/commands.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, COMMON_OPTIONS, cliDeps, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard rollback --env NAME [--to REVISION] [--config PATH] [--json]

Puts the service back on the last good revision recorded by the last deploy (service tag
shipyard:last-good, then shipyard:previous), waits until ECS confirms it, and reports.

${COMMON_OPTIONS}
  --to REVISION     go to this revision instead: a number (same family), family:revision, or an ARN

Examples:
  npx shipyard rollback --env production
  npx shipyard rollback --env production --to 41

${AWS_NOTE}
Exit codes: 0 the service runs the target revision · 2 nothing to roll back to / bad input ·
3 the rollback was not confirmed (commands printed).`;

export const command: Command = {
  summary: "Return the service to the last good revision",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        env: { type: "string" },
        config: { type: "string" },
        to: { type: "string" },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const env = requireEnv(values.env, usage);
    const input = await loadInput(io, env, values.config);
    const report = await runRollback({ ...input, ...(values.to ? { to: values.to } : {}) }, cliDeps(io));
    return emitReport(report, io, { json: values.json });
  },
};
