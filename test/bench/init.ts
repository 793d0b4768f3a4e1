/**
 * `shipyard init`: how many AWS calls it makes per service it adopts (the budget: at most 4 for one
 * service), for one environment (the FireLens/Datadog service) and for two (examples/ecr's staging
 * and production), counted by the ECS simulator that answered them; and how long a run takes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { datadogService, exampleServices } from "../init/services.js";
import { memoryFiles, startWorld, type World } from "../support/world.js";

const RUNS = 5;

interface Case {
  label: string;
  services: number;
  arrange(world: World): Promise<unknown>;
  raw: Record<string, unknown>;
}

const cases: Case[] = [
  {
    label: "1 environment (FireLens sidecar, secrets, ARM64)",
    services: 1,
    arrange: async (world) => datadogService(world.sim),
    raw: { env: ["production"], region: ["eu-west-1"], cluster: ["apps"], service: ["httpd"] },
  },
  {
    label: "2 environments (examples/ecr staging + production)",
    services: 2,
    arrange: (world) => exampleServices(world.sim),
    raw: {
      env: ["staging", "production"],
      region: ["eu-central-1"],
      cluster: ["notes-staging", "notes-production"],
      service: ["notes-api"],
    },
  },
];

async function measure(c: Case): Promise<{ calls: string[]; ms: number[] }> {
  const world = await startWorld();
  const samples: number[] = [];
  let calls: string[] = [];
  try {
    await c.arrange(world);
    for (let run = 0; run < RUNS; run++) {
      const dir = await mkdtemp(join(tmpdir(), "shipyard-bench-init-"));
      const before = world.sim.calls.length;
      const started = performance.now();
      const report = await world.run("init", c.raw, { files: memoryFiles({}, dir) });
      samples.push(performance.now() - started);
      calls = world.sim.calls.slice(before).map((call) => call.operation);
      await rm(dir, { recursive: true, force: true });
      if (report.exitCode !== 0) throw new Error(`init failed: ${report.reason}`);
    }
  } finally {
    await world.stop();
  }
  return { calls, ms: samples.sort((a, b) => a - b) };
}

export async function run(): Promise<string> {
  const rows: string[] = [];
  for (const c of cases) {
    const { calls, ms } = await measure(c);
    const per = calls.length / c.services;
    const operations = [...new Set(calls)].join(", ");
    rows.push(
      `| ${c.label} | ${calls.length} | ${per} ${per <= 4 ? "(≤ 4)" : "(OVER the budget of 4)"} | ${operations} | ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms |`,
    );
  }
  return [
    "`shipyard init` against the ECS simulator (real AWS SDK over HTTP), files written to a temporary folder;",
    `median of ${RUNS} runs.`,
    "",
    "| `init` for | AWS calls | per service | operations | time |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
