/**
 * The report as pictures: Mermaid source for the timeline of its phases (a gantt chart) and, when the
 * error-rate gate read the new release, its error rate over the window against the rate the gate
 * allowed (an xychart). GitHub draws ```mermaid blocks in the step summary; the HTML report draws the
 * same source with the Mermaid library inlined. Built from the Report alone, so every face gets the
 * same pictures.
 *
 * Mermaid's grammars give meaning to quotes, colons, `#`, `;`, `%%`, braces and line breaks, and a
 * line that starts with a keyword (`title`, `section`, `click`...) is read as that keyword. Every piece
 * of text that does not come from this file (release and environment names, phase names, the reason)
 * therefore passes `mermaidText`, which keeps letters, digits and a few harmless marks, and no more.
 */
import type { PhaseTiming, Report } from "./report.js";

export interface Diagram {
  /** What the diagram shows, as a heading. */
  title: string;
  /** Mermaid source, without the ```mermaid fence. */
  source: string;
  /** How to read it, in one or two sentences (Markdown-safe plain text). */
  caption: string;
}

/** Longest text put into a diagram; the full values are in the report next to it. */
const MAX_TEXT = 60;
/** Readings drawn at most: a long window's x axis stays readable (evenly thinned, the last kept). */
export const MAX_POINTS = 60;

/**
 * `value` as text any Mermaid diagram shows as written: letters, digits, spaces and `. _ - + / @ ( ) ·`;
 * every run of anything else becomes one space. Cut to `max` characters, never empty.
 */
export function mermaidText(value: string, max = MAX_TEXT): string {
  const kept = value
    .replace(/[^\p{L}\p{N} ._\-+/@()·]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const text =
    [...kept].length > max
      ? `${[...kept]
          .slice(0, max - 1)
          .join("")
          .trimEnd()}…`
      : kept;
  return text === "" ? "-" : text;
}

/** Words that start a statement of their own at the beginning of a gantt line. */
const GANTT_KEYWORDS =
  /^(title|section|dateformat|axisformat|tickinterval|excludes|includes|todaymarker|weekday|weekend|click|call|href|inclusiveenddates|topaxis|acctitle|accdescr|displaymode)\b/i;

/** A gantt task or section name: mermaidText, and never read as a keyword. */
function ganttName(value: string): string {
  const text = mermaidText(value);
  return GANTT_KEYWORDS.test(text) ? `phase ${text}` : text;
}

const outcomeWords: Record<Report["outcome"], string> = {
  succeeded: "succeeded",
  rolled_back: "rolled back",
  failed: "failed",
  planned: "planned",
};

/** "deploy staging · v2 · rolled back", for diagram titles: a long release is cut, the outcome stays. */
function runTitle(report: Report): string {
  const where = report.environment ? `${report.command} ${report.environment}` : report.command;
  const release = report.release ? ` · ${mermaidText(report.release, 40)}` : "";
  return `${mermaidText(where, 40)}${release} · ${outcomeWords[report.outcome]}`;
}

function formatSeconds(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/** Phases in the order they started (the report lists them as they ended: nested ones first). */
function phasesByStart(phases: readonly PhaseTiming[]): Array<PhaseTiming & { start: number }> {
  return phases
    .map((phase) => ({ ...phase, start: Date.parse(phase.startedAt) }))
    .filter((phase) => Number.isFinite(phase.start) && Number.isFinite(phase.seconds) && phase.seconds >= 0)
    .sort((a, b) => a.start - b.start);
}

/**
 * The phases on a time axis (the viewer's time of day), each bar labelled with its duration; the
 * phase that puts the previous revision back is drawn as critical. Null when no phase was timed.
 */
export function phaseTimeline(report: Report): Diagram | null {
  const phases = phasesByStart(report.timings.phases);
  if (phases.length === 0) return null;
  const tasks = phases.map((phase, index) => {
    const tag = phase.name === "restore" ? "crit, " : "";
    const end = phase.start + Math.round(phase.seconds * 1000);
    return `    ${ganttName(phase.name)} ${formatSeconds(phase.seconds)} :${tag}p${index + 1}, ${phase.start}, ${end}`;
  });
  const source = [
    "gantt",
    `    title ${runTitle(report)}`,
    "    dateFormat x",
    "    axisFormat %H:%M:%S",
    `    section ${ganttName(report.command)}`,
    ...tasks,
  ].join("\n");
  return {
    title: "Timeline",
    source,
    caption: `Each bar is a phase of the run with its duration; ${formatSeconds(report.timings.totalSeconds)} in all.`,
  };
}

/** One reading of the gate's window, as the report holds it (src/verify/watch.ts). */
interface GatePoint {
  atSeconds: number;
  errorRate: number;
  allowedErrorRate: number;
}

interface GateSection {
  release?: unknown;
  previousRelease?: unknown;
  baselineUsable?: unknown;
  history?: unknown;
}

function isGatePoint(value: unknown): value is GatePoint {
  if (typeof value !== "object" || value === null) return false;
  const point = value as Record<string, unknown>;
  return ["atSeconds", "errorRate", "allowedErrorRate"].every(
    (key) => typeof point[key] === "number" && Number.isFinite(point[key]),
  );
}

/** The gate's readings in the report: its `history` list, when the gate read the release at all. */
export function gateReadings(report: Report): { gate: GateSection; points: GatePoint[] } | null {
  const gate = report.verification?.gate as GateSection | undefined;
  if (typeof gate !== "object" || gate === null || !Array.isArray(gate.history)) return null;
  const points = gate.history.filter(isGatePoint);
  return points.length > 0 ? { gate, points } : null;
}

/** At most `max` points, evenly spread, the first and the last always among them. */
export function thin<T>(points: readonly T[], max = MAX_POINTS): T[] {
  if (points.length <= max) return [...points];
  const picked = new Set<number>();
  for (let i = 0; i < max; i += 1) picked.add(Math.round((i * (points.length - 1)) / (max - 1)));
  return [...picked].sort((a, b) => a - b).map((index) => points[index]!);
}

const BAR_COLOUR = "#8ab4f8";
const LINE_COLOUR = "#cf222e";

/** A rate as a percentage with at most three decimals (0.01234 → 1.234). */
const percent = (rate: number) => Math.round(rate * 100_000) / 1000;

/** A round top for the y axis: just above the highest value, at least 1%. */
function axisTop(values: readonly number[]): number {
  const highest = Math.max(1, ...values) * 1.1;
  const step = 10 ** Math.floor(Math.log10(highest));
  return Math.min(100, Math.ceil(highest / step) * step);
}

/**
 * The new release's error rate at each reading of the gate (bars) against the rate it was allowed
 * (a line: the previous release's upper bound plus tolerance, or the fixed limit without a usable
 * baseline), seconds into the window on the x axis. Null when the gate took no reading.
 */
export function errorRateChart(report: Report): Diagram | null {
  const readings = gateReadings(report);
  if (readings === null) return null;
  const { gate } = readings;
  const points = thin(readings.points);
  const rates = points.map((point) => percent(point.errorRate));
  const allowed = points.map((point) => percent(point.allowedErrorRate));
  const release = typeof gate.release === "string" ? gate.release : (report.release ?? "the new release");
  const previous = typeof gate.previousRelease === "string" ? gate.previousRelease : null;
  const against =
    previous && gate.baselineUsable === true ? ` against ${previous}` : " against the fixed limit";
  const source = [
    // Bars and line in colours that tell them apart (the chart has no legend where GitHub draws it).
    "---",
    "config:",
    "  themeVariables:",
    "    xyChart:",
    `      plotColorPalette: "${BAR_COLOUR}, ${LINE_COLOUR}"`,
    "---",
    "xychart-beta",
    `    title "${mermaidText(`Error rate of ${release}${against}`, 80)}"`,
    `    x-axis "seconds into the window" [${points.map((point) => Math.round(point.atSeconds)).join(", ")}]`,
    `    y-axis "error rate (%)" 0 --> ${axisTop([...rates, ...allowed])}`,
    `    bar [${rates.join(", ")}]`,
    `    line [${allowed.join(", ")}]`,
  ].join("\n");
  const thinned =
    points.length < readings.points.length ? ` (${points.length} of ${readings.points.length} readings)` : "";
  const from =
    previous && gate.baselineUsable === true
      ? " (from the previous release's upper bound)"
      : " (the fixed limit)";
  return {
    title: "Error rate",
    source,
    caption:
      `Blue bars: the new release's error rate so far at each reading${thinned}; red line: the highest rate allowed${from}. ` +
      "A reading breaches when even the lower bound of its rate is above the line.",
  };
}

/** Every diagram the report has, in reading order. */
export function reportDiagrams(report: Report): Diagram[] {
  return [phaseTimeline(report), errorRateChart(report)].filter(
    (diagram): diagram is Diagram => diagram !== null,
  );
}
