/**
 * docs/iam-policy.json is the minimal policy the README tells users to attach. It must allow every
 * AWS action Shipyard's code can send: found statically (every `new XxxCommand(` under src/aws/, the
 * one place that sends them, credited to the SDK client that defines the command, since one gateway
 * may use two clients) and dynamically (every operation the ECS simulator saw during a deploy,
 * a failed deploy with its restore, a rollback, a migration and a status).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configText, digest, startWorld, type World } from "../support/world.js";
import { ROOT } from "./generate.js";

interface Statement {
  Effect: string;
  Action: string | string[];
}

const policy = JSON.parse(readFileSync(join(ROOT, "docs/iam-policy.json"), "utf8")) as {
  Statement: Statement[];
};
const allowed = new Set(
  policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
    Array.isArray(s.Action) ? s.Action : [s.Action],
  ),
);

/** The AWS service prefix of each SDK client Shipyard uses. */
const PREFIX: Record<string, string> = {
  "client-ecs": "ecs",
  "client-ecr": "ecr",
  "client-elastic-load-balancing-v2": "elasticloadbalancing",
  "client-cloudwatch-logs": "logs",
  "client-eventbridge": "events",
  "client-scheduler": "scheduler",
};

/** The clients a file names that define `XxxCommand` (exactly one, or the action cannot be credited). */
function definingClients(clients: string[], command: string): string[] {
  return clients.filter((client) =>
    existsSync(join(ROOT, "node_modules/@aws-sdk", client, "dist-types/commands", `${command}Command.d.ts`)),
  );
}

function actionsInCode(): string[] {
  const dir = join(ROOT, "src/aws");
  const actions = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    const clients = [...new Set([...text.matchAll(/@aws-sdk\/(client-[a-z0-9-]+)/g)].map((m) => m[1]!))];
    if (clients.length === 0) continue;
    for (const match of text.matchAll(/new (\w+)Command\(/g)) {
      const owners = definingClients(clients, match[1]!);
      const client = owners.length === 1 ? owners[0]! : `${file}: no single client defines`;
      actions.add(`${PREFIX[client] ?? client}:${match[1]}`);
    }
  }
  return [...actions].sort();
}

let h: World;
afterEach(async () => {
  await h?.stop();
});

describe("docs/iam-policy.json", () => {
  it("allows every action the code can send", () => {
    const actions = actionsInCode();
    expect(actions.length).toBeGreaterThan(10);
    for (const action of actions) expect(allowed, action).toContain(action);
    // The scheduled tasks' gateway uses two clients in one file: each action is credited to its own.
    expect(actions).toEqual(
      expect.arrayContaining([
        "events:ListTargetsByRule",
        "events:PutTargets",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
      ]),
    );
  });

  it("allows every operation a deploy, a restore, a rollback, a migration and a status sent", async () => {
    h = await startWorld({
      config: configText({}, { migrations: { command: ["node", "dist/migrate.js"], lint: false } }),
    });
    expect((await h.deploy()).exitCode).toBe(0);
    h.sim.behaviours.set(digest("b"), "stuck");
    h.setConfig(
      configText(
        { timeoutSeconds: 30 },
        { migrations: { command: ["node", "dist/migrate.js"], lint: false } },
      ),
    );
    expect((await h.deploy({ image: digest("b"), release: "v3" })).exitCode).toBe(1);
    expect((await h.run("rollback", { env: "staging", to: "1" })).exitCode).toBe(0);
    expect((await h.run("migrate", { env: "staging" })).exitCode).toBe(0);
    expect((await h.run("status", { env: "staging" })).exitCode).toBe(0);
    const operations = [...new Set(h.sim.operations())].sort();
    expect(operations).toEqual(expect.arrayContaining(["RunTask", "StopServiceDeployment", "UpdateService"]));
    for (const operation of operations) expect(allowed, operation).toContain(`ecs:${operation}`);
  });

  it("lets ECS use the task roles (iam:PassRole, only to ECS tasks)", () => {
    const pass = policy.Statement.find((s) => s.Action === "iam:PassRole") as Statement & {
      Condition?: Record<string, Record<string, string>>;
    };
    expect(pass?.Condition?.StringEquals?.["iam:PassedToService"]).toBe("ecs-tasks.amazonaws.com");
  });

  it("lets EventBridge and Scheduler use a scheduled task's role (PutTargets and UpdateSchedule pass it)", () => {
    const services = policy.Statement.filter(
      (s) => s.Effect === "Allow" && s.Action === "iam:PassRole",
    ).flatMap((s) => {
      const passedTo = (s as { Condition?: Record<string, Record<string, string | string[]>> }).Condition
        ?.StringEquals?.["iam:PassedToService"];
      return Array.isArray(passedTo) ? passedTo : passedTo ? [passedTo] : [];
    });
    expect(services).toEqual(
      expect.arrayContaining(["ecs-tasks.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com"]),
    );
  });
});
