/**
 * `verify`, face-neutral (the CLI and the Dagger function both call it): run the smoke test and the
 * error-rate gate NOW for the release an environment runs, and report. Changes nothing.
 *
 * The current and previous releases come from ECS (SENTRY_RELEASE of the running task definition and
 * of the revision tagged `shipyard:previous`), or from the caller (then AWS is never called). The gate
 * reads one cumulative sample of the release over the last `sinceSeconds` and compares it with the
 * previous release's sessions before that; `watch` instead runs the full window as a deploy would.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { Random } from "../clock.js";
import type { CommandDeps, CommandInput } from "../deploy/commands.js";
import { prepare } from "../deploy/commands.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { runGate, type VerificationOptions } from "./hook.js";
import { runSmokeTest } from "./smoke.js";

export interface VerifyInput extends CommandInput {
  /** The release to judge; default: SENTRY_RELEASE of the running task definition. */
  release?: string;
  /** Its baseline; default: SENTRY_RELEASE of the revision before it. Null: no baseline. */
  previousRelease?: string | null;
  /** Judge against verify.noBaselineErrorRate instead of a previous release (same as previousRelease: null). */
  noBaseline?: boolean;
  /** How far back to read the release (default: the environment's verify.baselineSeconds). */
  sinceSeconds?: number;
  /** Watch the full verification window instead of judging what is already there. */
  watch?: boolean;
}

export type VerifyDeps = Omit<CommandDeps, "steps"> & VerificationOptions & { random: Random };

interface Releases {
  release: string;
  previousRelease: string | null;
  taskDefinition: string | null;
  previousTaskDefinition: string | null;
  image: string | null;
}

/** The running release and the one before it, from ECS (only the values not passed in). */
async function releasesFromEcs(
  input: VerifyInput,
  ecs: () => Promise<ECSClient>,
  container: string,
  cluster: string,
  service: string,
): Promise<Releases> {
  const { describeService, describeTaskDefinition, TAG } = await import("../deploy/ecs.js");
  const { imageOf, releaseOf } = await import("../config/taskdef.js");
  const client = await ecs();
  const lookup = await describeService(client, { cluster, service });
  if (!lookup.found) {
    throw new InputError(
      `${lookup.reason}; nothing to verify.`,
      [],
      `check environments.${input.environmentName} (region, cluster, service) in shipyard.json`,
    );
  }
  const arn = lookup.service.taskDefinition ?? null;
  const current = arn ? await describeTaskDefinition(client, arn) : null;
  const release = input.release ?? releaseOf(current?.taskDefinition, container);
  if (!release) {
    throw new InputError(
      `The running task definition ${arn ?? "(none)"} has no SENTRY_RELEASE on container "${container}", so there is no release to verify.`,
      [],
      "pass --release VERSION, or deploy with Shipyard (it sets SENTRY_RELEASE)",
    );
  }
  const previousArn = current?.tags[TAG.previous] ?? lookup.tags[TAG.previous] ?? null;
  let previousRelease: string | null = input.previousRelease === undefined ? null : input.previousRelease;
  if (input.previousRelease === undefined && previousArn) {
    const previous = await describeTaskDefinition(client, previousArn);
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

/**
 * The baseline the flags ask for: a release, null (none), or undefined (read it from ECS). Both faces
 * pass the flags as given and call this before reading anything, so the rule lives in one place.
 */
export function baselineChoice(
  flags: Pick<VerifyInput, "previousRelease" | "noBaseline">,
): string | null | undefined {
  if (!flags.noBaseline) return flags.previousRelease;
  if (typeof flags.previousRelease === "string") {
    throw new InputError(
      "--previous-release and --no-baseline contradict each other.",
      [],
      "pass one of them",
    );
  }
  return null;
}

export async function verify(given: VerifyInput, deps: VerifyDeps): Promise<Report> {
  const input = { ...given, previousRelease: baselineChoice(given) };
  const startedAt = deps.clock.now();
  const prepared = prepare(input, deps);
  const { environment } = prepared;
  if (input.sinceSeconds !== undefined && !(Number.isInteger(input.sinceSeconds) && input.sinceSeconds > 0)) {
    throw new InputError(`--since must be a whole number of seconds above 0, got ${input.sinceSeconds}.`);
  }
  const releases: Releases =
    input.release !== undefined && input.previousRelease !== undefined
      ? {
          release: input.release,
          previousRelease: input.previousRelease,
          taskDefinition: null,
          previousTaskDefinition: null,
          image: null,
        }
      : await releasesFromEcs(
          input,
          prepared.ecs,
          environment.container,
          environment.cluster,
          environment.service,
        );
  deps.progress.info(
    `Verifying release ${releases.release} in ${input.environmentName}` +
      (releases.previousRelease ? ` against ${releases.previousRelease}.` : " (no previous release known)."),
  );

  const verification: Record<string, unknown> = {};
  const problems: string[] = [];
  let inconclusive: string | null = null;

  if (environment.healthCheck) {
    const smoke = await runSmokeTest({
      settings: environment.healthCheck,
      release: releases.release,
      clock: deps.clock,
      random: deps.random,
      progress: deps.progress,
      signal: deps.signal,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.requestSignal ? { requestSignal: deps.requestSignal } : {}),
    });
    verification.smoke = {
      passed: smoke.passed,
      url: environment.healthCheck.url,
      summary: smoke.summary,
      checks: smoke.checks,
      failures: smoke.failures,
    };
    if (!smoke.passed) problems.push(`smoke test failed: ${smoke.summary}`);
  } else {
    verification.smoke = { skipped: true };
  }

  const now = deps.clock.now();
  const since = (input.sinceSeconds ?? environment.verify.baselineSeconds) * 1000;
  // One-shot: a single cumulative reading decides (no window to wait for a second breach).
  const settings = input.watch
    ? environment.verify
    : { ...environment.verify, windowSeconds: 0, consecutiveBreaches: 1 };
  const gate = await runGate(
    {
      environment: { ...environment, verify: settings },
      environmentName: input.environmentName,
      release: releases.release,
      previousRelease: releases.previousRelease,
      env: deps.env,
      clock: deps.clock,
      progress: deps.progress,
      signal: deps.signal,
      releaseSince: now - since,
      // The previous release's sessions: anywhere in the range before now (it may still have run then).
      baselineUntil: now,
    },
    deps,
  );
  Object.assign(verification, gate.report);
  if (gate.status === "failed") problems.push(`error-rate gate failed: ${gate.reason}`);
  if (gate.status === "inconclusive") inconclusive = `error-rate gate was inconclusive: ${gate.reason}`;

  const ok = problems.length === 0 && inconclusive === null;
  const reason = [...problems, ...(inconclusive ? [inconclusive] : [])].join("; ");
  const report: Report = {
    command: "verify",
    outcome: ok ? "succeeded" : "failed",
    exitCode: ok ? ExitCode.Success : ExitCode.NeedsAttention,
    environment: input.environmentName,
    cluster: environment.cluster,
    service: environment.service,
    image: releases.image,
    release: releases.release,
    taskDefinition: releases.taskDefinition,
    previousTaskDefinition: releases.previousTaskDefinition,
    timings: {
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(deps.clock.now()).toISOString(),
      totalSeconds: Math.round((deps.clock.now() - startedAt) / 1000),
      phases: [],
    },
    verification,
  };
  if (!ok) {
    report.reason = reason;
    report.nextSteps =
      problems.length > 0
        ? [
            `npx shipyard rollback --env ${input.environmentName}`,
            `npx shipyard status --env ${input.environmentName}`,
          ]
        : [`fix what the reason names, then run: npx shipyard verify --env ${input.environmentName}`];
  }
  return report;
}

/** Entry point for the CLI and the Dagger function (lazy: the gate loads only when called). */
export async function runVerify(input: VerifyInput, deps: VerifyDeps): Promise<Report> {
  return verify(input, deps);
}
