/**
 * `--report-html FILE` on the CLI: which commands take it, what a bad FILE does (exit 2 before any
 * AWS call), a page that cannot be written after the command (a warning, the exit code unchanged),
 * the page's escaping and scrubbing, and that `shipyard --help` loads neither the page's code nor
 * Mermaid. That the page draws its diagrams in a browser is in render.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { mermaidLibraryCandidates, prepareReportHtml, writeReportHtml } from "../../bin/report-html.js";
import { ExitCode, InputError } from "../../src/errors.js";
import { escapeHtml, inlineScript, reportToHtml } from "../../src/report/html.js";
import type { Report } from "../../src/report/report.js";
import { Scrubber } from "../../src/report/scrub.js";
import { captureOutput, NEW_IMAGE, startWorld, type World } from "../support/world.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const folder = mkdtempSync(join(tmpdir(), "shipyard-report-html-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let h: World;
beforeEach(async () => {
  h = await startWorld();
});
afterEach(async () => {
  await h.stop();
});

const deployArgs = ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--release", "v2"];

const report: Report = {
  command: "deploy",
  outcome: "failed",
  exitCode: 3,
  environment: "staging",
  cluster: "main",
  service: "web",
  image: null,
  release: 'v2 <script>alert("x")</script> & </pre>',
  taskDefinition: null,
  previousTaskDefinition: null,
  checks: { ecs: "failed", smoke: "not-run", gate: "not-run" },
  reason: "the token tok_secret_0123456789 was refused",
  timings: {
    startedAt: "2026-11-27T12:00:00.000Z",
    finishedAt: "2026-11-27T12:00:05.000Z",
    totalSeconds: 5,
    phases: [{ name: "rollout", startedAt: "2026-11-27T12:00:00.000Z", seconds: 5 }],
  },
};

describe("--report-html on the command line", () => {
  it("is offered by deploy, rollback and verify (CLI only)", async () => {
    for (const command of ["deploy", "rollback", "verify"]) {
      const { code, stderr } = await h.cli([command, "--help"]);
      expect(code).toBe(0);
      expect(stderr).toMatch(/--report-html FILE\s+also write the report as a self-contained HTML page/);
    }
  });

  it("writes the page after the command, and says where", async () => {
    const path = join(folder, "plan.html");
    const { code, stderr } = await h.cli([
      "plan",
      "--env",
      "staging",
      "--image",
      NEW_IMAGE,
      "--report-html",
      path,
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain(`Report page: ${path}`);
    const html = readFileSync(path, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h1 class="outcome-planned">Shipyard plan · staging · planned</h1>');
  });

  it("takes FILE relative to where the user stands", async () => {
    const cwd = mkdtempSync(join(folder, "cwd-"));
    const { code } = await h.cli(["status", "--env", "staging", "--report-html", "status.html"], { cwd });
    expect(code).toBe(0);
    expect(readFileSync(join(cwd, "status.html"), "utf8")).toContain("Shipyard status · staging");
  });

  it("a FILE in a folder that does not exist is bad input: exit 2, before any AWS call", async () => {
    const path = join(folder, "missing", "report.html");
    const { code, stderr, stdout } = await h.cli([...deployArgs, "--json", "--report-html", path]);
    expect(code).toBe(ExitCode.BadInput);
    expect(stderr).toContain(
      `--report-html "${path}" cannot be written: the folder ${dirname(path)} does not exist`,
    );
    expect(stderr).toContain("pass --report-html a file in a folder that exists");
    expect(JSON.parse(stdout)).toMatchObject({ outcome: "failed", exitCode: 2 });
    expect(h.sim.calls).toEqual([]);
  });

  it("a FILE that is a folder, or inside a file, is bad input too", async () => {
    const asFolder = mkdtempSync(join(folder, "folder-"));
    const one = await h.cli([...deployArgs, "--report-html", asFolder]);
    expect(one.code).toBe(ExitCode.BadInput);
    expect(one.stderr).toContain(`${asFolder} is a folder`);
    expect(h.sim.calls).toEqual([]);
    const file = join(folder, "plan.txt");
    await h.cli(["plan", "--env", "staging", "--image", NEW_IMAGE, "--report-html", file]);
    const callsBefore = h.sim.calls.length;
    const two = await h.cli([...deployArgs, "--report-html", join(file, "page.html")]);
    expect(two.code).toBe(ExitCode.BadInput);
    expect(two.stderr).toContain(`${file} is not a folder`);
    expect(h.sim.calls).toHaveLength(callsBefore);
  });

  it("an unprintable FILE is refused with the other options", async () => {
    const { code, stderr } = await h.cli([...deployArgs, "--report-html", "a\nb.html"]);
    expect(code).toBe(ExitCode.BadInput);
    expect(stderr).toContain("--report-html contains a control character or line break");
  });
});

describe("the page's inputs", () => {
  it("without the Mermaid library: bad input naming where it looked and what to do", async () => {
    const error = await prepareReportHtml(join(folder, "x.html"), folder, ["/nowhere/mermaid.min.js"]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain("--report-html needs the Mermaid library");
    expect(JSON.stringify(error)).not.toContain("undefined");
  });

  it("looks for the library next to the compiled CLI first (the package build copies it there), then in node_modules", () => {
    const [vendored, installed] = mermaidLibraryCandidates();
    expect(vendored).toBe(join(ROOT, "vendor/mermaid/mermaid.min.js"));
    expect(installed).toBe(join(ROOT, "node_modules/mermaid/dist/mermaid.min.js"));
    const build = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.build as string;
    expect(build).toContain(
      "cp node_modules/mermaid/dist/mermaid.min.js node_modules/mermaid/LICENSE dist/vendor/mermaid/",
    );
  });

  it("a page that cannot be written after the command is a warning; the exit code stays", async () => {
    const sub = join(folder, "vanishing");
    mkdirSync(sub);
    const target = await prepareReportHtml(join(sub, "page.html"), folder);
    rmSync(sub, { recursive: true });
    const captured = captureOutput();
    await writeReportHtml(target, report, captured.output);
    expect(captured.lines.join("\n")).toMatch(
      /warning: could not write the report page .*page\.html \(ENOENT\); the report above is complete\./,
    );
  });
});

describe("the page", () => {
  const scrubber = new Scrubber();
  scrubber.add("tok_secret_0123456789");
  const html = reportToHtml(report, { mermaidLibrary: "window.mermaid = {};", scrubber });

  it("escapes report text, so a release name cannot add markup or end the diagram's element", () => {
    expect(html).not.toContain("<script>alert");
    expect(html).toContain(
      "<code>v2 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;/pre&gt;</code>",
    );
    const diagram = /<pre class="mermaid">([\s\S]*?)<\/pre>/.exec(html)![1]!;
    expect(diagram).toContain("title deploy staging · v2 script alert( x ) /script /pre · failed");
  });

  it("is scrubbed by the run's scrubber", () => {
    expect(html).not.toContain("tok_secret");
    expect(html).toContain("the token *** was refused");
  });

  it("allows nothing from the network", () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:">`,
    );
    expect(html).not.toMatch(/\b(src|href)="https?:/);
  });

  it("inlines the library so that nothing in it can end its <script> early", () => {
    expect(inlineScript('a = "</script><script>x</SCRIPT>"')).toBe(
      'a = "\\x3C/script>\\x3Cscript>x\\x3C/SCRIPT>"',
    );
    const page = reportToHtml(report, { mermaidLibrary: 'var s = "</script>";', scrubber });
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    expect(escapeHtml(`<&>"'`)).toBe("&lt;&amp;&gt;&quot;&#39;");
  });
});

/** Static value imports (not `import type`, not `await import()`) of one file. */
function staticImports(file: string): string[] {
  const statement = /^\s*(?:import|export)\s+(?!type\b)(?:[^;"']*?\sfrom\s+)?["']([^"']+)["']/gm;
  return [...readFileSync(file, "utf8").matchAll(statement)].map((m) => m[1]!);
}

describe("start-up cost", () => {
  it("`shipyard --help` reaches neither the page's code nor Mermaid nor Playwright", () => {
    // bin/shipyard.ts imports bin/cli.ts; what cli.ts reaches statically is what every start loads.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [join(ROOT, "bin/cli.ts")];
    while (queue.length > 0) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of staticImports(file)) {
        if (specifier.startsWith(".")) queue.push(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
        else packages.add(specifier);
      }
    }
    const loaded = [...seen].map((file) => file.slice(ROOT.length));
    expect(loaded).toContain("src/report/markdown.ts");
    expect(loaded).not.toContain("bin/report-html.ts");
    expect(loaded).not.toContain("src/report/html.ts");
    expect([...packages].filter((name) => /mermaid|playwright/.test(name))).toEqual([]);
  });
});
