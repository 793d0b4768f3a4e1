/**
 * `--report-html FILE`: the report as a self-contained HTML page (src/report/html.ts), written by the
 * CLI face after the command ran. The target folder and the Mermaid library are checked BEFORE the
 * command runs, so a typo in the path is bad input (exit 2) and not a deploy whose page is lost.
 * This module is imported only when the flag is given: `shipyard --help` never reads the library.
 */
import { constants } from "node:fs";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../src/errors.js";
import { reportToHtml } from "../src/report/html.js";
import type { Output } from "../src/report/output.js";
import type { Report } from "../src/report/report.js";

export interface HtmlTarget {
  /** Absolute path of the page. */
  path: string;
  /** The Mermaid browser bundle, inlined into the page. */
  mermaidLibrary: string;
}

/**
 * Where the Mermaid browser bundle is: next to the compiled CLI (the package build copies it to
 * dist/vendor/, so the published package needs no Mermaid dependency), else an installed `mermaid`.
 */
export function mermaidLibraryCandidates(): string[] {
  const candidates = [fileURLToPath(new URL("../vendor/mermaid/mermaid.min.js", import.meta.url))];
  try {
    candidates.push(createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js"));
  } catch {
    // Not installed: the vendored copy is the only candidate.
  }
  return candidates;
}

async function readMermaidLibrary(candidates: readonly string[]): Promise<string> {
  for (const candidate of candidates) {
    const text = await readFile(candidate, "utf8").catch(() => null);
    if (text !== null) return text;
  }
  throw new InputError(
    "--report-html needs the Mermaid library, which this installation of Shipyard does not have; nothing was changed.",
    [`looked for: ${candidates.join(", ")}`],
    "reinstall @acme/shipyard (its package carries the library), or `npm install mermaid` next to it",
  );
}

/** Checks that FILE can be written (its folder exists and is writable, it is not a folder). */
async function checkWritable(path: string, given: string): Promise<void> {
  const folder = dirname(path);
  const problem = await stat(folder).then(
    async (info) => {
      if (!info.isDirectory()) return `${folder} is not a folder`;
      const existing = await stat(path).catch(() => null);
      if (existing?.isDirectory()) return `${path} is a folder`;
      return access(folder, constants.W_OK).then(
        () => null,
        () => `${folder} is not writable`,
      );
    },
    () => `the folder ${folder} does not exist`,
  );
  if (problem !== null) {
    throw new InputError(
      `--report-html ${JSON.stringify(given)} cannot be written: ${problem}; nothing was changed.`,
      [],
      "pass --report-html a file in a folder that exists, e.g. --report-html shipyard-report.html",
    );
  }
}

/** Resolves FILE from where the user stands and checks it before the command runs. */
export async function prepareReportHtml(
  given: string,
  cwd: string,
  candidates: readonly string[] = mermaidLibraryCandidates(),
): Promise<HtmlTarget> {
  const path = resolve(cwd, given);
  await checkWritable(path, given);
  return { path, mermaidLibrary: await readMermaidLibrary(candidates) };
}

/**
 * Writes the page of `report`. A page that cannot be written after all (the disk filled up during a
 * deploy) is a warning: the command's outcome and exit code stay what they were.
 */
export async function writeReportHtml(target: HtmlTarget, report: Report, output: Output): Promise<void> {
  const page = reportToHtml(report, { mermaidLibrary: target.mermaidLibrary, scrubber: output.scrubber });
  try {
    await writeFile(target.path, page);
    output.info(`Report page: ${target.path}`);
  } catch (error) {
    output.warn(
      `could not write the report page ${target.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the report above is complete.`,
    );
  }
}
