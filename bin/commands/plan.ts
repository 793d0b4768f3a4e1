import { runPlan } from "../../src/deploy/commands.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, COMMON_OPTIONS, cliDeps, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard plan --env NAME [--image REPO@sha256:DIGEST] [--release NAME] [--config PATH] [--json]

Renders the task definition for the environment and prints what a deploy would change against the
live task definition and the service's deployment settings. Changes nothing.

${COMMON_OPTIONS}
  --image REF       image to plan with (default: the image running now)
  --release NAME    release name to render (default: the commit or the digest)

Example:
  npx shipyard plan --env production --image ghcr.io/acme/app@sha256:3f1c...e9

${AWS_NOTE}`;

export const command: Command = {
  summary: "Show what a deploy would change (changes nothing)",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        env: { type: "string" },
        config: { type: "string" },
        image: { type: "string" },
        release: { type: "string" },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const env = requireEnv(values.env, usage);
    const input = await loadInput(io, env, values.config);
    const report = await runPlan(
      {
        ...input,
        ...(values.image ? { image: values.image } : {}),
        ...(values.release ? { release: values.release } : {}),
      },
      cliDeps(io),
    );
    return emitReport(report, io, { json: values.json });
  },
};
