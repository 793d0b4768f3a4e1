/**
 * The deploy's registry preflight against a real OCI registry (Debian's docker-registry, started
 * here, images pushed over its HTTP API), public and behind the Bearer token flow: a digest the
 * registry holds lets the deploy go on; a digest it lacks, or a private registry ECS has no
 * `repositoryCredentials` for, stops it with exit 2 before anything changes; a registry this machine
 * cannot reach only warns.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/report.js";
import { configText, startWorld, TEMPLATE, type World } from "../support/world.js";
import {
  freePort,
  type OciRegistry,
  startOciRegistry,
  startTokenGate,
  type TokenGate,
} from "./support/oci-registry.js";

const NAME = "acme/app";
const USER = "deploy-bot";
const PASSWORD = "registry-password-0123456789";
/** What ECS would be sent if the deploy went on: none of it may happen after a refusal. */
const CHANGES = ["RegisterTaskDefinition", "UpdateService", "TagResource", "UntagResource", "RunTask"];
const CREDENTIALS_PARAMETER = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:registry-AbCdEf";

const templateWithCredentials = () => {
  const template = JSON.parse(TEMPLATE) as { containerDefinitions: Array<Record<string, unknown>> };
  template.containerDefinitions[0]!.repositoryCredentials = { credentialsParameter: CREDENTIALS_PARAMETER };
  return JSON.stringify(template);
};

const randomDigest = () => `sha256:${randomBytes(32).toString("hex")}`;

let registry: OciRegistry;
let h: World;

beforeAll(async () => {
  registry = await startOciRegistry();
});
afterAll(async () => {
  await registry?.stop();
});
afterEach(async () => {
  await h?.stop();
});

async function world(host: string, options: { credentials?: boolean } = {}): Promise<World> {
  h = await startWorld({
    config: configText({}, {}, { image: `${host}/${NAME}` }),
    template: options.credentials ? templateWithCredentials() : TEMPLATE,
  });
  h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
  return h;
}

function registryStep(report: Report) {
  const steps = (report.details as { steps?: Array<{ name: string; status: string; note?: string }> }).steps;
  return steps?.find((step) => step.name === "image in registry");
}

function registrySection(report: Report) {
  return (report.verification as { registry?: Record<string, unknown> } | undefined)?.registry;
}

const changesSent = (world: World) => world.sim.operations().filter((op) => CHANGES.includes(op));

describe("the registry preflight against a public registry", () => {
  it("finds the digest anonymously and the deploy goes on", async () => {
    const digest = await registry.push(NAME, "v2");
    await world(registry.host);
    const report = await h.deploy({ image: `${registry.host}/${NAME}@${digest}` });
    expect(report.exitCode, report.reason).toBe(0);
    expect(registryStep(report)).toEqual({
      name: "image in registry",
      status: "passed",
      note: `${registry.host} has ${digest.slice(0, 19)}… in ${NAME} (public)`,
    });
    expect(registrySection(report)).toMatchObject({
      host: registry.host,
      repository: NAME,
      digest,
      result: "found",
      checkedWith: "distribution API, anonymous",
    });
    expect(changesSent(h)).toEqual(expect.arrayContaining(["RegisterTaskDefinition", "UpdateService"]));
  });

  it("refuses a digest the registry does not hold: exit 2, and nothing is sent that changes ECS", async () => {
    await registry.push(NAME, "v1");
    const digest = randomDigest();
    await world(registry.host);
    const report = await h.deploy({ image: `${registry.host}/${NAME}@${digest}` });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`${registry.host} has no manifest ${digest} in ${NAME} (HTTP 404)`);
    expect(report.reason).toContain("publish it first");
    expect(registrySection(report)).toMatchObject({ result: "missing", detail: "HTTP 404" });
    expect(changesSent(h)).toEqual([]);
  });

  it("a digest a public registry lacks stays missing when Shipyard has credentials too (exit 2)", async () => {
    const digest = randomDigest();
    await world(registry.host);
    const env = { ...h.env, SHIPYARD_REGISTRY_USERNAME: USER, SHIPYARD_REGISTRY_PASSWORD: PASSWORD };
    const report = await h.deploy({ image: `${registry.host}/${NAME}@${digest}` }, { env });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`${registry.host} has no manifest ${digest} in ${NAME} (HTTP 404)`);
    expect(changesSent(h)).toEqual([]);
  });

  it("warns when the registry cannot be reached, and the deploy goes on (ECS pulls from its own network)", async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    await world(closed);
    const report = await h.deploy({ image: `${closed}/${NAME}@${randomDigest()}` });
    expect(report.exitCode, report.reason).toBe(0);
    const warning = report.warnings?.find((w) => w.includes("could not be reached from here"));
    expect(warning).toContain(`the registry ${closed} could not be reached from here (ECONNREFUSED)`);
    expect(warning).toContain("ECS pulls from its own network and may still reach it");
    expect(registrySection(report)).toMatchObject({ result: "unreachable", detail: "ECONNREFUSED" });
    expect(registryStep(report)?.note).toMatch(/^not verified: /);
    expect(h.captured.lines.join("\n")).toContain("could not be reached from here");
    expect(changesSent(h)).toEqual(expect.arrayContaining(["RegisterTaskDefinition", "UpdateService"]));
  });
});

describe("the registry preflight through the Bearer token flow", () => {
  let gate: TokenGate;
  afterEach(async () => {
    await gate?.stop();
  });

  it("public pulls (as ghcr.io and Docker Hub): 401, an anonymous token from the realm, then the manifest", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: true });
    await world(gate.host);
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` });
    expect(report.exitCode, report.reason).toBe(0);
    expect(registryStep(report)?.note).toBe(`${gate.host} has ${digest.slice(0, 19)}… in ${NAME} (public)`);
    expect(gate.requests).toEqual([
      `HEAD /v2/${NAME}/manifests/${digest} bearer=none`,
      `GET /token user=anonymous service=shipyard-test-registry scope=repository:${NAME}:pull`,
      `HEAD /v2/${NAME}/manifests/${digest} bearer=valid`,
    ]);
    for (const token of gate.tokens) expect(h.captured.all()).not.toContain(token);
  });

  it("a private registry and a container without repositoryCredentials: exit 2 naming the fix, nothing changed", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: false });
    await world(gate.host);
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`${gate.host} refused an anonymous pull of ${NAME} (HTTP 401)`);
    expect(report.reason).toContain('container "app" in the task definition has no repositoryCredentials');
    expect(report.reason).toContain('"repositoryCredentials": { "credentialsParameter"');
    expect(registrySection(report)).toMatchObject({ result: "private" });
    expect(changesSent(h)).toEqual([]);
  });

  it("a private registry with repositoryCredentials and Shipyard's credentials: the digest is found as the user", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: false });
    await world(gate.host, { credentials: true });
    const env = { ...h.env, SHIPYARD_REGISTRY_USERNAME: USER, SHIPYARD_REGISTRY_PASSWORD: PASSWORD };
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` }, { env });
    expect(report.exitCode, report.reason).toBe(0);
    expect(registryStep(report)?.note).toBe(`${gate.host} has ${digest.slice(0, 19)}… in ${NAME} (private)`);
    expect(registrySection(report)).toMatchObject({
      result: "found",
      checkedWith: "distribution API, SHIPYARD_REGISTRY_USERNAME and SHIPYARD_REGISTRY_PASSWORD",
    });
    expect(gate.requests.at(-2)).toBe(
      `GET /token user=${USER} service=shipyard-test-registry scope=repository:${NAME}:pull`,
    );
    expect(gate.requests.at(-1)).toBe(`HEAD /v2/${NAME}/manifests/${digest} bearer=valid`);
    const printed = h.captured.all();
    expect(printed).not.toContain(PASSWORD);
    for (const token of gate.tokens) expect(printed).not.toContain(token);
  });

  it("a private registry and a digest it lacks, asked with credentials: exit 2, nothing changed", async () => {
    await registry.push(NAME, "v1");
    const digest = randomDigest();
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: false });
    await world(gate.host, { credentials: true });
    const env = { ...h.env, SHIPYARD_REGISTRY_USERNAME: USER, SHIPYARD_REGISTRY_PASSWORD: PASSWORD };
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` }, { env });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`has no manifest ${digest}`);
    expect(changesSent(h)).toEqual([]);
  });

  it("a private registry with repositoryCredentials but no credentials for Shipyard: a warning, the deploy goes on", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: false });
    await world(gate.host, { credentials: true });
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` });
    expect(report.exitCode, report.reason).toBe(0);
    const warnings = report.warnings?.join("\n");
    expect(warnings).toContain(`${gate.host} is private and Shipyard has no credentials for it`);
    expect(warnings).toContain(
      "set SHIPYARD_REGISTRY_USERNAME and SHIPYARD_REGISTRY_PASSWORD to have it checked",
    );
    expect(registrySection(report)).toMatchObject({ result: "unchecked" });
  });

  it("a private repository hidden behind a 404, found with Shipyard's credentials: ECS needs repositoryCredentials (exit 2)", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, {
      username: USER,
      password: PASSWORD,
      anonymousPull: false,
      hideAs404: true,
    });
    await world(gate.host);
    const env = { ...h.env, SHIPYARD_REGISTRY_USERNAME: USER, SHIPYARD_REGISTRY_PASSWORD: PASSWORD };
    const refused = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` }, { env });
    expect(refused.exitCode).toBe(2);
    expect(refused.reason).toContain(`refused an anonymous pull of ${NAME} (HTTP 404 to an anonymous pull)`);
    expect(refused.reason).toContain("has no repositoryCredentials");
    expect(changesSent(h)).toEqual([]);
    await h.stop();

    await world(gate.host, { credentials: true });
    const report = await h.deploy(
      { image: `${gate.host}/${NAME}@${digest}` },
      { env: { ...h.env, SHIPYARD_REGISTRY_USERNAME: USER, SHIPYARD_REGISTRY_PASSWORD: PASSWORD } },
    );
    expect(report.exitCode, report.reason).toBe(0);
    expect(registryStep(report)?.note).toBe(`${gate.host} has ${digest.slice(0, 19)}… in ${NAME} (private)`);
  });

  it("credentials the realm refuses: a warning (ECS pulls with its own), the deploy goes on", async () => {
    const digest = await registry.push(NAME, "v2");
    gate = await startTokenGate(registry, { username: USER, password: PASSWORD, anonymousPull: false });
    await world(gate.host, { credentials: true });
    const env = {
      ...h.env,
      SHIPYARD_REGISTRY_USERNAME: USER,
      SHIPYARD_REGISTRY_PASSWORD: "wrong-password-123456",
    };
    const report = await h.deploy({ image: `${gate.host}/${NAME}@${digest}` }, { env });
    expect(report.exitCode, report.reason).toBe(0);
    expect(report.warnings?.join("\n")).toContain(
      `${gate.host} refused SHIPYARD_REGISTRY_USERNAME and SHIPYARD_REGISTRY_PASSWORD (the token service ${gate.host} answered HTTP 401)`,
    );
    expect(h.captured.all()).not.toContain("wrong-password-123456");
  });
});
