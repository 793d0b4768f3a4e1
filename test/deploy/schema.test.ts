import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { generateSchema } from "../../src/config/json-schema.js";

describe("schema/shipyard.schema.json", () => {
  it("is exactly what the zod schema generates (run `npm run schema` after changing src/config/schema.ts)", async () => {
    const committed = await readFile(new URL("../../schema/shipyard.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(generateSchema());
  });

  it("rejects unknown keys and names every environment field editors should complete", () => {
    const schema = JSON.parse(generateSchema());
    expect(schema.additionalProperties).toBe(false);
    const environment = schema.properties.environments.additionalProperties;
    expect(Object.keys(environment.properties)).toEqual(
      expect.arrayContaining(["region", "cluster", "service", "container", "deployment", "variables"]),
    );
    expect(environment.required).toEqual(expect.arrayContaining(["region", "cluster"]));
    // One service or a list of them: editors are told it is one or the other.
    expect(environment.oneOf).toEqual([{ required: ["service"] }, { required: ["services"] }]);
    expect(Object.keys(environment.properties)).toEqual(
      expect.arrayContaining(["services", "scheduledTasks"]),
    );
  });
});
