/**
 * Amazon ECR against moto's ECR: the deploy's registry preflight (DescribeImages by digest, with the
 * deploy's AWS credentials) and the Dagger face's publish, which logs in with GetAuthorizationToken and
 * hands the login to the engine only as a Secret (the real Dagger SDK against the fake engine).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeRepositoriesCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { dag } from "@dagger.io/dagger";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EcrClientFactory } from "../../src/aws/ecr.js";
import type { Report } from "../../src/report/report.js";
import { fixture, runOn, SHA } from "../dagger/harness.js";
import { configText, startWorld, type World } from "../support/world.js";
import {
  MOTO_ACCOUNT,
  MOTO_CREDENTIALS,
  MOTO_LOGIN_PASSWORD,
  type MotoEcr,
  startMotoEcr,
} from "./support/moto.js";
import { freePort } from "./support/oci-registry.js";

const REGION = "eu-west-1";
const HOST = `${MOTO_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const CHANGES = ["RegisterTaskDefinition", "UpdateService", "TagResource", "UntagResource", "RunTask"];
const CREATE_COMMAND = (name: string) =>
  `aws ecr create-repository --repository-name ${name} --region ${REGION} --registry-id ${MOTO_ACCOUNT} --image-scanning-configuration scanOnPush=true --image-tag-mutability IMMUTABLE`;

let moto: MotoEcr;
let h: World;

beforeAll(async () => {
  moto = await startMotoEcr();
}, 40_000);
afterAll(async () => {
  await moto?.stop();
});

describe("the deploy's registry preflight on ECR", () => {
  afterEach(async () => {
    await h?.stop();
  });

  async function deploy(name: string, digest: string, endpoint = moto.endpoint): Promise<Report> {
    h = await startWorld({ config: configText({}, {}, { image: `${HOST}/${name}` }) });
    h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
    return h.deploy(
      { image: `${HOST}/${name}@${digest}` },
      { env: { ...h.env, AWS_ENDPOINT_URL_ECR: endpoint } },
    );
  }
  const changesSent = () => h.sim.operations().filter((op) => CHANGES.includes(op));
  const section = (report: Report) =>
    (report.verification as { registry?: Record<string, unknown> } | undefined)?.registry;

  it("finds a digest the repository holds (DescribeImages) and the deploy goes on", async () => {
    await moto.createRepository(REGION, "acme/present");
    const digest = await moto.putImage(REGION, "acme/present", "v2");
    const report = await deploy("acme/present", digest);
    expect(report.exitCode, report.reason).toBe(0);
    expect(section(report)).toMatchObject({
      host: HOST,
      repository: "acme/present",
      digest,
      result: "found",
      checkedWith: "ECR DescribeImages",
    });
    expect(changesSent()).toEqual(expect.arrayContaining(["RegisterTaskDefinition", "UpdateService"]));
  });

  it("refuses a digest the repository lacks: exit 2, nothing sent that changes ECS", async () => {
    await moto.createRepository(REGION, "acme/lacking");
    await moto.putImage(REGION, "acme/lacking", "v1");
    const digest = `sha256:${"c".repeat(64)}`;
    const report = await deploy("acme/lacking", digest);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`${HOST}/acme/lacking has no image ${digest}`);
    expect(report.reason).toContain("publish it first");
    expect(section(report)).toMatchObject({ result: "missing" });
    expect(changesSent()).toEqual([]);
  });

  it("refuses an image whose repository does not exist, with the command that creates it", async () => {
    const report = await deploy("acme/never-created", `sha256:${"d".repeat(64)}`);
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain(`the ECR repository acme/never-created does not exist in ${HOST}`);
    expect(report.reason).toContain(CREATE_COMMAND("acme/never-created"));
    expect(changesSent()).toEqual([]);
  });

  it("warns when the deploy's credentials may not call DescribeImages, naming the action, and the deploy goes on", async () => {
    const denied = Object.assign(new Error("User is not authorized to perform: ecr:DescribeImages"), {
      name: "AccessDeniedException",
      $fault: "client",
    });
    const refusing: EcrClientFactory = async () =>
      ({ send: async () => Promise.reject(denied) }) as unknown as ECRClient;
    h = await startWorld({ config: configText({}, {}, { image: `${HOST}/acme/denied` }) });
    h.sim.timing = { startSeconds: 0, healthySeconds: 0, failAfterSeconds: 0 };
    const report = await h.deploy(
      { image: `${HOST}/acme/denied@sha256:${"f".repeat(64)}` },
      { ecrClientFactory: refusing },
    );
    expect(report.exitCode, report.reason).toBe(0);
    const warnings = report.warnings?.join("\n");
    expect(warnings).toContain(
      "AccessDeniedException: User is not authorized to perform: ecr:DescribeImages",
    );
    expect(warnings).toContain("allow ecr:DescribeImages on the repository");
    expect(section(report)).toMatchObject({ result: "unchecked" });
  });

  it("warns when ECR cannot be reached, and the deploy goes on", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const report = await deploy("acme/unreached", `sha256:${"e".repeat(64)}`, closed);
    expect(report.exitCode, report.reason).toBe(0);
    expect(report.warnings?.join("\n")).toContain(
      `could not check that ${HOST}/acme/unreached holds sha256:${"e".repeat(64)}`,
    );
    expect(report.warnings?.join("\n")).toContain("ECS may still reach it");
    expect(section(report)).toMatchObject({ result: "unreachable", checkedWith: "ECR DescribeImages" });
    expect(changesSent()).toEqual(expect.arrayContaining(["RegisterTaskDefinition", "UpdateService"]));
  });
});

describe("publish to ECR on the Dagger face", () => {
  const SECRETS = {
    secrets: {
      "env://AWS_ACCESS_KEY_ID": MOTO_CREDENTIALS.accessKeyId,
      "env://AWS_SECRET_ACCESS_KEY": MOTO_CREDENTIALS.secretAccessKey,
    },
  };
  const AWS = {
    awsAccessKeyId: "env://AWS_ACCESS_KEY_ID",
    awsSecretAccessKey: "env://AWS_SECRET_ACCESS_KEY",
  };
  let savedEndpoint: string | undefined;

  beforeAll(() => {
    // The module runtime reads endpoint overrides from its environment, as the CLI does.
    savedEndpoint = process.env.AWS_ENDPOINT_URL_ECR;
    process.env.AWS_ENDPOINT_URL_ECR = moto.endpoint;
  });
  afterAll(() => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_ECR;
    else process.env.AWS_ENDPOINT_URL_ECR = savedEndpoint;
  });

  it("logs in with GetAuthorizationToken and hands the login to the engine as a Secret, never in a push", async () => {
    await moto.createRepository(REGION, "acme/published");
    const { engine, result, error } = await runOn(
      { commit: SHA, ...AWS },
      (shipyard) => shipyard.publish(`${HOST}/acme/published`),
      SECRETS,
    );
    expect(error).toBeUndefined();
    expect(result).toMatch(
      new RegExp(`^${HOST.replaceAll(".", "\\.")}/acme/published:${SHA}@sha256:[0-9a-f]{64}$`),
    );
    const pushes = engine.chainsEndingWith("publish");
    expect(pushes).toHaveLength(1);
    const auth = pushes[0]!.find((call) => call.field === "withRegistryAuth")!;
    expect(auth.args.address).toBe(HOST);
    expect(auth.args.username).toBe("AWS");
    const [secret] = engine.chainOf(String(auth.args.secret));
    expect(secret).toEqual({
      field: "setSecret",
      args: { name: `shipyard-ecr-login-${MOTO_ACCOUNT}-${REGION}`, plaintext: MOTO_LOGIN_PASSWORD },
    });
    // The login travels once, to create the Secret; every other query names it by id.
    const carrying = engine.queries.filter((query) => query.text.includes(MOTO_LOGIN_PASSWORD));
    expect(carrying.length).toBeGreaterThan(0);
    expect(carrying.every((query) => query.chain[0]?.field === "setSecret")).toBe(true);
    for (const query of engine.queries) expect(query.text).not.toContain(MOTO_CREDENTIALS.secretAccessKey);
  });

  it("stops before building when the repository is missing, naming the command that creates it", async () => {
    const { engine, error } = await runOn(
      { commit: SHA, ...AWS },
      (shipyard) => shipyard.publish(`${HOST}/acme/missing`),
      SECRETS,
    );
    expect(error?.message).toContain(`The ECR repository acme/missing does not exist in ${HOST}`);
    expect(error?.message).toContain(CREATE_COMMAND("acme/missing"));
    expect(error?.message).toContain("or pass --create-repository to publish");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
    expect(engine.queries.some((query) => query.chain.some((call) => call.field === "dockerBuild"))).toBe(
      false,
    );
  });

  it("--create-repository creates it with scan on push and immutable tags, then pushes", async () => {
    const { engine, error } = await runOn(
      { commit: SHA, ...AWS },
      (shipyard) => shipyard.publish(`${HOST}/acme/created`, "", undefined, [], "", true),
      SECRETS,
    );
    expect(error).toBeUndefined();
    const described = await moto
      .client(REGION)
      .send(new DescribeRepositoriesCommand({ repositoryNames: ["acme/created"] }));
    expect(described.repositories?.[0]).toMatchObject({
      repositoryName: "acme/created",
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
    });
    expect(engine.chainsEndingWith("publish")).toHaveLength(1);
  });

  it("without AWS credentials: exit 2 naming the module flags, nothing built or pushed", async () => {
    const { engine, error } = await runOn({ commit: SHA }, (shipyard) =>
      shipyard.publish(`${HOST}/acme/published`),
    );
    expect(error?.message).toContain(
      "Publishing to Amazon ECR logs in with AWS credentials, and the module has none",
    );
    expect(error?.message).toContain("--aws-access-key-id=env://AWS_ACCESS_KEY_ID");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
  });

  it("uses a password given for ECR as it is (e.g. aws ecr get-login-password), without asking ECR", async () => {
    const { engine, error } = await runOn(
      { commit: SHA },
      (shipyard) => shipyard.publish(`${HOST}/acme/never-asked`, "", dag.secret("env://ECR_PASSWORD")),
      { secrets: { "env://ECR_PASSWORD": "given-ecr-login-password" } },
    );
    expect(error).toBeUndefined();
    const auth = engine.chainsEndingWith("publish")[0]!.find((call) => call.field === "withRegistryAuth")!;
    expect(auth.args.username).toBe("AWS");
    expect(engine.render(engine.chainOf(String(auth.args.secret)))).toBe('secret(uri: "env://ECR_PASSWORD")');
  });

  it("deploy without --image publishes to an ECR repository with the ECR login, no registry password", async () => {
    await moto.createRepository(REGION, "acme/deployed");
    const app = mkdtempSync(join(tmpdir(), "shipyard-ecr-app-"));
    cpSync(fixture("deployable"), app, { recursive: true });
    const config = JSON.parse(readFileSync(join(app, "shipyard.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(app, "shipyard.json"), JSON.stringify({ ...config, image: `${HOST}/acme/deployed` }));
    // ECS knows no cluster: the deploy stops at its first ECS call, after the publish this test is about.
    const noCluster = createServer((_, response) =>
      response
        .writeHead(400, { "Content-Type": "application/x-amz-json-1.1" })
        .end(JSON.stringify({ __type: "ClusterNotFoundException", message: "Cluster not found." })),
    );
    await new Promise<void>((resolve) => noCluster.listen(0, "127.0.0.1", resolve));
    const savedEcs = process.env.AWS_ENDPOINT_URL_ECS;
    process.env.AWS_ENDPOINT_URL_ECS = `http://127.0.0.1:${(noCluster.address() as AddressInfo).port}`;
    try {
      const { engine, error } = await runOn(
        { sourceDir: app, commit: SHA, ...AWS },
        (shipyard) => shipyard.deploy("staging"),
        SECRETS,
      );
      expect(error?.message).not.toContain("needs registry credentials");
      expect(error?.message).toContain(
        `cluster "main" does not exist in this account/region; nothing was changed`,
      );
      const [push] = engine.chainsEndingWith("publish");
      expect(push?.at(-1)?.args.address).toBe(`${HOST}/acme/deployed:${SHA}`);
      const auth = push!.find((call) => call.field === "withRegistryAuth")!;
      expect(engine.chainOf(String(auth.args.secret))[0]?.field).toBe("setSecret");
    } finally {
      if (savedEcs === undefined) delete process.env.AWS_ENDPOINT_URL_ECS;
      else process.env.AWS_ENDPOINT_URL_ECS = savedEcs;
      rmSync(app, { recursive: true, force: true });
      noCluster.close();
    }
  });

  it("any other registry still needs --username and --password", async () => {
    const { engine, error } = await runOn({ commit: SHA }, (shipyard) =>
      shipyard.publish("ghcr.io/acme/api"),
    );
    expect(error?.message).toContain("Cannot publish; nothing was pushed.");
    expect(error?.message).toContain("--username is required to push to ghcr.io");
    expect(error?.message).toContain("--password is required to push to ghcr.io");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
  });
});
