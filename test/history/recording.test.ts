/**
 * What deploys and rollbacks record, end to end through the commands on the ECS simulator, and read
 * back by `history`: a fresh runner (a new world on the same simulator state) sees the same thing.
 */
import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { HISTORY_TAG } from "../../src/deploy/history.js";
import { digest, startWorld, type World } from "../support/world.js";

let h: World;
afterEach(async () => {
  await h?.stop();
});

const short = (arn: unknown) => String(arn).split("/").at(-1);
const web = (n: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/web:${n}`;

describe("recording the history", () => {
  it("tags each deploy's revision with its outcome, times and who ran it, and a rollback on the revision it left", async () => {
    h = await startWorld();
    h.env.GITHUB_ACTOR = "octocat";
    const started = new Date(h.clock.now()).toISOString().replace(".000Z", "Z");
    const good = await h.deploy();
    expect(good.outcome).toBe("succeeded");
    const tags = h.sim.taskDefinitionTags(web(2));
    expect(tags).toMatchObject({
      [HISTORY_TAG.outcome]: "succeeded",
      [HISTORY_TAG.started]: started,
      [HISTORY_TAG.by]: "octocat",
      "shipyard:release": "v2",
      "shipyard:commit": "abc1234",
    });
    expect(Date.parse(tags[HISTORY_TAG.finished] ?? "")).toBe(
      Date.parse(good.timings.finishedAt) - (Date.parse(good.timings.finishedAt) % 1000),
    );
    const rollout = good.timings.phases.find((p) => p.name === "rollout");
    expect(tags[HISTORY_TAG.changed]).toBe(rollout?.startedAt.replace(/\.\d{3}Z$/, "Z"));

    h.sim.behaviours.set(digest("b"), "failing");
    const bad = await h.deploy({ image: digest("b"), release: "v3", commit: "def5678" });
    expect(bad.outcome).toBe("rolled_back");
    expect(h.sim.taskDefinitionTags(web(3))[HISTORY_TAG.outcome]).toBe("rolled_back");

    delete h.env.GITHUB_ACTOR;
    const back = await h.run("rollback", { env: "staging" });
    expect(back.outcome).toBe("succeeded");
    expect(h.sim.taskDefinitionTags(web(2))).toMatchObject({
      [HISTORY_TAG.rollbackTo]: web(1),
      [HISTORY_TAG.rollbackOutcome]: "succeeded",
      [HISTORY_TAG.rollbackBy]: userInfo().username,
    });

    const history = await h.run("history", { env: "staging" });
    const events = history.details?.events as Array<Record<string, unknown>>;
    expect(events.map((e) => [e.kind, short(e.revision), e.outcome, short(e.rollbackTarget), e.by])).toEqual([
      ["rollback", "web:2", "succeeded", "web:1", userInfo().username],
      ["deploy", "web:3", "rolled_back", "web:2", "octocat"],
      ["deploy", "web:2", "succeeded", "null", "octocat"],
    ]);
  });

  it("keeps a deploy that succeeded when its history cannot be written, and says so", async () => {
    h = await startWorld();
    // recordLastGood tags the service first; the next TagResource is the history's.
    h.sim.onCall = (call) => {
      if (call.operation === "TagResource" && String(call.input.resourceArn).includes("task-definition")) {
        h.sim.injectFault("TagResource", "InvalidParameterException", 400, 1);
        h.sim.onCall = undefined;
      }
    };
    const report = await h.deploy();
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    expect(report.warnings).toEqual([
      "history not recorded on web:2 (InvalidParameterException: injected InvalidParameterException)",
    ]);
  });
});
