/**
 * What a deploy would change, readably: both sides are normalised (name-keyed lists become keys,
 * empty values and ECS's own defaults drop out) and flattened to `path: value` lines, so a plan shows
 * `~ containerDefinitions[app].image: "…:old" → "…:new"` rather than two JSON blobs.
 */
import type { DeploymentConfiguration } from "@aws-sdk/client-ecs";
import { stripReadOnly } from "../config/taskdef.js";

type Flat = Map<string, string>;

/** Changes from the live task definition to the rendered one. */
export function taskDefinitionChanges(live: object, rendered: object): string[] {
  const { tags: _tags, ...body } = rendered as { tags?: unknown };
  return diff(flatten(normalise(stripReadOnly(live))), flatten(normalise(body)));
}

/** Changes to the service's deployment settings (only the keys Shipyard sets). */
export function deploymentChanges(live: DeploymentConfiguration, desired: DeploymentConfiguration): string[] {
  return diff(flatten(normalise(live)), flatten(normalise(desired)), { onlyKeysOfNext: true });
}

/** Sorts name-keyed lists and drops empty values, so only meaningful differences show. */
export function normalise(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalise).filter((v) => v !== undefined);
    if (items.length === 0) return undefined;
    if (
      items.every(
        (i) => typeof i === "object" && i !== null && typeof (i as { name?: unknown }).name === "string",
      )
    ) {
      // Keyed by name, the name itself is no longer news: `environment[PORT].value`, not `.name` too.
      return Object.fromEntries(
        items.map((i) => {
          const { name, ...rest } = i as { name: string };
          return [`[${name}]`, Object.keys(rest).length > 0 ? rest : { name }];
        }),
      );
    }
    return items;
  }
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, normalise(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value === null ? undefined : value;
}

export function flatten(value: unknown, prefix = "", out: Flat = new Map()): Flat {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      flatten(v, prefix === "" ? k : k.startsWith("[") ? `${prefix}${k}` : `${prefix}.${k}`, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/** Values ECS fills in by itself: not a change the user asked for. */
function isEcsDefault(path: string, value: string): boolean {
  return (
    (path.endsWith(".essential") && value === "true") ||
    (path.endsWith(".protocol") && value === '"tcp"') ||
    (/^containerDefinitions\[[^\]]+\]\.cpu$/.test(path) && value === "0")
  );
}

export function diff(live: Flat, next: Flat, options: { onlyKeysOfNext?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const [path, value] of next) {
    const before = live.get(path);
    if (before === undefined) {
      if (!isEcsDefault(path, value)) lines.push(`+ ${path}: ${value}`);
    } else if (before !== value) {
      lines.push(`~ ${path}: ${before} → ${value}`);
    }
  }
  if (!options.onlyKeysOfNext) {
    for (const [path, value] of live) {
      if (!next.has(path) && !isEcsDefault(path, value)) lines.push(`- ${path}: ${value}`);
    }
  }
  return lines;
}
