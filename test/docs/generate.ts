/**
 * `npm run docs`: writes the README's reference tables from the code, so they cannot go stale:
 * the shipyard.json keys from the zod schema, the CLI flags from the command declarations, the Dagger
 * functions from the SDK's own introspection of src/. Each table sits between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; test/docs/readme.test.ts fails when the
 * README differs from what this would write.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { commandUsage, optionRows, synopsis } from "../../bin/usage.js";
import { catalog, loadCommand } from "../../src/commands/catalog.js";
import { ConfigSchema } from "../../src/config/schema.js";
import { EXIT_CODE_MEANINGS } from "../../src/errors.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const README = join(ROOT, "README.md");

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  enum?: unknown[];
  required?: string[];
  anyOf?: JsonSchema[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" or ");
  if (schema.type === "array") return `list of ${schema.items ? typeOf(schema.items) : "values"}`;
  if (
    schema.type === "object" &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === "object"
  ) {
    return `map of ${typeOf(schema.additionalProperties)}`;
  }
  const range =
    schema.minimum !== undefined || schema.maximum !== undefined
      ? ` (${schema.minimum ?? "…"}–${schema.maximum ?? "…"})`
      : "";
  return `${Array.isArray(schema.type) ? schema.type.join("/") : (schema.type ?? "value")}${range}`;
}

function defaultOf(schema: JsonSchema, required: boolean): string {
  if (schema.default !== undefined) {
    const text = JSON.stringify(schema.default);
    return text.length > 40 ? "(see the keys below)" : `\`${text}\``;
  }
  return required ? "**required**" : "—";
}

/** One Markdown table per object in the schema, depth first, titled with its JSON path. */
function objectTables(path: string, schema: JsonSchema, out: string[]): void {
  const rows: string[] = [];
  const nested: Array<[string, JsonSchema]> = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (key === "$schema") continue;
    const required = schema.required?.includes(key) ?? false;
    const record =
      property.type === "object" && typeof property.additionalProperties === "object"
        ? property.additionalProperties
        : undefined;
    if (property.properties) nested.push([`${path}.${key}`, property]);
    if (record?.properties) nested.push([`${path}.${key}.NAME`, record]);
    const type = property.properties
      ? "object (below)"
      : record?.properties
        ? "map of objects (below)"
        : typeOf(property);
    rows.push(
      `| \`${key}\` | ${cell(type)} | ${cell(defaultOf(property, required))} | ${cell(property.description ?? "")} |`,
    );
  }
  out.push(`**\`${path}\`**`, "", "| Key | Type | Default | Meaning |", "|---|---|---|---|", ...rows, "");
  for (const [childPath, child] of nested) objectTables(childPath, child, out);
}

export function configTables(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", target: "draft-2020-12" }) as JsonSchema;
  const out: string[] = [];
  objectTables("shipyard.json", schema, out);
  return out.join("\n").trimEnd();
}

export async function cliTables(): Promise<string> {
  const out: string[] = [];
  for (const name of Object.keys(catalog)) {
    const command = (await loadCommand(name))!;
    out.push(
      `#### \`shipyard ${command.name}\``,
      "",
      command.description,
      "",
      "```",
      synopsis(command),
      "```",
      "",
    );
    out.push("| Flag | Meaning |", "|---|---|");
    for (const [flag, help] of optionRows(command)) out.push(`| \`${flag}\` | ${cell(help)} |`);
    out.push("", "```sh", ...command.examples.map((example) => `npx ${example}`), "```");
    out.push("", `Exit codes: ${command.exitCodes ?? "as in the table above"}.`, "");
  }
  return out.join("\n").trimEnd();
}

export function exitCodeTable(): string {
  return [
    "| Exit code | Meaning |",
    "|---|---|",
    ...Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => `| ${code} | ${cell(meaning)} |`),
  ].join("\n");
}

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return typescriptFiles(path);
    return /\.ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** What the engine registers, read with the SDK's own introspector (as `dagger functions` would). */
export async function daggerTables(): Promise<string> {
  const sdk = join(ROOT, "node_modules/@dagger.io/dagger");
  const { scan } = (await import(join(sdk, "dist/src/module/introspector/index.js"))) as {
    scan(
      files: string[],
      name: string,
      check: boolean,
    ): Promise<{
      objects: Record<
        string,
        {
          _constructor?: { arguments: Record<string, ArgumentInfo> };
          methods: Record<
            string,
            { name: string; description: string; isCheck: boolean; arguments: Record<string, ArgumentInfo> }
          >;
        }
      >;
    }>;
  };
  const clientDir = mkdtempSync(join(tmpdir(), "shipyard-docs-"));
  copyFileSync(join(sdk, "dist/src/api/client.gen.d.ts"), join(clientDir, "client.gen.ts"));
  const module = await scan(
    [...typescriptFiles(join(ROOT, "src")), join(clientDir, "client.gen.ts")],
    "shipyard",
    false,
  );
  const shipyard = module.objects["Shipyard"]!;
  const args = (list: Record<string, ArgumentInfo>) =>
    Object.values(list)
      .map(
        (a) =>
          `\`--${kebab(a.name)}\`${a.defaultValue !== undefined ? `=${JSON.stringify(a.defaultValue)}` : ""}`,
      )
      .join(", ") || "—";
  const out = [
    "Module arguments (before the function name, or `SHIPYARD_<NAME>` in `.env`):",
    "",
    "| Argument | Meaning |",
    "|---|---|",
    ...Object.values(shipyard._constructor?.arguments ?? {}).map(
      (a) =>
        `| \`--${kebab(a.name)}\`${a.defaultValue !== undefined ? ` (default ${JSON.stringify(a.defaultValue)})` : ""} | ${cell(a.description)} |`,
    ),
    "",
    "| Function | Check | Arguments | What it does |",
    "|---|---|---|---|",
    ...Object.values(shipyard.methods).map(
      (fn) =>
        `| \`${kebab(fn.name)}\` | ${fn.isCheck ? "✓" : ""} | ${cell(args(fn.arguments))} | ${cell(fn.description)} |`,
    ),
  ];
  return out.join("\n");
}

interface ArgumentInfo {
  name: string;
  description: string;
  defaultValue?: unknown;
}

export async function sections(): Promise<Record<string, string>> {
  return {
    "exit-codes": exitCodeTable(),
    "config-tables": configTables(),
    "cli-flags": await cliTables(),
    "dagger-functions": await daggerTables(),
  };
}

/** The README with every generated section replaced by what the code says now. */
export function render(readme: string, generated: Record<string, string>): string {
  let out = readme;
  for (const [name, text] of Object.entries(generated)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!pattern.test(out)) throw new Error(`README.md has no <!-- generated:${name} --> section`);
    out = out.replace(pattern, (_m, open: string, close: string) => `${open}${text}\n${close}`);
  }
  return out;
}

export { commandUsage };

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync(README, "utf8");
  writeFileSync(README, render(readme, await sections()));
  console.log("README.md: generated sections written");
}
