/**
 * `plan`: render the task definition for an environment and show, readably, what a deploy would
 * change against the live task definition and the service's deployment settings. Changes nothing.
 */
import {
  BUNDLED_SOURCE,
  imageOf,
  readBundledTemplate,
  renderTaskDefinition,
  stripReadOnly,
} from "../config/taskdef.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import { type CommandDeps, type PlanInput, prepare } from "./commands.js";
import { defaultRelease } from "./deploy.js";
import { describeService, describeTaskDefinition, shortArn } from "./ecs.js";
import { strategies } from "./strategies.js";
import { makeReport, type ReportBase, Timeline } from "./timeline.js";

type Flat = Map<string, string>;

export async function plan(input: PlanInput, deps: CommandDeps): Promise<Report> {
  const timeline = new Timeline(deps.clock);
  const prepared = prepare(input, deps);
  const { config, environment } = prepared;
  const base: ReportBase = { command: "plan", environmentName: input.environmentName, environment };
  const templateText = input.taskDefinitionText ?? (await readBundledTemplate());
  const render = (image: string) =>
    renderTaskDefinition({
      templateText,
      source: input.taskDefinitionText === null ? BUNDLED_SOURCE : config.taskDefinition,
      environmentName: input.environmentName,
      environment,
      repository: config.image,
      image,
      release: input.release ?? defaultRelease(image, input.commit),
    });
  // With an image, everything is validated before the first AWS call.
  let rendered = input.image ? render(input.image) : null;
  const ecs = await prepared.ecs();
  const lookup = await describeService(ecs, { cluster: environment.cluster, service: environment.service });
  if (!lookup.found) {
    return makeReport(base, timeline, {
      outcome: "failed",
      exitCode: ExitCode.BadInput,
      reason: lookup.reason,
      nextSteps: [`check environments.${input.environmentName} in shipyard.json`],
    });
  }
  const live = await describeTaskDefinition(ecs, lookup.service.taskDefinition!);
  const liveImage = imageOf(live.taskDefinition, environment.container);
  if (rendered === null) {
    deps.progress.info(`No --image given: planning with the live image ${liveImage ?? "(none)"}.`);
    try {
      rendered = render(liveImage ?? "");
    } catch (error) {
      if (error instanceof InputError) {
        throw new InputError(
          error.message.split("\n")[0]!,
          error.problems,
          "pass --image REPO@sha256:DIGEST to plan with the image you mean to deploy",
        );
      }
      throw error;
    }
  }
  const { tags: _ignored, ...renderedBody } = rendered;
  const taskDefinitionChanges = diff(
    flatten(normalise(stripReadOnly(live.taskDefinition))),
    flatten(normalise(renderedBody)),
  );
  const desired = strategies[environment.deployment.strategy].configure(environment.deployment);
  const deploymentChanges = diff(
    flatten(normalise(lookup.service.deploymentConfiguration ?? {})),
    flatten(normalise(desired)),
    {
      onlyKeysOfNext: true,
    },
  );
  deps.progress.info(
    `Plan for ${input.environmentName} (${environment.cluster}/${environment.service}, live ${shortArn(lookup.service.taskDefinition)}):`,
  );
  deps.progress.info(
    taskDefinitionChanges.length > 0
      ? "  task definition (a new revision would be registered):"
      : "  task definition: no changes",
  );
  for (const line of taskDefinitionChanges) deps.progress.info(`    ${line}`);
  deps.progress.info(
    deploymentChanges.length > 0 ? "  deployment settings:" : "  deployment settings: no changes",
  );
  for (const line of deploymentChanges) deps.progress.info(`    ${line}`);
  return makeReport(base, timeline, {
    outcome: "planned",
    exitCode: ExitCode.Success,
    image: input.image ?? liveImage,
    release: input.release ?? null,
    taskDefinition: null,
    previousTaskDefinition: lookup.service.taskDefinition ?? null,
    details: { taskDefinitionChanges, deploymentChanges, renderedTaskDefinition: rendered },
  });
}

/** Sorts name-keyed lists and drops empty values, so only meaningful differences show. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalise).filter((v) => v !== undefined);
    if (items.length === 0) return undefined;
    if (
      items.every(
        (i) => typeof i === "object" && i !== null && typeof (i as { name?: unknown }).name === "string",
      )
    ) {
      // Keyed by name, the name itself is no longer news: `environment[PORT].value`, not `.name` too.
      return Object.fromEntries(
        items.map((i) => {
          const { name, ...rest } = i as { name: string };
          return [`[${name}]`, Object.keys(rest).length > 0 ? rest : { name }];
        }),
      );
    }
    return items;
  }
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, normalise(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value === null ? undefined : value;
}

function flatten(value: unknown, prefix = "", out: Flat = new Map()): Flat {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      flatten(v, prefix === "" ? k : k.startsWith("[") ? `${prefix}${k}` : `${prefix}.${k}`, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/** Values ECS fills in by itself: not a change the user asked for. */
function isEcsDefault(path: string, value: string): boolean {
  return (
    (path.endsWith(".essential") && value === "true") ||
    (path.endsWith(".protocol") && value === '"tcp"') ||
    (/^containerDefinitions\[[^\]]+\]\.cpu$/.test(path) && value === "0")
  );
}

function diff(live: Flat, next: Flat, options: { onlyKeysOfNext?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const [path, value] of next) {
    const before = live.get(path);
    if (before === undefined) {
      if (!isEcsDefault(path, value)) lines.push(`+ ${path}: ${value}`);
    } else if (before !== value) {
      lines.push(`~ ${path}: ${before} → ${value}`);
    }
  }
  if (!options.onlyKeysOfNext) {
    for (const [path, value] of live) {
      if (!next.has(path) && !isEcsDefault(path, value)) lines.push(`- ${path}: ${value}`);
    }
  }
  return lines;
}
