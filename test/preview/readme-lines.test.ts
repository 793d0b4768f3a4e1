/**
 * The README's `npx shipyard preview-…` lines, run as printed against moto (ECS and ELBv2 with a
 * load balancer, which the ECS emulator does not model), in the README's order, on an app whose
 * shipyard.json is the example app's image with a `previews` section: each must succeed.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/report.js";
import { type PreviewWorld, startPreviewWorld } from "./moto-world.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const cliSection = readme.slice(
  readme.indexOf("## The `shipyard` CLI"),
  readme.indexOf("\n## Configuration reference"),
);
const lines = cliSection.split("\n").filter((line) => line.startsWith("npx shipyard preview-"));

let world: PreviewWorld;
beforeAll(async () => {
  world = await startPreviewWorld();
  world.config({}, {}, { image: "ghcr.io/acme/shipyard-example" });
}, 60_000);
afterAll(() => world?.stop());

describe("the README's preview lines", () => {
  it("names every preview command", () => {
    const commands = new Set(lines.map((line) => line.split(/\s+/)[2]));
    expect([...commands].sort()).toEqual(["preview-down", "preview-gc", "preview-list", "preview-up"]);
  });

  it("each runs as printed and succeeds, in the README's order", async () => {
    for (const line of lines) {
      const argv = line.replace(/^npx shipyard /, "").split(/\s+/);
      const { code, stdout, stderr } = await world.cli(argv);
      expect(code, `${line}\n${stderr}`).toBe(0);
      if (argv.includes("--json")) expect((JSON.parse(stdout) as Report).exitCode, line).toBe(0);
    }
    // preview-up --pr 42 comes last in the README: its preview now exists.
    expect((await world.rules()).map((rule) => rule.hosts)).toEqual([["pr-42.preview.example.com"]]);
  }, 120_000);
});
