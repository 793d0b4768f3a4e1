/**
 * The emulator's scheduler (src/emulator/ecs/rollout-schedule.ts), played event by event: when tasks
 * launch and old ones stop for the deployment percents ECS documents, and the settings under which
 * ECS can make no move at all.
 */
import { describe, expect, it } from "vitest";
import { playRollout } from "../../src/emulator/ecs/rollout-schedule.js";

const base = { taskStartSeconds: 30, healthySeconds: 150, drainSeconds: 300 };

describe("playRollout", () => {
  it("200%/100%: every new task at once, the old ones drain once the new are healthy", () => {
    expect(
      playRollout({ ...base, desiredCount: 2, oldCount: 2, maximumPercent: 200, minimumHealthyPercent: 100 }),
    ).toEqual({ launches: [0, 0], oldStops: [480, 480], completeSeconds: 480 });
  });

  it("100%/50% of 4: half the old tasks drain first, then each half is replaced in turn", () => {
    expect(
      playRollout({ ...base, desiredCount: 4, oldCount: 4, maximumPercent: 100, minimumHealthyPercent: 50 }),
    ).toEqual({ launches: [300, 300, 780, 780], oldStops: [300, 300, 780, 780], completeSeconds: 960 });
  });

  it("200%/0%: everything drains and starts at once (capacity is lost meanwhile)", () => {
    expect(
      playRollout({ ...base, desiredCount: 2, oldCount: 2, maximumPercent: 200, minimumHealthyPercent: 0 }),
    ).toEqual({ launches: [0, 0], oldStops: [300, 300], completeSeconds: 300 });
  });

  it("100%/100%: no room to start a task nor to stop one, so the deployment never ends", () => {
    expect(
      playRollout({ ...base, desiredCount: 2, oldCount: 2, maximumPercent: 100, minimumHealthyPercent: 100 }),
    ).toBeNull();
  });
});
