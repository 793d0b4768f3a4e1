/**
 * Strict JSON for the files users write (shipyard.json, task-def.json): a syntax error names its
 * line and column, and a key given twice in one object is an error naming both lines — JSON.parse
 * would silently keep the last one, and "the last setting wins" is how a reviewed value gets lost.
 */
import { createRequire } from "node:module";
import { InputError } from "../errors.js";
import { jsonPath } from "./paths.js";

/** Loaded on first use: `shipyard --help` never parses a file. */
let jsonc: typeof import("jsonc-parser") | undefined;

export function parseJson(text: string, source: string): unknown {
  jsonc ??= createRequire(import.meta.url)("jsonc-parser") as typeof import("jsonc-parser");
  const { visit } = jsonc;
  const problems: string[] = [];
  const seen: Array<Map<string, number>> = [];
  visit(
    text,
    {
      onObjectBegin: () => void seen.push(new Map()),
      onObjectEnd: () => void seen.pop(),
      onObjectProperty: (property, _offset, _length, line, _column, pathSupplier) => {
        const keys = seen.at(-1);
        const first = keys?.get(property);
        if (first !== undefined) {
          problems.push(
            `${jsonPath([...pathSupplier(), property])}: given twice (lines ${first + 1} and ${line + 1}); keep one`,
          );
        }
        keys?.set(property, line);
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${source} is not valid JSON: ${(error as Error).message}${where(text, error)}`,
      [],
      `fix the syntax of ${source}`,
    );
  }
  if (problems.length > 0) {
    throw new InputError(
      `${source} has keys given twice; nothing was changed.`,
      problems,
      `remove the duplicates in ${source}`,
    );
  }
  return value;
}

/** " (line 3, column 7)" from the position JSON.parse reports, when it reports one. */
function where(text: string, error: unknown): string {
  const position = /position (\d+)/.exec((error as Error).message)?.[1];
  if (position === undefined || /line \d+/.test((error as Error).message)) return "";
  const before = text.slice(0, Number(position)).split("\n");
  return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}
