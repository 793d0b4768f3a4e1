/**
 * The README cannot drift from the code: its reference tables are what `npm run docs` writes from
 * the code now, and every `npx shipyard …` line of its CLI section runs — in order, through the CLI
 * face, with the example app's own shipyard.json and migrations, against the ECS and Sentry
 * simulators — and succeeds.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ECSClient, TagResourceCommand } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskFiles } from "../../bin/runtime.js";
import { type SentrySim, SIM_TOKEN, startSentrySim } from "../../src/emulator/sentry.js";
import type { Report } from "../../src/report/report.js";
import type { FetchLike } from "../../src/verify/sentry-api.js";
import { startWorld, type World } from "../support/world.js";
import { README, ROOT, render, sections } from "./generate.js";

const readme = await readFile(README, "utf8");

describe("README reference tables", () => {
  it("equal what `npm run docs` would write from the code", async () => {
    expect(render(readme, await sections())).toBe(readme);
  }, 60_000);
});

/** The `npx shipyard …` lines of the CLI section, in order. */
function cliLines(text: string): string[] {
  const start = text.indexOf("## The `shipyard` CLI");
  const end = text.indexOf("\n## ", start + 10);
  return text
    .slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("npx shipyard "));
}

/** Preview lines need a load balancer: test/preview/readme-lines.test.ts runs them on moto. */
const isPreviewLine = (line: string) => line.startsWith("npx shipyard preview-");

const REPO = "ghcr.io/acme/shipyard-example";
const image = (c: string) => `${REPO}@sha256:${c.repeat(64).slice(0, 64)}`;

let h: World;
let sentry: SentrySim;
let app: string;

/** The example's services, as a team would have them before its first Shipyard deploy of this image. */
async function seedServices(world: World): Promise<void> {
  const revision = (family: string, release: string, previous?: string) =>
    world.sim.registerTaskDefinition(
      {
        family,
        containerDefinitions: [
          {
            name: "app",
            image: image(release[0]!),
            environment: [{ name: "SENTRY_RELEASE", value: release }],
          },
        ],
      },
      previous ? [{ key: "shipyard:previous", value: previous }] : [],
    );
  const staging = revision("shipyard-example-staging", "9e8d7c6");
  world.sim.createService({ cluster: "acme-staging", service: "shipyard-example", taskDefinition: staging });
  // The app has logged before: the log group the bundled template names exists.
  world.sim.logs.put(
    "/ecs/shipyard-example-staging",
    "app/app/0000000000000000",
    ["listening on :3000"],
    world.clock.now(),
  );
  const p1 = revision("shipyard-example-production", "1a2b3c4");
  const p2 = revision("shipyard-example-production", "5d6e7f8", p1);
  const service = world.sim.createService({
    cluster: "acme-production",
    service: "shipyard-example",
    taskDefinition: p2,
  });
  // Recorded by an earlier deploy: the service knows its last good revision and the one before.
  const ecs = new ECSClient({
    region: "eu-west-1",
    endpoint: world.sim.endpoint,
    credentials: { accessKeyId: "AKIAREADMETEST", secretAccessKey: "readme-test" },
  });
  await ecs.send(
    new TagResourceCommand({
      resourceArn: service,
      tags: [
        { key: "shipyard:last-good", value: p2 },
        { key: "shipyard:previous", value: p1 },
      ],
    }),
  );
}

/** The health and version URLs of the example: healthy, reporting the release each service runs. */
function exampleSite(world: World): FetchLike {
  return async (url, init) => {
    if (!url.includes("acme.example")) return fetch(url, init);
    const cluster = url.includes("staging") ? "acme-staging" : "acme-production";
    const running = world.sim.describe(cluster, "shipyard-example").taskDefinition as string;
    const body = world.sim.taskDefinitionBody(running) as {
      containerDefinitions: Array<{ environment?: Array<{ name: string; value: string }> }>;
    };
    const release = body.containerDefinitions[0]?.environment?.find(
      (e) => e.name === "SENTRY_RELEASE",
    )?.value;
    return new Response(url.endsWith("/version") ? JSON.stringify({ release }) : "ok", { status: 200 });
  };
}

beforeAll(async () => {
  h = await startWorld();
  sentry = await startSentrySim({ clock: h.clock, org: "acme", projects: { "shipyard-example": "42" } });
  await seedServices(h);
  const now = h.clock.now();
  for (const [release, environment, from] of [
    ["9e8d7c6", "staging", now - 7_200_000],
    ["3f2c1ab", "staging", now],
    ["1a2b3c4", "production", now - 7_200_000],
  ] as const) {
    sentry.addTraffic({
      release,
      environment,
      startAt: from,
      ratePerSecond: 5,
      errorRate: 0.002,
      project: "shipyard-example",
    });
  }
  // The example app's folder as a team's repository: its config and migrations, committed.
  app = await mkdtemp(join(tmpdir(), "shipyard-readme-"));
  await cp(join(ROOT, "examples/app/shipyard.json"), join(app, "shipyard.json"));
  await cp(join(ROOT, "examples/app/migrations"), join(app, "migrations"), { recursive: true });
  await mkdir(join(app, "schema"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: app, stdio: "ignore" });
  git("init", "-q");
  git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "--allow-empty", "-m", "base");
  git("update-ref", "refs/remotes/origin/main", "HEAD");
  git("add", ".");
  git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-m", "app");
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await sentry?.close();
  await rm(app, { recursive: true, force: true });
});

describe("README CLI section", () => {
  const lines = cliLines(readme).filter((line) => !isPreviewLine(line));

  it("has an example for every command", () => {
    expect(lines.length).toBeGreaterThanOrEqual(8);
  });

  it("every `npx shipyard …` line runs as printed and succeeds", async () => {
    for (const line of lines) {
      const argv = line.replace(/^npx shipyard /, "").split(/\s+/);
      // `logs --follow` runs until Ctrl-C: the user presses it after a few polls.
      const ctrlC = new AbortController();
      let polls = 0;
      h.sim.onCall = (call) => {
        if (argv.includes("--follow") && call.operation === "FilterLogEvents" && ++polls === 3) {
          ctrlC.abort(new Error("SIGINT"));
        }
      };
      const { code, stdout, stderr } = await h.cli(
        argv,
        {
          cwd: app,
          script: join(app, "node_modules/.bin/shipyard"),
          env: { ...h.env, SENTRY_URL: sentry.url, SENTRY_AUTH_TOKEN: SIM_TOKEN, GITHUB_SHA: "3f2c1ab" },
          signal: ctrlC.signal,
        },
        { files: diskFiles(app), fetch: exampleSite(h) },
      );
      expect(code, `${line}\n${stderr}`).toBe(0);
      if (argv.includes("--json")) expect((JSON.parse(stdout) as Report).exitCode, line).toBe(0);
      if (argv.includes("--follow")) expect(polls, line).toBeGreaterThanOrEqual(3);
    }
    h.sim.onCall = undefined;
  }, 120_000);
});
