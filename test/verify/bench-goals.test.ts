/**
 * The bench's goals as a test, on fewer trials, so a change of defaults that breaks them fails CI:
 * no false rollbacks, ≥50% failing rolled back within 30 s of its first data at ≥ 1 req/s, ≥5%
 * failing at ≥ 20 req/s caught within the window, healthy releases at ≥ 20 req/s verified within a
 * minute (median), no bad release passed early.
 */
import { describe, expect, it } from "vitest";
import { VerifySchema } from "../../src/config/schema.js";
import { goals, simulate } from "../bench/verify.js";

describe("gate defaults meet the bench goals", () => {
  it("on a seeded simulation of every traffic level and failure rate", async () => {
    const settings = VerifySchema.parse({});
    const cells = await simulate(settings, 60, 7);
    const lines = goals(cells, settings);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/: met/);
    // The typical pipeline's check, on the same traffic, both rolls back healthy releases and keeps bad ones.
    expect(cells.filter((c) => c.healthy).some((c) => c.typicalRollbacks > 0)).toBe(true);
    expect(cells.filter((c) => !c.healthy).some((c) => c.typicalRollbacks < c.trials)).toBe(true);
  });
});
