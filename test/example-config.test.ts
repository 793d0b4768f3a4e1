/**
 * The example app's shipyard.json, Shipyard's bundled task-def.json and default Dockerfile must agree
 * with each other and with the config schema: they are what the README tells users to copy.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { renderTaskDefinition } from "../src/config/taskdef.js";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

const config = parseConfig(read("examples/app/shipyard.json"), "examples/app/shipyard.json");
const template = read("task-def.json");
const dockerfile = read("Dockerfile");
const DIGEST = `sha256:${"a".repeat(64)}`;

function render(environmentName: string) {
  const environment = config.environments[environmentName]!;
  return renderTaskDefinition({
    templateText: template,
    source: "task-def.json",
    environmentName,
    environment,
    repository: config.image,
    image: `${config.image}@${DIGEST}`,
    release: "0123abc",
    planCommand: `npx shipyard plan --env ${environmentName}`,
  });
}

describe("examples/app/shipyard.json", () => {
  it("validates against the schema, with production gated on staging", () => {
    expect(Object.keys(config.environments)).toEqual(["staging", "production"]);
    expect(config.environments["production"]!.requires).toBe("staging");
    for (const environment of Object.values(config.environments)) {
      expect(environment.migrations?.command).toEqual(["node", "dist/migrate.js"]);
      expect(environment.sentry).toMatchObject({ org: "acme", project: "shipyard-example" });
    }
  });

  it.each(["staging", "production"])(
    "fills every placeholder of the bundled task-def.json for %s",
    (name) => {
      const rendered = render(name);
      const environment = config.environments[name]!;
      const app = rendered.containerDefinitions.find((c) => c.name === "app")!;

      expect(JSON.stringify(rendered)).not.toMatch(/\{\{/);
      expect(rendered.family).toBe(environment.variables["FAMILY"]);
      expect(app.image).toBe(`${config.image}@${DIGEST}`);
      expect(app.environment).toContainEqual({ name: "SENTRY_RELEASE", value: "0123abc" });
      expect(app.secrets).toEqual([
        { name: "DATABASE_URL", valueFrom: environment.variables["DATABASE_SECRET_ARN"] },
      ]);
      expect(app.logConfiguration?.options?.["awslogs-region"]).toBe(environment.region);
    },
  );
});

describe("the bundled task-def.json and the default Dockerfile", () => {
  const app = render("staging").containerDefinitions[0]!;

  it("run the same health check", () => {
    const healthcheck = /^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile);
    expect(healthcheck).not.toBeNull();
    expect(app.healthCheck?.command).toEqual(["CMD", ...(JSON.parse(healthcheck![1]!) as string[])]);
  });

  it("give the app's drain time to finish before ECS kills the container", () => {
    const drainMs = Number(app.environment?.find((e) => e.name === "SHUTDOWN_TIMEOUT_MS")?.value);
    expect(drainMs).toBeGreaterThan(0);
    expect(drainMs).toBeLessThan(app.stopTimeout! * 1000);
  });

  it("agree on the port", () => {
    expect(app.portMappings?.[0]?.containerPort).toBe(3000);
    expect(app.environment).toContainEqual({ name: "PORT", value: "3000" });
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
  });

  it("the Dockerfile takes its base image from NODE_IMAGE in every stage and pulls no frontend", () => {
    const nodeImage = "$" + "{NODE_IMAGE}";
    const froms = [...dockerfile.matchAll(/^FROM (\S+) AS ([a-z-]+)$/gm)].map(([, base, name]) => ({
      base: base!,
      name: name!,
    }));
    expect(froms.length).toBe((dockerfile.match(/^FROM /gm) ?? []).length);
    expect(froms.length).toBeGreaterThan(1);
    // A stage starts from NODE_IMAGE or an earlier stage; scratch only for the runtime, which copies
    // the trimmed base from a stage and so pulls nothing of its own.
    froms.forEach(({ base, name }, index) => {
      const earlier = froms.slice(0, index).map((stage) => stage.name);
      if (base === "scratch") {
        expect(name).toBe("runtime");
        return;
      }
      expect([nodeImage, ...earlier], `stage ${name}`).toContain(base);
    });
    expect(froms.at(-1)?.name).toBe("runtime");
    const runtimeBase = /^FROM scratch AS runtime\nCOPY --from=([a-z-]+) \/ \/$/m.exec(dockerfile)?.[1];
    expect(froms.find((stage) => stage.name === runtimeBase)?.base).toBe(nodeImage);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-alpine$/m);
    expect(dockerfile).not.toMatch(/^#\s*syntax=/m);
  });
});

describe("examples/app/biome.json", () => {
  // The app keeps its own root config so its lint also works when Dagger gets examples/app alone.
  it("has the same formatter and linter rules as the repository's", () => {
    const rules = (text: string) => {
      const { $schema: _schema, files: _files, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(rules(read("examples/app/biome.json"))).toEqual(rules(read("biome.json")));
  });
});

describe("examples/ecr: images in ECR, two accounts, a sidecar, ARM64, secrets from SSM and Secrets Manager", () => {
  const ecr = parseConfig(read("examples/ecr/shipyard.json"), "examples/ecr/shipyard.json");
  const ecrTemplate = read("examples/ecr/task-def.json");

  it.each(["staging", "production"])(
    "renders %s with every placeholder filled and Fargate sizes in AWS's own spellings",
    (name) => {
      const environment = ecr.environments[name]!;
      const image = `${ecr.image}@${DIGEST}`;
      const rendered = renderTaskDefinition({
        templateText: ecrTemplate,
        source: "examples/ecr/task-def.json",
        environmentName: name,
        environment,
        repository: ecr.image,
        image,
        release: "0123abc",
        planCommand: `npx shipyard plan --env ${name}`,
      });
      expect(JSON.stringify(rendered)).not.toMatch(/\{\{/);
      expect(rendered.family).toBe(`notes-api-${name}`);
      expect(rendered.executionRoleArn).toBe(
        `arn:aws:iam::${environment.variables["ACCOUNT"]}:role/notes-api-execution`,
      );
      const api = rendered.containerDefinitions.find((c) => c.name === "api")!;
      expect(api.image).toBe(image);
      expect(api.secrets?.map((s) => s.valueFrom)).toEqual([
        environment.variables["DATABASE_URL_SECRET"],
        environment.variables["SESSION_KEY_PARAMETER"],
      ]);
      // The sidecar keeps its own image; only the app container receives the deployed one.
      expect(rendered.containerDefinitions.find((c) => c.name === "otel-collector")!.image).toMatch(
        /^public\.ecr\.aws\/aws-observability\/aws-otel-collector:/,
      );
      expect(rendered.runtimePlatform?.cpuArchitecture).toBe("ARM64");
    },
  );

  it("its workflow publishes to ECR with OIDC credentials and to GHCR side by side", () => {
    const workflow = read("examples/ecr/.github/workflows/deploy.yml");
    expect(workflow).toMatch(/role-to-assume: \$\{\{ vars\.AWS_PUBLISH_ROLE \}\}/);
    expect(workflow).toMatch(/publish --repository=\$\{\{ env\.ECR_REPOSITORY \}\}/);
    expect(workflow).toMatch(/publish --repository=ghcr\.io\//);
    expect(workflow).toMatch(/id-token: write/);
    expect(workflow).toMatch(/cancel-in-progress: false/);
  });
});
