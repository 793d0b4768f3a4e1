/**
 * The gate's settings in shipyard.json, through the CLI as a user meets them: `verify.minWatchSeconds`
 * has its default, and a bad value stops the deploy with exit 2 naming the key, before any AWS call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { VerifySchema } from "../../src/config/schema.js";
import { configText, NEW_IMAGE, startWorld, type World } from "../support/world.js";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const deployArgv = ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--release", "v2"];

describe("verify.minWatchSeconds", () => {
  it("defaults to 60 s and accepts 0 (early passes from the first reading)", () => {
    expect(VerifySchema.parse({}).minWatchSeconds).toBe(60);
    expect(VerifySchema.parse({ minWatchSeconds: 0 }).minWatchSeconds).toBe(0);
  });

  for (const [value, says] of [
    [-5, "Too small"],
    [12.5, "expected int"],
    ["60", "expected number"],
  ] as const) {
    it(`rejects ${JSON.stringify(value)}: exit 2 naming the key, no AWS call`, async () => {
      world = await startWorld({ config: configText({}, { verify: { minWatchSeconds: value } }) });
      const { code, stderr } = await world.cli(deployArgv);
      expect(code).toBe(2);
      expect(stderr).toContain("environments.staging.verify.minWatchSeconds");
      expect(stderr.toLowerCase()).toContain(says.toLowerCase());
      expect(stderr).toContain("nothing was changed");
      expect(world.sim.operations()).toEqual([]);
    });
  }
});
