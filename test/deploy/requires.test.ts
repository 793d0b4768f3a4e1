import { afterEach, describe, expect, it } from "vitest";
import { runDeploy } from "../../src/deploy/commands.js";
import { configText, digest, type Harness, NEW_IMAGE, startHarness } from "./harness.js";

let h: Harness;
afterEach(async () => {
  await h?.sim.stop();
});

/** staging (cluster main) and production (cluster prod), production requires staging. */
function twoEnvironments(): string {
  const config = JSON.parse(configText());
  config.environments.production = {
    ...config.environments.staging,
    cluster: "prod",
    requires: "staging",
  };
  return JSON.stringify(config);
}

async function withProduction(): Promise<Harness> {
  const harness = await startHarness();
  harness.sim.createService({ cluster: "prod", service: "web", taskDefinition: harness.v1 });
  return harness;
}

describe("requires: production only gets what staging runs verified", () => {
  it("deploys to production the image staging verified", async () => {
    h = await withProduction();
    const staging = await runDeploy(h.input({ configText: twoEnvironments() }), h.deps());
    expect(staging.outcome).toBe("succeeded");
    const production = await runDeploy(
      h.input({ configText: twoEnvironments(), environmentName: "production" }),
      h.deps(),
    );
    expect(production.outcome).toBe("succeeded");
    expect(h.progress.lines).toContain(
      `Requirement met: staging runs this image verified (${staging.taskDefinition!.split("/").at(-1)}).`,
    );
  });

  it("refuses an image staging never verified (exit 2, production untouched)", async () => {
    h = await withProduction();
    await runDeploy(h.input({ configText: twoEnvironments() }), h.deps());
    const other = digest("c");
    const report = await runDeploy(
      h.input({ configText: twoEnvironments(), environmentName: "production", image: other }),
      h.deps(),
    );
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /production requires staging to run this image verified first; staging's last verified revision web:2 runs .*@sha256:a{64}/,
    );
    expect(report.nextSteps).toEqual([`npx shipyard deploy --env staging --image ${other}`]);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
  });

  it("refuses when staging has no verified deploy, unless told to skip (then it says so)", async () => {
    h = await withProduction();
    const input = h.input({ configText: twoEnvironments(), environmentName: "production" });
    const refused = await runDeploy(input, h.deps());
    expect(refused.exitCode).toBe(2);
    expect(refused.reason).toMatch(/staging has no verified deploy recorded/);
    const skipped = await runDeploy({ ...input, skipRequires: true }, h.deps());
    expect(skipped.outcome).toBe("succeeded");
    expect(skipped.details?.requirementSkipped).toMatch(/no verified deploy recorded/);
    expect(h.progress.lines.some((l) => l.includes("deploying anyway (--skip-requires)"))).toBe(true);
    expect(skipped.image).toBe(NEW_IMAGE);
  });
});
