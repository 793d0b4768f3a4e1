/**
 * A real headless browser for the diagram tests: Debian's Chromium driven by playwright-core, with a
 * fresh profile and nothing that reaches for the network. `MermaidRenderer` loads Mermaid's own
 * browser bundle into a blank page and renders diagram source with it, exactly as GitHub and the
 * HTML report do: a diagram Mermaid cannot parse makes `render` throw.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function mermaidBundlePath(): string {
  return createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js");
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh --user-data-dir (playwright passes the folder as that flag). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  }
  const profile = mkdtempSync(join(tmpdir(), "shipyard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What Mermaid drew: the SVG, and the counts of the marks the tests look for. */
export interface Rendered {
  svg: string;
  /** Gantt: task bars. */
  tasks: number;
  /** Gantt: the texts of the task labels, in order. */
  taskLabels: string[];
  /** xychart: bars and line paths. */
  bars: number;
  lines: number;
  /** Every text the SVG shows. */
  texts: string[];
}

/** The little of the browser's DOM the page functions use (the project compiles without lib.dom). */
interface DomElement {
  innerHTML: string;
  textContent: string | null;
  querySelectorAll(selector: string): Iterable<DomElement> & { length: number };
}
declare const document: DomElement & { getElementById(id: string): DomElement | null };

declare const mermaid: {
  initialize(config: Record<string, unknown>): void;
  render(id: string, source: string): Promise<{ svg: string }>;
};

export class MermaidRenderer {
  private count = 0;
  private constructor(private readonly page: Page) {}

  static async open(browser: Browser): Promise<MermaidRenderer> {
    const page = await browser.context.newPage();
    await page.setContent("<!doctype html><html><body><div id=out></div></body></html>");
    await page.addScriptTag({ content: readFileSync(mermaidBundlePath(), "utf8") });
    await page.evaluate(() => mermaid.initialize({ startOnLoad: false, securityLevel: "strict" }));
    return new MermaidRenderer(page);
  }

  /** Renders `source` with Mermaid; rejects with Mermaid's message when it is not valid. */
  async render(source: string): Promise<Rendered> {
    this.count += 1;
    return this.page.evaluate(
      async ({ id, source }) => {
        const { svg } = await mermaid.render(id, source);
        const out = document.getElementById("out")!;
        out.innerHTML = svg;
        const texts = [...out.querySelectorAll("text")].map((t) => t.textContent ?? "");
        const result = {
          svg,
          tasks: out.querySelectorAll("rect.task").length,
          taskLabels: [
            ...out.querySelectorAll("text.taskText, text.taskTextOutsideRight, text.taskTextOutsideLeft"),
          ].map((t) => t.textContent ?? ""),
          bars: out.querySelectorAll(".bar-plot-0 rect").length,
          lines: out.querySelectorAll(".line-plot-1 path").length,
          texts,
        };
        out.innerHTML = "";
        return result;
      },
      { id: `diagram${this.count}`, source },
    );
  }
}
