import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigSchema } from "../../src/config/schema.js";
import { ExitCode } from "../../src/errors.js";
import { type CliIO, type Command, parseFlags } from "../io.js";

const usage = `Usage: shipyard schema [--out PATH]

Writes the JSON Schema of shipyard.json, generated from the zod schema Shipyard validates with, so
editors complete and check the file as you type (add "$schema": "./node_modules/.../shipyard.schema.json"
or the repository's schema/shipyard.schema.json). Without --out it prints the schema on stdout.

  --out PATH    file to write (the repository keeps schema/shipyard.schema.json; \`npm run schema\`)`;

/** The schema of what a user WRITES (defaults are optional), as stable, diff-friendly text. */
export function generateSchema(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", target: "draft-2020-12" });
  return `${JSON.stringify({ ...schema, title: "Shipyard configuration (shipyard.json)" }, null, 2)}\n`;
}

export const command: Command = {
  summary: "Write the JSON Schema of shipyard.json",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(argv, { out: { type: "string" } }, usage);
    const text = generateSchema();
    if (!values.out) {
      io.stdout(text.trimEnd());
      return ExitCode.Success;
    }
    const path = resolve(io.cwd, values.out);
    await writeFile(path, text);
    io.stderr(`Wrote ${path}`);
    return ExitCode.Success;
  },
};
