/**
 * `preview-down`: removes the preview of one pull request — its service (scaled to zero, then
 * deleted), its database, its listener rule and its target group — and reports what it removed.
 * Only resources tagged as that preview are touched; what is already gone is skipped, so running it
 * twice is safe (the second run removes nothing and says so).
 */
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import {
  findPreview,
  namesFor,
  previewElb,
  previewEnvironment,
  previewOptions,
  pullRequestOption,
  removePreview,
} from "./preview-shared.js";
import { defineCommand, type OptionValues } from "./spec.js";

const options = { pr: pullRequestOption, ...previewOptions } as const;
type DownOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: "preview-down",
  description:
    "Removes the preview environment of a pull request: scales its service to zero and deletes it, drops its database (a one-off task), deletes its listener rule and target group. Touches only resources tagged as that preview; safe to run again.",
  config: "environment",
  environmentOf: previewEnvironment,
  options,
  examples: ["shipyard preview-down --pr 42"],
  run: previewDown,
});

async function previewDown(ctx: EnvironmentContext, options: DownOptions): Promise<Report> {
  const names = namesFor(ctx, Number(options.pr));
  ctx.report.locate({
    environment: ctx.environmentName,
    cluster: ctx.service.cluster,
    service: names.service,
  });
  const ecs = await ctx.ecs();
  const elb = await previewElb(ctx);
  const { preview, untagged } = await ctx.report.phase("find", () => findPreview(ctx, ecs, elb, names));
  for (const what of untagged) {
    ctx.report.warn(`kept ${what}: it is not tagged as the preview of PR ${names.pr}`);
  }
  const removed = await ctx.report.phase("remove", () =>
    removePreview(ctx, ecs, elb, preview, names.database),
  );
  ctx.report.section("details", {
    pr: names.pr,
    removed,
    kept: untagged,
    awsCalls: { ecs: ecs.sent.length, elb: elb.sent.length },
  });
  ctx.output.info(
    removed.length > 0
      ? `Removed the preview of PR ${names.pr}: ${removed.join(", ")}.`
      : `There was no preview of PR ${names.pr} to remove.`,
  );
  return ctx.report.succeeded();
}
