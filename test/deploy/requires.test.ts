import { afterEach, describe, expect, it } from "vitest";
import { configText, digest, NEW_IMAGE, startWorld, type World } from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
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

async function withProduction(): Promise<World> {
  const world = await startWorld({ config: twoEnvironments() });
  world.sim.createService({ cluster: "prod", service: "web", taskDefinition: world.v1 });
  return world;
}

describe("requires: production only gets what staging runs verified", () => {
  it("deploys to production the image staging verified", async () => {
    h = await withProduction();
    const staging = await h.deploy();
    expect(staging.outcome).toBe("succeeded");
    const production = await h.deploy({ env: "production" });
    expect(production.outcome).toBe("succeeded");
    expect(h.captured.lines).toContain(
      `Requirement met: staging runs this image verified (${staging.taskDefinition!.split("/").at(-1)}).`,
    );
  });

  it("refuses an image staging never verified (exit 2, production untouched)", async () => {
    h = await withProduction();
    await h.deploy();
    const other = digest("c");
    const report = await h.deploy({ env: "production", image: other });
    expect(report.exitCode).toBe(2);
    expect(report.reason).toMatch(
      /production requires staging to run this image verified first; staging's last verified revision web:2 runs .*@sha256:a{64}/,
    );
    expect(report.nextSteps).toEqual([`npx shipyard deploy --env staging --image ${other}`]);
    expect(h.sim.callsTo("UpdateService")).toHaveLength(1);
  });

  it("refuses when staging has no verified deploy, unless told to skip (then it says so)", async () => {
    h = await withProduction();
    const refused = await h.deploy({ env: "production" });
    expect(refused.exitCode).toBe(2);
    expect(refused.reason).toMatch(/staging has no verified deploy recorded/);
    const skipped = await h.deploy({ env: "production", skipRequires: true });
    expect(skipped.outcome).toBe("succeeded");
    expect(skipped.warnings?.find((w) => w.startsWith("requirement skipped: "))).toMatch(
      /no verified deploy recorded/,
    );
    expect(h.captured.lines.some((l) => l.includes("deploying anyway (--skip-requires)"))).toBe(true);
    expect(skipped.image).toBe(NEW_IMAGE);
  });
});
