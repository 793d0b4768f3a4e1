/**
 * `preview-list`: every preview of the copied environment, found by its tags — running, expired,
 * orphaned (pieces without a service, left by an interrupted `preview-up`) or starting. Changes nothing.
 */
import { previewState } from "../deploy/preview.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import {
  describePreview,
  findPreviews,
  previewElb,
  previewEnvironment,
  previewOptions,
  previewSettings,
} from "./preview-shared.js";
import { defineCommand } from "./spec.js";

export const command = defineCommand({
  name: "preview-list",
  description:
    "Lists the preview environments of the environment `previews.from` names: each pull request's URL, state (running, expired, orphaned, starting), service, rule and target group, and when it expires. Changes nothing.",
  config: "environment",
  environmentOf: previewEnvironment,
  options: previewOptions,
  examples: ["shipyard preview-list --json"],
  run: previewList,
});

async function previewList(ctx: EnvironmentContext): Promise<Report> {
  const ecs = await ctx.ecs();
  const elb = await previewElb(ctx);
  const previews = await ctx.report.phase("find", () => findPreviews(ctx, ecs, elb));
  const now = ctx.runtime.clock.now();
  const host = previewSettings(ctx).host;
  const rows = previews.map((preview) => {
    const url = `https://${host.replaceAll("{{PR}}", String(preview.pr))}`;
    const state = previewState(preview, now);
    ctx.output.info(describePreview(preview, url, state));
    return {
      pr: preview.pr,
      state,
      url,
      service: preview.service?.name ?? null,
      running: preview.service?.running ?? null,
      desired: preview.service?.desired ?? null,
      rulePriority: preview.rule ? Number(preview.rule.priority) : null,
      targetGroup: preview.targetGroup?.name ?? null,
      commit: preview.service?.tags.commit ?? null,
      expires: preview.service?.tags.expiresAt
        ? new Date(preview.service.tags.expiresAt).toISOString()
        : null,
    };
  });
  if (rows.length === 0) ctx.output.info(`No previews of ${ctx.environmentName}.`);
  ctx.report.section("details", { previews: rows, maxPreviews: previewSettings(ctx).maxPreviews });
  return ctx.report.succeeded();
}
