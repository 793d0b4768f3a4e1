/**
 * Input Shipyard refuses and input it accepts, through the CLI as a person types it. Refused input
 * is exit 2 before any AWS call, with a message naming the place (the flag, the JSON path, the
 * file) and the fix; with --json, stdout is exactly one report object. Accepted spellings are
 * normalised before they are checked and registered.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/report.js";
import { configText, NEW_IMAGE, startWorld, TEMPLATE, type World } from "../support/world.js";
import { type CliResult, runCliIn } from "./support/cli.js";
import { expectNoSecrets, PLANTED } from "./support/secrets.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});
const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
});

const DEPLOY = ["deploy", "--env", "staging", "--image", NEW_IMAGE];

/** The template with the app container's fields replaced or added. */
function templateWith(container: Record<string, unknown>, top: Record<string, unknown> = {}): string {
  const base = JSON.parse(TEMPLATE);
  return JSON.stringify({
    ...base,
    ...top,
    containerDefinitions: [{ ...base.containerDefinitions[0], ...container }],
  });
}

/** Runs with every planted secret in the environment; returns the one report on stdout. */
async function refused(argv: string[], options: Parameters<typeof runCliIn>[2] = {}) {
  const result = await runCliIn(h, [...argv, "--json"], {
    ...options,
    env: { ...PLANTED, ...options.env },
  });
  expectRefused(result);
  return JSON.parse(result.stdout) as Report;
}

function expectRefused(result: CliResult) {
  expect(result.thrown).toBe("");
  expect(result.code).toBe(2);
  // One JSON object on stdout, nothing else.
  const report = JSON.parse(result.stdout) as Report;
  expect(report).toMatchObject({ exitCode: 2, outcome: "failed" });
  expect(result.stdout.trim().startsWith("{")).toBe(true);
  expect(h.sim.calls).toEqual([]);
  expectNoSecrets({ stdout: result.stdout, stderr: result.stderr, "step summary": result.summary });
}

describe("malformed placeholders in the task definition template", () => {
  it.each([
    [
      "{{EXEC-ROLE}}",
      { executionRoleArn: "{{EXEC-ROLE}}" },
      {},
      'executionRoleArn: "{{EXEC-ROLE}}" is not a placeholder',
    ],
    [
      "{{1ROLE}}",
      { executionRoleArn: "{{1ROLE}}" },
      {},
      'executionRoleArn: "{{1ROLE}}" is not a placeholder',
    ],
    [
      "an unclosed {{X",
      {},
      { command: ["node", "--title={{X"] },
      'containerDefinitions[0].command[1]: "{{X" is not a placeholder',
    ],
    [
      "a placeholder as a JSON key",
      {},
      { dockerLabels: { "{{LOG_LEVEL}}": "x" } },
      "containerDefinitions[0].dockerLabels.{{LOG_LEVEL}}: placeholders are filled in values only, not in keys",
    ],
  ])("%s: exit 2, zero AWS calls, the JSON path named", async (_name, top, container, says) => {
    h = await startWorld({ template: templateWith(container, top) });
    const report = await refused(DEPLOY);
    expect(report.reason).toContain("The task definition task-def.json is not valid for staging");
    expect(report.reason).toContain(says);
    expect(report.nextSteps).toEqual([
      expect.stringMatching(
        /^fix the problems above .*then check with `npx shipyard plan --env staging --image /,
      ),
    ]);
  });
});

describe("flags", () => {
  it("a flag given twice is refused, naming it", async () => {
    h = await startWorld();
    const report = await refused(["deploy", "--env", "staging", "--env", "production", "--image", NEW_IMAGE]);
    expect(report.reason).toContain("--env is given more than once; which one did you mean?");
  });

  it.each([
    // Not an environment name at all (they must look like "staging"): the flag is named.
    [
      "__proto__",
      'The command line is not valid; nothing was changed.\n  - --env "__proto__" is not a valid NAME',
    ],
    [
      "toString",
      'The command line is not valid; nothing was changed.\n  - --env "toString" is not a valid NAME',
    ],
    // A valid name: looked up among shipyard.json's own environments only.
    ["constructor", 'There is no environment "constructor" in shipyard.json.'],
  ])("--env %s finds nothing on Object.prototype", async (name, says) => {
    h = await startWorld();
    const report = await refused(["deploy", "--env", name, "--image", NEW_IMAGE]);
    expect(report.reason).toBe(says);
    if (name === "constructor") expect(report.nextSteps).toEqual(["use one of: staging"]);
  });
});

describe("shipyard.json", () => {
  it.each([
    ["a space in the cluster name", { cluster: "main cluster" }, "environments.staging.cluster"],
    ["a newline in the service name", { service: "web\n" }, "environments.staging.service"],
    [
      "a replacement character (bytes that are not UTF-8) in the service name",
      { service: "web\uFFFD" },
      "environments.staging.service",
    ],
    [
      "a file:// health check",
      { healthCheck: { url: "file:///etc/passwd" } },
      "environments.staging.healthCheck.url",
    ],
  ])("%s: exit 2, zero AWS calls, the JSON path named", async (_name, extra, path) => {
    h = await startWorld({ config: configText({}, extra) });
    const report = await refused(DEPLOY);
    expect(report.reason).toMatch(
      /^shipyard\.json is not a valid Shipyard configuration; nothing was changed/,
    );
    expect(report.reason).toContain(`${path}: `);
  });

  it("a key given twice: both lines named", async () => {
    h = await startWorld({
      config: configText().replace('"cluster":"main",', '"cluster":"main",\n"cluster":"other",'),
    });
    const report = await refused(DEPLOY);
    expect(report.reason).toContain("environments.staging.cluster: given twice (lines 1 and 2); keep one");
    expect(report.nextSteps).toEqual(["remove the duplicates in shipyard.json"]);
  });

  it("a mistyped taskDefinition path: ENOENT, the key named, not a silent fallback", async () => {
    h = await startWorld({ config: configText({}, {}, { taskDefinition: "task-defs.json" }) });
    const report = await refused(DEPLOY);
    expect(report.reason).toBe(
      'The task definition template task-defs.json named by "taskDefinition" in shipyard.json does not exist (ENOENT).',
    );
  });

  it("bytes that are not UTF-8 in the file on disk: refused naming the field", async () => {
    h = await startWorld();
    const cwd = await mkdtemp(join(tmpdir(), "shipyard-input-"));
    folders.push(cwd);
    const text = configText({}, { service: "web__SERVICE__" });
    const [before, after] = text.split("__SERVICE__") as [string, string];
    await writeFile(
      join(cwd, "shipyard.json"),
      Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]),
    );
    await writeFile(join(cwd, "task-def.json"), TEMPLATE);
    const report = await refused(DEPLOY, { cwd, disk: true });
    expect(report.reason).toContain("environments.staging.service: ");
  });
});

describe("the configuration path", () => {
  /** A folder on disk the user stands in, with shipyard.json where each case wants it. */
  async function folder(): Promise<string> {
    const cwd = await mkdtemp(join(tmpdir(), "shipyard-input-"));
    folders.push(cwd);
    await writeFile(join(cwd, "task-def.json"), TEMPLATE);
    return cwd;
  }

  it("--config naming a directory: EISDIR, and the file inside it suggested", async () => {
    h = await startWorld();
    const cwd = await folder();
    await mkdir(join(cwd, "deploy"));
    const report = await refused([...DEPLOY, "--config", "deploy"], { cwd, disk: true });
    expect(report.reason).toMatch(/^The configuration .*deploy is a directory, not a file \(EISDIR\)/);
    expect(report.nextSteps).toEqual(["pass the file inside it: --config deploy/shipyard.json"]);
  });

  it("--config naming a file that does not exist: ENOENT, the path named", async () => {
    h = await startWorld();
    const cwd = await folder();
    const report = await refused([...DEPLOY, "--config", "conf/shipyard.json"], { cwd, disk: true });
    expect(report.reason).toMatch(/^There is no configuration at .*conf\/shipyard\.json \(ENOENT\)/);
    expect(report.nextSteps).toEqual(["check the path given to --config (conf/shipyard.json)"]);
  });

  it("no shipyard.json where the user stands: ENOENT, with how to point at one", async () => {
    h = await startWorld();
    const cwd = await folder();
    const report = await refused(DEPLOY, { cwd, disk: true });
    expect(report.reason).toMatch(/^There is no configuration at .*shipyard\.json \(ENOENT\)/);
  });

  it("shipyard.json a symbolic link that points back at itself: ELOOP", async () => {
    h = await startWorld();
    const cwd = await folder();
    await symlink("loop.json", join(cwd, "shipyard.json"));
    await symlink("shipyard.json", join(cwd, "loop.json"));
    const report = await refused(DEPLOY, { cwd, disk: true });
    expect(report.reason).toMatch(
      /cannot be read: it is a symbolic link that points back at itself \(ELOOP\)/,
    );
  });
});

describe("accepted spellings", () => {
  it.each([
    [".25 vcpu", ".5 gb", "256", "512"],
    ["1 vCPU", "2GB", "1024", "2048"],
  ])("cpu %j and memory %j are registered as %s / %s", async (cpu, memory, units, mib) => {
    h = await startWorld({ template: templateWith({}, { cpu, memory }) });
    const result = await runCliIn(h, [...DEPLOY, "--json"]);
    expect(result.code).toBe(0);
    const registered = h.sim.callsTo("RegisterTaskDefinition")[0]!.input;
    expect([registered.cpu, registered.memory]).toEqual([units, mib]);
  });

  it("Fargate pairs are checked on the normalised values", async () => {
    // 1 vCPU takes 2-8 GB: ".5 gb" (512 MiB) does not fit.
    h = await startWorld({ template: templateWith({}, { cpu: "1 vCPU", memory: ".5 gb" }) });
    const report = await refused(DEPLOY);
    expect(report.reason).toContain("memory: 512 MiB does not fit cpu 1024 on Fargate");
  });

  it("a container without an image: plan catches it before any AWS call", async () => {
    const base = JSON.parse(TEMPLATE);
    h = await startWorld({
      template: JSON.stringify({
        ...base,
        containerDefinitions: [...base.containerDefinitions, { name: "proxy", essential: false }],
      }),
    });
    const report = await refused(["plan", "--env", "staging", "--image", NEW_IMAGE]);
    expect(report.reason).toContain("containerDefinitions[1].image");
  });
});
