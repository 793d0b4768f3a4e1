/**
 * `deploy`: take an environment's services from the revisions they run to a new image, and back when
 * the release is bad.
 *
 *   render every task definition (no AWS call) → preflight (each service ACTIVE, ECS-controlled,
 *   nothing in flight; each scheduled task's target readable; `requires` met) → read-only checks →
 *   lock the environment, register the new revisions → migrations (once) → UpdateService for every
 *   service at once, each waited on its OWN deployment; scheduled tasks moved → verification (smoke
 *   test, Sentry bookkeeping, error-rate gate) → record last-good → report.
 *
 * When anything fails, every service and scheduled task that moved is put back, all at once, and the
 * deploy exits 1; when any of that cannot be confirmed, exit 3 with the exact commands for each.
 * Nothing is ever deregistered. A one-service environment is the set of one (src/commands/release-set.ts).
 */
import type { Service } from "@aws-sdk/client-ecs";
import { type Ecs, shortArn } from "../aws/ecs.js";
import { releaseOf } from "../config/taskdef.js";
import { recordDeploy } from "../deploy/history.js";
import { describeClaim, ticketOf } from "../deploy/lock.js";
import { deploymentInFlight } from "../deploy/preflight.js";
import { checkRequirement } from "../deploy/requires.js";
import { defaultRelease, recordLastGood } from "../deploy/revisions.js";
import { type RolloutResult, rollOutAll } from "../deploy/rollout.js";
import { afterRollback, type DeployStep, runSteps, type StepContext } from "../deploy/steps.js";
import { EventLog } from "../deploy/wait.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report, ServiceRow } from "../report/report.js";
import { type Announcer, announced } from "./announce.js";
import type { EnvironmentContext } from "./context.js";
import { deploySteps } from "./deploy-steps.js";
import { diagnoseRelease } from "./diagnose.js";
import { forceOption, serviceLock } from "./lock.js";
import { restoreCommands, retargetCommands } from "./next-steps.js";
import {
  type MovedService,
  preflightSet,
  type ReleaseSet,
  registerSet,
  renderSet,
  restoreSet,
  retargetScheduled,
  type ScheduledMember,
  type ServiceMember,
  serviceChange,
} from "./release-set.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";
import { coversSeveralUnits, unitRow } from "./units.js";

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
  const { report, output: progress, environment } = ctx;
  const commit = options.commit ?? ctx.runtime.env.GITHUB_SHA;
  const image = options.image ?? (await publish(ctx, options.release ?? commit));
  const release = options.release ?? defaultRelease(image, commit);
  const rendered = await renderSet(ctx, image, release);
  await announcer.started({ image, release, commit });
  report.set({ image, release }).section("details", { strategy: environment.deployment.strategy });
  const ecs = await ctx.ecs();
  progress.info(`Deploying ${image} (release ${release}) to ${ctx.environmentName}: ${membersOf(ctx)}`);

  // 1. Look before touching anything: every service, every scheduled task, the `requires` environment.
  const preflight = await report.phase("preflight", async () => {
    const checked = await preflightSet(ctx, ecs, rendered);
    if (!checked.ok) return checked;
    const requirement = await checkRequirements(ctx, image, options.skipRequires);
    if (requirement) return requirement;
    const running = await ecs.describeTaskDefinition(checked.set.primary.previous);
    return { ...checked, previousRelease: releaseOf(running.taskDefinition, environment.container) };
  });
  if (!preflight.ok) return report.refused(preflight.problem, preflight.nextSteps);
  const { set } = preflight;
  const previous = set.primary.previous;
  const events = new EventLog(ctx.runtime.clock, progress);
  for (const member of set.services) events.markSeen(member.service);
  report.set({ previousTaskDefinition: previous, events: events.seen });
  progress.info(`Current revision ${describeRevisions(set, "previous")}; a rollback returns to it.`);

  // 2. Before anything is written: the read-only steps (Sentry preflight, migration lint).
  const steps = ctx.runtime.deploySteps ?? deploySteps(ctx);
  const ran: DeployStep[] = [];
  const known = { image, release, previous, previousRelease: preflight.previousRelease };
  const checks = await report.phase("checks", () =>
    runSteps(steps.beforeRegister ?? [], stepContext(ctx, ecs, { ...known, next: "" }), report, ran),
  );
  if (checks.status !== "passed") return notChanged(ctx, checks);

  // 3. One deploy of an environment at a time (the lock lives on the primary service): announce,
  //    register the new revisions, claim with the primary's as the ticket.
  const lock = serviceLock(ctx, ecs, set.primary.service.serviceArn ?? "", commit, options.force);
  try {
    await lock.announce();
    const registered = await report
      .phase("register", async () => {
        await registerSet(ctx, ecs, set, { release, commit });
        return null;
      })
      .catch((error: unknown) => registerRefused(ctx, error));
    if (registered !== null) return registered;
    const next = set.primary.next;
    report.set({ taskDefinition: next });
    progress.info(`Registered ${describeRevisions(set, "next")}.`);
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
    const done = await rollOutAndVerify(ctx, ecs, { ...known, next, set, steps, ran, events });
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
  set: ReleaseSet;
  steps: ReturnType<typeof deploySteps>;
  ran: DeployStep[];
  events: EventLog;
}

/** Holding the environment: migrate, roll every member out, verify, and record — or restore. */
async function rollOutAndVerify(ctx: EnvironmentContext, ecs: Ecs, held: Release): Promise<Report> {
  const { report, output: progress, environment } = ctx;
  const { image, set, steps, ran, events } = held;
  // Someone outside Shipyard may have started a deployment while we took the lock, or another run
  // finished one: what the preflight saw is no longer what a failure would restore.
  const changed = await changedMeanwhile(ctx, ecs, set);
  if (changed) return report.refused(changed, [ctx.command("status"), ctx.command("deploy", { image })]);

  // 4. Before any service changes: the migrations, once, from the primary's new revision.
  const step = stepContext(ctx, ecs, held);
  const before = await report.phase("beforeUpdate", () => runSteps(steps.beforeUpdate, step, report, ran));
  if (before.status !== "passed") {
    if (!before.badInput) await diagnoseRelease(ctx, ecs, { failed: before.step, revision: held.next });
    return notChanged(ctx, before);
  }
  if (ctx.runtime.signal.aborted) return interruptedBeforeUpdate(ctx);

  // 5. Roll every service out at once, each waited on its own deployment; move the scheduled tasks.
  events.startCounting();
  const retargeted: ScheduledMember[] = [];
  const [rollouts, retargetFailure] = await report.phase("rollout", () =>
    Promise.all([
      rollOutAll(
        set.services.map((member) => serviceChange(ctx, ecs, member.ref, member.next, events)),
        { stopOnFirstFailure: true },
      ),
      set.scheduled.length === 0
        ? null
        : ctx.schedules().then((schedules) => retargetScheduled(schedules, set.scheduled, retargeted)),
    ]),
  );
  const results = set.services.map((member, i) => ({ member, rollout: rollouts[i]! }));
  const failure = await rolloutFailure(ctx, ecs, image, results, retargetFailure);
  if (failure?.kind === "nothing-changed") return failure.report;
  // Nothing moved that could be put back: a person looks at what is unknown.
  if (failure && failure.moved.length === 0 && retargeted.length === 0)
    return needsAttention(ctx, failure.reason, failure.unknown, []);
  if (failure) return restoreAll(ctx, ecs, held, { ...failure, scheduled: retargeted });
  report.check("ecs", "passed");
  for (const { member, rollout } of results) {
    if (rollout.status === "completed")
      rowOf(ctx, member, { rollout: "completed", seconds: rollout.seconds });
  }

  // 6. Verify the release that now runs (once, for the whole environment).
  const restoreEverything = (reason: string) =>
    restoreAll(ctx, ecs, held, {
      reason,
      moved: results.map(({ member, rollout }) => ({
        member,
        service: serviceSeen(rollout),
        inFlightSince: null,
      })),
      unknown: [],
      scheduled: retargeted,
    });
  const after = await report.phase("afterRollout", () => runSteps(steps.afterRollout, step, report, ran));
  if (after.status === "failed") {
    // The service as the rollout last saw it names our deployment and its target groups.
    const primary = results.find((r) => r.member === set.primary)!;
    await diagnoseRelease(ctx, ecs, {
      failed: after.step,
      revision: held.next,
      service: serviceSeen(primary.rollout),
    });
    return restoreEverything(`${after.step} failed: ${after.reason}`);
  }
  if (after.status === "inconclusive") {
    const reason = `${after.step} was inconclusive: ${after.reason}`;
    switch (environment.verify.onInconclusive) {
      case "rollback":
        return restoreEverything(reason);
      case "fail":
        return needsAttention(
          ctx,
          `${reason}; the new revision stays (verify.onInconclusive = "fail")`,
          set.services.map((member) => ({ member, to: member.previous })),
          set.scheduled,
        );
      case "accept":
        progress.warn(`${reason}; accepted because verify.onInconclusive = "accept".`);
        report.warn(`${reason} (accepted)`);
    }
  }

  // 7. It is live and verified: it is what a rollback returns to from now on, for every service.
  await report.phase("record", async () => {
    for (const member of set.services) {
      const warning = await recordLastGood(
        ecs,
        member.service.serviceArn,
        member.next,
        member.previous,
        progress,
      );
      if (warning) report.warn(several(ctx) ? `${member.settings.name}: ${warning}` : warning);
    }
  });
  for (const member of set.scheduled) {
    const row = {
      state: "deployed",
      taskDefinition: member.next,
      previousTaskDefinition: member.previous,
    } as const;
    if (several(ctx)) report.serviceRow(unitRow(member.settings, row));
  }
  progress.info(
    `Deployed ${describeRevisions(set, "next")}: ${held.release} is live on ${ctx.environmentName}.`,
  );
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

/** The service as a rollout result last saw it, or null. */
function serviceSeen(rollout: RolloutResult): Service | null {
  return "service" in rollout ? rollout.service : null;
}

type RolloutFailure =
  | { kind: "nothing-changed"; report: Report }
  | { kind: "failed"; reason: string; moved: MovedService[]; unknown: Unconfirmed[] };

/**
 * Reads the rollouts' results: null when every service completed (and every scheduled task moved);
 * else why the release failed, which services moved (to restore) and which are in an unknown state.
 */
async function rolloutFailure(
  ctx: EnvironmentContext,
  ecs: Ecs,
  image: string,
  results: Array<{ member: ServiceMember; rollout: RolloutResult }>,
  retargetFailure: string | null,
): Promise<RolloutFailure | null> {
  if (retargetFailure === null && results.every((r) => r.rollout.status === "completed")) return null;
  const updated = results.filter((r) => r.rollout.status !== "not-updated");
  const first = results.find((r) => r.rollout.status === "not-updated")?.rollout;
  if (updated.length === 0 && retargetFailure === null && first?.status === "not-updated") {
    return {
      kind: "nothing-changed",
      report: ctx.report.finish("failed", first.settingsRefused ? ExitCode.BadInput : ExitCode.RolledBack, {
        reason: first.reason,
        nextSteps: first.settingsRefused
          ? [`fix environments.${ctx.environmentName}.deployment in shipyard.json, then deploy again`]
          : [ctx.command("deploy", { image })],
      }),
    };
  }
  const name = (member: ServiceMember) => (several(ctx) ? `${member.settings.name}: ` : "");
  const reasons: string[] = [];
  const moved: MovedService[] = [];
  const unknown: Unconfirmed[] = [];
  for (const { member, rollout } of results) {
    switch (rollout.status) {
      case "completed":
        moved.push({ member, service: rollout.service, inFlightSince: null });
        rowOf(ctx, member, { rollout: "completed", seconds: rollout.seconds });
        break;
      case "stopped":
        moved.push({ member, service: rollout.service, inFlightSince: rollout.updatedAt });
        rowOf(ctx, member, { rollout: "stopped", reason: rollout.reason });
        break;
      case "failed":
        reasons.push(`${name(member)}${rollout.reason}`);
        ctx.report.check("ecs", "failed");
        await diagnoseRelease(ctx, ecs, {
          failed: "rollout",
          revision: member.next,
          service: rollout.service,
        });
        moved.push({
          member,
          service: rollout.service,
          inFlightSince: rollout.inFlight ? rollout.updatedAt : null,
        });
        rowOf(ctx, member, { rollout: "failed", reason: rollout.reason });
        break;
      case "not-updated":
        reasons.push(`${name(member)}${rollout.reason}`);
        rowOf(ctx, member, { rollout: "not-updated", state: "unchanged", reason: rollout.reason });
        break;
      case "unknown":
        reasons.push(`${name(member)}${rollout.reason}`);
        unknown.push({ member, to: member.previous, why: rollout.reason });
        rowOf(ctx, member, { rollout: "unknown", reason: rollout.reason });
    }
  }
  if (retargetFailure !== null) reasons.push(retargetFailure);
  return { kind: "failed", reason: reasons.join("; "), moved, unknown };
}

/** Sets fields of a service's report row (several services only: one service has the report itself). */
function rowOf(ctx: EnvironmentContext, member: ServiceMember, fields: Partial<ServiceRow>): void {
  if (!several(ctx)) return;
  const base = unitRow(member.settings, {
    state: "deployed",
    taskDefinition: member.next,
    previousTaskDefinition: member.previous,
  });
  ctx.report.serviceRow({ ...base, ...fields });
}

/** A member a person must put back: the service, and the revision it should run. */
interface Unconfirmed {
  member: ServiceMember;
  to: string;
  /** What went wrong with it (absent: it was not touched). */
  why?: string;
}

interface Failure {
  reason: string;
  moved: MovedService[];
  /** Services whose state is unknown: not touched, a person looks. */
  unknown: Unconfirmed[];
  /** Scheduled tasks whose targets were moved. */
  scheduled: ScheduledMember[];
}

/**
 * Puts every member that moved back on its previous revision, all at once, and confirms it: exit 1,
 * or 3 (with the commands for each member that needs a person) when any of it cannot be confirmed.
 */
async function restoreAll(
  ctx: EnvironmentContext,
  ecs: Ecs,
  held: Release,
  failure: Failure,
): Promise<Report> {
  const { report, output: progress, runtime } = ctx;
  const { reason } = failure;
  const everyone = [
    ...failure.moved.map(({ member }) => ({ member, to: member.previous })),
    ...failure.unknown,
  ];
  if (runtime.signal.aborted) {
    // A person pressed Ctrl-C: do not start changing the services on their way out.
    const what = several(ctx) ? "nothing was restored" : "the previous revision was NOT restored";
    return needsAttention(ctx, `${reason}; interrupted, so ${what}`, everyone, failure.scheduled);
  }
  progress.warn(`${reason}. Restoring ${restoreTargets(ctx, failure)}.`);
  const problems: string[] = [];
  const unconfirmed: Unconfirmed[] = [...failure.unknown];
  // A service that now runs a revision we did not deploy is someone else's: leave it alone.
  const restorable = failure.moved.filter(({ member, service }) => {
    const current = service?.taskDefinition;
    if (!current || current === member.next || current === member.previous) return true;
    const who = several(ctx) ? member.settings.name : "the service";
    problems.push(
      `${who} now runs ${shortArn(current)}, which Shipyard did not deploy, so it was left alone`,
    );
    unconfirmed.push({ member, to: member.previous });
    return false;
  });
  const restored = await report.phase("restore", () =>
    restoreSet(ctx, ecs, { services: restorable, scheduled: failure.scheduled }, held.events),
  );
  for (const { member, result } of restored.services) {
    if (!several(ctx)) report.section("details", { restoredWith: result.how });
    if (result.confirmed) {
      progress.info(
        `${several(ctx) ? `${member.settings.name}: back` : "Back"} on ${shortArn(member.previous)} (${result.how}, ${result.seconds}s).`,
      );
      rowOf(ctx, member, { state: "restored", taskDefinition: member.previous, detail: result.how });
      continue;
    }
    const what = several(ctx)
      ? `${member.settings.name} to ${shortArn(member.previous)}`
      : shortArn(member.previous);
    problems.push(`restoring ${what} was not confirmed (${result.reason})`);
    unconfirmed.push({ member, to: member.previous, why: result.reason });
  }
  const unmoved: ScheduledMember[] = [];
  for (const { member, confirmed, reason: why } of restored.scheduled) {
    report.serviceRow(
      unitRow(member.settings, {
        state: confirmed ? "restored" : "not-restored",
        taskDefinition: confirmed ? member.previous : member.next,
        previousTaskDefinition: member.previous,
        reason: why ?? reason,
      }),
    );
    if (!confirmed) {
      problems.push(`moving ${member.name} back to ${shortArn(member.previous)} failed (${why})`);
      unmoved.push(member);
    }
  }
  if (problems.length > 0 || unconfirmed.length > 0) {
    return needsAttention(ctx, [reason, ...problems].join("; "), unconfirmed, unmoved);
  }
  await afterRollback(held.ran, stepContext(ctx, ecs, held), reason);
  const back = several(ctx)
    ? `every service and scheduled task that changed is back on its previous revision (${describeRevisions(held.set, "previous")})`
    : `the service is back on ${shortArn(held.previous)}`;
  return report.finish("rolled_back", ExitCode.RolledBack, {
    reason: `${reason}; ${back}`,
    nextSteps: [ctx.command("status")],
  });
}

function restoreTargets(ctx: EnvironmentContext, failure: Failure): string {
  if (!several(ctx)) return shortArn(failure.moved[0]?.member.previous);
  return [
    ...failure.moved.map(({ member }) => `${member.settings.name} → ${shortArn(member.previous)}`),
    ...failure.scheduled.map((member) => `${member.name} → ${shortArn(member.previous)}`),
  ].join(", ");
}

function needsAttention(
  ctx: EnvironmentContext,
  reason: string,
  services: Unconfirmed[],
  scheduled: ScheduledMember[],
): Report {
  for (const { member, to, why } of services) {
    rowOf(ctx, member, {
      state: "not-restored",
      ...(why ? { reason: why } : {}),
      nextSteps: restoreCommands(ctx, to, member.settings.name),
    });
  }
  for (const member of scheduled) {
    ctx.report.serviceRow({
      name: member.name,
      state: "not-restored",
      nextSteps: retargetCommands(ctx, member.settings, member.previous),
    });
  }
  return ctx.report.finish("failed", ExitCode.NeedsAttention, {
    reason,
    nextSteps: [
      ctx.command("status"),
      ...services.flatMap(({ member, to }) => restoreCommands(ctx, to, member.settings.name)),
      ...scheduled.flatMap((member) => retargetCommands(ctx, member.settings, member.previous)),
    ],
  });
}

/** A service changed between the preflight and the lock: the preflight's view is stale. */
async function changedMeanwhile(ctx: EnvironmentContext, ecs: Ecs, set: ReleaseSet): Promise<string | null> {
  const lookups = await ecs.describeServicesByName(
    ctx.environment.cluster,
    set.services.map((member) => member.settings.name),
  );
  for (const member of set.services) {
    const now = lookups.get(member.settings.name)!;
    const who = several(ctx) ? `${member.settings.name}: ` : "";
    const inFlight = now.found ? deploymentInFlight(now.service) : null;
    if (inFlight) return `${who}another deployment started meanwhile (${inFlight})`;
    if (now.found && now.service.taskDefinition !== member.previous) {
      return `${several(ctx) ? member.settings.name : "the service"} changed while this deploy was starting: it runs ${shortArn(now.service.taskDefinition)} now, not ${shortArn(member.previous)}; ${shortArn(member.next)} was registered but the service was not changed`;
    }
  }
  return null;
}

function several(ctx: EnvironmentContext): boolean {
  return coversSeveralUnits(ctx.environment);
}

/** "main/web" for one service; "main: web, worker and 1 scheduled task" for several. */
function membersOf(ctx: EnvironmentContext): string {
  const { cluster, services, scheduledTasks } = ctx.environment;
  if (!coversSeveralUnits(ctx.environment)) return `${cluster}/${ctx.environment.service}`;
  const names = services.map((s) => s.name).join(", ");
  const tasks = scheduledTasks.length === 0 ? "" : ` and ${scheduledTasks.length} scheduled task(s)`;
  return `${cluster}: ${names}${tasks}`;
}

/** "web:13" for one service; "web → web:13, worker → worker:7, rule nightly → web:13" for several. */
function describeRevisions(set: ReleaseSet, which: "previous" | "next"): string {
  if (set.services.length === 1 && set.scheduled.length === 0) return shortArn(set.primary[which]);
  return [
    ...set.services.map((m) => `${m.settings.name} → ${shortArn(m[which])}`),
    ...set.scheduled.map((m) => `${m.name} → ${shortArn(m[which])}`),
  ].join(", ");
}
