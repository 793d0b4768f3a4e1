/**
 * `deploy`: take a service from the revision it runs to a new image, and back when the release is bad.
 *
 *   render the task definition (no AWS call) → preflight (service ACTIVE, ECS-controlled, nothing in
 *   flight, `requires` met) → register the new revision → beforeUpdate steps (Sentry preflight,
 *   migrations) → UpdateService and wait on OUR deployment → afterRollout steps (smoke test, Sentry
 *   bookkeeping, error-rate gate) → record last-good → report.
 *
 * On failure the previous revision is restored and the deploy exits 1; when that cannot be
 * confirmed, exit 3 with the exact commands to run. Nothing is ever deregistered.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { type Ecs, shortArn } from "../aws/ecs.js";
import { releaseOf } from "../config/taskdef.js";
import { recordDeploy } from "../deploy/history.js";
import { describeClaim, ticketOf } from "../deploy/lock.js";
import { checkServiceDeployable, deploymentInFlight } from "../deploy/preflight.js";
import { checkRequirement } from "../deploy/requires.js";
import { restoreRevision } from "../deploy/restore.js";
import { defaultRelease, recordLastGood, registerRevision } from "../deploy/revisions.js";
import { rollOut } from "../deploy/rollout.js";
import { afterRollback, type DeployStep, runSteps, type StepContext } from "../deploy/steps.js";
import { EventLog } from "../deploy/wait.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { type Announcer, announced } from "./announce.js";
import type { EnvironmentContext } from "./context.js";
import { deploySteps } from "./deploy-steps.js";
import { diagnoseRelease } from "./diagnose.js";
import { forceOption, serviceLock } from "./lock.js";
import { restoreCommands } from "./next-steps.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  ...environmentOptions,
  image: {
    type: "string",
    value: "REPO@sha256:DIGEST",
    help: "the image by digest, as `publish` printed it (never a tag)",
  },
  release: {
    type: "string",
    value: "NAME",
    help: "release name (SENTRY_RELEASE, /version); default: the commit, else the digest",
  },
  commit: { type: "string", value: "SHA", help: "commit tagged on the new revision; default: $GITHUB_SHA" },
  ...forceOption,
  skipRequires: {
    type: "boolean",
    help: "deploy even if the `requires` environment cannot be confirmed to run this image verified (e.g. another AWS account); reported as a warning",
  },
} as const;

type DeployOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: "deploy",
  description:
    "Registers a new task definition revision with the image, lints and runs the migrations (if configured), updates the ECS service, waits on that deployment, verifies the release, and rolls back to the previous revision when anything fails.",
  config: "environment",
  options,
  examples: [
    "shipyard deploy --env staging --image ghcr.io/acme/shipyard-example@sha256:3f1c9a7e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f --json",
  ],
  run: (ctx, options) => announced(ctx, (announcer) => deploy(ctx, options, announcer)),
});

async function deploy(
  ctx: EnvironmentContext,
  options: DeployOptions,
  announcer: Announcer,
): Promise<Report> {
  const { report, output: progress, environment, service: ref } = ctx;
  const commit = options.commit ?? ctx.runtime.env.GITHUB_SHA;
  const image = options.image ?? (await publish(ctx, options.release ?? commit));
  const release = options.release ?? defaultRelease(image, commit);
  const definition = await ctx.renderTaskDefinition(image, release);
  await announcer.started({ image, release, commit });
  report.set({ image, release }).section("details", { strategy: environment.deployment.strategy });
  const ecs = await ctx.ecs();
  progress.info(
    `Deploying ${image} (release ${release}) to ${ctx.environmentName}: ${ref.cluster}/${ref.service}`,
  );

  // 1. Look before touching anything.
  const preflight = await report.phase("preflight", async () => {
    const checked = await checkServiceDeployable(ecs, ref, {
      region: environment.region,
      environmentName: ctx.environmentName,
      statusCommand: ctx.command("status"),
    });
    if (!checked.ok) return checked;
    const requirement = await checkRequirements(ctx, image, options.skipRequires);
    if (requirement) return requirement;
    const running = await ecs.describeTaskDefinition(checked.service.taskDefinition!);
    return { ...checked, previousRelease: releaseOf(running.taskDefinition, environment.container) };
  });
  if (!preflight.ok) return report.refused(preflight.problem, preflight.nextSteps);
  const previous = preflight.service.taskDefinition!;
  const events = new EventLog(ctx.runtime.clock, progress);
  events.markSeen(preflight.service);
  report.set({ previousTaskDefinition: previous, events: events.seen });
  progress.info(`Current revision ${shortArn(previous)}; a rollback returns to it.`);

  // 2. Before anything is written: the read-only steps (Sentry preflight, migration lint).
  const steps = ctx.runtime.deploySteps ?? deploySteps(ctx);
  const ran: DeployStep[] = [];
  const known = { image, release, previous, previousRelease: preflight.previousRelease };
  const checks = await report.phase("checks", () =>
    runSteps(steps.beforeRegister ?? [], stepContext(ctx, ecs, { ...known, next: "" }), report, ran),
  );
  if (checks.status !== "passed") return notChanged(ctx, checks);

  // 3. One deploy of a service at a time: announce, take a ticket (the new revision), claim.
  const lock = serviceLock(ctx, ecs, preflight.service.serviceArn ?? "", commit, options.force);
  try {
    await lock.announce();
    const registered = await report
      .phase("register", () =>
        registerRevision(ecs, {
          definition,
          environmentName: ctx.environmentName,
          release,
          commit,
          previousArn: previous,
        }),
      )
      .catch((error: unknown) => registerRefused(ctx, error));
    if ("outcome" in registered) return registered;
    const next = registered.taskDefinitionArn!;
    report.set({ taskDefinition: next });
    progress.info(`Registered ${shortArn(next)}.`);
    const claim = await report
      .phase("lock", () => lock.claim(ticketOf(next)))
      .catch((error: unknown) => {
        if (ctx.runtime.signal.aborted) return null;
        throw error;
      });
    if (claim === null) return interruptedBeforeUpdate(ctx);
    if (!claim.held) {
      return report.refused(
        `${ctx.service.service} is held by ${describeClaim(claim.holder)}, which goes first (${claim.why}); ${shortArn(next)} was registered but the service was not changed`,
        [
          ctx.command("status"),
          `${ctx.command("deploy", { image, force: true })}   # only if that run is dead`,
        ],
      );
    }
    for (const broken of claim.broken) report.warn(`--force removed the claim of ${describeClaim(broken)}`);
    const done = await rollOutAndVerify(ctx, ecs, { ...known, next, steps, ran, events });
    return await recordDeploy(ecs, next, done, ctx.runtime.env, progress);
  } finally {
    await lock.release();
  }
}

interface Release {
  image: string;
  release: string;
  previous: string;
  previousRelease: string | null;
  next: string;
  steps: ReturnType<typeof deploySteps>;
  ran: DeployStep[];
  events: EventLog;
}

/** Holding the service: migrate, roll out, verify, and record — or restore. */
async function rollOutAndVerify(ctx: EnvironmentContext, ecs: Ecs, held: Release): Promise<Report> {
  const { report, output: progress, environment, service: ref } = ctx;
  const { image, previous, next, steps, ran, events } = held;
  // Someone outside Shipyard may have started a deployment while we took the lock, or another run
  // finished one: what the preflight saw is no longer what a failure would restore.
  const now = await ecs.describeService(ref);
  const inFlight = now.found ? deploymentInFlight(now.service) : null;
  if (inFlight)
    return report.refused(`another deployment started meanwhile (${inFlight})`, [ctx.command("status")]);
  if (now.found && now.service.taskDefinition !== previous) {
    return report.refused(
      `the service changed while this deploy was starting: it runs ${shortArn(now.service.taskDefinition)} now, not ${shortArn(previous)}; ${shortArn(next)} was registered but the service was not changed`,
      [ctx.command("status"), ctx.command("deploy", { image })],
    );
  }

  // 4. Before the service changes: the migrations, from the new revision.
  const step = stepContext(ctx, ecs, held);
  const before = await report.phase("beforeUpdate", () => runSteps(steps.beforeUpdate, step, report, ran));
  if (before.status !== "passed") {
    if (!before.badInput) await diagnoseRelease(ctx, ecs, { failed: before.step, revision: next });
    return notChanged(ctx, before);
  }
  if (ctx.runtime.signal.aborted) return interruptedBeforeUpdate(ctx);

  // 5. Roll out, and wait on our deployment.
  const settings = environment.deployment;
  events.startCounting();
  const rollout = await report.phase("rollout", () =>
    rollOut({
      ecs,
      ref,
      clock: ctx.runtime.clock,
      progress,
      signal: ctx.runtime.signal,
      settings,
      events,
      taskDefinitionArn: next,
    }),
  );
  const restore = (reason: string, service: Service | null, inFlightSince: number | null) =>
    restorePrevious(ctx, ecs, { reason, service, inFlightSince, previous, next, events, ran, step });
  switch (rollout.status) {
    case "not-updated":
      return report.finish("failed", rollout.settingsRefused ? ExitCode.BadInput : ExitCode.RolledBack, {
        reason: rollout.reason,
        nextSteps: rollout.settingsRefused
          ? [`fix environments.${ctx.environmentName}.deployment in shipyard.json, then deploy again`]
          : [ctx.command("deploy", { image })],
      });
    case "unknown":
      return needsAttention(ctx, rollout.reason, previous);
    case "failed":
      report.check("ecs", "failed");
      await diagnoseRelease(ctx, ecs, { failed: "rollout", revision: next, service: rollout.service });
      return restore(rollout.reason, rollout.service, rollout.inFlight ? rollout.updatedAt : null);
    case "completed":
      report.check("ecs", "passed");
  }

  // 6. Verify the release that now runs.
  const after = await report.phase("afterRollout", () => runSteps(steps.afterRollout, step, report, ran));
  if (after.status === "failed") {
    // The service as the rollout last saw it names our deployment and its target groups.
    await diagnoseRelease(ctx, ecs, { failed: after.step, revision: next, service: rollout.service });
    return restore(`${after.step} failed: ${after.reason}`, null, null);
  }
  if (after.status === "inconclusive") {
    const reason = `${after.step} was inconclusive: ${after.reason}`;
    switch (environment.verify.onInconclusive) {
      case "rollback":
        return restore(reason, null, null);
      case "fail":
        return needsAttention(
          ctx,
          `${reason}; the new revision stays (verify.onInconclusive = "fail")`,
          previous,
        );
      case "accept":
        progress.warn(`${reason}; accepted because verify.onInconclusive = "accept".`);
        report.warn(`${reason} (accepted)`);
    }
  }

  // 7. It is live and verified: it is what a rollback returns to from now on.
  await report.phase("record", async () => {
    const warning = await recordLastGood(ecs, await serviceArn(ecs, ctx), next, previous, progress);
    if (warning) report.warn(warning);
  });
  progress.info(`Deployed ${shortArn(next)}: ${held.release} is live on ${ctx.environmentName}.`);
  return report.succeeded();
}

async function publish(ctx: EnvironmentContext, release: string | undefined): Promise<string> {
  if (!ctx.runtime.publishImage) {
    throw new InputError(
      "--image REPO@sha256:DIGEST is required.",
      [],
      "pass the digest reference that publish printed",
    );
  }
  return ctx.runtime.publishImage(ctx.config.image, release ?? "");
}

async function checkRequirements(ctx: EnvironmentContext, image: string, skip: boolean) {
  const requirement = await checkRequirement({
    config: ctx.config,
    environmentName: ctx.environmentName,
    image,
    ecsFor: ctx.ecsFor,
    deployCommand: (env) => ctx.command("deploy", { env, image }),
  });
  if (requirement?.ok === false) {
    if (!skip) return { ok: false as const, problem: requirement.problem, nextSteps: requirement.nextSteps };
    ctx.output.warn(`${requirement.problem}; deploying anyway (--skip-requires).`);
    ctx.report.warn(`requirement skipped: ${requirement.problem}`);
  } else if (requirement?.ok) {
    ctx.output.info(`Requirement met: ${requirement.evidence}.`);
  }
  return null;
}

/** Ctrl-C (or SIGTERM/SIGHUP) before UpdateService: stop, the service as it was. */
function interruptedBeforeUpdate(ctx: EnvironmentContext): Report {
  return ctx.report.finish("failed", ExitCode.RolledBack, {
    reason: "interrupted before UpdateService; the service was not changed",
    nextSteps: [ctx.command("status")],
  });
}

/** A step before UpdateService did not pass: nothing about the service changed. */
function notChanged(
  ctx: EnvironmentContext,
  outcome: { step: string; status: string; reason: string; badInput: boolean },
): Report {
  return ctx.report.finish("failed", outcome.badInput ? ExitCode.BadInput : ExitCode.RolledBack, {
    reason: `${outcome.step} ${outcome.status}: ${outcome.reason}; the service was not changed`,
    nextSteps: [ctx.command("status")],
  });
}

/** ECS refusing the template (ClientException) is a template problem: exit 2. */
function registerRefused(ctx: EnvironmentContext, error: unknown): Report {
  const name = error instanceof Error ? error.name : "Error";
  const refused = name === "ClientException" || name === "InvalidParameterException";
  return ctx.report.finish("failed", refused ? ExitCode.BadInput : ExitCode.RolledBack, {
    reason: `ECS did not register the task definition (${name}: ${(error as Error).message}); the service was not changed`,
    nextSteps: refused ? [ctx.command("plan")] : [ctx.command("status")],
  });
}

function stepContext(
  ctx: EnvironmentContext,
  ecs: Ecs,
  release: Pick<Release, "image" | "release" | "next" | "previous" | "previousRelease">,
): StepContext {
  const { runtime } = ctx;
  return {
    environmentName: ctx.environmentName,
    environment: ctx.environment,
    config: ctx.config,
    image: release.image,
    release: release.release,
    taskDefinitionArn: release.next,
    previousTaskDefinitionArn: release.previous,
    previousRelease: release.previousRelease,
    ecs,
    clock: runtime.clock,
    random: runtime.random,
    progress: ctx.output,
    signal: runtime.signal,
    appRoot: ctx.appRoot,
    env: runtime.env,
  };
}

interface Restore {
  reason: string;
  /** The service as last seen, when the rollout failed. */
  service: Service | null;
  /** When our deployment may still be in flight: since when (for StopServiceDeployment). */
  inFlightSince: number | null;
  previous: string;
  next: string;
  events: EventLog;
  ran: DeployStep[];
  step: StepContext;
}

/** Puts the previous revision back and confirms it: exit 1, or 3 when it cannot be confirmed. */
async function restorePrevious(ctx: EnvironmentContext, ecs: Ecs, restore: Restore): Promise<Report> {
  const { report, output: progress, runtime } = ctx;
  const { reason, previous } = restore;
  if (runtime.signal.aborted) {
    // A person pressed Ctrl-C: do not start changing the service on their way out.
    return needsAttention(ctx, `${reason}; interrupted, so the previous revision was NOT restored`, previous);
  }
  progress.warn(`${reason}. Restoring ${shortArn(previous)}.`);
  const current = restore.service?.taskDefinition;
  if (current && current !== restore.next && current !== previous) {
    return needsAttention(
      ctx,
      `${reason}; the service now runs ${shortArn(current)}, which Shipyard did not deploy, so it was left alone`,
      previous,
    );
  }
  const inFlightArn =
    restore.inFlightSince === null
      ? null
      : await ecs.findServiceDeployment(ctx.service, restore.inFlightSince).catch(() => null);
  const result = await report.phase("restore", () =>
    restoreRevision({
      ecs,
      ref: ctx.service,
      clock: runtime.clock,
      progress,
      signal: runtime.signal,
      settings: ctx.environment.deployment,
      events: restore.events,
      taskDefinitionArn: previous,
      inFlightServiceDeploymentArn: inFlightArn,
    }),
  );
  report.section("details", { restoredWith: result.how });
  if (!result.confirmed) {
    return needsAttention(
      ctx,
      `${reason}; restoring ${shortArn(previous)} was not confirmed (${result.reason})`,
      previous,
    );
  }
  progress.info(`Back on ${shortArn(previous)} (${result.how}, ${result.seconds}s).`);
  await afterRollback(restore.ran, restore.step, reason);
  return report.finish("rolled_back", ExitCode.RolledBack, {
    reason: `${reason}; the service is back on ${shortArn(previous)}`,
    nextSteps: [ctx.command("status")],
  });
}

function needsAttention(ctx: EnvironmentContext, reason: string, previous: string): Report {
  return ctx.report.finish("failed", ExitCode.NeedsAttention, {
    reason,
    nextSteps: [ctx.command("status"), ...restoreCommands(ctx, previous)],
  });
}

async function serviceArn(ecs: Ecs, ctx: EnvironmentContext): Promise<string | undefined> {
  const lookup = await ecs.describeService(ctx.service).catch(() => null);
  return lookup?.found ? lookup.service.serviceArn : undefined;
}
