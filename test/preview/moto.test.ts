/**
 * Preview environments against moto (ECS, ELBv2 and EC2 in one server): what `preview-up` creates,
 * what a second `up` changes, what `preview-down` and `preview-gc` remove (and what they never
 * touch), the cap, and two `up`s racing for listener rule priorities. The tests share one moto and
 * run in order; each leaves no preview behind.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServicesCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { CreateRuleCommand, CreateTargetGroupCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceHash } from "../../src/deploy/preview.js";
import { digest, memoryFiles, NEW_IMAGE } from "../support/world.js";
import { type PreviewWorld, startPreviewWorld } from "./moto-world.js";

let world: PreviewWorld;

beforeAll(async () => {
  world = await startPreviewWorld();
}, 60_000);

afterAll(() => world?.stop());

const HASH = serviceHash({ cluster: "main", service: "web" });
const up = (pr: number, image = NEW_IMAGE, commit = "abc1234") =>
  world.run("preview-up", { pr: String(pr), image, commit });
const down = (pr: number) => world.run("preview-down", { pr: String(pr) });

/** The services of the cluster, with status and tags. */
async function services() {
  const arns = (await world.ecs.send(new ListServicesCommand({ cluster: "main" }))).serviceArns ?? [];
  const described = await world.ecs.send(
    new DescribeServicesCommand({ cluster: "main", services: arns, include: ["TAGS"] }),
  );
  return (described.services ?? []).map((s) => ({
    name: s.serviceName!,
    status: s.status!,
    taskDefinition: s.taskDefinition!,
    desired: s.desiredCount,
    loadBalancers: s.loadBalancers ?? [],
    tags: Object.fromEntries((s.tags ?? []).map((t) => [t.key!, t.value!])),
  }));
}

const activePreviews = async () =>
  (await services()).filter((s) => s.status === "ACTIVE" && s.tags["shipyard:preview"]);
const taggedGroups = async () => (await world.targetGroups()).filter((g) => g.tags["shipyard:preview"]);
const taggedRules = async () => (await world.rules()).filter((r) => r.tags["shipyard:preview"]);

describe("preview-up, a second up, preview-down", () => {
  it("creates exactly the preview's resources, tagged, and prints its URL", async () => {
    const report = await up(12);
    expect(report.outcome).toBe("succeeded");
    expect(report.exitCode).toBe(0);
    expect(report.details).toMatchObject({
      url: "https://pr-12.preview.example.com",
      database: "preview_pr_12",
      created: [
        `target group sy-pr12-${HASH}`,
        expect.stringMatching(/^listener rule \d+ \(pr-12\.preview\.example\.com\)$/),
        "task definition web-pr-12:1",
        "database preview_pr_12",
        "service web-pr-12",
      ],
    });
    expect(world.captured.lines.join("\n")).toContain("Preview of PR 12: https://pr-12.preview.example.com");
    // What a new preview costs in AWS calls (moto; no migrations configured).
    expect(report.details?.awsCalls).toEqual({ ecs: 12, elb: 6 });

    const previews = await activePreviews();
    expect(previews).toHaveLength(1);
    const [service] = previews;
    expect(service).toMatchObject({
      name: "web-pr-12",
      desired: 1,
      taskDefinition: expect.stringMatching(/task-definition\/web-pr-12:1$/),
      tags: {
        "shipyard:preview": "12",
        "shipyard:preview-of": "staging",
        "shipyard:commit": "abc1234",
        "shipyard:preview-database": "preview_pr_12",
        // FakeClock starts at 2026-11-27T12:00Z; timeToLiveHours is 48.
        "shipyard:expires": "2026-11-29T12:00:00.000Z",
      },
    });
    const groups = await taggedGroups();
    expect(groups.map((g) => g.name)).toEqual([`sy-pr12-${HASH}`]);
    expect(service!.loadBalancers).toEqual([
      { targetGroupArn: groups[0]!.arn, containerName: "app", containerPort: 3000 },
    ]);
    const rules = await taggedRules();
    expect(rules).toHaveLength(1);
    expect(rules[0]!.hosts).toEqual(["pr-12.preview.example.com"]);
    expect(rules[0]!.tags["shipyard:preview"]).toBe("12");
    // The copied service is untouched, and nothing else exists.
    expect((await services()).map((s) => s.name).sort()).toEqual(["web", "web-pr-12"]);
  }, 60_000);

  it("a second up is a normal deploy of the preview's service and changes nothing else", async () => {
    const groupsBefore = await world.targetGroups();
    const rulesBefore = await world.rules();
    world.clock.advance(3_600_000);
    const startedAt = world.clock.now();
    const report = await up(12, digest("b"), "def5678");
    expect(report.outcome).toBe("succeeded");
    expect(report.taskDefinition).toMatch(/task-definition\/web-pr-12:2$/);
    expect(report.previousTaskDefinition).toMatch(/task-definition\/web-pr-12:1$/);
    // An update is the deploy's calls on the preview's service, and none to the load balancer.
    expect(report.details).toMatchObject({ created: [], awsCalls: { ecs: 16, elb: 0 } });
    expect(await world.targetGroups()).toEqual(groupsBefore);
    expect(await world.rules()).toEqual(rulesBefore);
    const [service] = await activePreviews();
    expect(service?.taskDefinition).toMatch(/web-pr-12:2$/);
    expect(service?.tags).toMatchObject({
      "shipyard:commit": "def5678",
      "shipyard:expires": new Date(startedAt + 48 * 3_600_000).toISOString(),
      // The deploy's own bookkeeping: what a rollback of the preview returns to.
      "shipyard:last-good": expect.stringMatching(/web-pr-12:2$/),
    });
  }, 60_000);

  it("down removes every tagged resource and says what; a second down removes nothing", async () => {
    const report = await down(12);
    expect(report.outcome).toBe("succeeded");
    expect(report.details?.removed).toEqual([
      "service web-pr-12",
      "database preview_pr_12",
      expect.stringMatching(/^listener rule \d+ \(pr-12\.preview\.example\.com\)$/),
      `target group sy-pr12-${HASH}`,
    ]);
    expect(report.details?.awsCalls).toEqual({ ecs: 7, elb: 5 });
    expect(await activePreviews()).toEqual([]);
    expect(await taggedGroups()).toEqual([]);
    expect(await taggedRules()).toEqual([]);
    expect((await services()).find((s) => s.name === "web")?.status).toBe("ACTIVE");

    const again = await down(12);
    expect(again.outcome).toBe("succeeded");
    expect(again.details?.removed).toEqual([]);
    expect(again.details?.awsCalls).toEqual({ ecs: 1, elb: 2 });
    expect(world.captured.lines.at(-1)).toContain("There was no preview of PR 12 to remove.");
  }, 60_000);
});

describe("migrations", () => {
  it("run on a new preview from its own revision, after its database exists and before its service", async () => {
    world.config({}, { migrations: { command: ["node", "dist/migrate.js"], lint: false } });
    try {
      const report = await up(60);
      expect(report.outcome).toBe("succeeded");
      expect(report.migration).toMatchObject({ task: "succeeded" });
      expect(report.timings.phases.map((p) => p.name)).toEqual([
        "preflight",
        "routing",
        "register",
        "database",
        "migrate",
        "create",
        "rollout",
        "verify",
      ]);
      const tasks = await world.ecs.send(
        new ListTasksCommand({ cluster: "main", startedBy: "shipyard-migrate" }),
      );
      const described = await world.ecs.send(
        new DescribeTasksCommand({ cluster: "main", tasks: tasks.taskArns ?? [] }),
      );
      const commands = (described.tasks ?? [])
        .filter((t) => t.taskDefinitionArn?.endsWith("web-pr-60:1"))
        .map((t) => t.overrides?.containerOverrides?.[0]?.command?.join(" "));
      expect(commands).toContain("node dist/migrate.js");
      // The update runs them through the deploy's own migrate step.
      const update = await up(60, digest("f"));
      expect(update.outcome).toBe("succeeded");
      expect(update.migration).toMatchObject({ task: "succeeded" });
    } finally {
      await down(60);
      world.config();
    }
  }, 60_000);
});

describe("an up that was interrupted", () => {
  it("is finished by the next up, which reuses its tagged target group and rule", async () => {
    expect((await up(51)).outcome).toBe("succeeded");
    const groups = await taggedGroups();
    const rules = await taggedRules();
    // As if the run had stopped before CreateService: the service is gone, the routing is not.
    await world.ecs.send(
      new UpdateServiceCommand({ cluster: "main", service: "web-pr-51", desiredCount: 0 }),
    );
    await world.ecs.send(new DeleteServiceCommand({ cluster: "main", service: "web-pr-51" }));
    const again = await up(51, digest("e"));
    expect(again.outcome).toBe("succeeded");
    expect(again.details?.created).toEqual([
      "task definition web-pr-51:2",
      "database preview_pr_51",
      "service web-pr-51",
    ]);
    expect(await taggedGroups()).toEqual(groups);
    expect((await taggedRules()).map((r) => r.arn)).toEqual(rules.map((r) => r.arn));
    await down(51);
  }, 60_000);
});

describe("the cap", () => {
  it("refuses a new preview beyond maxPreviews with exit 2 and the list, changing nothing", async () => {
    world.config({ maxPreviews: 2 });
    try {
      expect((await up(1)).outcome).toBe("succeeded");
      expect((await up(2)).outcome).toBe("succeeded");
      const groups = await world.targetGroups();
      const refused = await up(3);
      expect(refused.exitCode).toBe(2);
      expect(refused.reason).toMatch(
        /^2 previews exist and previews\.maxPreviews is 2: PR 1: running; .*\| PR 2: running/,
      );
      expect(refused.reason).toContain("nothing was changed");
      expect(refused.nextSteps?.[0]).toContain("preview-gc");
      expect(await world.targetGroups()).toEqual(groups);
      expect((await activePreviews()).map((s) => s.name).sort()).toEqual(["web-pr-1", "web-pr-2"]);
      // An update of an existing preview is not a new one: the cap does not apply.
      expect((await up(2, digest("c"))).outcome).toBe("succeeded");
    } finally {
      await down(1);
      await down(2);
      world.config();
    }
  }, 90_000);
});

describe("preview-gc", () => {
  it("removes expired and orphaned previews, and nothing untagged", async () => {
    const started = world.clock.now();
    expect((await up(20)).outcome).toBe("succeeded");
    world.clock.advance(30 * 3_600_000);
    expect((await up(21)).outcome).toBe("succeeded");
    // A crashed up of PR 22 left a target group and a rule; someone's own (untagged) ones look alike.
    const orphanGroup = await world.elb.send(
      new CreateTargetGroupCommand({
        Name: `sy-pr22-${HASH}`,
        Protocol: "HTTP",
        Port: 3000,
        VpcId: world.vpcId,
        TargetType: "ip",
        Tags: [
          { Key: "shipyard:preview", Value: "22" },
          { Key: "shipyard:preview-of", Value: "staging" },
          { Key: "shipyard:updated", Value: new Date(world.clock.now()).toISOString() },
        ],
      }),
    );
    const orphanArn = orphanGroup.TargetGroups![0]!.TargetGroupArn!;
    await world.elb.send(
      new CreateRuleCommand({
        ListenerArn: world.listenerArn,
        Priority: 30_000,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["pr-22.preview.example.com"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: orphanArn }],
        Tags: [
          { Key: "shipyard:preview", Value: "22" },
          { Key: "shipyard:preview-of", Value: "staging" },
          { Key: "shipyard:updated", Value: new Date(world.clock.now()).toISOString() },
        ],
      }),
    );
    const untagged = await world.elb.send(
      new CreateTargetGroupCommand({
        Name: `sy-pr23-${HASH}`,
        Protocol: "HTTP",
        Port: 3000,
        VpcId: world.vpcId,
        TargetType: "ip",
      }),
    );
    await world.elb.send(
      new CreateRuleCommand({
        ListenerArn: world.listenerArn,
        Priority: 30_001,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["pr-23.preview.example.com"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: untagged.TargetGroups![0]!.TargetGroupArn! }],
      }),
    );

    // Within the hour an orphan may be an up still running: it stays.
    const early = await world.run("preview-gc", { dryRun: true });
    expect(early.details?.removed).toEqual([]);

    world.clock.advance(20 * 3_600_000);
    const list = await world.run("preview-list", {});
    expect(
      ((list.details?.previews ?? []) as Array<{ pr: number; state: string }>).map((p) => [p.pr, p.state]),
    ).toEqual([
      [20, "expired"],
      [21, "running"],
      [22, "orphaned"],
    ]);

    const gc = await world.run("preview-gc", {});
    expect(gc.outcome).toBe("succeeded");
    expect(gc.details?.removed).toEqual([
      {
        pr: 20,
        why: `expired at ${new Date(started + 48 * 3_600_000).toISOString()}`,
        removed: [
          "service web-pr-20",
          "database preview_pr_20",
          expect.stringMatching(/^listener rule \d+ \(pr-20\.preview\.example\.com\)$/),
          `target group sy-pr20-${HASH}`,
        ],
      },
      {
        pr: 22,
        why: "orphaned: no service (left by an interrupted up)",
        // The orphan's tags name no database: none is dropped on a guess.
        removed: ["listener rule 30000 (pr-22.preview.example.com)", `target group sy-pr22-${HASH}`],
      },
    ]);
    expect(gc.details?.kept).toEqual([21]);
    expect((await activePreviews()).map((s) => s.name)).toEqual(["web-pr-21"]);
    expect((await world.targetGroups()).map((g) => g.name).sort()).toEqual([
      `sy-pr21-${HASH}`,
      `sy-pr23-${HASH}`,
    ]);
    expect((await world.rules()).map((r) => r.hosts[0]).sort()).toEqual([
      "pr-21.preview.example.com",
      "pr-23.preview.example.com",
    ]);

    // --older-than takes previews that are not expired yet but were not updated for that long.
    const older = await world.run("preview-gc", { olderThan: "12h" });
    expect(((older.details?.removed ?? []) as Array<{ pr: number }>).map((r) => r.pr)).toEqual([21]);
    expect(await activePreviews()).toEqual([]);
    expect((await world.targetGroups()).map((g) => g.name)).toEqual([`sy-pr23-${HASH}`]);
  }, 120_000);
});

describe("two previews starting together", () => {
  it("get distinct listener rule priorities, even when both choose the same one first", async () => {
    // Both CreateRule calls are held until both arrived: each run chose after reading the same rules.
    const proxy = await barrierProxy(world.moto.endpoint, "CreateRule", 2);
    try {
      const env = {
        AWS_ENDPOINT_URL: world.moto.endpoint,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: proxy.url,
      };
      // 30 and 40030 start their search at the same priority (the range has 40000).
      const [a, b] = await Promise.all([
        world.run("preview-up", { pr: "30", image: NEW_IMAGE }, { env }),
        world.run("preview-up", { pr: "40030", image: NEW_IMAGE }, { env }),
      ]);
      expect([a.outcome, b.outcome]).toEqual(["succeeded", "succeeded"]);
      expect(proxy.held).toBe(2);
      const priorities = [a.details?.rulePriority, b.details?.rulePriority];
      expect(priorities).toContain(10_210);
      expect(new Set(priorities).size).toBe(2);
      expect(world.captured.lines).toContain(
        "  … listener rule priority 10210 was taken meanwhile; choosing again",
      );
      const rules = await taggedRules();
      expect(rules.map((r) => [r.tags["shipyard:preview"], r.hosts[0]]).sort()).toEqual([
        ["30", "pr-30.preview.example.com"],
        ["40030", "pr-40030.preview.example.com"],
      ]);
    } finally {
      await proxy.close();
      await down(30);
      await down(40030);
    }
    expect(await taggedRules()).toEqual([]);
  }, 90_000);
});

/** Forwards to moto; the first `count` calls of `action` wait until all of them arrived. */
async function barrierProxy(target: string, action: string, count: number) {
  let waiting: Array<() => void> = [];
  let held = 0;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (held < count && new URLSearchParams(body.toString()).get("Action") === action) {
      held += 1;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === count) {
          for (const release of waiting) release();
          waiting = [];
        }
      });
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name !== "host" && name !== "content-length"),
    ) as Record<string, string>;
    const answer = await fetch(`${target}${request.url}`, { method: request.method, headers, body });
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    get held() {
      return held;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("when a preview's release is bad", () => {
  const failingSmoke = {
    fetch: async () => new Response("down", { status: 503 }),
  };

  it("a failed update is rolled back to the preview's previous revision, its expiry unchanged (exit 1)", async () => {
    expect((await up(40)).outcome).toBe("succeeded");
    const before = (await activePreviews())[0]!;
    world.clock.advance(3_600_000);
    const report = await world.run("preview-up", { pr: "40", image: digest("d") }, failingSmoke);
    expect(report.outcome).toBe("rolled_back");
    expect(report.exitCode).toBe(1);
    const after = (await activePreviews())[0]!;
    expect(after.taskDefinition).toBe(before.taskDefinition);
    expect(after.tags["shipyard:expires"]).toBe(before.tags["shipyard:expires"]);
    await down(40);
  }, 60_000);

  it("a new preview that fails its smoke test stays for inspection and says how to remove it (exit 1)", async () => {
    const report = await world.run("preview-up", { pr: "41", image: NEW_IMAGE }, failingSmoke);
    expect(report.exitCode).toBe(1);
    expect(report.reason).toMatch(
      /^the smoke test on https:\/\/pr-41\.preview\.example\.com failed: .*; the preview's pieces stay for inspection$/,
    );
    expect(report.nextSteps?.[0]).toBe("npx shipyard preview-down --pr 41");
    expect((await activePreviews()).map((s) => s.name)).toEqual(["web-pr-41"]);
    expect((await down(41)).details?.removed).toHaveLength(4);
  }, 60_000);
});

describe("what is not a preview's, by name", () => {
  it("a target group or a rule that looks like the preview's but is not tagged stops up (exit 2)", async () => {
    const group = await world.elb.send(
      new CreateTargetGroupCommand({
        Name: `sy-pr6-${HASH}`,
        Protocol: "HTTP",
        Port: 3000,
        VpcId: world.vpcId,
        TargetType: "ip",
      }),
    );
    const refused = await up(6);
    expect(refused.exitCode).toBe(2);
    expect(refused.reason).toContain(
      `A target group named sy-pr6-${HASH} exists but is not tagged as this preview's`,
    );
    await world.elb.send(
      new CreateRuleCommand({
        ListenerArn: world.listenerArn,
        Priority: 30_006,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["pr-7.preview.example.com"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: group.TargetGroups![0]!.TargetGroupArn! }],
      }),
    );
    const ruled = await up(7);
    expect(ruled.exitCode).toBe(2);
    expect(ruled.reason).toContain(
      "The listener already has a rule for pr-7.preview.example.com (priority 30006)",
    );
    expect(await activePreviews()).toEqual([]);
    // up 7 created its target group before it met the rule: down takes it away again, and drops the
    // database the group's tags name (DROP ... IF EXISTS: it was never created).
    expect((await down(7)).details?.removed).toEqual([
      "database preview_pr_7",
      `target group sy-pr7-${HASH}`,
    ]);
  }, 60_000);
});

describe("the CLI", () => {
  it("runs preview-up, preview-list --json and preview-down as a user types them", async () => {
    const help = await world.cli(["preview-up", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stderr).toContain("--pr N");

    const missing = await world.cli(["preview-up", "--image", NEW_IMAGE]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--pr N is required");

    const created = await world.cli([
      "preview-up",
      "--pr",
      "77",
      "--image",
      NEW_IMAGE,
      "--commit",
      "abc1234",
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("Preview of PR 77: https://pr-77.preview.example.com");

    const listed = await world.cli(["preview-list", "--json"]);
    expect(listed.code).toBe(0);
    const report = JSON.parse(listed.stdout) as { details: { previews: Array<Record<string, unknown>> } };
    expect(report.details.previews).toEqual([
      expect.objectContaining({
        pr: 77,
        state: "running",
        url: "https://pr-77.preview.example.com",
        service: "web-pr-77",
        commit: "abc1234",
      }),
    ]);

    const removed = await world.cli(["preview-down", "--pr", "77"]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain(
      "Removed the preview of PR 77: service web-pr-77, database preview_pr_77",
    );
  }, 60_000);
});

describe("what is not a preview's", () => {
  it("an untagged service with a preview's name is neither taken over by up nor deleted by down or gc", async () => {
    const web = (await services()).find((s) => s.name === "web")!;
    await world.ecs.send(
      new CreateServiceCommand({
        cluster: "main",
        serviceName: "web-pr-5",
        taskDefinition: web.taskDefinition,
        desiredCount: 1,
      }),
    );
    const refused = await up(5);
    expect(refused.exitCode).toBe(2);
    expect(refused.reason).toContain("the service web-pr-5 exists but is not tagged as the preview of PR 5");
    const removed = await down(5);
    expect(removed.details?.removed).toEqual([]);
    expect(removed.warnings).toEqual(["kept service web-pr-5: it is not tagged as the preview of PR 5"]);
    const gc = await world.run("preview-gc", { olderThan: "1s" });
    expect(gc.details?.removed).toEqual([]);
    expect((await services()).find((s) => s.name === "web-pr-5")?.status).toBe("ACTIVE");
  }, 60_000);
});

describe("bad input", () => {
  it("refuses a pull request that is not a number before any AWS call", async () => {
    const noAws = {
      ecsClientFactory: async () => {
        throw new Error("no AWS call may be made");
      },
    };
    for (const pr of ["12; rm -rf /", "0", "-1", "1e3", "007", "feature/login", "١٢", ""]) {
      const report = await world.run("preview-up", { pr, image: NEW_IMAGE }, noAws);
      expect(report.exitCode, pr).toBe(2);
      expect(report.reason).toContain("The command line is not valid");
    }
  });

  it("refuses a shipyard.json without previews, naming the section to add", async () => {
    const text = JSON.parse(world.config()) as Record<string, unknown>;
    delete text.previews;
    const report = await world.run(
      "preview-list",
      {},
      { files: memoryFiles({ "shipyard.json": JSON.stringify(text) }) },
    );
    expect(report.exitCode).toBe(2);
    expect(report.reason).toContain("no `previews` section");
  });
});
