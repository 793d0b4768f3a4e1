/**
 * What the four preview commands share: the `previews` settings and the copied environment, the
 * load balancer gateway, finding every preview of the copied environment (by its tags, never by its
 * name alone), and removing one preview piece by piece (service scaled to zero and deleted, its
 * database dropped, its listener rule and target group deleted), each step safe to repeat.
 */
import { awsErrorName, type Ecs, tagMap } from "../aws/ecs.js";
import { type Elb, elbEndpoint, openElb } from "../aws/elb.js";
import type { Config, PreviewSettings } from "../config/schema.js";
import {
  dropDatabaseStatements,
  type FoundPreview,
  groupPreviews,
  PRIORITY_RANGE,
  type PreviewNames,
  PULL_REQUEST,
  previewNames,
  previewTagsOf,
  targetGroupPrefix,
} from "../deploy/preview.js";
import { ExitCode, InputError, ShipyardError } from "../errors.js";
import { runMigrationTask } from "../migrations/task.js";
import type { EnvironmentContext } from "./context.js";
import { environmentOptions, type OptionSpecs } from "./spec.js";

/** Every preview command runs on the environment `previews.from` names: no --env. */
export function previewEnvironment(config: Config): string {
  if (!config.previews) {
    throw new InputError(
      "shipyard.json has no `previews` section: Shipyard does not know which environment a preview copies.",
      [],
      'add "previews": { "from": "staging", "listenerArn": ..., "vpcId": ..., "host": "pr-{{PR}}.preview.example.com" } (see the README, "Preview environments")',
    );
  }
  return config.previews.from;
}

export const previewOptions = {
  config: environmentOptions.config,
  json: environmentOptions.json,
  reportHtml: environmentOptions.reportHtml,
} as const satisfies OptionSpecs;

export const pullRequestOption = {
  type: "string",
  value: "N",
  help: "the pull request's number (its preview's names, host and database come from it, and from nothing else)",
  required: true,
  pattern: PULL_REQUEST,
} as const;

export function previewSettings(ctx: EnvironmentContext): PreviewSettings {
  // runCommand picked the environment through previewEnvironment, so the section is there.
  return ctx.config.previews as PreviewSettings;
}

export function namesFor(ctx: EnvironmentContext, pr: number): PreviewNames {
  return previewNames(previewSettings(ctx), ctx.service, pr);
}

/** The load balancer gateway in the environment's region, with the credentials ECS uses. */
export async function previewElb(ctx: EnvironmentContext): Promise<Elb> {
  const { runtime } = ctx;
  const credentials = runtime.awsCredentials ? await runtime.awsCredentials() : undefined;
  const endpoint = elbEndpoint(runtime.env);
  return openElb({
    region: ctx.environment.region,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** The host names a listener rule matches (host-header conditions). */
export function ruleHosts(rule: {
  Conditions?: Array<{ Field?: string; Values?: string[]; HostHeaderConfig?: { Values?: string[] } }>;
}): string[] {
  return (rule.Conditions ?? [])
    .filter((c) => c.Field === "host-header")
    .flatMap((c) => [...(c.HostHeaderConfig?.Values ?? []), ...(c.Values ?? [])]);
}

/**
 * Every preview of the copied environment: ACTIVE services, target groups and listener rules that
 * carry its preview tags. Candidates are narrowed by name or priority first (fewer tag reads), but
 * only the tags make a resource a preview's.
 */
export async function findPreviews(ctx: EnvironmentContext, ecs: Ecs, elb: Elb): Promise<FoundPreview[]> {
  const settings = previewSettings(ctx);
  const from = ctx.environmentName;
  const { cluster, service: copied } = ctx.service;
  const prefix = `${copied}-pr-`;
  const serviceNames = (await ecs.listServices(cluster))
    .map((arn) => arn.split("/").at(-1) ?? arn)
    .filter((name) => name.startsWith(prefix));
  const services = (await ecs.describeServices(cluster, serviceNames)).flatMap((service) => {
    const tags = previewTagsOf(tagMap(service.tags), from);
    if (!tags || service.status !== "ACTIVE") return [];
    return [
      {
        name: service.serviceName ?? "",
        arn: service.serviceArn ?? "",
        tags,
        desired: service.desiredCount ?? 0,
        running: service.runningCount ?? 0,
      },
    ];
  });
  const namePattern = targetGroupPrefix(ctx.service);
  const groups = (await elb.listTargetGroups()).filter((g) => namePattern.test(g.TargetGroupName ?? ""));
  const rules = (await elb.describeRules(settings.listenerArn)).filter((rule) => {
    const priority = Number(rule.Priority);
    return !rule.IsDefault && priority >= PRIORITY_RANGE.first && priority <= PRIORITY_RANGE.last;
  });
  const tags = await elb.describeTags([
    ...groups.map((g) => g.TargetGroupArn ?? ""),
    ...rules.map((r) => r.RuleArn ?? ""),
  ]);
  const targetGroups = groups.flatMap((group) => {
    const found = previewTagsOf(tags.get(group.TargetGroupArn ?? "") ?? {}, from);
    return found ? [{ name: group.TargetGroupName ?? "", arn: group.TargetGroupArn ?? "", tags: found }] : [];
  });
  const taggedRules = rules.flatMap((rule) => {
    const found = previewTagsOf(tags.get(rule.RuleArn ?? "") ?? {}, from);
    if (!found) return [];
    return [
      {
        arn: rule.RuleArn ?? "",
        priority: rule.Priority ?? "",
        host: ruleHosts(rule)[0] ?? null,
        tags: found,
      },
    ];
  });
  return groupPreviews({ services, targetGroups, rules: taggedRules });
}

/** One preview's resources as one PR's lookups find them (for `down`, without listing everything). */
export async function findPreview(
  ctx: EnvironmentContext,
  ecs: Ecs,
  elb: Elb,
  names: PreviewNames,
): Promise<{ preview: FoundPreview; untagged: string[] }> {
  const from = ctx.environmentName;
  const untagged: string[] = [];
  const preview: FoundPreview = { pr: names.pr, service: null, targetGroup: null, rule: null };
  const lookup = await ecs.describeService({ cluster: ctx.service.cluster, service: names.service });
  if (lookup.found && lookup.service.status === "ACTIVE") {
    const tags = previewTagsOf(lookup.tags, from);
    if (tags?.pr === names.pr) {
      preview.service = {
        name: names.service,
        arn: lookup.service.serviceArn ?? "",
        tags,
        desired: lookup.service.desiredCount ?? 0,
        running: lookup.service.runningCount ?? 0,
      };
    } else untagged.push(`service ${names.service}`);
  }
  const rule = (await elb.describeRules(previewSettings(ctx).listenerArn)).find((r) =>
    ruleHosts(r).includes(names.host),
  );
  const group = await elb.findTargetGroup(names.targetGroup);
  const arns = [rule?.RuleArn, group?.TargetGroupArn].filter((arn): arn is string => Boolean(arn));
  const tags = arns.length > 0 ? await elb.describeTags(arns) : new Map<string, Record<string, string>>();
  if (rule?.RuleArn) {
    const found = previewTagsOf(tags.get(rule.RuleArn) ?? {}, from);
    if (found?.pr === names.pr)
      preview.rule = { arn: rule.RuleArn, priority: rule.Priority ?? "", host: names.host, tags: found };
    else untagged.push(`listener rule for ${names.host} (priority ${rule.Priority})`);
  }
  if (group?.TargetGroupArn) {
    const found = previewTagsOf(tags.get(group.TargetGroupArn) ?? {}, from);
    if (found?.pr === names.pr)
      preview.targetGroup = { name: names.targetGroup, arn: group.TargetGroupArn, tags: found };
    else untagged.push(`target group ${names.targetGroup}`);
  }
  return { preview, untagged };
}

/**
 * Runs SQL statements on the copied environment's database server: a one-off task of `revision`
 * with the database command, borrowing the copied service's network (it reaches the server as the
 * app does). Throws when the task did not exit 0.
 */
export async function runDatabaseTask(
  ctx: EnvironmentContext,
  ecs: Ecs,
  statements: string[],
  revision: string | undefined,
): Promise<void> {
  const database = previewSettings(ctx).database;
  if (!database) return;
  ctx.output.info(`Database task: ${statements.join("; ")}`);
  const result = await runMigrationTask({
    ecs,
    region: ctx.environment.region,
    cluster: ctx.service.cluster,
    service: ctx.service.service,
    container: ctx.environment.container,
    command: [...database.command, ...statements],
    ...(revision ? { taskDefinition: revision } : {}),
    timeoutSeconds: database.timeoutSeconds,
    pollSeconds: ctx.environment.deployment.pollSeconds,
    clock: ctx.runtime.clock,
    progress: ctx.output,
    signal: ctx.runtime.signal,
  });
  if (!result.ok) {
    throw new ShipyardError(`The database task failed: ${result.reason ?? result.status}.`, {
      exitCode: result.stillRunning ? ExitCode.NeedsAttention : ExitCode.RolledBack,
      hint: result.logs?.tailCommand ?? "read the task's logs in the ECS console",
    });
  }
}

/** Removes what exists of one preview, in the order that keeps a retry able to finish the job. */
export async function removePreview(
  ctx: EnvironmentContext,
  ecs: Ecs,
  elb: Elb,
  preview: FoundPreview,
  databaseName: string | null,
): Promise<string[]> {
  const removed: string[] = [];
  const { cluster } = ctx.service;
  if (preview.service) {
    const ref = { cluster, service: preview.service.name };
    await ecs.scaleService(ref, 0);
    await ecs.deleteService(ref);
    removed.push(`service ${preview.service.name}`);
  }
  // The database before the target group: the target group's tags name it, so a retry after a
  // failed drop still knows there is one.
  const database =
    databaseName ?? preview.service?.tags.database ?? preview.targetGroup?.tags.database ?? null;
  if (database && previewSettings(ctx).database && (preview.service || preview.targetGroup || preview.rule)) {
    await runDatabaseTask(ctx, ecs, dropDatabaseStatements(database), undefined);
    removed.push(`database ${database}`);
  }
  if (preview.rule && (await elb.deleteRule(preview.rule.arn))) {
    removed.push(`listener rule ${preview.rule.priority} (${preview.rule.host ?? "no host"})`);
  }
  if (preview.targetGroup) {
    if (await deleteTargetGroup(elb, preview.targetGroup.arn))
      removed.push(`target group ${preview.targetGroup.name}`);
  }
  return removed;
}

/** A target group still in use by a rule being deleted is refused for a moment: one retry. */
async function deleteTargetGroup(elb: Elb, arn: string): Promise<boolean> {
  try {
    return await elb.deleteTargetGroup(arn);
  } catch (error) {
    if (awsErrorName(error) !== "ResourceInUseException") throw error;
    return elb.deleteTargetGroup(arn);
  }
}

/** One line per preview, for progress output and a refusal's list. */
export function describePreview(preview: FoundPreview, url: string | null, state: string): string {
  const pieces = [
    preview.service
      ? `service ${preview.service.name} (${preview.service.running}/${preview.service.desired})`
      : "no service",
    preview.rule ? `rule ${preview.rule.priority}` : "no rule",
    preview.targetGroup ? "target group" : "no target group",
  ];
  const expires = preview.service?.tags.expiresAt;
  return `PR ${preview.pr}: ${state}${url ? ` ${url}` : ""}; ${pieces.join(", ")}${expires ? `; expires ${new Date(expires).toISOString()}` : ""}`;
}
