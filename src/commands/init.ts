/**
 * `init`: adopt services that already run on ECS. It reads each environment's service and its task
 * definition (two ECS reads per environment, nothing else), derives shipyard.json, one task
 * definition template with each environment's `variables` (src/config/adopt.ts), and writes them with
 * GitHub workflows to deploy and roll back (src/config/workflows.ts).
 *
 * Before writing, it renders the template for every environment and diffs it against the live task
 * definition exactly as `plan` does: only the app container's image and SENTRY_RELEASE (which every
 * deploy sets) may differ, or it refuses. A service it cannot read or adopt, and files that exist
 * (without --force), are refused too: exit 2, nothing written.
 */
import { lstat, mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ecsEndpoint } from "../aws/client.js";
import { type Ecs, shortArn } from "../aws/ecs.js";
import { explainAwsError } from "../aws/errors.js";
import { type Adopted, adopt, type LiveService } from "../config/adopt.js";
import { imageOf, releaseOf, renderTaskDefinition } from "../config/taskdef.js";
import { deployWorkflow, rollbackWorkflow } from "../config/workflows.js";
import { deploymentChanges, taskDefinitionChanges } from "../deploy/diff.js";
import { deploymentInFlight } from "../deploy/preflight.js";
import { strategies } from "../deploy/strategies.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandContext } from "./context.js";
import { buildEcs } from "./ecs-gateway.js";
import { defineCommand, ENVIRONMENT_NAME, type OptionValues } from "./spec.js";

const DEFAULT_CONFIG = "shipyard.json";
const DEFAULT_TEMPLATE = "task-def.json";
const DEPLOY_WORKFLOW = ".github/workflows/deploy.yml";
const ROLLBACK_WORKFLOW = ".github/workflows/rollback.yml";
const WRITTEN = [DEFAULT_CONFIG, DEFAULT_TEMPLATE, DEPLOY_WORKFLOW, ROLLBACK_WORKFLOW] as const;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
const DIGEST = /@sha256:[a-f0-9]{64}$/;

const options = {
  env: {
    type: "list",
    value: "NAME",
    help: "an environment to create (lowercase, e.g. staging); repeat it for each one, in the order deploys go through them",
  },
  region: {
    type: "list",
    value: "REGION",
    help: "AWS region of the environment's service: once for all environments, or once per --env in the same order",
  },
  cluster: {
    type: "list",
    value: "NAME",
    help: "ECS cluster (name or ARN): once for all environments, or once per --env in the same order",
  },
  service: {
    type: "list",
    value: "NAME",
    help: "ECS service: once for all environments, or once per --env in the same order",
  },
  container: {
    type: "string",
    value: "NAME",
    help: "the container that runs the app (default: the one with SENTRY_RELEASE, else the only essential container that is not a known sidecar)",
  },
  dir: {
    type: "string",
    value: "PATH",
    help: "the app's repository folder to write into (default: the current one)",
  },
  force: {
    type: "boolean",
    help: "overwrite shipyard.json, task-def.json and the workflows when they exist",
  },
  json: {
    type: "boolean",
    help: "print the report as one JSON object on stdout (progress stays on stderr)",
    cli: "only",
  },
} as const;

type Options = OptionValues<typeof options>;

interface Target {
  name: string;
  region: string;
  cluster: string;
  service: string;
}

export const command = defineCommand({
  name: "init",
  description:
    "Reads each environment's live ECS service and task definition and writes shipyard.json (deployment settings as the service has them, variables for what differs between the environments), task-def.json (the live task definition as a template) and GitHub workflows to deploy and roll back with OIDC, so that `plan` right after shows no task definition change but the image (and the release every deploy stamps). Each of --region, --cluster and --service is given once for every environment, or once per --env in the same order. Changes nothing on AWS; refuses to overwrite files without --force.",
  config: "none",
  options,
  examples: [
    "shipyard init --env staging --region eu-west-1 --cluster acme-staging --service shipyard-example --dir adopted",
  ],
  exitCodes:
    "0 files written · 2 a service cannot be read or adopted, or the files exist (nothing was written)",
  check: targetsOf,
  run: init,
});

async function init(ctx: CommandContext, options: Options): Promise<Report> {
  const targets = targetsOf(options);
  const [only] = targets;
  if (targets.length === 1 && only) {
    ctx.report.locate({ environment: only.name, cluster: only.cluster, service: only.service });
  }
  const root = resolve(ctx.runtime.files.root, options.dir ?? ".");
  const existing = await existingFiles(root, WRITTEN);
  if (existing.length > 0 && !options.force) {
    return refused(ctx, `${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}`, [
      `${initCommand(ctx, options)} --force   # to replace ${existing.length === 1 ? "it" : "them"}`,
    ]);
  }

  // Describe: each service and the task definition it runs.
  const read = await describeServices(ctx, targets);
  if (!read.ok) return refused(ctx, read.problem, [read.hint]);

  // Derive shipyard.json and the template, then prove them with plan's own diff.
  const adopted = adopt(read.live, options.container);
  if (!adopted.ok) return refused(ctx, adopted.problem, [adopted.hint]);
  const templateText = `${JSON.stringify(adopted.template, null, 2)}\n`;
  const plan = whatPlanWouldShow(ctx, adopted, templateText, read.live);
  if (plan.problems.length > 0) {
    return refused(
      ctx,
      `The template would not give back the live task definitions:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}\n`,
      ["fix these on the services (or run init for each environment in its own folder), then run init again"],
    );
  }

  // Write all four files, or none.
  const workflowInput = { environments: read.live, repository: adopted.repository, arm64: adopted.arm64 };
  const written = await writeAll(root, [
    [DEFAULT_CONFIG, `${JSON.stringify(adopted.configJson, null, 2)}\n`],
    [DEFAULT_TEMPLATE, templateText],
    [DEPLOY_WORKFLOW, deployWorkflow(workflowInput)],
    [ROLLBACK_WORKFLOW, rollbackWorkflow(workflowInput)],
  ]);
  if (!written.ok) {
    return refused(ctx, written.problem, ["check that the folder is writable, then run init again"]);
  }

  // Report what was found, what was decided, and what is left to the user.
  const toDecide = [...adopted.questions, ...plan.settingChanges];
  tell(ctx, read, adopted.decisions, toDecide);
  for (const warning of read.warnings) ctx.report.warn(warning);
  return ctx.report
    .section("details", {
      written: [...WRITTEN],
      ...(existing.length > 0 ? { overwritten: existing } : {}),
      awsCalls: read.awsCalls,
      container: adopted.container,
      image: adopted.repository,
      environments: Object.fromEntries(
        read.live.map((env) => [
          env.name,
          {
            region: env.region,
            cluster: env.cluster,
            service: env.service,
            taskDefinition: env.taskDefinition.taskDefinitionArn ?? null,
            image: imageOf(env.taskDefinition, adopted.container),
          },
        ]),
      ),
      placeholders: Object.fromEntries(adopted.placeholders.map((p) => [p.name, p.paths])),
      decisions: adopted.decisions,
      toDecide,
    })
    .finish("succeeded", ExitCode.Success, {
      nextSteps: read.live.map((env) => planCommand(ctx, env, adopted, options.dir)),
    });
}

/** The n-th --region/--cluster/--service belongs to the n-th --env; one given once applies to all. */
export function targetsOf(options: Options): Target[] {
  const names = options.env;
  const problems: string[] = [];
  if (names.length === 0) problems.push("--env NAME is required (repeat it for each environment)");
  for (const name of names) {
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(`--env ${JSON.stringify(name)} is not a valid NAME (lowercase letters, digits, "-")`);
    }
  }
  const repeated = names.filter((name, i) => names.indexOf(name) !== i);
  if (repeated.length > 0) problems.push(`--env ${[...new Set(repeated)].join(", ")} is given twice`);
  const perEnvironment = (flag: "region" | "cluster" | "service", valid: RegExp[], what: string) => {
    const values = options[flag];
    if (values.length === 0) problems.push(`--${flag} is required`);
    else if (values.length !== 1 && values.length !== names.length) {
      problems.push(
        `--${flag} is given ${values.length} times for ${names.length} --env: give it once (for every environment) or once per --env, in the same order`,
      );
    }
    for (const value of values) {
      if (!valid.some((pattern) => pattern.test(value))) {
        problems.push(`--${flag} ${JSON.stringify(value)} is not ${what}`);
      }
    }
    return (i: number) => (values.length === 1 ? values[0]! : (values[i] ?? ""));
  };
  const region = perEnvironment("region", [REGION], "an AWS region such as eu-west-1");
  const cluster = perEnvironment("cluster", [ECS_NAME, CLUSTER_ARN], "an ECS cluster name or ARN");
  const service = perEnvironment("service", [ECS_NAME], 'an ECS service name (letters, digits, "_", "-")');
  const targets = names.map((name, i) => ({
    name,
    region: region(i),
    cluster: cluster(i),
    service: service(i),
  }));
  const twice = targets.find((t, i) =>
    targets.some(
      (o, j) => j < i && o.region === t.region && o.cluster === t.cluster && o.service === t.service,
    ),
  );
  if (twice && problems.length === 0) {
    problems.push(
      `two environments name the same service (${twice.cluster}/${twice.service} in ${twice.region}): give each --env its own --cluster or --service`,
    );
  }
  if (problems.length > 0) {
    throw new InputError(
      "The command line is not valid; nothing was written.",
      problems,
      "see `shipyard init --help`",
    );
  }
  return targets;
}

type Described =
  | { ok: true; live: LiveService[]; awsCalls: number; warnings: string[] }
  | { ok: false; problem: string; hint: string };

/** DescribeServices, then DescribeTaskDefinition (with tags) of the revision it runs, per environment. */
async function describeServices(ctx: CommandContext, targets: readonly Target[]): Promise<Described> {
  const endpoint = ecsEndpoint(ctx.runtime.env);
  const gateways = new Map<string, Promise<Ecs>>();
  const gatewayFor = (region: string) => {
    if (!gateways.has(region)) gateways.set(region, buildEcs(ctx.runtime, region, endpoint));
    return gateways.get(region)!;
  };
  const live: LiveService[] = [];
  const warnings: string[] = [];
  for (const target of targets) {
    const where = `${target.name} (${target.cluster}/${target.service} in ${target.region})`;
    const describeCommand = `aws ecs describe-services --region ${target.region} --cluster ${target.cluster} --services ${target.service}`;
    try {
      const ecs = await gatewayFor(target.region);
      const lookup = await ecs.describeService(target);
      if (!lookup.found)
        return { ok: false, problem: `Cannot read ${where}: ${lookup.reason}`, hint: describeCommand };
      const service = lookup.service;
      const unusable = notAdoptable(service);
      if (unusable)
        return { ok: false, problem: `Cannot adopt ${where}: ${unusable}`, hint: describeCommand };
      const inFlight = deploymentInFlight(service);
      if (inFlight) {
        warnings.push(
          `${target.name}: ${inFlight}; the template was taken from ${shortArn(service.taskDefinition)}, the revision the service is set to`,
        );
      }
      const described = await ecs.describeTaskDefinition(service.taskDefinition!);
      live.push({ ...target, description: service, ...described });
    } catch (error) {
      const explained = explainAwsError(error, {
        command: "init",
        region: target.region,
        endpoint,
        changed: false,
        statusCommand: describeCommand,
      });
      if (explained) {
        const why = explained.message.replace(/; nothing was changed\.$/, "");
        return {
          ok: false,
          problem: `Cannot read ${where}: ${why}`,
          hint: explained.hint ?? describeCommand,
        };
      }
      if (!isAwsAnswer(error)) throw error;
      return {
        ok: false,
        problem: `Cannot read ${where}: ECS answered ${error.name}: ${error.message}`,
        hint: describeCommand,
      };
    }
  }
  const sent = await Promise.all([...gateways.values()].map(async (ecs) => (await ecs).sent.length));
  return { ok: true, live, awsCalls: sent.reduce((sum, n) => sum + n, 0), warnings };
}

function notAdoptable(service: {
  status?: string;
  deploymentController?: { type?: string };
  taskDefinition?: string;
}): string | null {
  if (service.status !== "ACTIVE") return `the service is ${service.status}, not ACTIVE`;
  const controller = service.deploymentController?.type ?? "ECS";
  if (controller !== "ECS") {
    return `the service uses the ${controller} deployment controller; Shipyard deploys services that ECS itself deploys (switch it with aws ecs update-service --deployment-controller type=ECS first)`;
  }
  if (!service.taskDefinition) return "the service runs no task definition";
  return null;
}

/** An error answer of an AWS service (the SDK marks it with its fault side). */
function isAwsAnswer(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { $fault?: unknown }).$fault === "string";
}

/**
 * What `plan` would show right after init, per environment: the template rendered with the written
 * variables and diffed against the live task definition by plan's own diff. Only the app container's
 * image and SENTRY_RELEASE may differ (every deploy sets both), and the tags must match. Deployment
 * settings that the next deploy would change are not problems: the user is told.
 */
function whatPlanWouldShow(
  ctx: CommandContext,
  adopted: Adopted,
  templateText: string,
  live: readonly LiveService[],
): { problems: string[]; settingChanges: string[] } {
  const problems: string[] = [];
  const settingChanges: string[] = [];
  const container = adopted.container.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const setByEveryDeploy = new RegExp(
    `^[~+-] containerDefinitions\\[${container}\\]\\.(image|environment\\[SENTRY_RELEASE\\])`,
  );
  for (const env of live) {
    const environment = adopted.config.environments[env.name]!;
    const liveImage = imageOf(env.taskDefinition, adopted.container) ?? "";
    try {
      const rendered = renderTaskDefinition({
        templateText,
        source: DEFAULT_TEMPLATE,
        environmentName: env.name,
        environment,
        repository: adopted.repository,
        image: DIGEST.test(liveImage) ? liveImage : `${adopted.repository}@sha256:${"0".repeat(64)}`,
        release: releaseOf(env.taskDefinition, adopted.container) ?? "init",
        planCommand: ctx.command("plan", { env: env.name }),
      });
      const changes = taskDefinitionChanges(env.taskDefinition, rendered);
      problems.push(
        ...changes.filter((line) => !setByEveryDeploy.test(line)).map((line) => `${env.name}: ${line}`),
      );
      const liveTags = Object.entries(env.tags).filter(([key]) => !key.startsWith("shipyard:"));
      const renderedTags = (rendered.tags ?? []).map((t) => [t.key, t.value]);
      if (JSON.stringify(renderedTags) !== JSON.stringify(liveTags))
        problems.push(`${env.name}: tags differ`);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(...error.problems.map((p) => `${env.name}: ${p}`));
      continue;
    }
    const desired = strategies[environment.deployment.strategy].configure(environment.deployment);
    const changes = deploymentChanges(env.description.deploymentConfiguration ?? {}, desired);
    if (changes.length > 0) {
      settingChanges.push(
        `${env.name}: the next deploy also changes the service's deployment settings (${changes.join("; ")}); set environments.${env.name}.deployment to keep them`,
      );
    }
  }
  return { problems, settingChanges };
}

async function existingFiles(root: string, paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    const code = await lstat(resolve(root, path)).then(
      () => "EXISTS",
      (error: NodeJS.ErrnoException) => error.code,
    );
    if (code !== "ENOENT" && code !== "ENOTDIR") found.push(path);
  }
  return found;
}

/** All files or none: each is written beside its place first, then moved in. */
async function writeAll(
  root: string,
  files: ReadonlyArray<readonly [string, string]>,
): Promise<{ ok: true } | { ok: false; problem: string }> {
  const staged: string[] = [];
  for (const [path, text] of files) {
    const target = resolve(root, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(`${target}.shipyard-init`, text);
      staged.push(target);
    } catch (error) {
      await Promise.all(staged.map((done) => unlink(`${done}.shipyard-init`).catch(() => {})));
      return { ok: false, problem: `Cannot write ${target} (${(error as NodeJS.ErrnoException).code})` };
    }
  }
  for (const target of staged) await rename(`${target}.shipyard-init`, target);
  return { ok: true };
}

function refused(ctx: CommandContext, reason: string, nextSteps: readonly string[]): Report {
  return ctx.report.finish("failed", ExitCode.BadInput, {
    reason: `${reason.replace(/[.\s]+$/, "")}; nothing was written`,
    nextSteps,
  });
}

/** This same init, as the user would type it again. */
function initCommand(ctx: CommandContext, options: Options): string {
  const lists = (["env", "region", "cluster", "service"] as const).flatMap((key) =>
    options[key].map((value) => `--${key} ${value}`),
  );
  return [ctx.command("init", { container: options.container, dir: options.dir }), ...lists].join(" ");
}

function planCommand(
  ctx: CommandContext,
  env: LiveService,
  adopted: Adopted,
  dir: string | undefined,
): string {
  const image = imageOf(env.taskDefinition, adopted.container) ?? "";
  const plan = DIGEST.test(image)
    ? ctx.command("plan", { env: env.name })
    : ctx.command("plan", { env: env.name, image: `${adopted.repository}@sha256:<digest>` });
  return dir === undefined ? plan : `${plan} --config ${join(dir, DEFAULT_CONFIG)}`;
}

function tell(
  ctx: CommandContext,
  read: { live: readonly LiveService[]; awsCalls: number },
  decisions: readonly string[],
  toDecide: readonly string[],
): void {
  const progress = ctx.output;
  progress.info(`Read ${read.live.length} service(s) with ${read.awsCalls} AWS call(s):`);
  for (const env of read.live) {
    progress.info(
      `  ${env.name}: ${env.cluster}/${env.service} in ${env.region} runs ${shortArn(env.taskDefinition.taskDefinitionArn)}`,
    );
  }
  progress.info("Decided:");
  for (const decision of decisions) progress.info(`  - ${decision}`);
  progress.info(`Wrote ${WRITTEN.join(", ")}.`);
  progress.info("Still yours to decide:");
  for (const question of toDecide) progress.info(`  - ${question}`);
}
