/**
 * A rollback never puts the wrong thing on a service: a last-good tag or a --to that names a
 * revision of another family, one without the configured container, or one running an image from
 * another repository is refused (exit 2, the reason, nothing changed), unless a person who checked
 * it says --allow-foreign-revision.
 */
import { ECSClient, TagResourceCommand } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import { startWorld, type World } from "../support/world.js";
import { changesBy } from "./support/observe.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

const FOREIGN_IMAGE = `ghcr.io/evil/app@sha256:${"e".repeat(64)}`;
const OWN_IMAGE = `ghcr.io/acme/app@sha256:${"1".repeat(64)}`;

/** Revisions ECS knows that are not this service's own. */
function foreignRevisions(world: World) {
  return {
    family: world.sim.registerTaskDefinition({
      family: "billing",
      containerDefinitions: [{ name: "app", image: OWN_IMAGE }],
    }),
    container: world.sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "worker", image: OWN_IMAGE }],
    }),
    repository: world.sim.registerTaskDefinition({
      family: "web",
      containerDefinitions: [{ name: "app", image: FOREIGN_IMAGE }],
    }),
  };
}

/** What someone else (or a broken script) wrote on the service. */
async function tagService(world: World, tags: Record<string, string>) {
  const ecs = new ECSClient({
    region: "eu-west-1",
    endpoint: world.sim.endpoint,
    credentials: { accessKeyId: "AKIAOTHERTOOL0000000", secretAccessKey: "other-tool" },
  });
  await ecs.send(
    new TagResourceCommand({
      resourceArn: String(world.sim.describe().serviceArn),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    }),
  );
}

const WHY = {
  family: (arn: string) =>
    `${arn.split("/").at(-1)} is of family billing, not web (the family the service runs)`,
  container: (arn: string) => `${arn.split("/").at(-1)} has no container "app" (it has: worker)`,
  repository: (arn: string) =>
    `${arn.split("/").at(-1)} runs ${FOREIGN_IMAGE}, which is not from the configured repository ghcr.io/acme/app`,
};

describe("rollback refuses a revision that is not the service's own", () => {
  for (const kind of ["family", "container", "repository"] as const) {
    it(`a last-good tag naming another ${kind}: exit 2 with the reason, nothing changed`, async () => {
      h = await startWorld();
      await h.deploy();
      const revisions = foreignRevisions(h);
      await tagService(h, { "shipyard:last-good": revisions[kind] });
      const before = h.sim.calls.length;
      const running = h.sim.describe().taskDefinition;
      const report = await h.run("rollback", { env: "staging" });
      expect(report.exitCode).toBe(2);
      expect(report.reason).toBe(
        `${WHY[kind](revisions[kind])}; Shipyard puts a service back only on its own revisions; nothing was changed`,
      );
      expect(report.nextSteps).toEqual([
        "npx shipyard rollback --env staging --to '<revision>'   # a revision of web",
        "or, if you checked that revision and mean it: add --allow-foreign-revision",
      ]);
      const round = h.sim.calls.slice(before);
      expect(changesBy(round)).toEqual([]);
      expect(round.map((call) => call.operation)).not.toContain("TagResource");
      expect(h.sim.describe().taskDefinition).toBe(running);
    });

    it(`--to naming another ${kind}: exit 2; with --allow-foreign-revision it is done`, async () => {
      h = await startWorld();
      const revisions = foreignRevisions(h);
      const refused = await h.run("rollback", { env: "staging", to: revisions[kind] });
      expect(refused.exitCode).toBe(2);
      expect(refused.reason).toContain(WHY[kind](revisions[kind]));
      expect(changesBy(h.sim.calls)).toEqual([]);
      expect(h.sim.describe().taskDefinition).toBe(h.v1);

      const allowed = await h.run("rollback", {
        env: "staging",
        to: revisions[kind],
        allowForeignRevision: true,
      });
      expect(allowed.exitCode).toBe(0);
      expect(h.sim.describe().taskDefinition).toBe(revisions[kind]);
    });
  }

  it("the CLI spells the override --allow-foreign-revision", async () => {
    h = await startWorld();
    const revisions = foreignRevisions(h);
    const refused = await h.cli(["rollback", "--env", "staging", "--to", "billing:1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`why:      ${WHY.family(revisions.family)}`);
    const allowed = await h.cli([
      "rollback",
      "--env",
      "staging",
      "--to",
      "billing:1",
      "--allow-foreign-revision",
    ]);
    expect(allowed.code).toBe(0);
    expect(h.sim.describe().taskDefinition).toBe(revisions.family);
  });
});
