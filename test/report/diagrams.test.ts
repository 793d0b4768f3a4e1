/**
 * The diagrams as text: what Mermaid source the report makes, how outside text is escaped, and where
 * the diagrams go in the step summary. That Mermaid draws every one of them is proven in a real
 * browser by render.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  errorRateChart,
  MAX_POINTS,
  mermaidText,
  phaseTimeline,
  reportDiagrams,
  thin,
} from "../../src/report/diagrams.js";
import { reportToMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import { captureOutput } from "../support/world.js";

const START = Date.parse("2026-11-27T12:00:00.000Z");
const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();

function history(count: number, every = 5) {
  return Array.from({ length: count }, (_, i) => ({
    atSeconds: i * every,
    requests: 100 * (i + 1),
    errored: i,
    errorRate: i / (100 * (i + 1)),
    allowedErrorRate: 0.015,
    status: "healthy",
  }));
}

function deployReport(overrides: Partial<Report> = {}): Report {
  return {
    command: "deploy",
    outcome: "rolled_back",
    exitCode: 1,
    environment: "staging",
    cluster: "main",
    service: "web",
    image: "ghcr.io/acme/app@sha256:abc",
    release: "v2",
    taskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/web:2",
    previousTaskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/web:1",
    checks: { ecs: "passed", smoke: "passed", gate: "failed" },
    reason: "error-rate gate failed: 20 of 680 requests failed",
    timings: {
      startedAt: at(0),
      finishedAt: at(60),
      totalSeconds: 60,
      // As the builder lists them: in the order they ended.
      phases: [
        { name: "preflight", startedAt: at(0), seconds: 1 },
        { name: "rollout", startedAt: at(1), seconds: 20 },
        { name: "afterRollout", startedAt: at(21), seconds: 19.5 },
        { name: "restore", startedAt: at(40.5), seconds: 19.5 },
      ],
    },
    verification: {
      decision: "fail",
      gate: {
        decision: "fail",
        release: "v2",
        previousRelease: "v1",
        baselineUsable: true,
        ended: {
          how: "consecutive-breaches",
          afterSeconds: 10,
          summary: "failed after 10 s: 2 breaching readings in a row",
        },
        history: history(3),
      },
    },
    ...overrides,
  };
}

const HOSTILE = 'v2 "quoted": #1; 50% %%{init: {"theme":"dark"}}%%\nclick x `rm` <b>&amp;</b> [a] {b} |c| =d';

describe("mermaidText", () => {
  it("keeps letters, digits and a few harmless marks; every run of anything else becomes one space", () => {
    expect(mermaidText(HOSTILE)).toBe("v2 quoted 1 50 init theme dark click x rm b amp /b a b c d");
    expect(mermaidText("release-1.2_3+build/4 @ (rc) · Zürich 東京")).toBe(
      "release-1.2_3+build/4 @ (rc) · Zürich 東京",
    );
  });

  it("leaves none of the characters Mermaid's grammars give a meaning to", () => {
    const text = mermaidText(`${HOSTILE}\r\n\t\u2028\u0000;#:%"'<>&{}[]|=,`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it must not hold.
    expect(text).not.toMatch(/["':;#%<>&{}[\]|=,`\n\r\t\u2028\u0000]/);
  });

  it("cuts long text with an ellipsis and never returns nothing", () => {
    const long = mermaidText("x".repeat(500));
    expect([...long]).toHaveLength(60);
    expect(long.endsWith("…")).toBe(true);
    expect(mermaidText("%%;;::")).toBe("-");
    expect(mermaidText("")).toBe("-");
  });
});

describe("the phase timeline", () => {
  it("draws the phases in the order they started, with durations, the restore as critical", () => {
    const report = deployReport();
    const shuffled = {
      ...report,
      timings: { ...report.timings, phases: [...report.timings.phases].reverse() },
    };
    const timeline = phaseTimeline(shuffled)!;
    expect(timeline.source.split("\n")).toEqual([
      "gantt",
      "    title deploy staging · v2 · rolled back",
      "    dateFormat x",
      "    axisFormat %H:%M:%S",
      "    section deploy",
      `    preflight 1 s :p1, ${START}, ${START + 1000}`,
      `    rollout 20 s :p2, ${START + 1000}, ${START + 21_000}`,
      `    afterRollout 19.5 s :p3, ${START + 21_000}, ${START + 40_500}`,
      `    restore 19.5 s :crit, p4, ${START + 40_500}, ${START + 60_000}`,
    ]);
    expect(timeline.caption).toBe("Each bar is a phase of the run with its duration; 60 s in all.");
  });

  it("escapes phase names and keeps a name from being read as a gantt keyword", () => {
    const report = deployReport();
    report.timings.phases = [
      { name: "section x", startedAt: at(0), seconds: 1 },
      { name: "title: #1;\nclick", startedAt: at(1), seconds: 1 },
    ];
    const lines = phaseTimeline({ ...report, release: HOSTILE })!.source.split("\n");
    expect(lines[1]).toBe("    title deploy staging · v2 quoted 1 50 init theme dark click x… · rolled back");
    expect(lines[5]).toMatch(/^ {4}phase section x 1 s :p1, /);
    expect(lines[6]).toMatch(/^ {4}phase title 1 click 1 s :p2, /);
  });

  it("is left out when no phase was timed, or a timing is unreadable", () => {
    const report = deployReport();
    expect(phaseTimeline({ ...report, timings: { ...report.timings, phases: [] } })).toBeNull();
    report.timings.phases = [{ name: "rollout", startedAt: "not a date", seconds: 3 }];
    expect(phaseTimeline(report)).toBeNull();
  });
});

describe("the error-rate chart", () => {
  it("shows each reading's error rate as bars and the allowed rate as a line, in percent", () => {
    const chart = errorRateChart(deployReport())!;
    expect(chart.source.split("\n").slice(-5)).toEqual([
      '    title "Error rate of v2 against v1"',
      '    x-axis "seconds into the window" [0, 5, 10]',
      '    y-axis "error rate (%)" 0 --> 2',
      "    bar [0, 0.5, 0.667]",
      "    line [1.5, 1.5, 1.5]",
    ]);
    expect(chart.source.startsWith("---\nconfig:\n")).toBe(true);
    expect(chart.caption).toContain(
      "red line: the highest rate allowed (from the previous release's upper bound)",
    );
  });

  it("says when the limit was the fixed one (no usable baseline)", () => {
    const report = deployReport();
    const gate = report.verification!.gate as Record<string, unknown>;
    gate.baselineUsable = false;
    const chart = errorRateChart(report)!;
    expect(chart.source).toContain('title "Error rate of v2 against the fixed limit"');
    expect(chart.caption).toContain("(the fixed limit)");
  });

  it("thins a long window to at most 60 readings, evenly, keeping the first and the last", () => {
    const points = history(500, 2);
    const thinned = thin(points);
    expect(thinned).toHaveLength(MAX_POINTS);
    expect(thinned[0]).toBe(points[0]);
    expect(thinned.at(-1)).toBe(points.at(-1));
    const report = deployReport();
    (report.verification!.gate as Record<string, unknown>).history = points;
    const chart = errorRateChart(report)!;
    expect(chart.source).toMatch(/x-axis "seconds into the window" \[0, 16, .*, 998\]/);
    expect(chart.caption).toContain("(60 of 500 readings)");
  });

  it("scales the y axis to the highest value (at least 1%, at most 100%)", () => {
    const report = deployReport();
    const gate = report.verification!.gate as Record<string, unknown>;
    gate.history = [{ atSeconds: 0, errorRate: 0.5, allowedErrorRate: 0.01 }];
    expect(errorRateChart(report)!.source).toContain('y-axis "error rate (%)" 0 --> 60');
    gate.history = [{ atSeconds: 0, errorRate: 1, allowedErrorRate: 1 }];
    expect(errorRateChart(report)!.source).toContain('y-axis "error rate (%)" 0 --> 100');
    gate.history = [{ atSeconds: 0, errorRate: 0, allowedErrorRate: 0.001 }];
    expect(errorRateChart(report)!.source).toContain('y-axis "error rate (%)" 0 --> 2');
  });

  it("is left out when the gate did not run or took no reading", () => {
    expect(errorRateChart(deployReport({ verification: { decision: "not-configured" } }))).toBeNull();
    expect(errorRateChart(deployReport({ verification: { gate: { history: [] } } }))).toBeNull();
    expect(
      errorRateChart(deployReport({ verification: { gate: { history: [{ atSeconds: "x" }] } } })),
    ).toBeNull();
    expect(reportDiagrams(deployReport({ verification: undefined })).map((d) => d.title)).toEqual([
      "Timeline",
    ]);
  });
});

describe("the step summary", () => {
  it("shows the timeline under Phases and the error-rate chart as ```mermaid blocks, and keeps the Gate line", () => {
    const markdown = reportToMarkdown(deployReport());
    const blocks = [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    expect(blocks).toEqual(reportDiagrams(deployReport()).map((d) => d.source));
    expect(markdown).toContain("**Gate:** failed after 10 s: 2 breaching readings in a row");
    expect(markdown.indexOf("### Phases")).toBeLessThan(markdown.indexOf("```mermaid\ngantt"));
    expect(markdown).toContain("### Error rate\n\n```mermaid\n---");
    expect(markdown).toContain("| restore | 19.5 |");
  });

  it("leaves the reading-by-reading history to the chart (the JSON report keeps it)", () => {
    const report = deployReport();
    const markdown = reportToMarkdown(report);
    expect(markdown).not.toContain('"history"');
    expect(markdown).toContain('"previousRelease": "v1"');
    expect((report.verification!.gate as { history: unknown[] }).history).toHaveLength(3);
  });

  it("has no diagram for a command without phases or gate", () => {
    const report = deployReport({ command: "plan", outcome: "planned", verification: undefined });
    report.timings.phases = [];
    expect(reportToMarkdown(report)).not.toContain("```mermaid");
  });

  it("is scrubbed before the diagrams rewrite text, so a secret in a name cannot slip through escaped", async () => {
    const secret = "s3cr3t:value#with;marks-0123456789";
    const scrubber = new Scrubber();
    scrubber.add(secret);
    const captured = captureOutput(scrubber);
    await captured.output.emit(deployReport({ release: `v2-${secret}` }), { json: false });
    const summary = captured.summaries.join("");
    expect(summary).toContain("```mermaid");
    expect(summary).not.toContain("s3cr3t");
    expect(summary).toContain("title deploy staging · v2- · rolled back");
  });
});
