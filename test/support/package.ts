/**
 * The CLI as users get it: `npm pack` of this repository (prepack compiles it), installed with
 * `npm install` into a fresh app folder. Used by the package test and the cold-start bench.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface PackedCli {
  tarball: string;
  /** What `npm pack` put in the tarball. */
  files: string[];
  /** A fresh app folder with the tarball installed. */
  app: string;
  /** The installed executable (node_modules/.bin/shipyard). */
  bin: string;
}

export async function installPackedCli(): Promise<PackedCli> {
  const out = await mkdtemp(join(tmpdir(), "shipyard-pack-"));
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: ROOT, encoding: "utf8" }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(out, packed[0]!.filename);
  const app = join(out, "app");
  execFileSync("mkdir", ["-p", app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "my-service", private: true }, null, 2));
  execFileSync("npm", ["install", "--save-dev", "--no-audit", "--no-fund", tarball], {
    cwd: app,
    stdio: "ignore",
  });
  return {
    tarball,
    files: packed[0]!.files.map((f) => f.path),
    app,
    bin: join(app, "node_modules/.bin/shipyard"),
  };
}
