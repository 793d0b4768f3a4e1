/**
 * Secrets stay secret. Every planted secret (AWS keys and session token, the Sentry token, the
 * database password, the registry password) is kept out of everything the CLI prints: the JSON
 * report, the human summary, $GITHUB_STEP_SUMMARY, progress lines and anything thrown — even when an
 * endpoint echoes the request's headers back in its error message. And a task definition that would
 * store a secret in plain text is refused before any AWS call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Scrubber } from "../../src/report/scrub.js";
import { configText, NEW_IMAGE, startWorld, TEMPLATE, type World } from "../support/world.js";
import { type CliResult, runCliIn } from "./support/cli.js";
import { changesBy } from "./support/observe.js";
import { type EchoingEcs, echoingEcs, expectNoSecrets, PLANTED } from "./support/secrets.js";

let h: World;
let echo: EchoingEcs | undefined;
afterEach(async () => {
  await echo?.close();
  echo = undefined;
  const world = h;
  h = undefined as unknown as World;
  await world?.stop();
});

const SENTRY = { sentry: { org: "acme", project: "app" } };

/** Everything the run let out, by place. */
function places(result: CliResult): Record<string, string> {
  return {
    stdout: result.stdout,
    stderr: result.stderr,
    "step summary": result.summary,
    thrown: result.thrown,
  };
}

/** Runs the CLI with every planted secret in its environment, ECS behind the echoing proxy. */
async function run(argv: string[], echoes: (operation: string, index: number) => string | null) {
  echo = await echoingEcs(h.sim.endpoint, echoes);
  const result = await runCliIn(h, [...argv, "--json"], {
    env: { ...PLANTED, AWS_ENDPOINT_URL_ECS: echo.endpoint },
  });
  expect(echo.echoed).toBeGreaterThan(0);
  expect(result.thrown).toBe("");
  // Exactly one JSON report on stdout.
  const report = JSON.parse(result.stdout);
  expectNoSecrets(places(result));
  return { result, report };
}

describe("an ECS endpoint that echoes the request headers in its errors", () => {
  it("deploy, refused on its first read (rejected credentials): exit 2, the echo masked everywhere", async () => {
    h = await startWorld();
    const { result, report } = await run(["deploy", "--env", "staging", "--image", NEW_IMAGE], (op) =>
      op === "DescribeServices" ? "InvalidSignatureException" : null,
    );
    expect(result.code).toBe(2);
    expect(report.reason).toMatch(
      /^AWS rejected the credentials \(InvalidSignatureException: .*x-amz-security-token: \*\*\*/,
    );
    expect(result.stderr).toMatch(
      /why: +AWS rejected the credentials .*authorization: AWS4-HMAC-SHA256 Credential=\*\*\*\//,
    );
    expect(result.summary).toContain("**Why:** AWS rejected the credentials");
  });

  it("deploy whose UpdateService is refused with an echo: the service is not changed, the echo masked", async () => {
    h = await startWorld();
    const { result, report } = await run(["deploy", "--env", "staging", "--image", NEW_IMAGE], (op) =>
      op === "UpdateService" ? "InvalidParameterException" : null,
    );
    expect(result.code).toBe(2);
    expect(report.reason).toMatch(
      /^UpdateService failed \(InvalidParameterException: request rejected; .*\*\*\*/,
    );
    expect(h.sim.describe().taskDefinition).toBe(h.v1);
  });

  it("deploy that loses ECS mid-wait to echoed errors: exit 3, the echo masked in the reason and the warnings", async () => {
    h = await startWorld();
    const { result, report } = await run(["deploy", "--env", "staging", "--image", NEW_IMAGE], (op, index) =>
      // The first reads (preflight, lock) are answered; those after UpdateService are not.
      op === "DescribeServices" && index >= 4 ? "AccessDeniedException" : null,
    );
    expect(result.code).toBe(3);
    expect(report.reason).toMatch(/ECS could not be read: AccessDeniedException: request rejected; .*\*\*\*/);
    expect(result.stderr).toMatch(/warning: reading the service failed \(1\/3\): AccessDeniedException/);
  });

  it("rollback and status error lines", async () => {
    h = await startWorld();
    await h.deploy();
    const rollback = await run(["rollback", "--env", "staging"], (op) =>
      op === "DescribeServices" ? "AccessDeniedException" : null,
    );
    expect(rollback.result.code).toBe(2);
    expect(rollback.report.reason).toMatch(/^AWS refused rollback \(AccessDeniedException: .*\*\*\*/);
    await echo?.close();
    const status = await run(["status", "--env", "staging"], (op) =>
      op === "DescribeTaskDefinition" ? "ValidationException" : null,
    );
    expect(status.result.code).toBe(2);
    expect(status.report.reason).toMatch(
      /^AWS refused status \(ValidationException: request rejected; .*\*\*\*/,
    );
  });

  it("a rollback whose target cannot be read says why without the echo", async () => {
    h = await startWorld();
    await h.deploy();
    const { result, report } = await run(["rollback", "--env", "staging"], (op) =>
      op === "DescribeTaskDefinition" ? "ClientException" : null,
    );
    expect(result.code).toBe(2);
    expect(report.reason).toMatch(/could not be read \(ClientException: request rejected; .*\*\*\*/);
    expect(changesBy(h.sim.calls)).toHaveLength(1); // the first deploy's own UpdateService
  });

  it("a lock claim that cannot be removed is a warning without the echo", async () => {
    h = await startWorld();
    const { result, report } = await run(["deploy", "--env", "staging", "--image", NEW_IMAGE], (op) =>
      op === "UntagResource" ? "ServerException" : null,
    );
    expect(result.code).toBe(0);
    expect(report.outcome).toBe("succeeded");
    expect(result.stderr).toMatch(/warning: could not remove this run's lock claim .*\*\*\*/);
  });
});

describe("a private registry whose gateway echoes the Authorization header", () => {
  it("the registry password, plain or in its Basic form, stays out of the warning and every output", async () => {
    const host = "registry.acme.example";
    const image = `${host}/acme/app@sha256:${"a".repeat(64)}`;
    const username = "deployer";
    const basic = Buffer.from(`${username}:${PLANTED.SHIPYARD_REGISTRY_PASSWORD}`).toString("base64");
    const seen: string[] = [];
    // Anonymous: 401 with a Basic challenge. With credentials: the gateway fails, quoting the headers.
    const registry = async (input: string, init?: RequestInit) => {
      const authorization = new Headers(init?.headers).get("authorization");
      seen.push(`${init?.method} ${input} ${authorization ? "with credentials" : "anonymous"}`);
      if (authorization === null) {
        return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="acme"' } });
      }
      throw new TypeError("fetch failed", {
        cause: { message: `gateway closed the connection; request headers: authorization: ${authorization}` },
      });
    };
    const base = JSON.parse(TEMPLATE);
    const template = JSON.stringify({
      ...base,
      containerDefinitions: [
        {
          ...base.containerDefinitions[0],
          repositoryCredentials: {
            credentialsParameter: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pull",
          },
        },
      ],
    });
    h = await startWorld({ template, config: configText({}, {}, { image: `${host}/acme/app` }) });
    const result = await runCliIn(h, ["deploy", "--env", "staging", "--image", image, "--json"], {
      env: { ...PLANTED, SHIPYARD_REGISTRY_USERNAME: username },
      overrides: { fetch: registry },
    });
    expect(result.thrown).toBe("");
    // The registry could not be asked: a warning, and the deploy goes on (ECS pulls on its own).
    expect(result.code).toBe(0);
    expect(seen).toEqual([
      `HEAD https://${host}/v2/acme/app/manifests/sha256:${"a".repeat(64)} anonymous`,
      `HEAD https://${host}/v2/acme/app/manifests/sha256:${"a".repeat(64)} anonymous`,
      `HEAD https://${host}/v2/acme/app/manifests/sha256:${"a".repeat(64)} with credentials`,
    ]);
    const report = JSON.parse(result.stdout);
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /could not be reached from here \(gateway closed the connection; request headers: authorization: Basic \*\*\*\)/,
      ),
    ]);
    expectNoSecrets(places(result), [PLANTED.SHIPYARD_REGISTRY_PASSWORD, basic, ...Object.values(PLANTED)]);
  });
});

describe("a Sentry that echoes the Authorization header", () => {
  it("the token stays out of the warnings, the gate's reason and the report", async () => {
    h = await startWorld({ sentry: true, config: configText({}, SENTRY) });
    // Sentry's own check reads the token the world gave it: the planted one must be what is sent.
    const token = PLANTED.SENTRY_AUTH_TOKEN;
    const echoBody = `authorization: Bearer ${token}\naccept: application/json`;
    h.sentry!.fault({
      match: "/projects/",
      status: 200,
      body: echoBody,
      contentType: "text/plain",
      times: 100,
    });
    h.sentry!.fault({
      match: "/sessions/",
      status: 200,
      body: echoBody,
      contentType: "text/plain",
      times: 1000,
    });
    echo = await echoingEcs(h.sim.endpoint, () => null);
    const result = await runCliIn(h, ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"], {
      env: { ...PLANTED },
    });
    expect(result.thrown).toBe("");
    const report = JSON.parse(result.stdout);
    // The gate could not read Sentry: inconclusive, rolled back.
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(/error-rate gate was inconclusive/);
    expect(h.sentry!.calls.length).toBeGreaterThan(0);
    // Sentry's answer is quoted cut to 40 characters: the piece of the token in it is masked too.
    expect(result.stderr).toContain('starting "authorization: Bearer ***")');
    expectNoSecrets(places(result));
  });
});

describe("the scrubber", () => {
  it("masks a secret in every form it leaves in, and any piece of 12 characters or more of it", () => {
    const scrubber = new Scrubber();
    scrubber.addFromEnvironment({ ...PLANTED });
    const token = PLANTED.AWS_SESSION_TOKEN;
    const texts = [
      `token=${token}`,
      JSON.stringify({ token }),
      `GET /?X-Amz-Security-Token=${encodeURIComponent(token)}`,
      `the first 40 bytes: "${`x-amz-security-token: ${token}`.slice(0, 40)}"`,
      `the last lines: ${token.slice(-20)}\nexit 1`,
      `password ${"Planted-Db-Pass-9876"} in ${PLANTED.DATABASE_URL}`,
    ];
    const scrubbed = texts.map((text) => scrubber.scrub(text));
    expectNoSecrets(Object.fromEntries(scrubbed.map((text, i) => [`text ${i}`, text])));
    expect(scrubbed[0]).toBe("token=***");
    expect(scrubbed[3]).toBe('the first 40 bytes: "x-amz-security-token: ***"');
    expect(scrubbed[5]).toBe("password *** in postgres://***@db.internal:5432/app");
  });
});

describe("a task definition that would store a secret in plain text", () => {
  const template = (environment: Array<{ name: string; value: string }>, sidecar = false) =>
    JSON.stringify({
      ...JSON.parse(TEMPLATE),
      containerDefinitions: [
        { name: "app", image: "{{IMAGE}}", essential: true, environment: sidecar ? [] : environment },
        ...(sidecar ? [{ name: "proxy", image: "envoyproxy/envoy:v1.31", environment }] : []),
      ],
    });

  it.each([
    ["an AWS access key id", "S3_KEY", "AKIAABCDEFGHIJKLMNOP", "holds an AWS access key id"],
    [
      "a *_PASSWORD literal",
      "DB_PASSWORD",
      "hunter2-hunter2",
      "holds a literal value for a variable named DB_PASSWORD",
    ],
    [
      "a *_SECRET literal",
      "SESSION_SECRET",
      "s3cr3t-value",
      "holds a literal value for a variable named SESSION_SECRET",
    ],
    [
      "a *_TOKEN literal",
      "GITHUB_TOKEN",
      "ghp_notreallyatoken",
      "holds a literal value for a variable named GITHUB_TOKEN",
    ],
    [
      "a URL with an inline password",
      "DATABASE_URL",
      "postgres://app:pw-1234@db:5432/app",
      "holds a URL with an inline password",
    ],
  ])(
    "%s: exit 2 before any AWS call, naming the variable and the fix, without the value",
    async (_kind, name, value, why) => {
      h = await startWorld({ template: template([{ name, value }]) });
      const result = await runCliIn(h, ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"]);
      expect(result.code).toBe(2);
      const report = JSON.parse(result.stdout);
      expect(report.reason).toContain(
        `containerDefinitions[0].environment ${name}: ${why} in plain text; move it to "secrets": [{ "name": "${name}", "valueFrom": "<Secrets Manager or SSM parameter ARN>" }], or, if it is deliberate, add "${name}" to environments.staging.plaintextAllowed`,
      );
      expect(h.sim.calls).toHaveLength(0);
      expectNoSecrets(places(result), [value]);
    },
  );

  it("in a sidecar's environment, and from a placeholder filled by shipyard.json, too", async () => {
    h = await startWorld({
      template: template([{ name: "API_TOKEN", value: "{{API_TOKEN}}" }], true),
      config: configText({}, { variables: { API_TOKEN: "tok-live-0123456789" } }),
    });
    const result = await runCliIn(h, ["plan", "--env", "staging", "--image", NEW_IMAGE, "--json"]);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).reason).toContain(
      "containerDefinitions[1].environment API_TOKEN: holds a literal",
    );
    expect(h.sim.calls).toHaveLength(0);
  });

  it("plaintextAllowed opts one variable out; the others are still refused", async () => {
    const environment = [
      { name: "PUBLIC_TOKEN", value: "pk_live_public_by_design" },
      { name: "DB_PASSWORD", value: "hunter2-hunter2" },
    ];
    h = await startWorld({
      template: template(environment),
      config: configText({}, { plaintextAllowed: ["PUBLIC_TOKEN"] }),
    });
    const refused = await runCliIn(h, ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"]);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).reason).toContain("environment DB_PASSWORD: holds");
    expect(JSON.parse(refused.stdout).reason).not.toContain("PUBLIC_TOKEN");
    h.setConfig(configText({}, { plaintextAllowed: ["PUBLIC_TOKEN", "DB_PASSWORD"] }));
    const accepted = await runCliIn(h, ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--json"]);
    expect(accepted.code).toBe(0);
  });
});
