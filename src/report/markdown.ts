/**
 * The report as Markdown, for $GITHUB_STEP_SUMMARY: the outcome first, then what ran, then what to do.
 */
import { type Diagram, errorRateChart, phaseTimeline } from "./diagrams.js";
import { type Report, verifiedBy } from "./report.js";

const outcomeLabel: Record<Report["outcome"], string> = {
  succeeded: "✅ succeeded",
  rolled_back: "↩️ rolled back",
  failed: "❌ failed",
  planned: "📝 planned",
};

/** Keeps a value from breaking the table (pipes, newlines). */
function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function code(value: string | null): string {
  return value ? `\`${value.replace(/`/g, "'")}\`` : "—";
}

/**
 * A report section: scalars in a table; lists of lines (a plan's changes) as a code block; anything
 * bigger (a rendered task definition) folded away as JSON.
 */
function section(title: string, data: Record<string, unknown> | undefined): string[] {
  if (data === undefined || Object.keys(data).length === 0) return [];
  const rows: string[] = [];
  const blocks: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      if (value.length === 0) rows.push(`| ${cell(key)} | none |`);
      else blocks.push("", `**${key}**`, "", key.endsWith("Changes") ? "```diff" : "```", ...value, "```");
    } else if (typeof value === "object" && value !== null && JSON.stringify(value).length > 120) {
      blocks.push(
        "",
        `<details><summary>${key}</summary>`,
        "",
        "```json",
        JSON.stringify(value, null, 2),
        "```",
        "",
        "</details>",
      );
    } else {
      rows.push(`| ${cell(key)} | ${cell(value)} |`);
    }
  }
  const table = rows.length > 0 ? ["", "| | |", "|---|---|", ...rows] : [];
  return ["", `### ${title}`, ...table, ...blocks];
}

interface Finding {
  file: string;
  line: number;
  rule: string;
  level: string;
  why: string;
  fix: string;
}

/** A migration lint's blocking and allowed findings, each with why and the safe alternative. */
function findingsTable(migration: Record<string, unknown> | undefined): string[] {
  const lint = migration?.lint as { findings?: unknown } | undefined;
  const findings = Array.isArray(lint?.findings) ? (lint.findings as Finding[]) : [];
  const shown = findings.filter((f) => f.level !== "warning");
  if (shown.length === 0) return [];
  return [
    "",
    "### Migration lint findings",
    "",
    "| Where | Rule | Verdict | Why | Safe alternative |",
    "|---|---|---|---|---|",
    ...shown.map(
      (f) =>
        `| \`${f.file}:${f.line}\` | ${cell(f.rule)} | ${f.level === "error" ? "unsafe" : "allowed (post-deploy)"} | ${cell(f.why)} | ${cell(f.fix)} |`,
    ),
  ];
}

/** When and why the error-rate gate ended (early pass with its bound, or the window's end), if it ran. */
function gateEnding(report: Report): string | null {
  const gate = report.verification?.gate as { ended?: { summary?: unknown } } | undefined;
  const summary = gate?.ended?.summary;
  return typeof summary === "string" ? summary : null;
}

/**
 * The verification section without the gate's reading-by-reading history: the error-rate chart shows
 * it, and as folded JSON it would grow the summary by a line per reading (the JSON report keeps it).
 */
function withoutGateHistory(verification: Report["verification"]): Report["verification"] {
  const gate = verification?.gate;
  if (typeof gate !== "object" || gate === null || !("history" in gate)) return verification;
  const { history: _shown, ...rest } = gate as Record<string, unknown>;
  return { ...verification, gate: rest };
}

/** A diagram as a ```mermaid block (GitHub draws it), with how to read it. */
function mermaidBlock(diagram: Diagram | null): string[] {
  if (diagram === null) return [];
  return ["", "```mermaid", diagram.source, "```", "", cell(diagram.caption)];
}

/** The diagnosis: the cause and fix up front, the tasks, targets and last log lines below. */
function diagnosisSection(diagnosis: Report["diagnosis"]): string[] {
  if (!diagnosis) return [];
  const lines = ["", `**Cause:** ${cell(diagnosis.summary)}`];
  if (diagnosis.fix) lines.push("", `**Fix:** ${cell(diagnosis.fix)}`);
  for (const note of diagnosis.notes) lines.push("", `**Note:** ${cell(note)}`);
  if (diagnosis.tasks.length > 0) {
    lines.push(
      "",
      `### Diagnosis (${diagnosis.subject})`,
      "",
      "| Task | Stop code | Stopped reason | Containers |",
      "|---|---|---|---|",
    );
    for (const task of diagnosis.tasks) {
      const containers = task.containers
        .map(
          (c) =>
            `${c.name}${c.exitCode === null ? "" : ` exit ${c.exitCode}`}${c.reason ? ` (${c.reason})` : ""}`,
        )
        .join("; ");
      lines.push(
        `| ${code(task.taskId.slice(0, 12))} | ${cell(task.stopCode)} | ${cell(task.stoppedReason)} | ${cell(containers)} |`,
      );
    }
  }
  if (diagnosis.targets.length > 0) {
    lines.push("", "| Target | State | Reason | Description |", "|---|---|---|---|");
    for (const t of diagnosis.targets) {
      lines.push(
        `| ${cell(`${t.id}${t.port ? `:${t.port}` : ""}`)} | ${cell(t.state)} | ${cell(t.reason)} | ${cell(t.description)} |`,
      );
    }
  }
  for (const log of diagnosis.logs) {
    lines.push(
      "",
      `<details><summary>Last lines of ${log.container} in task ${log.taskId.slice(0, 12)} (newest first)</summary>`,
      "",
      "```text",
      // A line with a fence of its own would end the block early.
      ...log.lines.map((line) => line.replace(/```/g, "'''")),
      "```",
      "",
      "</details>",
    );
  }
  return lines;
}

/** One row per service and scheduled task: where it stands, what its rollout did, and why. */
function servicesTable(rows: Report["services"]): string[] {
  if (!rows || rows.length === 0) return [];
  const lines = [
    "",
    "### Services",
    "",
    "| Service | Now | Rollout | Revision | Previous | Why |",
    "|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const name = row.kind === "service" ? `${row.name}${row.traffic ? " (traffic)" : ""}` : row.name;
    const revision = (arn: string | null) => (arn ? code(arn.split("/").at(-1) ?? arn) : "—");
    lines.push(
      `| ${cell(name)} | ${cell(row.state)} | ${cell(row.rollout)} | ${revision(row.taskDefinition)} | ${revision(row.previousTaskDefinition)} | ${cell(row.reason ?? row.detail)} |`,
    );
  }
  return lines;
}

export function reportToMarkdown(report: Report): string {
  const lines = [
    `## Shipyard ${report.command}${report.environment ? ` · ${report.environment}` : ""} · ${outcomeLabel[report.outcome]}`,
    "",
    "| | |",
    "|---|---|",
    `| Service | ${code(report.cluster && report.service ? `${report.cluster}/${report.service}` : null)} |`,
    `| Image | ${code(report.image)} |`,
    `| Release | ${code(report.release)} |`,
    `| Task definition | ${code(report.taskDefinition)} |`,
    `| Previous task definition | ${code(report.previousTaskDefinition)} |`,
    `| Duration | ${report.timings.totalSeconds}s |`,
    `| Exit code | ${report.exitCode} |`,
    `| Checks | ECS ${report.checks.ecs} · smoke ${report.checks.smoke} · gate ${report.checks.gate} |`,
  ];
  if (report.command === "deploy" && report.outcome === "succeeded") {
    lines.push("", `**Verified by:** ${verifiedBy(report.checks)}`);
  }
  lines.push(...servicesTable(report.services));
  const gateEnded = gateEnding(report);
  if (gateEnded) lines.push("", `**Gate:** ${cell(gateEnded)}`);
  if (report.reason) lines.push("", `**Why:** ${cell(report.reason)}`);
  lines.push(...diagnosisSection(report.diagnosis));
  for (const warning of report.warnings ?? []) lines.push("", `**Warning:** ${cell(warning)}`);
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("", "**Next steps:**", "", "```sh", ...report.nextSteps, "```");
  }
  if (report.timings.phases.length > 0) {
    lines.push(
      "",
      "### Phases",
      ...mermaidBlock(phaseTimeline(report)),
      "",
      "| Phase | Seconds |",
      "|---|---|",
    );
    for (const phase of report.timings.phases) lines.push(`| ${cell(phase.name)} | ${phase.seconds} |`);
  }
  const errorRate = errorRateChart(report);
  if (errorRate) lines.push("", `### ${errorRate.title}`, ...mermaidBlock(errorRate));
  lines.push(...findingsTable(report.migration));
  lines.push(...section("Migration", report.migration));
  lines.push(...section("Verification", withoutGateHistory(report.verification)));
  lines.push(...section("Details", report.details));
  if (report.events && report.events.length > 0) {
    lines.push("", "<details><summary>ECS events</summary>", "");
    for (const event of report.events) lines.push(`- ${event.at} ${cell(event.message)}`);
    lines.push("", "</details>");
  }
  return `${lines.join("\n")}\n`;
}
