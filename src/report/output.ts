/**
 * Where a report goes: JSON on stdout with --json (the machine contract), a short human summary on
 * stderr always, and Markdown appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.
 */
import { appendFile } from "node:fs/promises";
import { reportToMarkdown } from "./markdown.js";
import type { Report } from "./report.js";

export interface ReportIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

const verdict: Record<Report["outcome"], string> = {
  succeeded: "succeeded",
  rolled_back: "failed and was rolled back",
  failed: "failed",
  planned: "planned (nothing was changed)",
};

export function humanSummary(report: Report): string[] {
  const lines = [
    `shipyard ${report.command} ${report.environment}: ${verdict[report.outcome]} (exit ${report.exitCode}, ${report.timings.totalSeconds}s)`,
    `  service:  ${report.cluster}/${report.service}`,
  ];
  if (report.image) lines.push(`  image:    ${report.image}`);
  if (report.taskDefinition) lines.push(`  revision: ${report.taskDefinition}`);
  if (report.previousTaskDefinition) lines.push(`  previous: ${report.previousTaskDefinition}`);
  if (report.reason) lines.push(`  why:      ${report.reason}`);
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("  next:");
    for (const step of report.nextSteps) lines.push(`    ${step}`);
  }
  return lines;
}

/** Prints the report everywhere it belongs and returns its exit code. */
export async function emitReport(report: Report, io: ReportIO, options: { json: boolean }): Promise<number> {
  for (const line of humanSummary(report)) io.stderr(line);
  if (options.json) io.stdout(JSON.stringify(report, null, 2));
  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) {
    try {
      await appendFile(summaryFile, reportToMarkdown(report));
    } catch (error) {
      // The summary is a courtesy: never turn a good deploy into a failed job over it.
      io.stderr(
        `warning: could not write $GITHUB_STEP_SUMMARY (${(error as Error).message}); the report above is complete.`,
      );
    }
  }
  return report.exitCode;
}
