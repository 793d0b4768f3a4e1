/**
 * `preview-gc`: removes expired previews (their time to live passed), previews not updated for
 * `--older-than`, and orphans (a target group or rule without a service, left by an interrupted
 * `preview-up`, once older than an hour). Only resources tagged as previews of the copied
 * environment are ever touched; `--dry-run` says what it would remove.
 */
import { chooseForGc } from "../deploy/preview.js";
import { ExitCode } from "../errors.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import {
  findPreviews,
  previewElb,
  previewEnvironment,
  previewOptions,
  removePreview,
} from "./preview-shared.js";
import { defineCommand, type OptionValues } from "./spec.js";

const options = {
  olderThan: {
    type: "duration",
    value: "AGE",
    help: "also remove previews not updated for this long (7d, 48h); default: only expired and orphaned ones",
  },
  dryRun: { type: "boolean", help: "list what would be removed, remove nothing" },
  ...previewOptions,
} as const;
type GcOptions = OptionValues<typeof options>;

export const command = defineCommand({
  name: "preview-gc",
  description:
    "Removes expired preview environments, those not updated for --older-than, and orphaned pieces of interrupted `preview-up` runs. Touches only resources tagged as previews; run it on a schedule.",
  config: "environment",
  environmentOf: previewEnvironment,
  options,
  examples: ["shipyard preview-gc --older-than 7d", "shipyard preview-gc --dry-run --json"],
  run: previewGc,
});

async function previewGc(ctx: EnvironmentContext, options: GcOptions): Promise<Report> {
  const ecs = await ctx.ecs();
  const elb = await previewElb(ctx);
  const previews = await ctx.report.phase("find", () => findPreviews(ctx, ecs, elb));
  const now = ctx.runtime.clock.now();
  const chosen = chooseForGc(
    previews,
    now,
    options.olderThan === undefined ? null : options.olderThan * 1000,
  );
  const removed: Array<{ pr: number; why: string; removed: string[] }> = [];
  const failures: string[] = [];
  for (const { preview, why } of chosen) {
    ctx.output.info(`PR ${preview.pr}: ${why}${options.dryRun ? " (dry run: kept)" : "; removing"}`);
    if (options.dryRun) {
      removed.push({ pr: preview.pr, why, removed: [] });
      continue;
    }
    try {
      // The database name comes from the preview's own tags, never from a guess.
      const gone = await ctx.report.phase(`remove PR ${preview.pr}`, () =>
        removePreview(ctx, ecs, elb, preview, null),
      );
      removed.push({ pr: preview.pr, why, removed: gone });
    } catch (error) {
      // One preview that cannot be removed must not keep the others alive.
      failures.push(`PR ${preview.pr}: ${(error as Error).message}`);
    }
  }
  ctx.report.section("details", {
    dryRun: options.dryRun,
    found: previews.length,
    removed,
    kept: previews.filter((p) => !chosen.some((c) => c.preview === p)).map((p) => p.pr),
  });
  if (failures.length > 0) {
    return ctx.report.finish("failed", ExitCode.NeedsAttention, {
      reason: `some previews could not be removed: ${failures.join("; ")}`,
      nextSteps: [ctx.command("preview-list")],
    });
  }
  if (chosen.length === 0) ctx.output.info("Nothing to remove.");
  return ctx.report.succeeded();
}
