/**
 * `plan`: render the task definition for an environment and show what a deploy would change against
 * the live task definition and the service's deployment settings. Changes nothing.
 */
import { shortArn } from "../aws/ecs.js";
import { imageOf } from "../config/taskdef.js";
import { deploymentChanges, taskDefinitionChanges } from "../deploy/diff.js";
import { defaultRelease } from "../deploy/revisions.js";
import { strategies } from "../deploy/strategies.js";
import { ExitCode, InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { readGateways } from "./diagnose.js";
import { printRolloutSpeed, rolloutSpeed } from "./rollout-speed.js";
import { defineCommand, environmentOptions, type OptionValues } from "./spec.js";

const options = {
  ...environmentOptions,
  image: {
    type: "string",
    value: "REPO@sha256:DIGEST",
    help: "image to plan with (default: the image the service runs now)",
  },
  release: {
    type: "string",
    value: "NAME",
    help: "release name to render (default: the commit or the digest)",
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "plan",
  description:
    "Renders the task definition for the environment and prints what a deploy would change against the live task definition and the service's deployment settings. Changes nothing.",
  config: "environment",
  options,
  examples: [
    "shipyard plan --env production --image ghcr.io/acme/shipyard-example@sha256:3f1c9a7e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
  ],
  run: plan,
});

async function plan(ctx: EnvironmentContext, options: Options): Promise<Report> {
  const { report, output: progress, environment } = ctx;
  const render = (image: string) =>
    ctx.renderTaskDefinition(image, options.release ?? defaultRelease(image, ctx.runtime.env.GITHUB_SHA));
  // With an image, everything is validated before the first AWS call.
  let rendered = options.image ? await render(options.image) : null;
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return report.refused(lookup.reason, [`check environments.${ctx.environmentName} in shipyard.json`]);
  }
  const live = await ecs.describeTaskDefinition(lookup.service.taskDefinition!);
  const liveImage = imageOf(live.taskDefinition, environment.container);
  if (rendered === null) {
    progress.info(`No --image given: planning with the live image ${liveImage ?? "(none)"}.`);
    rendered = await render(liveImage ?? "").catch((error: unknown) => {
      if (!(error instanceof InputError)) throw error;
      throw new InputError(
        error.message.split("\n")[0]!,
        error.problems,
        "pass --image REPO@sha256:DIGEST to plan with the image you mean to deploy",
      );
    });
  }
  const taskChanges = taskDefinitionChanges(live.taskDefinition, rendered);
  const desired = strategies[environment.deployment.strategy].configure(environment.deployment);
  const settingChanges = deploymentChanges(lookup.service.deploymentConfiguration ?? {}, desired);
  progress.info(
    `Plan for ${ctx.environmentName} (${ctx.service.cluster}/${ctx.service.service}, live ${shortArn(lookup.service.taskDefinition)}):`,
  );
  progress.info(
    taskChanges.length > 0
      ? "  task definition (a new revision would be registered):"
      : "  task definition: no changes",
  );
  for (const line of taskChanges) progress.info(`    ${line}`);
  progress.info(settingChanges.length > 0 ? "  deployment settings:" : "  deployment settings: no changes");
  for (const line of settingChanges) progress.info(`    ${line}`);
  // How long the rollout this plan leads to would take, and which settings would shorten it.
  const strategy = strategies[environment.deployment.strategy];
  const speed = await rolloutSpeed({
    service: lookup.service,
    containers: rendered.containerDefinitions,
    containerName: environment.container,
    deploymentConfiguration: desired,
    strategy: environment.deployment.strategy,
    bakeSeconds: strategy.bakeSeconds(environment.deployment),
    elb: readGateways(ctx).elb,
    signal: ctx.runtime.signal,
  });
  printRolloutSpeed(progress, speed);
  for (const note of speed.notes) report.warn(note);
  return report
    .set({
      image: options.image ?? liveImage,
      release: options.release ?? null,
      previousTaskDefinition: lookup.service.taskDefinition ?? null,
    })
    .section("details", {
      taskDefinitionChanges: taskChanges,
      deploymentChanges: settingChanges,
      renderedTaskDefinition: rendered,
      rolloutSpeed: speed,
    })
    .finish("planned", ExitCode.Success);
}
