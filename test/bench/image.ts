/**
 * The production image, measured (needs a Docker engine: run test/image/provision.sh first):
 *   - failed requests while nginx + wrk watch version 1 replaced by version 2 (goal: 0 of ≥ 10,000);
 *   - image size, total and the app's own layers apart from the base (goal: app layers ≤ 25 MB, whole
 *     image on the real node:24-alpine ≤ 150 MB, estimated: the stand-in base is Debian, not Alpine),
 *     and what the runtime stage removed from the base (npm, corepack, yarn), measured file by file;
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
/** The stand-in's test-only CA bundle (provision.sh): not part of any real Node image. */
const STAND_IN_TEST_FILES = "/usr/local/share/shipyard-test-ca";
/** What the default Dockerfile's node-runtime stage deletes, as laid out by the stand-in. */
const REMOVED_TOOLS = {
  npm: ["/usr/local/lib/node_modules/npm"],
  corepack: ["/usr/local/lib/node_modules/corepack"],
  yarn: ["/opt/yarn-v*"],
};

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
    [
      "Stand-in base image → the runtime's base layer",
      `${mb(size.standInBytes)} → ${mb(size.runtimeBaseBytes)} (${size.runtimeBaseLayer})`,
      "—",
    ],
    [
      "Removed from the base by the node-runtime stage (measured in the stand-in)",
      `${mb(size.removedBytes)}: ${Object.entries(size.removed)
        .map(([tool, bytes]) => `${tool} ${mb(bytes)}`)
        .join(
          ", ",
        )}; left of node's files in the runtime: ${mb(size.nodeBytes)} (largest: ${size.nodeLargestFile})`,
      "— (their absence is a check of `npm run test:image`)",
    ],
    [
      "App's own layers (production node_modules + build output)",
      `${mb(size.appBytes)} (${size.appLayers.map((layer) => `${describeLayer(layer)} ${mb(layer.bytes)}`).join(", ")})`,
      "≤ 25 MB",
    ],
    [
      "Whole image on node:24-alpine (estimate)",
      `~${mb(size.alpineEstimateBytes)} = ${mb(ALPINE_WITH_NODE_LIBRARIES_BYTES)} Alpine + libstdc++ (assumed) + ${mb(size.nodeBytes)} node (measured: glibc binary, the musl build assumed the same size) + ${mb(size.appBytes)} app; ${size.alpineEstimateBytes <= 150 * MB ? "within" : "OVER"} the goal — the official image's yarn, C headers and docs are deleted, so they do not count`,
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
  standInBytes: number;
  /** The layer the runtime stage starts from: `COPY / /` of node-runtime, or the base's own layers. */
  runtimeBaseBytes: number;
  runtimeBaseLayer: string;
  appBytes: number;
  appLayers: LayerEntry[];
  /** Node's own files left in the runtime image (/usr/local and /opt, the stand-in's test CA aside). */
  nodeBytes: number;
  nodeLargestFile: string;
  removed: Record<string, number>;
  removedBytes: number;
  alpineEstimateBytes: number;
}

export async function measureSize(tag: string): Promise<SizeResult> {
  const [image, standIn, history, standInHistory] = await Promise.all([
    inspectImage(tag),
    inspectImage(nodeImage),
    imageHistory(tag),
    imageHistory(nodeImage),
  ]);
  const { baseLayers, appLayers } = splitLayers(history, standInHistory.length);
  const appBytes = appLayers.reduce((sum, layer) => sum + layer.bytes, 0);
  const removed = Object.fromEntries(
    await Promise.all(
      Object.entries(REMOVED_TOOLS).map(
        async ([tool, paths]) => [tool, (await bytesIn(nodeImage, paths)).bytes] as const,
      ),
    ),
  );
  const node = await bytesIn(tag, ["/usr/local", "/opt"], [STAND_IN_TEST_FILES]);
  return {
    totalBytes: image.Size,
    standInBytes: standIn.Size,
    runtimeBaseBytes: baseLayers.reduce((sum, layer) => sum + layer.bytes, 0),
    runtimeBaseLayer:
      baseLayers.length === 1 && baseLayers[0]!.createdBy.startsWith("COPY / /")
        ? "one flattened layer"
        : `${baseLayers.length} layers of the base`,
    appBytes,
    appLayers,
    nodeBytes: node.bytes,
    nodeLargestFile: node.largest,
    removed,
    removedBytes: Object.values(removed).reduce((sum, bytes) => sum + bytes, 0),
    alpineEstimateBytes: ALPINE_WITH_NODE_LIBRARIES_BYTES + node.bytes + appBytes,
  };
}

/**
 * The image's layers from the base, and the app's own (those with content after the base). The default
 * Dockerfile's base is the single `COPY / /` of node-runtime; a Dockerfile built FROM the base itself
 * (SHIPYARD_TEST_DOCKERFILE) starts with the base's own layers.
 */
function splitLayers(
  history: LayerEntry[],
  standInLayerCount: number,
): { baseLayers: LayerEntry[]; appLayers: LayerEntry[] } {
  const flattened = history.findIndex((layer) => layer.createdBy.startsWith("COPY / /"));
  const baseEnd = flattened >= 0 ? flattened + 1 : standInLayerCount;
  return {
    baseLayers: history.slice(0, baseEnd).filter((layer) => layer.bytes > 0),
    appLayers: history.slice(baseEnd).filter((layer) => layer.bytes > 0),
  };
}

/**
 * Apparent size of the files under `paths` (a trailing `*` matches names in the parent) inside a
 * container of `image`, and the largest file: measured with node, the one program every image has.
 */
async function bytesIn(
  image: string,
  paths: string[],
  excluded: string[] = [],
): Promise<{ bytes: number; largest: string }> {
  const script = `
    const fs = require("node:fs"), path = require("node:path");
    const [paths, excluded] = JSON.parse(process.argv[1]);
    let bytes = 0, largest = ["", 0];
    function expand(pattern) {
      if (!pattern.endsWith("*")) return [pattern];
      const dir = path.dirname(pattern), prefix = path.basename(pattern).slice(0, -1);
      try { return fs.readdirSync(dir).filter((n) => n.startsWith(prefix)).map((n) => path.join(dir, n)); } catch { return []; }
    }
    function walk(file) {
      if (excluded.includes(file)) return;
      let stat;
      try { stat = fs.lstatSync(file); } catch { return; }
      if (stat.isDirectory()) { for (const name of fs.readdirSync(file)) walk(path.join(file, name)); return; }
      bytes += stat.size;
      if (stat.size > largest[1]) largest = [file, stat.size];
    }
    for (const pattern of paths) for (const file of expand(pattern)) walk(file);
    process.stdout.write(JSON.stringify({ bytes, largest: largest[0] + " " + (largest[1] / 1e6).toFixed(1) + " MB" }));
  `;
  const { stdout } = await docker([
    "run",
    "--rm",
    "--entrypoint",
    "node",
    image,
    "-e",
    script,
    JSON.stringify([paths, excluded]),
  ]);
  return JSON.parse(stdout) as { bytes: number; largest: string };
}
