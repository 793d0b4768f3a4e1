/**
 * The task definition template (task-def.json): a RegisterTaskDefinition input with `{{NAME}}`
 * placeholders. Rendering fills the placeholders, points the environment's container at the image
 * digest, stamps SENTRY_RELEASE on it, strips the read-only fields of a pasted
 * `describe-task-definition` output, and validates everything before any AWS call — every problem at
 * once, as an InputError (exit 2).
 */
import type { RegisterTaskDefinitionCommandInput, TaskDefinition } from "@aws-sdk/client-ecs";
import { InputError } from "../errors.js";
import { parseJson } from "./json.js";
import { jsonPath } from "./paths.js";
import type { Environment } from "./schema.js";

export const RELEASE_VARIABLE = "SENTRY_RELEASE";

/** Fields ECS returns but refuses on RegisterTaskDefinition. */
const READ_ONLY_FIELDS = [
  "taskDefinitionArn",
  "revision",
  "status",
  "requiresAttributes",
  "compatibilities",
  "registeredAt",
  "registeredBy",
  "deregisteredAt",
  "deleteRequestedAt",
] as const;

/** Every field RegisterTaskDefinition accepts: anything else is a typo or a pasted read-only field. */
const ACCEPTED_FIELDS = new Set([
  "family",
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "containerDefinitions",
  "volumes",
  "placementConstraints",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "tags",
  "pidMode",
  "ipcMode",
  "proxyConfiguration",
  "inferenceAccelerators",
  "ephemeralStorage",
  "runtimePlatform",
  "enableFaultInjection",
]);

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** repo[:tag]@sha256:<64 hex>: ECS then runs exactly the bytes that were tested. */
const DIGEST_REFERENCE = /^([^@\s:]+(?::\d+)?(?:\/[^@\s:]+)*)(?::[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$/;

/** Fargate task-level cpu (units) → allowed memory (MiB). */
const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

export interface RenderInput {
  /** Template text (the app's task-def.json, or Shipyard's bundled one). */
  templateText: string;
  /** Where the template came from, for messages. */
  source: string;
  environmentName: string;
  environment: Environment;
  /** Configured image repository (shipyard.json `image`). */
  repository: string;
  image: string;
  release: string;
  /** The command that checks a template, as the user would type it (named in the hint). */
  planCommand: string;
  /** Replaces the container's command: a worker or a scheduled job run from the same image. */
  command?: string[] | undefined;
}

export type RenderedTaskDefinition = RegisterTaskDefinitionCommandInput & {
  family: string;
  containerDefinitions: NonNullable<RegisterTaskDefinitionCommandInput["containerDefinitions"]>;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Renders and validates; throws one InputError listing every problem. */
export function renderTaskDefinition(input: RenderInput): RenderedTaskDefinition {
  const problems: string[] = [];
  const parsed = parseTemplate(input.templateText, input.source);
  problems.push(...malformedPlaceholders(parsed));
  const values = placeholderValues(input, problems);
  const unknown = new Set<string>();
  const filled = fill(parsed, values, unknown) as { [key: string]: Json };
  for (const name of unknown) {
    problems.push(
      `placeholder {{${name}}} has no value: add it to environments.${input.environmentName}.variables in shipyard.json (built in: ${Object.keys(builtIns(input)).join(", ")})`,
    );
  }
  const definition = stripReadOnly(filled);
  problems.push(...validate(definition, input));
  if (problems.length > 0) {
    throw new InputError(
      `The task definition ${input.source} is not valid for ${input.environmentName}; nothing was changed.`,
      problems,
      input.source === BUNDLED_SOURCE && unknown.size > 0
        ? `add the missing values to environments.${input.environmentName}.variables in shipyard.json (or give the app its own task-def.json), then run \`${input.planCommand}\``
        : `fix the problems above (the image you passed, ${input.source} or shipyard.json), then check with \`${input.planCommand}\``,
    );
  }
  const rendered = definition as unknown as RenderedTaskDefinition;
  normalizeSizes(rendered);
  setImageAndRelease(rendered, input.environment.container, input.image, input.release);
  if (input.command)
    rendered.containerDefinitions.find((c) => c.name === input.environment.container)!.command = [
      ...input.command,
    ];
  return rendered;
}

/**
 * Task-level cpu and memory as ECS stores them: "256", "2048". ECS would convert "1 vCPU" itself,
 * but a spelling it does not know (".25 vcpu") is refused at registration, after the checks; and a
 * plan against the live revision would show the same size as a change.
 */
function normalizeSizes(definition: RenderedTaskDefinition): void {
  for (const kind of ["cpu", "memory"] as const) {
    const value = normalizeSize(definition[kind] as Json | undefined, kind);
    if (value !== null && Number.isInteger(value)) definition[kind] = String(value);
  }
}

function parseTemplate(text: string, source: string): Json {
  const raw = parseJson(text, source) as Json;
  // A pasted `aws ecs describe-task-definition` output wraps the definition.
  if (isObject(raw) && isObject(raw.taskDefinition) && raw.family === undefined) {
    const inner = { ...raw.taskDefinition };
    if (Array.isArray(raw.tags) && raw.tags.length > 0 && inner.tags === undefined) inner.tags = raw.tags;
    return inner;
  }
  return raw;
}

function builtIns(input: RenderInput): Record<string, string> {
  return {
    IMAGE: input.image,
    RELEASE: input.release,
    ENV: input.environmentName,
    REGION: input.environment.region,
    CLUSTER: input.environment.cluster,
    SERVICE: input.environment.service,
    CONTAINER: input.environment.container,
  };
}

/**
 * `{{NAME}}` is the only placeholder form: a name of letters, digits and "_" not starting with a
 * digit, closed, and in a value. Anything else that opens with "{{" would be registered literally.
 */
function malformedPlaceholders(value: Json, path: Array<string | number> = []): string[] {
  if (typeof value === "string") {
    const rest = value.replace(PLACEHOLDER, "");
    if (!rest.includes("{{") && !rest.includes("}}")) return [];
    const bad = /\{\{[^}]*\}?\}?|\}\}/.exec(rest)?.[0] ?? "{{";
    return [
      `${jsonPath(path)}: "${bad}" is not a placeholder: write {{NAME}} with letters, digits and "_" (not starting with a digit), closed with }}`,
    ];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => malformedPlaceholders(item, [...path, i]));
  if (isObject(value)) {
    return Object.entries(value).flatMap(([key, item]) => [
      ...(key.includes("{{")
        ? [`${jsonPath([...path, key])}: placeholders are filled in values only, not in keys`]
        : []),
      ...malformedPlaceholders(item, [...path, key]),
    ]);
  }
  return [];
}

function placeholderValues(input: RenderInput, problems: string[]): Record<string, string> {
  const values = builtIns(input);
  for (const [name, value] of Object.entries(input.environment.variables)) {
    if (name in values) {
      problems.push(
        `environments.${input.environmentName}.variables.${name}: {{${name}}} is built in (Shipyard fills it); rename the variable`,
      );
      continue;
    }
    values[name] = value;
  }
  return values;
}

function fill(value: Json, values: Record<string, string>, unknown: Set<string>): Json {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (match, name: string) => {
      const replacement = values[name];
      if (replacement === undefined) {
        unknown.add(name);
        return match;
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values, unknown));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, values, unknown)]));
  }
  return value;
}

function isObject(value: unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Drops what describe-task-definition returns but RegisterTaskDefinition refuses. */
export function stripReadOnly<T extends object>(definition: T): T {
  const copy = { ...definition } as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  return copy as T;
}

function validate(definition: { [key: string]: Json }, input: RenderInput): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(definition)) {
    if (!ACCEPTED_FIELDS.has(key))
      problems.push(`${key}: not a RegisterTaskDefinition field (check the spelling)`);
  }
  const family = definition.family;
  // An unfilled {{FAMILY}} is already reported as a missing placeholder.
  if (typeof family !== "string" || (!NAME.test(family) && !family.includes("{{"))) {
    problems.push(`family: ${JSON.stringify(family ?? null)} must be 1-255 letters, digits, "_" or "-"`);
  }
  problems.push(...validateContainers(definition.containerDefinitions, input));
  problems.push(...validateFargateSize(definition));
  const match = DIGEST_REFERENCE.exec(input.image);
  if (match === null) {
    problems.push(
      `image "${input.image}" is not a digest reference: deploy repo@sha256:<digest> (the output of publish), never a tag`,
    );
  } else if (match[1] !== input.repository) {
    problems.push(`image "${input.image}" is not from the configured repository "${input.repository}"`);
  }
  return problems;
}

function validateContainers(containers: Json | undefined, input: RenderInput): string[] {
  const target = input.environment.container;
  if (!Array.isArray(containers) || containers.length === 0) {
    return ["containerDefinitions: must list at least one container"];
  }
  const problems: string[] = [];
  const names = containers.map((c, i) => {
    const name = isObject(c) ? c.name : undefined;
    if (typeof name !== "string" || !NAME.test(name)) {
      problems.push(
        `containerDefinitions[${i}].name: ${JSON.stringify(name ?? null)} must be 1-255 letters, digits, "_" or "-"`,
      );
    }
    // The target container gets the deployed image; every other one (sidecars) needs its own.
    const image = isObject(c) ? c.image : undefined;
    if (name !== target && (typeof image !== "string" || image.trim() === "")) {
      problems.push(`containerDefinitions[${i}].image: container ${JSON.stringify(name ?? i)} has no image`);
    }
    if (isObject(c)) problems.push(...plaintextSecrets(c, i, input));
    return name;
  });
  if (!names.includes(target)) {
    problems.push(
      `container "${target}" (environment \`container\`) is not in containerDefinitions (found: ${names.filter((n) => typeof n === "string").join(", ") || "none"})`,
    );
  }
  return problems;
}

/** Names that say "secret"; values that are one whatever their name. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
const SECRET_VALUES: Array<[RegExp, string]> = [
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]+:[^/@\s]+@/i, "a URL with an inline password"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
];

/**
 * A secret in `environment` is stored in the task definition in plain text, readable by anyone who
 * can describe it, forever (revisions are kept). It belongs in `secrets` (valueFrom: Secrets
 * Manager or SSM). Deliberate exceptions are listed in the environment's plaintextAllowed.
 */
function plaintextSecrets(container: { [key: string]: Json }, index: number, input: RenderInput): string[] {
  const variables = Array.isArray(container.environment) ? container.environment : [];
  const allowed = new Set(input.environment.plaintextAllowed ?? []);
  const problems: string[] = [];
  for (const variable of variables) {
    if (!isObject(variable) || typeof variable.name !== "string" || typeof variable.value !== "string")
      continue;
    const { name, value } = variable;
    if (allowed.has(name) || value.trim() === "" || value.startsWith("arn:")) continue;
    const looksLike = SECRET_VALUES.find(([pattern]) => pattern.test(value))?.[1];
    const why = looksLike ?? (SECRET_NAME.test(name) ? `a literal value for a variable named ${name}` : null);
    if (why === null) continue;
    problems.push(
      `containerDefinitions[${index}].environment ${name}: holds ${why} in plain text; move it to "secrets": [{ "name": "${name}", "valueFrom": "<Secrets Manager or SSM parameter ARN>" }], or, if it is deliberate, add "${name}" to environments.${input.environmentName}.plaintextAllowed`,
    );
  }
  return problems;
}

/**
 * Task-level cpu (CPU units) and memory (MiB) as AWS accepts them: integers or strings such as
 * "1024", "1 vCPU", ".25 vcpu", "2GB", ".5 gb", "512 MiB". Null when it is not one of those.
 */
export function normalizeSize(value: Json | undefined, kind: "cpu" | "memory"): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const match = /^\s*(\d*\.?\d+)\s*([a-z]*)\s*$/i.exec(value);
  if (match === null) return null;
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  if (unit === "") return amount;
  if (kind === "cpu" && unit === "vcpu") return Math.round(amount * 1024);
  if (kind === "memory" && unit === "gb") return Math.round(amount * 1024);
  if (kind === "memory" && (unit === "mb" || unit === "mib")) return amount;
  return null;
}

function validateFargateSize(definition: { [key: string]: Json }): string[] {
  const compat = definition.requiresCompatibilities;
  if (!Array.isArray(compat) || !compat.includes("FARGATE")) return [];
  const problems: string[] = [];
  const cpu = normalizeSize(definition.cpu, "cpu");
  const memory = normalizeSize(definition.memory, "memory");
  if (definition.cpu === undefined)
    problems.push('cpu: Fargate needs task-level cpu, e.g. "256" or ".25 vCPU"');
  else if (cpu === null) {
    problems.push(`cpu: ${JSON.stringify(definition.cpu)} is not CPU units or vCPUs (e.g. "256", "1 vCPU")`);
  }
  if (definition.memory === undefined)
    problems.push('memory: Fargate needs task-level memory, e.g. "512" or "2 GB"');
  else if (memory === null) {
    problems.push(`memory: ${JSON.stringify(definition.memory)} is not MiB or GB (e.g. "512", "2GB")`);
  }
  if (cpu === null || memory === null) return problems;
  const allowed = FARGATE_MEMORY[cpu];
  if (allowed === undefined) {
    return [`cpu: ${cpu} is not a Fargate size (use one of ${Object.keys(FARGATE_MEMORY).join(", ")})`];
  }
  if (!allowed.includes(memory)) {
    const shown =
      allowed.length > 4
        ? `${allowed[0]}-${allowed.at(-1)} in steps of ${allowed[1]! - allowed[0]!}`
        : allowed.join(", ");
    return [`memory: ${memory} MiB does not fit cpu ${cpu} on Fargate (allowed: ${shown})`];
  }
  return [];
}

function setImageAndRelease(
  definition: RenderedTaskDefinition,
  container: string,
  image: string,
  release: string,
) {
  const target = definition.containerDefinitions.find((c) => c.name === container)!;
  target.image = image;
  const environment = (target.environment ?? []).filter((e) => e.name !== RELEASE_VARIABLE);
  environment.push({ name: RELEASE_VARIABLE, value: release });
  target.environment = environment;
}

/** The release a task definition runs (its SENTRY_RELEASE on the container), or null. */
export function releaseOf(
  taskDefinition: Pick<TaskDefinition, "containerDefinitions"> | undefined,
  container: string,
): string | null {
  const target = taskDefinition?.containerDefinitions?.find((c) => c.name === container);
  return target?.environment?.find((e) => e.name === RELEASE_VARIABLE)?.value ?? null;
}

/** The image a task definition runs on the container, or null. */
export function imageOf(
  taskDefinition: Pick<TaskDefinition, "containerDefinitions"> | undefined,
  container: string,
): string | null {
  return taskDefinition?.containerDefinitions?.find((c) => c.name === container)?.image ?? null;
}

/** How messages name Shipyard's own template. */
export const BUNDLED_SOURCE = "Shipyard's bundled task-def.json";

/** Shipyard's own template (top-level task-def.json), used when the app has none. */
export const BUNDLED_TEMPLATE_URL = new URL("../../task-def.json", import.meta.url);

export async function readBundledTemplate(): Promise<string> {
  try {
    const { readFile } = await import("node:fs/promises");
    return await readFile(BUNDLED_TEMPLATE_URL, "utf8");
  } catch {
    throw new InputError(
      "The app has no task definition template and Shipyard's bundled task-def.json is missing.",
      [],
      "add task-def.json to the app (see the README) or set `taskDefinition` in shipyard.json",
    );
  }
}

/** The repository of an image reference: without tag and digest ("ghcr.io/acme/app"). */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split("@")[0] ?? "";
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}
