/**
 * The production image, measured (needs a Docker engine: run test/image/provision.sh first):
 *   - failed requests while nginx + wrk watch version 1 replaced by version 2 (goal: 0 of ≥ 10,000);
 *   - image size, total and the app's own layers apart from the base (goal: app layers ≤ 25 MB, whole
 *     image on the real node:24-alpine ≤ 150 MB, estimated: the stand-in base is Debian, not Alpine);
 *   - a clean build against a rebuild after a source-only change, side by side in one run (the
 *     dependency layers must come from the cache).
 * The clean build prunes the engine's whole build cache (the pnpm cache mount included): do not run
 * this while other builds use the engine.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { appDir, buildAppImage, inspectImage, nodeImage } from "../image/app-image.js";
import { docker, imageHistory, type LayerEntry } from "../image/docker.js";

const MB = 1_000_000;
/**
 * Alpine 3.22's root filesystem plus the libstdc++/libgcc the official Alpine image adds for node: an
 * assumption (about 11 MB), not a measurement — no registry is reachable to pull node:24-alpine.
 */
const ALPINE_WITH_NODE_LIBRARIES_BYTES = 11 * MB;

export async function run(): Promise<string> {
  // Ryuk, testcontainers' reaper, is an image from an unreachable registry: the harness cleans up itself.
  process.env["TESTCONTAINERS_RYUK_DISABLED"] ??= "true";
  const rebuild = await measureRebuild();
  const size = await measureSize(rebuild.tag);
  const { measureReplacement } = await import("../image/zero-downtime.js");
  const replacement = await measureReplacement({ minRequests: 10_000 });

  const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const rows = [
    ["What", "Measured", "Goal"],
    [
      "Failed requests during the replacement (socket errors + non-2xx)",
      `${replacement.failed} of ${replacement.requests.toLocaleString("en-US")} (${replacement.requestsPerSecond.toFixed(0)} req/s; v1 answered ${served(replacement.servedBy, "v1")}, v2 ${served(replacement.servedBy, "v2")})`,
      "0 of ≥ 10,000",
    ],
    [
      "Version 1 after SIGTERM",
      `exit ${replacement.versionOneExitCode} after ${replacement.versionOneStopSeconds.toFixed(1)} s (stopTimeout ${replacement.stopTimeoutSeconds} s)`,
      "exit 0 < stopTimeout",
    ],
    ["Image on the stand-in base (Debian + Node 24)", mb(size.totalBytes), "—"],
    ["Stand-in base image", mb(size.baseBytes), "—"],
    [
      "App's own layers (production node_modules + build output)",
      `${mb(size.appBytes)} (${size.appLayers.map((layer) => `${describeLayer(layer)} ${mb(layer.bytes)}`).join(", ")})`,
      "≤ 25 MB",
    ],
    [
      "Whole image on node:24-alpine (estimate, a lower bound)",
      `≥ ${mb(size.alpineEstimateBytes)} = ~${mb(ALPINE_WITH_NODE_LIBRARIES_BYTES)} Alpine + libstdc++ (assumed) + ${mb(size.nodeBytes)} node/npm/corepack (measured) + ${mb(size.appBytes)} app; the official image adds yarn 1.22 and node's C headers`,
      "≤ 150 MB (seed: 180 MB)",
    ],
    ["Clean build (empty build cache and pnpm store)", `${rebuild.cleanSeconds.toFixed(1)} s`, "—"],
    [
      "Rebuild after a source-only change",
      `${rebuild.sourceChangeSeconds.toFixed(1)} s; dependency layers from cache: ${rebuild.dependenciesCached ? "yes" : "NO"}`,
      "dependencies cached",
    ],
  ];
  return rows
    .map((row, index) => `| ${row.join(" | ")} |${index === 0 ? "\n| --- | --- | --- |" : ""}`)
    .join("\n");
}

function served(servedBy: Record<string, number>, version: "v1" | "v2"): string {
  return (servedBy[`zero-downtime-${version} 200`] ?? 0).toLocaleString("en-US");
}

function describeLayer(layer: LayerEntry): string {
  const instruction = layer.createdBy.replace(/\s*# buildkit$/, "");
  if (instruction.includes("node_modules")) return "node_modules";
  if (instruction.includes("/out")) return "dist + package.json + migrations";
  return instruction.slice(0, 40);
}

interface RebuildResult {
  tag: string;
  cleanSeconds: number;
  sourceChangeSeconds: number;
  dependenciesCached: boolean;
}

async function measureRebuild(): Promise<RebuildResult> {
  const context = copyOfTrackedApp();
  const tag = "shipyard-image-bench/app:latest";
  try {
    await docker(["builder", "prune", "--all", "--force"]);
    const clean = await buildAppImage({ tag, release: "bench", context });
    // A one-line code change: the compiled output changes, the lockfile does not.
    appendFileSync(join(context, "src/app.ts"), `\nexport const benchRebuildMarker = "${Date.now()}";\n`);
    const changed = await buildAppImage({ tag, release: "bench", context });
    return {
      tag,
      cleanSeconds: clean.seconds,
      sourceChangeSeconds: changed.seconds,
      dependenciesCached: dependencyStepsCached(changed.log),
    };
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** The app's committed files only (what CI builds), in a scratch directory that can be edited. */
function copyOfTrackedApp(): string {
  const context = mkdtempSync(join(tmpdir(), "shipyard-image-bench-"));
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "."], {
    cwd: appDir,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(join(context, dirname(file)), { recursive: true });
    cpSync(join(appDir, file), join(context, file));
  }
  return context;
}

/** True when every BuildKit step running `pnpm fetch` or `pnpm install` was answered from the cache. */
export function dependencyStepsCached(log: string): boolean {
  const stepIds = [...log.matchAll(/^#(\d+) \[[^\]]+\] RUN .*pnpm (?:fetch|install)/gm)].map(
    (match) => match[1],
  );
  return stepIds.length > 0 && stepIds.every((id) => new RegExp(`^#${id} CACHED$`, "m").test(log));
}

interface SizeResult {
  totalBytes: number;
  baseBytes: number;
  appBytes: number;
  appLayers: LayerEntry[];
  nodeBytes: number;
  alpineEstimateBytes: number;
}

async function measureSize(tag: string): Promise<SizeResult> {
  const [image, base, history, baseHistory] = await Promise.all([
    inspectImage(tag),
    inspectImage(nodeImage),
    imageHistory(tag),
    imageHistory(nodeImage),
  ]);
  const appLayers = history.slice(baseHistory.length).filter((layer) => layer.bytes > 0);
  const appBytes = appLayers.reduce((sum, layer) => sum + layer.bytes, 0);
  // What the official image also has: the node binary, npm and corepack (not Debian, not our test CA).
  const nodeBytes = baseHistory
    .filter((layer) => /COPY (node\/bin\/node|npm|corepack) /.test(layer.createdBy))
    .reduce((sum, layer) => sum + layer.bytes, 0);
  return {
    totalBytes: image.Size,
    baseBytes: base.Size,
    appBytes,
    appLayers,
    nodeBytes,
    alpineEstimateBytes: ALPINE_WITH_NODE_LIBRARIES_BYTES + nodeBytes + appBytes,
  };
}
