/**
 * Real reports for the diagram tests, made by the test world (ECS and Sentry simulators on one fake
 * clock) through the command layer: a deploy that passes the gate early, one the gate rolls back, one
 * whose rollout fails and is restored, a `rollback`, a one-shot `verify`, and a deploy of a release
 * with a hostile name.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Report } from "../../src/report/report.js";
import { configText, NEW_IMAGE, startWorld, type World } from "../support/world.js";

/** A release name made to break diagrams: quotes, colons, #, ;, %%, braces, markup, long. */
export const HOSTILE_RELEASE = `v2 "quoted": #1; 50% %%{init: {"theme":"dark"}}%% <b>&amp; click x call y ${"long-".repeat(30)}end`;

export interface ReportSet {
  succeeded: Report;
  gateRolledBack: Report;
  rolloutRestored: Report;
  rollback: Report;
  verify: Report;
  hostile: Report;
}

/** Traffic: v1 served 2 h at 0.5% errors until now; v2 serves from now at `newErrorRate`. */
function traffic(world: World, release: string, newErrorRate: number): void {
  const now = world.clock.now();
  const sentry = world.sentry!;
  sentry.addTraffic({
    release: "v1",
    environment: "staging",
    startAt: now - 7_200_000,
    endAt: now,
    ratePerSecond: 20,
    errorRate: 0.005,
  });
  sentry.addTraffic({
    release,
    environment: "staging",
    startAt: now,
    ratePerSecond: 20,
    errorRate: newErrorRate,
  });
}

async function withWorld<T>(work: (world: World, appRoot: string) => Promise<T>): Promise<T> {
  const world = await startWorld({ sentry: true });
  // sentry-cli runs in the app's folder: a real one, outside any git checkout.
  const appRoot = mkdtempSync(join(tmpdir(), "shipyard-report-"));
  try {
    world.setConfig(configText({}, { sentry: { org: "acme", project: "app" } }));
    return await work(world, appRoot);
  } finally {
    await world.stop();
    rmSync(appRoot, { recursive: true, force: true });
  }
}

function deploy(world: World, appRoot: string, raw: Record<string, unknown> = {}): Promise<Report> {
  return world.deploy(raw, { files: { ...world.files, root: appRoot } });
}

export async function makeReports(): Promise<ReportSet> {
  const [[succeeded, rollback], gateRolledBack, rolloutRestored, verify, hostile] = await Promise.all([
    withWorld(async (world, appRoot) => {
      traffic(world, "v2", 0.005);
      const deployed = await deploy(world, appRoot);
      // Back to v1: the rollback's restore phase.
      const back = await world.run("rollback", { env: "staging" });
      return [deployed, back] as const;
    }),
    withWorld((world, appRoot) => {
      // 3% against 0.5%: a breach at every reading until enough in a row fail the release.
      traffic(world, "v2", 0.03);
      return deploy(world, appRoot);
    }),
    withWorld((world, appRoot) => {
      world.sim.behaviours.set(NEW_IMAGE, "failing");
      return deploy(world, appRoot);
    }),
    withWorld((world) => {
      traffic(world, "v2", 0.005);
      world.clock.advance(120_000);
      return world.run("verify", { env: "staging", release: "v2", previousRelease: "v1" });
    }),
    withWorld((world, appRoot) => {
      traffic(world, HOSTILE_RELEASE, 0.005);
      return deploy(world, appRoot, { release: HOSTILE_RELEASE });
    }),
  ]);
  return { succeeded, gateRolledBack, rolloutRestored, rollback, verify, hostile };
}
