/**
 * Contract tests for the checks (lint, test, e2e) and dev: the real SDK builds the queries, a fake
 * engine records them. What is asserted is the container graph each function asks the engine for.
 */
import { describe, expect, it, vi } from "vitest";
import { ShipyardError } from "../../src/errors.js";
import type { Call, Chain, FakeEngine } from "../support/fake-engine.js";
import {
  chainRunning,
  envOf,
  execs,
  failingExec,
  indexOf,
  isExec,
  REPOSITORY_ROOT,
  runOn,
} from "./harness.js";

/** Collects what a function writes to stderr (the notes Dagger shows in its log). */
function captureStderr(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join(""), restore: () => spy.mockRestore() };
}

const INSTALL = ["pnpm", "install", "--offline", "--frozen-lockfile", "--store-dir", "/pnpm/store"];
const FETCH = ["pnpm", "fetch", "--store-dir", "/pnpm/store"];

/** The service an ID argument stands for, as the chain that built it. */
function serviceBound(engine: FakeEngine, chain: Chain, alias: string): Chain {
  const binding = chain.find((call) => call.field === "withServiceBinding" && call.args["alias"] === alias);
  if (!binding) throw new Error(`no service bound as ${alias} in ${engine.render(chain)}`);
  return engine.chainOf(String(binding.args["service"]));
}

const withDirectory = (option: "include" | "exclude") => (call: Call) =>
  call.field === "withDirectory" && call.args["path"] === "/app" && call.args[option] !== undefined;

describe("lint", () => {
  it("installs dependencies before the source arrives, then runs lint and typecheck in Node 24", async () => {
    const { engine, error } = await runOn({}, (shipyard) => shipyard.lint());
    expect(error).toBeUndefined();
    const lint = chainRunning(engine, "sync", ["pnpm", "run", "lint"]);
    const typecheck = chainRunning(engine, "sync", ["pnpm", "run", "typecheck"]);

    expect(lint[0]).toEqual({ field: "container", args: {} });
    expect(lint[1]).toEqual({ field: "from", args: { address: "node:24-alpine" } });
    // The pnpm store is a cache volume, mounted before anything is installed.
    const cache = indexOf(
      lint,
      (call) => call.field === "withMountedCache" && call.args["path"] === "/pnpm/store",
    );
    expect(engine.render(engine.chainOf(String(lint[cache]!.args["cache"])))).toBe(
      'cacheVolume(key: "shipyard-pnpm-store")',
    );
    // Only the dependency files, then `pnpm fetch`, then the source, then the offline install.
    const dependencyFiles = indexOf(lint, withDirectory("include"));
    expect(lint[dependencyFiles]!.args["include"]).toEqual([
      "package.json",
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      ".npmrc",
      "patches/**",
    ]);
    const fetch = indexOf(lint, isExec(...FETCH));
    const source = indexOf(lint, withDirectory("exclude"));
    const install = indexOf(lint, isExec(...INSTALL));
    expect(cache).toBeGreaterThan(0);
    expect([cache, dependencyFiles, fetch, source, install]).toEqual(
      [cache, dependencyFiles, fetch, source, install].sort((a, b) => a - b),
    );
    expect(new Set([cache, dependencyFiles, fetch, source, install]).size).toBe(5);
    expect(lint[source]!.args["exclude"]).toEqual(["**/node_modules", "**/dist", "**/.git"]);
    expect(execs(lint)).toEqual([["corepack", "enable", "pnpm"], FETCH, INSTALL, ["pnpm", "run", "lint"]]);
    expect(execs(typecheck).at(-1)).toEqual(["pnpm", "run", "typecheck"]);
    // Both containers share everything up to the script: the install is computed once.
    expect(typecheck.slice(0, -2)).toEqual(lint.slice(0, -2));
    expect(envOf(lint)).toMatchObject({ CI: "true", COREPACK_HOME: "/corepack" });
    expect(engine.unauthorized).toEqual([]);
  });

  it("honours --node-version=22 and an explicit --pnpm-version", async () => {
    const { engine } = await runOn({ nodeVersion: "22", pnpmVersion: "10.18.3" }, (shipyard) =>
      shipyard.lint(),
    );
    const lint = chainRunning(engine, "sync", ["pnpm", "run", "lint"]);
    expect(lint[1]).toEqual({ field: "from", args: { address: "node:22-alpine" } });
    expect(execs(lint)[0]).toEqual(["npm", "install", "--global", "pnpm@10.18.3"]);
  });

  it("runs only the scripts the app has", async () => {
    const { engine } = await runOn({ fixture: "lint-only" }, (shipyard) => shipyard.lint());
    expect(engine.chainsEndingWith("sync").map((chain) => execs(chain).at(-1))).toEqual([
      ["pnpm", "run", "lint"],
    ]);
  });

  it("passes with a note when the app has neither a lint nor a typecheck script", async () => {
    const notes = captureStderr();
    const { engine, error } = await runOn({ fixture: "e2e-no-start" }, (shipyard) => shipyard.lint()).finally(
      notes.restore,
    );
    expect(error).toBeUndefined();
    expect(engine.chainsEndingWith("sync")).toEqual([]);
    expect(notes.text()).toContain('no "lint" or "typecheck" script');
  });

  it("reports every failing script with its command, exit code and the tail of its output", async () => {
    const output = Array.from({ length: 50 }, (_, i) => `lint line ${i + 1}`).join("\n");
    const { error } = await runOn({}, (shipyard) => shipyard.lint(), {
      responders: [
        failingExec(["pnpm", "run", "lint"], 1, output, "1 error"),
        failingExec(["pnpm", "run", "typecheck"], 2, "", "src/a.ts(1,1): error TS2322"),
      ],
    });
    expect(error?.message).toContain("2 steps failed.");
    expect(error?.message).toContain("The lint script failed: `pnpm run lint` exited with code 1.");
    expect(error?.message).toContain("  | lint line 50\n  | 1 error");
    expect(error?.message).not.toContain("lint line 20\n");
    expect(error?.message).toContain("The typecheck script failed: `pnpm run typecheck` exited with code 2.");
    expect(error?.message).toContain("src/a.ts(1,1): error TS2322");
    expect(error?.message).toContain("dagger call dev terminal");
  });

  it("refuses an unsupported Node version before asking the engine anything", async () => {
    const { engine, error } = await runOn({ nodeVersion: "20" }, (shipyard) => shipyard.lint());
    expect(error).toBeInstanceOf(ShipyardError);
    expect(error?.message).toContain('--node-version "20" is not supported: use 22 or 24');
    expect(engine.queries).toEqual([]);
  });

  it("explains a missing lockfile instead of failing inside pnpm", async () => {
    const { engine, error } = await runOn({ fixture: "no-lockfile" }, (shipyard) => shipyard.lint());
    expect(error?.message).toContain("No pnpm-lock.yaml next to package.json");
    expect(engine.chainsEndingWith("sync")).toEqual([]);
  });

  it("explains a wrong --app path", async () => {
    const { error } = await runOn({ app: "services/missing" }, (shipyard) => shipyard.lint());
    expect(error?.message).toContain("No package.json at services/missing/package.json");
    expect(error?.message).toContain("--app=");
  });
});

describe("test", () => {
  it("migrates, then runs the tests against a real postgres bound as db", async () => {
    const { engine, error } = await runOn({}, (shipyard) => shipyard.test());
    expect(error).toBeUndefined();
    const test = chainRunning(engine, "sync", ["pnpm", "run", "test"]);
    const postgres = serviceBound(engine, test, "db");
    expect(engine.render(postgres)).toBe(
      'container.from(address: "postgres:16")' +
        '.withEnvVariable(name: "POSTGRES_USER", value: "shipyard")' +
        '.withEnvVariable(name: "POSTGRES_PASSWORD", value: "shipyard")' +
        '.withEnvVariable(name: "POSTGRES_DB", value: "app_test")' +
        '.withMountedTemp(path: "/var/lib/postgresql")' +
        ".withExposedPort(port: 5432)" +
        '.asService(useEntrypoint: true, args: ["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])',
    );
    expect(envOf(test)["DATABASE_URL"]).toBe("postgres://shipyard:shipyard@db:5432/app_test");
    const binding = indexOf(test, (call) => call.field === "withServiceBinding");
    const build = indexOf(test, isExec("pnpm", "run", "build"));
    const migrate = indexOf(test, isExec("pnpm", "run", "migrate"));
    const run = indexOf(test, isExec("pnpm", "run", "test"));
    expect(indexOf(test, isExec(...INSTALL))).toBeLessThan(binding);
    // The migrate script runs compiled code (node dist/migrate.js), so the app is built first.
    expect(binding).toBeLessThan(build);
    expect(build).toBeLessThan(migrate);
    expect(migrate).toBeLessThan(run);
    expect(run).toBe(test.length - 2);
  });

  it("uses the configured postgres image and the app's sub-path, and skips migrations the app does not have", async () => {
    const { engine, error } = await runOn(
      { fixture: "monorepo", app: "./services/api/", postgresImage: "postgres:17-alpine" },
      (shipyard) => shipyard.test(),
    );
    expect(error).toBeUndefined();
    const test = chainRunning(engine, "sync", ["pnpm", "run", "test"]);
    expect(serviceBound(engine, test, "db")[1]).toEqual({
      field: "from",
      args: { address: "postgres:17-alpine" },
    });
    expect(execs(test).some((args) => args.includes("migrate"))).toBe(false);
    const source = test.find(withDirectory("exclude"))!;
    expect(engine.render(engine.chainOf(String(source.args["source"])))).toMatch(
      /^host\.directory\(path: ".*monorepo"\)\.directory\(path: "services\/api"\)$/,
    );
  });

  it("names the failing migration command when migrations fail", async () => {
    const { error } = await runOn({}, (shipyard) => shipyard.test(), {
      responders: [
        (chain) => {
          const last = execs(chain).at(-1);
          if (chain.at(-1)?.field !== "sync" || last?.join(" ") !== "pnpm run test") return undefined;
          return {
            execError: {
              cmd: ["pnpm", "run", "migrate"],
              exitCode: 1,
              stdout: "",
              stderr: 'relation "x" exists',
            },
          };
        },
      ],
    });
    expect(error?.message).toContain("The test check failed: `pnpm run migrate` exited with code 1.");
    expect(error?.message).toContain('  | relation "x" exists');
    expect(error?.message).toContain("Next: reproduce it with `dagger call test`");
  });

  it("passes with a note, running nothing, when the app has no test script", async () => {
    const notes = captureStderr();
    const { engine, error } = await runOn({ fixture: "lint-only" }, (shipyard) => shipyard.test()).finally(
      notes.restore,
    );
    expect(error).toBeUndefined();
    expect(engine.chainsEndingWith("sync")).toEqual([]);
    expect(notes.text()).toContain(
      'The test check has nothing to run: package.json has no "test" script. Add one to enable it.',
    );
  });
});

describe("e2e", () => {
  it("starts the built app as a service on its own database and runs test:e2e against it over HTTP", async () => {
    const { engine, error } = await runOn({}, (shipyard) => shipyard.e2e());
    expect(error).toBeUndefined();
    const tests = chainRunning(engine, "sync", ["pnpm", "run", "test:e2e"]);
    expect(envOf(tests)["APP_URL"]).toBe("http://app:3000");
    const server = serviceBound(engine, tests, "app");
    expect(execs(server).slice(-2)).toEqual([
      ["pnpm", "run", "build"],
      ["pnpm", "run", "migrate"],
    ]);
    // The tests run on top of the very same built, migrated container (one build, one migration), with
    // DATABASE_URL too: tests may seed data or start their own server from dist/.
    const shared = server.length - 4;
    expect(tests.slice(0, shared)).toEqual(server.slice(0, shared));
    expect(envOf(tests)["DATABASE_URL"]).toBe("postgres://shipyard:shipyard@db:5432/app_e2e");
    expect(envOf(server)).toMatchObject({
      DATABASE_URL: "postgres://shipyard:shipyard@db:5432/app_e2e",
      PORT: "3000",
      HOST: "0.0.0.0",
    });
    expect(server.at(-2)).toEqual({ field: "withExposedPort", args: { port: 3000 } });
    expect(server.at(-1)).toEqual({ field: "asService", args: { args: ["pnpm", "run", "start"] } });
    const database = serviceBound(engine, server, "db");
    expect(database).toContainEqual({
      field: "withEnvVariable",
      args: { name: "POSTGRES_DB", value: "app_e2e" },
    });
  });

  it("passes with a note when the app has no e2e tests, and asks for build and start when it has", async () => {
    const notes = captureStderr();
    const skipped = await runOn({ fixture: "lint-only" }, (shipyard) => shipyard.e2e()).finally(
      notes.restore,
    );
    expect(skipped.error).toBeUndefined();
    expect(notes.text()).toContain(
      'The e2e check has nothing to run: package.json has no "test:e2e" script.',
    );
    const { engine, error } = await runOn({ fixture: "e2e-no-start" }, (shipyard) => shipyard.e2e());
    expect(error?.message).toContain('`dagger call e2e` needs the script "start" in package.json.');
    expect(engine.chainsEndingWith("sync")).toEqual([]);
  });

  it("surfaces a failing e2e run", async () => {
    const { error } = await runOn({}, (shipyard) => shipyard.e2e(), {
      responders: [failingExec(["pnpm", "run", "test:e2e"], 1, "FAIL e2e/items.test.ts > POST /items")],
    });
    expect(error?.message).toContain("The e2e check failed: `pnpm run test:e2e` exited with code 1.");
    expect(error?.message).toContain("FAIL e2e/items.test.ts > POST /items");
  });
});

describe("dev", () => {
  it("returns the installed app with a database bound as db, without running anything", async () => {
    const { engine, error } = await runOn({}, async (shipyard) => (await shipyard.dev()).id());
    expect(error).toBeUndefined();
    expect(engine.chainsEndingWith("sync")).toEqual([]);
    const [dev] = engine
      .chainsEndingWith("id")
      .filter((chain) => chain[0]?.field === "container" && chain.length > 10);
    expect(dev).toBeDefined();
    expect(execs(dev!).at(-1)).toEqual(INSTALL);
    expect(envOf(dev!)["DATABASE_URL"]).toBe("postgres://shipyard:shipyard@db:5432/app_dev");
    expect(serviceBound(engine, dev!, "db")[1]).toEqual({ field: "from", args: { address: "postgres:16" } });
    expect(dev!.at(-2)).toEqual({ field: "withDefaultTerminalCmd", args: { args: ["sh"] } });
  });
});

describe("on examples/app, as shipped", () => {
  // The repository's own CI calls the module with --app=examples/app: every check must find its scripts.
  it("runs lint, typecheck, migrations, tests and e2e with the example app's own scripts", async () => {
    const { engine, error } = await runOn(
      { sourceDir: REPOSITORY_ROOT, app: "examples/app" },
      async (shipyard) => {
        await shipyard.lint();
        await shipyard.test();
        await shipyard.e2e();
      },
    );
    expect(error).toBeUndefined();
    const scripts = engine.chainsEndingWith("sync").map((chain) => execs(chain).at(-1)!.join(" "));
    expect(scripts).toEqual(["pnpm run lint", "pnpm run typecheck", "pnpm run test", "pnpm run test:e2e"]);
    // corepack follows the app's packageManager pin.
    expect(execs(chainRunning(engine, "sync", ["pnpm", "run", "test"]))[0]).toEqual([
      "corepack",
      "enable",
      "pnpm",
    ]);
  });
});
