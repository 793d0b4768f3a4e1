import { emitReport } from "../../src/report/output.js";
import { runVerify } from "../../src/verify/command.js";
import { type CliIO, type Command, parseFlags } from "../io.js";
import { AWS_NOTE, COMMON_OPTIONS, cliDeps, loadInput, requireEnv } from "./deploy-shared.js";

const usage = `Usage: shipyard verify --env NAME [--release V] [--previous-release V | --no-baseline]
                       [--since SECONDS] [--watch] [--config PATH] [--json]

Checks the release an environment runs NOW, and reports (changes nothing): the health smoke test
(environments.NAME.healthCheck), then the error-rate gate — the release's failed-request rate from
Sentry's sessions API against the previous release's (environments.NAME.sentry and .verify).

${COMMON_OPTIONS}
  --release V           release to judge (default: SENTRY_RELEASE of the running task definition)
  --previous-release V  baseline release (default: SENTRY_RELEASE of the revision before it)
  --no-baseline         judge against verify.noBaselineErrorRate instead of a previous release
  --since SECONDS       how far back to read the release (default: verify.baselineSeconds)
  --watch               watch for verify.windowSeconds, as a deploy does, instead of judging now

Sentry: SENTRY_AUTH_TOKEN (org:read, project:read) and SENTRY_URL (default https://sentry.io).
With both --release and --previous-release (or --no-baseline) AWS is not called.

Examples:
  npx shipyard verify --env production
  npx shipyard verify --env staging --release 3f2c1ab --previous-release 9e8d7c6 --json

${AWS_NOTE}
Exit codes: 0 healthy · 2 bad input · 3 unhealthy or could not be verified (reason and next steps printed).`;

export const command: Command = {
  summary: "Check the running release now: smoke test and Sentry error-rate gate",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(
      argv,
      {
        env: { type: "string" },
        config: { type: "string" },
        release: { type: "string" },
        "previous-release": { type: "string" },
        "no-baseline": { type: "boolean", default: false },
        since: { type: "string" },
        watch: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
      usage,
    );
    const env = requireEnv(values.env, usage);
    const since = values.since === undefined ? undefined : Number(values.since);
    const input = await loadInput(io, env, values.config);
    const report = await runVerify(
      {
        ...input,
        ...(values.release ? { release: values.release } : {}),
        ...(values["previous-release"] ? { previousRelease: values["previous-release"] } : {}),
        noBaseline: values["no-baseline"],
        ...(since !== undefined ? { sinceSeconds: since } : {}),
        watch: values.watch,
      },
      cliDeps(io),
    );
    return emitReport(report, io, { json: values.json });
  },
};
