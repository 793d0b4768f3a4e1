/**
 * `shipyard init` against the ECS simulator (the real AWS SDK over HTTP): it adopts services with
 * real-world task definitions (test/init/fixtures/README.md), writes files that pass the schema, and
 * `plan` on what it wrote shows no task definition change but the image (and SENTRY_RELEASE, which
 * every deploy stamps). Every refusal a user can hit is here too, each with nothing written.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { diskFiles } from "../../bin/runtime.js";
import { parseConfig } from "../../src/config/load.js";
import type { Report } from "../../src/report/report.js";
import { memoryFiles, startWorld, type World } from "../support/world.js";
import { DATADOG, datadogService, ecrImage, exampleServices } from "./services.js";

const APP_IMAGE = (DATADOG.containerDefinitions as Array<{ image: string }>)[1]!.image;
const NEXT_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-httpd-service@sha256:${"b".repeat(64)}`;

interface Workflow {
  on: unknown;
  concurrency: unknown;
  jobs: Record<
    string,
    { steps: Array<{ uses?: string; run?: string; with?: unknown }> } & Record<string, unknown>
  >;
}

/** A GitHub Actions expression as a workflow spells it. */
const expression = (text: string) => `$\{{ ${text} }}`;

let world: World;
let dir: string;

beforeEach(async () => {
  world = await startWorld();
  dir = await mkdtemp(join(tmpdir(), "shipyard-init-"));
});

afterEach(async () => {
  await world.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `init` as both faces run it, writing into the test's folder. */
function init(raw: Record<string, unknown>): Promise<Report> {
  return world.run("init", raw, { files: memoryFiles({}, dir) });
}

/** `plan` on the files init wrote, from the same folder. */
async function planWritten(env: string, image: string, release: string): Promise<Report> {
  const files = memoryFiles(
    {
      "shipyard.json": await readFile(join(dir, "shipyard.json"), "utf8"),
      "task-def.json": await readFile(join(dir, "task-def.json"), "utf8"),
    },
    dir,
  );
  return world.run("plan", { env, image, release }, { files });
}

const written = async (path: string) => readFile(join(dir, path), "utf8");

function callsSince(start: number): string[] {
  return world.sim.calls.slice(start).map((call) => call.operation);
}

const TWO_ENVIRONMENTS = {
  env: ["staging", "production"],
  region: ["eu-central-1"],
  cluster: ["notes-staging", "notes-production"],
  service: ["notes-api"],
};

describe("init adopts a real-world service (FireLens sidecar, secrets, ARM64, ephemeral storage)", () => {
  it("writes shipyard.json, a template and OIDC workflows with two reads, and plan then shows only the image", async () => {
    const arn = datadogService(world.sim, {
      strategy: "ROLLING",
      maximumPercent: 150,
      minimumHealthyPercent: 50,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: ["httpd-5xx"], enable: true, rollback: true },
    });
    const before = world.sim.calls.length;
    const report = await init({
      env: ["production"],
      region: ["eu-west-1"],
      cluster: ["apps"],
      service: ["httpd"],
    });

    expect(report).toMatchObject({ outcome: "succeeded", exitCode: 0, environment: "production" });
    expect(callsSince(before)).toEqual(["DescribeServices", "DescribeTaskDefinition"]);
    expect(report.details).toMatchObject({ awsCalls: 2, container: "app" });
    expect((await readdir(dir, { recursive: true })).sort()).toEqual([
      ".github",
      ".github/workflows",
      ".github/workflows/deploy.yml",
      ".github/workflows/rollback.yml",
      "shipyard.json",
      "task-def.json",
    ]);

    const config = parseConfig(await written("shipyard.json"));
    expect(config.image).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-httpd-service");
    expect(config.environments.production).toMatchObject({
      region: "eu-west-1",
      cluster: "apps",
      service: "httpd",
      container: "app",
      variables: {},
      deployment: {
        strategy: "rolling",
        maximumPercent: 150,
        minimumHealthyPercent: 50,
        circuitBreaker: { enable: true, rollback: true },
        alarms: { names: ["httpd-5xx"], rollback: true },
      },
    });

    const template = JSON.parse(await written("task-def.json")) as Record<string, unknown>;
    // The live definition, field for field: only the app's image became {{IMAGE}}; shipyard:* tags left out.
    const [sidecar, app] = DATADOG.containerDefinitions as Array<Record<string, unknown>>;
    expect(template).toEqual({
      ...DATADOG,
      containerDefinitions: [sidecar, { ...app, image: "{{IMAGE}}" }],
      tags: [{ key: "team", value: "web" }],
    });

    const plan = await planWritten("production", NEXT_IMAGE, "v2");
    expect(plan.outcome).toBe("planned");
    expect(plan.details?.taskDefinitionChanges).toEqual([
      `~ containerDefinitions[app].image: "${APP_IMAGE}" → "${NEXT_IMAGE}"`,
      '+ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v2"',
    ]);
    expect(plan.details?.deploymentChanges).toEqual([]);
    expect(plan.previousTaskDefinition).toBe(arn);
  });

  it("writes workflows like the repository's own: the same pinned actions, OIDC roles, the same shipyard commands", async () => {
    datadogService(world.sim);
    await init({ env: ["production"], region: ["eu-west-1"], cluster: ["apps"], service: ["httpd"] });
    const deployText = await written(".github/workflows/deploy.yml");
    const rollbackText = await written(".github/workflows/rollback.yml");
    const ours = await Promise.all(
      [
        ".github/workflows/deploy.yml",
        ".github/workflows/rollback.yml",
        "examples/ecr/.github/workflows/deploy.yml",
      ].map((path) => readFile(new URL(`../../${path}`, import.meta.url), "utf8")),
    );
    const pinsOf = (text: string) => new Set([...text.matchAll(/uses: (\S+ # v[\d.]+)/g)].map((m) => m[1]!));
    const ourPins = new Set(ours.flatMap((text) => [...pinsOf(text)]));
    for (const pin of [...pinsOf(deployText), ...pinsOf(rollbackText)]) expect(ourPins).toContain(pin);

    const deploy = parse(deployText) as Workflow;
    const rollback = parse(rollbackText) as Workflow;
    for (const workflow of [deploy, rollback]) {
      expect(workflow.concurrency).toEqual({
        group: `deploy-${expression("github.repository")}`,
        "cancel-in-progress": false,
      });
    }
    expect(Object.keys(deploy.jobs)).toEqual(["publish", "deploy-production"]);
    const job = deploy.jobs["deploy-production"]!;
    expect(job).toMatchObject({ environment: "production", permissions: { "id-token": "write" } });
    expect(
      job.steps.find((step) => step.uses?.startsWith("aws-actions/configure-aws-credentials@"))?.with,
    ).toEqual({
      "role-to-assume": expression("vars.AWS_DEPLOY_ROLE_PRODUCTION"),
      "role-session-name": `shipyard-production-${expression("github.run_id")}`,
      "aws-region": "eu-west-1",
    });
    expect(job.steps.map((step) => step.run).filter(Boolean)).toEqual([
      "npm ci --no-audit --no-fund",
      'npx shipyard deploy --env production --image "$IMAGE" --json > deploy-production.json',
    ]);
    // The image runs on ARM64: it is built there, and pushed to ECR with its own role.
    expect(deploy.jobs.publish).toMatchObject({
      "runs-on": "ubuntu-24.04-arm",
      permissions: { "id-token": "write" },
    });
    expect(deployText).toContain(`role-to-assume: ${expression("vars.AWS_PUBLISH_ROLE")}`);
    expect(rollback.on).toMatchObject({
      workflow_dispatch: { inputs: { environment: { options: ["production"] } } },
    });
    expect(rollbackText).toContain(`npx shipyard rollback --env "$ENVIRONMENT" $\{TO:+--to "$TO"} --json`);
    expect(`${deployText}${rollbackText}`).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-access-key-id/);
  });

  it("prints what it found, what it decided and what is left to decide", async () => {
    datadogService(world.sim);
    const { code, stderr } = await world.cli(
      ["init", "--env", "production", "--region", "eu-west-1", "--cluster", "apps", "--service", "httpd"],
      {},
      { files: memoryFiles({}, dir) },
    );
    expect(code).toBe(0);
    expect(stderr).toContain("Read 1 service(s) with 2 AWS call(s):");
    expect(stderr).toContain("production: apps/httpd in eu-west-1 runs firelens-example-datadog:1");
    expect(stderr).toContain(
      "container app receives the image: the only essential container that is not a sidecar (log_router is one)",
    );
    expect(stderr).toContain("Still yours to decide:");
    expect(stderr).toContain("environments.production.healthCheck.url");
    expect(stderr).toContain("repository variables AWS_DEPLOY_ROLE_PRODUCTION");
    // The simulator reports no circuit breaker: the next deploy turns it on, and init says so.
    expect(stderr).toMatch(
      /production: the next deploy also changes the service's deployment settings \(\+ deploymentCircuitBreaker\.enable: true/,
    );
  });
});

describe("init while a deployment is in flight", () => {
  it("adopts the revision the service is set to, and warns", async () => {
    datadogService(world.sim);
    const next = world.sim.registerTaskDefinition({ ...DATADOG, cpu: "1024", memory: "2048" });
    world.sim.startDeployment("apps", "httpd", next, "stuck");
    const report = await init({
      env: ["production"],
      region: ["eu-west-1"],
      cluster: ["apps"],
      service: ["httpd"],
    });
    expect(report.outcome).toBe("succeeded");
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /^production: 2 deployments are active \(PRIMARY .* → firelens-example-datadog:2\); the template was taken from firelens-example-datadog:2, the revision the service is set to$/,
      ),
    ]);
    expect(JSON.parse(await written("task-def.json"))).toMatchObject({ cpu: "1024", memory: "2048" });
  });
});

describe("init with two environments", () => {
  it("turns what differs into variables, and plan shows only the image for each", async () => {
    const arns = await exampleServices(world.sim);
    const before = world.sim.calls.length;
    const report = await init(TWO_ENVIRONMENTS);
    expect(report.outcome).toBe("succeeded");
    expect(callsSince(before)).toEqual([
      "DescribeServices",
      "DescribeTaskDefinition",
      "DescribeServices",
      "DescribeTaskDefinition",
    ]);

    const config = parseConfig(await written("shipyard.json"));
    expect(Object.keys(config.environments)).toEqual(["staging", "production"]);
    expect(config.environments.staging!.variables).toEqual({
      FAMILY: "notes-api-staging",
      TASK_ROLE_ARN: "arn:aws:iam::111122223333:role/notes-api-task",
      EXECUTION_ROLE_ARN: "arn:aws:iam::111122223333:role/notes-api-execution",
      LOG_GROUP: "/ecs/notes-api-staging",
      DATABASE_URL_SECRET:
        "arn:aws:secretsmanager:eu-central-1:111122223333:secret:notes/staging/database-url-a1B2c3",
      SESSION_KEY_SECRET: "arn:aws:ssm:eu-central-1:111122223333:parameter/notes/staging/session-key",
    });
    expect(config.environments.production!.deployment.alarms).toEqual({
      names: ["notes-api-production-5xx"],
      rollback: true,
    });
    expect(config.environments.staging!.deployment.alarms).toBeUndefined();
    const template = await written("task-def.json");
    expect(template).toContain('"family": "{{FAMILY}}"');
    expect(template).toContain('"awslogs-group": "{{LOG_GROUP}}"');
    expect(template).not.toContain("SENTRY_RELEASE");

    for (const [name, c] of [
      ["staging", "1"],
      ["production", "2"],
    ] as const) {
      const plan = await planWritten(name, ecrImage("9"), `${name}-release`);
      expect(plan.previousTaskDefinition).toBe(arns[name]);
      expect(plan.details?.taskDefinitionChanges).toEqual([
        `~ containerDefinitions[api].image: "${ecrImage(c)}" → "${ecrImage("9")}"`,
      ]);
      expect(plan.details?.deploymentChanges).toEqual([]);
    }
    const deploy = await written(".github/workflows/deploy.yml");
    expect(deploy).toContain("needs: [publish, deploy-staging]");
    expect(await written(".github/workflows/rollback.yml")).toContain("options: [staging, production]");
  });

  it("refuses environments whose definitions differ in a number, naming the field", async () => {
    await exampleServices(world.sim);
    const changed = world.sim.registerTaskDefinition({
      family: "notes-api-production",
      containerDefinitions: [{ name: "api", image: ecrImage("2"), memory: 1024 }],
    });
    world.sim.createService({ cluster: "odd", service: "notes-api", taskDefinition: changed });
    const report = await init({ ...TWO_ENVIRONMENTS, cluster: ["notes-staging", "odd"] });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain("differ in ways one template cannot express");
    expect(report.reason).toMatch(/nothing was written$/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("init refuses, writing nothing", () => {
  const production = { env: ["production"], region: ["eu-west-1"], cluster: ["apps"], service: ["httpd"] };

  it("a service that does not exist (exit 2, with the reason)", async () => {
    const report = await init({ ...production, cluster: ["main"], service: ["nope"] });
    expect(report).toMatchObject({ outcome: "failed", exitCode: 2 });
    expect(report.reason).toBe(
      'Cannot read production (main/nope in eu-west-1): service "nope" in cluster "main" was not found (MISSING); nothing was written',
    );
    expect(report.nextSteps).toEqual([
      "aws ecs describe-services --region eu-west-1 --cluster main --services nope",
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a cluster that does not exist", async () => {
    const report = await init({ ...production, cluster: ["gone"] });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain('cluster "gone" does not exist');
  });

  it("a service deployed by CodeDeploy", async () => {
    world.sim.createService({
      cluster: "apps",
      service: "httpd",
      taskDefinition: world.v1,
      controller: "CODE_DEPLOY",
    });
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain("uses the CODE_DEPLOY deployment controller");
  });

  it("a service that is draining", async () => {
    world.sim.createService({
      cluster: "apps",
      service: "httpd",
      taskDefinition: world.v1,
      status: "DRAINING",
    });
    const report = await init(production);
    expect(report.reason).toContain("the service is DRAINING, not ACTIVE");
  });

  it("credentials AWS rejects", async () => {
    datadogService(world.sim);
    world.sim.injectFault("DescribeServices", "UnrecognizedClientException", 400, 1);
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^Cannot read production \(apps\/httpd in eu-west-1\): AWS rejected the credentials/,
    );
    expect(report.reason).not.toContain("nothing was changed");
  });

  it("an error ECS answers with (not explained elsewhere), named as ECS gave it", async () => {
    datadogService(world.sim);
    world.sim.injectFault("DescribeTaskDefinition", "ClientException", 400, 1);
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^Cannot read production \(apps\/httpd in eu-west-1\): ECS answered ClientException: .*; nothing was written$/,
    );
    expect(report.nextSteps).toEqual([
      "aws ecs describe-services --region eu-west-1 --cluster apps --services httpd",
    ]);
  });

  it("a template that would not give back the live definition, with each difference", async () => {
    // A literal secret under a name plaintextAllowed cannot list: the render refuses it.
    const arn = world.sim.registerTaskDefinition({
      family: "odd",
      containerDefinitions: [
        { name: "app", image: ecrImage("1"), environment: [{ name: "LEGACY-API-TOKEN", value: "abc123" }] },
      ],
    });
    world.sim.createService({ cluster: "apps", service: "httpd", taskDefinition: arn });
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^The template would not give back the live task definitions:\n {2}- production: containerDefinitions\[0\]\.environment LEGACY-API-TOKEN: holds a literal value/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("a task definition whose app container it cannot tell", async () => {
    const arn = world.sim.registerTaskDefinition({
      family: "two",
      containerDefinitions: [
        { name: "web", image: ecrImage("1") },
        { name: "worker", image: ecrImage("2") },
      ],
    });
    world.sim.createService({ cluster: "apps", service: "httpd", taskDefinition: arn });
    const report = await init(production);
    expect(report.reason).toContain("more than one container could be the app (web, worker)");
    expect(report.nextSteps).toEqual(["name it with --container NAME"]);
    expect((await init({ ...production, container: "worker" })).outcome).toBe("succeeded");
  });

  it("files that exist, unless --force (no AWS call)", async () => {
    datadogService(world.sim);
    await writeFile(join(dir, "shipyard.json"), "{}");
    await mkdir(join(dir, ".github/workflows"), { recursive: true });
    await writeFile(join(dir, ".github/workflows/deploy.yml"), "name: mine\n");
    const before = world.sim.calls.length;
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toBe(
      "shipyard.json, .github/workflows/deploy.yml already exist; nothing was written",
    );
    expect(report.nextSteps?.[0]).toContain(
      "init --env production --region eu-west-1 --cluster apps --service httpd --force",
    );
    expect(callsSince(before)).toEqual([]);
    expect(await written("shipyard.json")).toBe("{}");
    expect(await readdir(dir)).not.toContain("task-def.json");

    const forced = await init({ ...production, force: true });
    expect(forced.outcome).toBe("succeeded");
    expect(forced.details?.overwritten).toEqual(["shipyard.json", ".github/workflows/deploy.yml"]);
    expect(parseConfig(await written("shipyard.json")).environments.production?.service).toBe("httpd");
  });

  it("a folder it cannot write: all files or none", async () => {
    datadogService(world.sim);
    // .github is a file: the workflows cannot be written after shipyard.json and task-def.json were.
    await writeFile(join(dir, ".github"), "not a folder");
    const report = await init(production);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /^Cannot write .*\/\.github\/workflows\/deploy\.yml \((EEXIST|ENOTDIR)\); nothing was written$/,
    );
    expect(await readdir(dir)).toEqual([".github"]);
  });

  it.each([
    [{ env: [] }, "--env NAME is required"],
    [{ env: ["Prod"] }, '--env "Prod" is not a valid NAME'],
    [{ env: ["a", "a"] }, "--env a is given twice"],
    [{ region: ["Europe"] }, '--region "Europe" is not an AWS region'],
    [{ env: ["a", "b"], cluster: ["x", "y", "z"] }, "--cluster is given 3 times for 2 --env"],
    [{ env: ["a", "b"] }, "two environments name the same service (apps/httpd in eu-west-1)"],
    [{ service: [] }, "--service is required"],
  ])("a bad command line %j, before any AWS call", async (change, problem) => {
    const before = world.sim.calls.length;
    const report = await init({ ...production, ...change });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(problem);
    expect(callsSince(before)).toEqual([]);
  });
});

describe("init on the CLI", () => {
  it("is listed by shipyard --help and documented by shipyard init --help", async () => {
    const help = await world.cli(["--help"]);
    expect(help.code).toBe(0);
    expect(`${help.stdout}${help.stderr}`).toMatch(
      /init\s+Write shipyard\.json, task-def\.json and workflows from running services/,
    );
    const usage = await world.cli(["init", "--help"]);
    const text = `${usage.stdout}${usage.stderr}`;
    expect(usage.code).toBe(0);
    for (const flag of [
      "--env NAME",
      "--region REGION",
      "--cluster NAME",
      "--service NAME",
      "--container NAME",
      "--force",
    ]) {
      expect(text).toContain(flag);
    }
  });

  it("runs its documented example as printed, and the plan it prints next runs too", async () => {
    const { command } = await import("../../src/commands/init.js");
    world.sim.createService({
      cluster: "acme-staging",
      service: "shipyard-example",
      taskDefinition: world.v1,
    });
    const argv = command.examples[0]!.split(" ").slice(1);
    const files = { files: diskFiles(dir) };
    const adopted = await world.cli([...argv, "--json"], { cwd: dir }, files);
    expect(adopted.code, adopted.stderr).toBe(0);
    const report = JSON.parse(adopted.stdout) as Report;
    expect(report.nextSteps).toEqual(["npx shipyard plan --env staging --config adopted/shipyard.json"]);
    const planArgv = report.nextSteps![0]!.split(" ").slice(2);
    const plan = await world.cli([...planArgv, "--json"], { cwd: dir }, files);
    expect(plan.code, plan.stderr).toBe(0);
    // No --image: the live one, so only the release a deploy would stamp (its digest) differs.
    expect((JSON.parse(plan.stdout) as Report).details?.taskDefinitionChanges).toEqual([
      '~ containerDefinitions[app].environment[SENTRY_RELEASE].value: "v1" → "000000000000"',
    ]);
  });

  it("takes one --env after another, each with its own --cluster", async () => {
    await exampleServices(world.sim);
    const { code, stdout } = await world.cli(
      [
        "init",
        "--region",
        "eu-central-1",
        "--service",
        "notes-api",
        "--env",
        "staging",
        "--cluster",
        "notes-staging",
        "--env",
        "production",
        "--cluster",
        "notes-production",
        "--json",
      ],
      {},
      { files: memoryFiles({}, dir) },
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.details?.awsCalls).toBe(4);
    expect(report.nextSteps).toEqual([
      expect.stringMatching(/plan --env staging$/),
      expect.stringMatching(/plan --env production$/),
    ]);
  });
});
