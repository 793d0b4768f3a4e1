/**
 * What the engine learns about the module on `dagger functions`, `dagger call` or `dagger check`. The
 * engine's TypeScript SDK registers a module with the SDK's introspection entrypoint (it reads src/
 * with the TypeScript compiler, builds the type definitions through the API and hands back the
 * module's id); the module runtime's own entrypoint, started with no parent to call, does the same
 * the older way. Both run here, each against its own fake engine; the typedefs are read back from the
 * engine's record and compared with the table below, written by hand from src/index.ts (not from any
 * introspection output), and the two registrations must agree to the last source line.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeEngine } from "../support/fake-engine.js";
import {
  type IntrospectorRun,
  type ModuleFiles,
  moduleFiles,
  REGISTRATION,
  RUNTIME_TEST_TIMEOUT_MS,
  type RuntimeRun,
  runIntrospector,
  runModuleRuntime,
} from "./runner.js";
import { decodeModule, type RegisteredModule, type RegisteredObject } from "./typedefs.js";

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/**
 * A description is checked by how it starts and how it ends: the right text reached the right place
 * whole (nothing cut off, no neighbouring @param or tag run into it), without copying every word.
 */
const described = (start: string, end: string) =>
  expect.stringMatching(new RegExp(`^${literally(start)}[\\s\\S]*${literally(end)}$`));

const arg = (type: string, [start, end]: [string, string], extra: Record<string, unknown> = {}) => ({
  type,
  description: described(start, end),
  ...extra,
});
const env = (example: string) => arg("String", ["Environment in shipyard.json, e.g.", example]);
const CHECK = { returns: "Void?", cache: "Default", check: true, args: {} };

const EXPECTED_CONSTRUCTOR = {
  source: arg("Directory", ["The repository to work on.", "Dagger's own files are never uploaded."], {
    defaultPath: "/",
    ignore: ["**/node_modules", "**/.git", "**/dist", "**/coverage", ".dagger", "sdk", "**/.env", "**/*.log"],
  }),
  app: arg("String", ["Path of the app inside the source", '"." when the source is the app.'], {
    default: ".",
  }),
  nodeVersion: arg(
    "String",
    ["Node.js version for checks and the production image", "a full version such as 24.11.1."],
    { default: "24" },
  ),
  pnpmVersion: arg("String", ["Exact pnpm version to install", "uses the app's packageManager field."], {
    default: "",
  }),
  postgresImage: arg(
    "String",
    ["PostgreSQL image the test and e2e checks run against", "match production's major version."],
    { default: "postgres:16" },
  ),
  commit: arg("String", ["The git commit being built", "is the default release name."], { default: "" }),
  sourceUrl: arg("String", ["URL of the source repository", "org.opencontainers.image.source label."], {
    default: "",
  }),
  // Given once to the module, read only by the functions that reach AWS or Sentry: optional.
  awsAccessKeyId: arg("Secret?", ["AWS access key id", "built; never printed."]),
  awsSecretAccessKey: arg("Secret?", ["AWS secret access key", "env://AWS_SECRET_ACCESS_KEY."]),
  awsSessionToken: arg("Secret?", ["Session token of temporary credentials", "env://AWS_SESSION_TOKEN."]),
  sentryAuthToken: arg("Secret?", ["Sentry token", "env://SENTRY_AUTH_TOKEN."]),
  githubToken: arg("Secret?", [
    "GitHub token with deployments: write",
    "deploy and rollback; never printed.",
  ]),
  githubRepository: arg(
    "String",
    ["Repository the GitHub Deployments are recorded in", "Without --github-token nothing is recorded."],
    { default: "" },
  ),
  githubRunId: arg("String", ["The Actions run that deploys", "each deployment status links to its log."], {
    default: "",
  }),
  githubServerUrl: arg("String", ["GitHub's address for that link", "Empty (default): https://github.com."], {
    default: "",
  }),
  githubApiUrl: arg("String", ["GitHub's REST API on GitHub Enterprise Server", "https://api.github.com."], {
    default: "",
  }),
};

const EXPECTED_FUNCTIONS = {
  lint: {
    ...CHECK,
    description: described("Run the app's `lint` and `typecheck` scripts", "when the app has neither."),
  },
  test: {
    ...CHECK,
    description: described(
      "Run the app's `test` script against a fresh PostgreSQL",
      "when the app has no `test` script.",
    ),
  },
  e2e: {
    ...CHECK,
    description: described(
      "Build the app, migrate its own PostgreSQL, start it",
      "`build` and `start` are required.",
    ),
  },
  build: {
    returns: "Container",
    description: described("Build the production image", "the OCI revision, source and version."),
    cache: "Default",
    check: false,
    args: {
      release: arg("String", ["Release name baked into the image", 'Default: the commit, else "dev".'], {
        default: "",
      }),
    },
  },
  publish: {
    returns: "String",
    description: described("Build and push the image", "(no --username or --password)."),
    cache: "Never",
    check: false,
    args: {
      repository: arg("String", ["Image repository without tag", ".amazonaws.com/api."]),
      // Amazon ECR needs neither: publish logs in with the module's AWS credentials.
      username: arg("String", ["Registry user name", "Not needed for Amazon ECR."], { default: "" }),
      password: arg("Secret?", ["Registry password or token", "with the module's AWS credentials."]),
      // A list default is not a primitive: the SDK sends no default and makes the argument optional.
      tags: arg("[String]?", ["Extra tags besides the commit", "refuses a tag that moves)."]),
      release: arg("String", ["Release name baked into the image", "Default: the commit."], { default: "" }),
      createRepository: arg(
        "Boolean",
        ["Amazon ECR only: create the repository", "naming the command that creates it."],
        { default: false },
      ),
    },
  },
  dev: {
    returns: "Container",
    description: described(
      "A container with the app's source, its dependencies installed",
      "`pnpm run migrate && pnpm test`.",
    ),
    cache: "Default",
    check: false,
    args: {},
  },
  migrateLint: {
    ...CHECK,
    description: described(
      "Lint the app's SQL migrations with squawk",
      "neither shipyard.json nor a migrations/ folder.",
    ),
  },
  plan: {
    returns: "String",
    description: described("Show what a deploy would change", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: {
      env: env("staging or production."),
      image: arg("String", ["Image to plan with, by digest", "the image the service runs now."], {
        default: "",
      }),
      release: arg("String", ["Release name to render", "the commit, else the digest."], { default: "" }),
    },
  },
  deploy: {
    returns: "String",
    description: described(
      "Deploy to an environment: lint and run migrations",
      "unless the release is live and verified.",
    ),
    cache: "Never",
    check: false,
    args: {
      env: env("staging or production."),
      image: arg("String", ["Image to deploy, by digest", "unless the repository is in Amazon ECR)."], {
        default: "",
      }),
      release: arg("String", ["Release name (Sentry, /version)", "the commit, else the digest."], {
        default: "",
      }),
      registryUsername: arg("String", ["Registry user,", "only used without --image."], { default: "" }),
      registryPassword: arg("Secret?", [
        "Registry password or token, only used without --image",
        "Not needed for Amazon ECR.",
      ]),
      skipRequires: arg(
        "Boolean",
        ["Deploy even when the environment named by `requires`", "reported as a warning."],
        { default: false },
      ),
    },
  },
  rollback: {
    returns: "String",
    description: described(
      "Put an environment back on its last good task definition",
      "Returns the JSON report.",
    ),
    cache: "Never",
    check: false,
    args: {
      env: env("production."),
      to: arg("String", ["Revision to return to", "the last good one Shipyard recorded."], { default: "" }),
      service: arg(
        "String",
        ["Roll back only this service of the environment", "every service and scheduled task)."],
        {
          default: "",
        },
      ),
    },
  },
  status: {
    returns: "String",
    description: described("What an environment runs now", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: { env: env("production.") },
  },
  history: {
    returns: "String",
    description: described("The last deploys and rollbacks of an environment", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: {
      env: env("production."),
      limit: arg("String", ["How many of the newest revisions to read", "one AWS call each."], {
        default: "",
      }),
    },
  },
  metrics: {
    returns: "String",
    description: described("Delivery metrics of an environment over a window", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: {
      env: env("production."),
      days: arg("String", ["The window: the last N days up to now", "(1-366; default 30)."], { default: "" }),
    },
  },
  previewUp: {
    returns: "String",
    description: described(
      "Create or update the preview of a pull request",
      "Returns the JSON report with the URL.",
    ),
    cache: "Never",
    check: false,
    args: {
      pr: arg("String", ["The pull request's number", "and from nothing else."]),
      image: arg("String", ["Image by digest", "(repo@sha256:...)."]),
      release: arg("String", ["Release name for Sentry", "the commit or the image digest."], { default: "" }),
    },
  },
  previewDown: {
    returns: "String",
    description: described(
      "Remove the preview of a pull request",
      "Returns the JSON report of what it removed.",
    ),
    cache: "Never",
    check: false,
    args: { pr: { type: "String", description: "The pull request's number." } },
  },
  previewList: {
    returns: "String",
    description: described("List the previews that exist", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: {},
  },
  previewGc: {
    returns: "String",
    description: described(
      "Remove expired and orphaned previews",
      "Returns the JSON report of what it removed.",
    ),
    cache: "Never",
    check: false,
    args: {
      olderThan: arg(
        "String",
        ["Also remove previews not updated for this long", "only expired and orphaned ones."],
        { default: "" },
      ),
      dryRun: arg("Boolean", ["List what would be removed", "remove nothing."], { default: false }),
    },
  },
  migrate: {
    returns: "String",
    description: described("Run the app's migrations now, as a one-off ECS task", "Returns the JSON report."),
    cache: "Never",
    check: false,
    args: {
      env: env("staging."),
      taskDefinition: arg(
        "String",
        ["Revision whose image runs the migrations", "the one the service runs now."],
        { default: "" },
      ),
    },
  },
  verify: {
    returns: "String",
    description: described(
      "Check the release an environment runs NOW, changing nothing",
      "only to find the releases.",
    ),
    cache: "Never",
    check: false,
    args: {
      env: env("production."),
      release: arg("String", ["Release to judge", "of the running task definition."], { default: "" }),
      previousRelease: arg("String", ["Baseline release", "of the revision before it."], { default: "" }),
      noBaseline: arg(
        "Boolean",
        ["Judge against the configured absolute error rate", "instead of a previous release."],
        { default: false },
      ),
      since: arg("String", ["How far back to read the release", "verify.baselineSeconds."], { default: "" }),
      watch: arg("Boolean", ["Watch the full verification window", "what is already there."], {
        default: false,
      }),
    },
  },
};

let module: ModuleFiles;
/** The engine's way: the introspection entrypoint. */
let engine: FakeEngine;
let introspection: IntrospectorRun;
let registered: RegisteredModule;
let shipyard: RegisteredObject;
/** The runtime's way: `entrypoint` with no parent. */
let runtimeEngine: FakeEngine;
let runtime: RuntimeRun;

async function startedEngine(): Promise<FakeEngine> {
  const started = new FakeEngine();
  await started.start();
  return started;
}

// One registration each way, shared: starting a runtime is the expensive part.
beforeAll(async () => {
  [engine, runtimeEngine] = await Promise.all([startedEngine(), startedEngine()]);
  module = moduleFiles();
  [introspection, runtime] = await Promise.all([
    runIntrospector(engine, module),
    runModuleRuntime(runtimeEngine, module, REGISTRATION),
  ]);
  if (introspection.moduleId === undefined)
    throw new Error(`the introspector wrote no module id:\n${introspection.stderr}`);
  registered = decodeModule(engine, introspection.moduleId);
  shipyard = registered.objects["Shipyard"]!;
}, RUNTIME_TEST_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([engine?.close(), runtimeEngine?.close()]);
  module?.dispose();
});

/** Drops source locations: the tables compare what a user sees, the last test checks where it points. */
function withoutLocations<T extends object>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner) => (key === "location" ? undefined : inner)));
}

describe("registration through the SDK's introspection entrypoint and its module runtime", () => {
  it("the introspector builds the typedefs through the API alone and ends cleanly", () => {
    expect(introspection.exitCode, introspection.stderr).toBe(0);
    expect(engine.unauthorized).toEqual([]);
    // It needs no call context: it reads the source, never the session's function call.
    const asked = engine.queries.map((q) => q.chain[0]!.field);
    expect(asked.filter((field) => field.startsWith("current"))).toEqual([]);
    expect(asked.at(-1)).toBe("module");
  });

  it("the module runtime, called with no parent, returns the module id once and ends cleanly", () => {
    expect(runtime.exitCode, runtime.stderr).toBe(0);
    expect(runtime.returns).toBe(1);
    expect(runtimeEngine.unauthorized).toEqual([]);
    const asked = runtimeEngine.queries.map((q) => q.chain.map((c) => c.field).join("."));
    expect(asked.slice(0, 2)).toEqual(["currentModule.name", "currentFunctionCall.parentName"]);
    // Registering invokes nothing: no function name, parent or arguments are read.
    expect(asked).not.toContain("currentFunctionCall.name");
    expect(asked.filter((field) => field.startsWith("currentFunctionCall.inputArgs"))).toEqual([]);
  });

  it("both ways register the same module, down to every description, default and source line", () => {
    expect(typeof runtime.value).toBe("string");
    expect(decodeModule(runtimeEngine, String(runtime.value))).toEqual(registered);
  });

  it("registers one object, Shipyard, described for users, with no public fields", () => {
    expect(Object.keys(registered.objects)).toEqual(["Shipyard"]);
    expect(registered.description).toBe(
      "Shipyard: build, test, ship and safely deploy a Node.js (pnpm) + PostgreSQL service to AWS ECS.",
    );
    expect(shipyard.description).toBe(
      "Build, test, ship and safely deploy a Node.js (pnpm) + PostgreSQL service to AWS ECS.\n" +
        "Checks run the app's own scripts (lint, typecheck, test, test:e2e) against a real PostgreSQL.",
    );
    expect(shipyard.fields).toEqual([]);
  });

  it("registers the constructor: the source as a default-path Directory, the defaults, optional credential Secrets", () => {
    expect(shipyard.constructorReturns).toBe("Shipyard");
    expect(Object.keys(shipyard.constructorArgs)).toEqual(Object.keys(EXPECTED_CONSTRUCTOR));
    expect(withoutLocations(shipyard.constructorArgs)).toEqual(EXPECTED_CONSTRUCTOR);
  });

  it("registers every function with its description, arguments, defaults, cache policy and check marking", () => {
    expect(Object.keys(shipyard.functions).sort()).toEqual(Object.keys(EXPECTED_FUNCTIONS).sort());
    for (const [name, expected] of Object.entries(EXPECTED_FUNCTIONS)) {
      const fn = shipyard.functions[name]!;
      expect(Object.keys(fn.args), `${name} argument order`).toEqual(Object.keys(expected.args));
      expect(withoutLocations(fn), name).toEqual(expected);
    }
  });

  it("points the object, every function and every argument at its line in src/index.ts", () => {
    const lines = readFileSync(INDEX, "utf8").split("\n");
    const at = (location: { file: string; line: number }) => {
      expect(location.file).toBe("src/index.ts");
      return lines[location.line - 1] ?? "";
    };
    expect(at(shipyard.location)).toContain("class Shipyard");
    for (const [name, arg] of Object.entries(shipyard.constructorArgs))
      expect(at(arg.location)).toContain(name);
    for (const [name, fn] of Object.entries(shipyard.functions)) {
      expect(at(fn.location!)).toContain(`async ${name}(`);
      for (const [argName, arg] of Object.entries(fn.args)) expect(at(arg.location), name).toContain(argName);
    }
  });
});
