/**
 * Every diagram Shipyard emits is valid Mermaid: rendered by Mermaid's own renderer (its browser
 * bundle, the one the HTML page inlines) in a real headless Chromium, from real reports made by the
 * test world — a deploy that passes the gate early, one the gate rolls back, one whose rollout is
 * restored, a rollback, a one-shot verify, a release with a hostile name — and from reports made
 * hostile on purpose. Then the HTML pages: each opens with no console error, no request beyond the
 * file itself, and one SVG per diagram.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareReportHtml, writeReportHtml } from "../../bin/report-html.js";
import { SIM_TOKEN } from "../../src/emulator/sentry.js";
import { errorRateChart, mermaidText, phaseTimeline, reportDiagrams } from "../../src/report/diagrams.js";
import { reportToHtml } from "../../src/report/html.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import { captureOutput, configText, startWorld } from "../support/world.js";
import { type Browser, launchBrowser, MermaidRenderer, mermaidBundlePath } from "./browser.js";
import { makeReports, type ReportSet } from "./reports.js";

let browser: Browser;
let renderer: MermaidRenderer;
let reports: ReportSet;
const folder = mkdtempSync(join(tmpdir(), "shipyard-html-"));

beforeAll(async () => {
  [browser, reports] = await Promise.all([launchBrowser(), makeReports()]);
  renderer = await MermaidRenderer.open(browser);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(folder, { recursive: true, force: true });
});

const gateHistory = (report: Report) =>
  ((report.verification?.gate as { history?: unknown[] } | undefined)?.history ?? []) as unknown[];

/** Renders both diagrams of `report` and checks Mermaid drew every phase and every reading. */
async function renderAll(report: Report) {
  const timeline = phaseTimeline(report);
  const chart = errorRateChart(report);
  const drawnTimeline = timeline ? await renderer.render(timeline.source) : null;
  const drawnChart = chart ? await renderer.render(chart.source) : null;
  if (drawnTimeline) expect(drawnTimeline.tasks).toBe(report.timings.phases.length);
  if (drawnChart) {
    expect(drawnChart.bars).toBe(gateHistory(report).length);
    expect(drawnChart.lines).toBe(1);
  }
  return { timeline: drawnTimeline, chart: drawnChart };
}

describe("Mermaid draws every diagram of a real report", () => {
  it("a deploy that passes the gate early: timeline and error rate", async () => {
    const report = reports.succeeded;
    expect(report.outcome).toBe("succeeded");
    expect(gateHistory(report).length).toBeGreaterThan(3);
    const { timeline, chart } = await renderAll(report);
    expect(timeline?.texts).toContain("deploy staging · v2 · succeeded");
    expect(timeline?.taskLabels.map((label) => label.trim())).toContain("rollout 20 s");
    expect(chart?.texts).toContain("Error rate of v2 against v1");
    expect(chart?.texts).toContain("seconds into the window");
  });

  it("a deploy the gate rolls back, with its restore", async () => {
    const report = reports.gateRolledBack;
    expect(report.outcome).toBe("rolled_back");
    expect(report.timings.phases.map((p) => p.name)).toContain("restore");
    const { timeline, chart } = await renderAll(report);
    expect(timeline?.svg).toMatch(/class="[^"]*crit/);
    expect(chart).not.toBeNull();
  });

  it("a deploy whose rollout fails and is restored (no gate: no chart)", async () => {
    const report = reports.rolloutRestored;
    expect(report.outcome).toBe("rolled_back");
    expect(reportDiagrams(report).map((d) => d.title)).toEqual(["Timeline"]);
    const { timeline } = await renderAll(report);
    expect(timeline?.taskLabels.some((label) => label.startsWith("restore"))).toBe(true);
  });

  it("a rollback and a one-shot verify", async () => {
    expect(reports.rollback.outcome).toBe("succeeded");
    expect((await renderAll(reports.rollback)).timeline?.taskLabels.map((l) => l.trim())).toEqual([
      expect.stringMatching(/^restore \d+ s$/),
    ]);
    const verify = await renderAll(reports.verify);
    expect(verify.chart?.bars).toBe(1);
  });

  it("a release whose name is made to break diagrams shows as escaped text", async () => {
    const report = reports.hostile;
    expect(report.outcome).toBe("succeeded");
    const { timeline, chart } = await renderAll(report);
    const release = mermaidText(report.release!, 40);
    expect(timeline?.texts).toContain(`deploy staging · ${release} · succeeded`);
    expect(chart?.texts).toContain(mermaidText(`Error rate of ${report.release} against v1`, 80));
  });
});

describe("Mermaid draws reports made hostile on purpose", () => {
  const hostileNames = [
    'quote " and "double"',
    "colon: and :: more",
    "hash #1 and #35;",
    "semi; colon;",
    "line\nbreak\r\nand\u2028more",
    "%%{init: {'theme':'forest'}}%% comment %% here",
    "section named like a keyword",
    "title: also a keyword",
    "click me call alert(1)",
    "<img src=x onerror=alert(1)> &amp; </script>",
    "x".repeat(400),
  ];

  it("every phase named with a hostile name is drawn, with its escaped name", async () => {
    const base = reports.gateRolledBack;
    const start = Date.parse(base.timings.startedAt);
    const report: Report = {
      ...base,
      release: hostileNames.join(" "),
      timings: {
        ...base.timings,
        phases: hostileNames.map((name, i) => ({
          name,
          startedAt: new Date(start + i * 2000).toISOString(),
          seconds: 2,
        })),
      },
      verification: {
        gate: {
          ...(base.verification?.gate as object),
          release: hostileNames.join(" "),
          previousRelease: '%%;:#"',
        },
      },
    };
    const { timeline, chart } = await renderAll(report);
    const labels = timeline!.taskLabels.map((label) => label.trim());
    expect(labels).toHaveLength(hostileNames.length);
    // Each name as mermaidText writes it; those that start with a gantt keyword get a prefix.
    const keyword = /^(section|title|click) /;
    expect(labels).toEqual(
      hostileNames.map((name) => {
        const text = mermaidText(name);
        return `${keyword.test(text) ? "phase " : ""}${text} 2 s`;
      }),
    );
    expect(labels[6]).toBe("phase section named like a keyword 2 s");
    expect(chart!.texts[0]).toMatch(
      /^Error rate of quote and double colon and more hash 1 and 35 semi colon line/,
    );
    expect(chart!.texts[0]).not.toMatch(/["#;%<>:]/);
  });

  it("a window of 500 readings is thinned to 60 bars", async () => {
    const report = structuredClone(reports.succeeded);
    const gate = report.verification!.gate as { history: unknown[] };
    gate.history = Array.from({ length: 500 }, (_, i) => ({
      atSeconds: i * 5,
      errorRate: (i % 7) / 1000,
      allowedErrorRate: 0.01,
    }));
    const chart = await renderer.render(errorRateChart(report)!.source);
    expect(chart.bars).toBe(60);
    expect(chart.texts).toContain("2495");
  });

  it("the same names unescaped are what breaks Mermaid (the renderer does fail)", async () => {
    await expect(
      renderer.render(
        ["xychart-beta", '    title "v2 "quoted": #1"', "    x-axis [0]", "    bar [1]"].join("\n"),
      ),
    ).rejects.toThrow(/Parse error/);
    await expect(
      renderer.render(
        ["gantt", "    dateFormat x", "    section s", "    line", "break 1 s :p1, 0, 1000"].join("\n"),
      ),
    ).rejects.toThrow(/Parse error/);
    // A keyword at the start of a task line silently swallows the task.
    const swallowed = await renderer.render(
      ["gantt", "    dateFormat x", "    section s", "    section x 1 s :p1, 0, 1000"].join("\n"),
    );
    expect(swallowed.tasks).toBe(0);
  });
});

/** Opens a page file in Chromium; returns what it logged, requested and drew. */
async function openPage(path: string) {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("request", (request) => requests.push(request.url()));
  try {
    await page.goto(`file://${path}`);
    const expected = await page.locator("pre.mermaid").count();
    await page.waitForFunction(
      (count) =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll("pre.mermaid svg").length === count,
      expected,
      { timeout: 15_000 },
    );
    const texts = await page.locator("pre.mermaid svg text").allTextContents();
    return { expected, svgs: await page.locator("pre.mermaid svg").count(), errors, requests, texts };
  } finally {
    await page.close();
  }
}

describe("the HTML page", () => {
  const library = () => readFileSync(mermaidBundlePath(), "utf8");

  it("of real reports opens offline with no console error and an SVG per diagram", async () => {
    const { gateRolledBack, hostile } = reports;
    for (const [name, report] of Object.entries({ gateRolledBack, hostile })) {
      const path = join(folder, `${name}.html`);
      writeFileSync(path, reportToHtml(report, { mermaidLibrary: library(), scrubber: new Scrubber() }));
      const opened = await openPage(path);
      expect({ name, ...opened, texts: undefined }).toEqual({
        name,
        expected: reportDiagrams(report).length,
        svgs: reportDiagrams(report).length,
        errors: [],
        requests: [`file://${path}`],
        texts: undefined,
      });
      expect(opened.texts.join(" ")).not.toMatch(/Syntax error/i);
    }
  }, 60_000);

  it("written by `shipyard deploy --report-html`: diagrams drawn, secrets scrubbed", async () => {
    const h = await startWorld({ sentry: true });
    const appRoot = mkdtempSync(join(folder, "app-"));
    try {
      const now = h.clock.now();
      h.sentry!.addTraffic({
        release: "v1",
        environment: "staging",
        startAt: now - 7_200_000,
        endAt: now,
        ratePerSecond: 20,
        errorRate: 0.005,
      });
      // The release carries a secret of the run: the page must not.
      const secret = "ghp_pageSecret0123456789abcdef";
      const release = `v2-${secret}`;
      h.sentry!.addTraffic({
        release,
        environment: "staging",
        startAt: now,
        ratePerSecond: 20,
        errorRate: 0.005,
      });
      h.setConfig(configText({}, { sentry: { org: "acme", project: "app" } }));
      const path = join(folder, "deploy.html");
      const { code, stderr } = await h.cli(
        [
          "deploy",
          "--env",
          "staging",
          "--image",
          `ghcr.io/acme/app@sha256:${"a".repeat(64)}`,
          "--release",
          release,
          "--report-html",
          path,
        ],
        { env: { ...h.env, GITHUB_TOKEN: secret } },
        { files: { ...h.files, root: appRoot } },
      );
      expect(code).toBe(0);
      expect(stderr).toContain(`Report page: ${path}`);
      const html = readFileSync(path, "utf8");
      expect(html).not.toContain(secret);
      expect(html).not.toContain("pageSecret");
      expect(html).not.toContain(SIM_TOKEN);
      expect(html).toContain("<code>v2-***</code>");
      const opened = await openPage(path);
      expect(opened).toMatchObject({ expected: 2, svgs: 2, errors: [], requests: [`file://${path}`] });
    } finally {
      await h.stop();
    }
  }, 30_000);

  it("still works when a secret of the run also occurs in the library's code (the library is not scrubbed)", async () => {
    const scrubber = new Scrubber();
    // A value that is a word of the library's code: masking it there would break the page.
    scrubber.add("function");
    const report = { ...reports.succeeded, reason: "the function failed" };
    const path = join(folder, "short-secret.html");
    const target = await prepareReportHtml(path, folder);
    const captured = captureOutput(scrubber);
    await writeReportHtml(target, report, captured.output);
    const html = readFileSync(path, "utf8");
    expect(html).toContain("the *** failed");
    const opened = await openPage(path);
    expect(opened).toMatchObject({ svgs: 2, errors: [] });
  }, 30_000);
});
