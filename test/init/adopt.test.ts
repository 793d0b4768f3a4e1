/**
 * The pure derivation behind `shipyard init` (src/config/adopt.ts), table by table: which container
 * is the app, what becomes a placeholder and what it is called, what cannot be one template, and the
 * deployment settings read from a service. Every template adopted here is also rendered back for each
 * environment and diffed against its live definition by plan's own diff.
 */
import type { DeploymentConfiguration, TaskDefinition } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import {
  adopt,
  adoptTemplate,
  chooseAppContainer,
  deploymentFromService,
  type LiveService,
  snake,
} from "../../src/config/adopt.js";
import { ConfigSchema } from "../../src/config/schema.js";
import { renderTaskDefinition } from "../../src/config/taskdef.js";
import { taskDefinitionChanges } from "../../src/deploy/diff.js";

const REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop";
const image = (c: string) => `${REPO}@sha256:${c.repeat(64)}`;

type Container = NonNullable<TaskDefinition["containerDefinitions"]>[number];

function live(
  name: string,
  containers: Container[],
  extra: Partial<TaskDefinition> = {},
  tags: Record<string, string> = {},
): LiveService {
  return {
    name,
    region: "eu-west-1",
    cluster: name,
    service: "shop",
    description: {},
    taskDefinition: {
      taskDefinitionArn: `arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-${name}:7`,
      revision: 7,
      status: "ACTIVE",
      family: `shop-${name}`,
      compatibilities: ["EC2", "FARGATE"],
      requiresAttributes: [{ name: "com.amazonaws.ecs.capability.docker-remote-api.1.18" }],
      registeredAt: new Date(0),
      registeredBy: "arn:aws:iam::123456789012:user/someone",
      containerDefinitions: containers,
      ...extra,
    },
    tags,
  };
}

const app = (over: Partial<Container> = {}): Container => ({ name: "app", image: image("1"), ...over });

describe("chooseAppContainer", () => {
  const cases: Array<[string, Container[], string | undefined, string | { problem: string }]> = [
    ["the only container", [app()], undefined, "app"],
    ["named with --container", [app(), { name: "worker", image: image("2") }], "worker", "worker"],
    [
      "--container that is not there",
      [app()],
      "web",
      { problem: `container "web" (--container) is not in staging's task definition (found: app)` },
    ],
    [
      "the one Shipyard stamped SENTRY_RELEASE on",
      [{ name: "web", image: image("2") }, app({ environment: [{ name: "SENTRY_RELEASE", value: "v1" }] })],
      undefined,
      "app",
    ],
    [
      "not the Datadog agent (by image)",
      [{ name: "agent", image: "public.ecr.aws/datadog/agent:latest" }, app()],
      undefined,
      "app",
    ],
    ["not Envoy (by name)", [{ name: "envoy", image: "example/proxy:1" }, app()], undefined, "app"],
    [
      "not a FireLens log router",
      [{ name: "router", image: "example/router:1", firelensConfiguration: { type: "fluentbit" } }, app()],
      undefined,
      "app",
    ],
    [
      "not a container that is not essential",
      [{ name: "helper", image: "example/helper:1", essential: false }, app()],
      undefined,
      "app",
    ],
    [
      "two candidates: a question, not a guess",
      [app(), { name: "worker", image: image("2") }],
      undefined,
      { problem: "more than one container could be the app (app, worker)" },
    ],
    [
      "only sidecars",
      [{ name: "envoy", image: "envoyproxy/envoy:v1.30" }],
      undefined,
      { problem: "no container looks like the app (containers: envoy)" },
    ],
  ];
  it.each(cases)("%s", (_, containers, requested, expected) => {
    const choice = chooseAppContainer([live("staging", containers)], requested);
    if (typeof expected === "string") expect(choice).toMatchObject({ ok: true, name: expected });
    else expect(choice).toEqual({ ok: false, problem: expected.problem });
  });
});

/** Renders the adopted template for every environment and returns what plan would show, per environment. */
function renderedBack(envs: LiveService[], container = "app"): string[] {
  const adopted = adopt(envs, container);
  if (!adopted.ok) throw new Error(adopted.problem);
  const text = JSON.stringify(adopted.template);
  return envs.flatMap((env) => {
    const rendered = renderTaskDefinition({
      templateText: text,
      source: "task-def.json",
      environmentName: env.name,
      environment: adopted.config.environments[env.name]!,
      repository: REPO,
      image: image("f"),
      release: "r",
      planCommand: "plan",
    });
    return taskDefinitionChanges(env.taskDefinition, rendered).map((line) => `${env.name}: ${line}`);
  });
}

describe("adoptTemplate", () => {
  const logs = (group: string, region = "eu-west-1") => ({
    logDriver: "awslogs" as const,
    options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": "app" },
  });
  const twoEnvs = (
    staging: Partial<Container>,
    production: Partial<Container>,
    extra: [Partial<TaskDefinition>, Partial<TaskDefinition>] = [{}, {}],
  ) => [live("staging", [app(staging)], extra[0]), live("production", [app(production)], extra[1])];

  const cases: Array<{
    name: string;
    envs: LiveService[];
    placeholders: Record<string, string>;
    variables: Record<string, Record<string, string>>;
  }> = [
    {
      name: "one environment: everything literal but the image",
      envs: [live("staging", [app({ environment: [{ name: "PORT", value: "3000" }] })])],
      placeholders: {
        family: "shop-staging",
        "containerDefinitions[0].image": "{{IMAGE}}",
        "containerDefinitions[0].environment[0].value": "3000",
      },
      variables: { staging: {} },
    },
    {
      name: "the family and a role differ: named after where they are",
      envs: twoEnvs({}, {}, [
        { taskRoleArn: "arn:aws:iam::111111111111:role/shop" },
        { taskRoleArn: "arn:aws:iam::222222222222:role/shop" },
      ]),
      placeholders: { family: "{{FAMILY}}", taskRoleArn: "{{TASK_ROLE_ARN}}" },
      variables: {
        staging: { FAMILY: "shop-staging", TASK_ROLE_ARN: "arn:aws:iam::111111111111:role/shop" },
        production: { FAMILY: "shop-production", TASK_ROLE_ARN: "arn:aws:iam::222222222222:role/shop" },
      },
    },
    {
      name: "a value that is exactly the environment's name becomes {{ENV}}; its cluster {{CLUSTER}}",
      envs: twoEnvs(
        {
          environment: [
            { name: "APP_ENV", value: "staging" },
            { name: "QUEUE", value: "staging" },
          ],
        },
        {
          environment: [
            { name: "APP_ENV", value: "production" },
            { name: "QUEUE", value: "production" },
          ],
        },
      ),
      placeholders: {
        "containerDefinitions[0].environment[0].value": "{{ENV}}",
        "containerDefinitions[0].environment[1].value": "{{ENV}}",
      },
      variables: { staging: { FAMILY: "shop-staging" }, production: { FAMILY: "shop-production" } },
    },
    {
      name: "secrets from Secrets Manager and SSM: NAME_SECRET",
      envs: twoEnvs(
        {
          secrets: [
            { name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:staging-db" },
            { name: "API_KEY", valueFrom: "arn:aws:ssm:eu-west-1:1:parameter/staging/api-key" },
          ],
        },
        {
          secrets: [
            { name: "API_KEY", valueFrom: "arn:aws:ssm:eu-west-1:1:parameter/production/api-key" },
            { name: "DATABASE_URL", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:production-db" },
          ],
        },
      ),
      placeholders: {
        "containerDefinitions[0].secrets[0].valueFrom": "{{DATABASE_URL_SECRET}}",
        "containerDefinitions[0].secrets[1].valueFrom": "{{API_KEY_SECRET}}",
      },
      variables: {
        staging: {
          FAMILY: "shop-staging",
          DATABASE_URL_SECRET: "arn:aws:secretsmanager:eu-west-1:1:secret:staging-db",
          API_KEY_SECRET: "arn:aws:ssm:eu-west-1:1:parameter/staging/api-key",
        },
        production: {
          FAMILY: "shop-production",
          DATABASE_URL_SECRET: "arn:aws:secretsmanager:eu-west-1:1:secret:production-db",
          API_KEY_SECRET: "arn:aws:ssm:eu-west-1:1:parameter/production/api-key",
        },
      },
    },
    {
      name: "the same log group in two containers shares one variable",
      envs: [
        live("staging", [
          app({ logConfiguration: logs("/ecs/staging") }),
          {
            name: "otel",
            image: "otel/collector:1",
            essential: false,
            logConfiguration: logs("/ecs/staging"),
          },
        ]),
        live("production", [
          app({ logConfiguration: logs("/ecs/production") }),
          {
            name: "otel",
            image: "otel/collector:1",
            essential: false,
            logConfiguration: logs("/ecs/production"),
          },
        ]),
      ],
      placeholders: {
        "containerDefinitions[0].logConfiguration.options.awslogs-group": "{{LOG_GROUP}}",
        "containerDefinitions[1].logConfiguration.options.awslogs-group": "{{LOG_GROUP}}",
      },
      variables: {
        staging: { FAMILY: "shop-staging", LOG_GROUP: "/ecs/staging" },
        production: { FAMILY: "shop-production", LOG_GROUP: "/ecs/production" },
      },
    },
    {
      name: "the same place with other values in two containers: prefixed with the container",
      envs: [
        live("staging", [
          app({ logConfiguration: logs("/ecs/staging/app") }),
          {
            name: "otel",
            image: "otel/collector:1",
            essential: false,
            logConfiguration: logs("/ecs/staging/otel"),
          },
        ]),
        live("production", [
          app({ logConfiguration: logs("/ecs/production/app") }),
          {
            name: "otel",
            image: "otel/collector:1",
            essential: false,
            logConfiguration: logs("/ecs/production/otel"),
          },
        ]),
      ],
      placeholders: {
        "containerDefinitions[0].logConfiguration.options.awslogs-group": "{{APP_LOG_GROUP}}",
        "containerDefinitions[1].logConfiguration.options.awslogs-group": "{{OTEL_LOG_GROUP}}",
      },
      variables: {
        staging: {
          FAMILY: "shop-staging",
          APP_LOG_GROUP: "/ecs/staging/app",
          OTEL_LOG_GROUP: "/ecs/staging/otel",
        },
        production: {
          FAMILY: "shop-production",
          APP_LOG_GROUP: "/ecs/production/app",
          OTEL_LOG_GROUP: "/ecs/production/otel",
        },
      },
    },
    {
      name: "a sidecar's image that differs is a variable too (the app's is {{IMAGE}})",
      envs: [
        live("staging", [
          app({ image: image("1") }),
          { name: "otel", image: "otel/collector:1", essential: false },
        ]),
        live("production", [
          app({ image: image("2") }),
          { name: "otel", image: "otel/collector:2", essential: false },
        ]),
      ],
      placeholders: {
        "containerDefinitions[0].image": "{{IMAGE}}",
        "containerDefinitions[1].image": "{{OTEL_IMAGE}}",
      },
      variables: {
        staging: { FAMILY: "shop-staging", OTEL_IMAGE: "otel/collector:1" },
        production: { FAMILY: "shop-production", OTEL_IMAGE: "otel/collector:2" },
      },
    },
    {
      name: 'a literal "{{" travels as a variable (a template would read it as a placeholder)',
      envs: [live("staging", [app({ command: ["echo", "{{not a placeholder}}"] })])],
      placeholders: { "containerDefinitions[0].command[1]": "{{COMMAND}}" },
      variables: { staging: { COMMAND: "{{not a placeholder}}" } },
    },
  ];

  it.each(cases)("$name", ({ envs, placeholders, variables }) => {
    const adopted = adoptTemplate(envs, "app");
    if (!adopted.ok) throw new Error(adopted.problems.join("; "));
    for (const [path, value] of Object.entries(placeholders)) expect(at(adopted.template, path)).toBe(value);
    expect(adopted.variables).toEqual(variables);
    // Rendered back, each environment differs from its live definition only where every deploy does.
    const expected = envs.flatMap((env) => [
      `${env.name}: ~ containerDefinitions[app].image: "${env.taskDefinition.containerDefinitions![0]!.image}" → "${image("f")}"`,
      `${env.name}: + containerDefinitions[app].environment[SENTRY_RELEASE].value: "r"`,
    ]);
    expect(renderedBack(envs).sort()).toEqual(expected.sort());
  });

  it("drops read-only fields, empty values, shipyard:* tags and SENTRY_RELEASE; keeps other tags", () => {
    const env = live(
      "staging",
      [
        app({
          environment: [
            { name: "SENTRY_RELEASE", value: "v9" },
            { name: "PORT", value: "3000" },
          ],
          mountPoints: [],
          volumesFrom: [],
        }),
      ],
      { volumes: [], placementConstraints: [] },
      { team: "shop", "shipyard:release": "v9", "shipyard:verified": "true" },
    );
    const adopted = adoptTemplate([env], "app");
    expect(adopted).toMatchObject({ ok: true });
    if (!adopted.ok) return;
    expect(adopted.template).toEqual({
      family: "shop-staging",
      containerDefinitions: [
        { name: "app", image: "{{IMAGE}}", environment: [{ name: "PORT", value: "3000" }] },
      ],
      tags: [{ key: "team", value: "shop" }],
    });
  });

  const refusals: Array<[string, LiveService[], string]> = [
    [
      "a number that differs",
      twoEnvs({ memory: 512 }, { memory: 1024 }),
      "containerDefinitions[app].memory: 512 in staging, 1024 in production; a template can vary only text",
    ],
    [
      "an environment variable only one environment has",
      twoEnvs({ environment: [{ name: "DEBUG", value: "1" }] }, {}),
      "containerDefinitions[app].environment: only in staging (not in production)",
    ],
    [
      "a container only one environment has",
      [live("staging", [app()]), live("production", [app(), { name: "worker", image: image("3") }])],
      "containerDefinitions[worker]: only in production (not in staging)",
    ],
    [
      "a top-level field only one environment has",
      twoEnvs({}, {}, [{ ephemeralStorage: { sizeInGiB: 30 } }, {}]),
      "ephemeralStorage: only in staging (not in production)",
    ],
  ];
  it.each(refusals)("refuses %s, naming the place", (_, envs, problem) => {
    const adopted = adoptTemplate(envs, "app");
    expect(adopted).toEqual({ ok: false, problems: [problem] });
  });
});

describe("deploymentFromService", () => {
  const cases: Array<[string, DeploymentConfiguration | undefined, Record<string, unknown>, RegExp[]]> = [
    ["nothing reported", undefined, {}, [/Shipyard's defaults apply/]],
    [
      "rolling with its percentages and circuit breaker",
      {
        strategy: "ROLLING",
        maximumPercent: 150,
        minimumHealthyPercent: 50,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      {
        strategy: "rolling",
        maximumPercent: 150,
        minimumHealthyPercent: 50,
        circuitBreaker: { enable: true, rollback: true },
      },
      [],
    ],
    [
      "a circuit breaker that is off stays off",
      { deploymentCircuitBreaker: { enable: false, rollback: false } },
      { strategy: "rolling", circuitBreaker: { enable: false, rollback: false } },
      [/circuit breaker is off \(kept\)/],
    ],
    [
      "alarms that are on",
      {
        deploymentCircuitBreaker: { enable: true, rollback: true },
        alarms: { alarmNames: ["5xx", "latency"], enable: true, rollback: false },
      },
      {
        strategy: "rolling",
        circuitBreaker: { enable: true, rollback: true },
        alarms: { names: ["5xx", "latency"], rollback: false },
      },
      [],
    ],
    [
      "alarms that are off are not carried over",
      {
        deploymentCircuitBreaker: { enable: true, rollback: true },
        alarms: { alarmNames: ["5xx"], enable: false, rollback: false },
      },
      { strategy: "rolling", circuitBreaker: { enable: true, rollback: true } },
      [/alarms 5xx are attached but disabled/],
    ],
    [
      "blue-green with its bake time",
      {
        strategy: "BLUE_GREEN",
        bakeTimeInMinutes: 10,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      { strategy: "blue-green", bakeTimeMinutes: 10, circuitBreaker: { enable: true, rollback: true } },
      [],
    ],
    [
      "canary with its share and bake",
      {
        strategy: "CANARY",
        canaryConfiguration: { canaryPercent: 5, canaryBakeTimeInMinutes: 15 },
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      {
        strategy: "canary",
        canaryPercent: 5,
        canaryBakeTimeMinutes: 15,
        circuitBreaker: { enable: true, rollback: true },
      },
      [],
    ],
    [
      "linear with its steps",
      {
        strategy: "LINEAR",
        linearConfiguration: { stepPercent: 20, stepBakeTimeInMinutes: 3 },
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      {
        strategy: "linear",
        linearStepPercent: 20,
        linearStepBakeTimeMinutes: 3,
        circuitBreaker: { enable: true, rollback: true },
      },
      [],
    ],
    [
      "a percentage shipyard.json does not accept falls back to the default, with a note",
      { maximumPercent: 450, deploymentCircuitBreaker: { enable: true, rollback: true } },
      { strategy: "rolling", circuitBreaker: { enable: true, rollback: true } },
      [/maximumPercent 450, which shipyard\.json does not accept/],
    ],
    [
      "no circuit breaker reported: Shipyard turns it on, and says so",
      { maximumPercent: 200, minimumHealthyPercent: 100 },
      { strategy: "rolling", maximumPercent: 200, minimumHealthyPercent: 100 },
      [/no circuit breaker: Shipyard turns it on/],
    ],
  ];
  it.each(cases)("%s", (_, reported, deployment, notes) => {
    const result = deploymentFromService(reported);
    expect(result.deployment).toEqual(deployment);
    expect(result.notes).toHaveLength(notes.length);
    for (const [i, note] of notes.entries()) expect(result.notes[i]).toMatch(note);
  });
});

describe("adopt", () => {
  it("writes a shipyard.json the schema accepts, with the environments in the order given", () => {
    const adopted = adopt([live("staging", [app()]), live("production", [app({ image: image("2") })])]);
    if (!adopted.ok) throw new Error(adopted.problem);
    expect(ConfigSchema.safeParse(adopted.configJson).success).toBe(true);
    expect(adopted.configJson).toMatchObject({
      $schema: "./node_modules/@acme/shipyard/schema/shipyard.schema.json",
      image: REPO,
    });
    expect(Object.keys(adopted.config.environments)).toEqual(["staging", "production"]);
    expect(adopted.questions).toContain(
      `repository variable AWS_PUBLISH_ROLE: a role that may push to ${REPO}`,
    );
    expect(adopted.questions).toContain(
      'requires: e.g. environments.production.requires = "staging" to deploy there only images already verified in staging',
    );
  });

  it("keeps a literal that looks like a secret (it runs today), lists it in plaintextAllowed and asks to move it", () => {
    const envs = [
      live("staging", [
        app({
          environment: [
            { name: "STRIPE_API_KEY", value: "sk_test_123" },
            { name: "DATABASE_URL", value: "postgres://app:hunter2@db:5432/app" },
            { name: "PORT", value: "3000" },
          ],
        }),
      ]),
    ];
    const adopted = adopt(envs);
    if (!adopted.ok) throw new Error(adopted.problem);
    expect(adopted.config.environments.staging!.plaintextAllowed).toEqual(["STRIPE_API_KEY", "DATABASE_URL"]);
    expect(adopted.questions[0]).toBe(
      'staging: STRIPE_API_KEY, DATABASE_URL hold what looks like a secret in plain text in the task definition (kept, listed in plaintextAllowed): move them to "secrets" (valueFrom Secrets Manager or SSM), then out of plaintextAllowed',
    );
    expect(renderedBack(envs).sort()).toEqual([
      'staging: + containerDefinitions[app].environment[SENTRY_RELEASE].value: "r"',
      `staging: ~ containerDefinitions[app].image: "${image("1")}" → "${image("f")}"`,
    ]);
  });

  it("asks for a digest when a service runs an image by tag", () => {
    const adopted = adopt([live("staging", [app({ image: `${REPO}:latest` })])]);
    if (!adopted.ok) throw new Error(adopted.problem);
    expect(adopted.questions).toContain(
      "staging runs an image by tag: Shipyard deploys by digest (repo@sha256:…), so give `plan` one with --image",
    );
  });

  it("refuses environments whose app images come from different repositories", () => {
    const adopted = adopt([
      live("staging", [app()]),
      live("production", [app({ image: "ghcr.io/acme/shop@sha256:" + "2".repeat(64) })]),
    ]);
    expect(adopted).toMatchObject({ ok: false });
    if (adopted.ok) return;
    expect(adopted.problem).toBe(
      `Container app runs images from different repositories (${REPO} in staging, ghcr.io/acme/shop in production), and shipyard.json deploys one image to every environment`,
    );
  });

  it("refuses services shipyard.json cannot describe, naming the key", () => {
    const adopted = adopt([
      live("staging", [app({ image: `Registry.Example/App@sha256:${"1".repeat(64)}` })]),
    ]);
    expect(adopted).toMatchObject({ ok: false });
    if (adopted.ok) return;
    expect(adopted.problem).toBe(
      "The services cannot be described in shipyard.json:\n  - image: an image repository without tag",
    );
  });

  it("refuses a container choice it cannot make, pointing at --container", () => {
    const adopted = adopt([live("staging", [app(), { name: "worker", image: image("2") }])]);
    expect(adopted).toEqual({
      ok: false,
      problem:
        "Cannot tell which container to deploy: more than one container could be the app (app, worker)",
      hint: "name it with --container NAME",
    });
  });

  it.each([
    ["taskRoleArn", "TASK_ROLE_ARN"],
    ["awslogs-group", "AWSLOGS_GROUP"],
    ["1337", "V_1337"],
    ["---", "VALUE"],
  ])("names %s as %s", (text, name) => {
    expect(snake(text)).toBe(name);
  });
});

/** A value by a path such as containerDefinitions[0].environment[1].value. */
function at(value: unknown, path: string): unknown {
  return path
    .split(/\.|(?=\[)/)
    .reduce<unknown>(
      (node, key) =>
        node === undefined
          ? undefined
          : key.startsWith("[")
            ? (node as unknown[])[Number(key.slice(1, -1))]
            : (node as Record<string, unknown>)[key],
      value,
    );
}
