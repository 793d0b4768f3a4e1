/**
 * Adopting services that already run (`shipyard init`), as pure derivation: from each environment's
 * live service and task definition to shipyard.json, one task definition template and each
 * environment's `variables` — chosen so that rendering the template for an environment gives back
 * its live task definition, with the image (and SENTRY_RELEASE, which every deploy stamps) as the
 * only things a deploy then changes.
 *
 * A template fills text only ({{NAME}} → a string), so whatever differs between the environments
 * must be a string to become a variable. Numbers, booleans, and list items or keys present in only
 * some environments cannot be written as one template; they are reported as problems, never guessed.
 */
import type { DeploymentConfiguration, Service, TaskDefinition } from "@aws-sdk/client-ecs";
import { InputError } from "../errors.js";
import { describeIssues } from "./load.js";
import { type Config, ConfigSchema, DeploymentSchema, type Strategy } from "./schema.js";
import { imageOf, RELEASE_VARIABLE, renderTaskDefinition, repositoryOf, stripReadOnly } from "./taskdef.js";
import { PUBLISH_ROLE_VARIABLE, registryOf, roleVariable } from "./workflows.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One environment's service and task definition, as ECS described them. */
export interface LiveService {
  name: string;
  region: string;
  cluster: string;
  service: string;
  /** DescribeServices: its deployment settings and load balancers. */
  description: Pick<Service, "deploymentConfiguration" | "loadBalancers">;
  taskDefinition: TaskDefinition;
  /** The task definition's tags (DescribeTaskDefinition with TAGS). */
  tags: Record<string, string>;
}

export interface Adopted {
  ok: true;
  /** shipyard.json as written (validated against the schema). */
  configJson: JsonObject;
  /** The same, as every command reads it. */
  config: Config;
  /** task-def.json: a RegisterTaskDefinition input with {{PLACEHOLDERS}}. */
  template: JsonObject;
  container: string;
  repository: string;
  /** The task definition runs on ARM64 (the image must be built for it). */
  arm64: boolean;
  /** Every placeholder the template uses besides IMAGE, and where. */
  placeholders: Placeholder[];
  /** What init decided, one line each. */
  decisions: string[];
  /** What the user must still decide, one line each. */
  questions: string[];
}

export type Adoption = Adopted | { ok: false; problem: string; hint: string };

export interface Placeholder {
  name: string;
  paths: string[];
  builtIn: boolean;
}

/** The package the workflows run with `npx shipyard` and shipyard.json's $schema points into. */
const PACKAGE = "@acme/shipyard";

const DIGEST = /@sha256:[a-f0-9]{64}$/;

/** Placeholders Shipyard fills itself: never a variable name. */
const BUILT_IN = ["IMAGE", "RELEASE", "ENV", "REGION", "CLUSTER", "SERVICE", "CONTAINER"] as const;

/**
 * shipyard.json, task-def.json and what is left to decide, for the services in the order given (the
 * order deploys go through them). `container` is the user's --container, if any.
 */
export function adopt(live: readonly LiveService[], container?: string): Adoption {
  const choice = chooseAppContainer(live, container);
  if (!choice.ok) {
    return {
      ok: false,
      problem: `Cannot tell which container to deploy: ${choice.problem}`,
      hint: "name it with --container NAME",
    };
  }
  const repositories = live.map((env) => repositoryOf(imageOf(env.taskDefinition, choice.name) ?? ""));
  if (repositories.some((r) => r !== repositories[0])) {
    return {
      ok: false,
      problem: `Container ${choice.name} runs images from different repositories (${live.map((env, i) => `${repositories[i]} in ${env.name}`).join(", ")}), and shipyard.json deploys one image to every environment`,
      hint: "push one image to one repository every environment can pull from, or run init for each environment in its own folder",
    };
  }
  const repository = repositories[0]!;
  const template = adoptTemplate(live, choice.name);
  if (!template.ok) {
    return {
      ok: false,
      problem: `The environments' task definitions differ in ways one template cannot express:\n${bullets(template.problems)}`,
      hint: "make these the same on the services, or run init for each environment in its own folder",
    };
  }
  const deployments = live.map((env) => deploymentFromService(env.description.deploymentConfiguration));
  const configJson = configFor(live, choice.name, repository, template.variables, deployments);
  let parsed = ConfigSchema.safeParse(configJson);
  // What runs today keeps running: literals that look like secrets are allowed, and asked about.
  const plaintext = parsed.success ? plaintextSecrets(parsed.data, template.template) : {};
  if (Object.keys(plaintext).length > 0) {
    for (const [name, variables] of Object.entries(plaintext)) {
      (configJson.environments as Record<string, JsonObject>)[name]!.plaintextAllowed = variables;
    }
    parsed = ConfigSchema.safeParse(configJson);
  }
  if (!parsed.success) {
    return {
      ok: false,
      problem: `The services cannot be described in shipyard.json:\n${bullets(describeIssues(parsed.error))}`,
      hint: "run init for each environment on its own, or write shipyard.json by hand (see the README)",
    };
  }
  const arm64 = live.some((env) => env.taskDefinition.runtimePlatform?.cpuArchitecture === "ARM64");
  return {
    ok: true,
    configJson,
    config: parsed.data,
    template: template.template,
    container: choice.name,
    repository,
    arm64,
    placeholders: template.placeholders,
    decisions: decisionsOf(live, choice, repository, template.placeholders, arm64),
    questions: [
      ...Object.entries(plaintext).map(
        ([name, variables]) =>
          `${name}: ${variables.join(", ")} ${variables.length === 1 ? "holds" : "hold"} what looks like a secret in plain text in the task definition (kept, listed in plaintextAllowed): move ${variables.length === 1 ? "it" : "them"} to "secrets" (valueFrom Secrets Manager or SSM), then out of plaintextAllowed`,
      ),
      ...openQuestions(live, choice.name, repository, deployments),
    ],
  };
}

/** shipyard.json: where each service is, its container, its deployment settings and its variables. */
function configFor(
  live: readonly LiveService[],
  container: string,
  repository: string,
  variables: Record<string, Record<string, string>>,
  deployments: ReadonlyArray<{ deployment: JsonObject }>,
): JsonObject {
  const environments = live.map((env, i): [string, JsonObject] => {
    const entry: JsonObject = { region: env.region, cluster: env.cluster, service: env.service, container };
    const deployment = deployments[i]!.deployment;
    if (Object.keys(deployment).length > 0) entry.deployment = deployment;
    if (Object.keys(variables[env.name] ?? {}).length > 0) entry.variables = variables[env.name]!;
    return [env.name, entry];
  });
  return {
    $schema: `./node_modules/${PACKAGE}/schema/shipyard.schema.json`,
    image: repository,
    environments: Object.fromEntries(environments),
  };
}

function decisionsOf(
  live: readonly LiveService[],
  choice: { name: string; why: string },
  repository: string,
  placeholders: readonly Placeholder[],
  arm64: boolean,
): string[] {
  const names = live.map((env) => env.name);
  const variables = placeholders.some((p) => !p.builtIn);
  return [
    `container ${choice.name} receives the image: ${choice.why}`,
    `image repository ${repository}: the container's image without tag or digest`,
    live.length > 1
      ? `values that differ between ${names.join(" and ")} became placeholders: ${placeholders.map((p) => `{{${p.name}}}`).join(", ") || "none"}${variables ? " (each environment's values are its `variables` in shipyard.json)" : ""}`
      : "one environment: every value of its task definition stays literal in task-def.json",
    `read-only fields (taskDefinitionArn, revision, status, …), empty values, shipyard:* tags and ${RELEASE_VARIABLE} (stamped by every deploy) were left out of task-def.json`,
    "deployment settings were read from each service (strategy, percentages, circuit breaker, alarms, bake times)",
    `deploy.yml deploys ${names.join(" → ")} in the order of --env; deploys and rollbacks share one concurrency group that never cancels a run in progress`,
    ...(arm64 ? ["deploy.yml builds the image on an ARM64 runner: the task definition runs on ARM64"] : []),
  ];
}

/**
 * Per environment, the environment variables whose literal value a render refuses as a secret in
 * plain text (src/config/taskdef.ts decides; its message names the variable).
 */
function plaintextSecrets(config: Config, template: JsonObject): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const [name, environment] of Object.entries(config.environments)) {
    try {
      renderTaskDefinition({
        templateText: JSON.stringify(template),
        source: "task-def.json",
        environmentName: name,
        environment,
        repository: config.image,
        image: `${config.image}@sha256:${"0".repeat(64)}`,
        release: "init",
        planCommand: "shipyard plan",
      });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      const variables = error.problems.flatMap(
        (p) => /\.environment ([A-Za-z_][A-Za-z0-9_]*): holds .* in plain text/.exec(p)?.[1] ?? [],
      );
      if (variables.length > 0) found[name] = [...new Set(variables)];
    }
  }
  return found;
}

function openQuestions(
  live: readonly LiveService[],
  container: string,
  repository: string,
  deployments: ReadonlyArray<{ notes: string[] }>,
): string[] {
  const questions: string[] = [];
  live.forEach((env, i) => {
    const behind = (env.description.loadBalancers ?? [])
      .map((lb) => lb.targetGroupArn?.split("/")[1] ?? lb.loadBalancerName)
      .filter(Boolean);
    questions.push(
      `environments.${env.name}.healthCheck.url: the URL the smoke test calls after each rollout, e.g. https://…/health${behind.length > 0 ? ` (the service is behind ${behind.join(", ")})` : ""}`,
    );
    for (const note of deployments[i]!.notes) questions.push(`${env.name}: ${note}`);
  });
  questions.push(
    "sentry (org, project) per environment: release tracking and the error-rate gate after each deploy (SENTRY_AUTH_TOKEN as a repository secret)",
    "migrations.command if the app has database migrations: they run as a one-off task before the service changes",
  );
  if (live.length > 1) {
    questions.push(
      `requires: e.g. environments.${live.at(-1)!.name}.requires = "${live.at(-2)!.name}" to deploy there only images already verified in ${live.at(-2)!.name}`,
    );
  }
  const byTag = live.filter((env) => !DIGEST.test(imageOf(env.taskDefinition, container) ?? ""));
  if (byTag.length > 0) {
    questions.push(
      `${byTag.map((env) => env.name).join(", ")} run${byTag.length === 1 ? "s" : ""} an image by tag: Shipyard deploys by digest (repo@sha256:…), so give \`plan\` one with --image`,
    );
  }
  const registry = registryOf(repository);
  questions.push(
    `repository variables ${live.map((env) => roleVariable(env.name)).join(", ")}: ARNs of roles GitHub's OIDC provider may assume, allowing the actions in Shipyard's docs/iam-policy.json`,
  );
  if (registry.kind === "ecr")
    questions.push(`repository variable ${PUBLISH_ROLE_VARIABLE}: a role that may push to ${repository}`);
  if (registry.kind === "other")
    questions.push(`repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD to push to ${registry.host}`);
  questions.push(
    "deploy.yml builds with `docker build .`: adjust its publish job if the image is built another way",
    `the workflows run \`npm ci\` and \`npx shipyard\`: ${PACKAGE} belongs in the app's devDependencies`,
  );
  return questions;
}

function bullets(lines: readonly string[]): string {
  return lines.map((line) => `  - ${line}`).join("\n");
}

/** How a person reads a task definition: who it is, what it may do, how big, then the containers. */
const TOP_LEVEL_ORDER = [
  "family",
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "runtimePlatform",
  "ephemeralStorage",
  "containerDefinitions",
];

/** Images and names of the usual sidecars: agents, proxies and log routers run beside the app. */
const SIDECAR_IMAGE =
  /datadog\/agent|appmesh-envoy|envoyproxy\/|(^|\/)envoy([:@]|$)|fluent-?bit|fluentd|otel-collector|opentelemetry-collector|xray-daemon|cloudwatch-agent|newrelic\/|splunk\/|sumologic|guardduty|service-connect-agent|prometheus-exporter/i;
const SIDECAR_NAME =
  /^(datadog(-agent)?|dd-agent|envoy|log[-_]router|firelens|fluent-?bit|xray(-daemon)?|otel(-collector)?|cwagent|cloudwatch-agent)$/i;

export type ContainerChoice = { ok: true; name: string; why: string } | { ok: false; problem: string };

function containersOf(env: LiveService) {
  return env.taskDefinition.containerDefinitions ?? [];
}

/**
 * The container that runs the app (it gets the deployed image): the one named with --container; else
 * the one Shipyard stamped SENTRY_RELEASE on before; else the only essential container that is not
 * a known sidecar. Anything less certain is a question for the user, not a guess.
 */
export function chooseAppContainer(envs: readonly LiveService[], requested?: string): ContainerChoice {
  const [first, ...rest] = envs;
  if (first === undefined) return { ok: false, problem: "no environment was read" };
  const common = containersOf(first)
    .map((c) => c.name ?? "")
    .filter((name) => rest.every((env) => containersOf(env).some((c) => c.name === name)));
  const inEvery = (name: string) => envs.map((env) => containersOf(env).find((c) => c.name === name)!);
  if (requested !== undefined) {
    const missing = envs.find((env) => !containersOf(env).some((c) => c.name === requested));
    if (missing) {
      const found = containersOf(missing)
        .map((c) => c.name)
        .join(", ");
      return {
        ok: false,
        problem: `container "${requested}" (--container) is not in ${missing.name}'s task definition (found: ${found || "none"})`,
      };
    }
    return { ok: true, name: requested, why: "named with --container" };
  }
  const released = common.filter((name) =>
    inEvery(name).every((c) => c.environment?.some((e) => e.name === RELEASE_VARIABLE)),
  );
  if (released.length === 1) {
    return {
      ok: true,
      name: released[0]!,
      why: `it carries ${RELEASE_VARIABLE} (Shipyard deployed it before)`,
    };
  }
  const apps = common.filter((name) =>
    inEvery(name).every(
      (c) =>
        c.essential !== false &&
        c.firelensConfiguration === undefined &&
        !SIDECAR_IMAGE.test(repositoryOf(c.image ?? "")) &&
        !SIDECAR_NAME.test(name),
    ),
  );
  if (apps.length === 1) {
    const sidecars = common.filter((name) => name !== apps[0]);
    return {
      ok: true,
      name: apps[0]!,
      why:
        sidecars.length > 0
          ? `the only essential container that is not a sidecar (${sidecars.join(", ")} ${sidecars.length === 1 ? "is one" : "are"})`
          : "the only container",
    };
  }
  return {
    ok: false,
    problem:
      apps.length === 0
        ? `no container looks like the app (containers: ${common.join(", ") || "none in common"})`
        : `more than one container could be the app (${apps.join(", ")})`,
  };
}

export type TemplateAdoption =
  | {
      ok: true;
      /** task-def.json: a RegisterTaskDefinition input with {{PLACEHOLDERS}}. */
      template: JsonObject;
      /** Each environment's `variables` for shipyard.json. */
      variables: Record<string, Record<string, string>>;
      placeholders: Placeholder[];
    }
  | { ok: false; problems: string[] };

interface Leaf {
  path: string[];
  values: string[];
}

interface Walk {
  names: readonly string[];
  leaves: Leaf[];
  problems: string[];
}

/**
 * One template for every environment: values equal everywhere stay literal; strings that differ
 * become {{ENV}}/{{SERVICE}}/{{CLUSTER}}/{{REGION}} when they are exactly that, else a variable
 * named after where it is (FAMILY, EXECUTION_ROLE_ARN, LOG_GROUP, DATABASE_URL_SECRET…); anything
 * else that differs is a problem. The app container's image becomes {{IMAGE}}; its SENTRY_RELEASE
 * (every deploy stamps its own), read-only fields, empty values and shipyard:* tags are dropped.
 */
export function adoptTemplate(envs: readonly LiveService[], container: string): TemplateAdoption {
  const walk: Walk = { names: envs.map((env) => env.name), leaves: [], problems: [] };
  const unified = unify(
    envs.map((env) => adoptable(env, container)),
    [],
    walk,
  ) as JsonObject;
  if (walk.problems.length > 0) return { ok: false, problems: walk.problems };
  const { tokens, variables, placeholders } = namePlaceholders(walk.leaves, envs);
  const template = orderTopLevel(replaceTokens(unified, tokens) as JsonObject);
  imageFirst(template, container);
  // Variables listed in the order a reader meets them in task-def.json.
  const text = JSON.stringify(template);
  const byPlace = (a: string, b: string) => text.indexOf(`{{${a}}}`) - text.indexOf(`{{${b}}}`);
  return {
    ok: true,
    template,
    variables: Object.fromEntries(
      Object.entries(variables).map(([env, values]) => [
        env,
        Object.fromEntries(Object.entries(values).sort(([a], [b]) => byPlace(a, b))),
      ]),
    ),
    placeholders: placeholders.sort((a, b) => byPlace(a.name, b.name)),
  };
}

/** The live definition as a template body: no read-only fields, no empties, no image or release. */
function adoptable(env: LiveService, container: string): Json {
  const copy = stripReadOnly(JSON.parse(JSON.stringify(env.taskDefinition)) as JsonObject);
  const tags = Object.entries(env.tags)
    .filter(([key]) => !key.startsWith("shipyard:"))
    .map(([key, value]) => ({ key, value }));
  if (tags.length > 0) copy.tags = tags;
  const containers = Array.isArray(copy.containerDefinitions) ? copy.containerDefinitions : [];
  for (const definition of containers) {
    if (!isObject(definition) || definition.name !== container) continue;
    delete definition.image;
    // Every deploy stamps its own release on the app container.
    if (Array.isArray(definition.environment)) {
      definition.environment = definition.environment.filter(
        (e) => !(isObject(e) && e.name === RELEASE_VARIABLE),
      );
    }
  }
  return withoutEmpties(copy) ?? {};
}

/** Drops [], {} and null at any depth: the same task definition for ECS, and less to read. */
function withoutEmpties(value: Json): Json | undefined {
  if (Array.isArray(value)) {
    const items = value.map(withoutEmpties).filter((v): v is Json => v !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (isObject(value)) {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, withoutEmpties(v)] as const)
      .filter((entry): entry is readonly [string, Json] => entry[1] !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value === null ? undefined : value;
}

const BRACES = /\{\{|\}\}/;
const TOKEN = (index: number) => `\u0000leaf${index}\u0000`;

function unify(values: Json[], path: string[], walk: Walk): Json {
  const first = values[0]!;
  if (values.every((v) => typeof v === "string")) {
    const strings = values as string[];
    // A literal "{{" would be read as a placeholder: such a value travels as a variable instead.
    if (strings.every((s) => s === first) && !BRACES.test(first as string)) return first;
    walk.leaves.push({ path, values: strings });
    return TOKEN(walk.leaves.length - 1);
  }
  if (values.every((v) => sameJson(v, first)) && !containsBraces(first)) return first;
  if (values.every(isObject)) return unifyObjects(values as JsonObject[], path, walk);
  if (values.every(Array.isArray)) return unifyArrays(values as Json[][], path, walk);
  walk.problems.push(`${display(path)}: ${describeValues(values, walk.names)}`);
  return first;
}

function unifyObjects(objects: JsonObject[], path: string[], walk: Walk): Json {
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const out: JsonObject = {};
  for (const key of keys) {
    const present = objects.map((o) => Object.hasOwn(o, key));
    if (present.every(Boolean)) {
      out[key] = unify(
        objects.map((o) => o[key]!),
        [...path, key],
        walk,
      );
    } else {
      walk.problems.push(`${display([...path, key])}: ${onlyIn(present, walk.names)}`);
    }
  }
  return out;
}

function unifyArrays(arrays: Json[][], path: string[], walk: Walk): Json {
  const key = identityKey(arrays);
  if (key !== null) {
    const ids = (items: Json[]) => items.map((item) => String((item as JsonObject)[key]));
    const all = [...new Set(arrays.flatMap(ids))];
    const out: Json[] = [];
    for (const id of all) {
      const present = arrays.map((items) => ids(items).includes(id));
      if (!present.every(Boolean)) {
        walk.problems.push(`${display([...path, `[${id}]`])}: ${onlyIn(present, walk.names)}`);
        continue;
      }
      const items = arrays.map((items) => items.find((item) => (item as JsonObject)[key] === id)!);
      out.push(unify(items, [...path, `[${id}]`], walk));
    }
    return out;
  }
  const lengths = arrays.map((a) => a.length);
  if (lengths.some((n) => n !== lengths[0])) {
    walk.problems.push(
      `${display(path)}: ${lengths.map((n, i) => `${n} item(s) in ${walk.names[i]}`).join(", ")}`,
    );
    return arrays[0]!;
  }
  return arrays[0]!.map((_, i) =>
    unify(
      arrays.map((a) => a[i]!),
      [...path, `[${i}]`],
      walk,
    ),
  );
}

/** Lists of named things (containers, variables, secrets, tags) are matched by name, not position. */
function identityKey(arrays: Json[][]): string | null {
  for (const key of ["name", "key"]) {
    const keyed = arrays.every((items) => {
      const ids = items.map((item) => (isObject(item) ? item[key] : undefined));
      return ids.every((id) => typeof id === "string") && new Set(ids).size === ids.length;
    });
    if (keyed) return key;
  }
  return null;
}

function namePlaceholders(leaves: Leaf[], envs: readonly LiveService[]) {
  const tokens = new Map<string, string>();
  const variables: Record<string, Record<string, string>> = Object.fromEntries(
    envs.map((env) => [env.name, {}]),
  );
  const placeholders = new Map<string, Placeholder>();
  const use = (name: string, path: string[], builtIn: boolean) => {
    const entry = placeholders.get(name) ?? { name, paths: [], builtIn };
    entry.paths.push(display(path));
    placeholders.set(name, entry);
  };
  const named: Leaf[] = [];
  leaves.forEach((leaf, index) => {
    const builtIn = builtInFor(leaf.values, envs);
    if (builtIn === null) {
      named.push(leaf);
      return;
    }
    tokens.set(TOKEN(index), `{{${builtIn}}}`);
    use(builtIn, leaf.path, true);
  });
  const names = variableNames(named);
  for (const leaf of named) {
    const name = names.get(leaf)!;
    tokens.set(TOKEN(leaves.indexOf(leaf)), `{{${name}}}`);
    use(name, leaf.path, false);
    envs.forEach((env, i) => {
      variables[env.name]![name] = leaf.values[i]!;
    });
  }
  return { tokens, variables, placeholders: [...placeholders.values()] };
}

/** {{ENV}}, {{SERVICE}}, {{CLUSTER}} or {{REGION}} when the value is exactly that in every environment. */
function builtInFor(values: string[], envs: readonly LiveService[]): string | null {
  if (values.every((v) => v === values[0])) return null;
  const candidates: Array<[string, (env: LiveService) => string]> = [
    ["ENV", (env) => env.name],
    ["SERVICE", (env) => env.service],
    ["CLUSTER", (env) => env.cluster],
    ["REGION", (env) => env.region],
  ];
  return candidates.find(([, of]) => envs.every((env, i) => values[i] === of(env)))?.[0] ?? null;
}

/**
 * Readable names from where the value is: FAMILY, TASK_ROLE_ARN, LOG_GROUP, DATABASE_URL_SECRET.
 * Places with the same name and the same values share one variable; same name, other values: each
 * is prefixed with its container (APP_LOG_GROUP, ENVOY_LOG_GROUP).
 */
function variableNames(leaves: Leaf[]): Map<Leaf, string> {
  const taken = new Set<string>(BUILT_IN);
  const result = new Map<Leaf, string>();
  const byBase = new Map<string, Leaf[]>();
  for (const leaf of leaves) {
    const base = baseName(leaf.path);
    byBase.set(base, [...(byBase.get(base) ?? []), leaf]);
  }
  const claim = (wanted: string) => {
    let name = wanted;
    for (let n = 2; taken.has(name); n++) name = `${wanted}_${n}`;
    taken.add(name);
    return name;
  };
  for (const [base, group] of byBase) {
    const byValues = new Map<string, Leaf[]>();
    for (const leaf of group) {
      const key = JSON.stringify(leaf.values);
      byValues.set(key, [...(byValues.get(key) ?? []), leaf]);
    }
    const shared = byValues.size === 1 && !taken.has(base);
    for (const same of byValues.values()) {
      const name = claim(shared ? base : `${qualifier(same[0]!.path)}_${base}`);
      for (const leaf of same) result.set(leaf, name);
    }
  }
  return result;
}

function baseName(path: string[]): string {
  const last = path.at(-1) ?? "VALUE";
  const previous = path.at(-2) ?? "";
  const parent = path.at(-3) ?? "";
  if (/^\[\d+\]$/.test(last)) return snake(isIndexOrName(previous) ? "value" : previous);
  if ((last === "value" || last === "valueFrom") && isIndexOrName(previous) && !/^\[\d+\]$/.test(previous)) {
    const name = previous.slice(1, -1);
    if (parent === "secrets" || parent === "secretOptions") return snake(`${name}_secret`);
    if (parent === "tags") return snake(`${name}_tag`);
    return snake(name);
  }
  if (previous === "options" && path.includes("logConfiguration")) {
    const option = last.replace(/^awslogs-/, "");
    return snake(/^log/i.test(option) ? option : `log_${option}`);
  }
  if (last === "image" && path[0] === "containerDefinitions" && path[1]) {
    return snake(`${path[1].slice(1, -1)}_image`);
  }
  return snake(last);
}

function qualifier(path: string[]): string {
  if (path[0] === "containerDefinitions" && path[1]) return snake(path[1].slice(1, -1));
  return snake(path[0] ?? "value");
}

function isIndexOrName(segment: string): boolean {
  return segment.startsWith("[") && segment.endsWith("]");
}

/** taskRoleArn → TASK_ROLE_ARN, awslogs-group → AWSLOGS_GROUP, "1337" → V_1337. */
export function snake(text: string): string {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  if (words === "") return "VALUE";
  return /^[0-9]/.test(words) ? `V_${words}` : words;
}

function replaceTokens(value: Json, tokens: Map<string, string>): Json {
  if (typeof value === "string") return tokens.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => replaceTokens(v, tokens));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceTokens(v, tokens)]));
  }
  return value;
}

/** The app container reads best with its {{IMAGE}} right under its name. */
function imageFirst(template: JsonObject, container: string): void {
  const containers = Array.isArray(template.containerDefinitions) ? template.containerDefinitions : [];
  const index = containers.findIndex((c) => isObject(c) && c.name === container);
  if (index < 0) return;
  const { name, ...rest } = containers[index] as JsonObject;
  containers[index] = { name: name ?? container, image: "{{IMAGE}}", ...rest };
}

function orderTopLevel(template: JsonObject): JsonObject {
  const ordered: JsonObject = {};
  for (const key of TOP_LEVEL_ORDER) if (Object.hasOwn(template, key)) ordered[key] = template[key]!;
  for (const [key, value] of Object.entries(template)) if (!Object.hasOwn(ordered, key)) ordered[key] = value;
  return ordered;
}

function display(path: readonly string[]): string {
  return path.reduce(
    (out, segment) => (segment.startsWith("[") || out === "" ? `${out}${segment}` : `${out}.${segment}`),
    "",
  );
}

function onlyIn(present: boolean[], names: readonly string[]): string {
  const where = names.filter((_, i) => present[i]);
  const missing = names.filter((_, i) => !present[i]);
  return `only in ${where.join(", ")} (not in ${missing.join(", ")})`;
}

/** Numbers and booleans are shown (they are never secrets); strings never are. */
function describeValues(values: Json[], names: readonly string[]): string {
  const kinds = values.map(kindOf);
  if (kinds.every((k) => k === kinds[0]) && (kinds[0] === "a number" || kinds[0] === "a boolean")) {
    return `${values.map((v, i) => `${JSON.stringify(v)} in ${names[i]}`).join(", ")}; a template can vary only text`;
  }
  return `${kinds.map((k, i) => `${k} in ${names[i]}`).join(", ")}; a template can vary only text`;
}

function kindOf(value: Json): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "nothing";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function containsBraces(value: Json): boolean {
  if (typeof value === "string") return BRACES.test(value);
  if (Array.isArray(value)) return value.some(containsBraces);
  if (isObject(value)) return Object.values(value).some(containsBraces);
  return false;
}

function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const STRATEGIES: Record<string, Strategy> = {
  ROLLING: "rolling",
  BLUE_GREEN: "blue-green",
  CANARY: "canary",
  LINEAR: "linear",
};

/**
 * shipyard.json `deployment` for a service: what ECS reports, in Shipyard's words, so the next
 * UpdateService sends the same settings. Notes say what could not be carried over and why.
 */
export function deploymentFromService(live: DeploymentConfiguration | undefined): {
  deployment: JsonObject;
  notes: string[];
} {
  if (live === undefined) {
    return {
      deployment: {},
      notes: [
        "ECS reported no deployment settings: Shipyard's defaults apply (rolling, 200%/100%, circuit breaker with rollback)",
      ],
    };
  }
  const notes: string[] = [];
  const deployment: JsonObject = {};
  const strategy = STRATEGIES[live.strategy ?? "ROLLING"];
  if (strategy === undefined)
    notes.push(`ECS strategy ${live.strategy} is not one Shipyard deploys with: rolling`);
  deployment.strategy = strategy ?? "rolling";
  if (live.maximumPercent !== undefined) deployment.maximumPercent = live.maximumPercent;
  if (live.minimumHealthyPercent !== undefined) deployment.minimumHealthyPercent = live.minimumHealthyPercent;
  const breaker = live.deploymentCircuitBreaker;
  if (breaker) {
    deployment.circuitBreaker = { enable: breaker.enable ?? false, rollback: breaker.rollback ?? false };
    if (!breaker.enable) {
      notes.push("the circuit breaker is off (kept); Shipyard recommends enable + rollback");
    }
  } else {
    notes.push(
      "ECS reported no circuit breaker: Shipyard turns it on (enable + rollback) from the next deploy",
    );
  }
  const alarms = live.alarms;
  if (alarms?.enable && (alarms.alarmNames?.length ?? 0) > 0) {
    deployment.alarms = { names: alarms.alarmNames ?? [], rollback: alarms.rollback ?? false };
  } else if ((alarms?.alarmNames?.length ?? 0) > 0) {
    notes.push(
      `CloudWatch alarms ${alarms!.alarmNames!.join(", ")} are attached but disabled: not carried over`,
    );
  }
  if (live.bakeTimeInMinutes !== undefined && strategy !== "rolling") {
    deployment.bakeTimeMinutes = live.bakeTimeInMinutes;
  }
  if (strategy === "canary" && live.canaryConfiguration) {
    const canary = live.canaryConfiguration;
    if (canary.canaryPercent !== undefined) deployment.canaryPercent = canary.canaryPercent;
    if (canary.canaryBakeTimeInMinutes !== undefined)
      deployment.canaryBakeTimeMinutes = canary.canaryBakeTimeInMinutes;
  }
  if (strategy === "linear" && live.linearConfiguration) {
    const linear = live.linearConfiguration;
    if (linear.stepPercent !== undefined) deployment.linearStepPercent = linear.stepPercent;
    if (linear.stepBakeTimeInMinutes !== undefined)
      deployment.linearStepBakeTimeMinutes = linear.stepBakeTimeInMinutes;
  }
  if ((live.lifecycleHooks?.length ?? 0) > 0) {
    notes.push(
      `the service runs ${live.lifecycleHooks!.length} deployment lifecycle hook(s); Shipyard leaves them in place`,
    );
  }
  return { deployment: withinSchema(deployment, notes), notes };
}

/** A value ECS accepts but shipyard.json does not (e.g. maximumPercent 450) falls back to the default. */
function withinSchema(deployment: JsonObject, notes: string[]): JsonObject {
  const kept = { ...deployment };
  for (let attempt = 0; attempt < 10; attempt++) {
    const result = DeploymentSchema.safeParse(kept);
    if (result.success) return kept;
    const key = String(result.error.issues[0]?.path[0] ?? "");
    if (!Object.hasOwn(kept, key)) return {};
    notes.push(
      `ECS has ${key} ${JSON.stringify(kept[key])}, which shipyard.json does not accept (${result.error.issues[0]?.message}): Shipyard's default is used`,
    );
    delete kept[key];
  }
  return {};
}
