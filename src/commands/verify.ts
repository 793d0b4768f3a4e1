/**
 * `verify`: run the smoke test and the error-rate gate NOW for the release an environment runs, and
 * report. Changes nothing.
 *
 * The release and its baseline come from ECS (SENTRY_RELEASE of the running task definition and of
 * the revision tagged `shipyard:previous`), or from the options (then AWS is never called). The gate
 * reads one cumulative sample of the release over the last `--since` and compares it with the
 * previous release's sessions before that; `--watch` instead runs the full window as a deploy would.
 */
import { imageOf, releaseOf } from "../config/taskdef.js";
import { TAG } from "../deploy/revisions.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { gateVerdict } from "../verify/health.js";
import { smokeVerdict } from "../verify/smoke.js";
import type { EnvironmentContext } from "./context.js";
import { verificationOptions } from "./deploy-steps.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  ...environmentOptions,
  release: {
    type: "string",
    value: "V",
    help: "release to judge (default: SENTRY_RELEASE of the running task definition)",
  },
  previousRelease: {
    type: "string",
    value: "V",
    help: "baseline release (default: SENTRY_RELEASE of the revision before it)",
  },
  noBaseline: {
    type: "boolean",
    help: "judge against verify.noBaselineErrorRate instead of a previous release",
  },
  since: {
    type: "duration",
    value: "DURATION",
    help: "how far back to read the release, e.g. 600, 10m, 2h (default: verify.baselineSeconds)",
  },
  watch: {
    type: "boolean",
    help: "watch for verify.windowSeconds, as a deploy does, instead of judging now",
  },
} as const;

type VerifyOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: "verify",
  description:
    "Checks the release an environment runs NOW, and reports (changes nothing): the health smoke test (environments.NAME.healthCheck), then the error-rate gate — the release's failed-request rate from Sentry's sessions API against the previous release's (environments.NAME.sentry and .verify). Sentry: SENTRY_AUTH_TOKEN (org:read, project:read) and SENTRY_URL (default https://sentry.io). With both --release and --previous-release (or --no-baseline) AWS is not called.",
  config: "environment",
  options,
  examples: [
    "shipyard verify --env production",
    "shipyard verify --env staging --release 3f2c1ab --previous-release 9e8d7c6 --json",
  ],
  exitCodes: "0 healthy · 2 bad input · 3 unhealthy or could not be verified (reason and next steps printed)",
  check: (given) => void baselineChoice(given),
  run: verify,
});

interface Releases {
  release: string;
  previousRelease: string | null;
  taskDefinition: string | null;
  previousTaskDefinition: string | null;
  image: string | null;
}

async function verify(ctx: EnvironmentContext, options: VerifyOptions): Promise<Report> {
  const { report, output: progress, environment, runtime } = ctx;
  const baseline = baselineChoice(options);
  const releases =
    options.release !== undefined && baseline !== undefined
      ? {
          release: options.release,
          previousRelease: baseline,
          taskDefinition: null,
          previousTaskDefinition: null,
          image: null,
        }
      : await releasesFromEcs(ctx, options.release, baseline);
  report.set(releases);
  progress.info(
    `Verifying release ${releases.release} in ${ctx.environmentName}` +
      (releases.previousRelease ? ` against ${releases.previousRelease}.` : " (no previous release known)."),
  );
  const http = verificationOptions(ctx);
  const smoke = await report.phase("smoke", () =>
    smokeVerdict({
      settings: environment.healthCheck,
      release: releases.release,
      clock: runtime.clock,
      random: runtime.random,
      progress,
      signal: runtime.signal,
      ...http,
    }),
  );
  report.section("verification", smoke.section);
  report.check("smoke", smoke.status === "passed" && smoke.notConfigured ? "not-configured" : smoke.status);

  const now = runtime.clock.now();
  // One-shot: a single cumulative reading decides (no window to wait for a second breach).
  const settings = options.watch
    ? environment.verify
    : { ...environment.verify, windowSeconds: 0, consecutiveBreaches: 1 };
  const gate = await report.phase("gate", () =>
    gateVerdict(
      {
        environment: { ...environment, verify: settings },
        environmentName: ctx.environmentName,
        release: releases.release,
        previousRelease: releases.previousRelease,
        env: runtime.env,
        clock: runtime.clock,
        progress,
        signal: runtime.signal,
        releaseSince: now - (options.since ?? environment.verify.baselineSeconds) * 1000,
        // The previous release's sessions: anywhere in the range before now (it may still have run then).
        baselineUntil: now,
      },
      http,
    ),
  );
  report.section("verification", gate.section);
  report.check("gate", gate.status === "passed" && gate.notConfigured ? "not-configured" : gate.status);

  const problems = [
    ...(smoke.status === "failed" ? [`smoke test failed: ${smoke.reason}`] : []),
    ...(gate.status === "failed" ? [`error-rate gate failed: ${gate.reason}`] : []),
  ];
  const inconclusive =
    gate.status === "inconclusive" ? `error-rate gate was inconclusive: ${gate.reason}` : null;
  if (problems.length === 0 && inconclusive === null) return report.succeeded();
  return report.finish("failed", ExitCode.NeedsAttention, {
    reason: [...problems, ...(inconclusive ? [inconclusive] : [])].join("; "),
    nextSteps:
      problems.length > 0
        ? [ctx.command("rollback"), ctx.command("status")]
        : [
            ctx.command("verify", { watch: true }),
            `${ctx.command("rollback")}   # if the release must not stay unverified`,
          ],
  });
}

/** The baseline the options ask for: a release, null (none), or undefined (read it from ECS). */
function baselineChoice(
  options: Pick<VerifyOptions, "previousRelease" | "noBaseline">,
): string | null | undefined {
  if (!options.noBaseline) return options.previousRelease;
  if (options.previousRelease !== undefined) {
    throw new InputError(
      "--previous-release and --no-baseline contradict each other.",
      [],
      "pass one of them",
    );
  }
  return null;
}

/** The running release and the one before it, from ECS (only the values not given). */
async function releasesFromEcs(
  ctx: EnvironmentContext,
  given: string | undefined,
  baseline: string | null | undefined,
): Promise<Releases> {
  const { container } = ctx.environment;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    throw new InputError(
      `${lookup.reason}; nothing to verify.`,
      [],
      `check environments.${ctx.environmentName} (region, cluster, service) in shipyard.json`,
    );
  }
  const arn = lookup.service.taskDefinition ?? null;
  const current = arn ? await ecs.describeTaskDefinition(arn) : null;
  const release = given ?? releaseOf(current?.taskDefinition, container);
  if (!release) {
    throw new InputError(
      `The running task definition ${arn ?? "(none)"} has no SENTRY_RELEASE on container "${container}", so there is no release to verify.`,
      [],
      "pass --release VERSION, or deploy with Shipyard (it sets SENTRY_RELEASE)",
    );
  }
  const previousArn = current?.tags[TAG.previous] ?? lookup.tags[TAG.previous] ?? null;
  let previousRelease = baseline === undefined ? null : baseline;
  if (baseline === undefined && previousArn) {
    const previous = await ecs.describeTaskDefinition(previousArn);
    previousRelease = releaseOf(previous.taskDefinition, container);
  }
  return {
    release,
    previousRelease,
    taskDefinition: arn,
    previousTaskDefinition: previousArn,
    image: imageOf(current?.taskDefinition, container),
  };
}
