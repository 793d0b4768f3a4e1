/**
 * `schema`: the JSON Schema of shipyard.json, generated from the zod schema Shipyard validates with,
 * so editors complete and check the file as you type.
 */
import { InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandContext } from "./context.js";
import { defineCommand, type OptionValues } from "./spec.js";

const options = {
  out: {
    type: "string",
    value: "PATH",
    help: "file to write (the repository keeps schema/shipyard.schema.json: `npm run schema`); default: print it on stdout",
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "schema",
  description:
    'Writes the JSON Schema of shipyard.json, generated from the zod schema Shipyard validates with, so editors complete and check the file as you type (add "$schema": "./node_modules/@acme/shipyard/schema/shipyard.schema.json").',
  config: "none",
  options,
  examples: ["shipyard schema --out schema/shipyard.schema.json"],
  exitCodes: "0 written · 2 the file cannot be written",
  run: schema,
});

async function schema(ctx: CommandContext, options: Options): Promise<Report> {
  const { generateSchema } = await import("../config/json-schema.js");
  const text = generateSchema();
  if (options.out === undefined) {
    ctx.output.json(JSON.parse(text));
    return ctx.report.succeeded();
  }
  const { writeFile } = await import("node:fs/promises");
  const { resolve } = await import("node:path");
  const path = resolve(ctx.runtime.files.root, options.out);
  await writeFile(path, text).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      `Cannot write ${path} (${error.code ?? error.message}).`,
      [],
      "pass --out a path in a folder that exists",
    );
  });
  ctx.output.info(`Wrote ${path}`);
  return ctx.report.section("details", { written: path }).succeeded();
}
