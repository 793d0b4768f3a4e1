/**
 * The commands Shipyard prints after a failure work as printed. A person stands in the repository's
 * top folder and deploys an app whose shipyard.json is deeper down (`--config services/web/...`);
 * after each failure every command among the report's nextSteps is pasted into a shell in that same
 * folder, with the same credentials, and must do what it says. Advice that is not a command (lines
 * that start with "#") is read, not run; the text after "   # " on a command line is its comment.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsSimulator } from "../../src/emulator/ecs/simulator.js";
import type { Report } from "../../src/report/report.js";
import { configText, TEMPLATE } from "../support/world.js";
import { changesBy, claimsLeft } from "./support/observe.js";
import {
  type BuiltCli,
  buildCli,
  type Finished,
  realClock,
  secretKeyOf,
  startCli,
  startShell,
} from "./support/processes.js";
import { type LocalRegistry, startRegistry } from "./support/registry.js";
import { accessKeyOf } from "./support/rig.js";
import { expectNoSecrets, PLANTED } from "./support/secrets.js";

const CONFIG = "services/web/shipyard.json";
/** Secrets in every process's environment besides its own AWS keys: none may be printed. */
const ENV = {
  SENTRY_AUTH_TOKEN: PLANTED.SENTRY_AUTH_TOKEN,
  DATABASE_URL: PLANTED.DATABASE_URL,
  AWS_SESSION_TOKEN: PLANTED.AWS_SESSION_TOKEN,
};

let registry: LocalRegistry;
let cli: BuiltCli;
const folders: string[] = [];
const sims: EcsSimulator[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  cli = await buildCli();
}, 120_000);
afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.stop()));
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
  await registry?.close();
  await cli?.remove();
});

const image = (c: string) => `${registry.host}/acme/app@sha256:${c.repeat(64).slice(0, 64)}`;

/** The repository's top folder (where the person stands) and a service running web:1. */
async function setUp(extra: Record<string, unknown> = {}) {
  const sim = await EcsSimulator.start(realClock);
  sims.push(sim);
  sim.timing = { startSeconds: 1, healthySeconds: 2, failAfterSeconds: 3 };
  const v1 = sim.registerTaskDefinition({
    family: "web",
    containerDefinitions: [
      { name: "app", image: image("0"), environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
    ],
  });
  sim.createService({ taskDefinition: v1 });
  const top = await mkdtemp(join(tmpdir(), "shipyard-recovery-"));
  folders.push(top);
  await mkdir(join(top, "services/web"), { recursive: true });
  const deployment = { pollSeconds: 1, timeoutSeconds: 60, rollbackTimeoutSeconds: 60 };
  await writeFile(join(top, CONFIG), configText(deployment, extra, { image: `${registry.host}/acme/app` }));
  await writeFile(join(top, "services/web/task-def.json"), TEMPLATE);
  const options = { cli, cwd: top, endpoint: sim.endpoint, env: ENV };
  const shipyard = (name: string, args: string[]) =>
    startCli(name, [...args, "--config", CONFIG, "--json"], options);
  /** Runs one printed command line (its comment cut off) in the top folder, as `name`. */
  const paste = (name: string, line: string) => startShell(name, line.split("   # ")[0]!, options);
  return { sim, v1, top, shipyard, paste };
}

function reportOf(finished: Finished): Report {
  return JSON.parse(finished.stdout) as Report;
}

/** The printed lines that are commands, not advice. */
function commandsIn(report: Report): string[] {
  return (report.nextSteps ?? []).filter((step) => !step.startsWith("#"));
}

/** Nothing any process printed holds a secret it had. */
function expectQuiet(runs: Array<{ name: string; finished: Finished }>) {
  for (const { name, finished } of runs) {
    expectNoSecrets({ stdout: finished.stdout, stderr: finished.stderr }, [
      PLANTED.SENTRY_AUTH_TOKEN,
      "Planted-Db-Pass-9876",
      PLANTED.AWS_SESSION_TOKEN,
      secretKeyOf(name),
    ]);
  }
}

describe.concurrent("the commands printed after a failure, run as printed", () => {
  it("a lock held by a killed run: status, then deploy --force, from the same folder with --config", async () => {
    const { sim, shipyard, paste } = await setUp();
    const crashed = shipyard("crashed", [
      "deploy",
      "--env",
      "staging",
      "--image",
      image("a"),
      "--commit",
      "dead000",
    ]);
    sim.beforeAnswer = (call) => {
      const tags = JSON.stringify(call.input.tags ?? []);
      if (call.caller === crashed.key && call.operation === "TagResource" && tags.includes("state=held")) {
        crashed.child.kill("SIGKILL");
      }
    };
    await crashed.done;
    sim.beforeAnswer = undefined;
    const blocked = await shipyard("blocked", ["deploy", "--env", "staging", "--image", image("a")]).done;
    expect(blocked.code).toBe(2);
    const printed = commandsIn(reportOf(blocked));
    expect(printed).toEqual([
      `node ${cli.script} status --env staging --config ${CONFIG}`,
      `node ${cli.script} deploy --env staging --image ${image("a")} --force --config ${CONFIG}   # only if that run is dead`,
    ]);

    const status = await paste("person", printed[0]!).done;
    expect(status.code).toBe(0);
    // status shows the claim the person must judge before --force.
    expect(status.stderr).toMatch(/lock claimed by deploy run r\w+ \(commit dead000, by crashed, /);
    const forced = await paste("person", printed[1]!).done;
    expect(forced.code).toBe(0);
    expect(sim.callsTo("UpdateService").map((call) => call.caller)).toEqual([accessKeyOf("person")]);
    expect(sim.describe().taskDefinition).toBe(sim.callsTo("UpdateService")[0]!.input.taskDefinition);
    expect(claimsLeft(sim)).toEqual([]);
    expectQuiet([
      { name: "blocked", finished: blocked },
      { name: "person", finished: status },
      { name: "person", finished: forced },
    ]);
  }, 60_000);

  it("a rollout interrupted by SIGTERM: status, rollback --to, and the aws CLI fallback each work", async () => {
    const { sim, v1, shipyard, paste } = await setUp();
    sim.behaviours.set(image("a"), "stuck");
    const run = shipyard("waiting", ["deploy", "--env", "staging", "--image", image("a")]);
    sim.onCall = (call) => {
      if (call.operation === "UpdateService") setTimeout(() => run.child.kill("SIGTERM"), 2500);
    };
    const interrupted = await run.done;
    sim.onCall = undefined;
    expect(interrupted.code).toBe(3);
    const printed = commandsIn(reportOf(interrupted));
    expect(printed).toEqual([
      `node ${cli.script} status --env staging --config ${CONFIG}`,
      `node ${cli.script} rollback --env staging --to ${v1} --config ${CONFIG}`,
      `aws ecs update-service --region eu-west-1 --cluster main --service web --task-definition ${v1}`,
    ]);

    const status = await paste("person", printed[0]!).done;
    expect(status.code).toBe(0);
    const rollback = await paste("person", printed[1]!).done;
    expect(rollback.code).toBe(0);
    expect(sim.describe().taskDefinition).toBe(v1);
    // The plain AWS CLI line works against the same endpoint: ECS gets the same task definition.
    const before = sim.calls.length;
    const aws = await paste("person", printed[2]!).done;
    expect(aws.code).toBe(0);
    expect(changesBy(sim.calls.slice(before)).map((call) => call.input.taskDefinition)).toEqual([v1]);
    expectQuiet([
      { name: "waiting", finished: interrupted },
      { name: "person", finished: status },
      { name: "person", finished: rollback },
    ]);
  }, 60_000);

  it("a failed migration: status after the deploy; the deploy (image filled in) and migrate after migrate", async () => {
    const migrations = { migrations: { command: ["node", "dist/migrate.js"], lint: false } };
    const { sim, shipyard, paste } = await setUp(migrations);
    sim.tasks.outcomes.push({ kind: "exit", code: 1, afterSeconds: 1 });
    const failedDeploy = await shipyard("failing", ["deploy", "--env", "staging", "--image", image("a")])
      .done;
    // Exit 1: the release failed, and the service still runs the previous revision.
    expect(failedDeploy.code).toBe(1);
    expect(sim.describe().taskDefinition).toMatch(/web:1$/);
    expect(changesBy(sim.calls).map((call) => call.operation)).toEqual(["RunTask"]);
    const afterDeploy = commandsIn(reportOf(failedDeploy));
    expect(afterDeploy).toEqual([`node ${cli.script} status --env staging --config ${CONFIG}`]);
    expect((await paste("person", afterDeploy[0]!).done).code).toBe(0);

    sim.tasks.outcomes.push({ kind: "exit", code: 1, afterSeconds: 1 });
    const failedMigrate = await shipyard("failing", ["migrate", "--env", "staging"]).done;
    expect(failedMigrate.code).toBe(1);
    const afterMigrate = commandsIn(reportOf(failedMigrate));
    expect(afterMigrate).toEqual([
      `node ${cli.script} deploy --env staging --image '<image>' --config ${CONFIG}   # or: node ${cli.script} migrate --env staging --config ${CONFIG}`,
    ]);
    sim.tasks.outcomes.push(
      { kind: "exit", code: 0, afterSeconds: 1 },
      { kind: "exit", code: 0, afterSeconds: 1 },
    );
    const migrate = await paste("person", afterMigrate[0]!.split("   # or: ")[1]!).done;
    expect(migrate.code).toBe(0);
    const deploy = await paste("person", afterMigrate[0]!.replace("'<image>'", image("a"))).done;
    expect(deploy.code).toBe(0);
    expect(sim.describe().taskDefinition).toBe(sim.callsTo("UpdateService")[0]!.input.taskDefinition);
    expectQuiet([
      { name: "failing", finished: failedDeploy },
      { name: "failing", finished: failedMigrate },
      { name: "person", finished: migrate },
      { name: "person", finished: deploy },
    ]);
  }, 60_000);
  it("several services, the worker's restore refused: its own rollback --service and aws CLI line each work", async () => {
    const sim = await EcsSimulator.start(realClock);
    sims.push(sim);
    // The worker is ready in 2 s; the web's tasks fail at 3 s, so the worker must go back.
    sim.timing = { startSeconds: 1, healthySeconds: 1, failAfterSeconds: 3 };
    const body = (family: string) => ({
      family,
      containerDefinitions: [
        { name: "app", image: image("0"), environment: [{ name: "SENTRY_RELEASE", value: "v1" }] },
      ],
    });
    const web1 = sim.registerTaskDefinition(body("web"));
    const worker1 = sim.registerTaskDefinition(body("worker"));
    sim.createService({ service: "web", taskDefinition: web1 });
    sim.createService({ service: "worker", taskDefinition: worker1, desiredCount: 1 });
    sim.serviceBehaviours.set("web", "failing");
    let workerUpdates = 0;
    sim.onCall = (call) => {
      // The UpdateService that would put the worker back is refused.
      if (call.operation === "UpdateService" && call.input.service === "worker" && ++workerUpdates === 2)
        sim.injectFault("UpdateService", "AccessDeniedException", 400, 1);
    };
    const top = await mkdtemp(join(tmpdir(), "shipyard-recovery-"));
    folders.push(top);
    await mkdir(join(top, "services/web"), { recursive: true });
    const config = JSON.parse(
      configText(
        { pollSeconds: 1, timeoutSeconds: 30, rollbackTimeoutSeconds: 4 },
        {},
        { image: `${registry.host}/acme/app` },
      ),
    );
    delete config.environments.staging.service;
    config.environments.staging.services = [
      { name: "web", traffic: true },
      { name: "worker", command: ["node", "dist/worker.js"] },
    ];
    await writeFile(join(top, CONFIG), JSON.stringify(config));
    await writeFile(
      join(top, "services/web/task-def.json"),
      TEMPLATE.replace('"family":"web"', '"family":"{{SERVICE}}"'),
    );
    const options = { cli, cwd: top, endpoint: sim.endpoint, env: ENV };
    const failed = await startCli(
      "failing",
      ["deploy", "--env", "staging", "--image", image("a"), "--config", CONFIG, "--json"],
      options,
    ).done;
    sim.onCall = undefined;
    expect(failed.code).toBe(3);
    const printed = commandsIn(reportOf(failed));
    expect(printed).toEqual([
      `node ${cli.script} status --env staging --config ${CONFIG}`,
      `node ${cli.script} rollback --env staging --service worker --to ${worker1} --config ${CONFIG}`,
      `aws ecs update-service --region eu-west-1 --cluster main --service worker --task-definition ${worker1}`,
    ]);
    expect(sim.describe("main", "web").taskDefinition).toBe(web1);

    expect(sim.describe("main", "worker").taskDefinition).not.toBe(worker1);
    // The person runs what was printed for the worker.
    const paste = (line: string) => startShell("person", line, options);
    const status = await paste(printed[0]!).done;
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/worker/);
    const rollback = await paste(printed[1]!).done;
    expect(rollback.code).toBe(0);
    expect(sim.describe("main", "worker").taskDefinition).toBe(worker1);
    const before = sim.calls.length;
    const aws = await paste(printed[2]!).done;
    expect(aws.code).toBe(0);
    expect(changesBy(sim.calls.slice(before)).map((call) => call.input.service)).toEqual(["worker"]);
    expect(sim.describe("main", "worker").taskDefinition).toBe(worker1);
    expectQuiet([
      { name: "failing", finished: failed },
      { name: "person", finished: status },
      { name: "person", finished: rollback },
    ]);
  }, 90_000);
});
