/**
 * The Dagger face keeps secrets too: the credentials arrive as Dagger Secrets, and when ECS answers
 * with an error that echoes the request's headers (Authorization with the access key id, the
 * session token), the failed call's error text — what `dagger call` prints and a CI log keeps — has
 * them masked, and no query the module sends to the engine carries a plaintext.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { faceRuntime } from "../../src/dagger/runtime.js";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import { runOn, type ShipyardArgs } from "../dagger/harness.js";
import { FakeClock } from "../support/clock.js";
import { holdsTheWorldsImages } from "../support/world.js";
import { changesBy } from "./support/observe.js";
import { type EchoingEcs, echoingEcs, expectNoSecrets, PLANTED } from "./support/secrets.js";

const SECRETS = {
  secrets: {
    "env://AWS_ACCESS_KEY_ID": PLANTED.AWS_ACCESS_KEY_ID,
    "env://AWS_SECRET_ACCESS_KEY": PLANTED.AWS_SECRET_ACCESS_KEY,
    "env://AWS_SESSION_TOKEN": PLANTED.AWS_SESSION_TOKEN,
    "env://SENTRY_AUTH_TOKEN": PLANTED.SENTRY_AUTH_TOKEN,
  },
};
const ALL: ShipyardArgs = {
  fixture: "deployable",
  awsAccessKeyId: "env://AWS_ACCESS_KEY_ID",
  awsSecretAccessKey: "env://AWS_SECRET_ACCESS_KEY",
  awsSessionToken: "env://AWS_SESSION_TOKEN",
  sentryAuthToken: "env://SENTRY_AUTH_TOKEN",
};
const IMAGE = `ghcr.io/acme/app@sha256:${"c".repeat(64)}`;

let clock: FakeClock;
let sim: EcsSimulator;
let echo: EchoingEcs | undefined;
let savedEndpoint: string | undefined;

beforeAll(async () => {
  clock = new FakeClock();
  sim = await EcsSimulator.start(clock);
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [{ name: "app", image: `ghcr.io/acme/app@sha256:${"0".repeat(64)}` }],
  });
  sim.createService({ cluster: "main", service: "web", taskDefinition: v1, desiredCount: 2 });
  sim.createService({ cluster: "main", service: "qa-web", taskDefinition: v1, desiredCount: 2 });
  savedEndpoint = process.env.AWS_ENDPOINT_URL_ECS;
  faceRuntime.fetch = holdsTheWorldsImages();
  // The lock's pauses and the waits run on the simulator's clock.
  faceRuntime.clock = clock;
});
afterEach(async () => {
  await echo?.close();
  echo = undefined;
});
afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_ECS;
  else process.env.AWS_ENDPOINT_URL_ECS = savedEndpoint;
  faceRuntime.fetch = undefined;
  faceRuntime.clock = systemClock;
  await sim.stop();
});

/** ECS behind a proxy that echoes the request headers in the errors `echoes` picks. */
async function echoing(echoes: (operation: string) => string | null) {
  echo = await echoingEcs(sim.endpoint, echoes);
  // The module runtime reads endpoint overrides from its environment, as the CLI does.
  process.env.AWS_ENDPOINT_URL_ECS = echo.endpoint;
  return echo;
}

/** Every text the engine was sent or the call produced. */
function expectNothingLeaked(error: Error | undefined, queries: ReadonlyArray<{ text: string }>) {
  expectNoSecrets({
    "Dagger error text": error?.message ?? "",
    ...Object.fromEntries(queries.map((query, i) => [`engine query ${i}`, query.text])),
  });
}

describe("the Dagger face against an ECS that echoes request headers", () => {
  it("status refused on its first read: the call fails with exit 2, the echo masked", async () => {
    const proxy = await echoing((operation) =>
      operation === "DescribeServices" ? "InvalidSignatureException" : null,
    );
    const { engine, error } = await runOn(ALL, (shipyard) => shipyard.status("staging"), SECRETS);
    expect(proxy.echoed).toBeGreaterThan(0);
    expect(error?.message).toMatch(
      /^status staging: bad input or configuration; nothing was changed \(exit 2\)\./,
    );
    expect(error?.message).toMatch(
      /AWS rejected the credentials \(InvalidSignatureException: .*x-amz-security-token: \*\*\*/,
    );
    expectNothingLeaked(error, engine.queries);
  });

  it("deploy whose UpdateService is refused with the echo: the service unchanged, the echo masked", async () => {
    const before = sim.calls.length;
    const proxy = await echoing((operation) =>
      operation === "UpdateService" ? "InvalidParameterException" : null,
    );
    const { engine, error } = await runOn(ALL, (shipyard) => shipyard.deploy("qa", IMAGE, "v2"), SECRETS);
    expect(proxy.echoed).toBe(1);
    expect(error?.message).toMatch(/^deploy qa: .*\(exit 2\)\./);
    expect(error?.message).toMatch(
      /UpdateService failed \(InvalidParameterException: request rejected; .*\*\*\*/,
    );
    expect(changesBy(sim.calls.slice(before))).toEqual([]);
    expectNothingLeaked(error, engine.queries);
  });
});
