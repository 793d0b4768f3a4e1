/**
 * The one way out of the process. Progress lines go to stderr, the JSON report to stdout, the
 * Markdown summary to $GITHUB_STEP_SUMMARY when the runner has one — and every one of them passes the
 * same scrubber first. The faces only provide the channels.
 */
import { EXIT_CODE_MEANINGS, exitMeaning } from "../errors.js";
import { reportToMarkdown } from "./markdown.js";
import type { Progress } from "./progress.js";
import { type Report, verifiedBy } from "./report.js";
import type { Scrubber } from "./scrub.js";

export interface Channels {
  /** Machine output (the JSON report). */
  stdout(text: string): void;
  /** Human output (progress, the summary). */
  stderr(text: string): void;
  /** Appends Markdown to the CI step summary, when there is one. */
  appendSummary?(markdown: string): Promise<void>;
}

export class Output implements Progress {
  constructor(
    private readonly channels: Channels,
    readonly scrubber: Scrubber,
  ) {}

  info(message: string): void {
    this.channels.stderr(this.scrubber.scrub(message));
  }

  warn(message: string): void {
    this.channels.stderr(this.scrubber.scrub(`warning: ${message}`));
  }

  step(message: string): void {
    this.channels.stderr(this.scrubber.scrub(`  … ${message}`));
  }

  /** A line of a command's own product on stdout (a log line), scrubbed; never used with --json. */
  line(text: string): void {
    this.channels.stdout(this.scrubber.scrub(text));
  }

  /** Exactly one JSON document on stdout. */
  json(value: unknown): void {
    this.channels.stdout(this.scrubber.scrub(JSON.stringify(value, null, 2)));
  }

  /** Prints the report everywhere it belongs and returns its exit code. */
  async emit(report: Report, options: { json: boolean }): Promise<number> {
    for (const line of humanSummary(report)) this.info(line);
    if (options.json) this.json(report);
    if (this.channels.appendSummary) {
      try {
        // Scrubbed before and after: the diagrams rewrite text, which would hide a secret from a scrub after.
        const markdown = reportToMarkdown(this.scrubber.scrubValue(report));
        await this.channels.appendSummary(this.scrubber.scrub(markdown));
      } catch (error) {
        // The summary is a courtesy: never turn a good deploy into a failed job over it.
        this.warn(
          `could not write $GITHUB_STEP_SUMMARY (${(error as Error).message}); the report above is complete.`,
        );
      }
    }
    return report.exitCode;
  }
}

const verdict: Record<Report["outcome"], string> = {
  succeeded: "succeeded",
  rolled_back: "failed and was rolled back",
  failed: "failed",
  planned: "planned (nothing was changed)",
};

/** The short human version of a report, for stderr and the Dagger error message. */
export function humanSummary(report: Report): string[] {
  const where = report.environment ? ` ${report.environment}` : "";
  const lines = [
    `shipyard ${report.command}${where}: ${verdict[report.outcome]} (exit ${report.exitCode}: ${exitMeaning(report.exitCode, report.command)}; ${report.timings.totalSeconds}s)`,
  ];
  if (report.cluster && report.service) lines.push(`  service:  ${report.cluster}/${report.service}`);
  if (report.image) lines.push(`  image:    ${report.image}`);
  if (report.release) lines.push(`  release:  ${report.release}`);
  if (report.taskDefinition) lines.push(`  revision: ${report.taskDefinition}`);
  if (report.previousTaskDefinition) lines.push(`  previous: ${report.previousTaskDefinition}`);
  if (report.command === "deploy" && report.outcome === "succeeded") {
    lines.push(`  verified: ${verifiedBy(report.checks)}`);
  }
  for (const row of report.services ?? []) {
    const revision = row.taskDefinition?.split("/").at(-1) ?? "—";
    const rollout = row.rollout && row.rollout !== "completed" ? `, rollout ${row.rollout}` : "";
    lines.push(`  ${`${row.name}:`.padEnd(9)} ${row.state} on ${revision}${rollout}`);
  }
  if (report.reason) lines.push(`  why:      ${report.reason}`);
  lines.push(...diagnosisLines(report.diagnosis));
  for (const warning of report.warnings ?? []) lines.push(`  warning:  ${warning}`);
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("  next:");
    for (const step of report.nextSteps) lines.push(`    ${step}`);
  }
  return lines;
}

/** Log lines shown in the human summary per container (the JSON and Markdown carry more). */
const SUMMARY_LOG_LINES = 5;

/** The diagnosis, short: the cause, the fix, what could not be read, the newest log lines. */
function diagnosisLines(diagnosis: Report["diagnosis"]): string[] {
  if (!diagnosis) return [];
  const lines = [`  cause:    ${diagnosis.summary}`];
  if (diagnosis.fix) lines.push(`  fix:      ${diagnosis.fix}`);
  for (const note of diagnosis.notes) lines.push(`  note:     ${note}`);
  for (const log of diagnosis.logs) {
    if (log.lines.length === 0) continue;
    lines.push(`  logs:     ${log.container} in task ${log.taskId.slice(0, 8)}, newest first:`);
    for (const line of log.lines.slice(0, SUMMARY_LOG_LINES)) lines.push(`    ${line}`);
  }
  return lines;
}

/** The exit-code table, for usage texts. */
export function exitCodeTable(): string {
  return Object.entries(EXIT_CODE_MEANINGS)
    .map(([code, meaning]) => `  ${code}  ${meaning}`)
    .join("\n");
}
