/**
 * `deploy`: the state machine that takes a service from its current revision to a new image, and
 * back when the release is bad.
 *
 *   validate (no AWS call) → preflight (service ACTIVE, nothing in flight) → record the previous task
 *   definition and PRIMARY deployment → register the new revision (tagged with release/commit) →
 *   beforeUpdate steps (migrations) → UpdateService → wait on OUR deployment → afterRollout steps
 *   (smoke test, error-rate gate) → record last-good on the service's tags → report.
 *
 * On failure: restore the recorded previous revision (StopServiceDeployment ROLLBACK while in flight,
 * else UpdateService), wait for it, exit 1; when that cannot be confirmed, exit 3 with the exact
 * commands to run. Nothing is ever deregistered.
 */
import type { ECSClient, Service } from "@aws-sdk/client-ecs";
import { BUNDLED_SOURCE, readBundledTemplate, releaseOf, renderTaskDefinition } from "../config/taskdef.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { type CommandDeps, type DeployInput, type Prepared, prepare } from "./commands.js";
import {
  awsErrorName,
  deploymentInFlight,
  describeService,
  describeTaskDefinition,
  findServiceDeployment,
  type ServiceRef,
  shortArn,
  TAG,
  tagService,
} from "./ecs.js";
import { checkRequirement } from "./requires.js";
import { restoreRevision } from "./restore.js";
import type { DeployStep, DeployStepContext, DeploySteps, StepVerdict } from "./steps.js";
import { type StrategyPlan, strategies } from "./strategies.js";
import { makeReport, type ReportBase, restoreCommands, statusCommand, Timeline } from "./timeline.js";
import { EventLog, waitForDeployment } from "./wait.js";

/** Default release name: the commit when known, else the image digest's first 12 hex digits. */
export function defaultRelease(image: string, commit?: string): string {
  if (commit) return commit;
  return /@sha256:([a-f0-9]{12})/.exec(image)?.[1] ?? image;
}

/** Tag values allow letters, digits, spaces and + - = . _ : / @ (max 256). */
function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{N}\s+\-=._:/@]/gu, "_").slice(0, 256);
}

export async function deploy(input: DeployInput, deps: CommandDeps): Promise<Report> {
  const timeline = new Timeline(deps.clock);
  const prepared = prepare(input, deps);
  const { config, environment } = prepared;
  const release = input.release ?? defaultRelease(input.image, input.commit);
  const source = input.taskDefinitionText === null ? BUNDLED_SOURCE : config.taskDefinition;
  const templateText = input.taskDefinitionText ?? (await readBundledTemplate());
  const rendered = renderTaskDefinition({
    templateText,
    source,
    environmentName: input.environmentName,
    environment,
    repository: config.image,
    image: input.image,
    release,
  });
  const run = new DeployRun(
    prepared,
    input,
    deps,
    timeline,
    await prepared.ecs(),
    release,
    {
      command: "deploy",
      environmentName: input.environmentName,
      environment,
    },
    source,
  );
  return run.execute(rendered, config);
}

type Rendered = ReturnType<typeof renderTaskDefinition>;
type Config = ReturnType<typeof prepare>["config"];

class DeployRun {
  private readonly ref: ServiceRef;
  private readonly strategy: StrategyPlan;
  private readonly events: EventLog;
  private readonly sections: { migration?: Record<string, unknown>; verification?: Record<string, unknown> } =
    {};
  private readonly stepResults: Array<{ name: string; status: string; note: string }> = [];
  private readonly ran: DeployStep[] = [];
  private previous = "";
  private skippedRequirement: string | null = null;
  private next: string | null = null;

  constructor(
    private readonly prepared: Prepared,
    private readonly input: DeployInput,
    private readonly deps: CommandDeps,
    private readonly timeline: Timeline,
    private readonly ecs: ECSClient,
    private readonly release: string,
    private readonly base: ReportBase,
    private readonly templateSource: string,
  ) {
    const env = base.environment;
    this.ref = { cluster: env.cluster, service: env.service };
    this.strategy = strategies[env.deployment.strategy];
    this.events = new EventLog(deps.clock, deps.progress);
  }

  private get env() {
    return this.base.environment;
  }

  private report(fields: Omit<Parameters<typeof makeReport>[2], "image" | "release">): Report {
    const details = {
      strategy: this.env.deployment.strategy,
      ...(this.skippedRequirement ? { requirementSkipped: this.skippedRequirement } : {}),
      ...(this.stepResults.length > 0 ? { steps: this.stepResults } : {}),
      ...fields.details,
    };
    return makeReport(this.base, this.timeline, {
      image: this.input.image,
      release: this.release,
      taskDefinition: this.next,
      previousTaskDefinition: this.previous || null,
      events: this.events.seen,
      ...this.sections,
      ...fields,
      details,
    });
  }

  async execute(rendered: Rendered, config: Config): Promise<Report> {
    const { progress } = this.deps;
    progress.info(
      `Deploying ${this.input.image} (release ${this.release}) to ${this.base.environmentName}: ${this.ref.cluster}/${this.ref.service}`,
    );
    const preflight = await this.timeline.phase("preflight", () =>
      this.preflight().catch((error: unknown) => ({
        refusal: this.report({
          outcome: "failed",
          exitCode: ExitCode.BadInput,
          reason: `ECS could not be read before the deploy (${awsErrorName(error)}: ${(error as Error).message}); nothing was changed`,
          nextSteps: [
            `check the AWS credentials and region (${this.env.region}), then: ${statusCommand(this.base.environmentName)}`,
          ],
        }),
      })),
    );
    if ("refusal" in preflight) return preflight.refusal;
    const { service, previousRelease } = preflight;
    this.events.markSeen(service);
    this.previous = service.taskDefinition!;
    const primaryId = service.deployments?.find((d) => d.status === "PRIMARY")?.id ?? "(none)";
    progress.info(
      `Current revision ${shortArn(this.previous)} (deployment ${primaryId}); a rollback returns to it.`,
    );

    const registered = await this.timeline.phase("register", () => this.register(rendered));
    if (typeof registered !== "string") return registered;
    this.next = registered;
    const ctx = this.stepContext(config, previousRelease);

    const before = await this.timeline.phase("beforeUpdate", () =>
      this.runSteps(this.steps().beforeUpdate, ctx),
    );
    if (before.status !== "passed") {
      return this.report({
        outcome: "failed",
        exitCode: before.badInput ? ExitCode.BadInput : ExitCode.RolledBack,
        reason: `${before.step} ${before.status}: ${before.reason}; the service was not changed`,
        nextSteps: [statusCommand(this.base.environmentName)],
      });
    }

    if (this.deps.signal.aborted) {
      return this.report({
        outcome: "failed",
        exitCode: ExitCode.RolledBack,
        reason: "interrupted before UpdateService; the service was not changed",
        nextSteps: [statusCommand(this.base.environmentName)],
      });
    }
    const updateStart = this.deps.clock.now();
    const update = await this.timeline.phase("update", () => this.updateService(registered));
    if ("report" in update) return update.report;

    const rollout = await this.timeline.phase("rollout", () =>
      waitForDeployment({
        ecs: this.ecs,
        ref: this.ref,
        clock: this.deps.clock,
        progress,
        signal: this.deps.signal,
        pollSeconds: this.env.deployment.pollSeconds,
        timeoutSeconds: this.env.deployment.timeoutSeconds + this.strategy.bakeSeconds(this.env.deployment),
        strategy: this.strategy,
        target: { purpose: "rollout", taskDefinitionArn: registered, ...update.ids },
        events: this.events,
        label: `rollout of ${shortArn(registered)}`,
      }),
    );
    if (rollout.status === "aborted" || rollout.status === "unknown") {
      return this.needsAttention(`${rollout.reason}; the rollout may still be running`);
    }
    if (rollout.status !== "completed") {
      const inFlight = rollout.status === "timeout";
      return this.restore(
        ctx,
        `the rollout failed: ${rollout.reason}`,
        rollout.service,
        inFlight,
        updateStart,
      );
    }
    progress.info(`Rollout of ${shortArn(registered)} completed in ${rollout.seconds}s.`);

    const after = await this.timeline.phase("afterRollout", () =>
      this.runSteps(this.steps().afterRollout, ctx),
    );
    if (after.status === "failed") {
      return this.restore(ctx, `${after.step} failed: ${after.reason}`, null, false, updateStart);
    }
    if (after.status === "inconclusive") {
      const policy = this.env.verify.onInconclusive;
      const reason = `${after.step} was inconclusive: ${after.reason}`;
      if (policy === "rollback") return this.restore(ctx, reason, null, false, updateStart);
      if (policy === "fail") {
        return this.report({
          outcome: "failed",
          exitCode: ExitCode.NeedsAttention,
          reason: `${reason}; the new revision stays (verify.onInconclusive = "fail")`,
          nextSteps: [
            statusCommand(this.base.environmentName),
            ...restoreCommands(this.base.environmentName, this.env, this.previous),
          ],
        });
      }
      progress.warn(`${reason}; accepted because verify.onInconclusive = "accept".`);
      return this.succeed(registered, { warning: `${reason} (accepted)` });
    }
    return this.succeed(registered, {});
  }

  private steps(): DeploySteps {
    return this.deps.steps ?? { beforeUpdate: [], afterRollout: [] };
  }

  private async preflight(): Promise<
    { refusal: Report } | { service: Service; previousRelease: string | null }
  > {
    const refuse = (reason: string, nextSteps: string[]) => ({
      refusal: this.report({ outcome: "failed", exitCode: ExitCode.BadInput, reason, nextSteps }),
    });
    const lookup = await describeService(this.ecs, this.ref);
    if (!lookup.found) {
      return refuse(`${lookup.reason}; nothing was changed`, [
        `check environments.${this.base.environmentName}.cluster/.service/.region in shipyard.json`,
      ]);
    }
    const service = lookup.service;
    if (service.status !== "ACTIVE") {
      return refuse(`service ${this.ref.service} is ${service.status}, not ACTIVE; nothing was changed`, [
        `aws ecs describe-services --region ${this.env.region} --cluster ${this.ref.cluster} --services ${this.ref.service}`,
      ]);
    }
    const controller = service.deploymentController?.type ?? "ECS";
    if (controller !== "ECS") {
      return refuse(
        `service ${this.ref.service} uses the ${controller} deployment controller; Shipyard deploys services that ECS itself deploys (rolling, blue-green, canary, linear); nothing was changed`,
        [
          "switch the service to the ECS deployment controller (aws ecs update-service --deployment-controller type=ECS)",
        ],
      );
    }
    const requirement = await checkRequirement({
      config: this.prepared.config,
      environmentName: this.base.environmentName,
      image: this.input.image,
      ecsFor: this.prepared.ecsFor,
    });
    if (requirement?.ok === false) {
      if (!this.input.skipRequires)
        return refuse(`${requirement.problem}; nothing was changed`, requirement.nextSteps);
      this.deps.progress.warn(`${requirement.problem}; deploying anyway (--skip-requires).`);
      this.skippedRequirement = requirement.problem;
    } else if (requirement?.ok) {
      this.deps.progress.info(`Requirement met: ${requirement.evidence}.`);
    }
    const inFlight = deploymentInFlight(service);
    if (inFlight) {
      return refuse(`another deployment is in flight (${inFlight}); nothing was changed`, [
        `${statusCommand(this.base.environmentName)}   # wait until one deployment remains, then deploy again`,
      ]);
    }
    const previous = await describeTaskDefinition(this.ecs, service.taskDefinition!);
    return { service, previousRelease: releaseOf(previous.taskDefinition, this.env.container) };
  }

  private async register(rendered: Rendered): Promise<string | Report> {
    const { RegisterTaskDefinitionCommand } = await import("@aws-sdk/client-ecs");
    const tags = [
      ...(rendered.tags ?? []).filter((t) => !t.key?.startsWith("shipyard:")),
      { key: TAG.release, value: tagValue(this.release) },
      { key: TAG.environment, value: this.base.environmentName },
      { key: TAG.previous, value: this.previous },
      ...(this.input.commit ? [{ key: TAG.commit, value: tagValue(this.input.commit) }] : []),
    ];
    try {
      const answer = await this.ecs.send(new RegisterTaskDefinitionCommand({ ...rendered, tags }));
      const arn = answer.taskDefinition?.taskDefinitionArn;
      if (!arn) throw new Error("ECS returned no taskDefinitionArn");
      this.deps.progress.info(`Registered ${shortArn(arn)}.`);
      return arn;
    } catch (error) {
      const name = awsErrorName(error);
      const refused = name === "ClientException" || name === "InvalidParameterException";
      return this.report({
        outcome: "failed",
        exitCode: refused ? ExitCode.BadInput : ExitCode.RolledBack,
        reason: `ECS did not register the task definition (${name}: ${(error as Error).message}); the service was not changed`,
        nextSteps: refused
          ? [`fix ${this.templateSource} and run npx shipyard plan --env ${this.base.environmentName}`]
          : [],
      });
    }
  }

  private stepContext(config: Config, previousRelease: string | null): DeployStepContext {
    return {
      environmentName: this.base.environmentName,
      environment: this.env,
      config,
      image: this.input.image,
      release: this.release,
      taskDefinitionArn: this.next!,
      previousTaskDefinitionArn: this.previous,
      previousRelease,
      ecs: this.ecs,
      clock: this.deps.clock,
      random: this.deps.random,
      progress: this.deps.progress,
      signal: this.deps.signal,
      appRoot: this.input.appRoot,
      env: this.deps.env,
    };
  }

  /** Runs steps in order; stops at the first that does not pass. */
  private async runSteps(
    steps: DeployStep[],
    ctx: DeployStepContext,
  ): Promise<
    | { status: "passed" }
    | { status: "failed" | "inconclusive"; step: string; reason: string; badInput?: boolean }
  > {
    for (const step of steps) {
      this.ran.push(step);
      this.deps.progress.info(`Step: ${step.name}`);
      let verdict: StepVerdict;
      try {
        verdict = await step.run(ctx);
      } catch (error) {
        // A step that rejects its own settings (e.g. an unknown squawk rule) is bad input, not a bad release.
        if (error instanceof InputError)
          return { status: "failed", step: step.name, reason: error.message, badInput: true };
        verdict = { status: "failed", reason: `it threw: ${(error as Error).message}` };
      }
      if (verdict.report)
        this.sections[step.reportKey] = { ...this.sections[step.reportKey], ...verdict.report };
      const note = verdict.status === "passed" ? verdict.summary : verdict.reason;
      this.stepResults.push({ name: step.name, status: verdict.status, note });
      if (verdict.status !== "passed")
        return { status: verdict.status, step: step.name, reason: verdict.reason };
      this.deps.progress.info(`  ${step.name} passed: ${verdict.summary}`);
    }
    return { status: "passed" };
  }

  private async updateService(
    taskDefinitionArn: string,
  ): Promise<{ ids: { deploymentId?: string; serviceDeploymentArn?: string } } | { report: Report }> {
    const { UpdateServiceCommand } = await import("@aws-sdk/client-ecs");
    const startedAt = this.deps.clock.now();
    try {
      const answer = await this.ecs.send(
        new UpdateServiceCommand({
          cluster: this.ref.cluster,
          service: this.ref.service,
          taskDefinition: taskDefinitionArn,
          deploymentConfiguration: this.strategy.configure(this.env.deployment),
        }),
      );
      const deploymentId = answer.service?.deployments?.find(
        (d) => d.status === "PRIMARY" && d.taskDefinition === taskDefinitionArn,
      )?.id;
      const serviceDeploymentArn = this.strategy.readsServiceDeployment
        ? await findServiceDeployment(this.ecs, this.ref, startedAt)
        : null;
      this.deps.progress.info(
        `UpdateService accepted: deployment ${deploymentId ?? "(not reported by this endpoint)"}, strategy ${this.strategy.ecsName}.`,
      );
      return {
        ids: {
          ...(deploymentId ? { deploymentId } : {}),
          ...(serviceDeploymentArn ? { serviceDeploymentArn } : {}),
        },
      };
    } catch (error) {
      return { report: await this.updateFailed(taskDefinitionArn, error) };
    }
  }

  /** UpdateService failed after retries: did it take effect? Look before deciding. */
  private async updateFailed(taskDefinitionArn: string, error: unknown): Promise<Report> {
    const why = `UpdateService failed (${awsErrorName(error)}: ${(error as Error).message})`;
    try {
      const lookup = await describeService(this.ecs, this.ref);
      if (lookup.found && lookup.service.taskDefinition !== taskDefinitionArn) {
        // ECS refusing the settings (e.g. blue-green without its load balancer setup) is a config problem.
        const refused = ["ClientException", "InvalidParameterException"].includes(awsErrorName(error));
        return this.report({
          outcome: "failed",
          exitCode: refused ? ExitCode.BadInput : ExitCode.RolledBack,
          reason: `${why}; the service was not changed and still runs ${shortArn(lookup.service.taskDefinition)}`,
          nextSteps: refused
            ? [`fix environments.${this.base.environmentName}.deployment in shipyard.json, then deploy again`]
            : [`npx shipyard deploy --env ${this.base.environmentName} --image ${this.input.image}`],
        });
      }
    } catch {
      // Fall through: we cannot tell whether the update happened.
    }
    return this.needsAttention(`${why}; whether the service changed is unknown`);
  }

  private async restore(
    ctx: DeployStepContext,
    reason: string,
    service: Service | null,
    inFlight: boolean,
    updateStart: number,
  ): Promise<Report> {
    const { progress } = this.deps;
    if (this.deps.signal.aborted) {
      // A person pressed Ctrl-C: do not start changing the service on their way out.
      return this.needsAttention(`${reason}; interrupted, so the previous revision was NOT restored`);
    }
    progress.warn(`${reason}. Restoring ${shortArn(this.previous)}.`);
    const current = service?.taskDefinition;
    if (current && current !== this.next && current !== this.previous) {
      return this.needsAttention(
        `${reason}; the service now runs ${shortArn(current)}, which Shipyard did not deploy, so it was left alone`,
      );
    }
    const inFlightArn = inFlight
      ? await findServiceDeployment(this.ecs, this.ref, updateStart).catch(() => null)
      : null;
    const result = await this.timeline.phase("restore", () =>
      restoreRevision({
        ecs: this.ecs,
        ref: this.ref,
        clock: this.deps.clock,
        progress,
        signal: this.deps.signal,
        settings: this.env.deployment,
        events: this.events,
        taskDefinitionArn: this.previous,
        inFlightServiceDeploymentArn: inFlightArn,
      }),
    );
    if (!result.confirmed) {
      return this.needsAttention(
        `${reason}; restoring ${shortArn(this.previous)} was not confirmed (${result.reason})`,
        {
          restoredWith: result.how,
        },
      );
    }
    progress.info(`Back on ${shortArn(this.previous)} (${result.how}, ${result.seconds}s).`);
    for (const step of this.ran) {
      try {
        await step.afterRollback?.(ctx, reason);
      } catch (error) {
        progress.warn(`${step.name}: recording the rollback failed (${(error as Error).message}).`);
      }
    }
    return this.report({
      outcome: "rolled_back",
      exitCode: ExitCode.RolledBack,
      reason: `${reason}; the service is back on ${shortArn(this.previous)}`,
      nextSteps: [statusCommand(this.base.environmentName)],
      details: { restoredWith: result.how },
    });
  }

  private needsAttention(reason: string, details: Record<string, unknown> = {}): Report {
    return this.report({
      outcome: "failed",
      exitCode: ExitCode.NeedsAttention,
      reason,
      nextSteps: [
        statusCommand(this.base.environmentName),
        ...(this.previous ? restoreCommands(this.base.environmentName, this.env, this.previous) : []),
      ],
      details,
    });
  }

  private async succeed(taskDefinitionArn: string, details: Record<string, unknown>): Promise<Report> {
    const lookup = await describeService(this.ecs, this.ref).catch(() => null);
    const extra: Record<string, unknown> = { ...details };
    if (lookup?.found && lookup.service.serviceArn) {
      try {
        await tagService(this.ecs, lookup.service.serviceArn, {
          [TAG.lastGood]: taskDefinitionArn,
          [TAG.previous]: this.previous,
        });
      } catch (error) {
        const why = `${awsErrorName(error)}: ${(error as Error).message}`;
        this.deps.progress.warn(
          `could not record the last good revision on the service (${why}); \`rollback\` will need --to.`,
        );
        extra.lastGoodNotRecorded = why;
      }
    }
    this.deps.progress.info(
      `Deployed ${shortArn(taskDefinitionArn)}: ${this.release} is live on ${this.base.environmentName}.`,
    );
    return this.report({ outcome: "succeeded", exitCode: ExitCode.Success, details: extra });
  }
}
