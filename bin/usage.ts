/**
 * `shipyard --help` and `shipyard <command> --help`, generated from the command declarations, so a
 * flag's help text and default are written once (next to the flag, in src/commands).
 */
import { type AnyCommand, catalog } from "../src/commands/catalog.js";
import { flagName, type OptionSpec } from "../src/commands/spec.js";
import { exitCodeTable } from "../src/report/output.js";

export const AWS_NOTE =
  "AWS: the standard credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID..., OIDC web identity) and AWS_ENDPOINT_URL_ECS for ECS-compatible endpoints. The region comes from shipyard.json.";

function operand(spec: OptionSpec): string {
  return spec.type === "boolean" ? "" : ` ${spec.value}`;
}

/** The one-line synopsis: required flags first, optional ones in brackets. */
export function synopsis(command: AnyCommand): string {
  const parts = Object.entries(command.options).map(([key, spec]) => {
    const text = `${flagName(key)}${operand(spec)}`;
    const repeat = spec.type === "list" ? "..." : "";
    return "required" in spec && spec.required ? text : `[${text}]${repeat}`;
  });
  return `shipyard ${command.name} ${parts.join(" ")}`.trimEnd();
}

export function optionRows(command: AnyCommand): Array<[string, string]> {
  return Object.entries(command.options).map(([key, spec]) => {
    const required = "required" in spec && spec.required ? " (required)" : "";
    const repeat = spec.type === "list" ? " (repeatable)" : "";
    return [`${flagName(key)}${operand(spec)}`, `${spec.help}${required}${repeat}`];
  });
}

function wrap(text: string, width = 100, indent = ""): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + word.length + 1 > width) {
      lines.push(line);
      line = indent;
    }
    line = line === "" || line === indent ? `${line}${word}` : `${line} ${word}`;
  }
  if (line.trim() !== "") lines.push(line);
  return lines.join("\n");
}

export function commandUsage(command: AnyCommand): string {
  const rows = optionRows(command);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const pad = " ".repeat(width + 2);
  const options = rows.map(([flag, help]) => `  ${flag.padEnd(width)}${wrap(help, 100, pad).trimStart()}`);
  const usesAws = command.config === "environment";
  return [
    `Usage: ${synopsis(command)}`,
    "",
    wrap(command.description),
    "",
    "Options:",
    ...options,
    "",
    "Examples:",
    ...command.examples.map((example) => `  ${example}`),
    ...(usesAws ? ["", wrap(AWS_NOTE)] : []),
    "",
    command.exitCodes ? `Exit codes: ${command.exitCodes}` : `Exit codes:\n${exitCodeTable()}`,
  ].join("\n");
}

export function overview(): string {
  return [
    "Usage: shipyard <command> [options]",
    "",
    "Commands:",
    ...Object.entries(catalog).map(([name, { summary }]) => `  ${name.padEnd(14)} ${summary}`),
    "",
    "Run `shipyard <command> --help` for a command's options.",
    "",
    `Exit codes:\n${exitCodeTable()}`,
  ].join("\n");
}
