/**
 * What the engine would register, read with the SDK's own introspector (the code the engine runs on
 * `dagger call`/`dagger functions`) over every .ts file under src/. It sits outside the package's
 * exports map, so it is imported by file path from the pinned @dagger.io/dagger 0.21.9.
 *
 * In the engine the generated SDK is a .ts bundle; the npm package ships declarations, so the client
 * declarations are copied to a file named client.gen.ts, which is what the introspector looks for.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { DaggerModule } from "../../node_modules/@dagger.io/dagger/dist/src/module/introspector/dagger_module/index.js";
import { scan } from "../../node_modules/@dagger.io/dagger/dist/src/module/introspector/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SDK = join(ROOT, "node_modules/@dagger.io/dagger");

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return typescriptFiles(path);
    return /\.m?ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every function the module exposes: its @check marking, cache policy and arguments with defaults. */
const EXPECTED: Record<string, { check: boolean; cache?: string; args: Record<string, unknown> }> = {
  lint: { check: true, args: {} },
  test: { check: true, args: {} },
  e2e: { check: true, args: {} },
  build: { check: false, args: { release: "" } },
  publish: {
    check: false,
    cache: "never",
    args: {
      repository: undefined,
      username: "",
      password: undefined,
      tags: [],
      release: "",
      createRepository: false,
    },
  },
  dev: { check: false, args: {} },
  migrateLint: { check: true, args: {} },
  plan: { check: false, cache: "never", args: { env: undefined, image: "", release: "" } },
  deploy: {
    check: false,
    cache: "never",
    args: {
      env: undefined,
      image: "",
      release: "",
      registryUsername: "",
      registryPassword: undefined,
      skipRequires: false,
    },
  },
  rollback: { check: false, cache: "never", args: { env: undefined, to: "", service: "" } },
  status: { check: false, cache: "never", args: { env: undefined } },
  history: { check: false, cache: "never", args: { env: undefined, limit: "" } },
  metrics: { check: false, cache: "never", args: { env: undefined, days: "" } },
  previewUp: { check: false, cache: "never", args: { pr: undefined, image: undefined, release: "" } },
  previewDown: { check: false, cache: "never", args: { pr: undefined } },
  previewList: { check: false, cache: "never", args: {} },
  previewGc: { check: false, cache: "never", args: { olderThan: "", dryRun: false } },
  migrate: { check: false, cache: "never", args: { env: undefined, taskDefinition: "" } },
  verify: {
    check: false,
    cache: "never",
    args: {
      env: undefined,
      release: "",
      previousRelease: "",
      noBaseline: false,
      since: "",
      watch: false,
    },
  },
};

let module: DaggerModule;

beforeAll(async () => {
  const sdkVersion = JSON.parse(readFileSync(join(SDK, "package.json"), "utf8")).version;
  expect(sdkVersion).toBe("0.21.9");
  const dagger = JSON.parse(readFileSync(join(ROOT, "dagger.json"), "utf8"));
  expect(dagger.engineVersion).toBe(`v${sdkVersion}`);
  const clientDir = mkdtempSync(join(tmpdir(), "shipyard-introspect-"));
  const client = join(clientDir, "client.gen.ts");
  copyFileSync(join(SDK, "dist/src/api/client.gen.d.ts"), client);
  module = await scan([...typescriptFiles(join(ROOT, "src")), client], dagger.name, false);
}, 60_000);

describe("registration", () => {
  it("registers one documented object, Shipyard", () => {
    expect(Object.keys(module.objects)).toEqual(["Shipyard"]);
    expect(module.objects["Shipyard"]!.description).toMatch(/Node\.js.*PostgreSQL.*ECS/s);
  });

  it("registers the constructor with the repository as a default-path Directory and documented defaults", () => {
    const ctor = module.objects["Shipyard"]!._constructor!;
    const args = ctor.arguments;
    expect(Object.keys(args)).toEqual([
      "source",
      "app",
      "nodeVersion",
      "pnpmVersion",
      "postgresImage",
      "commit",
      "sourceUrl",
      "awsAccessKeyId",
      "awsSecretAccessKey",
      "awsSessionToken",
      "sentryAuthToken",
      "githubToken",
      "githubRepository",
      "githubRunId",
      "githubServerUrl",
      "githubApiUrl",
    ]);
    expect(args["source"]!.type).toEqual({ kind: "OBJECT_KIND", name: "Directory" });
    expect(args["source"]!.defaultPath).toBe("/");
    expect(args["source"]!.ignore).toEqual(
      expect.arrayContaining(["**/node_modules", "**/.git", "**/dist", ".dagger", "sdk"]),
    );
    expect(
      Object.fromEntries(Object.entries(args).map(([name, arg]) => [name, arg.defaultValue as unknown])),
    ).toEqual({
      source: undefined,
      app: ".",
      nodeVersion: "24",
      pnpmVersion: "",
      postgresImage: "postgres:16",
      commit: "",
      sourceUrl: "",
      awsAccessKeyId: undefined,
      awsSecretAccessKey: undefined,
      awsSessionToken: undefined,
      sentryAuthToken: undefined,
      githubToken: undefined,
      githubRepository: "",
      githubRunId: "",
      githubServerUrl: "",
      githubApiUrl: "",
    });
    // The credentials are given once, to the module, and only the functions that reach AWS or Sentry
    // read them: checks and builds must run without any.
    for (const name of [
      "awsAccessKeyId",
      "awsSecretAccessKey",
      "awsSessionToken",
      "sentryAuthToken",
      "githubToken",
    ]) {
      expect(args[name]!.type, name).toEqual({ kind: "OBJECT_KIND", name: "Secret" });
      expect(args[name]!.isOptional, name).toBe(true);
    }
    for (const arg of Object.values(args)) expect(arg.description, arg.name).not.toBe("");
  });

  it("registers exactly the expected functions, checks and cache policies", () => {
    const methods = module.objects["Shipyard"]!.methods;
    expect(Object.keys(methods).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const fn = methods[name]!;
      expect(fn.isCheck, `${name} @check`).toBe(expected.check);
      expect(fn.cache, `${name} cache`).toBe(expected.cache);
      expect(
        Object.fromEntries(Object.entries(fn.arguments).map(([arg, a]) => [arg, a.defaultValue as unknown])),
        `${name} arguments`,
      ).toEqual(expected.args);
    }
  });

  it("documents every function and every argument (they become `dagger call X --help`)", () => {
    for (const fn of Object.values(module.objects["Shipyard"]!.methods)) {
      expect(fn.description.length, `${fn.name} description`).toBeGreaterThan(20);
      for (const arg of Object.values(fn.arguments))
        expect(arg.description, `${fn.name} --${arg.name}`).not.toBe("");
    }
  });

  it("keeps checks free of required arguments, so `dagger check` can run them", () => {
    for (const fn of Object.values(module.objects["Shipyard"]!.methods).filter((f) => f.isCheck)) {
      const required = Object.values(fn.arguments).filter(
        (a) => !a.isOptional && a.defaultValue === undefined,
      );
      expect(
        required.map((a) => a.name),
        fn.name,
      ).toEqual([]);
    }
  });

  it("takes registry and cloud credentials only as Secrets", () => {
    const shipyard = module.objects["Shipyard"]!;
    const owners = [
      { name: "constructor", arguments: shipyard._constructor!.arguments },
      ...Object.values(shipyard.methods),
    ];
    const credentials: string[] = [];
    for (const fn of owners) {
      for (const arg of Object.values(fn.arguments)) {
        if (/password|token|secret|key/i.test(arg.name)) {
          credentials.push(`${fn.name} --${arg.name}`);
          expect(arg.type, `${fn.name} --${arg.name}`).toEqual({ kind: "OBJECT_KIND", name: "Secret" });
        }
      }
    }
    expect(credentials.sort()).toEqual([
      "constructor --awsAccessKeyId",
      "constructor --awsSecretAccessKey",
      "constructor --awsSessionToken",
      "constructor --githubToken",
      "constructor --sentryAuthToken",
      "deploy --registryPassword",
      "publish --password",
    ]);
  });

  it("returns what each function promises", () => {
    const methods = module.objects["Shipyard"]!.methods;
    expect(methods["build"]!.returnType).toEqual({ kind: "OBJECT_KIND", name: "Container" });
    expect(methods["dev"]!.returnType).toEqual({ kind: "OBJECT_KIND", name: "Container" });
    expect(methods["publish"]!.returnType).toEqual({ kind: "STRING_KIND" });
    for (const check of ["lint", "test", "e2e"])
      expect(methods[check]!.returnType).toEqual({ kind: "VOID_KIND" });
  });
});
