/**
 * The report as one self-contained HTML page (`--report-html FILE`): the summary, the same diagrams
 * as the step summary drawn by the Mermaid library inlined into the page, the phases, and the whole
 * JSON report. It opens from a CI artifact with no network: its Content-Security-Policy allows
 * nothing but what the page carries.
 *
 * The face hands in the library's browser bundle (it reads files; this module does not) and the run's
 * scrubber. The report is scrubbed before anything is built from it (diagram text is rewritten, so a
 * secret in it could no longer be recognised afterwards), and the page again before the library is
 * put in: the library holds no data of the run, and masking a short secret that happens to occur in
 * its code would break the page.
 */
import { reportDiagrams } from "./diagrams.js";
import { humanSummary } from "./output.js";
import { type Report, verifiedBy } from "./report.js";
import type { Scrubber } from "./scrub.js";

export interface HtmlOptions {
  /** The Mermaid browser bundle (mermaid/dist/mermaid.min.js), as text. */
  mermaidLibrary: string;
  /** The one scrubber of the run. */
  scrubber: Pick<Scrubber, "scrub" | "scrubValue">;
}

const outcomeLabel: Record<Report["outcome"], string> = {
  succeeded: "succeeded",
  rolled_back: "rolled back",
  failed: "failed",
  planned: "planned",
};

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Script text that cannot end its <script> element early: "</script" (and "<script", which after
 * "<!--" would change how the browser finds the end) become "\x3C/script" and "\x3Cscript", the same
 * characters inside the strings and regular expressions where a bundle can hold them.
 */
export function inlineScript(code: string): string {
  return code.replace(/<(\/?script)/gi, "\\x3C$1");
}

function row(label: string, value: string | null): string {
  return `<tr><th>${escapeHtml(label)}</th><td>${value === null || value === "" ? "—" : `<code>${escapeHtml(value)}</code>`}</td></tr>`;
}

function facts(report: Report): string[] {
  const service = report.cluster && report.service ? `${report.cluster}/${report.service}` : null;
  const gate = report.verification?.gate as { ended?: { summary?: unknown } } | undefined;
  const gateSummary = typeof gate?.ended?.summary === "string" ? gate.ended.summary : null;
  const lines = [
    "<table>",
    row("Service", service),
    row("Image", report.image),
    row("Release", report.release),
    row("Task definition", report.taskDefinition),
    row("Previous task definition", report.previousTaskDefinition),
    row("Duration", `${report.timings.totalSeconds} s`),
    row("Exit code", String(report.exitCode)),
    row("Checks", `ECS ${report.checks.ecs} · smoke ${report.checks.smoke} · gate ${report.checks.gate}`),
    "</table>",
  ];
  const said = (label: string, text: string) =>
    `<p><strong>${escapeHtml(label)}:</strong> ${escapeHtml(text)}</p>`;
  if (report.command === "deploy" && report.outcome === "succeeded")
    lines.push(said("Verified by", verifiedBy(report.checks)));
  if (gateSummary) lines.push(said("Gate", gateSummary));
  if (report.reason) lines.push(said("Why", report.reason));
  for (const warning of report.warnings ?? []) lines.push(said("Warning", warning));
  if (report.nextSteps && report.nextSteps.length > 0) {
    lines.push("<h2>Next steps</h2>", `<pre>${escapeHtml(report.nextSteps.join("\n"))}</pre>`);
  }
  return lines;
}

function phasesTable(report: Report): string[] {
  if (report.timings.phases.length === 0) return [];
  return [
    "<h2>Phases</h2>",
    "<table>",
    "<tr><th>Phase</th><th>Started</th><th>Seconds</th></tr>",
    ...report.timings.phases.map(
      (phase) =>
        `<tr><td>${escapeHtml(phase.name)}</td><td>${escapeHtml(phase.startedAt)}</td><td>${phase.seconds}</td></tr>`,
    ),
    "</table>",
  ];
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; } th, td { text-align: left; padding: .25rem .75rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
code, pre { font: 13px/1.4 ui-monospace, monospace; } pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; }
td code { word-break: break-all; }
pre.mermaid { background: none; text-align: center; }
.caption { color: #59636e; }
.outcome-succeeded { color: #1a7f37; } .outcome-rolled_back, .outcome-failed { color: #cf222e; }
`;

/** Nothing from the network: the page's own scripts and styles, and data: images and fonts. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:";

/** The page, scrubbed, with the Mermaid library inlined. */
export function reportToHtml(unscrubbed: Report, options: HtmlOptions): string {
  const report = options.scrubber.scrubValue(unscrubbed);
  const heading = `Shipyard ${report.command}${report.environment ? ` · ${report.environment}` : ""} · ${outcomeLabel[report.outcome]}`;
  const diagrams = reportDiagrams(report).flatMap((diagram) => [
    `<section class="diagram">`,
    `<h2>${escapeHtml(diagram.title)}</h2>`,
    `<pre class="mermaid">${escapeHtml(diagram.source)}</pre>`,
    `<p class="caption">${escapeHtml(diagram.caption)}</p>`,
    "</section>",
  ]);
  const before = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(heading)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1 class="outcome-${report.outcome}">${escapeHtml(heading)}</h1>`,
    ...facts(report),
    ...diagrams,
    ...phasesTable(report),
    "<h2>Summary</h2>",
    `<pre>${escapeHtml(humanSummary(report).join("\n"))}</pre>`,
    "<details><summary>The whole report (JSON)</summary>",
    `<pre>${escapeHtml(JSON.stringify(report, null, 2))}</pre>`,
    "</details>",
    "",
  ].join("\n");
  const after = [
    "",
    '<script>mermaid.initialize({ startOnLoad: true, securityLevel: "strict" });</script>',
    "</body>",
    "</html>",
    "",
  ].join("\n");
  const { scrubber } = options;
  return `${scrubber.scrub(before)}<script>${inlineScript(options.mermaidLibrary)}</script>${scrubber.scrub(after)}`;
}
