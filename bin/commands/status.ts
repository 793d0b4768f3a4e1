import { runStatus } from "../../src/deploy/commands.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, COMMON_OPTIONS, cliDeps, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard status --env NAME [--config PATH] [--json]

Shows the running revision, image and release, the deployments and their rollout state,
running/desired counts, recent ECS events, and where \`rollback\` would go. Changes nothing.

${COMMON_OPTIONS}

Example:
  npx shipyard status --env production

${AWS_NOTE}`;

export const command: Command = {
  summary: "Show what runs in an environment and where rollback would go",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      { env: { type: "string" }, config: { type: "string" }, json: { type: "boolean", default: false } },
      usage,
    );
    const env = requireEnv(values.env, usage);
    const input = await loadInput(io, env, values.config);
    const report = await runStatus(input, cliDeps(io));
    return emitReport(report, io, { json: values.json });
  },
};
