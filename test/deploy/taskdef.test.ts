import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parseConfig, selectEnvironment } from "../../src/config/load.js";
import { readBundledTemplate, releaseOf, renderTaskDefinition } from "../../src/config/taskdef.js";
import { InputError } from "../../src/errors.js";
import { configText, NEW_IMAGE, REPO, TEMPLATE } from "../support/world.js";

const environment = (extra: Record<string, unknown> = {}) =>
  selectEnvironment(parseConfig(configText({}, extra)), "staging");

function render(template: unknown, options: { image?: string; extra?: Record<string, unknown> } = {}) {
  return renderTaskDefinition({
    templateText: typeof template === "string" ? template : JSON.stringify(template),
    source: "task-def.json",
    environmentName: "staging",
    environment: environment(options.extra),
    repository: REPO,
    image: options.image ?? NEW_IMAGE,
    release: "v9",
    planCommand: "npx shipyard plan --env staging",
  });
}

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error("expected an InputError");
}

const base = JSON.parse(TEMPLATE);

describe("task definition rendering", () => {
  it("fills built-in and environment placeholders, sets the image and SENTRY_RELEASE", () => {
    const rendered = render({
      ...base,
      containerDefinitions: [
        {
          name: "app",
          image: "placeholder-is-overwritten",
          environment: [
            { name: "SENTRY_RELEASE", value: "stale" },
            { name: "WHERE", value: "{{ REGION }}/{{CLUSTER}}/{{SERVICE}}" },
          ],
        },
      ],
    });
    const app = rendered.containerDefinitions[0]!;
    expect(app.image).toBe(NEW_IMAGE);
    expect(app.environment).toEqual([
      { name: "WHERE", value: "eu-west-1/main/web" },
      { name: "SENTRY_RELEASE", value: "v9" },
    ]);
    expect(releaseOf(rendered, "app")).toBe("v9");
    expect(releaseOf(rendered, "sidecar")).toBeNull();
  });

  it("accepts a tag before the digest and Fargate sizes written as vCPU/GB", () => {
    const rendered = render(
      { ...base, cpu: "1 vCPU", memory: "2 GB" },
      { image: `${REPO}:1.4.0@sha256:${"d".repeat(64)}` },
    );
    expect([rendered.cpu, rendered.memory]).toEqual(["1024", "2048"]);
  });

  it.each([
    [{ cpu: "300", memory: "512" }, /cpu: 300 is not a Fargate size/],
    [
      { cpu: "4096", memory: "4096" },
      /memory: 4096 MiB does not fit cpu 4096 on Fargate \(allowed: 8192-30720 in steps of 1024\)/,
    ],
    [
      { cpu: undefined, memory: undefined },
      /^cpu: Fargate needs task-level cpu, .*\nmemory: Fargate needs task-level memory, /,
    ],
  ])("rejects Fargate size %j", (size, message) => {
    expect(problems(() => render({ ...base, ...size })).join("\n")).toMatch(message);
  });

  it("rejects unknown fields, bad container names and variables that shadow built-ins", () => {
    const found = problems(() =>
      render(
        { ...base, familly: "x", containerDefinitions: [...base.containerDefinitions, { name: "side car" }] },
        { extra: { variables: { IMAGE: "x", LOG_LEVEL: "info" } } },
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        "familly: not a RegisterTaskDefinition field (check the spelling)",
        'containerDefinitions[1].name: "side car" must be 1-255 letters, digits, "_" or "-"',
        "environments.staging.variables.IMAGE: {{IMAGE}} is built in (Shipyard fills it); rename the variable",
      ]),
    );
  });

  it("names a template that is not JSON", () => {
    expect(() => render("{ nope")).toThrow(/task-def.json is not valid JSON/);
  });

  it("Shipyard's bundled template renders with the example app's variables", async () => {
    const text = await readBundledTemplate();
    const example = await readFile(new URL("../../examples/app/shipyard.json", import.meta.url), "utf8");
    const config = parseConfig(example);
    const image = `${config.image}@sha256:${"e".repeat(64)}`;
    const rendered = renderTaskDefinition({
      templateText: text,
      source: "task-def.json",
      environmentName: "production",
      environment: selectEnvironment(config, "production"),
      repository: config.image,
      image,
      release: "abc123",
      planCommand: "npx shipyard plan --env production",
    });
    expect(rendered.family).toBe("shipyard-example-production");
    expect(rendered.containerDefinitions[0]!.image).toBe(image);
    expect(releaseOf(rendered, "app")).toBe("abc123");
  });
});
