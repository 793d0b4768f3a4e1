import { runDeploy } from "../../src/deploy/commands.js";
import { defaultDeploySteps } from "../../src/deploy/default-steps.js";
import { InputError } from "../../src/errors.js";
import { emitReport } from "../../src/report/output.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, COMMON_OPTIONS, cliDeps, EXIT_CODES, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard deploy --env NAME --image REPO@sha256:DIGEST [--release NAME] [--commit SHA] [--config PATH] [--json]

Registers a new task definition revision with the image, runs the migrations (if configured),
updates the ECS service, waits on that deployment, verifies the release, and rolls back to the
previous revision when anything fails.

${COMMON_OPTIONS}
  --image REF       the image by digest, as \`publish\` printed it (never a tag)
  --release NAME    release name (SENTRY_RELEASE); default: the commit, else the digest
  --commit SHA      commit tagged on the revision; default: $GITHUB_SHA when set
  --skip-requires   deploy even if the \`requires\` environment cannot be confirmed to run this
                    image verified (e.g. it lives in another AWS account); reported as a warning

Example:
  npx shipyard deploy --env staging --image ghcr.io/acme/app@sha256:3f1c...e9 --json

${AWS_NOTE}
${EXIT_CODES}`;

export const command: Command = {
  summary: "Deploy an image to an environment (rolls back on failure)",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        env: { type: "string" },
        config: { type: "string" },
        image: { type: "string" },
        release: { type: "string" },
        commit: { type: "string" },
        "skip-requires": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const env = requireEnv(values.env, usage);
    if (!values.image) {
      throw new InputError(
        "--image REPO@sha256:DIGEST is required.",
        [],
        "pass the digest reference that publish printed",
      );
    }
    const input = await loadInput(io, env, values.config);
    const commit = values.commit ?? io.env.GITHUB_SHA;
    const report = await runDeploy(
      {
        ...input,
        image: values.image,
        ...(values.release ? { release: values.release } : {}),
        ...(commit ? { commit } : {}),
        ...(values["skip-requires"] ? { skipRequires: true } : {}),
      },
      { ...cliDeps(io), steps: await defaultDeploySteps() },
    );
    return emitReport(report, io, { json: values.json });
  },
};
