/**
 * `npm run bench`: every measurement the closing notes and the README quote, in one run.
 * Each topic lives in its own file exporting `run(): Promise<string>` (a Markdown section).
 * `npm run bench -- import deploy` runs only the named topics.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Topic {
  name: string;
  title: string;
  /** Why a topic cannot run on this machine, or undefined when it can. */
  unavailable?: () => string | undefined;
}

const topics: Topic[] = [
  { name: "import", title: "Module load time (what every `dagger call` pays)" },
  { name: "cli", title: "CLI cold start (what every `shipyard` command pays)" },
  { name: "deploy", title: "Rollout detection: Shipyard's wait vs waitUntilServicesStable" },
  { name: "verify", title: "Error-rate gate: Shipyard vs the typical pipeline's check" },
  { name: "migrations", title: "Migration safety: lint and migration task" },
  { name: "init", title: "Adopting a service: AWS calls of `shipyard init`" },
  {
    name: "image",
    title: "Production image: size, rebuild time, zero-downtime replacement",
    unavailable: () =>
      process.env.SHIPYARD_BENCH_IMAGE === "1"
        ? undefined
        : "needs a Docker engine and root; run `SHIPYARD_BENCH_IMAGE=1 npm run bench -- image` after test/image/provision.sh",
  },
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const selected = wanted.length > 0 ? topics.filter((t) => wanted.includes(t.name)) : topics;
  const unknown = wanted.filter((w) => !topics.some((t) => t.name === w));
  if (unknown.length > 0) {
    console.error(
      `Unknown bench topic(s): ${unknown.join(", ")}. Known: ${topics.map((t) => t.name).join(", ")}`,
    );
    process.exitCode = 2;
    return;
  }
  for (const topic of selected) {
    const file = fileURLToPath(new URL(`./${topic.name}.ts`, import.meta.url));
    console.log(`\n## ${topic.title}\n`);
    const reason = topic.unavailable?.();
    if (reason !== undefined || !existsSync(file)) {
      console.log(`_Not run: ${reason ?? `${file} is missing`}._`);
      continue;
    }
    const started = performance.now();
    const { run } = (await import(file)) as { run: () => Promise<string> };
    console.log(await run());
    console.log(`\n_(${((performance.now() - started) / 1000).toFixed(1)} s)_`);
  }
}

await main();
