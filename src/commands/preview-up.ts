/**
 * `preview-up`: the preview of one pull request, created or updated.
 *
 * A new preview: refuse beyond `maxPreviews` (exit 2, with the list) → target group → listener rule
 * for its host (a free priority; on PriorityInUse choose again) → register its revision → its
 * database (a one-off task of that revision: drop if left over, create) → the migrations → the
 * service, on the copied service's network and capacity → wait for the rollout → smoke test on its
 * URL → record it as last good. Every resource carries the preview's tags (PR, commit, expiry).
 *
 * An existing preview: a normal Shipyard deploy of the preview's service (the deploy command's own
 * story, with its migrations, verification and rollback), then its expiry moves.
 */
import type { CreateServiceCommandInput, Service } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, shortArn } from "../aws/ecs.js";
import type { Elb } from "../aws/elb.js";
import { type Environment, type HealthCheckSettings, primaryOf } from "../config/schema.js";
import { renderTaskDefinition } from "../config/taskdef.js";
import {
  choosePriority,
  createDatabaseStatements,
  PREVIEW_TAG,
  type PreviewNames,
  previewState,
  previewTags,
  previewTagsOf,
  previewVariables,
} from "../deploy/preview.js";
import { defaultRelease, recordLastGood, TAG, tagValue } from "../deploy/revisions.js";
import { strategies } from "../deploy/strategies.js";
import { EventLog, waitForDeployment } from "../deploy/wait.js";
import { ExitCode, InputError, ShipyardError } from "../errors.js";
import { taskVerdict } from "../migrations/summary.js";
import { runMigrationTask } from "../migrations/task.js";
import type { Report } from "../report/report.js";
import { smokeVerdict } from "../verify/smoke.js";
import type { EnvironmentContext } from "./context.js";
import { command as deployCommand } from "./deploy.js";
import { verificationOptions } from "./deploy-steps.js";
import {
  describePreview,
  findPreviews,
  namesFor,
  previewElb,
  previewEnvironment,
  previewOptions,
  previewSettings,
  pullRequestOption,
  ruleHosts,
  runDatabaseTask,
} from "./preview-shared.js";
import { readTemplate } from "./run.js";
import { defineCommand, type OptionValues } from "./spec.js";

const options = {
  pr: pullRequestOption,
  image: {
    type: "string",
    value: "REPO@sha256:DIGEST",
    help: "the image by digest, as `publish` printed it (never a tag)",
    required: true,
  },
  release: {
    type: "string",
    value: "NAME",
    help: "release name (SENTRY_RELEASE, /version); default: the commit, else the digest",
  },
  commit: { type: "string", value: "SHA", help: "commit tagged on the preview; default: $GITHUB_SHA" },
  ...previewOptions,
} as const;

type UpOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: "preview-up",
  description:
    "Creates or updates the preview environment of a pull request: a copy of the environment `previews.from` names, with its own service, target group, listener rule for its host name and database. A new preview is created, migrated, rolled out and smoke-tested; an existing one gets a normal deploy (rolled back when it fails). Prints its URL.",
  config: "environment",
  environmentOf: previewEnvironment,
  options,
  examples: [
    "shipyard preview-up --pr 42 --image ghcr.io/acme/shipyard-example@sha256:3f1c9a7e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f --json",
  ],
  exitCodes:
    "0 the preview runs and answered its smoke test; 1 it failed (an update was rolled back); 2 bad input, or `previews.maxPreviews` reached (nothing was changed); 3 look at it",
  run: previewUp,
});

async function previewUp(ctx: EnvironmentContext, options: UpOptions): Promise<Report> {
  const pr = Number(options.pr);
  const names = namesFor(ctx, pr);
  ctx.report.locate({
    environment: ctx.environmentName,
    cluster: ctx.service.cluster,
    service: names.service,
  });
  ctx.report.section("details", {
    pr,
    url: names.url,
    host: names.host,
    targetGroup: names.targetGroup,
    database: names.database,
  });
  const preview = previewContext(ctx, names, options.config);
  // Stamped when the up starts: the expiry does not depend on how long the rollout took.
  const tags = tagsFor(ctx, names, options);
  const ecs = await ctx.ecs();
  const existing = await ecs.describeService(preview.service);
  if (existing.found && existing.service.status === "DRAINING") {
    return ctx.report.refused(`the preview's service ${names.service} is still being deleted (DRAINING)`, [
      `wait a minute, then: ${ctx.command("preview-up", { pr: options.pr, image: options.image })}`,
    ]);
  }
  if (existing.found && existing.service.status === "ACTIVE") {
    if (previewTagsOf(existing.tags, ctx.environmentName)?.pr !== pr) {
      return ctx.report.refused(
        `the service ${names.service} exists but is not tagged as the preview of PR ${pr} (${PREVIEW_TAG.preview}); Shipyard does not take over services it did not create`,
        ["rename the service, or delete it yourself if it is a leftover"],
      );
    }
    return updatePreview(ctx, preview, ecs, existing.service, names, options, tags);
  }
  return createPreview(ctx, preview, ecs, names, options, tags);
}

/** The copied environment, as the preview's: its service, host, variables; rolling; no Sentry gate. */
function previewContext(ctx: EnvironmentContext, names: PreviewNames, configPath: string | undefined) {
  const settings = previewSettings(ctx);
  const copied = ctx.environment;
  const healthCheck: HealthCheckSettings = {
    ...(copied.healthCheck ?? {
      expectStatus: 200,
      consecutiveSuccesses: 3,
      intervalSeconds: 2,
      requestTimeoutSeconds: 5,
      budgetSeconds: 300,
    }),
    url: `${names.url}${settings.healthCheckPath}`,
  };
  delete healthCheck.releaseUrl;
  const { alarms: _alarms, ...deployment } = copied.deployment;
  // A preview is a copy of the primary service alone: no workers, no scheduled tasks of its own.
  const primary = primaryOf(copied.services);
  const environment: Environment = {
    ...copied,
    service: names.service,
    services: [{ ...primary, name: names.service, traffic: true }],
    scheduledTasks: [],
    healthCheck,
    // A preview is one task behind a rule of its own: the native blue-green/canary setups and the
    // copied environment's alarms and Sentry gate are about the copied environment, not this one.
    deployment: { ...deployment, strategy: "rolling" },
    variables: previewVariables(copied.variables, settings.variables, names),
  };
  delete environment.sentry;
  delete environment.requires;
  const { runtime } = ctx;
  const previewCtx: EnvironmentContext = {
    ...ctx,
    environment,
    service: { cluster: copied.cluster, service: names.service },
    async renderTaskDefinition(image, release) {
      const { text, source } = await readTemplate(runtime.files, ctx.config.taskDefinition, configPath);
      const rendered = renderTaskDefinition({
        templateText: text,
        source,
        environmentName: ctx.environmentName,
        environment,
        repository: ctx.config.image,
        image,
        release,
        planCommand: ctx.command("plan", { image }),
      });
      return { ...rendered, family: names.family };
    },
    command(name, flags) {
      // What a deploy of the preview suggests next must be about the preview, not the copied environment.
      if (name === "deploy") return ctx.command("preview-up", { pr: String(names.pr), image: flags?.image });
      if (name === "status") return ctx.command("preview-list");
      return ctx.command(name, flags);
    },
  };
  return previewCtx;
}

/** A second `up`: the deploy command's story on the preview's service, then a later expiry. */
async function updatePreview(
  ctx: EnvironmentContext,
  preview: EnvironmentContext,
  ecs: Ecs,
  service: Service,
  names: PreviewNames,
  options: UpOptions,
  tags: Record<string, string>,
): Promise<Report> {
  ctx.output.info(
    `Updating the preview of PR ${names.pr} (${names.service}): a normal deploy with rollback.`,
  );
  const report = await deployCommand.run(preview, {
    env: ctx.environmentName,
    image: options.image,
    release: options.release,
    commit: options.commit,
    force: false,
    skipRequires: true,
    config: options.config,
    json: options.json,
    reportHtml: options.reportHtml,
  });
  if (report.outcome !== "succeeded") return report;
  await ecs.tagResource(service.serviceArn ?? "", tags);
  ctx.output.info(`Preview of PR ${names.pr}: ${names.url} (expires ${tags[PREVIEW_TAG.expires]})`);
  return {
    ...report,
    details: {
      ...report.details,
      pr: names.pr,
      url: names.url,
      expires: tags[PREVIEW_TAG.expires],
      created: [],
      awsCalls: { ecs: ecs.sent.length, elb: 0 },
    },
  };
}

function tagsFor(ctx: EnvironmentContext, names: PreviewNames, options: UpOptions): Record<string, string> {
  return previewTags({
    pr: names.pr,
    from: ctx.environmentName,
    now: ctx.runtime.clock.now(),
    timeToLiveHours: previewSettings(ctx).timeToLiveHours,
    commit: options.commit ?? ctx.runtime.env.GITHUB_SHA,
    database: names.database,
  });
}

/** The first `up`: every resource, in the order that lets a retry or `preview-down` finish the job. */
async function createPreview(
  ctx: EnvironmentContext,
  preview: EnvironmentContext,
  ecs: Ecs,
  names: PreviewNames,
  options: UpOptions,
  tags: Record<string, string>,
): Promise<Report> {
  const { report, output: progress } = ctx;
  const settings = previewSettings(ctx);
  const commit = options.commit ?? ctx.runtime.env.GITHUB_SHA;
  const release = options.release ?? defaultRelease(options.image, commit);
  const definition = await preview.renderTaskDefinition(options.image, release);
  report.set({ image: options.image, release });
  const elb = await previewElb(ctx);
  progress.info(
    `Creating the preview of PR ${names.pr}: ${names.service} on ${ctx.service.cluster}, ${names.url}`,
  );

  // 1. The cap, before anything is created.
  const others = await report.phase("preflight", async () => {
    const copied = await ecs.describeService(ctx.service);
    if (!copied.found || copied.service.status !== "ACTIVE") {
      throw new InputError(
        `The environment ${ctx.environmentName} that previews copy has no ACTIVE service (${copied.found ? copied.service.status : copied.reason}); nothing was changed.`,
        [],
        "previews copy the network and capacity of a running service: deploy that environment first",
      );
    }
    const previews = await findPreviews(ctx, ecs, elb);
    return { copied: copied.service, previews: previews.filter((p) => p.pr !== names.pr && p.service) };
  });
  if (others.previews.length >= settings.maxPreviews) {
    const now = ctx.runtime.clock.now();
    const list = others.previews.map((p) => describePreview(p, null, previewState(p, now)));
    report.section("details", { previews: list });
    return report.refused(
      `${others.previews.length} previews exist and previews.maxPreviews is ${settings.maxPreviews}: ${list.join(" | ")}`,
      [ctx.command("preview-gc"), ctx.command("preview-down", { pr: String(others.previews[0]!.pr) })],
    );
  }

  const created: string[] = [];
  report.section("details", { created });

  // 2. The load balancer: a target group and a rule for the host.
  const routing = await report.phase("routing", async () => {
    const group = await targetGroup(elb, names, settings, tags, created);
    const rule = await listenerRule(ctx, elb, names, group, tags, created);
    return { group, rule };
  });

  // 3. The revision, then the database and the migrations from it.
  const revision = await report.phase("register", () =>
    ecs.registerTaskDefinition({
      ...definition,
      tags: [
        ...(definition.tags ?? []).filter((t) => !t.key?.startsWith("shipyard:")),
        { key: TAG.release, value: tagValue(release) },
        { key: TAG.environment, value: ctx.environmentName },
        ...Object.entries(tags).map(([key, value]) => ({ key, value })),
      ],
    }),
  );
  const next = revision.taskDefinitionArn!;
  report.set({ taskDefinition: next });
  created.push(`task definition ${shortArn(next)}`);
  const failed = (reason: string, exitCode: ExitCode) =>
    report.finish("failed", exitCode, {
      reason: `${reason}; the preview's pieces stay for inspection`,
      nextSteps: [
        ctx.command("preview-down", { pr: String(names.pr) }),
        ctx.command("preview-up", { pr: String(names.pr), image: options.image }),
      ],
    });
  if (names.database) {
    try {
      await report.phase("database", () =>
        runDatabaseTask(ctx, ecs, createDatabaseStatements(names.database!, settings.database?.owner), next),
      );
    } catch (error) {
      if (!(error instanceof ShipyardError)) throw error;
      return failed(error.message, error.exitCode);
    }
    created.push(`database ${names.database}`);
  }
  const migrations = preview.environment.migrations;
  if (migrations) {
    const migrated = await report.phase("migrate", () =>
      runMigrationTask({
        ecs,
        region: ctx.environment.region,
        cluster: ctx.service.cluster,
        // The preview's service does not exist yet: borrow the copied one's network.
        service: ctx.service.service,
        container: ctx.environment.container,
        command: migrations.command,
        taskDefinition: next,
        timeoutSeconds: migrations.timeoutSeconds,
        pollSeconds: ctx.environment.deployment.pollSeconds,
        clock: ctx.runtime.clock,
        progress,
        signal: ctx.runtime.signal,
      }),
    );
    const verdict = taskVerdict(migrated);
    report.section("migration", verdict.section);
    if (verdict.status !== "passed") {
      return failed(
        `the migrations did not succeed: ${verdict.reason ?? migrated.status}`,
        ExitCode.RolledBack,
      );
    }
  }

  // 4. The service, and its first rollout.
  const events = new EventLog(ctx.runtime.clock, progress);
  const service = await report.phase("create", () =>
    ecs.createService(serviceInput(ctx, others.copied, names, next, routing.group, tags)),
  );
  created.push(`service ${names.service}`);
  const waited = await report.phase("rollout", () =>
    waitForDeployment({
      ecs,
      ref: preview.service,
      clock: ctx.runtime.clock,
      progress,
      signal: ctx.runtime.signal,
      pollSeconds: preview.environment.deployment.pollSeconds,
      timeoutSeconds: preview.environment.deployment.timeoutSeconds,
      strategy: strategies.rolling,
      target: {
        purpose: "rollout",
        taskDefinitionArn: next,
        ...(service.deployments?.[0]?.id ? { deploymentId: service.deployments[0].id } : {}),
      },
      events,
      label: `first rollout of ${names.service}`,
    }),
  );
  report.set({ events: events.seen });
  if (waited.status !== "completed") {
    report.check("ecs", "failed");
    return failed(
      `the first rollout did not complete: ${waited.reason}`,
      waited.status === "failed" || waited.status === "timeout"
        ? ExitCode.RolledBack
        : ExitCode.NeedsAttention,
    );
  }
  report.check("ecs", "passed");

  // 5. Does it answer on its URL?
  const smoke = await report.phase("verify", () =>
    smokeVerdict({
      ...verificationOptions(preview),
      settings: preview.environment.healthCheck,
      release,
      clock: ctx.runtime.clock,
      random: ctx.runtime.random,
      progress,
      signal: ctx.runtime.signal,
    }),
  );
  report.section("verification", smoke.section);
  if (smoke.status !== "passed") {
    report.check("smoke", "failed");
    return failed(`the smoke test on ${names.url} failed: ${smoke.reason}`, ExitCode.RolledBack);
  }
  report.check("smoke", "passed");
  const warning = await recordLastGood(ecs, service.serviceArn, next, null, progress);
  if (warning) report.warn(warning);
  report.section("details", {
    created: [...created],
    rulePriority: routing.rule.priority,
    expires: tags[PREVIEW_TAG.expires],
    awsCalls: { ecs: ecs.sent.length, elb: elb.sent.length },
  });
  progress.info(`Preview of PR ${names.pr}: ${names.url} (expires ${tags[PREVIEW_TAG.expires]})`);
  return report.succeeded();
}

function serviceInput(
  ctx: EnvironmentContext,
  copied: Service,
  names: PreviewNames,
  taskDefinition: string,
  targetGroupArn: string,
  tags: Record<string, string>,
): CreateServiceCommandInput {
  const settings = previewSettings(ctx);
  const input: CreateServiceCommandInput = {
    cluster: ctx.service.cluster,
    serviceName: names.service,
    taskDefinition,
    desiredCount: settings.desiredCount,
    loadBalancers: [
      { targetGroupArn, containerName: ctx.environment.container, containerPort: settings.containerPort },
    ],
    deploymentConfiguration: strategies.rolling.configure({
      ...ctx.environment.deployment,
      strategy: "rolling",
    }),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    propagateTags: "SERVICE",
    enableECSManagedTags: true,
    // A retried CreateService (throttling) carries the same token: one service, not an error.
    clientToken: crypto.randomUUID(),
  };
  if (copied.networkConfiguration) input.networkConfiguration = copied.networkConfiguration;
  if (copied.capacityProviderStrategy?.length)
    input.capacityProviderStrategy = copied.capacityProviderStrategy;
  else if (copied.launchType) input.launchType = copied.launchType;
  if (copied.platformVersion && copied.platformVersion !== "LATEST")
    input.platformVersion = copied.platformVersion;
  if (copied.healthCheckGracePeriodSeconds !== undefined)
    input.healthCheckGracePeriodSeconds = copied.healthCheckGracePeriodSeconds;
  return input;
}

/** The preview's target group: the one a crashed `up` left (ours by its tags), or a new one. */
async function targetGroup(
  elb: Elb,
  names: PreviewNames,
  settings: ReturnType<typeof previewSettings>,
  tags: Record<string, string>,
  created: string[],
): Promise<string> {
  const existing = await elb.findTargetGroup(names.targetGroup);
  if (existing?.TargetGroupArn) {
    const found = (await elb.describeTags([existing.TargetGroupArn])).get(existing.TargetGroupArn) ?? {};
    if (found[PREVIEW_TAG.preview] !== String(names.pr)) {
      throw new InputError(
        `A target group named ${names.targetGroup} exists but is not tagged as this preview's; nothing was changed.`,
        [],
        "delete or rename that target group; Shipyard does not take over resources it did not create",
      );
    }
    return existing.TargetGroupArn;
  }
  try {
    const group = await elb.createTargetGroup({
      name: names.targetGroup,
      vpcId: settings.vpcId,
      port: settings.containerPort,
      healthCheckPath: settings.healthCheckPath,
      tags,
    });
    created.push(`target group ${names.targetGroup}`);
    return group.TargetGroupArn!;
  } catch (error) {
    // Another run for the same PR created it between our look and our create.
    if (awsErrorName(error) !== "DuplicateTargetGroupNameException") throw error;
    const group = await elb.findTargetGroup(names.targetGroup);
    if (!group?.TargetGroupArn) throw error;
    return group.TargetGroupArn;
  }
}

const RULE_ATTEMPTS = 5;

/**
 * The rule sending the preview's host to its target group: the one that exists (ours by its tags),
 * else a new one at a free priority. Two previews starting together can choose the same one: ELBv2
 * refuses the second with PriorityInUseException, and that run looks again and chooses another.
 */
async function listenerRule(
  ctx: EnvironmentContext,
  elb: Elb,
  names: PreviewNames,
  targetGroupArn: string,
  tags: Record<string, string>,
  created: string[],
): Promise<{ arn: string; priority: number }> {
  const { listenerArn } = previewSettings(ctx);
  for (let attempt = 0; attempt < RULE_ATTEMPTS; attempt++) {
    const rules = await elb.describeRules(listenerArn);
    const mine = rules.find((rule) => ruleHosts(rule).includes(names.host));
    if (mine?.RuleArn) {
      const found = (await elb.describeTags([mine.RuleArn])).get(mine.RuleArn) ?? {};
      if (found[PREVIEW_TAG.preview] !== String(names.pr)) {
        throw new InputError(
          `The listener already has a rule for ${names.host} (priority ${mine.Priority}) that is not this preview's; nothing was changed.`,
          [],
          "remove that rule, or change previews.host",
        );
      }
      return { arn: mine.RuleArn, priority: Number(mine.Priority) };
    }
    const used = new Set(rules.map((rule) => Number(rule.Priority)).filter(Number.isFinite));
    const priority = choosePriority(used, names.pr, attempt);
    try {
      const rule = await elb.createHostRule({
        listenerArn,
        priority,
        host: names.host,
        targetGroupArn,
        tags,
      });
      created.push(`listener rule ${priority} (${names.host})`);
      return { arn: rule.RuleArn!, priority };
    } catch (error) {
      if (awsErrorName(error) !== "PriorityInUseException") throw error;
      ctx.output.step(`listener rule priority ${priority} was taken meanwhile; choosing again`);
    }
  }
  throw new ShipyardError(
    `Could not create the listener rule for ${names.host}: ${RULE_ATTEMPTS} priorities were taken as they were chosen.`,
    { exitCode: ExitCode.NeedsAttention, hint: ctx.command("preview-up", { pr: String(names.pr) }) },
  );
}
